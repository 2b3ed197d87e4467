#!/bin/sh
# dune refuses to load while KVM is loaded (EBUSY, one dmesg line saying
# so), leaves nothing half enabled, and loads again once KVM is gone.
. "$(dirname "$0")/lib.sh" 2>/dev/null || . ./lib.sh

kvm_modules
ko=$(find_module)
marker="dune-kvm-busy-$$"
echo "$marker" > /dev/kmsg

rmmod dune
ok $? "unload dune"
kvm_load
grep -q "^$kvm_mod " /proc/modules
ok $? "$kvm_mod loaded"
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
rmmod $kvm_mod && rmmod kvm
ok $? "unload KVM"
insmod "$ko"
ok $? "dune loads again"
[ -c /dev/dune ]
ok $? "/dev/dune is back"
dmesg_clean "$marker"
ok $? "no kernel warnings"
done_testing
