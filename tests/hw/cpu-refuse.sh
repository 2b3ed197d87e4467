#!/bin/sh
# On a CPU model dune cannot use (the CPU-model matrix, tests/vm/cpu-matrix):
# the machine boots without the module (--no-module, dune.ko shipped with
# --file) and this script loads it.  insmod must fail with EOPNOTSUPP and
# exactly one kernel-log line naming the missing feature; `dunectl check`
# must say the same in plain words; no oops or WARN; nothing is left behind
# (no /dev/dune, no module).  Loading twice gives the same single line.
. "$(dirname "$0")/lib.sh" 2>/dev/null || . ./lib.sh
dir=$(dirname "$0")
ko=$(find_module)
[ -n "$ko" ] || { echo "skip: no dune.ko shipped (--file)"; exit 77; }
grep -q '^dune ' /proc/modules && { echo "skip: dune is loaded (run with --no-module)"; exit 77; }

# What the CPU lacks, in the words of the module and of dunectl check.
if grep -qw vmx /proc/cpuinfo; then
	feature="EPT" plain="no EPT"
elif grep -qw svm /proc/cpuinfo; then
	feature="nested paging" plain="no nested paging"
else
	feature="VT-x or AMD-V" plain="neither VT-x nor AMD-V"
fi
echo "# the CPU: $(grep -m1 '^model name' /proc/cpuinfo)"
echo "# expected: refused for lack of $feature"

# modload makes one finit_module() call: busybox's insmod would retry a
# failure with init_module() and so run (and log) the module's init twice.
ml=$dir/modload
[ -f "$ml" ] || { echo "skip: modload not shipped (--file)"; exit 77; }
chmod +x "$ml"
for round in 1 2; do
	marker="dune-cpu-refuse-$$-$round"
	echo "$marker" >/dev/kmsg
	out=$("$ml" "$ko" 2>&1)
	st=$?
	echo "# modload: $out"
	[ $st -eq 1 ]
	ok $? "round $round: the load is refused (status $st)"
	echo "$out" | grep -q "^refused: EOPNOTSUPP"
	ok $? "round $round: the error is EOPNOTSUPP"
	lines=$(dmesg | sed -n "/$marker/,\$p" | grep -E '^(\[[ 0-9.]*\] )?dune: ' |
		grep -v -E 'taints kernel|module verification failed')
	echo "$lines" | sed 's/^/# kernel: /'
	count=$(echo "$lines" | grep -c .)
	[ "$count" -eq 1 ]
	ok $? "round $round: one kernel-log line from dune ($count)"
	echo "$lines" | grep -q -i "$feature"
	ok $? "round $round: it names the missing feature ($feature)"
	dmesg_clean "$marker"
	ok $? "round $round: no WARN, BUG or oops"
	! grep -q '^dune ' /proc/modules && [ ! -e /dev/dune ]
	ok $? "round $round: no module and no /dev/dune left behind"
done
out=$(insmod "$ko" 2>&1)
echo "# insmod: $out"
echo "$out" | grep -q "Operation not supported"
ok $? "busybox insmod reports: Operation not supported"

d=$dir/dunectl-static
if [ -f "$d" ]; then
	chmod +x "$d"
	out=$("$d" check 2>&1)
	st=$?
	echo "$out" | sed 's/^/# /'
	[ $st -ne 0 ]
	ok $? "dunectl check fails (status $st)"
	echo "$out" | grep "FAIL" | grep -q -i "$plain"
	ok $? "dunectl check says: $plain"
else
	echo "# dunectl-static not shipped: dunectl check not tried"
fi
done_testing
