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

int dune_npt_alloc_root(struct dune_vm *vm)
{
	struct page *pg = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);

	if (!pg)
		return -ENOMEM;
	vm->root = page_address(pg);
	vm->root_pa = page_to_phys(pg);
	return 0;
}

/* Walk to the level-0 table for @gpa, allocating tables on the way. */
static u64 *npt_walk_alloc(struct dune_vm *vm, u64 gpa, struct page **spare)
{
	u64 *table = vm->root;
	int level;

	for (level = NPT_LEVELS - 1; level > 0; level--) {
		u64 *e = &table[npt_index(gpa, level)];

		if (!npt_present(*e)) {
			if (!*spare)
				return NULL;
			*e = page_to_phys(*spare) | dune_hv->npt->table;
			*spare = NULL;
		}
		table = npt_table(*e);
	}
	return &table[npt_index(gpa, 0)];
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
 * dune_npt_map - install a 4K translation @gpa -> @hpa.
 *
 * Called with vm->lock held (a spinlock), so page-table pages are allocated
 * before taking it would be nicer; instead we allocate one spare page at a
 * time with GFP_ATOMIC and retry.  Returns 0, or -ENOMEM.
 */
int dune_npt_map(struct dune_vm *vm, u64 gpa, u64 hpa, unsigned int prot)
{
	struct page *spare = NULL;
	u64 *pte;

	for (;;) {
		pte = npt_walk_alloc(vm, gpa, &spare);
		if (pte)
			break;
		spare = alloc_page(GFP_ATOMIC | __GFP_ACCOUNT | __GFP_ZERO);
		if (!spare)
			return -ENOMEM;
	}
	if (spare)
		__free_page(spare);
	if (!npt_present(*pte))
		atomic64_inc(&vm->nr_pages);
	WRITE_ONCE(*pte, npt_leaf(hpa, prot));
	return 0;
}

static unsigned long npt_clear(u64 *table, int level, u64 base, u64 start, u64 end)
{
	u64 span = 1ULL << (12 + 9 * level);
	unsigned long cleared = 0;
	unsigned int i;

	for (i = 0; i < NPT_ENTRIES; i++) {
		u64 lo = base + i * span, hi = lo + span;

		if (hi <= start || lo >= end || !npt_present(table[i]))
			continue;
		if (level == 0) {
			WRITE_ONCE(table[i], 0);
			cleared++;
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

static void npt_free_table(u64 *table, int level)
{
	unsigned int i;

	if (level > 0) {
		for (i = 0; i < NPT_ENTRIES; i++)
			if (npt_present(table[i]))
				npt_free_table(npt_table(table[i]), level - 1);
	}
	free_page((unsigned long)table);
}

void dune_npt_free(struct dune_vm *vm)
{
	if (!vm->root)
		return;
	npt_free_table(vm->root, NPT_LEVELS - 1);
	vm->root = NULL;
	atomic64_set(&vm->nr_pages, 0);
}
