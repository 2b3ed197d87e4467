// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Whole guest page-table trees: clone and free, and the range walks the
 * API offers over them (dune_vm_page_walk, dune_vm_clear_ad).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "internal.h"
#include "vm_internal.h"

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
		t = dvm_table_alloc();
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
		r = dvm_mirror_maps(pgroot, WALK_FILL);
		if (r) {
			errno = -r;
			return NULL;
		}
	}
	copy = dvm_table_alloc();
	if (!copy)
		return NULL;
	pthread_mutex_lock(&dvm_lock);
	r = tree_copy(copy, root, 3);
	if (r)
		dvm_tree_free(copy, 3, NULL);
	pthread_mutex_unlock(&dvm_lock);
	return r ? NULL : copy;
}

/* Free @root's tables, @root included, dropping the references of its
 * leaves.  @root must not be in use (no TLB flush). */
void dune_vm_free(ptent_t *root)
{
	pthread_mutex_lock(&dvm_lock);
	dvm_tree_free(root, 3, NULL);
	pthread_mutex_unlock(&dvm_lock);
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
	pthread_mutex_lock(&dvm_lock);
	r = dvm_walk_range(root, &c.w, (uintptr_t)start_va, (uintptr_t)end_va);
	dvm_walk_done(&c.w);
	pthread_mutex_unlock(&dvm_lock);
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
	if (!dvm_page_range(va, len, &start, &end))
		return 0;
	pthread_mutex_lock(&dvm_lock);
	dvm_walk_range(root, &a.w, start, end);
	dvm_walk_done(&a.w);
	pthread_mutex_unlock(&dvm_lock);
	return a.count;
}
