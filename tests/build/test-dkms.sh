#!/bin/sh
# DKMS: `make install-dkms` lays out the module's sources and dkms.conf as
# /usr/src/dune-VERSION; `dkms add` and `dkms build` then build dune.ko
# for every kernel whose headers are installed, and sign it with a
# throw-away Machine Owner Key.  Everything happens in private trees
# (--sourcetree, --dkmstree, --installtree): nothing is installed.
# Skips without dkms or root (dkms needs root).
set -u
build=$(pwd)
command -v dkms >/dev/null || { echo "skip: dkms is not installed"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "skip: dkms needs root"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dune-dkms.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

ver=$(sed -n 's/^PACKAGE_VERSION = //p' "$build/Makefile")
src=$tmp/src/dune-$ver
make -s -C "$build" install-dkms dkmsdir="$src" >"$tmp/install.log" 2>&1
st=$?
[ $st -eq 0 ] || cat "$tmp/install.log"
t $st "make install-dkms (version $ver)"
grep -q "^PACKAGE_VERSION=\"$ver\"$" "$src/dkms.conf"
t $? "dkms.conf carries configure's version"
bash -n "$src/dkms.conf"
t $? "dkms.conf is valid shell"
[ -f "$src/kmod/Kbuild" ] && [ -f "$src/kmod/common/uapi/dune.h" ] && [ -f "$src/kmod/svm/vmrun.S" ]
t $? "the module's sources are there"
[ -z "$(find "$src" -name '*.o' -o -name '*.ko' -o -name '*.mod.c')" ]
t $? "and no build products"

opts="--dkmstree $tmp/tree --sourcetree $tmp/src --installtree $tmp/installed"
mkdir -p "$tmp/tree" "$tmp/installed"
# dkms signs with these (creating them with openssl), not the machine's key.
export mok_signing_key="$tmp/mok.key" mok_certificate="$tmp/mok.der"
# shellcheck disable=SC2086
dkms add $opts -m dune -v "$ver" >"$tmp/add.log" 2>&1
st=$?
[ $st -eq 0 ] || cat "$tmp/add.log"
t $st "dkms add dune/$ver"
built=0
for kdir in /lib/modules/*/build; do
	[ -f "$kdir/Makefile" ] || continue
	rel=$(basename "$(dirname "$kdir")")
	# shellcheck disable=SC2086
	dkms build $opts -m dune -v "$ver" -k "$rel" >"$tmp/build.log" 2>&1
	st=$?
	[ $st -eq 0 ] || { tail -30 "$tmp/build.log"; cat "$tmp/tree/dune/$ver/build/make.log"; }
	t $st "dkms build dune/$ver -k $rel"
	ko=$(find "$tmp/tree/dune/$ver/$rel" -name 'dune.ko*' | head -n 1)
	[ -n "$ko" ] && modinfo -F vermagic "$ko" | grep -q "^$rel "
	t $? "it built ${ko#"$tmp/"} for $rel"
	if command -v openssl >/dev/null && grep -q "^Signing module" "$tmp/build.log"; then
		[ -n "$(modinfo -F signer "$ko")" ]
		t $? "and signed it ($(modinfo -F signer "$ko"))"
	fi
	# shellcheck disable=SC2086
	dkms status $opts -m dune -v "$ver" -k "$rel" 2>/dev/null | grep -q "built"
	t $? "dkms status: built for $rel"
	built=$((built + 1))
done
[ $built -gt 0 ]
t $? "built for $built kernel(s) with headers"
# shellcheck disable=SC2086
dkms remove $opts -m dune -v "$ver" --all >/dev/null 2>&1
t $? "dkms remove dune/$ver --all"
make -s -C "$build" uninstall-dkms dkmsdir="$src" >/dev/null 2>&1 && [ ! -e "$src" ]
t $? "make uninstall-dkms"
finish
