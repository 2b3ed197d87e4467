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
 */
#include <errno.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "../kmod/common/layout.h"

/* Software bit: ignored by the CPU in every paging-structure entry (SDM
 * Vol. 3A Tables 4-15..4-20, bits 58:52; APM Vol. 2 5.4.1 "available"). */
#define PTE_PAGEREF	(UINT64(1) << 52)

#define VA_BITS		48
#define VA_MASK		((UINT64(1) << VA_BITS) - 1)
#define PA_LIMIT	(UINT64(1) << 52)	/* MAXPHYADDR is at most 52 */
#define PERM_BIGS	(PERM_BIG | PERM_BIG_1GB)

ptent_t *pgroot;
uintptr_t phys_limit;
uintptr_t mmap_base;
uintptr_t stack_base;

static pthread_mutex_t vm_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

/* In a fork child, as dune_page_after_fork: the lock may be held forever. */
void dune_vm_after_fork(void)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&vm_lock, &a);
	pthread_mutexattr_destroy(&a);
}

/*
 * A fork child keeps the page tables (entry.c): fork() waits until no
 * other thread is editing them, so the child's copy is whole.  Only
 * vm_lock, which is recursive: the forking thread itself may take a
 * demand fault before fork() returns (libdune maps the page, allocating
 * a table page under the pool's lock, which must therefore stay free).
 * In the child the forking thread has another thread id, so it cannot
 * unlock what the parent's thread locked: both locks start over there.
 * (A raw fork system call skips these handlers: the child then gets the
 * tables as they were, and entry.c resets the locks.)
 */
