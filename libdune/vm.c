// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Guest page tables: x86-64 4-level paging (SDM Vol. 3A 4.5, APM Vol. 2
 * 5.3), guest-virtual -> guest-physical.  Level 3 is the PML4, level 0 the
 * page table; a 1 GiB leaf lives at level 2 and a 2 MiB leaf at level 1
 * (PTE_PS).  Page-table pages come from the page pool (page.c), are
 * reached through dune_pa_to_va() and are mapped in pgroot, so this code
 * runs the same in host mode and in guest ring 0, trap handlers included.
 *
 * Entries that are not tables:
 *  - a leaf is a mapping, present or not: a PERM_NONE mapping keeps its
 *    address with PTE_P clear (and PTE_NX, so it is never 0), so that
 *    dune_vm_mprotect() can make it accessible again, as in the original;
 *  - a 4K leaf with PTE_PAGEREF holds one reference on the pool page it
 *    maps (dune_vm_map_pages(), dune_vm_insert_page(), a copy-on-write
 *    copy); unmapping it drops that reference.  dune_vm_map_phys() takes
 *    none, so mapping the pool itself (as dune_vm_init() does) is harmless.
 *
 * Locking: one recursive lock around every edit.  Recursive because a
 * dune_vm_page_walk() callback may call back into this file, and because
 * a page fault taken while it is held (it must not happen: everything
 * touched here is mapped) would otherwise deadlock in the fault handler.
 * TLB flushes are local only (no shootdown), as in the original.
 *
 * This file holds the entries, the range walker, lookups, permissions,
 * mapping and dune_vm_init; vm_tree.c whole trees (clone, free, page
 * walks), vm_cow.c copy-on-write and the default fault handler,
 * vm_mirror.c the process's own memory; vm_internal.h what they share.
 */
#include <errno.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "vm_internal.h"
#include "../kmod/common/layout.h"


ptent_t *pgroot;
uintptr_t phys_limit;
uintptr_t mmap_base;
uintptr_t stack_base;

pthread_mutex_t dvm_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

/* In a fork child, as dune_page_after_fork: the lock may be held forever. */
void dune_vm_after_fork(void)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&dvm_lock, &a);
	pthread_mutexattr_destroy(&a);
}

/*
 * A fork child keeps the page tables (entry.c): fork() waits until no
 * other thread is editing them, so the child's copy is whole.  Only
 * dvm_lock, which is recursive: the forking thread itself may take a
 * demand fault before fork() returns (libdune maps the page, allocating
 * a table page under the pool's lock, which must therefore stay free).
 * In the child the forking thread has another thread id, so it cannot
 * unlock what the parent's thread locked: both locks start over there.
 * (A raw fork system call skips these handlers: the child then gets the
 * tables as they were, and entry.c resets the locks.)
 */
static void fork_prepare(void)
{
	pthread_mutex_lock(&dvm_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&dvm_lock);
}

static void fork_child(void)
{
	dune_vm_after_fork();
	dune_page_after_fork();
}

/* ------------------------------------------------------ address spaces */

uintptr_t dune_va_to_pa(const void *ptr)
{
	return dune_hva_to_gpa(&dune_layout_cache, (uintptr_t)ptr);
}

uintptr_t dune_pa_to_va(physaddr_t pa)
{
	uintptr_t va = dune_gpa_to_hva(&dune_layout_cache, pa);

	/* layout.c says "nowhere" with 0, which is also GPA 0's own address. */
	if (!va && (pa || !dune_layout_cache.base_limit))
		return ~0UL;
	return va;
}

/* Unlike the original (plain arithmetic), ~0 outside the window. */
uintptr_t dune_mmap_addr_to_pa(const void *ptr)
{
	const struct dune_layout *l = &dune_layout_cache;
	uintptr_t off = (uintptr_t)ptr - l->mmap_base;

	return off < l->map_size ? l->gpa_map_base + off : ~0UL;
}

