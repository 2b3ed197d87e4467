#!/bin/sh
# Unload and reload dune.ko 20 times: every load enables virtualization on
# all CPUs and creates /dev/dune, every unload removes both, and the kernel
# logs no warning.
. "$(dirname "$0")/lib.sh" 2>/dev/null || . ./lib.sh

ko=$(find_module)
[ -n "$ko" ] || { echo "skip: dune.ko not found in the machine"; exit 77; }
marker="dune-reload-test-$$"
echo "$marker" > /dev/kmsg

i=0
bad_unload=0
bad_load=0
while [ $i -lt 20 ]; do
	rmmod dune 2>/dev/null || bad_unload=$((bad_unload + 1))
	[ -e /dev/dune ] && bad_unload=$((bad_unload + 1))
	insmod "$ko" || bad_load=$((bad_load + 1))
	[ -c /dev/dune ] || bad_load=$((bad_load + 1))
	i=$((i + 1))
done
ok $bad_unload "20 unloads removed the module and /dev/dune ($bad_unload problems)"
ok $bad_load "20 loads created /dev/dune ($bad_load problems)"
cpus=$(grep -c ^processor /proc/cpuinfo)
enabled=$(dmesg | sed -n "/$marker/,\$p" | grep -c "backend enabled on $cpus CPUs")
[ "$enabled" -eq 20 ]
ok $? "each load enabled all $cpus CPUs ($enabled of 20 log lines)"
insmod "$ko" 2>/dev/null
[ $? -ne 0 ]
ok $? "loading it a second time fails"
dmesg_clean "$marker"
ok $? "no kernel warnings"
done_testing
