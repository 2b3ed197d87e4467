/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What vm.c, vm_tree.c, vm_cow.c and vm_mirror.c share: entry helpers, the range
 * walker and the lock around every page-table edit (vm.c explains them).
 * Not part of libdune's API; the functions are hidden from the shared
 * library and prefixed so a static link cannot clash with a program's own.
 */
#ifndef LIBDUNE_VM_INTERNAL_H
#define LIBDUNE_VM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define VM_HIDDEN __attribute__((visibility("hidden")))

/* Software bit: ignored by the CPU in every paging-structure entry (SDM
 * Vol. 3A Tables 4-15..4-20, bits 58:52; APM Vol. 2 5.4.1 "available"). */
#define PTE_PAGEREF	(UINT64(1) << 52)

#define VA_BITS		48
#define VA_MASK		((UINT64(1) << VA_BITS) - 1)
#define PA_LIMIT	(UINT64(1) << 52)	/* MAXPHYADDR is at most 52 */
#define PERM_BIGS	(PERM_BIG | PERM_BIG_1GB)

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

struct map_walk {
	struct walk w;
	ptent_t flags;
	uintptr_t va;		/* first leaf's address (48-bit) */
	physaddr_t pa;		/* what it maps */
	struct page *pg;	/* dune_vm_insert_page(): its reference */
};

static inline void *canonical(uintptr_t va)
{
	return (void *)(uintptr_t)((int64_t)(va << (64 - VA_BITS)) >> (64 - VA_BITS));
}

extern pthread_mutex_t dvm_lock VM_HIDDEN;

ptent_t *dvm_table_alloc(void) VM_HIDDEN;
void dvm_tree_free(ptent_t *t, int level, struct page_head *dead) VM_HIDDEN;
int dvm_walk_range(ptent_t *root, struct walk *w, uintptr_t start, uintptr_t end) VM_HIDDEN;
void dvm_walk_done(struct walk *w) VM_HIDDEN;
int dvm_lookup(ptent_t *root, uintptr_t va, int create, ptent_t **out, int *out_level) VM_HIDDEN;
int dvm_split_leaf(ptent_t *pte, int level) VM_HIDDEN;
void dvm_leaf_put(ptent_t e, int level) VM_HIDDEN;
void dvm_flush_tlb(void) VM_HIDDEN;
void dvm_print_walk(uintptr_t va) VM_HIDDEN;
void dvm_flush_tlb_one(uintptr_t va) VM_HIDDEN;
bool dvm_page_range(const void *va, size_t len, uintptr_t *start, uintptr_t *end) VM_HIDDEN;
int dvm_map_phys_fn(struct walk *w, ptent_t *pte, int level, uintptr_t va) VM_HIDDEN;
int dvm_map_range(ptent_t *root, struct map_walk *m, uintptr_t start, uintptr_t end) VM_HIDDEN;

/* vm_mirror.c */
int dvm_mirror_range(ptent_t *root, uintptr_t start, uintptr_t end, ptent_t flags, bool strict,
		     unsigned int wflags) VM_HIDDEN;
int dvm_mirror_maps(ptent_t *root, unsigned int wflags) VM_HIDDEN;

#endif
