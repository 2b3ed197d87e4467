// SPDX-License-Identifier: GPL-2.0
/*
 * Fewer nested faults for memory the host already maps: a 2 MiB nested
 * page where the host maps the address with a 2 MiB (THP, hugetlbfs) or
 * 1 GiB page, and, for a 4K fault, the present neighbours in the same 64K
 * block (the kernel's default fault_around_bytes).  Both follow the rules
 * of the 4K path in vm.c: never more rights than the process has, and
 * installed under vm->lock only if no MMU-notifier invalidation ran since
 * the fault began (invalidate_seq), so a nested translation never outlives
 * the host mapping it was taken from.
 */
#define pr_fmt(fmt) "dune: " fmt

#include <linux/mm.h>
#include <linux/pgtable.h>
#include <linux/io.h>

#include "hv.h"
#include "npt.h"
#include "vm.h"

#define HUGE_SIZE	(1ULL << 21)
#define HUGE_MASK	(~(HUGE_SIZE - 1))

/*
 * The 2M-aligned PFN of the host's 2M (or 1G) page mapping @hva, 0 if it
 * is mapped at 4K.  Walked with interrupts off as GUP-fast and KVM's
 * host_pfn_mapping_level() do: page tables are freed only after an IPI or
 * an RCU-sched grace period.  The answer may be stale at once; the caller
 * trusts it only under vm->lock with invalidate_seq unchanged, since
 * splitting, collapsing, migrating or write-protecting a huge page invalidates
 * its range through the MMU notifier first.
 */
static unsigned long host_huge_pfn(struct mm_struct *mm, u64 hva, bool *writable)
{
	unsigned long flags, pfn = 0;
	pgd_t pgd;
	p4d_t p4d;
	pud_t pud;
	pmd_t pmd;

	local_irq_save(flags);
	pgd = READ_ONCE(*pgd_offset(mm, hva));
	if (pgd_none(pgd) || !pgd_present(pgd))
		goto out;
	p4d = READ_ONCE(*p4d_offset(&pgd, hva));
	if (p4d_none(p4d) || !p4d_present(p4d))
		goto out;
	pud = READ_ONCE(*pud_offset(&p4d, hva));
	if (pud_none(pud) || !pud_present(pud))
		goto out;
	if (pud_leaf(pud)) {
		pfn = pud_pfn(pud) + ((hva & ~PUD_MASK & HUGE_MASK) >> PAGE_SHIFT);
		*writable = pud_write(pud);
		goto out;
	}
	pmd = READ_ONCE(*pmd_offset(&pud, hva));
	if (pmd_present(pmd) && pmd_leaf(pmd)) {
		pfn = pmd_pfn(pmd);
		*writable = pmd_write(pmd);
	}
out:
	local_irq_restore(flags);
	return pfn;
}

/*
 * Can [gpa, gpa + 2M) be one nested page for [hva, hva + 2M)?  Both
 * aligned alike, inside one VMA (one protection for the whole range) and
 * inside one window of the layout.
 */
static bool huge_range_ok(struct dune_vm *vm, u64 gpa2m, u64 hva2m, u64 vma_start, u64 vma_end)
{
	if (!(dune_caps.features & DUNE_FEAT_NESTED_2M))
		return false;
	if (hva2m < vma_start || hva2m + HUGE_SIZE > vma_end)
		return false;
	return dune_gpa_to_hva(&vm->layout, gpa2m) == hva2m &&
	       dune_gpa_to_hva(&vm->layout, gpa2m + HUGE_SIZE - 1) == hva2m + HUGE_SIZE - 1;
}

/**
 * dune_vm_map_huge - map @gpa's 2M range at once if the host allows it.
 * @vm:		the VM.
 * @gpa:	the faulting guest-physical address.
 * @hva:	the page of the process that @gpa mirrors.
 * @pfn:	the 4K page the fault path took a reference on for @hva.
 * @prot:	the rights the 4K path would give (W only on a write fault).
 * @seq:	invalidate_seq when the fault began.
 * @vma_start:	start of @hva's VMA.
 * @vma_end:	end of @hva's VMA.
 *
 * Returns true when the 2M nested page is in place (the guest may retry),
 * false when the fault goes on at 4K.
 */