uintptr_t dune_stack_addr_to_pa(const void *ptr)
{
	const struct dune_layout *l = &dune_layout_cache;
	uintptr_t off = (uintptr_t)ptr - l->stack_base;

	return off < l->stack_size ? l->gpa_stack_base + off : ~0UL;
}

/* ------------------------------------------------------------ entries */


ptent_t *dvm_table_alloc(void)
{
	struct page *pg = dune_page_alloc();

	if (!pg)
		return NULL;
	dune_page_mark_table(pg);
	return dune_page2va(pg);
}

/* The page of a table, or NULL for one not from the pool (a caller's root). */
static struct page *table_page(ptent_t *t)
{
	physaddr_t pa = dune_va_to_pa(t);

	return dune_page_isfrompool(pa) ? dune_pa2page(pa) : NULL;
}

void dvm_leaf_put(ptent_t e, int level)
{
	if (!level && (e & PTE_PAGEREF) && dune_page_isfrompool(PTE_ADDR(e)))
		dune_page_put(dune_pa2page(PTE_ADDR(e)));
}

static bool table_empty(const ptent_t *t)
{
	int i;

	for (i = 0; i < NPTENTRIES; i++)
		if (t[i])
			return false;
	return true;
}

/*
 * Free table @t of @level, its subtables and the references of its leaves.
 * Table pages go to @dead when given (freed after the TLB flush, so the
 * CPU's paging-structure caches never point at a reused page: SDM Vol. 3A
 * 4.10.4.1), else at once.
 */
void dvm_tree_free(ptent_t *t, int level, struct page_head *dead)
{
	struct page *pg;
	int i;

	for (i = 0; i < NPTENTRIES; i++) {
		if (is_table(t[i], level))
			dvm_tree_free(table_of(t[i]), level - 1, dead);
		else
			dvm_leaf_put(t[i], level);
	}
	pg = table_page(t);
	if (!pg)
		return;
	if (dead)
		SLIST_INSERT_HEAD(dead, pg, link);
	else
		dune_page_put(pg);
}

/*
 * Replace big leaf *@pte of @level by a table of 512 leaves one level down
 * mapping the same memory with the same attributes (the PAT bit moves from
 * bit 12 to bit 7 for 4K entries, SDM Vol. 3A 4.9.2).  The caller flushes.
 */
int dvm_split_leaf(ptent_t *pte, int level)
{
	ptent_t e = *pte, flags = PTE_FLAGS(e), *t;
	physaddr_t pa = leaf_pa(e, level);
	uintptr_t step = level_size(level - 1);
	int i;

	t = dvm_table_alloc();
	if (!t)
		return -ENOMEM;
	if (level == 1) {
		flags &= ~(ptent_t)PTE_PS;
		if (e & PTE_PAT_PS)
			flags |= PTE_PAT;
	} else {
		flags |= e & PTE_PAT_PS;
	}
	for (i = 0; i < NPTENTRIES; i++)
		t[i] = (pa + i * step) | flags;
	__atomic_store_n(pte, table_pte(t), __ATOMIC_RELEASE);
	return 0;
}

static inline bool in_ring0(void)
{
	uint16_t cs;

	__asm__ __volatile__("mov %%cs, %0" : "=r"(cs));
	return !(cs & 3);
}

/*
 * The page-table root the CPU uses now (a program may run on a clone of
 * pgroot: faults must be resolved in the tree that faulted); pgroot
 * outside ring 0.
 */
ptent_t *dune_vm_current_root(void)
{
	uintptr_t cr3, va;

	if (!in_ring0())
		return pgroot;
	__asm__ __volatile__("mov %%cr3, %0" : "=r"(cr3));
	va = dune_pa_to_va(PTE_ADDR(cr3));
	return va && va != ~0UL ? (ptent_t *)va : pgroot;
}

