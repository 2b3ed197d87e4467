#!/bin/sh
# dune-sandbox-bench --quick (bench/README.md, "Sandbox"): Debian's
# CPU-bound programs, a threaded one and two servers under a client load,
# plainly and under dune-sandbox in this boot.  Fails when a sandboxed run
# fails or its output is not the plain run's bytes; the costs are printed
# (and JSON), not judged: the quick inputs are far under the targets' 1 s.
. "$(dirname "$0")/lib.sh" 2>/dev/null || . ./lib.sh
dir=$(cd "$(dirname "$0")" && pwd)
[ -x "$dir/dune-sandbox-bench" ] || { echo "1..0 # SKIP no dune-sandbox-bench"; exit 77; }
[ -e /dev/dune ] || { echo "1..0 # SKIP no /dev/dune"; exit 77; }
out=/tmp/sandbox-bench.txt
"$dir/sandbox-in-machine.sh" --quick --json=/tmp/sandbox-bench.json > "$out" 2>&1
st=$?
sed 's/^/# /' "$out"
[ $st -eq 77 ] && { echo "1..0 # SKIP the benchmark found no Dune mode"; exit 77; }
echo "# JSON: $(cat /tmp/sandbox-bench.json 2>/dev/null)"
rows=$(grep -c "^# [a-zA-Z0-9-]* .* \.\.\.$" "$out")
failed=$(grep -c "^[a-zA-Z0-9-]* *FAILED" "$out")
[ $st -eq 0 ] && [ "$failed" -eq 0 ] && [ "$rows" -ge 10 ]
ok $? "dune-sandbox-bench --quick: $rows rows, $failed failed, every output the plain run's (status $st)"
for r in gzip bzip2 xz perl sqlite3 tcc xz-T2 lighttpd redis; do
	! grep -q "^$r *skipped" "$out"
	ok $? "$r was in the machine and measured"
done
done_testing