bool dune_vm_map_huge(struct dune_vm *vm, u64 gpa, u64 hva, unsigned long pfn,
		      unsigned int prot, u64 vma_start, u64 vma_end, unsigned long seq)
{
	u64 gpa2m = gpa & HUGE_MASK, hva2m = hva & HUGE_MASK;
	bool writable = false, done = false;
	unsigned long pfn2m;

	if (current->mm != vm->mm ||
	    (gpa & ~HUGE_MASK & PAGE_MASK) != (hva & ~HUGE_MASK) ||
	    !huge_range_ok(vm, gpa2m, hva2m, vma_start, vma_end))
		return false;
	pfn2m = host_huge_pfn(current->mm, hva, &writable);
	/* The same page the fault took, and write access only if the host gives it. */
	if (!pfn2m || pfn2m + ((hva & ~HUGE_MASK) >> PAGE_SHIFT) != pfn ||
	    ((prot & DUNE_NPT_W) && !writable) || !pfn_valid(pfn2m))
		return false;
	spin_lock(&vm->lock);
	if (!dune_vm_must_retry(vm, seq, hva2m, HUGE_SIZE))
		done = dune_npt_map(vm, gpa2m, PFN_PHYS(pfn2m), prot, 1) == 0;
	spin_unlock(&vm->lock);
	return done;
}

/* May fault-around take the page at @a (guest-physical @g)? */
static bool around_ok(struct dune_vm *vm, u64 a, u64 g, u64 hva, u64 vma_start, u64 vma_end)
{
	return a != hva && a >= vma_start && a < vma_end && dune_gpa_to_hva(&vm->layout, g) == a;
}

/*
 * Take the run of pages from @a on (@step +1 or -1, at most @max of them)
 * that fault-around may map, with one GUP-fast call (one walk of the
 * host's tables): it stops at the first page it cannot take.
 */
static void around_run(struct dune_vm *vm, struct vm_fault_around *fa, u64 a, int step,
		       int max, u64 delta, u64 hva, unsigned int gup, u64 vma_start, u64 vma_end)
{
	int run, got, k;

	for (run = 0; run < max; run++) {
		u64 r = a + (s64)step * run * PAGE_SIZE;

		if (!around_ok(vm, r, r + delta, hva, vma_start, vma_end))
			break;
	}
	if (!run)
		return;
	if (step < 0)
		a -= (u64)(run - 1) * PAGE_SIZE;	/* GUP goes upwards */
	got = get_user_pages_fast_only(a, run, gup, fa->page + fa->n);
	if (got <= 0)
		return;
	for (k = 0; k < got; k++)
		fa->gpa[fa->n + k] = a + (u64)k * PAGE_SIZE + delta;
	fa->n += got;
}

/**
 * dune_vm_fault_around_get - take references on the present neighbours of
 * @hva in its 64K block that lie in the same VMA and layout window, with
 * the rights @prot asks for (GUP-fast only: nothing is faulted in, a page
 * that is absent or, for a write, not writable is left for its own fault).
 * One GUP-fast call upwards from @hva and one downwards, each stopping at
 * the first page it cannot take: probing every absent page with a call of
 * its own cost about 2600 instructions per fault on the intel machine.
 * @vm:		the VM.
 * @fa:		filled with the pages and their guest-physical addresses.
 * @gpa:	the faulting guest-physical address.
 * @hva:	the page of the process that @gpa mirrors.
 * @prot:	the rights the fault asks for (DUNE_NPT_*).
 * @vma_start:	start of @hva's VMA.
 * @vma_end:	end of @hva's VMA.
 */
void dune_vm_fault_around_get(struct dune_vm *vm, struct vm_fault_around *fa, u64 gpa,
			      u64 hva, unsigned int prot, u64 vma_start, u64 vma_end)
{
	u64 block = hva & ~((u64)DUNE_FAULT_AROUND * PAGE_SIZE - 1);
	/* The fault's page: @gpa carries the access's offset into it. */
	u64 delta = (gpa & PAGE_MASK) - hva;
	unsigned int gup = (prot & DUNE_NPT_W) ? FOLL_WRITE : 0;
	int idx = (hva - block) >> PAGE_SHIFT;

	fa->n = 0;
	if (current->mm != vm->mm)
		return;
	around_run(vm, fa, hva + PAGE_SIZE, 1, DUNE_FAULT_AROUND - 1 - idx, delta, hva, gup,
		   vma_start, vma_end);
	around_run(vm, fa, hva - PAGE_SIZE, -1, idx, delta, hva, gup, vma_start, vma_end);
}

void dune_vm_fault_around_put(struct vm_fault_around *fa)
{
	int i;

	for (i = 0; i < fa->n; i++)
		put_page(fa->page[i]);
	fa->n = 0;
}