/* MOV to CR3 and INVLPG fault outside ring 0 (host mode, unit tests),
 * where there is no guest TLB to flush anyway. */
void dvm_flush_tlb(void)
{
	if (in_ring0())
		dune_flush_tlb();
}

void dvm_flush_tlb_one(uintptr_t va)
{
	if (in_ring0())
		dune_flush_tlb_one(va);
}

/* --------------------------------------------------------------- walks */

static int walk_table(struct walk *w, ptent_t *t, int level, uintptr_t base);

static void slot_clear(struct walk *w, ptent_t *pte, int level)
{
	if (is_table(*pte, level))
		dvm_tree_free(table_of(*pte), level - 1, &w->dead);
	else
		dvm_leaf_put(*pte, level);
	*pte = 0;
	w->flush = true;
}

static void prune(struct walk *w, ptent_t *pte, int level)
{
	ptent_t *t;

	if (!(w->flags & WALK_PRUNE) || !is_table(*pte, level))
		return;
	t = table_of(*pte);
	if (!table_empty(t))
		return;
	*pte = 0;
	w->flush = true;
	if (table_page(t))
		SLIST_INSERT_HEAD(&w->dead, table_page(t), link);
}

static int walk_entry(struct walk *w, ptent_t *pte, int level, uintptr_t va)
{
	bool whole = va >= w->start && va + level_size(level) - 1 <= w->end;
	ptent_t *t;
	int r;

	if (level == w->create) {
		if (*pte && (w->flags & WALK_FILL))
			return 0;
		if (*pte)
			slot_clear(w, pte, level);
		return w->fn(w, pte, level, va);
	}
	if (is_leaf(*pte, level) && (w->flags & WALK_FILL))
		return 0;
	if (is_leaf(*pte, level)) {
		if (!level || (w->create < 0 && (whole || !(w->flags & WALK_SPLIT))))
			return w->create < 0 ? w->fn(w, pte, level, va) : 0;
		r = dvm_split_leaf(pte, level);
		if (r)
			return r;
		w->flush = true;
	} else if (!is_table(*pte, level)) {
		if (w->create < 0)
			return 0;
		t = dvm_table_alloc();
		if (!t)
			return -ENOMEM;
		*pte = table_pte(t);
	}
	r = walk_table(w, table_of(*pte), level - 1, va);
	prune(w, pte, level);
	return r;
}

/*
 * The leaves of a dvm_map_phys_fn walk at its own level, entries @i to
 * @last of @t, in one loop: what walk_entry() does for each, without a
 * call and an indirect call per leaf (about 80 instructions a leaf on the
 * intel machine, and every dune_init makes some 900: the pool's 2M leaves
 * and the process's own pages).
 */
static void fill_phys(struct walk *w, ptent_t *t, int level, uintptr_t base, unsigned int i,
		      unsigned int last)
{
	const struct map_walk *m = (const struct map_walk *)w;
	uintptr_t size = level_size(level), va = base + i * size;
	ptent_t add = m->flags | (level ? PTE_PS : 0);

	for (; i <= last; i++, va += size) {
		if (t[i]) {
			if (w->flags & WALK_FILL)
				continue;
			slot_clear(w, &t[i], level);
		}
		t[i] = (m->pa + (va - m->va)) | add;
	}
}

static int walk_table(struct walk *w, ptent_t *t, int level, uintptr_t base)
{
	uintptr_t lo = w->start > base ? w->start : base;
	uintptr_t top = base + level_size(level) * NPTENTRIES - 1;
	uintptr_t hi = w->end < top ? w->end : top;
	unsigned int i;
	int r;

	if (level == w->create && w->fn == dvm_map_phys_fn) {
		fill_phys(w, t, level, base, PDX(level, lo), PDX(level, hi));
		return 0;
	}
	for (i = PDX(level, lo); i <= PDX(level, hi); i++) {
		r = walk_entry(w, &t[i], level, base + i * level_size(level));
		if (r)
			return r;
	}
	return 0;
}

