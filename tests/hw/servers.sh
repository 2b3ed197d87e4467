#!/bin/sh
# Servers from Debian under dune-sandbox (issue 15): lighttpd and
# redis-server, unmodified, run plainly and then sandboxed in the same
# machine, each with a client load on loopback; the responses must be the
# same bytes.  The programs and their shared libraries come from the build
# host's packages as one tar (tools/sandbox-root, shipped with --file),
# unpacked over the machine's /.  Prints the wall-clock time of each load,
# plain and sandboxed, as JSON lines (emulated timing: compare only within
# one boot).
. "$(dirname "$0")/lib.sh" 2>/dev/null || . ./lib.sh
dir=$(cd "$(dirname "$0")" && pwd)
SB=$dir/dune-sandbox
BB=/bin/busybox
work=/tmp/servers-test
rm -rf "$work"
mkdir -p "$work/www"

[ -x "$SB" ] || { echo "1..0 # SKIP no dune-sandbox next to the test"; exit 77; }
[ -e /dev/dune ] || { echo "1..0 # SKIP no /dev/dune"; exit 77; }
[ -f "$dir/sandbox-root.tar" ] || { echo "1..0 # SKIP no sandbox-root.tar"; exit 77; }
$BB tar -xf "$dir/sandbox-root.tar" -C / || { echo "1..0 # SKIP cannot unpack"; exit 77; }
[ -x /usr/sbin/lighttpd ] || [ -x /usr/bin/redis-server ] ||
	{ echo "1..0 # SKIP neither lighttpd nor redis-server was installed on the build host"; exit 77; }
LPORT=8089
RPORT=6390
$BB ip link set lo up 2>/dev/null || $BB ifconfig lo 127.0.0.1 up 2>/dev/null

