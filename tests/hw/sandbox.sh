#!/bin/sh
# dune-sandbox (apps/sandbox): unmodified programs in ring 3 of a Dune
# process.  Busybox commands and a static and a dynamic glibc program give
# the same stdout and exit status as plain runs; a policy denies opens by
# path prefix, a system call and sockets (EPERM + one log line); a hostile
# program cannot read, write or run the monitor's memory nor have the
# kernel do it, nor reach the host with a raw hypercall, nor send its
# descriptors; a TCP server and signal handlers work; fork works (pipelines);
# threads run on their own vCPUs (futex, TLS, exit, exit_group, a fault),
# and a sibling rewriting a checked path gets nothing; the overhead
# on a CPU-bound and a syscall-heavy program is printed as JSON.
. "$(dirname "$0")/lib.sh" 2>/dev/null || . ./lib.sh
dir=$(cd "$(dirname "$0")" && pwd)
SB=$dir/dune-sandbox
BB=/bin/busybox
work=/tmp/sandbox-test
rm -rf "$work"
mkdir -p "$work/data" "$work/secret"
printf 'pear\napple\nfig\nbanana\n' > "$work/data/fruit"
echo "top secret" > "$work/secret/key"
echo "public" > "$work/public"
log=$work/log

[ -x "$SB" ] || { echo "1..0 # SKIP no dune-sandbox next to the test"; exit 77; }
[ -e /dev/dune ] || { echo "1..0 # SKIP no /dev/dune"; exit 77; }

# same NAME CMD...: stdout and exit status in the sandbox equal a plain run's
same() {
	name=$1
	shift
	plain=$("$@" 2>/dev/null)
	pst=$?
	sbox=$("$SB" -- "$@" 2>"$log")
	sst=$?
	[ "$plain" = "$sbox" ] && [ "$pst" -eq "$sst" ] && [ -z "${want:-}" -o "$sst" = "${want:-}" ]
	r=$?
	if [ $r -ne 0 ]; then
		echo "# plain ($pst): $(echo "$plain" | head -c 300)"
		echo "# sandbox ($sst): $(echo "$sbox" | head -c 300)"
		sed 's/^/#   /' "$log" | head -n 20
	fi
	ok $r "$name: same stdout and status ($sst) as a plain run"
}

# same_want STATUS NAME CMD...: the same, and the status is STATUS (a plain
# run that fails for want of a library in the machine fails the test)
same_want() {
	want=$1
	shift
	same "$@"
	want=
}

same "busybox echo" $BB echo hello sandbox
same "busybox cat of a file" $BB cat "$work/data/fruit"
same "busybox ls" $BB ls -l "$work"
same "busybox sort" $BB sort "$work/data/fruit"
same "busybox wc" $BB wc "$work/data/fruit"
same "busybox sh -c with builtins and an exec'd applet" $BB sh -c "echo one; cat $work/public"
same "busybox sh -c 'exit 3'" $BB sh -c "exit 3"
same "busybox false" $BB false
same "busybox cat of a missing file" $BB cat "$work/nothing"
printf '#!/bin/busybox sh\necho "script: $*"; exit 5\n' > "$work/script"
chmod 755 "$work/script"
same "a #! script" "$work/script" a b
same "busybox sh -c running a #! script (execve)" $BB sh -c "$work/script c"
same "static glibc program" "$dir/sbprobe" hello a b
same "static program: malloc/realloc/mmap/munmap" "$dir/sbprobe" mem

# A dynamically linked glibc program with its interpreter: the machine has
# no shared libraries, so the host's ld.so and libc.so.6 came with --file
# and are put where the program's PT_INTERP and ld.so's default path look.
if [ ! -e /lib64/ld-linux-x86-64.so.2 ] && [ -f "$dir/ld-linux-x86-64.so.2" ]; then
	mkdir -p /lib64 /lib/x86_64-linux-gnu
	cp "$dir/ld-linux-x86-64.so.2" /lib64/ && chmod 755 /lib64/ld-linux-x86-64.so.2
	cp "$dir/libc.so.6" /lib/x86_64-linux-gnu/
