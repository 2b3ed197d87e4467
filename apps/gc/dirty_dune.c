// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty-page tracking with the hardware: the arena is mapped in the Dune
 * guest page tables, the MMU sets PTE_D on the first write to a page
 * (SDM Vol. 3A 4.8, APM Vol. 2 5.4.2), the collector reads the D bits with
 * a page walk and clears them after each collection.  The mutator runs
 * with no barrier at all.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <dune/dune.h>

#include "gc.h"

static void *dune_map(struct gc *gc, size_t len)
{
	void *p = dune_mmap(NULL, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, len);	/* every leaf present for the walks */
	return p;
}

static void dune_unmap(struct gc *gc)
{
	munmap(gc->arena, gc->len);
}

static int dirty_cb(const void *arg, ptent_t *pte, void *va)
{
	const struct gc *gc = arg;
	size_t page = ((uintptr_t)va - (uintptr_t)gc->arena) / GC_PAGE;

	if (page < gc->npages && (*pte & PTE_P))
		gc->dirty[page] = !!(*pte & PTE_D);
	return 0;
}

static int dune_begin(struct gc *gc)
{
	memset(gc->dirty, 0, gc->npages);
	return dune_vm_page_walk(pgroot, gc->arena, gc->arena + gc->len - 1, dirty_cb, gc);
}

static int dune_end(struct gc *gc)
{
	long r = dune_vm_clear_ad(pgroot, gc->arena, gc->len, PTE_D);

	/* A TLB entry caching D=1 would let the next write skip setting it. */
	dune_flush_tlb();
	return r < 0 ? (int)r : 0;
}

const struct gc_dirty_ops gc_dirty_dune = {
	.name = "dune-dirty-bits",
	.map = dune_map,
	.unmap = dune_unmap,
	.begin = dune_begin,
	.end = dune_end,
};
