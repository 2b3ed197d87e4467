#!/bin/sh
# Virtualization turned off under running Dune processes, as a crash or an
# emergency reboot does (cpu_emergency_disable_virtualization): the debugfs
# test hook dune/disable_virt runs dune's emergency callback on every CPU.
# The processes, one making system calls and one computing in guest mode,
# must stop with an error within seconds, the kernel must not oops or warn,
# and after reloading the module Dune mode works again.
. "$(dirname "$0")/lib.sh" 2>/dev/null || . ./lib.sh

spin=$(dirname "$0")/spin
[ -x "$spin" ] || spin=./spin
[ -x "$spin" ] || { echo "skip: spin not shipped"; exit 77; }
smoke=$(dirname "$0")/smoke
[ -x "$smoke" ] || smoke=./smoke
ko=$(find_module)
dbg=/sys/kernel/debug
[ -d $dbg/dune ] || mount -t debugfs none $dbg 2>/dev/null
hook=$dbg/dune/disable_virt
[ -w $hook ]
ok $? "the test hook $hook exists"
[ -w $hook ] || done_testing
marker="dune-virt-off-$$"
echo "$marker" > /dev/kmsg

stop=/tmp/virt-off.stop
rm -f $stop
"$spin" -c -n 2 -t 120 $stop > /tmp/vo1.out 2>&1 & p1=$!
"$spin" -n 1 -t 120 $stop > /tmp/vo2.out 2>&1 & p2=$!
i=0
while [ $i -lt 600 ] && [ "$(cat /tmp/vo1.out /tmp/vo2.out | grep -c 'in guest')" -lt 2 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ "$(cat /tmp/vo1.out /tmp/vo2.out | grep -c 'in guest')" -eq 2 ]
ok $? "two Dune processes in guest mode (system calls; computation)"

echo 1 > $hook
ok $? "virtualization turned off on every CPU"
# Bochs: its guest seconds pass much more slowly, but 20 is plenty.
i=0
while [ $i -lt 200 ] && { kill -0 $p1 2>/dev/null || kill -0 $p2 2>/dev/null; }; do
	sleep 0.1
	i=$((i + 1))
done
alive=0
for p in $p1 $p2; do
	kill -0 $p 2>/dev/null && alive=$((alive + 1))
done
[ $alive -eq 0 ]
ok $? "both processes stopped within $((i / 10)) s ($alive still running)"
if [ $alive -ne 0 ]; then
	touch $stop
	sleep 2
	kill -9 $p1 $p2 2>/dev/null
fi
wait $p1
s1=$?
wait $p2
s2=$?
[ $s1 -ne 0 ] && [ $s2 -ne 0 ] && ! grep -q "all right" /tmp/vo1.out /tmp/vo2.out
ok $? "both failed (status $s1, $s2): $(tail -n 1 /tmp/vo1.out) / $(tail -n 1 /tmp/vo2.out)"
dmesg | sed -n "/$marker/,\$p" | grep -q "dune: disable_virt:"
ok $? "dmesg shows the hook ran"
dmesg_clean "$marker"
ok $? "no oops, BUG or WARNING"

rmmod dune
ok $? "unload dune"
insmod "$ko"
ok $? "load dune again"
"$smoke" > /tmp/virt-off-smoke.out 2>&1
ok $? "Dune mode works again (smoke)"
grep "not ok" /tmp/virt-off-smoke.out
dmesg_clean "$marker"
ok $? "still no kernel warnings"
dmesg | sed -n "/$marker/,\$p" | grep "dune" | head -n 20
done_testing
