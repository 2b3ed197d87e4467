#!/bin/sh
# The demo's in-machine half (tests/vm/demo, `make demo`): the same
# statically linked binaries on whichever vendor this machine has.  Prints
# "demo: KEY: VALUE" lines the host puts side by side, then dune-bench's
# JSON between its markers.  Exit status 0 when every part worked.
dir=$(cd "$(dirname "$0")" && pwd)
SB=$dir/dune-sandbox
BENCH=$dir/dune-bench
CTL=$dir/dunectl-static
BB=/bin/busybox
status=0
say() { echo "demo: $1: $2"; }

for f in "$SB" "$BENCH" "$CTL"; do
	[ -f "$f" ] || { echo "demo: missing $f (shipped with --file)"; exit 1; }
	chmod +x "$f"
done
[ -e /dev/dune ] || { echo "demo: no /dev/dune"; exit 1; }

say cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
say kernel "$(uname -r)"
say backend "$("$CTL" info | sed -n 's/^backend: *//p')"
say features "$("$CTL" info | sed -n 's/^CPU features used: *//p')"
for f in "$SB" "$BENCH" "$BB"; do
	say "sha256 $(basename "$f")" "$(sha256sum "$f" | cut -c1-16)"
done

# An unmodified Debian program (busybox) under a policy that denies a
# directory and sockets.
work=/tmp/demo
mkdir -p "$work/secret"
echo "public data" >"$work/public"
echo "top secret" >"$work/secret/key"
cat >"$work/policy" <<EOF
deny open $work/secret
deny socket
EOF
say policy "$(grep -v '^#' "$work/policy" | tr '\n' ';' | sed 's/;$//; s/;/; /g')"
say command "busybox sh -c 'cat public; cat secret/key; nc 10.0.0.1 80'"
out=$(cd "$work" && "$SB" --policy "$work/policy" -- $BB sh -c \
	"cat public; cat secret/key; echo | nc 10.0.0.1 80" 2>"$work/log")
st=$?
say "sandbox stdout" "$(echo "$out" | tr '\n' '|' | sed 's/|$//')"
say "sandbox status" "$st"
grep -c 'dune-sandbox: denied' "$work/log" | sed 's/^/demo: sandbox denials: /'
grep 'dune-sandbox: denied' "$work/log" | sed 's/^dune-sandbox: /demo: sandbox log: /'
echo "$out" | grep -q "^public data$" && ! echo "$out" | grep -q "top secret" &&
	grep -q 'denied.*secret/key' "$work/log" && grep -q 'denied socket' "$work/log" ||
	{ echo "demo: the sandbox did not do what the policy says"; sed 's/^/# /' "$work/log"; status=1; }

# A few of the paper's micro-benchmarks, exits per operation included.
DUNE_BENCH_EMULATED=1 "$BENCH" --quick --rows=syscall,pgfault-nested,trap,appel1 \
	--json=- >"$work/bench" 2>&1 || status=1
sed -n '/@@DUNE-BENCH-JSON-BEGIN@@/,/@@DUNE-BENCH-JSON-END@@/p' "$work/bench"
exit $status
