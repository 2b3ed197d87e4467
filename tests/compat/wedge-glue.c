// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Build glue for the original wedge (tests/compat/original/wedge), which
 * is vendored unchanged: two bugs of its own are worked around from
 * outside, through the flags in Makefile.am (see the README there).
 *
 * 1. open(): sthread.c polices SYS_open (2), and its system-call bitmap
 *    has room for numbers below 128 only (can_do_sys() ends the process
 *    for a higher one).  Today's glibc open() makes openat (257), so the
 *    test's sthread, and sthread.c's own open() in its handler, would
 *    never reach SYS_open.  Linked with -Wl,--wrap=open, their open()
 *    calls come here and make SYS_open, as the glibc of 2012 did.
 *
 * 2. The guest-physical address of the mmap window: walk_check_perm()
 *    turns a guest-physical address above 16 GiB back into a process
 *    address as `pa + mmap_base - 0x400000000`, which is right only where
 *    the window starts at 16 GiB in guest-physical memory (it starts 64 GiB
 *    below the physical limit, in the original as here).  sthread.c is
 *    built with -Dmmap_base=wedge_mmap_base, and this variable is set
 *    after dune_init so that the same expression gives the right address:
 *    mmap_base - (window's guest-physical start) + 0x400000000.
 *    sthread.c is also built with
 *    -Ddune_init_and_enter=wedge_dune_init_and_enter to set it.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "libdune/dune.h"

/* This file is built with sthread.c's -D flags: here the names are the
 * real ones. */
#undef mmap_base
#undef dune_init_and_enter
extern uintptr_t mmap_base;
int dune_init_and_enter(void);

#define WEDGE_MAP_GPA	0x400000000UL	/* what sthread.c assumes */

uintptr_t wedge_mmap_base;

int __wrap_open(const char *path, int flags, ...);

int __wrap_open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (flags & (O_CREAT | __O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return (int)syscall(SYS_open, path, flags, mode);
}

int wedge_dune_init_and_enter(void);

int wedge_dune_init_and_enter(void)
{
	int r = dune_init_and_enter();

	if (!r)
		wedge_mmap_base = mmap_base - dune_va_to_pa((void *)mmap_base) + WEDGE_MAP_GPA;
	return r;
}
