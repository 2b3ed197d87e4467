// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The process's own memory in guest page tables: each page mapped to its
 * guest-physical mirror (the layout the module gives, kmod/common/layout.c),
 * at dune_init from /proc/self/maps and later on demand.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "internal.h"
#include "vm_internal.h"
#include "../kmod/common/layout.h"

/*
 * The first address above @va at which the mirror may stop being linear:
 * an edge of the layout's windows (kmod/common/layout.c: the mmap and
 * stack windows, the end of the 1:1 part), or UINTPTR_MAX.
 */
static uintptr_t linear_end(uintptr_t va)
{
	const struct dune_layout *l = &dune_layout_cache;
	const uintptr_t edge[] = { l->mmap_base, l->mmap_base + l->map_size, l->stack_base,
				   l->stack_base + l->stack_size, l->base_limit };
	uintptr_t e = UINTPTR_MAX;
	size_t i;

	for (i = 0; i < sizeof(edge) / sizeof(edge[0]); i++)
		if (edge[i] > va && edge[i] < e)
			e = edge[i];
	return e;
}

/*
 * Map [start, end) to its guest-physical mirror with @flags, one walk per
 * piece where the mirror is linear (translating page by page cost every
 * dune_init about 35 instructions a page); pages without a mirror are
 * skipped, or make it fail with -EFAULT when @strict.  With WALK_FILL in
 * @wflags, pages already mapped in @root keep their leaves.
 */
int dvm_mirror_range(ptent_t *root, uintptr_t start, uintptr_t end, ptent_t flags,
			bool strict, unsigned int wflags)
{
	struct map_walk m;
	uintptr_t va, to, pa;
	int r = 0, missing = 0;

	for (va = PGADDR(start); va < end && !r; va = to) {
		to = linear_end(va);
		if (to > end)
			to = end;
		to = PGADDR(to + PGSIZE - 1);
		pa = dune_va_to_pa((void *)va);
		if (pa == ~0UL) {
			missing = 1;
			continue;
		}
		m = (struct map_walk){ .w = { .create = 0, .flags = wflags, .fn = dvm_map_phys_fn },
				       .flags = flags, .va = va, .pa = pa };
		r = dvm_map_range(root, &m, va, to - 1);
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
	if (!dvm_page_range(p, len, &start, &end))
		return 0;
	return dvm_mirror_range(pgroot, start, PGADDR(end) + PGSIZE, PTE_P | PTE_W | PTE_NX, true, 0);
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
	pthread_mutex_lock(&dvm_lock);
	r = dvm_lookup(root, va, CREATE_NORMAL, &pte, NULL);
	if (!r && !(*pte & PTE_P)) {
		if (*pte)
			r = -EEXIST;
		else
			*pte = pa | flags;
	}
	pthread_mutex_unlock(&dvm_lock);
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
	pthread_mutex_lock(&dvm_lock);
	ro = !dvm_lookup(pgroot, va, CREATE_NONE, &pte, NULL) && (*pte & PTE_P) &&
	     !(*pte & (PTE_W | PTE_COW | PTE_PS)) && PTE_ADDR(*pte) == pa;
	if (ro && make_writable)
		*pte |= PTE_W;
	pthread_mutex_unlock(&dvm_lock);
	if (ro && make_writable)
		dvm_flush_tlb_one(va);
	return ro;
}

/* dvm_mirror_range() of [start, end) but the pool, which has its own big pages. */
static int mirror_outside_pool(ptent_t *root, uintptr_t start, uintptr_t end, ptent_t flags,
			       unsigned int wflags)
{
	uintptr_t ps = dune_page_base_va, pe = ps + dune_pool_map_len;
	int r = 0;

	if (end <= ps || start >= pe)
		return dvm_mirror_range(root, start, end, flags, false, wflags);
	if (start < ps)
		r = dvm_mirror_range(root, start, ps, flags, false, wflags);
	if (!r && end > pe)
		r = dvm_mirror_range(root, pe, end, flags, false, wflags);
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
 * Mirror every readable or executable mapping of the process (with
 * WALK_FILL in @wflags: where @root has nothing yet).  The mappings come
 * from the module in binary (vmas.c; /proc/self/maps, parsed by hand, if
 * it cannot tell): the text file cost a new Dune process about 65000
 * instructions on Bochs (dune-bench's startup row).
 */
int dvm_mirror_maps(ptent_t *root, unsigned int wflags)
{
	struct mirror_arg a = { root, wflags };

	return dune_vmas_scan(mirror_entry, &a);
}