/* Walk [start, end] of @root; the caller holds dvm_lock, then calls
 * dvm_walk_done().  A range over the whole space wraps to all 2^48 bytes. */
int dvm_walk_range(ptent_t *root, struct walk *w, uintptr_t start, uintptr_t end)
{
	uintptr_t s = start & VA_MASK, e = end & VA_MASK;
	int r;

	w->flush = false;
	w->wide = end - start >= VA_MASK || e < s;
	SLIST_INIT(&w->dead);
	if (end - start >= VA_MASK) {
		s = 0;
		e = VA_MASK;
	}
	w->start = s;
	w->end = e < s ? VA_MASK : e;
	r = walk_table(w, root, 3, 0);
	if (!r && e < s) {
		w->start = 0;
		w->end = e;
		r = walk_table(w, root, 3, 0);
	}
	return r;
}

/* Up to this many pages, INVLPG each instead of reloading CR3. */
#define FLUSH_ONE_MAX	16

/*
 * INVLPG drops the TLB entries of the page (a 2M/1G entry covering it
 * too) and every paging-structure-cache entry (SDM Vol. 3A 4.10.4.1), so
 * it also covers page tables freed by the walk.
 */
void dvm_walk_done(struct walk *w)
{
	struct page *pg;

	if (w->flush && !w->wide && (w->end - w->start) / PGSIZE < FLUSH_ONE_MAX) {
		uintptr_t va;

		for (va = PGADDR(w->start); va <= w->end; va += PGSIZE)
			dvm_flush_tlb_one((uintptr_t)canonical(va));
	} else if (w->flush) {
		dvm_flush_tlb();
	}
	while ((pg = SLIST_FIRST(&w->dead))) {
		SLIST_REMOVE_HEAD(&w->dead, link);
		dune_page_put(pg);
	}
}

/* [va, va + len) as an inclusive page range; false if empty or wrapping. */
bool dvm_page_range(const void *va, size_t len, uintptr_t *start, uintptr_t *end)
{
	uintptr_t s = (uintptr_t)va;

	if (!len || s + len - 1 < s)
		return false;
	*start = PGADDR(s);
	*end = s + len - 1;
	return true;
}

/* ------------------------------------------------------------- lookups */

int dvm_lookup(ptent_t *root, uintptr_t va, int create, ptent_t **out, int *out_level)
{
	int target = create == CREATE_NONE ? 0 : create - 1, level;
	ptent_t *t = root, *pte, *next;

	for (level = 3; level > target; level--) {
		pte = &t[PDX(level, va)];
		if (is_leaf(*pte, level))
			goto found;
		if (!is_table(*pte, level)) {
			if (create == CREATE_NONE)
				return -ENOENT;
			next = dvm_table_alloc();
			if (!next)
				return -ENOMEM;
			*pte = table_pte(next);
		}
		t = table_of(*pte);
	}
	pte = &t[PDX(level, va)];
found:
	*out = pte;
	if (out_level)
		*out_level = level;
	return 0;
}

/**
 * dune_vm_lookup() - the entry mapping @va.
 * @create: CREATE_NONE: -ENOENT when a table on the way is missing;
 *	    CREATE_NORMAL, CREATE_BIG, CREATE_BIG_1GB: missing tables are
 *	    built down to the 4K, 2M or 1G level, whose slot is returned.
 * A big leaf met on the way is returned instead, as in the original.
 * Returns 0, -ENOENT, -ENOMEM or -EINVAL (bad @create).
 */
int dune_vm_lookup(ptent_t *root, void *va, int create, ptent_t **pte_out)
{
	int r;

	if (create < CREATE_NONE || create > CREATE_BIG_1GB)
		return -EINVAL;
	pthread_mutex_lock(&dvm_lock);
	r = dvm_lookup(root, (uintptr_t)va, create, pte_out, NULL);
	pthread_mutex_unlock(&dvm_lock);
	return r;
}

