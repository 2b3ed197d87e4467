#!/bin/sh
# dune-bench --quick (bench/): the paper's micro-benchmarks in Linux and in
# Dune mode, small counts.  The program CHECKs the VM-exit targets itself
# (counts, not times: 1 exit per passed-through getpid, 0 for the traps,
# appel1/2 and guest-handled faults, <= 1 per new 4K page); this script
# shows its table and passes its status on (77: no Dune mode here).
dir=$(dirname "$0")
if [ ! -x "$dir/dune-bench" ]; then
	echo "not ok 1 - $dir/dune-bench missing (conformance --file=bench/dune-bench)"
	exit 1
fi
# The suite runs only in the emulated machines; Bochs shows no hypervisor bit.
DUNE_BENCH_EMULATED=1 "$dir/dune-bench" --quick
