#!/bin/sh
# Runs kvm-storm (tests/emu/kvm-storm.c) under Linux's own KVM inside the
# emulated machine: nested guests taking a storm of software interrupts next
# to canary guests whose state is checked at every exit.  dune is unloaded
# for the duration (it refuses to coexist with KVM) and loaded again after.
# KVM_STORM_RUNS (default 4) runs of 20 s, each with KVM_STORM_CANARIES
# canary and KVM_STORM_STORMS storm VMs (default 2 and 2: with 1 and 1 no
# run of 8 saw the corruption); exit 0 iff no run saw an anomaly.
# KVM_STORM_FXRSTOR=1 (passed on to kvm-storm) runs the direct trigger
# instead: canaries on CPU 0, FXRSTOR in a loop on CPU 1.  Not part of the
# suite: on a QEMU with the defect it can corrupt the emulated host.
# Without KVM_STORM_FXRSTOR the runner's keeping CPU 0 from the tests on the
# amd machine hides the defect: boot with DUNE_VM_USE_CPU0=1 to reproduce.
dir=$(dirname "$0")
. "$dir/lib.sh" 2>/dev/null || . ./lib.sh

runs=${KVM_STORM_RUNS:-4}
canaries=${KVM_STORM_CANARIES:-2}
storms=${KVM_STORM_STORMS:-2}
prog=$dir/kvm-storm
[ -x "$prog" ] || prog=./kvm-storm
[ -f "$prog" ] || { echo "skip: kvm-storm not shipped"; exit 77; }
chmod +x "$prog" 2>/dev/null

kvm_modules

had_dune=0
grep -q "^dune " /proc/modules && had_dune=1
rmmod dune 2>/dev/null
kvm_load
if ! grep -q "^$kvm_mod " /proc/modules || [ ! -c /dev/kvm ]; then
	echo "kvm-storm.sh: $kvm_mod did not load"
	dmesg | tail -5
	bad=1
else
	echo "kvm-storm.sh: $kvm_mod loaded, $runs runs of 20 s, $canaries canaries, $storms storms"
	bad=0
	i=1
	while [ "$i" -le "$runs" ]; do
		out=/tmp/kvm-storm.$i
		"$prog" 20 $canaries $storms > $out 2>&1
		st=$?
		grep -E "^ANOMALY|ended with|made no progress|^skip|: .*: " $out | head -10
		echo "run $i: status $st: $(grep '^kvm-storm: storms' $out)"
		[ $st -eq 0 ] || bad=$((bad + 1))
		i=$((i + 1))
	done
	echo "kvm-storm.sh: $bad of $runs runs failed"
fi

dmesg | grep -i -E "kvm|svm|vmx" | tail -20

rmmod $kvm_mod 2>/dev/null
rmmod kvm 2>/dev/null
if [ $had_dune -eq 1 ]; then
	ko=$(find_module)
	insmod "$ko" || echo "kvm-storm.sh: reloading dune ($ko) failed"
fi
[ $bad -eq 0 ]
exit $?
