#!/bin/sh
# CPU hotplug with dune loaded: a CPU going offline turns virtualization off
# there, coming back turns it on again, and the smoke test still passes.
. "$(dirname "$0")/lib.sh" 2>/dev/null || . ./lib.sh

cpu=/sys/devices/system/cpu/cpu1/online
[ -w "$cpu" ] || { echo "skip: needs a second, hot-pluggable CPU"; exit 77; }
marker="dune-hotplug-test-$$"
echo "$marker" > /dev/kmsg

echo 0 > "$cpu"
ok $? "cpu1 offline"
echo 1 > "$cpu"
ok $? "cpu1 online again"
ko=$(find_module)
rmmod dune && insmod "$ko"
ok $? "reload after hotplug"
echo 0 > "$cpu"
online=$(grep -c '^processor' /proc/cpuinfo)
insmod_state=$(cat /sys/module/dune/initstate 2>/dev/null)
[ "$insmod_state" = live ]
ok $? "module live with cpu1 offline"
rmmod dune
ok $? "unload with cpu1 offline"
insmod "$ko"
ok $? "load with cpu1 offline"
echo 1 > "$cpu"
ok $? "cpu1 online with the module loaded"
dmesg | sed -n "/$marker/,\$p" | grep -q "backend enabled on $online CPUs"
ok $? "the load with cpu1 offline enabled the $online online CPUs"
smoke=$(dirname "$0")/smoke
if [ -x "$smoke" ]; then
	"$smoke" > /tmp/hotplug-smoke.out 2>&1
	ok $? "smoke passes after cpu1 came back (enabled on all CPUs)"
	grep "not ok" /tmp/hotplug-smoke.out
fi
dmesg_clean "$marker"
ok $? "no kernel warnings"
done_testing
