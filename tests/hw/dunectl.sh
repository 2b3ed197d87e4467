#!/bin/sh
# dunectl (statically linked copy, --file) against the real module: info,
# stats and check, then check with the module unloaded, with KVM holding
# the hardware, and as a user who may or may not open /dev/dune.
. "$(dirname "$0")/lib.sh" 2>/dev/null || . ./lib.sh
dir=$(dirname "$0")
d=$dir/dunectl-static
[ -f "$d" ] || { echo "skip: dunectl-static not shipped (--file)"; exit 77; }
chmod +x "$d"
if grep -qw vmx /proc/cpuinfo; then expect=vmx; vmod=kvm_intel; vendor=kvm-intel
else expect=svm; vmod=kvm_amd; vendor="ccp kvm-amd"; fi
marker="dune-dunectl-$$"
echo "$marker" > /dev/kmsg

show() { echo "$1" | sed 's/^/# /'; }
col() {	# col TEXT LABEL N: the Nth number on the line starting with LABEL
	echo "$1" | sed -n "s/^$2  *//p" | awk -v n="$3" '{ print $n }'
}

# --- info
out=$("$d" info 2>&1); st=$?
show "$out"
ok $st "dunectl info (status $st)"
echo "$out" | grep -q "^backend: *$expect ("
ok $? "backend $expect"
echo "$out" | grep -q "^ABI version: *1 (this dunectl: 1)"
ok $? "ABI version 1 on both sides"
echo "$out" | grep -q "^CPU features used: *nested-paging"
ok $? "features listed"
echo "$out" | grep -q "^live vCPUs: *0$"
ok $? "no live vCPUs"
echo "$out" | grep -q "^module parameters: .*passthrough=kernel"
ok $? "module parameters shown"
out=$("$d" info --json 2>&1); st=$?
show "$out"
[ $st -eq 0 ] && echo "$out" | grep -q "\"backend\": \"$expect\", \"abi_version\": 1," &&
	echo "$out" | grep -q '"live_vcpus": 0,'
ok $? "dunectl info --json"

# --- stats: 2000 getpid() calls, 256 fresh pages
calls=2000
out=$("$d" stats --syscalls=$calls --pages=256 2>&1); st=$?
show "$out"
ok $st "dunectl stats (status $st)"
hc=$(col "$out" hypercall 2)
[ -n "$hc" ] && [ "$hc" -ge $calls ] && [ "$hc" -le $((calls + 50)) ]
ok $? "phase 1: $calls getpid() calls cost $hc hypercall exits (about one each)"
sc=$(( $(col "$out" "syscalls in kernel" 2) + $(col "$out" "syscalls in host" 2) ))
[ "$sc" -ge $calls ]
ok $? "phase 1: $sc system calls counted"
nf=$(col "$out" nested-fault 3)
[ -n "$nf" ] && [ "$nf" -ge 1 ]
ok $? "phase 2: touching fresh pages took $nf nested page faults"
np=$(col "$out" "nested pages now" 1)
[ -n "$np" ] && [ "$np" -ge 256 ]
ok $? "the process has $np nested pages (at least the 256 touched)"
echo "$out" | grep -q "^live vCPUs (module-wide, this one included): [1-9]"
ok $? "live vCPUs counted this one"
out=$("$d" info 2>&1)
echo "$out" | grep -q "^live vCPUs: *0$"
ok $? "and it is gone after the process exited"
out=$("$d" stats --syscalls=10 --pages=1 --json 2>&1); st=$?
show "$out"
[ $st -eq 0 ] && echo "$out" | grep -q '"getpid_phase": {"exits": {"hypercall": 1[0-9],'
ok $? "dunectl stats --json"

# --- check
out=$("$d" check 2>&1); st=$?
show "$out"
ok $st "dunectl check passes with the module loaded (status $st)"
echo "$out" | grep -q "^ok    /dev/dune works: $expect backend" &&
	echo "$out" | grep -q "^dune can run here.$"
ok $? "check: /dev/dune works, dune can run here"

# --- as another user: first without access, then in the device's group
grep -q "^nobody:" /etc/passwd || echo "nobody:x:65534:65534:nobody:/:/bin/sh" >> /etc/passwd
grep -q "^dune:" /etc/group || echo "dune:x:990:nobody" >> /etc/group
grep -q "^nogroup:" /etc/group || echo "nogroup:x:65534:" >> /etc/group
out=$(su -s /bin/sh nobody -c "$d check" 2>&1); st=$?
show "$out"
[ $st -eq 1 ] && echo "$out" | grep -q "cannot open /dev/dune: Permission denied" &&
	echo "$out" | grep -q "is mode 660, group root"
ok $? "check as a user outside the group: permission denied, explained"
# What the udev rule does (no udev here): the group may open the device.
chgrp 990 /dev/dune
out=$(su -s /bin/sh nobody -c "$d info" 2>&1); st=$?
show "$out"
[ $st -eq 0 ] && echo "$out" | grep -q "^backend: *$expect"
ok $? "a member of group dune may use /dev/dune"
chgrp 0 /dev/dune

# --- without the module
ko=$(find_module)
rmmod dune
out=$("$d" check 2>&1); st=$?
show "$out"
[ $st -eq 1 ] && echo "$out" | grep -q "the dune module is .*not loaded" &&
	echo "$out" | grep -q "^dune cannot run here"
ok $? "check without the module: not loaded, cannot run"

# --- with KVM holding the hardware
tarball=$dir/kvm-modules.tar
kd=/tmp/kvm-mods/$(uname -r)
if [ -f "$tarball" ]; then
	mkdir -p /tmp/kvm-mods && tar -C /tmp/kvm-mods -xf "$tarball"
	for m in irqbypass kvm $vendor; do insmod "$kd/$m.ko" 2>/dev/null || true; done
	out=$("$d" check 2>&1); st=$?
	show "$out"
	[ $st -eq 1 ] && echo "$out" | grep -q "KVM ($vmod) is loaded: dune refuses" &&
		echo "$out" | grep -q "sudo modprobe -r $vmod kvm"
	ok $? "check with $vmod loaded: says KVM holds the hardware"
	rmmod $vmod; rmmod kvm
fi

insmod "$ko"
ok $? "dune loads again"
out=$("$d" check 2>&1)
echo "$out" | grep -q "^dune can run here.$"
ok $? "and check passes again"
dmesg_clean "$marker"
ok $? "no kernel warnings"
done_testing
