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

# serve TAG MODE UP LOAD -- CMD...: run CMD plainly (MODE plain) or in the
# sandbox, wait until UP succeeds, then time LOAD $work/TAG-MODE.out and end
# CMD with SIGTERM.  Sets TAG_vcpus_MODE (live vCPUs while it served),
# TAG_ms_MODE and TAG_st_MODE (its exit status); 1 if it never came up.
serve() {
	tag=$1 mode=$2 up=$3 load=$4
	shift 5
	if [ "$mode" = plain ]; then
		"$@" 2>"$work/$tag-$mode.err" &
	else
		"$SB" -- "$@" 2>"$work/$tag-$mode.err" &
	fi
	pid=$!
	if ! wait_up $up; then
		echo "# $tag ($mode) did not listen"
		sed 's/^/#   /' "$work/$tag-$mode.err" "$work/$tag.log" 2>/dev/null | tail -n 20
		kill -KILL $pid 2>/dev/null
		wait $pid
		return 1
	fi
	eval "${tag}_vcpus_$mode=$(live_vcpus)"
	t0=$(now_ms)
	$load "$work/$tag-$mode.out"
	t1=$(now_ms)
	stop $pid
	eval "${tag}_st_$mode=$? ${tag}_ms_$mode=$((t1 - t0))"
	return 0
}

# same_output TAG WHAT: the sandboxed run's responses are the plain run's
same_output() {
	plain=$work/$1-plain.out
	sbox=$work/$1-sandbox.out
	$BB cmp -s "$plain" "$sbox"
	r=$?
	[ $r -eq 0 ] || {
		echo "# plain $($BB wc -c < "$plain") bytes, sandbox $($BB wc -c < "$sbox")"
		$BB diff "$plain" "$sbox" | head -n 8 | sed 's/^/#   /'
		sed 's/^/#   /' "$work/$1-sandbox.err" | head -n 10
	}
	ok $r "$1: $2: the same bytes as plain ($($BB wc -c < "$plain") bytes)"
}

# same_exit TAG: SIGTERM ends the sandboxed run as it ends the plain one
same_exit() {
	eval "ps=\$${1}_st_plain ss=\$${1}_st_sandbox"
	[ "$ss" = "$ps" ]
	ok $? "$1: SIGTERM ends it the same way (status $ss, plain $ps)"
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
server.errorlog = "$work/lighttpd.log"
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

if [ -x /usr/sbin/lighttpd ]; then
	set -- /usr/sbin/lighttpd -D -f "$work/lighttpd.conf"
	serve lighttpd plain lighttpd_up fetch_all -- "$@"
	ok $? "lighttpd: serves plainly"
	serve lighttpd sandbox lighttpd_up fetch_all -- "$@"
	r=$?
	[ $r -eq 0 ] && [ "$lighttpd_vcpus_sandbox" -ge 1 ] && [ "$lighttpd_vcpus_plain" -eq 0 ]
	ok $? "lighttpd (Debian's, unmodified) starts and listens in the sandbox (live vCPUs: ${lighttpd_vcpus_sandbox:-?}, plain ${lighttpd_vcpus_plain:-?})"
	if [ $r -eq 0 ]; then
		same_output lighttpd "$((ROUNDS * 4)) requests (index, 6 B, 108 KiB, 404)"
		same_exit lighttpd
		echo "{\"server\": \"lighttpd\", \"requests\": $((ROUNDS * 4)), \"plain_ms\": $lighttpd_ms_plain, \"sandbox_ms\": $lighttpd_ms_sandbox}"
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

if [ -x /usr/bin/redis-server ]; then
	set -- /usr/bin/redis-server --port $RPORT --bind 127.0.0.1 --save "" --appendonly no \
		--daemonize no --protected-mode no --dir "$work" --logfile "$work/redis.log"
	serve redis plain redis_up redis_load -- "$@"
	ok $? "redis-server: serves plainly"
	serve redis sandbox redis_up redis_load -- "$@"
	r=$?
	[ $r -eq 0 ] && [ "$redis_vcpus_sandbox" -ge 2 ] && [ "$redis_vcpus_plain" -eq 0 ]
	ok $? "redis-server (Debian's, unmodified: jemalloc, background threads) starts and listens in the sandbox, its threads on their own vCPUs (live vCPUs: ${redis_vcpus_sandbox:-?}, plain ${redis_vcpus_plain:-?})"
	if [ $r -eq 0 ]; then
		same_output redis "$((ROUNDS * 9)) commands over $ROUNDS connections"
		same_exit redis
		echo "{\"server\": \"redis-server\", \"commands\": $((ROUNDS * 9)), \"plain_ms\": $redis_ms_plain, \"sandbox_ms\": $redis_ms_sandbox}"
	fi
else
	echo "# redis-server not in sandbox-root.tar (not installed on the build host): not run"
fi

done_testing
