#!/bin/sh
# Posted interrupts (docs/ipi.md), for `make check-posted` only: the intel
# machine booted in a Bochs that has them (tools/build-bochs).  The module
# must report posted-intr; then ipi (every IPI once, no exit per IPI, the
# storm, an IF=0 target) and dune-bench's ipi row (exits per IPI) run with
# them.  Not in the default suite, which runs ipi on the exit-based path
# (Debian's Bochs 2.7 has no posted interrupts): there the first check
# fails.
. "$(dirname "$0")/lib.sh" 2>/dev/null || . ./lib.sh
dir=$(cd "$(dirname "$0")" && pwd)
[ -e /dev/dune ] || { echo "1..0 # SKIP no /dev/dune"; exit 77; }

info=$("$dir/dunectl-static" info 2>&1)
echo "$info" | sed 's/^/# /'
echo "$info" | grep -q posted-intr
ok $? "the module uses posted interrupts (DUNE_FEAT_POSTED_INTR)"

out=$("$dir/ipi" 2>&1)
st=$?
echo "$out" | sed 's/^/# /'
[ $st -eq 0 ] && echo "$out" | grep -q "^ok [0-9]* - posted: IPIs take no exit"
ok $? "ipi with posted interrupts: delivered once each, no exit per IPI (status $st)"

out=$(DUNE_BENCH_EMULATED=1 "$dir/dune-bench" --rows=ipi --quick 2>&1)
st=$?
echo "$out" | sed 's/^/# /'
[ $st -eq 0 ] && echo "$out" | grep -q "^ipi "
ok $? "dune-bench ipi row (status $st)"

done_testing