/* The pool page mapped at @va (no reference taken), or NULL. */
struct page *dune_vm_lookup_page(ptent_t *root, void *va)
{
	struct page *pg = NULL;
	physaddr_t pa;
	ptent_t *pte;
	int level;

	pthread_mutex_lock(&dvm_lock);
	if (!dvm_lookup(root, (uintptr_t)va, CREATE_NONE, &pte, &level) && is_leaf(*pte, level)) {
		pa = leaf_pa(*pte, level) + ((uintptr_t)va & (level_size(level) - 1));
		if (dune_page_isfrompool(pa))
			pg = dune_pa2page(pa);
	}
	pthread_mutex_unlock(&dvm_lock);
	return pg;
}

/* --------------------------------------------------------- permissions */

/* PERM_USR1..3 are a 2-bit value (USR3 == USR1 | USR2), not three flags. */
static ptent_t perm_to_pte(int perm)
{
	static const ptent_t usr[4] = { 0, PTE_USR1, PTE_USR2, PTE_USR3 };
	ptent_t pte = 0;

	if (perm & PERM_R)
		pte |= PTE_P;
	if ((perm & PERM_W) && !(perm & PERM_COW))
		pte |= PTE_W;
	if (!(perm & PERM_X))
		pte |= PTE_NX;
	if (perm & PERM_U)
		pte |= PTE_U;
	if (perm & PERM_UC)
		pte |= PTE_PCD;
	if (perm & PERM_COW)
		pte |= PTE_COW;
	return pte | usr[(perm & PERM_USR3) / PERM_USR1];
}

/* As the original mprotect: no R means no access, and W without R is an
 * error. */
static int perm_normalize(int *perm)
{
	if ((*perm & PERM_BIGS) == PERM_BIGS)
		return -EINVAL;
	if (!(*perm & PERM_R)) {
		if (*perm & PERM_W)
			return -EINVAL;
		*perm &= PERM_BIGS;
	}
	return 0;
}

struct prot_walk {
	struct walk w;
	ptent_t flags;
};

static int mprotect_fn(struct walk *w, ptent_t *pte, int level, uintptr_t va)
{
	ptent_t e = *pte, keep = PTE_ADDR(e) | (e & (PTE_A | PTE_D | PTE_PAGEREF));

	/* Bit 7 is PS in a big leaf and PAT in a 4K one: keep it either way. */
	keep |= e & PTE_PS;
	*pte = keep | ((struct prot_walk *)w)->flags;
	w->flush = true;
	return 0;
}

/**
 * dune_vm_mprotect() - set the permissions of the mappings in [va, va+len).
 * Unmapped parts are skipped; a big page the range covers only in part is
 * split first.  A, D and the page size are kept.  PERM_COW makes the pages
 * read-only.  Returns 0, -EINVAL (W without R) or -ENOMEM (a split).
 */
int dune_vm_mprotect(ptent_t *root, void *va, size_t len, int perm)
{
	struct prot_walk p = { .w = { .create = -1, .flags = WALK_SPLIT, .fn = mprotect_fn } };
	uintptr_t start, end;
	int r = perm_normalize(&perm);

	if (r || !dvm_page_range(va, len, &start, &end))
		return r;
	p.flags = perm_to_pte(perm & ~PERM_BIGS);
	pthread_mutex_lock(&dvm_lock);
	r = dvm_walk_range(root, &p.w, start, end);
	dvm_walk_done(&p.w);
	pthread_mutex_unlock(&dvm_lock);
	return r;
}

/* ------------------------------------------------------------- mapping */

static int unmap_fn(struct walk *w, ptent_t *pte, int level, uintptr_t va)
{
	dvm_leaf_put(*pte, level);
	*pte = 0;
	w->flush = true;
	return 0;
}

