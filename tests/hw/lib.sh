# Shared helpers for the shell tests that run inside the emulated machines
# (busybox ash).  Each check prints "ok N - ..." or "not ok N - ..."; finish
# with `done_testing`, which prints the closing line and sets the status.
n=0
failed=0

ok() {	# ok CONDITION-STATUS MESSAGE...
	st=$1
	shift
	n=$((n + 1))
	if [ "$st" -eq 0 ]; then
		echo "ok $n - $*"
	else
		failed=$((failed + 1))
		echo "not ok $n - $*"
	fi
}

done_testing() {
	echo "$((n - failed)) passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}

# The module file the machine loaded: the runner's DUNE_KO, else look for it.
find_module() {
	if [ -n "${DUNE_KO:-}" ] && [ -f "$DUNE_KO" ]; then
		echo "$DUNE_KO"
		return
	fi
	for f in ./dune.ko /dune.ko /lib/modules/*/extra/dune.ko; do
		[ -f "$f" ] && { echo "$f"; return; }
	done
	find / -xdev -name dune.ko 2>/dev/null | head -n 1
}

dmesg_clean() {	# no WARN/BUG/oops since the marker line $1
	dmesg | sed -n "/$1/,\$p" | grep -E -q 'WARNING:|BUG:|Oops|general protection|Call Trace' && return 1
	return 0
}

# KVM for this kernel from the shipped kvm-modules.tar (next to the script
# or in the working directory): sets kvm_dir and kvm_mod (kvm_amd or
# kvm_intel), or skips the test (exit 77).  kvm_load inserts the modules.
kvm_modules() {
	tarball=$(dirname "$0")/kvm-modules.tar
	[ -f "$tarball" ] || tarball=./kvm-modules.tar
	[ -f "$tarball" ] || { echo "skip: kvm-modules.tar not shipped"; exit 77; }
	mkdir -p /tmp/kvm-mods && tar -C /tmp/kvm-mods -xf "$tarball"
	kvm_dir=/tmp/kvm-mods/$(uname -r)
	[ -f "$kvm_dir/kvm.ko" ] || { echo "skip: no KVM modules for $(uname -r)"; exit 77; }
	if grep -qw svm /proc/cpuinfo; then
		kvm_vendor="ccp kvm-amd" kvm_mod=kvm_amd
	else
		kvm_vendor=kvm-intel kvm_mod=kvm_intel
	fi
}

kvm_load() {
	for m in irqbypass kvm $kvm_vendor; do
		insmod "$kvm_dir/$m.ko" 2>/dev/null || true
	done
}
