#!/bin/sh
# CPU hotplug under running Dune processes: a CPU goes offline and comes
# back several times while vCPUs run on it (system-call loops and pure
# computation).  Going down, dune must turn VMX/SVM off there only after
# the vCPU threads left (VMCLEARing the VMCSs still active there first);
# coming up, it must turn it on before any of them can run there again.
# Every process must finish with the right results, dune must keep
# working and the kernel must log no warning.
. "$(dirname "$0")/lib.sh" 2>/dev/null || . ./lib.sh

spin=$(dirname "$0")/spin
[ -x "$spin" ] || spin=./spin
[ -x "$spin" ] || { echo "skip: spin not shipped"; exit 77; }
# A CPU we may run on, can take offline, and that leaves another one of
# ours online (the amd machine keeps tests off CPU 0: see tests/vm/README.md).
allowed=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
cpus=$(echo "$allowed" | awk -F, '{ for (i = 1; i <= NF; i++) { n = split($i, r, "-");
	for (c = r[1]; c <= r[n]; c++) print c } }')
cpu=
for c in $cpus; do
	[ -w /sys/devices/system/cpu/cpu$c/online ] && cpu=$c
done
[ -n "$cpu" ] && [ "$(echo $cpus | wc -w)" -ge 2 ] ||
	{ echo "skip: needs two usable CPUs, one hot-pluggable (have $allowed)"; exit 77; }
online=/sys/devices/system/cpu/cpu$cpu/online
# Bochs runs ~20 times slower than QEMU: fewer rounds there.
if grep -qw svm /proc/cpuinfo; then rounds=12; else rounds=4; fi
states=$(grep "dune:" /sys/devices/system/cpu/hotplug/states | tr -s ' \n' ' ')
[ -n "$states" ]
ok $? "dune's hotplug states: $states"
marker="dune-hotplug-live-$$"
echo "$marker" > /dev/kmsg

stop=/tmp/hotplug-live.stop
rm -f "$stop"
"$spin" -c -n 2 "$stop" > /tmp/hl1.out 2>&1 & p1=$!
"$spin" -c -n 2 "$stop" > /tmp/hl2.out 2>&1 & p2=$!
"$spin" -n 2 "$stop" > /tmp/hl3.out 2>&1 & p3=$!
i=0
while [ $i -lt 600 ]; do
	[ "$(cat /tmp/hl1.out /tmp/hl2.out /tmp/hl3.out | grep -c 'in guest')" -eq 3 ] && break
	sleep 0.1
	i=$((i + 1))
done
[ "$(cat /tmp/hl1.out /tmp/hl2.out /tmp/hl3.out | grep -c 'in guest')" -eq 3 ]
ok $? "3 Dune processes x 2 vCPUs running on CPUs $allowed"

bad=0
r=0
while [ $r -lt $rounds ]; do
	echo 0 > "$online" || bad=$((bad + 1))
	sleep 0.2
	echo 1 > "$online" || bad=$((bad + 1))
	sleep 0.3
	r=$((r + 1))
done
[ $bad -eq 0 ]
ok $? "cpu$cpu offline and online $rounds times under them ($bad failed writes)"
[ "$(cat "$online")" = 1 ]
ok $? "cpu$cpu online at the end"

touch "$stop"
st=0
for p in $p1 $p2 $p3; do
	wait $p || st=$?
done
[ $st -eq 0 ]
ok $? "all processes finished with status 0 (last failure: $st)"
for f in /tmp/hl1.out /tmp/hl2.out /tmp/hl3.out; do
	grep -q "all right" $f
	ok $? "$(tail -n 1 $f)"
done

smoke=$(dirname "$0")/smoke
[ -x "$smoke" ] || smoke=./smoke
if [ -x "$smoke" ]; then
	"$smoke" > /tmp/hotplug-live-smoke.out 2>&1
	ok $? "smoke passes afterwards"
	grep "not ok" /tmp/hotplug-live-smoke.out
fi
dmesg_clean "$marker"
ok $? "no kernel warnings"
# A vCPU loaded on a CPU whose VMX was already off shows up as failed VMX
# instructions (vmx_insn_failed), not as a WARNING.
! dmesg | sed -n "/$marker/,\$p" | grep -E "dune: .*(failed|without)"
ok $? "no failed VMX/SVM instruction or CPU left without virtualization"
done_testing
