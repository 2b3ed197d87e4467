#!/bin/sh
# Programs written for the original Dune, built unchanged against our
# libdune (tests/compat/original), run on this machine: the divide-by-zero
# handler of hello.c and the fork/pthread/signal tests of test.c.
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
done_testing
