#!/bin/sh
# Programs written for the original Dune, built unchanged against our
# libdune (tests/compat/original), run on this machine: the divide-by-zero
# handler of hello.c, the fork/pthread/signal tests of test.c, and, on a
# machine with 11 CPUs or more (it pins threads to CPUs 0-10; `make
# check-compat-ipi` boots one), the IPIs of posted_ipi.c.
. "$(dirname "$0")/lib.sh" 2>/dev/null || . ./lib.sh
dir=$(dirname "$0")

out=$("$dir/original-hello" 2>&1)
st=$?
echo "$out" | sed 's/^/# /'
echo "$out" | grep -q "hello: now printing from dune mode" &&
	echo "$out" | grep -q "hello: caught divide by zero!" &&
	echo "$out" | grep -q "hello: recovered from divide by zero" && [ $st -eq 0 ]
ok $? "original hello.c: #DE handled in the guest, recovered, exit 0 (status $st)"
echo "$out" | grep -q "we won't reach this call"
[ $? -ne 0 ]
ok $? "original hello.c: the faulting division did not complete"

out=$("$dir/original-test" 2>&1)
st=$?
echo "$out" | sed 's/^/# /'
for t in fork pthread signal; do
	echo "$out" | grep -q "==== Test $t - passed"
	ok $? "original test.c: $t"
done
echo "$out" | grep -q "Done all tests" && [ $st -eq 0 ]
ok $? "original test.c ran to the end (status $st)"
# posted_ipi.c: the main thread on CPU 10 sends vector 0xf2 to ten Dune
# threads pinned to CPUs 0-9; each handler prints its CPU and ends its
# thread (pthread_exit from the interrupt handler).
if [ -x "$dir/original-posted-ipi" ] && [ "$(nproc)" -ge 11 ]; then
	out=$(timeout 120 "$dir/original-posted-ipi" 2>&1)
	st=$?
	echo "$out" | sed 's/^/# /'
	cores=$(echo "$out" | sed -n 's/^posted_ipi: received posted IPI on core \([0-9]*\)$/\1/p' |
		sort -n | uniq | tr '\n' ' ')
	[ "$cores" = "0 1 2 3 4 5 6 7 8 9 " ] && [ $st -eq 0 ]
	ok $? "original posted_ipi.c: one IPI received on each of cores 0-9, exit 0 (cores: $cores, status $st)"
else
	echo "# original posted_ipi.c not run: it needs 11 CPUs, this machine has $(nproc) (make check-compat-ipi)"
fi
done_testing
