#!/bin/sh
# Runs dune-sandbox-bench (next to this script) in an emulated machine:
# unpacks the Debian programs it runs (sandbox-root.tar, tools/sandbox-root)
# over / and marks the timing as emulated.  Arguments go to the benchmark.
dir=$(cd "$(dirname "$0")" && pwd)
export DUNE_BENCH_EMULATED=1
if [ -f "$dir/sandbox-root.tar" ]; then
	busybox tar -xf "$dir/sandbox-root.tar" -C / ||
		echo "# sandbox-root.tar did not unpack: its rows are skipped"
else
	echo "# no sandbox-root.tar: the Debian programs' rows are skipped"
fi
exec "$dir/dune-sandbox-bench" --sandbox="$dir/dune-sandbox" --sbwork="$dir/sbwork" "$@"
