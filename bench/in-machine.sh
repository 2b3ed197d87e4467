#!/bin/sh
# Runs dune-bench (next to this script) in an emulated machine: these
# machines are emulators, and Bochs shows no hypervisor bit to detect.
#
# The syscall row's kvm-exit method needs KVM, which cannot be loaded
# beside dune (each refuses the other).  Where KVM's modules are shipped
# (kvm-modules.tar next to this script, as tests/hw/lib.sh finds them)
# and dune is loaded, it is measured first: dune unloaded, KVM loaded,
# `dune-bench --kvm-save`, KVM unloaded, dune loaded again; the main run
# then reports those runs (--kvm-from).  Without the modules the method is
# shown as skipped.  Arguments go to dune-bench.
dir=$(dirname "$0")
export DUNE_BENCH_EMULATED=1
saved=/tmp/dune-bench-kvm.txt
rm -f "$saved"

wants_syscall() {	# is the syscall row selected?
	for a in "$@"; do
		case "$a" in
		--rows=*) case ",${a#--rows=}," in *,syscall,*) return 0 ;; *) return 1 ;; esac ;;
		esac
	done
	return 0
}

kvm_phase() {
	tarball=$dir/kvm-modules.tar
	[ -f "$tarball" ] || { echo "# kvm-exit: kvm-modules.tar not shipped"; return; }
	grep -q "^dune " /proc/modules || { echo "# kvm-exit: dune not loaded"; return; }
	ko=$(find / -xdev -name dune.ko 2>/dev/null | head -n 1)
	[ -n "$ko" ] || { echo "# kvm-exit: dune.ko not found"; return; }
	mkdir -p /tmp/kvm-mods && tar -C /tmp/kvm-mods -xf "$tarball"
	kdir=/tmp/kvm-mods/$(uname -r)
	[ -f "$kdir/kvm.ko" ] || { echo "# kvm-exit: no KVM modules for $(uname -r)"; return; }
	if grep -qw svm /proc/cpuinfo; then
		vendor="ccp kvm-amd" mod=kvm_amd
	else
		vendor=kvm-intel mod=kvm_intel
	fi
	rmmod dune || { echo "# kvm-exit: dune cannot be unloaded"; return; }
	for m in irqbypass kvm $vendor; do
		insmod "$kdir/$m.ko" 2>/dev/null
	done
	if grep -q "^$mod " /proc/modules; then
		"$dir/dune-bench" --kvm-save="$saved" "$@"
	else
		echo "# kvm-exit: $mod did not load"
	fi
	rmmod "$mod" 2>/dev/null
	rmmod kvm 2>/dev/null
	# dune back whatever happened: the main run needs it.
	insmod "$ko" || echo "# kvm-exit: dune did not load again"
}

if wants_syscall "$@"; then
	kvm_phase "$@"
fi
exec "$dir/dune-bench" --kvm-from="$saved" "$@"
