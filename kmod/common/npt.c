// SPDX-License-Identifier: GPL-2.0
/*
 * The nested page table (EPT or NPT): one 4-level radix tree per process,
 * shared by both vendors.  Backends only supply the entry bit masks
 * (struct dune_npt_format).  Callers hold vm->lock, except for freeing.
 */
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>

#include "hv.h"
#include "npt.h"

#define NPT_LEVELS	4
#define NPT_ENTRIES	512
#define NPT_ADDR_MASK	0x000ffffffffff000ULL

static inline unsigned int npt_index(u64 gpa, int level)
{
	return (gpa >> (12 + 9 * level)) & (NPT_ENTRIES - 1);
}

static inline bool npt_present(u64 e)
{
	return e & dune_hv->npt->present;
}

static inline u64 *npt_table(u64 e)
{
	return __va(e & NPT_ADDR_MASK);
}

/* A 2 MiB (level 1) leaf rather than a table below it. */
static inline bool npt_huge(u64 e, int level)
{
	return level == 1 && (e & dune_hv->npt->large);
}

int dune_npt_alloc_root(struct dune_vm *vm)
{
	struct page *pg = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);

	if (!pg)
		return -ENOMEM;
	INIT_LIST_HEAD(&vm->npt_tables);
	list_add(&pg->lru, &vm->npt_tables);
	vm->root = page_address(pg);
	vm->root_pa = page_to_phys(pg);
	return 0;
}

/*
 * Walk to the entry for @gpa at @target (0: 4K, 1: 2M), allocating tables
 * on the way from *@spare.  A 2M leaf on the way to a 4K entry is replaced
 * by a table of its own (the rest of its range faults in again at 4K; the
 * leaf's translations were valid, so other CPUs may keep using them until
 * they miss).  NULL when a table is needed and *@spare is empty.
 */
static u64 *npt_walk_alloc(struct dune_vm *vm, u64 gpa, int target, struct page **spare)
{
	u64 *table = vm->root;
	int level;

	for (level = NPT_LEVELS - 1; level > target; level--) {
		u64 *e = &table[npt_index(gpa, level)];

		if (!npt_present(*e) || npt_huge(*e, level)) {
			if (!*spare)
				return NULL;
			if (npt_present(*e))
				atomic64_sub(NPT_ENTRIES, &vm->nr_pages);
			WRITE_ONCE(*e, page_to_phys(*spare) | dune_hv->npt->table);
			list_add(&(*spare)->lru, &vm->npt_tables);
			*spare = NULL;
		}
		table = npt_table(*e);
	}
	return &table[npt_index(gpa, target)];
}

static u64 npt_leaf(u64 hpa, unsigned int prot)
{
	const struct dune_npt_format *f = dune_hv->npt;
	u64 e = (hpa & NPT_ADDR_MASK) | f->leaf | f->read;

	if (prot & DUNE_NPT_W)
		e |= f->write;
	if (prot & DUNE_NPT_X)
		e |= f->exec;
	else
		e |= f->nx;
	return e;
}

/**
 * dune_npt_map - install a translation @gpa -> @hpa of 4K (@level 0) or
 * 2M (@level 1; both addresses 2M-aligned, the CPU has 2M nested pages).
 * @vm:		the VM.
 * @gpa:	guest-physical address.
 * @hpa:	host-physical address.
 * @prot:	DUNE_NPT_* rights.
 * @level:	0 for 4K, 1 for 2M.
 *
 * Called with vm->lock held (a spinlock), so table pages come one spare
 * at a time from GFP_ATOMIC.  A 2M leaf is not put where a table already
 * is: freeing that table could pull it from under another CPU's page walk,
 * so its range stays mapped at 4K.  Returns 0, -ESHUTDOWN (a retired VM),
 * -EEXIST (2M refused that way: map 4K instead) or -ENOMEM.
 */
int dune_npt_map(struct dune_vm *vm, u64 gpa, u64 hpa, unsigned int prot, int level)
{
	struct page *spare = NULL;
	u64 *pte, leaf = npt_leaf(hpa, prot);

	/* No MMU notifier any more (dune_vm_retire): nothing could unmap it. */
	if (vm->retired)
		return -ESHUTDOWN;
	for (;;) {
		pte = npt_walk_alloc(vm, gpa, level, &spare);
		if (pte)
			break;
		spare = alloc_page(GFP_ATOMIC | __GFP_ACCOUNT | __GFP_ZERO);
		if (!spare)
			return -ENOMEM;
	}
	if (spare)
		__free_page(spare);
	if (level == 1) {
		if (npt_present(*pte) && !npt_huge(*pte, 1))
			return -EEXIST;
		leaf |= dune_hv->npt->large;
	}
	if (!npt_present(*pte))
		atomic64_add(level ? NPT_ENTRIES : 1, &vm->nr_pages);
	WRITE_ONCE(*pte, leaf);
	return 0;
}