static void unmap_locked(ptent_t *root, uintptr_t start, uintptr_t end)
{
	struct walk w = { .create = -1, .flags = WALK_SPLIT | WALK_PRUNE, .fn = unmap_fn };

	/* Only a split can fail (-ENOMEM): that big page stays mapped. */
	dvm_walk_range(root, &w, start, end);
	dvm_walk_done(&w);
}

/**
 * dune_vm_unmap() - remove the mappings in [va, va + len): the references
 * of pool pages mapped by dune_vm_map_pages()/insert_page() are dropped,
 * big pages the range covers in part are split, tables left empty freed.
 */
void dune_vm_unmap(ptent_t *root, void *va, size_t len)
{
	uintptr_t start, end;

	if (!dvm_page_range(va, len, &start, &end))
		return;
	pthread_mutex_lock(&dvm_lock);
	unmap_locked(root, start, end);
	pthread_mutex_unlock(&dvm_lock);
}


int dvm_map_phys_fn(struct walk *w, ptent_t *pte, int level, uintptr_t va)
{
	struct map_walk *m = (struct map_walk *)w;

	*pte = (m->pa + (va - m->va)) | m->flags | (level ? PTE_PS : 0);
	return 0;
}

static int map_pages_fn(struct walk *w, ptent_t *pte, int level, uintptr_t va)
{
	struct map_walk *m = (struct map_walk *)w;
	struct page *pg = m->pg;

	if (pg)
		m->pg = NULL;	/* insert_page: the caller's reference, once */
	else
		pg = dune_page_alloc();
	if (!pg)
		return -ENOMEM;
	*pte = dune_page2pa(pg) | m->flags | PTE_PAGEREF;
	return 0;
}

/*
 * Map [start, end] with leaves of @m->w.create's level: what was there is
 * replaced.  On failure (-ENOMEM) the whole range is left unmapped, so no
 * table or page is lost.
 */
int dvm_map_range(ptent_t *root, struct map_walk *m, uintptr_t start, uintptr_t end)
{
	int r;

	pthread_mutex_lock(&dvm_lock);
	r = dvm_walk_range(root, &m->w, start, end);
	dvm_walk_done(&m->w);
	/* A fill keeps what was there before: only its own leaves stay. */
	if (r && !(m->w.flags & WALK_FILL))
		unmap_locked(root, start, end);
	pthread_mutex_unlock(&dvm_lock);
	return r;
}

/* A create walk cannot restart at 0 halfway: the range must not wrap. */
static bool range_ok(uintptr_t start, uintptr_t end)
{
	return (start & VA_MASK) <= (end & VA_MASK) && end - start <= VA_MASK;
}

/**
 * dune_vm_map_phys() - map [va, va + len) to [pa, pa + len).
 * PERM_BIG / PERM_BIG_1GB use 2M / 1G pages: @va and @pa must then be
 * aligned to that size (len is rounded up to it); 4K pages need the same
 * offset in @va and @pa.  Existing mappings there are replaced (the
 * original overwrote them too, leaking tables).  No page reference is
 * taken.  Returns 0, -EINVAL or -ENOMEM (then the range is unmapped).
 */
int dune_vm_map_phys(ptent_t *root, void *va, size_t len, void *pa, int perm)
{
	struct map_walk m = { .w = { .fn = dvm_map_phys_fn } };
	uintptr_t start, end, mask;
	int r = perm_normalize(&perm);

	if (r)
		return r;
	m.w.create = perm & PERM_BIG_1GB ? 2 : perm & PERM_BIG ? 1 : 0;
	mask = level_size(m.w.create) - 1;
	if (m.w.create ? ((uintptr_t)va | (uintptr_t)pa) & mask :
			 ((uintptr_t)va ^ (uintptr_t)pa) & PGMASK)
		return -EINVAL;
	if (!dvm_page_range(va, len, &start, &end) || !range_ok(start, end) ||
	    (uintptr_t)pa + len - 1 >= PA_LIMIT || (uintptr_t)pa + len - 1 < (uintptr_t)pa)
		return len ? -EINVAL : 0;
	m.flags = perm_to_pte(perm & ~PERM_BIGS);
	m.va = start & VA_MASK;
	m.pa = PGADDR(pa);
	return dvm_map_range(root, &m, start, end);
}