fi
same "dynamic glibc program (ld.so + libc.so.6)" "$dir/sbprobe-dyn" hello x
same "dynamic program: malloc/realloc/mmap/munmap" "$dir/sbprobe-dyn" mem

# ---------------------------------------------------------------- policy
cat > "$work/policy" <<POL
# test policy
deny open $work/secret
allow open $work/secret/ok
deny syscall mkdir
deny syscall mkdirat
deny socket
POL
out=$("$SB" --policy "$work/policy" -- $BB cat "$work/secret/key" 2>"$log")
st=$?
sed 's/^/# /' "$log"
[ $st -ne 0 ] && [ -z "$out" ] && grep -q "Operation not permitted" "$log" &&
	grep -q "dune-sandbox: denied open.*secret/key.*Operation not permitted" "$log"
ok $? "deny open PREFIX: cat of $work/secret/key fails with EPERM and a log line (status $st)"
out=$("$SB" --policy "$work/policy" -- $BB cat "$work/public" 2>"$log")
[ "$out" = "public" ]
ok $? "a path outside the denied prefix still opens"
out=$("$SB" --policy "$work/policy" -- $BB mkdir "$work/newdir" 2>"$log")
st=$?
sed 's/^/# /' "$log"
[ $st -ne 0 ] && [ ! -d "$work/newdir" ] && grep -q "dune-sandbox: denied mkdir\(at\)\?(" "$log" &&
	grep -q "Operation not permitted" "$log"
ok $? "deny syscall mkdir: busybox mkdir fails with EPERM and a log line (status $st)"
"$SB" -- "$dir/sbprobe" socket >/dev/null 2>&1
st0=$?
"$SB" --policy "$work/policy" -- "$dir/sbprobe" socket >/dev/null 2>"$log"
st=$?
sed 's/^/# /' "$log"
[ $st0 -eq 0 ] && [ $st -eq 3 ] && grep -q "dune-sandbox: denied socket(" "$log"
ok $? "deny socket: socket() is EPERM and logged (status $st; $st0 without the policy)"
printf 'deny bogus rule\n' > "$work/bad-policy"
"$SB" --policy "$work/bad-policy" -- $BB true 2>"$log"
st=$?
[ $st -eq 2 ] && grep -q "bad-policy:1" "$log"
ok $? "a malformed policy is rejected with its line number (status $st)"

# ------------------------------------------------------- hostile program
for m in read write jump; do
	out=$("$SB" -- "$dir/sbprobe" $m auto 2>"$log")
	st=$?
	sed 's/^/# /' "$log"
	[ $st -eq 139 ] && [ -z "$out" ] && grep -q "program killed by SIGSEGV" "$log"
	ok $? "hostile: a ring-3 $m of monitor memory is killed by SIGSEGV (status $st)"
done
# A raw hypercall from ring 3 would go around the monitor: the CPU exits to
# the hypervisor at any privilege level, and dune reflects it back to ring
# 0 as #UD, which ends the program with SIGILL, before anything is written
# or opened (the policy denies both anyway).
cat > "$work/deny-policy" <<POL
deny syscall write
deny open $work/secret
POL
for insn in vmcall vmmcall; do
	out=$("$SB" --policy "$work/deny-policy" -- "$dir/sbprobe" hypercall $insn \
		"$work/secret/key" 2>"$log")
	st=$?
	sed 's/^/# /' "$log"
	echo "$out" | sed 's/^/# stdout: /'
	[ $st -eq 132 ] && [ -z "$out" ] && ! grep -q -e LEAK -e "top secret" "$log" &&
		grep -q "program killed by signal 4" "$log"
	ok $? "hostile: a raw $insn from ring 3 is #UD: SIGILL, no write, no open (status $st)"
