// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Copy-on-write in guest page tables (PTE_COW leaves, as dune_vm_mprotect()
 * with PERM_COW makes them), and libdune's default page-fault handler that
 * resolves it together with demand faults on process memory.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "internal.h"
#include "vm_internal.h"

/* @va's copy-on-write leaf, made 4K (a write copies one 4K page); NULL
 * when there is none. */
static int lookup_cow(ptent_t *root, uintptr_t va, ptent_t **pte)
{
	int level, r = dvm_lookup(root, va, CREATE_NONE, pte, &level);

	if (r || (**pte & (PTE_P | PTE_COW)) != (PTE_P | PTE_COW)) {
		*pte = NULL;
		return r == -ENOENT ? 0 : r;
	}
	for (; level > 0; level--) {
		r = dvm_split_leaf(*pte, level);
		if (r)
			return r;
		dvm_flush_tlb();
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

	pthread_mutex_lock(&dvm_lock);
	r = lookup_cow(root, va, &pte);
	if (r || !pte) {
		pthread_mutex_unlock(&dvm_lock);
		return r;
	}
	e = *pte;
	if ((e & PTE_PAGEREF) && dune_page_isfrompool(PTE_ADDR(e))) {
		old = dune_pa2page(PTE_ADDR(e));
		if (__atomic_load_n(&old->ref, __ATOMIC_ACQUIRE) == 1) {
			/* The last sharer: write in place. */
			*pte = (e & ~(ptent_t)PTE_COW) | PTE_W;
			pthread_mutex_unlock(&dvm_lock);
			dvm_flush_tlb_one(va);
			return 0;
		}
		dune_page_get(old);	/* keeps the source alive while copying */
	}
	pthread_mutex_unlock(&dvm_lock);

	copy = dune_page_alloc();
	if (copy)
		memcpy(dune_page2va(copy), (void *)dune_pa_to_va(PTE_ADDR(e)), PGSIZE);

	pthread_mutex_lock(&dvm_lock);
	r = copy ? lookup_cow(root, va, &pte) : -ENOMEM;
	if (!r && pte && *pte == e) {
		*pte = dune_page2pa(copy) | (PTE_FLAGS(e) & ~(ptent_t)PTE_COW) | PTE_W |
		       PTE_PAGEREF;
		dvm_leaf_put(e, 0);
		copy = NULL;
	}
	pthread_mutex_unlock(&dvm_lock);
	if (copy)
		dune_page_put(copy);
	if (old)
		dune_page_put(old);
	dvm_flush_tlb_one(va);
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

/*
 * For the report of an unhandled fault: the entries a walk of the loaded
 * tree meets for @va, read without dvm_lock (the fault may have
 * interrupted its holder), so a racing change may show half done.
 */
void dvm_print_walk(uintptr_t va)
{
	ptent_t *t = dune_vm_current_root(), e = 0;
	int level;

	dune_printf("dune: page walk of %#lx (%s):", va, t == pgroot ? "pgroot" : "another root");
	for (level = 3; level >= 0 && t; level--) {
		e = t[PDX(level, va)];
		dune_printf(" %#lx", (unsigned long)e);
		t = is_table(e, level) ? table_of(e) : NULL;
		if (t == (ptent_t *)~0UL)
			t = NULL;	/* no table of the process's memory */
	}
	dune_printf("\n");
}

void dune_vm_default_pgflt_handler(uintptr_t addr, uint64_t fec)
{
	if (dune_vm_resolve_fault(addr, fec) == 0)
		return;
	/* Returning would fault again forever: end it as Linux would. */
	dune_printf("dune: unhandled page fault at %#lx (error code %#lx)\n", addr,
		    (unsigned long)fec);
	dvm_print_walk(addr);
	dune_die_signal(SIGSEGV);
}
