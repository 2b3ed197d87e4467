#!/bin/sh
# /init of the test guest (busybox ash, PID 1).  Built into the initramfs by
# tests/vm/dunevm/initramfs.py next to:
#   /dune/config          DUNE_MODULE=/dune/dune.ko (or empty), DUNE_CONSOLE_LEVEL,
#                         DUNE_TEST_CPUS (a taskset -c list the tests run on,
#                         or empty for all CPUs; see machines.py spare_cpu0)
#   /dune/tests/N/name    test N (1, 2, ...): its name,
#   /dune/tests/N/timeout   its time limit in guest seconds (0: none; the
#                           host sends "KILL N" on the framing port instead),
#   /dune/tests/N/cmd       a sh script that execs the program with its args
#   /test/                the programs and --file files (the working directory)
#
# Results go to the second serial port (ttyS1) as framed records; the kernel
# console stays alone on ttyS0.  Every record is one line starting with
# "@@DUNE@@ "; payloads are base64 lines, which can never start with "@",
# and belong to the DATA record before them:
#   @@DUNE@@ READY <release> <cpus> <features,...>
#   @@DUNE@@ DATA insmod | @@DUNE@@ MODULE <ok|fail|none> <status>
#   @@DUNE@@ BEGIN <n> <name>
#   @@DUNE@@ DATA out | @@DUNE@@ DATA err
#   @@DUNE@@ END <n> <status> <seconds> [timeout]
#   @@DUNE@@ DONE
# The same points are marked in the kernel log ("dune-vm: begin <n> ...") so
# the host can tell which test a kernel WARNING belongs to.
# The host may write commands to the same port (Bochs: its guest clock runs
# many times slower than the host's, so the host keeps the time):
#   KILL <n>    stop test n as timed out

export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/test TERM=linux

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

. /dune/config

# raw: no "\n" -> "\r\n" and no echo; 115200: Bochs times each byte by the
# baud rate, the 8250 default (9600) would make large outputs crawl.
stty -F /dev/ttyS1 115200 raw -echo -ixon -crtscts clocal
exec 9>/dev/ttyS1

frame() { echo "@@DUNE@@ $*" >&9; }
kmark() { echo "<5>dune-vm: $*" >/dev/kmsg; }
data() { frame DATA "$1"; base64 "$2" >&9; }
uptime_s() { read -r up _ </proc/uptime; echo "$up"; }

# Commands from the host (see above), read in the background.
control() {
	while read -r cmd arg; do
		case "$cmd" in
		KILL)
			: >"/tmp/dune.$arg.timeout"
			read -r pid <"/tmp/dune.$arg.pid" && kill -9 -"$pid"
			;;
		esac
	done </dev/ttyS1 >/dev/null 2>&1
}
control 9>&- &

# Messages up to KERN_INFO reach the console from now on (the boot itself may
# have run with a lower loglevel to go faster), so module messages show.
dmesg -n "${DUNE_CONSOLE_LEVEL:-7}"

features=$(grep -o -w -E 'vmx|svm|ept|npt|vpid' /proc/cpuinfo | sort -u | tr '\n' ',')
frame READY "$(uname -r)" "$(grep -c '^processor' /proc/cpuinfo)" "${features%,}"

load_module() {
	kmark "insmod $DUNE_MODULE"
	if [ -z "$DUNE_MODULE" ]; then
		kmark "insmod-done none"
		frame MODULE none 0
		return 0
	fi
	insmod "$DUNE_MODULE" >/tmp/insmod.log 2>&1 </dev/null
	st=$?
	kmark "insmod-done $st"
	data insmod /tmp/insmod.log
	if [ "$st" = 0 ]; then frame MODULE ok 0; else frame MODULE fail "$st"; fi
	return "$st"
}

# kmemleak (debug kernels only): a scan after each test, so a leak is
# reported in the kernel log while that test's window is open.  An object
# is reported once it is 5 s old, so a leak from a short test may show in the
# next test's window; the report printed here names the allocating task.
kmemleak=/sys/kernel/debug/kmemleak
leak_scan() {
	[ -w "$kmemleak" ] || return 0
	echo scan >"$kmemleak" 2>/dev/null || return 0
	if [ -s "$kmemleak" ]; then
		while IFS= read -r line; do
			echo "<4>dune-vm: kmemleak: $line" >/dev/kmsg
		done <"$kmemleak"
		echo clear >"$kmemleak"
	fi
}
if [ -w "$kmemleak" ]; then
	# What boot left behind is not ours: scan, then forget it.
	echo scan >"$kmemleak" 2>/dev/null
	echo clear >"$kmemleak" 2>/dev/null
fi

# run_test N: run test N in its own session (so a timeout kills all of its
# processes) with stdout/stderr captured to files, then send both.
run_test() {
	n=$1
	read -r name <"/dune/tests/$n/name"
	read -r limit <"/dune/tests/$n/timeout"
	out=/tmp/dune.$n.out err=/tmp/dune.$n.err flag=/tmp/dune.$n.timeout
	kmark "begin $n $name"
	frame BEGIN "$n" "$name"
	t0=$(uptime_s)
	(cd /test && exec $pin setsid sh "/dune/tests/$n/cmd") >"$out" 2>"$err" </dev/null 9>&- &
	pid=$!
	echo "$pid" >"/tmp/dune.$n.pid"
	wd=""
	if [ "$limit" -gt 0 ]; then
		# Watchdog: "sleep" is not killed with the subshell; it runs out.
		(sleep "$limit"; : >"$flag"; kill -9 -"$pid" || kill -9 "$pid") >/dev/null 2>&1 9>&- &
		wd=$!
	fi
	wait "$pid"
	st=$?
	[ -n "$wd" ] && kill "$wd" 2>/dev/null
	t1=$(uptime_s)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	tag=""
	if [ -e "$flag" ]; then st=124; tag=timeout; fi
	leak_scan
	kmark "end $n $st"
	data out "$out"
	data err "$err"
	frame END "$n" "$st" "$secs" $tag
	rm -f "$out" "$err"
}

pin=""
[ -n "$DUNE_TEST_CPUS" ] && pin="taskset -c $DUNE_TEST_CPUS"
if load_module; then
	n=1
	while [ -d "/dune/tests/$n" ]; do
		run_test "$n"
		n=$((n + 1))
	done
	# Leaks younger than kmemleak's 5 s minimum age at the last test's scan.
	if [ -w "$kmemleak" ]; then
		sleep 6
		kmark "kmemleak final scan"
		leak_scan
	fi
fi
kmark "done"
frame DONE
sync
# The host stops the machine once DONE has arrived.  Do not power off
# first: the serial driver sends asynchronously, and Bochs exiting at once
# lost the last results still queued for COM2.  Power off only if the host
# never reacts (-f: no init to ask).
sleep 60
poweroff -f
sleep 3600
