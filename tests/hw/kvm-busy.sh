#!/bin/sh
# dune refuses to load while KVM is loaded (EBUSY, one dmesg line saying
# so), leaves nothing half enabled, and loads again once KVM is gone.  The
# other way round too: while dune is loaded, kvm and kvm_amd/kvm_intel
# fail to load (dune's module notifier), dune keeps working, and KVM loads
# once dune is gone.
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

# KVM after dune.
kvm_vendor_ko=$kvm_dir/$(echo "$kvm_mod" | tr _ -).ko
for m in $kvm_vendor; do
	case $m in kvm-*) ;; *) insmod "$kvm_dir/$m.ko" 2>/dev/null ;; esac
done
insmod "$kvm_dir/irqbypass.ko" 2>/dev/null
err=$(insmod "$kvm_dir/kvm.ko" 2>&1)
st=$?
[ $st -ne 0 ] && ! grep -q "^kvm " /proc/modules
ok $? "insmod kvm fails while dune is loaded ($err)"
echo "$err" | grep -q "busy"
ok $? "with EBUSY"
err=$(insmod "$kvm_vendor_ko" 2>&1)
[ $? -ne 0 ] && ! grep -q "^$kvm_mod " /proc/modules
ok $? "insmod $kvm_mod fails too ($err)"
dmesg | sed -n "/$marker/,\$p" | grep -q "dune: refusing to load kvm: dune holds"
ok $? "dmesg says dune refused kvm"
smoke=$(dirname "$0")/smoke
[ -x "$smoke" ] || smoke=./smoke
if [ -x "$smoke" ]; then
	"$smoke" > /tmp/kvm-busy-smoke.out 2>&1
	ok $? "dune still works (smoke)"
	grep "not ok" /tmp/kvm-busy-smoke.out
fi
rmmod dune
ok $? "unload dune"
kvm_load
grep -q "^$kvm_mod " /proc/modules
ok $? "$kvm_mod loads once dune is gone"
rmmod $kvm_mod && rmmod kvm && insmod "$ko"
ok $? "back to dune"
dmesg_clean "$marker"
ok $? "no kernel warnings"
done_testing
