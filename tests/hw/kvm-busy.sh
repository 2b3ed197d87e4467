#!/bin/sh
# dune refuses to load while KVM is loaded (EBUSY, one dmesg line saying
# so), leaves nothing half enabled, and loads again once KVM is gone.
. "$(dirname "$0")/lib.sh" 2>/dev/null || . ./lib.sh

rel=$(uname -r)
tarball=$(dirname "$0")/kvm-modules.tar
[ -f "$tarball" ] || tarball=./kvm-modules.tar
[ -f "$tarball" ] || { echo "skip: kvm-modules.tar not shipped"; exit 77; }
tmp=/tmp/kvm-mods
mkdir -p $tmp && tar -C $tmp -xf "$tarball"
d=$tmp/$rel
[ -f "$d/kvm.ko" ] || { echo "skip: no KVM modules for $rel"; exit 77; }
if grep -qw svm /proc/cpuinfo; then vendor="ccp kvm-amd"; vmod=kvm_amd; else vendor="kvm-intel"; vmod=kvm_intel; fi
ko=$(find_module)
marker="dune-kvm-busy-$$"
echo "$marker" > /dev/kmsg

rmmod dune
ok $? "unload dune"
for m in irqbypass kvm $vendor; do
	insmod "$d/$m.ko" 2>/dev/null || true
done
grep -q "^$vmod " /proc/modules
ok $? "$vmod loaded"
err=$(insmod "$ko" 2>&1)
st=$?
[ $st -ne 0 ]
ok $? "insmod dune fails while KVM is loaded"
echo "$err" | grep -q "busy"
ok $? "with EBUSY ($err)"
dmesg | sed -n "/$marker/,\$p" | grep -q "dune: KVM is loaded"
ok $? "dmesg says KVM holds the hardware"
[ ! -e /dev/dune ] && ! grep -q "^dune " /proc/modules
ok $? "nothing left behind"
rmmod $vmod && rmmod kvm
ok $? "unload KVM"
insmod "$ko"
ok $? "dune loads again"
[ -c /dev/dune ]
ok $? "/dev/dune is back"
dmesg_clean "$marker"
ok $? "no kernel warnings"
done_testing
