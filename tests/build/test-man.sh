#!/bin/sh
# The man pages install (make install-man) and render without a single
# groff warning, .so links included (they are resolved in the installed
# tree, as man(1) does).  Skips without groff.
set -u
build=$(pwd)
command -v groff >/dev/null || { echo "skip: groff is not installed"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dune-man.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

make -s -C "$build" install-man mandir="$tmp/man" >"$tmp/install.log" 2>&1
t $? "make install-man"
for page in man8/dunectl.8 man1/dune-sandbox.1 man3/dune_init.3 man3/dune_enter.3 \
	    man3/dune_init_and_enter.3; do
	[ -f "$tmp/man/$page" ]
	t $? "installed $page"
	(cd "$tmp/man" && groff -man -Tutf8 -P-cbou -ww "$page") >"$tmp/out" 2>"$tmp/err"
	st=$?
	[ -s "$tmp/err" ] && sed 's/^/# /' "$tmp/err"
	[ $st -eq 0 ] && [ ! -s "$tmp/err" ] && grep -q "NAME" "$tmp/out"
	t $? "$page renders without warnings ($(wc -l <"$tmp/out") lines)"
done
# The .so pages are the dune_init page.
(cd "$tmp/man" && groff -man -Tutf8 man3/dune_enter.3 2>/dev/null) | grep -q "dune_init_and_enter"
t $? "dune_enter(3) shows the dune_init page"
if command -v man >/dev/null; then
	MANWIDTH=80 man -l "$tmp/man/man8/dunectl.8" 2>"$tmp/err" | grep -q "dunectl check"
	t $? "man -l dunectl.8"
fi
finish
