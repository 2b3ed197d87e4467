// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Build glue for the original sandbox (tests/compat/original/sandbox),
 * which is vendored unchanged: one bug of its own is worked around from
 * outside, through -Wl,--wrap=umm_brk (Makefile.am, README there).
 *
 * umm_brk(0) returns the start of the program's heap, where Linux's
 * brk(0) returns the current break.  The glibc of 2012 never asked again
 * after moving the break, but today's static glibc does: it allocates its
 * TLS block with brk before malloc has looked (_dl_early_allocate, which
 * leaves glibc's own record of the break unset), then malloc's first
 * sbrk() asks brk(0), gets the start, and its heap overlays the TLS block
 * (busybox then stops with "malloc(): unaligned tcache chunk detected").
 * The system-call handler's call to umm_brk comes here: brk(0) answers the
 * break the last successful brk set.
 */
#include <stdint.h>

unsigned long __real_umm_brk(unsigned long brk);
unsigned long __wrap_umm_brk(unsigned long brk);

/* The break umm_brk last set (0: never moved).  brk comes from the
 * program's main thread only in practice; a race would only give a stale
 * answer, as the unwrapped one always did. */
static unsigned long cur_brk;

unsigned long __wrap_umm_brk(unsigned long brk)
{
	unsigned long r;

	if (!brk && cur_brk)
		return cur_brk;
	r = __real_umm_brk(brk);
	/* Success returns @brk itself; failures are -errno. */
	if (brk && r == brk)
		__atomic_store_n(&cur_brk, r, __ATOMIC_RELAXED);
	return r;
}