now_ms() {
	$BB awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

# wait_up PROBE...: up to 60 s for PROBE to succeed (the emulators are slow)
wait_up() {
	i=0
	while [ $i -lt 600 ]; do
		"$@" >/dev/null 2>&1 && return 0
		$BB usleep 100000
		i=$((i + 1))
	done
	return 1
}

lighttpd_up() {
	$BB wget -q -O /dev/null "http://127.0.0.1:$LPORT/small.txt"
}

redis_up() {
	printf 'PING\r\nQUIT\r\n' | $BB nc 127.0.0.1 $RPORT | $BB grep -q PONG
}

# live_vcpus: the module's count of vCPUs (dunectl info), or -1
live_vcpus() {
	v=$("$dir/dunectl-static" info 2>/dev/null | $BB sed -n 's/^live vCPUs: *//p')
	echo "${v:--1}"
}

# stop PID: TERM, then wait for it (a graceful exit through its handler)
stop() {
	kill -TERM "$1" 2>/dev/null
	wait "$1"
}

# ---------------------------------------------------------------- lighttpd
# Static files of several sizes (one over a 64 KiB write), a missing one
# (404) and a directory index; N rounds of them with busybox wget.
ROUNDS=${SERVERS_ROUNDS:-20}
$BB seq 1 20000 > "$work/www/big.txt"
echo "<html>index</html>" > "$work/www/index.html"
printf 'small\n' > "$work/www/small.txt"
cat > "$work/lighttpd.conf" <<CONF
server.document-root = "$work/www"
server.bind = "127.0.0.1"
server.port = $LPORT
server.errorlog = "$work/lighttpd.err"
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html", ".txt" => "text/plain" )
CONF

# fetch_all OUT: every URL of a round, ROUNDS times, bodies appended to OUT
fetch_all() {
	: > "$1"
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		for u in / /small.txt /big.txt /missing.txt; do
			$BB wget -q -O - "http://127.0.0.1:$LPORT$u" >> "$1" 2>/dev/null ||
				echo "wget $u: failed" >> "$1"
		done
		r=$((r + 1))
	done
}

# serve_lighttpd MODE OUT: start lighttpd (plain or in the sandbox), load it
serve_lighttpd() {
	if [ "$1" = plain ]; then
		/usr/sbin/lighttpd -D -f "$work/lighttpd.conf" 2>"$work/l-$1.log" &
	else
		"$SB" -- /usr/sbin/lighttpd -D -f "$work/lighttpd.conf" 2>"$work/l-$1.log" &
	fi
	pid=$!
	if ! wait_up lighttpd_up; then
		echo "# lighttpd ($1) did not listen"
		sed 's/^/#   /' "$work/l-$1.log" "$work/lighttpd.err" 2>/dev/null | head -n 20
		kill -KILL $pid 2>/dev/null
		wait $pid
		return 1
	fi
	eval "l_vcpus_$1=$(live_vcpus)"
	t0=$(now_ms)
	fetch_all "$2"
	t1=$(now_ms)
	stop $pid
	st=$?
	eval "l_ms_$1=$((t1 - t0)) l_st_$1=$st"
	return 0
}

if [ -x /usr/sbin/lighttpd ]; then
	serve_lighttpd plain "$work/l-plain.out"
	ok $? "lighttpd: serves plainly"
	serve_lighttpd sandbox "$work/l-sandbox.out"
	r=$?
	[ $r -eq 0 ] && [ "$l_vcpus_sandbox" -ge 1 ] && [ "$l_vcpus_plain" -eq 0 ]
	ok $? "lighttpd (Debian's, unmodified) starts and listens in the sandbox (live vCPUs: ${l_vcpus_sandbox:-?}, plain ${l_vcpus_plain:-?})"
	if [ $r -eq 0 ]; then
		$BB cmp -s "$work/l-plain.out" "$work/l-sandbox.out"
		r=$?
		[ $r -eq 0 ] || {
			echo "# plain $($BB wc -c < "$work/l-plain.out") bytes, sandbox $($BB wc -c < "$work/l-sandbox.out")"
			$BB diff "$work/l-plain.out" "$work/l-sandbox.out" | head -n 8 | sed 's/^/#   /'
			sed 's/^/#   /' "$work/l-sandbox.log" | head -n 10
		}
		ok $r "lighttpd: $((ROUNDS * 4)) requests (index, 6 B, 108 KiB, 404): the same bytes as plain ($($BB wc -c < "$work/l-plain.out") bytes)"
		[ "$l_st_sandbox" = "$l_st_plain" ]
		ok $? "lighttpd: SIGTERM ends it the same way (status $l_st_sandbox, plain $l_st_plain)"
		echo "{\"server\": \"lighttpd\", \"requests\": $((ROUNDS * 4)), \"plain_ms\": $l_ms_plain, \"sandbox_ms\": $l_ms_sandbox}"
	fi
else
	echo "# lighttpd not in sandbox-root.tar (not installed on the build host): not run"
fi

# ------------------------------------------------------------------- redis
# Commands over one connection each round (busybox nc): SET, GET, INCR,
# lists, a missing key, an error, then QUIT; N rounds.
redis_load() {
	: > "$1"
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		printf 'SET k%d value-%d\r\nGET k%d\r\nINCR counter\r\nRPUSH l a b c\r\nLRANGE l 0 -1\r\nGET nokey\r\nNOSUCHCMD\r\nDEL l\r\nQUIT\r\n' \
			$r $r $r | $BB nc 127.0.0.1 $RPORT >> "$1" 2>/dev/null ||
			echo "nc: failed" >> "$1"
		r=$((r + 1))
	done
}

serve_redis() {
	set -- "$1" "$2" --port $RPORT --bind 127.0.0.1 --save "" --appendonly no \
		--daemonize no --protected-mode no --dir "$work" --logfile "$work/redis-$1.log"
	mode=$1
	out=$2
	shift 2
	if [ "$mode" = plain ]; then
		/usr/bin/redis-server "$@" 2>"$work/r-$mode.err" &
	else
		"$SB" -- /usr/bin/redis-server "$@" 2>"$work/r-$mode.err" &
	fi
	pid=$!
	if ! wait_up redis_up; then
		echo "# redis-server ($mode) did not listen"
		sed 's/^/#   /' "$work/r-$mode.err" "$work/redis-$mode.log" 2>/dev/null | tail -n 20
		kill -KILL $pid 2>/dev/null
		wait $pid
		return 1
	fi
	eval "r_vcpus_$mode=$(live_vcpus)"
	t0=$(now_ms)
	redis_load "$out"
	t1=$(now_ms)
	stop $pid
	st=$?
	eval "r_ms_$mode=$((t1 - t0)) r_st_$mode=$st"
	return 0
}

if [ -x /usr/bin/redis-server ]; then
	serve_redis plain "$work/r-plain.out"
	ok $? "redis-server: serves plainly"
	serve_redis sandbox "$work/r-sandbox.out"
	r=$?
	[ $r -eq 0 ] && [ "$r_vcpus_sandbox" -ge 2 ] && [ "$r_vcpus_plain" -eq 0 ]
	ok $? "redis-server (Debian's, unmodified: jemalloc, background threads) starts and listens in the sandbox, its threads on their own vCPUs (live vCPUs: ${r_vcpus_sandbox:-?}, plain ${r_vcpus_plain:-?})"
	if [ $r -eq 0 ]; then
		$BB cmp -s "$work/r-plain.out" "$work/r-sandbox.out"
		r=$?
		[ $r -eq 0 ] || {
			$BB diff "$work/r-plain.out" "$work/r-sandbox.out" | head -n 8 | sed 's/^/#   /'
			sed 's/^/#   /' "$work/r-sandbox.err" | head -n 10
		}
		ok $r "redis-server: $((ROUNDS * 9)) commands over $ROUNDS connections: the same replies as plain ($($BB wc -c < "$work/r-plain.out") bytes)"
		[ "$r_st_sandbox" = "$r_st_plain" ]
		ok $? "redis-server: SIGTERM ends it the same way (status $r_st_sandbox, plain $r_st_plain)"
		echo "{\"server\": \"redis-server\", \"commands\": $((ROUNDS * 9)), \"plain_ms\": $r_ms_plain, \"sandbox_ms\": $r_ms_sandbox}"
	fi
else
	echo "# redis-server not in sandbox-root.tar (not installed on the build host): not run"
fi

done_testing
