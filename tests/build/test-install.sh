#!/bin/sh
# `make install prefix=ANYDIR`, then build programs against the installed
# libdune the way users do: pkg-config for the flags (--static for the
# fully static binaries the test machines run), the original libdune
# include paths for a program written for the original Dune.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dune-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

# moduledir/udevrulesdir are absolute by default; DEPMOD= and GROUPADD= keep
# the test from running depmod or creating the group on this machine.
inst_vars="prefix=$tmp/usr moduledir=$tmp/modules udevrulesdir=$tmp/udev DEPMOD= GROUPADD="
# shellcheck disable=SC2086
make -s -C "$build" install $inst_vars >"$tmp/install.log" 2>&1
st=$?
[ $st -eq 0 ] || tail -20 "$tmp/install.log"
t $st "make install prefix=$tmp/usr"
for f in include/dune/dune.h include/dune/mmu.h include/dune/cpu-x86.h include/dune/info.h \
	 include/dune/uapi/dune.h include/libdune/dune.h include/libdune/mmu.h \
	 include/libdune/cpu-x86.h include/libdune/elf.h include/libdune/fpu.h \
	 include/libdune/local.h include/libdune/mmu-x86.h include/libdune/types.h \
	 include/libdune/debug.h include/dune/fpu.h lib/libdune.a lib/pkgconfig/libdune.pc bin/dunectl \
	 share/man/man8/dunectl.8 share/man/man1/dune-sandbox.1 share/man/man3/dune_init.3 \
	 share/man/man3/dune_enter.3 share/man/man3/dune_init_and_enter.3; do
	[ -f "$tmp/usr/$f" ]
	t $? "installed $f"
done
[ -f "$tmp/modules/dune.ko" ]
t $? "installed dune.ko in moduledir"
[ -f "$tmp/udev/60-dune.rules" ]
t $? "installed the udev rule 60-dune.rules in udevrulesdir"
out=$(LD_LIBRARY_PATH="$tmp/usr/lib" DUNE_DEVICE="$tmp/none" "$tmp/usr/bin/dunectl" info 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q "not loaded"
t $? "the installed dunectl runs (from the installed libdune.so): $out"

export PKG_CONFIG_PATH="$tmp/usr/lib/pkgconfig"
cflags=$(pkg-config --cflags libdune)
t $? "pkg-config --cflags libdune: $cflags"
echo "$cflags" | grep -q -- "-I$tmp/usr/include"
t $? "the flags point at the install prefix"
libs=$(pkg-config --static --libs libdune)
t $? "pkg-config --static --libs libdune: $libs"

# A program written against the original libdune (include paths
# "libdune/dune.h", "libdune/cpu-x86.h"), linked fully static.
cc -o "$tmp/hello" "$top/tests/compat/original/hello.c" $cflags -static $libs \
	>"$tmp/cc.log" 2>&1
st=$?
[ $st -eq 0 ] || cat "$tmp/cc.log"
t $st "original hello.c builds static from the installed tree"
[ -f "$tmp/hello" ] && ! readelf -l "$tmp/hello" | grep -q INTERP
t $? "it is statically linked (no ELF interpreter)"
cc -o "$tmp/test" "$top/tests/compat/original/test.c" $cflags -static $libs -lpthread \
	>"$tmp/cc2.log" 2>&1
st=$?
[ $st -eq 0 ] || cat "$tmp/cc2.log"
t $st "original test.c builds static from the installed tree"
# The original libdune's own header names, included plainly as its apps
# and libdune sources do (with -I<prefix>/include/libdune), all together.
cat > "$tmp/plain.c" <<'PLAIN'
#include "dune.h"
#include "elf.h"
#include "fpu.h"
#include "local.h"
#include "mmu-x86.h"
#include "types.h"
#include "debug.h"
struct gate { uint64_t gd_lo, gd_hi; };
static struct fpu_area fp;
int main(void)
{
	struct gate g;
	Elf64_Ehdr eh = { .e_ident = { ELFMAG0 } };
	ppn_t n = PPN(0x5000);

	SETGATE(g, SEG_IG, GD_KT, 0x12345678abcdUL, 0);
	dune_fpu_init(&fp);
	dune_fpu_load(&fp);
	dune_fpu_save_safe(&fp);
	return !(eh.e_ident[0] == 0x7f && n == 5 && g.gd_hi == 0x1234 &&
		 fp.xsave.fxsave.mxcsr == 0x1f80 && sizeof(fp) == 832 &&
		 FL_IF == 0x200 && DUNE_ABI_VERSION >= 1 && sizeof(__str(FL_IF)) == 11);
}
PLAIN
cc -o "$tmp/plain" "$tmp/plain.c" -I"$tmp/usr/include/libdune" $cflags -static $libs \
	>"$tmp/cc4.log" 2>&1
st=$?
[ $st -eq 0 ] || cat "$tmp/cc4.log"
t $st "the original's plain includes (elf.h fpu.h local.h mmu-x86.h types.h debug.h) build"
[ $st -eq 0 ] && "$tmp/plain"
t $? "and their types, macros and FPU helpers work"
# Dynamic linking works too.
cc -o "$tmp/hello-dyn" "$top/tests/compat/original/hello.c" $cflags $(pkg-config --libs libdune) \
	-Wl,-rpath,"$tmp/usr/lib" >"$tmp/cc3.log" 2>&1
t $? "and builds against the shared library"
# The public headers are clean C11 and C++.
printf '#include <dune/dune.h>\nint main(void) { return dune_get_ticks() == 0; }\n' > "$tmp/c11.c"
cc -std=c11 -pedantic -Wall -Wextra -Werror -c -o "$tmp/c11.o" "$tmp/c11.c" $cflags
t $? "<dune/dune.h> compiles as strict C11 with -Wall -Wextra -Werror"
if command -v c++ >/dev/null; then
	cp "$tmp/c11.c" "$tmp/cxx.cc"
	c++ -Wall -Werror -c -o "$tmp/cxx.o" "$tmp/cxx.cc" $cflags
	t $? "<dune/dune.h> compiles as C++"
fi
# shellcheck disable=SC2086
make -s -C "$build" uninstall $inst_vars >/dev/null 2>&1
left=$(find "$tmp/usr" "$tmp/modules" "$tmp/udev" -type f 2>/dev/null | wc -l)
[ "$left" -eq 0 ]
t $? "make uninstall removes every installed file ($left left)"
finish
