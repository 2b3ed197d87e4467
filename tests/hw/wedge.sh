#!/bin/sh
# apps/wedge: sthreads in a Dune process.  The isolation and policy checks
# (`wedge test`), the demo server answering requests in fresh sthreads with
# a malicious request caught (`wedge server`), and the cost benchmark
# (`wedge bench`, reported, not judged beyond running).
. "$(dirname "$0")/lib.sh" 2>/dev/null || . ./lib.sh
dir=$(cd "$(dirname "$0")" && pwd)
W=$dir/wedge
[ -x "$W" ] || { echo "1..0 # SKIP no wedge binary next to the test"; exit 77; }
[ -e /dev/dune ] || { echo "1..0 # SKIP no /dev/dune"; exit 77; }

out=$("$W" test 2>&1)
st=$?
echo "$out" | sed 's/^/# /'
[ $st -eq 0 ] && ! echo "$out" | grep -q "^not ok"
ok $? "wedge test: sthread isolation and policy (status $st)"

out=$("$W" server 60 2>&1)
st=$?
echo "$out" | sed 's/^/# /'
[ $st -eq 0 ] && echo "$out" | grep -q "client: 60 requests, 0 wrong answers, 0 leaks"
ok $? "wedge server: 60 requests in fresh sthreads, the leak caught (status $st)"

# The test machines are emulators (Bochs hides the CPUID hypervisor bit).
out=$(DUNE_BENCH_EMULATED=1 "$W" bench 300 2>&1)
st=$?
echo "$out" | sed 's/^/# /'
[ $st -eq 0 ] && echo "$out" | grep -q '^{"wedge_bench"'
ok $? "wedge bench ran (status $st)"

done_testing
