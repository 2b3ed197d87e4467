// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The page pool: 4 KiB pages for guest page tables and for
 * dune_vm_map_pages(), with reference counts (struct page).
 *
 * The pool is one anonymous mapping of the process, reserved but not
 * populated (MAP_NORESERVE): a page costs host memory only once it is
 * touched, and in Dune mode the kernel module faults the host page in at
 * the first guest access.  It must be contiguous in guest-physical memory
 * so that dune_page2pa()/dune_pa2page() are plain arithmetic: it lies in
 * the 1:1 part at 64 GiB or above where the layout allows (then a pool
 * page's address is its guest-physical address, as in the original), else
 * in the mmap window.  vm.c maps the whole pool in pgroot, so handing out or
 * zeroing a page never faults, even inside a trap handler.
 *
 * Pages come from a free list (recycled pages, zeroed again on
 * allocation) or, when it is empty, from a bump index over pages never
 * handed out, which are still zero: a large pool costs nothing up front.
 *
 * Pool size: dune_page_init(0) reserves $DUNE_PAGE_POOL_MB MiB when that
 * environment variable holds a positive number, else DEFAULT_POOL_PAGES
 * (1 GiB); any size is clamped to MAX_PAGES.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

#define DEFAULT_POOL_PAGES	(1UL << 18)	/* 1 GiB */

struct page *pages;
int num_pages;
uintptr_t dune_page_base;
uintptr_t dune_page_base_va;

/* Never held while calling out of this file: nothing under it can fault
 * or re-enter (page tables take it while holding their own lock). */
static pthread_mutex_t page_lock = PTHREAD_MUTEX_INITIALIZER;

/* In a fork child: another thread of the parent may have held the lock at
 * the fork, and no thread of the child will ever release it. */
void dune_page_after_fork(void)
{
	pthread_mutex_init(&page_lock, NULL);
}
/* One bit per pool page that holds a page table (dvm_table_alloc), after
 * pages[] in the pool's metadata, mapped like it (set and read in trap
 * handlers): a fork child copies these pages at once. */
static uint64_t *table_bits;
static struct page_head free_list;
static size_t nr_listed;	/* pages on free_list */
static size_t next_fresh;	/* pages[next_fresh..] were never handed out */
static uint64_t nr_allocs, nr_frees;
/* The pool's pages, then pages[] (its metadata), in one 2 MiB aligned
 * mapping of dune_pool_map_len bytes: vm.c maps both with 2 MiB pages
 * (pages[] must be mapped before any fault: the allocator runs in trap
 * handlers), a few entries instead of one per 4K of metadata. */
size_t dune_pool_map_len;

static size_t default_pages(void)
{
	const char *s = getenv("DUNE_PAGE_POOL_MB");
	unsigned long mb;
	char *end;

	if (!s || !*s)
		return DEFAULT_POOL_PAGES;
	errno = 0;
	mb = strtoul(s, &end, 0);
	if (errno || *end || !mb || mb > MAX_PAGES)
		return DEFAULT_POOL_PAGES;
	return mb << (20 - PGSHIFT);
}

/*
 * @len bytes, 2 MiB aligned: the guest maps the pool with 2 MiB pages
 * (dune_vm_init), which needs the same alignment in guest-physical memory;
 * the layout's windows are 1 GiB aligned, so aligning the address does it.
 */
static void *map_aligned(size_t len)
{
	size_t slack = BIG_PGSIZE;
	uint8_t *raw = mmap(NULL, len + slack, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint8_t *mem;

	if (raw == MAP_FAILED)
		return NULL;
	mem = (uint8_t *)(((uintptr_t)raw + BIG_PGMASK) & ~(uintptr_t)BIG_PGMASK);
	if (mem > raw)
		munmap(raw, mem - raw);
	munmap(mem + len, raw + slack - mem);
	return mem;
}

/*
 * Where the pool goes first: in the 1:1 part of the layout, at 64 GiB or
 * above, so that a pool page's address in the process is its
 * guest-physical address, as in the original (PAGEBASE, 8 GiB).  Programs
 * written for it rely on that: the original's wedge loads CR3 with the
 * pointer dune_vm_clone() returned.  64 GiB and up: clear of what a
 * process maps low (program, brk heap, the original sandbox's ELF range
 * below 0x70000000).  The 1:1 part ends 64 GiB below the guest-physical
 * limit, so this needs 38 or more physical address bits (a 1 GiB pool);
 * elsewhere, or if the addresses are taken, the pool goes in the mmap
 * window as before and only the original's va == pa assumption fails.
 */
#define POOL_IDENTITY_BASE	(UINT64(1) << 36)
#define POOL_IDENTITY_TRIES	16

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/**
 * dune_pool_identity_addr() - the @i-th candidate address (1 GiB apart)
 * for a pool of @len bytes at va == gpa in layout @l, or 0 when it does
 * not fit there.
 */
uintptr_t dune_pool_identity_addr(const struct dune_layout *l, size_t len, unsigned int i)
{
	uint64_t va = POOL_IDENTITY_BASE + ((uint64_t)i << 30);

	if (!len || i >= POOL_IDENTITY_TRIES || va + len < va || va + len > l->base_limit ||
	    overlaps(va, len, l->mmap_base, l->map_size) ||
	    overlaps(va, len, l->stack_base, l->stack_size))
		return 0;
	return (uintptr_t)va;
}

/* The pool at va == gpa (see above), else NULL. */
static void *map_identity(size_t len)
{
	uintptr_t va;
	unsigned int i;
	void *mem;

	for (i = 0; (va = dune_pool_identity_addr(&dune_layout_cache, len, i)); i++) {
		mem = mmap((void *)va, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
			   -1, 0);
		if (mem == (void *)va)
			return mem;
		/* A kernel without MAP_FIXED_NOREPLACE (< 4.17) takes it as a
		 * hint and may map elsewhere. */
		if (mem != MAP_FAILED)
			munmap(mem, len);
	}
	return NULL;
}

/* Release the current pool; its pages must no longer be in use. */
static void pool_release(void)
{
	if (pages)
		munmap((void *)dune_page_base_va, dune_pool_map_len);
	pages = NULL;
	table_bits = NULL;
	dune_pool_map_len = 0;
	num_pages = 0;
	dune_page_base = dune_page_base_va = 0;
}

/**
 * dune_page_init() - reserve a pool of @npages pages (0: the default size).
 *
 * A second call replaces the pool (for tests): every page of the old pool
 * must be free, and page tables built from it are gone.
 * Returns 0, or -ENOMEM (no memory, or no contiguous guest-physical home).
 */
int dune_page_init(size_t npages)
{
	size_t len, mlen;
	uintptr_t pa;
	uint8_t *mem;

	if (!npages)
		npages = default_pages();
	if (npages > MAX_PAGES)
		npages = MAX_PAGES;
	mlen = (npages * sizeof(struct page) + (npages + 63) / 64 * 8 + BIG_PGMASK) &
	       ~(size_t)BIG_PGMASK;
	len = npages * PGSIZE + mlen;
	mem = map_identity(len);
	if (!mem)
		mem = map_aligned(len);
	if (!mem)
		return -ENOMEM;
	pa = dune_va_to_pa(mem);
	if (pa == ~0UL || dune_va_to_pa(mem + len - PGSIZE) != pa + len - PGSIZE)
		goto fail;

	pthread_mutex_lock(&page_lock);
	pool_release();
	pages = (struct page *)(mem + npages * PGSIZE);
	table_bits = (uint64_t *)(pages + npages);	/* zero: a fresh mapping */
	dune_pool_map_len = len;
	num_pages = (int)npages;
	dune_page_base = pa;
	dune_page_base_va = (uintptr_t)mem;
	SLIST_INIT(&free_list);
	nr_listed = next_fresh = 0;
	nr_allocs = nr_frees = 0;
	pthread_mutex_unlock(&page_lock);
	return 0;

fail:
	munmap(mem, len);
	return -ENOMEM;
}

struct page *dune_page_alloc(void)
{
	struct page *pg;
	bool used = false;

	pthread_mutex_lock(&page_lock);
	pg = SLIST_FIRST(&free_list);
	if (pg) {
		SLIST_REMOVE_HEAD(&free_list, link);
		nr_listed--;
		used = true;
	} else if (next_fresh < (size_t)num_pages) {
		pg = &pages[next_fresh++];
	}
	if (pg)
		nr_allocs++;
	pthread_mutex_unlock(&page_lock);

	if (!pg)
		return NULL;
	if (used)
		memset(dune_page2va(pg), 0, PGSIZE);
	else
		/* A fresh page's first access a write: one host fault that
		 * allocates a zeroed page, where a first read (a page-table
		 * walk reading the new table) maps the shared zero page and
		 * the write after it faults again to replace it.  That was 13
		 * of the 39 host faults of dune_init (amd 6.1). */
		*(volatile uint64_t *)dune_page2va(pg) = 0;
	__atomic_store_n(&pg->ref, 1, __ATOMIC_RELEASE);
	return pg;
}

void dune_page_mark_table(struct page *pg)
{
	size_t i = (size_t)(pg - pages);

	__atomic_fetch_or(&table_bits[i / 64], 1ULL << (i % 64), __ATOMIC_RELAXED);
}

bool dune_page_is_table(struct page *pg)
{
	size_t i = (size_t)(pg - pages);

	return __atomic_load_n(&table_bits[i / 64], __ATOMIC_RELAXED) >> (i % 64) & 1;
}

/*
 * A fork child that keeps its parent's guest tables: the table pages are
 * shared copy-on-write with the parent, and the CPU writes them as soon
 * as the guest runs (accessed and dirty bits), one nested-fault exit per
 * page (28-30 exits for a child of dune-bench's startup row where a new
 * process takes 13).  Copy them now with MADV_POPULATE_WRITE (5.14+), a
 * call per run of adjacent tables.  Only tables: the program's own pool
 * pages stay shared until written.  Best effort: where it fails the
 * nested faults copy them.
 */
void dune_page_populate_tables(void)
{
	size_t n, i, start = 0, len = 0;
	uint64_t w;

	pthread_mutex_lock(&page_lock);
	n = next_fresh;
	pthread_mutex_unlock(&page_lock);
	for (i = 0; i <= n; i++) {
		w = i < n ? __atomic_load_n(&table_bits[i / 64], __ATOMIC_RELAXED) : 0;
		if (w >> (i % 64) & 1) {
			if (!len++)
				start = i;
			continue;
		}
		if (len)
			madvise((void *)(dune_page_base_va + start * PGSIZE), len * PGSIZE,
				MADV_POPULATE_WRITE);
		len = 0;
		if (!w && i % 64 == 0)
			i += 63;	/* a word without tables */
	}
}

/* Called by dune_page_put() when the last reference goes. */
void dune_page_free(struct page *pg)
{
	size_t i = (size_t)(pg - pages);

	assert(pg >= pages && pg < pages + num_pages);
	assert(__atomic_load_n(&pg->ref, __ATOMIC_ACQUIRE) == 0);
	__atomic_fetch_and(&table_bits[i / 64], ~(1ULL << (i % 64)), __ATOMIC_RELAXED);
	pthread_mutex_lock(&page_lock);
	SLIST_INSERT_HEAD(&free_list, pg, link);
	nr_listed++;
	nr_frees++;
	pthread_mutex_unlock(&page_lock);
}

bool dune_page_isfrompool(physaddr_t pa)
{
	return pages && pa >= dune_page_base &&
	       pa - dune_page_base < (uint64_t)num_pages * PGSIZE;
}

void dune_page_stats_get(struct dune_page_stats *st)
{
	pthread_mutex_lock(&page_lock);
	st->total = num_pages;
	st->free = nr_listed + (num_pages - next_fresh);
	st->allocs = nr_allocs;
	st->frees = nr_frees;
	pthread_mutex_unlock(&page_lock);
}

void dune_page_stats(void)
{
	struct dune_page_stats st;

	dune_page_stats_get(&st);
	dune_printf("DUNE Page Allocator: Alloc %lu, Free %lu, Total %lu\n",
		    (unsigned long)(st.total - st.free), (unsigned long)st.free,
		    (unsigned long)st.total);
}