done
out=$("$SB" -- "$dir/sbprobe" sys auto 2>"$log")
st=$?
echo "$out" | sed 's/^/# /'
[ $st -eq 0 ] && echo "$out" | grep -q "^0 attempts succeeded" &&
	! echo "$out" | grep -q SUCCEEDED
ok $? "hostile: no system call reads, writes, maps or unmaps monitor memory (status $st)"
grep -c "dune-sandbox: denied" "$log" | sed 's/^/# log lines: /'

# ---------------------------------------------------------------- servers
# The calls a server makes (issue 15: lighttpd stopped at setsockopt,
# busybox httpd spun on accept): a TCP server and its client on loopback.
$BB ip link set lo up 2>/dev/null || $BB ifconfig lo 127.0.0.1 up 2>/dev/null
same "TCP server and client: setsockopt, getsockname, accept4, epoll, select, ppoll, recvmsg/sendmsg, getsockopt" \
	"$dir/sbprobe" net
same "dynamic program: the same server" "$dir/sbprobe-dyn" net
out=$("$SB" -- "$dir/sbprobe" scm 2>"$log")
st=$?
echo "$out" | sed 's/^/# /'
grep "SCM_RIGHTS" "$log" | head -n 2 | sed 's/^/# /'
[ $st -eq 0 ] && echo "$out" | grep -q "^scm: 0 descriptors" &&
	grep -q "denied sendmsg(.*SCM_RIGHTS" "$log"
ok $? "hostile: the monitor's descriptors cannot leave with SCM_RIGHTS (status $st)"

# ---------------------------------------------------------------- signals
same "the program's own signal handlers (raise, SIGALRM with and without SA_RESTART, pause, SIGPIPE ignored, SIGCHLD, blocking, SIGSEGV fixed up)" \
	"$dir/sbprobe" signals
same "dynamic program: the same handlers" "$dir/sbprobe-dyn" signals

# ------------------------------------------------------------- processes
# fork: the monitor forks and the child re-enters Dune mode; each side of a
# pipe then execs its applet (busybox re-executes /proc/self/exe).
same "busybox sh -c with a pipe (fork + exec)" $BB sh -c "$BB sort $work/data/fruit | $BB wc -l"
same "busybox sh -c with \$(...) and a pipe into a builtin" \
	$BB sh -c "x=\$($BB echo sub); echo \$x; $BB echo a b | { read p q; echo \$q; exit 4; }"

# --------------------------------------------------------------- threads
# Each program thread is a monitor thread on its own vCPU, under the same
# policy and region table.
# (pthread_exit unwinds with libgcc_s.so.1, which came with --file.)
[ -e /lib/x86_64-linux-gnu/libgcc_s.so.1 ] || [ ! -f "$dir/libgcc_s.so.1" ] ||
	cp "$dir/libgcc_s.so.1" /lib/x86_64-linux-gnu/
same_want 0 "pthreads: mutex and condvar futex waits, TLS, pthread_exit, join, 20 short threads, signals between threads" \
	"$dir/sbprobe" threads
same_want 0 "dynamic program: the same threads" "$dir/sbprobe-dyn" threads
same_want 7 "exit() from a thread ends the whole process (exit_group)" "$dir/sbprobe" threads-exit
same_want 0 "the main thread's pthread_exit: the last thread ends the process" \
	"$dir/sbprobe" threads-mainexit
same_want 0 "dynamic program: the same" "$dir/sbprobe-dyn" threads-mainexit
same_want 139 "a fault in a thread kills the process by SIGSEGV" "$dir/sbprobe" threads-fault
# Hostile: a sibling thread rewrites a path after the monitor checked it;
# the kernel must open what was checked.  The two paths differ in one byte.
mkdir -p "$work/secrex"
echo "public" > "$work/secrex/key"
cat > "$work/race-policy" <<POL
deny open $work/secret
POL
out=$("$SB" --policy "$work/race-policy" -- "$dir/sbprobe" race "$work/secret/key" \
	"$work/secrex/key" 4000 8 2>"$log")
