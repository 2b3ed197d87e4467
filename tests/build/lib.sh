# Shared by the host-side tests in tests/build: `t STATUS MESSAGE` prints
# one "ok"/"not ok" line and counts it; `finish` prints the totals and
# exits 0 only when nothing failed.
pass=0
fail=0

t() {	# t STATUS MESSAGE
	if [ "$1" -eq 0 ]; then
		pass=$((pass + 1)); echo "ok - $2"
	else
		fail=$((fail + 1)); echo "not ok - $2"
	fi
}

finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit $?
}