/**
 * dune_npt_fill - map at 4K those of @n pages (@gpa[i] -> @pages[i]) that
 * have no translation yet (or a read-only one of the same page, when
 * @prot adds write), in the 4K table that holds @anchor's: the
 * neighbours fault-around took (vm_huge.c), with one walk for the lot
 * rather than two per page.  Pages outside that table's 2M range are left
 * for their own faults.  Called with vm->lock held, right after
 * dune_npt_map() mapped @anchor at 4K (so the VM is not retired and the
 * table exists).
 * @vm:		the VM.
 * @anchor:	a guest-physical address mapped at 4K.
 * @gpa:	the pages' guest-physical addresses.
 * @pages:	the host pages (the caller holds references).
 * @n:		how many.
 * @prot:	DUNE_NPT_* rights for all of them.
 */
void dune_npt_fill(struct dune_vm *vm, u64 anchor, const u64 *gpa, struct page *const *pages,
		   int n, unsigned int prot)
{
	struct page *none = NULL;
	u64 *table, *pte;
	int i;

	/* No spare page: this only finds the table, never builds one. */
	pte = npt_walk_alloc(vm, anchor, 0, &none);
	if (WARN_ON_ONCE(!pte))
		return;
	table = pte - npt_index(anchor, 0);
	for (i = 0; i < n; i++) {
		u64 leaf = npt_leaf(page_to_phys(pages[i]), prot);

		if ((gpa[i] ^ anchor) >> (PAGE_SHIFT + 9))
			continue;
		pte = &table[npt_index(gpa[i], 0)];
		if (npt_present(*pte)) {
			/*
			 * The same page, read-only so far, that this write
			 * fault took writable: upgrade it (no flush: a stale
			 * read-only translation only faults again).
			 */
			if ((*pte & NPT_ADDR_MASK) == (leaf & NPT_ADDR_MASK) &&
			    !(*pte & dune_hv->npt->write) && (leaf & dune_hv->npt->write))
				WRITE_ONCE(*pte, leaf);
			continue;
		}
		atomic64_inc(&vm->nr_pages);
		WRITE_ONCE(*pte, leaf);
	}
}

/*
 * Only the entries that overlap [start, end) are visited (the caller
 * guarantees an overlap with this table's range): scanning all 512 at
 * every level cost about 20000 instructions per MMU-notifier
 * invalidation, even of one page, on the intel machine.
 */
static unsigned long npt_clear(u64 *table, int level, u64 base, u64 start, u64 end)
{
	unsigned int shift = 12 + 9 * level;
	u64 span = 1ULL << shift;
	unsigned long cleared = 0;
	unsigned int i, first, last;

	first = start > base ? (start - base) >> shift : 0;
	last = min_t(u64, (end - 1 - base) >> shift, NPT_ENTRIES - 1);
	for (i = first; i <= last; i++) {
		u64 lo = base + i * span;

		if (!npt_present(table[i]))
			continue;
		if (level == 0) {
			WRITE_ONCE(table[i], 0);
			cleared++;
		} else if (npt_huge(table[i], level)) {
			/* Any overlap drops the whole 2M leaf: the rest faults in again. */
			WRITE_ONCE(table[i], 0);
			cleared += NPT_ENTRIES;
		} else {
			cleared += npt_clear(npt_table(table[i]), level - 1, lo, start, end);
		}
	}
	return cleared;
}

/* Remove leaves in [start, end); tables stay until the VM is freed. */
unsigned long dune_npt_unmap_range(struct dune_vm *vm, u64 start, u64 end)
{
	unsigned long n;

	if (!vm->root || start >= end)
		return 0;
	n = npt_clear(vm->root, NPT_LEVELS - 1, 0, start, end);
	atomic64_sub(n, &vm->nr_pages);
	return n;
}

void dune_npt_free(struct dune_vm *vm)
{
	struct page *pg, *tmp;

	if (!vm->root)
		return;
	/*
	 * Tables are never freed one by one (dune_npt_unmap_range() leaves
	 * them), so the list has them all: no walk of 512 entries per table,
	 * about 36000 instructions of every Dune process's exit on the intel
	 * machine.
	 */
	list_for_each_entry_safe(pg, tmp, &vm->npt_tables, lru)
		__free_page(pg);
	INIT_LIST_HEAD(&vm->npt_tables);
	vm->root = NULL;
	atomic64_set(&vm->nr_pages, 0);
}
