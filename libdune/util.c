// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Small helpers of the original API that work in any context of Dune mode:
 * dune_printf (trap handlers included), dune_die, dune_mmap.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "internal.h"

int dune_printf(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return n;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	return dune_raw_syscall(SYS_write, 2, (long)buf, n, 0, 0, 0);
}

/* End the process by @sig with its default action, as Linux does for an
 * unhandled fault (a core-dumping signal gives the right wait status). */
void dune_die_signal(int sig)
{
	struct { unsigned long handler, flags, restorer, mask; } sa = { 0, 0, 0, 0 };

	dune_raw_syscall(SYS_rt_sigaction, sig, (long)&sa, 0, 8, 0, 0);
	dune_raw_syscall(SYS_kill, dune_raw_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0), sig,
			 0, 0, 0, 0);
	dune_die();
}

void dune_die(void)
{
	for (;;)
		dune_raw_syscall(SYS_exit_group, EXIT_FAILURE, 0, 0, 0, 0, 0);
}

static int prot_to_perm(int prot)
{
	int perm = PERM_NONE;

	if (prot & PROT_READ)
		perm |= PERM_R;
	if (prot & PROT_WRITE)
		perm |= PERM_W | PERM_R;
	if (prot & PROT_EXEC)
		perm |= PERM_X | PERM_R;
	return perm;
}

/* mmap(), then the same range in pgroot with the same permissions (the
 * guest page tables otherwise learn of new memory at its first fault).
 * MAP_FAILED with errno on failure, like mmap. */
void *dune_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
	void *mem = mmap(addr, length, prot, flags, fd, offset);
	uintptr_t pa;
	int r;

	if (mem == MAP_FAILED || !pgroot)
		return mem;
	pa = dune_va_to_pa(mem);
	if (pa == ~0UL) {
		munmap(mem, length);
		errno = ENOMEM;
		return MAP_FAILED;
	}
	r = prot ? dune_vm_map_phys(pgroot, mem, length, (void *)pa, prot_to_perm(prot)) : 0;
	if (r) {
		munmap(mem, length);
		errno = -r;
		return MAP_FAILED;
	}
	return mem;
}