static void fork_prepare(void)
{
	pthread_mutex_lock(&vm_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&vm_lock);
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

static inline uintptr_t level_size(int level)
{
	return UINT64(1) << PDSHIFT(level);
}

/* PS is reserved in a PML4E (SDM Vol. 3A Table 4-14): never a leaf. */
static inline bool is_leaf(ptent_t e, int level)
{
	return level ? level < 3 && (e & PTE_PS) : e != 0;
}

static inline bool is_table(ptent_t e, int level)
{
	return level && (e & PTE_P) && (level == 3 || !(e & PTE_PS));
}

/* Bits 12..(shift-1) of a big leaf are PAT and reserved, not address. */
static inline physaddr_t leaf_pa(ptent_t e, int level)
{
	return PTE_ADDR(e) & ~(level_size(level) - 1);
}

static inline ptent_t *table_of(ptent_t e)
{
	return (ptent_t *)dune_pa_to_va(PTE_ADDR(e));
}

/* Non-leaf entries allow everything: the leaf alone sets the rights (the
 * CPU combines all levels, SDM Vol. 3A 4.6.1). */
static inline ptent_t table_pte(ptent_t *t)
{
	return dune_va_to_pa(t) | PTE_DEF_FLAGS;
}

static ptent_t *table_alloc(void)
{
	struct page *pg = dune_page_alloc();

	return pg ? dune_page2va(pg) : NULL;
}

/* The page of a table, or NULL for one not from the pool (a caller's root). */
static struct page *table_page(ptent_t *t)
{
	physaddr_t pa = dune_va_to_pa(t);

	return dune_page_isfrompool(pa) ? dune_pa2page(pa) : NULL;
}

static void leaf_put(ptent_t e, int level)
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
static void tree_free(ptent_t *t, int level, struct page_head *dead)
{
	struct page *pg;
	int i;

	for (i = 0; i < NPTENTRIES; i++) {
		if (is_table(t[i], level))
			tree_free(table_of(t[i]), level - 1, dead);
		else
			leaf_put(t[i], level);
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
static int split_leaf(ptent_t *pte, int level)
{
	ptent_t e = *pte, flags = PTE_FLAGS(e), *t;
	physaddr_t pa = leaf_pa(e, level);
	uintptr_t step = level_size(level - 1);
	int i;

	t = table_alloc();
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
static void flush_tlb(void)
{
	if (in_ring0())
		dune_flush_tlb();
}

static void flush_tlb_one(uintptr_t va)
{
	if (in_ring0())
		dune_flush_tlb_one(va);
}

static inline void *canonical(uintptr_t va)
{
	return (void *)(uintptr_t)((int64_t)(va << (64 - VA_BITS)) >> (64 - VA_BITS));
}

/* --------------------------------------------------------------- walks */

/*
 * A walk visits [start, end] (inclusive, 48-bit addresses).  With
 * create >= 0 it builds tables down to level @create and calls @fn on each
 * slot there, emptied first (map semantics: replace what was there).
 * With create < 0 it calls @fn on each existing leaf; WALK_SPLIT first
 * splits big leaves the range only partly covers, WALK_PRUNE frees tables
 * left empty.  WALK_FILL makes a create walk keep what is there (leaves of
 * any size) and call @fn on empty slots only.
 */
enum { WALK_SPLIT = 1, WALK_PRUNE = 2, WALK_FILL = 4 };

struct walk {
	uintptr_t start, end;
	int create;
	unsigned int flags;
	bool flush;
	bool wide;		/* two passes (wrapped) or the whole space */
	struct page_head dead;
	int (*fn)(struct walk *w, ptent_t *pte, int level, uintptr_t va);
};

static int walk_table(struct walk *w, ptent_t *t, int level, uintptr_t base);

static void slot_clear(struct walk *w, ptent_t *pte, int level)
{
	if (is_table(*pte, level))
		tree_free(table_of(*pte), level - 1, &w->dead);
	else
		leaf_put(*pte, level);
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
		r = split_leaf(pte, level);
		if (r)
			return r;
		w->flush = true;
	} else if (!is_table(*pte, level)) {
		if (w->create < 0)
			return 0;
		t = table_alloc();
		if (!t)
			return -ENOMEM;
		*pte = table_pte(t);
	}
	r = walk_table(w, table_of(*pte), level - 1, va);
	prune(w, pte, level);
	return r;
}

static int walk_table(struct walk *w, ptent_t *t, int level, uintptr_t base)
{
	uintptr_t lo = w->start > base ? w->start : base;
	uintptr_t top = base + level_size(level) * NPTENTRIES - 1;
	uintptr_t hi = w->end < top ? w->end : top;
	unsigned int i;
	int r;

	for (i = PDX(level, lo); i <= PDX(level, hi); i++) {
		r = walk_entry(w, &t[i], level, base + i * level_size(level));
		if (r)
			return r;
	}
	return 0;
}

/* Walk [start, end] of @root; the caller holds vm_lock, then calls
 * walk_done().  A range over the whole space wraps to all 2^48 bytes. */
static int walk_range(ptent_t *root, struct walk *w, uintptr_t start, uintptr_t end)
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
static void walk_done(struct walk *w)
{
	struct page *pg;

	if (w->flush && !w->wide && (w->end - w->start) / PGSIZE < FLUSH_ONE_MAX) {
		uintptr_t va;

		for (va = PGADDR(w->start); va <= w->end; va += PGSIZE)
			flush_tlb_one((uintptr_t)canonical(va));
	} else if (w->flush) {
		flush_tlb();
	}
	while ((pg = SLIST_FIRST(&w->dead))) {
		SLIST_REMOVE_HEAD(&w->dead, link);
		dune_page_put(pg);
	}
}

/* [va, va + len) as an inclusive page range; false if empty or wrapping. */
static bool page_range(const void *va, size_t len, uintptr_t *start, uintptr_t *end)
{
	uintptr_t s = (uintptr_t)va;

	if (!len || s + len - 1 < s)
		return false;
	*start = PGADDR(s);
	*end = s + len - 1;
	return true;
}

/* ------------------------------------------------------------- lookups */

static int lookup(ptent_t *root, uintptr_t va, int create, ptent_t **out, int *out_level)
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
			next = table_alloc();
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
	pthread_mutex_lock(&vm_lock);
	r = lookup(root, (uintptr_t)va, create, pte_out, NULL);
	pthread_mutex_unlock(&vm_lock);
	return r;
}

/* The pool page mapped at @va (no reference taken), or NULL. */
struct page *dune_vm_lookup_page(ptent_t *root, void *va)
{
	struct page *pg = NULL;
	physaddr_t pa;
	ptent_t *pte;
	int level;

	pthread_mutex_lock(&vm_lock);
	if (!lookup(root, (uintptr_t)va, CREATE_NONE, &pte, &level) && is_leaf(*pte, level)) {
		pa = leaf_pa(*pte, level) + ((uintptr_t)va & (level_size(level) - 1));
		if (dune_page_isfrompool(pa))
			pg = dune_pa2page(pa);
	}
	pthread_mutex_unlock(&vm_lock);
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

	if (r || !page_range(va, len, &start, &end))
		return r;
	p.flags = perm_to_pte(perm & ~PERM_BIGS);
	pthread_mutex_lock(&vm_lock);
	r = walk_range(root, &p.w, start, end);
	walk_done(&p.w);
	pthread_mutex_unlock(&vm_lock);
	return r;
}

/* ------------------------------------------------------------- mapping */

static int unmap_fn(struct walk *w, ptent_t *pte, int level, uintptr_t va)
{
	leaf_put(*pte, level);
	*pte = 0;
	w->flush = true;
	return 0;
}

static void unmap_locked(ptent_t *root, uintptr_t start, uintptr_t end)
{
	struct walk w = { .create = -1, .flags = WALK_SPLIT | WALK_PRUNE, .fn = unmap_fn };

	/* Only a split can fail (-ENOMEM): that big page stays mapped. */
	walk_range(root, &w, start, end);
	walk_done(&w);
}

/**
 * dune_vm_unmap() - remove the mappings in [va, va + len): the references
 * of pool pages mapped by dune_vm_map_pages()/insert_page() are dropped,
 * big pages the range covers in part are split, tables left empty freed.
 */
void dune_vm_unmap(ptent_t *root, void *va, size_t len)
{
	uintptr_t start, end;

	if (!page_range(va, len, &start, &end))
		return;
	pthread_mutex_lock(&vm_lock);
	unmap_locked(root, start, end);
	pthread_mutex_unlock(&vm_lock);
}

struct map_walk {
	struct walk w;
	ptent_t flags;
	uintptr_t va;		/* first leaf's address (48-bit) */
	physaddr_t pa;		/* what it maps */
	struct page *pg;	/* dune_vm_insert_page(): its reference */
};

static int map_phys_fn(struct walk *w, ptent_t *pte, int level, uintptr_t va)
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
static int map_range(ptent_t *root, struct map_walk *m, uintptr_t start, uintptr_t end)
{
	int r;

	pthread_mutex_lock(&vm_lock);
	r = walk_range(root, &m->w, start, end);
	walk_done(&m->w);
	/* A fill keeps what was there before: only its own leaves stay. */
	if (r && !(m->w.flags & WALK_FILL))
		unmap_locked(root, start, end);
	pthread_mutex_unlock(&vm_lock);
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
	struct map_walk m = { .w = { .fn = map_phys_fn } };
	uintptr_t start, end, mask;
	int r = perm_normalize(&perm);

	if (r)
		return r;
	m.w.create = perm & PERM_BIG_1GB ? 2 : perm & PERM_BIG ? 1 : 0;
	mask = level_size(m.w.create) - 1;
	if (m.w.create ? ((uintptr_t)va | (uintptr_t)pa) & mask :
			 ((uintptr_t)va ^ (uintptr_t)pa) & PGMASK)
		return -EINVAL;
	if (!page_range(va, len, &start, &end) || !range_ok(start, end) ||
	    (uintptr_t)pa + len - 1 >= PA_LIMIT || (uintptr_t)pa + len - 1 < (uintptr_t)pa)
		return len ? -EINVAL : 0;
	m.flags = perm_to_pte(perm & ~PERM_BIGS);
	m.va = start & VA_MASK;
	m.pa = PGADDR(pa);
	return map_range(root, &m, start, end);
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

	if (r || !page_range(va, len, &start, &end))
		return r;
	if (!range_ok(start, end))
		return -EINVAL;
	return map_range(root, &m, start, end);
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
	r = map_range(root, &m, start, start + PGSIZE - 1);
	if (m.pg)
		dune_page_put(pg);	/* never mapped */
	return r;
}

/* -------------------------------------------------- whole trees, walks */

static int mirror_maps(ptent_t *root, unsigned int wflags);

static int tree_copy(ptent_t *dst, const ptent_t *src, int level)
{
	ptent_t e, *t;
	int i, r;

	for (i = 0; i < NPTENTRIES; i++) {
		e = src[i];
		if (!is_table(e, level)) {
			if (!level && (e & PTE_PAGEREF) && dune_page_isfrompool(PTE_ADDR(e)))
				dune_page_get(dune_pa2page(PTE_ADDR(e)));
			dst[i] = e;
			continue;
		}
		t = table_alloc();
		if (!t)
			return -ENOMEM;
		dst[i] = PTE_FLAGS(e) | dune_va_to_pa(t);
		r = tree_copy(t, table_of(e), level - 1);
		if (r)
			return r;
	}
	return 0;
}

/**
 * dune_vm_clone() - a copy of @root's tree.  As in the original, leaves
 * are copied unchanged (same pages, same rights: the two trees share
 * memory, big pages stay big) and each owned pool page gains a reference.
 * For fork-like copy-on-write, dune_vm_mprotect() the writable ranges
 * with PERM_COW in both trees afterwards.  NULL when out of pages.
 *
 * With dune_init(true), pgroot maps process memory on its first ring-0
 * touch (fullmap.c), which a clone run on its own never gets.  The
 * original's pgroot already held everything then, and programs walk the
 * clone expecting it (its wedge grants an sthread its stack and tags by
 * editing the clone's leaves), so a clone of pgroot first maps into
 * pgroot every page the host maps now that it lacks, with the host
 * mapping's rights, as fullmap.c would on a touch.
 */
ptent_t *dune_vm_clone(ptent_t *root)
{
	ptent_t *copy;
	int r;

	if (root == pgroot && dune_map_full) {
		r = mirror_maps(pgroot, WALK_FILL);
		if (r) {
			errno = -r;
			return NULL;
		}
	}
	copy = table_alloc();
	if (!copy)
		return NULL;
	pthread_mutex_lock(&vm_lock);
	r = tree_copy(copy, root, 3);
	if (r)
		tree_free(copy, 3, NULL);
	pthread_mutex_unlock(&vm_lock);
	return r ? NULL : copy;
}

/* Free @root's tables, @root included, dropping the references of its
 * leaves.  @root must not be in use (no TLB flush). */
void dune_vm_free(ptent_t *root)
{
	pthread_mutex_lock(&vm_lock);
	tree_free(root, 3, NULL);
	pthread_mutex_unlock(&vm_lock);
}

struct cb_walk {
	struct walk w;
	page_walk_cb cb;
	const void *arg;
};

static int page_walk_fn(struct walk *w, ptent_t *pte, int level, uintptr_t va)
{
	struct cb_walk *c = (struct cb_walk *)w;

	return c->cb(c->arg, pte, canonical(va));
}

/**
 * dune_vm_page_walk() - @cb on every leaf overlapping [start_va, end_va],
 * in address order, with the leaf's own (canonical) address.  As in the
 * original, a leaf is any mapping, PERM_NONE ones (PTE_P clear) included.
 * @cb may change *ptep, and call dune_vm_* on other ranges.
 */
int dune_vm_page_walk(ptent_t *root, void *start_va, void *end_va,
		      page_walk_cb cb, const void *arg)
{
	struct cb_walk c = { .w = { .create = -1, .fn = page_walk_fn }, .cb = cb, .arg = arg };
	int r;

	if ((uintptr_t)end_va < (uintptr_t)start_va)
		return 0;
	pthread_mutex_lock(&vm_lock);
	r = walk_range(root, &c.w, (uintptr_t)start_va, (uintptr_t)end_va);
	walk_done(&c.w);
	pthread_mutex_unlock(&vm_lock);
	return r;
}

struct ad_walk {
	struct walk w;
	ptent_t bits;
	long count;
};

static int clear_ad_fn(struct walk *w, ptent_t *pte, int level, uintptr_t va)
{
	struct ad_walk *a = (struct ad_walk *)w;

	/* Atomic: the CPU sets A/D concurrently (SDM Vol. 3A 4.8). */
	if (__atomic_fetch_and(pte, ~a->bits, __ATOMIC_RELAXED) & a->bits)
		a->count++;
	return 0;
}

long dune_vm_clear_ad(ptent_t *root, void *va, size_t len, uint64_t bits)
{
	struct ad_walk a = { .w = { .create = -1, .fn = clear_ad_fn }, .bits = bits };
	uintptr_t start, end;

	if (!bits || (bits & ~(uint64_t)(PTE_A | PTE_D)))
		return -EINVAL;
	if (!page_range(va, len, &start, &end))
		return 0;
	pthread_mutex_lock(&vm_lock);
	walk_range(root, &a.w, start, end);
	walk_done(&a.w);
	pthread_mutex_unlock(&vm_lock);
	return a.count;
}

/* ------------------------------------------------------- copy-on-write */

/* @va's copy-on-write leaf, made 4K (a write copies one 4K page); NULL
 * when there is none. */
static int lookup_cow(ptent_t *root, uintptr_t va, ptent_t **pte)
{
	int level, r = lookup(root, va, CREATE_NONE, pte, &level);

	if (r || (**pte & (PTE_P | PTE_COW)) != (PTE_P | PTE_COW)) {
		*pte = NULL;
		return r == -ENOENT ? 0 : r;
	}
	for (; level > 0; level--) {
		r = split_leaf(*pte, level);
		if (r)
			return r;
		flush_tlb();
		*pte = &table_of(**pte)[PDX(level - 1, va)];
	}
	return 0;
}

/*
 * The copy is made without the lock: reading the source may fault (it may
 * be process memory not yet in the page tables).  The entry is then
 * checked again, as another thread may have resolved the fault meanwhile.
 */
static int cow_fault(ptent_t *root, uintptr_t va)
{
	struct page *old = NULL, *copy;
	ptent_t *pte, e;
	int r;

	pthread_mutex_lock(&vm_lock);
	r = lookup_cow(root, va, &pte);
	if (r || !pte) {
		pthread_mutex_unlock(&vm_lock);
		return r;
	}
	e = *pte;
	if ((e & PTE_PAGEREF) && dune_page_isfrompool(PTE_ADDR(e))) {
		old = dune_pa2page(PTE_ADDR(e));
		if (__atomic_load_n(&old->ref, __ATOMIC_ACQUIRE) == 1) {
			/* The last sharer: write in place. */
			*pte = (e & ~(ptent_t)PTE_COW) | PTE_W;
			pthread_mutex_unlock(&vm_lock);
			flush_tlb_one(va);
			return 0;
		}
		dune_page_get(old);	/* keeps the source alive while copying */
	}
	pthread_mutex_unlock(&vm_lock);

	copy = dune_page_alloc();
	if (copy)
		memcpy(dune_page2va(copy), (void *)dune_pa_to_va(PTE_ADDR(e)), PGSIZE);

	pthread_mutex_lock(&vm_lock);
	r = copy ? lookup_cow(root, va, &pte) : -ENOMEM;
	if (!r && pte && *pte == e) {
		*pte = dune_page2pa(copy) | (PTE_FLAGS(e) & ~(ptent_t)PTE_COW) | PTE_W |
		       PTE_PAGEREF;
		leaf_put(e, 0);
		copy = NULL;
	}
	pthread_mutex_unlock(&vm_lock);
	if (copy)
		dune_page_put(copy);
	if (old)
		dune_page_put(old);
	flush_tlb_one(va);
	return r;
}

/**
 * dune_vm_default_pgflt_handler() - what libdune does with a page fault:
 * a ring-0 not-present fault on process memory maps it to its mirror
 * (demand paging); a write fault on a PTE_COW page of pgroot gets a private
 * writable copy, or is made writable in place when this mapping holds its
 * only reference.  Any other fault ends the process with SIGSEGV, as
 * returning would fault again forever.  Handlers registered with
 * dune_register_pgflt_handler() chain to it for faults they do not own.
 */
int dune_vm_resolve_fault(uintptr_t addr, uint64_t fec)
{
	ptent_t *root = dune_vm_current_root(), *pte;

	/* Ring-0 first touch of process memory not yet in the page table. */
	if (!(fec & (FEC_P | FEC_U | FEC_RSV)) && dune_vm_map_mirror(addr) == 0)
		return 0;
	if ((fec & (FEC_P | FEC_W)) != (FEC_P | FEC_W) ||
	    dune_vm_lookup(root, (void *)addr, CREATE_NONE, &pte) || !(*pte & PTE_COW))
		return -1;
	if (cow_fault(root, addr)) {
		dune_printf("dune: out of pages for copy-on-write at %#lx\n", addr);
		dune_die();
	}
	return 0;
}

void dune_vm_default_pgflt_handler(uintptr_t addr, uint64_t fec)
{
	if (dune_vm_resolve_fault(addr, fec) == 0)
		return;
	/* Returning would fault again forever: end it as Linux would. */
	dune_printf("dune: unhandled page fault at %#lx (error code %#lx)\n", addr,
		    (unsigned long)fec);
	dune_die_signal(SIGSEGV);
}

/* --------------------------------------------- the process's own memory */

/*
 * Map [start, end) to its guest-physical mirror with @flags, in runs that
 * are contiguous in guest-physical memory; pages without a mirror are
 * skipped, or make it fail with -EFAULT when @strict.  With WALK_FILL in
 * @wflags, pages already mapped in @root keep their leaves.
 */
static int mirror_range(ptent_t *root, uintptr_t start, uintptr_t end, ptent_t flags,
			bool strict, unsigned int wflags)
{
	struct map_walk m;
	uintptr_t va, run = 0, run_pa = ~0UL, pa;
	int r = 0, missing = 0;

	start = PGADDR(start);
	for (va = start; va <= end && !r; va += PGSIZE) {
		pa = va < end ? dune_va_to_pa((void *)va) : ~0UL;
		if (va < end && pa == ~0UL)
			missing = 1;
		if (run_pa != ~0UL && (pa == ~0UL || pa != run_pa + (va - run))) {
			m = (struct map_walk){ .w = { .create = 0, .flags = wflags,
						      .fn = map_phys_fn },
					       .flags = flags, .va = run, .pa = run_pa };
			r = map_range(root, &m, run, va - 1);
			run_pa = ~0UL;
		}
		if (pa != ~0UL && run_pa == ~0UL) {
			run = va;
			run_pa = pa;
		}
	}
	if (!r && strict && missing)
		r = -EFAULT;
	return r;
}

int dune_vm_map_mirror_range(const void *p, size_t len)
{
	uintptr_t start, end;

	if (!pgroot)
		return -EINVAL;
	if (!page_range(p, len, &start, &end))
		return 0;
	return mirror_range(pgroot, start, PGADDR(end) + PGSIZE, PTE_P | PTE_W | PTE_NX, true, 0);
}

/* Map the page holding @va to its mirror in @root with @flags, unless the
 * leaf is already there: 0 if present, -EEXIST for a deliberate no-access
 * (PERM_NONE) leaf, -EFAULT for an address without a mirror. */
static int map_mirror_page(ptent_t *root, uintptr_t va, ptent_t flags)
{
	uintptr_t pa = dune_va_to_pa((void *)PGADDR(va));
	ptent_t *pte;
	int r;

	if (pa == ~0UL)
		return -EFAULT;
	if (!pgroot)
		return -EINVAL;
	pthread_mutex_lock(&vm_lock);
	r = lookup(root, va, CREATE_NORMAL, &pte, NULL);
	if (!r && !(*pte & PTE_P)) {
		if (*pte)
			r = -EEXIST;
		else
			*pte = pa | flags;
	}
	pthread_mutex_unlock(&vm_lock);
	return r;
}

/* Demand paging of process memory: supervisor, writable and executable
 * (the nested page tables enforce the process's real rights). */
int dune_vm_map_mirror(uintptr_t va)
{
	return map_mirror_page(dune_vm_current_root(), va, PTE_P | PTE_W);
}

int dune_vm_map_mirror_rights(uintptr_t va, bool w, bool x)
{
	return map_mirror_page(pgroot, va, PTE_P | (w ? PTE_W : 0) | (x ? 0 : PTE_NX));
}

/* pgroot's leaf for @va maps the page's own mirror, present, read-only,
 * not copy-on-write: the first touch of a page the host mapped read-only.
 * With @make_writable, it is made writable (the host's mapping is now). */
bool dune_vm_mirror_ro(uintptr_t va, bool make_writable)
{
	uintptr_t pa = dune_va_to_pa((void *)PGADDR(va));
	ptent_t *pte;
	bool ro;

	if (pa == ~0UL || !pgroot)
		return false;
	pthread_mutex_lock(&vm_lock);
	ro = !lookup(pgroot, va, CREATE_NONE, &pte, NULL) && (*pte & PTE_P) &&
	     !(*pte & (PTE_W | PTE_COW | PTE_PS)) && PTE_ADDR(*pte) == pa;
	if (ro && make_writable)
		*pte |= PTE_W;
	pthread_mutex_unlock(&vm_lock);
	if (ro && make_writable)
		flush_tlb_one(va);
	return ro;
}

/* mirror_range() of [start, end) but the pool, which has its own big pages. */
static int mirror_outside_pool(ptent_t *root, uintptr_t start, uintptr_t end, ptent_t flags,
			       unsigned int wflags)
{
	uintptr_t ps = dune_page_base_va, pe = ps + dune_pool_map_len;
	int r = 0;

	if (end <= ps || start >= pe)
		return mirror_range(root, start, end, flags, false, wflags);
	if (start < ps)
		r = mirror_range(root, start, ps, flags, false, wflags);
	if (!r && end > pe)
		r = mirror_range(root, pe, end, flags, false, wflags);
	return r;
}

struct mirror_arg {
	ptent_t *root;
	unsigned int wflags;
};

static int mirror_entry(const struct dune_procmap_entry *e, void *arg)
{
	const struct mirror_arg *a = arg;
	ptent_t flags = PTE_P;

	if (!e->r && !e->x)
		return 0;
	/* Special mappings the kernel module cannot mirror. */
	if (e->type == PROCMAP_TYPE_VSYSCALL || e->type == PROCMAP_TYPE_VVAR)
		return 0;
	if (e->w)
		flags |= PTE_W;
	if (!e->x)
		flags |= PTE_NX;
	return mirror_outside_pool(a->root, e->begin, e->end, flags, a->wflags);
}

/*
 * Mirror every readable or executable mapping of /proc/self/maps (with
 * WALK_FILL in @wflags: where @root has nothing yet).  Read with open/read
 * and parsed by hand (procmap.c), not stdio and sscanf, which cost a Dune
 * process's startup about 60000 instructions for a dozen lines
 * (dune-bench's startup row on Bochs).
 */
static int mirror_maps(ptent_t *root, unsigned int wflags)
{
	struct mirror_arg a = { root, wflags };

	return dune_procmap_scan(mirror_entry, &a);
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
	pgroot = table_alloc();
	if (!pgroot)
		return -ENOMEM;
	/* 2 MiB pages when the pool allows (it is allocated so): 512 entries
	 * per GiB instead of 262144, which makes dune_init fast in emulators. */
	if (!(dune_page_base_va & BIG_PGMASK) && !(dune_page_base & BIG_PGMASK) &&
	    !(dune_pool_map_len & BIG_PGMASK))
		r = dune_vm_map_phys(pgroot, (void *)dune_page_base_va, dune_pool_map_len,
				     (void *)dune_page_base, PERM_R | PERM_W | PERM_BIG);
	else
		r = mirror_range(pgroot, dune_page_base_va,
				 dune_page_base_va + dune_pool_map_len,
				 PTE_P | PTE_W | PTE_NX, true, 0);
	if (!r)
		r = mirror_maps(pgroot, 0);
	return r;
}
