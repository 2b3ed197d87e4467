// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The guest page tables (guest-virtual -> guest-physical, standard x86-64
 * 4-level format) mirroring the process's mappings.  Page-table pages come
 * from a pool that is itself mapped, so guest code can edit them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"
#include "../kmod/common/layout.h"

#define PT_POOL_PAGES	2048	/* 8 MiB: maps far more than a test needs */

uint64_t *dune_pgroot;
static uint8_t *pt_pool;
static unsigned long pt_next;
static pthread_mutex_t pt_lock = PTHREAD_MUTEX_INITIALIZER;

uint64_t dune_va_to_pa(uintptr_t va)
{
	return dune_hva_to_gpa(&dune_layout_cache, va);
}

static uint64_t *pt_alloc(void)
{
	uint64_t *pt;

	if (pt_next >= PT_POOL_PAGES)
		return NULL;
	pt = (uint64_t *)(pt_pool + pt_next++ * PGSIZE);
	memset(pt, 0, PGSIZE);
	return pt;
}

/* The pool lies in one layout window, so it is contiguous in GPA too. */
static uint64_t *pt_from_pte(uint64_t pte)
{
	uint64_t off = (pte & PTE_ADDR_MASK) - dune_va_to_pa((uintptr_t)pt_pool);

	return off < PT_POOL_PAGES * PGSIZE ? (uint64_t *)(pt_pool + off) : NULL;
}

int dune_map_page(uintptr_t va, uint64_t perm)
{
	uint64_t pa = dune_va_to_pa(va & ~(PGSIZE - 1));
	uint64_t *pt = dune_pgroot;
	int level, r = 0;

	if (pa == ~0ULL)
		return -EFAULT;
	pthread_mutex_lock(&pt_lock);
	for (level = 3; level > 0; level--) {
		uint64_t *e = &pt[(va >> (12 + 9 * level)) & 511];

		if (!(*e & PTE_P)) {
			uint64_t *next = pt_alloc();

			if (!next) {
				r = -ENOMEM;
				goto out;
			}
			*e = dune_va_to_pa((uintptr_t)next) | PTE_P | PTE_W | PTE_U;
			pt = next;
		} else {
			pt = pt_from_pte(*e);
			if (!pt) {
				r = -EFAULT;
				goto out;
			}
		}
	}
	pt[(va >> 12) & 511] = pa | perm | PTE_P;
out:
	pthread_mutex_unlock(&pt_lock);
	return r;
}

/* Mirror every mapping of /proc/self/maps that has a guest-physical home. */
static int map_procmaps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512], perms[8];
	unsigned long start, end, va;
	int r = 0;

	if (!f)
		return -errno;
	while (!r && fgets(line, sizeof(line), f)) {
		uint64_t perm = 0;

		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3)
			continue;
		if (perms[0] != 'r' && perms[2] != 'x')
			continue;
		if (strstr(line, "[vsyscall]") || strstr(line, "[vvar]"))
			continue;
		if (perms[1] == 'w')
			perm |= PTE_W;
		if (perms[2] != 'x')
			perm |= PTE_NX;
		for (va = start; va < end && !r; va += PGSIZE)
			if (dune_va_to_pa(va) != ~0ULL)
				r = dune_map_page(va, perm);
	}
	fclose(f);
	return r;
}

int dune_vm_init(void)
{
	pt_pool = mmap(NULL, PT_POOL_PAGES * PGSIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (pt_pool == MAP_FAILED)
		return -errno;
	dune_pgroot = pt_alloc();
	return map_procmaps();
}
