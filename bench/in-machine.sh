#!/bin/sh
# Runs dune-bench (next to this script) in an emulated machine: these
# machines are emulators, and Bochs shows no hypervisor bit to detect.
DUNE_BENCH_EMULATED=1 exec "$(dirname "$0")/dune-bench" "$@"
