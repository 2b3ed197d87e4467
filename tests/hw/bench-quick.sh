#!/bin/sh
# dune-bench --quick (bench/): the paper's micro-benchmarks in Linux and in
# Dune mode, small counts.  The program CHECKs the VM-exit targets itself
# (counts, not times: 1 exit per passed-through getpid, 0 for the traps,
# appel1/2 and guest-handled faults, <= 1 per new 4K page); this script
# shows its table and passes its status on (77: no Dune mode here).
# bench/in-machine.sh runs it: it marks the machine as emulated (Bochs
# shows no hypervisor bit) and measures the syscall row's kvm-exit method
# first, with KVM loaded instead of dune (kvm-modules.tar, shipped).
dir=$(dirname "$0")
for f in dune-bench in-machine.sh; do
	if [ ! -x "$dir/$f" ]; then
		echo "not ok 1 - $dir/$f missing (conformance --file)"
		exit 1
	fi
done
exec "$dir/in-machine.sh" --quick
