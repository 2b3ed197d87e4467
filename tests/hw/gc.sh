#!/bin/sh
# apps/gc: the generational mark-sweep collector.  `dune-gc test` checks
# correctness (reachable objects survive intact, unreachable ones are freed
# and counted) and that the dirty-page trackers find exactly the pages
# written, with mprotect+SIGSEGV on plain Linux and with the guest page
# tables' dirty bits in Dune mode; `dune-gc bench` reports collection time
# and barrier overhead (table and JSON).
. "$(dirname "$0")/lib.sh" 2>/dev/null || . ./lib.sh
dir=$(cd "$(dirname "$0")" && pwd)
G=$dir/dune-gc
[ -x "$G" ] || { echo "1..0 # SKIP no dune-gc binary next to the test"; exit 77; }
[ -e /dev/dune ] || { echo "1..0 # SKIP no /dev/dune"; exit 77; }

out=$("$G" test 2>&1)
st=$?
echo "$out" | sed 's/^/# /'
[ $st -eq 0 ] && ! echo "$out" | grep -q "^not ok" &&
	echo "$out" | grep -q "^ok .*\[dune-dirty-bits\] dirty set is exactly pages 1 7 100 255"
ok $? "dune-gc test: collector correct, exact dirty sets with both trackers (status $st)"

# The test machines are emulators (Bochs hides the CPUID hypervisor bit).
out=$(DUNE_BENCH_EMULATED=1 "$G" bench "${GC_BENCH_MUTATIONS:-3000}" 2>&1)
st=$?
echo "$out" | sed 's/^/# /'
[ $st -eq 0 ] && echo "$out" | grep -q '^{"gc_bench"' && ! echo "$out" | grep -q WRONG
ok $? "dune-gc bench: every run's heap verified after the workload (status $st)"

done_testing