st=$?
echo "$out" | sed 's/^/# /'
opened=$(echo "$out" | sed -n 's/^race: \([0-9]*\) opens, \([0-9]*\) refused, \([0-9]*\) leaked.*/\1 \2 \3/p')
set -- $opened
[ $st -eq 0 ] && [ -n "$opened" ] && [ "$3" -eq 0 ] && [ "$1" -gt 0 ] && [ "$2" -gt 0 ] &&
	! echo "$out" | grep -q "not sandboxed"
ok $? "hostile: a path rewritten by a sibling thread after the check is not opened (${1:-?} opened, ${2:-?} refused, ${3:-?} leaked)"
# Hostile: a sibling reads through every descriptor of /proc/self/mem
# while the program opens it: the monitor checks an O_PATH descriptor
# (no read through it) before the real open, so no read ever succeeds.
out=$("$SB" -- "$dir/sbprobe" memrace 3000 8 2>"$log")
st=$?
echo "$out" | sed 's/^/# /'
[ $st -eq 0 ] && echo "$out" | grep -q "^memrace: \([1-9][0-9]*\) of \1 opens refused, 0 reads"
ok $? "hostile: no sibling thread reads monitor memory through /proc/self/mem while it is opened (status $st)"

# A threaded program from Debian: xz -T2 (dynamic: liblzma and libc came
# with --file like ld.so above).  Its multi-threaded output is the same
# bytes as a plain run's.
if [ -f "$dir/xz" ] && [ -f "$dir/liblzma.so.5" ]; then
	[ -e /lib/x86_64-linux-gnu/liblzma.so.5 ] || cp "$dir/liblzma.so.5" /lib/x86_64-linux-gnu/
	chmod 755 "$dir/xz"
	$BB seq 1 1200000 > "$work/numbers"
	"$dir/xz" -T2 -1 -c "$work/numbers" > "$work/plain.xz" 2>/dev/null
	pst=$?
	"$SB" -- "$dir/xz" -T2 -1 -c "$work/numbers" > "$work/sbox.xz" 2>"$log"
	sst=$?
	"$SB" -- "$dir/xz" -d -c "$work/sbox.xz" > "$work/back" 2>>"$log"
	dst=$?
	sed 's/^/# /' "$log" | head -n 5
	echo "# xz -T2: $($BB wc -c < "$work/numbers") bytes -> $($BB wc -c < "$work/sbox.xz") (plain $($BB wc -c < "$work/plain.xz"))"
	[ $pst -eq 0 ] && [ $sst -eq 0 ] && [ $dst -eq 0 ] && $BB cmp -s "$work/plain.xz" "$work/sbox.xz" &&
		$BB cmp -s "$work/numbers" "$work/back"
	ok $? "xz -T2 (Debian's, two compression threads): same bytes as a plain run, decompresses back (status $sst)"
else
	echo "# xz and liblzma.so.5 not shipped with --file: xz -T2 not run"
fi

# ------------------------------------------------------------- overhead
# The same program plainly and sandboxed (--bench): wall-clock ratio, the
# run with the median ratio of three (the emulators' timing is noisy).
bench() {
	for k in 1 2 3; do
		"$SB" --bench -- "$dir/sbprobe" "$@" 2>&1 >/dev/null | grep '^{' | tail -n 1
	done | awk -F'"ratio": ' '{ split($2, a, ","); print a[1], $0 }' | sort -n |
		sed -n 2p | cut -d' ' -f2-
}
start=$(bench hello)
cpu=$(bench cpu 20)
calls=$(bench calls 10000)
echo "# start-up only: $start"
echo "# cpu-bound: $cpu"
echo "# syscall-heavy: $calls"
json="{\"sandbox_overhead\": {\"startup\": ${start:-null}, \"cpu\": ${cpu:-null},"
json="$json \"syscalls\": ${calls:-null}}}"
echo "$json" > "$work/bench.json"
echo "# JSON: $json"
[ -n "$cpu" ] && [ -n "$calls" ]
ok $? "overhead measured (ratios above)"

done_testing