/* map_pages and insert_page: 4K pool pages; no bits without R (as the
 * original map_pages). */
static int pool_perm(int perm, ptent_t *flags)
{
	if ((!(perm & PERM_R) && perm) || (perm & PERM_BIGS))
		return -EINVAL;
	*flags = perm_to_pte(perm);
	return 0;
}

/**
 * dune_vm_map_pages() - map fresh zeroed pool pages (4K only) at
 * [va, va + len), replacing what was there.  Each leaf owns its page:
 * unmapping frees it.  Returns 0, -EINVAL or -ENOMEM (range unmapped).
 */
int dune_vm_map_pages(ptent_t *root, void *va, size_t len, int perm)
{
	struct map_walk m = { .w = { .create = 0, .fn = map_pages_fn } };
	uintptr_t start, end;
	int r = pool_perm(perm, &m.flags);

	if (r || !dvm_page_range(va, len, &start, &end))
		return r;
	if (!range_ok(start, end))
		return -EINVAL;
	return dvm_map_range(root, &m, start, end);
}

/**
 * dune_vm_insert_page() - map pool page @pg at @va (4K), replacing what
 * was there; the mapping takes a reference on @pg.
 */
int dune_vm_insert_page(ptent_t *root, void *va, struct page *pg, int perm)
{
	struct map_walk m = { .w = { .create = 0, .fn = map_pages_fn }, .pg = pg };
	uintptr_t start = PGADDR(va);
	int r = pool_perm(perm, &m.flags);

	if (r)
		return r;
	/* Taken first: the slot may hold the last reference to @pg. */
	dune_page_get(pg);
	r = dvm_map_range(root, &m, start, start + PGSIZE - 1);
	if (m.pg)
		dune_page_put(pg);	/* never mapped */
	return r;
}

/**
 * dune_vm_init() - the page pool, pgroot, and the process's memory
 * mirrored in it (supervisor only: ring-3 code gets user mappings from
 * its own dune_vm_* calls).  The pool is mapped first: page-table code
 * must never fault.
 */
int dune_vm_init(uint64_t *pool_done)
{
	static bool atfork_done;	/* fork children inherit the handlers */
	uint32_t lo, hi;
	int r;

	phys_limit = dune_layout_cache.phys_limit;
	mmap_base = dune_layout_cache.mmap_base;
	stack_base = dune_layout_cache.stack_base;
	if (!atfork_done && pthread_atfork(fork_prepare, fork_parent, fork_child) == 0)
		atfork_done = true;
	r = dune_page_init(0);
	if (r)
		return r;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	*pool_done = lo | (uint64_t)hi << 32;
	pgroot = dvm_table_alloc();
	if (!pgroot)
		return -ENOMEM;
	/* 2 MiB pages when the pool allows (it is allocated so): 512 entries
	 * per GiB instead of 262144, which makes dune_init fast in emulators. */
	if (!(dune_page_base_va & BIG_PGMASK) && !(dune_page_base & BIG_PGMASK) &&
	    !(dune_pool_map_len & BIG_PGMASK))
		r = dune_vm_map_phys(pgroot, (void *)dune_page_base_va, dune_pool_map_len,
				     (void *)dune_page_base, PERM_R | PERM_W | PERM_BIG);
	else
		r = dvm_mirror_range(pgroot, dune_page_base_va,
				 dune_page_base_va + dune_pool_map_len,
				 PTE_P | PTE_W | PTE_NX, true, 0);
	if (!r)
		r = dvm_mirror_maps(pgroot, 0);
	return r;
}
