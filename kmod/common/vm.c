// SPDX-License-Identifier: GPL-2.0
/*
 * A process's guest-physical address space: the layout that maps guest-
 * physical addresses to the process's virtual addresses, faulting host
 * pages into the nested page table with the process's own permissions, and
 * keeping it coherent with the host page tables through an MMU notifier.
 */
#define pr_fmt(fmt) "dune: " fmt

#include <linux/io.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/smp.h>

#include "compat.h"
#include "hv.h"
#include "npt.h"
#include "vm.h"

/* The CPUs that must be kicked after an invalidation. */
void dune_vm_note_cpu(struct dune_vm *vm, int cpu)
{
	if (!cpumask_test_cpu(cpu, vm->running))
		cpumask_set_cpu(cpu, vm->running);
}

static void vm_kick_noop(void *unused)
{
}

/*
 * After clearing nested entries: every vCPU must drop cached translations
 * before it runs again (tlb_gen, checked with interrupts off right before
 * entry), and a vCPU inside the guest now is forced out by the IPI, which
 * completes only after that CPU has left the guest.
 */
static void vm_flush(struct dune_vm *vm)
{
	atomic64_inc(&vm->tlb_gen);
	preempt_disable();
	smp_call_function_many(vm->running, vm_kick_noop, NULL, true);
	preempt_enable();
}

static void vm_unmap_hva(struct dune_vm *vm, u64 start, u64 end)
{
	const struct dune_layout *l = &vm->layout;
	unsigned long n = 0;

	/* The 1:1 window. */
	if (start < l->base_limit)
		n += dune_npt_unmap_range(vm, start, min(end, l->base_limit));
	/* The mmap and stack windows. */
	if (end > l->mmap_base && start < l->mmap_base + l->map_size)
		n += dune_npt_unmap_range(vm,
			max(start, l->mmap_base) - l->mmap_base + l->gpa_map_base,
			min(end, l->mmap_base + l->map_size) - l->mmap_base + l->gpa_map_base);
	if (end > l->stack_base && start < l->stack_base + l->stack_size)
		n += dune_npt_unmap_range(vm,
			max(start, l->stack_base) - l->stack_base + l->gpa_stack_base,
			min(end, l->stack_base + l->stack_size) - l->stack_base +
			l->gpa_stack_base);
	if (n) {
		spin_unlock(&vm->lock);
		vm_flush(vm);
		spin_lock(&vm->lock);
	}
}

static int vm_invalidate_start(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct dune_vm *vm = container_of(mn, struct dune_vm, mn);

	spin_lock(&vm->lock);
	/* The union of the ranges in progress, as KVM's mmu_invalidate_begin. */
	if (!vm->invalidate_in_progress++) {
		vm->inval_start = range->start;
		vm->inval_end = range->end;
	} else {
		vm->inval_start = min_t(u64, vm->inval_start, range->start);
		vm->inval_end = max_t(u64, vm->inval_end, range->end);
	}
	vm_unmap_hva(vm, range->start, range->end);
	spin_unlock(&vm->lock);
	return 0;
}

static void vm_invalidate_end(struct mmu_notifier *mn, const struct mmu_notifier_range *range)
{
	struct dune_vm *vm = container_of(mn, struct dune_vm, mn);

	spin_lock(&vm->lock);
	vm->invalidate_seq++;
	/* An end without its start: the notifier was registered in between. */
	if (vm->invalidate_in_progress > 0)
		vm->invalidate_in_progress--;
	spin_unlock(&vm->lock);
}

/*
 * Drop every nested translation; with @retire, also refuse new ones
 * (dune_npt_map) and free the whole table tree at once: a retired VM maps
 * nothing again, and one walk that frees the tables is all it needs.
 * Clearing every leaf first walked each table's 512 entries once more,
 * about 125000 instructions of every short Dune process's exit on the
 * intel machine (dune-bench's startup row).  The tree goes only after
 * every CPU that ran a vCPU of @vm has been kicked out of the guest, and
 * run_once() refuses to enter a retired VM, so no CPU walks it after the
 * free.  False if the VM was retired already.
 */
static bool vm_zap_all(struct dune_vm *vm, bool retire)
{
	spin_lock(&vm->lock);
	if (vm->retired) {
		spin_unlock(&vm->lock);
		return false;
	}
	vm->invalidate_seq++;
	if (retire)
		WRITE_ONCE(vm->retired, true);
	else
		dune_npt_unmap_range(vm, 0, vm->layout.phys_limit);
	spin_unlock(&vm->lock);
	vm_flush(vm);
	if (retire) {
		spin_lock(&vm->lock);
		dune_npt_free(vm);
		spin_unlock(&vm->lock);
	}
	return true;
}

/*
 * The address space is going away: no task uses it, so no vCPU of the VM
 * runs or can enter again, and the VM retires with its tables.
 */
static void vm_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	vm_zap_all(container_of(mn, struct dune_vm, mn), true);
}

/* The struct goes when its users are gone and no callback can run. */
static void vm_mem_put(struct dune_vm *vm)
{
	if (!refcount_dec_and_test(&vm->mem_refs))
		return;
	free_cpumask_var(vm->running);
	kfree(vm);
}

/* The last callback has returned (an SRCU grace period after the put). */
static void vm_free_notifier(struct mmu_notifier *mn)
{
	vm_mem_put(container_of(mn, struct dune_vm, mn));
}

/*
 * Not mmu_notifier_unregister(): it waits for an SRCU grace period, which
 * every Dune process's exit then waited for.  A callback still running
 * takes vm->lock and finds no nested translation; vm_free_notifier drops
 * the notifier's hold on the struct once none can run (dune_exit waits for
 * that).
 */
static void vm_put_notifier(struct dune_vm *vm)
{
	if (atomic_xchg(&vm->notifier_put, 1) == 0)
		mmu_notifier_put(&vm->mn);
}

static const struct mmu_notifier_ops vm_mmu_notifier_ops = {
	.invalidate_range_start = vm_invalidate_start,
	.invalidate_range_end = vm_invalidate_end,
	.release = vm_release,
	.free_notifier = vm_free_notifier,
};

struct dune_vm *dune_vm_create(void)
{
	static atomic64_t last_id = ATOMIC64_INIT(0);
	struct dune_vm *vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	int r = -ENOMEM;

	if (!vm)
		return ERR_PTR(-ENOMEM);
	if (!zalloc_cpumask_var(&vm->running, GFP_KERNEL))
		goto free_vm;
	refcount_set(&vm->refs, 1);
	refcount_set(&vm->mem_refs, 2);
	vm->id = atomic64_inc_return(&last_id);
	spin_lock_init(&vm->lock);
	vm->mm = current->mm;
	dune_layout_init(&vm->layout, vm->mm->mmap_base, vm->mm->start_stack,
			 dune_caps.phys_bits);
	r = dune_npt_alloc_root(vm);
	if (r)
		goto free_mask;
	mmgrab(vm->mm);
	vm->mn.ops = &vm_mmu_notifier_ops;
	r = mmu_notifier_register(&vm->mn, vm->mm);
	if (r) {
		pr_warn("pid %d: cannot register an MMU notifier (%d)\n", current->pid, r);
		mmdrop(vm->mm);
		dune_npt_free(vm);
		goto free_mask;
	}
	return vm;

free_mask:
	free_cpumask_var(vm->running);
free_vm:
	kfree(vm);
	return ERR_PTR(r);
}

void dune_vm_put(struct dune_vm *vm)
{
	struct mm_struct *mm = vm->mm;

	if (!refcount_dec_and_test(&vm->refs))
		return;
	spin_lock(&vm->lock);
	dune_npt_free(vm);
	spin_unlock(&vm->lock);
	vm_put_notifier(vm);
	mmdrop(mm);
	vm_mem_put(vm);
}

/**
 * dune_vm_retire - the process is ending: give up the MMU notifier now.
 * @vm:		a VM whose address space has no user but the caller, which
 *		is about to exit (dune_enter() decides, run.c).
 *
 * exit_mmap() waits for an SRCU grace period when the mm still has a
 * notifier registered (mn_hlist_release(), mm/mmu_notifier.c), and that
 * wait was most of a short Dune process's life: about 0.6 to 6 ms of the
 * amd machine's exit, more than fork+exec+wait of a static program.  Put
 * before the mm goes, the notifier is off the mm's list and the exit does
 * not wait.  Without the notifier nothing could invalidate a nested
 * translation, so the whole nested tree is freed here (vm_zap_all()) and
 * none is made again (dune_npt_map() refuses a retired VM), and DUNE_ENTER
 * refuses it.  No vCPU of @vm is in the guest: the caller's is not, and no
 * other task uses the mm; vm_flush() still forces any out before the free.
 */
void dune_vm_retire(struct dune_vm *vm)
{
	if (vm_zap_all(vm, true))
		vm_put_notifier(vm);
}

/*
 * A VM_PFNMAP page (the vDSO's vvar data) has no struct page to take a
 * reference on: look up its PFN under the mmap lock, faulting it in if
 * needed.  Only RAM is mirrored, and only as writable as the host maps it.
 */
static int vm_pfnmap_pfn(struct dune_vm *vm, struct vm_area_struct *vma, u64 hva,
			 bool write, unsigned long *pfn)
{
	bool writable;
	int r;

	r = dune_follow_pfn(vma, hva, pfn, &writable);
	if (r) {
		if (fixup_user_fault(vm->mm, hva, write ? FAULT_FLAG_WRITE : 0, NULL))
			return -EFAULT;
		vma = vma_lookup(vm->mm, hva);
		if (!vma)
			return -EFAULT;
		r = dune_follow_pfn(vma, hva, pfn, &writable);
	}
	if (r || (write && !writable) || !pfn_valid(*pfn))
		return -EFAULT;
	return 0;
}

/* What the process's own mapping of an address allows. */
struct vm_host_map {
	unsigned int prot;		/* DUNE_NPT_* */
	unsigned long pfnmap_pfn;	/* a VM_PFNMAP page's PFN, else 0 */
	u64 vma_start, vma_end;		/* the VMA, for 2M and fault-around */
	bool may_write;			/* the VMA is writable */
	bool file;			/* the VMA maps a file */
};

/* The protection the process itself has at @hva, or -EFAULT. */
static int vm_host_prot(struct dune_vm *vm, u64 hva, u32 npf, struct vm_host_map *m)
{
	struct vm_area_struct *vma;
	unsigned long flags;
	int r = 0;

	m->pfnmap_pfn = 0;
	mmap_read_lock(vm->mm);
	vma = vma_lookup(vm->mm, hva);
	flags = vma ? vma->vm_flags : 0;
	if (vma) {
		m->vma_start = vma->vm_start;
		m->vma_end = vma->vm_end;
		m->file = vma->vm_file;
	}
	if (vma && (flags & (VM_IO | VM_PFNMAP)) && (flags & (VM_READ | VM_WRITE)))
		r = vm_pfnmap_pfn(vm, vma, hva, npf & DUNE_NPF_WRITE, &m->pfnmap_pfn);
	mmap_read_unlock(vm->mm);
	if (!vma || r)
		return -EFAULT;
	if ((npf & DUNE_NPF_WRITE) && !(flags & VM_WRITE))
		return -EFAULT;
	if ((npf & DUNE_NPF_EXEC) && !(flags & VM_EXEC))
		return -EFAULT;
	if (!(flags & (VM_READ | VM_WRITE | VM_EXEC)))
		return -EFAULT;
	/*
	 * Writable only after a write fault broke COW for us (FOLL_WRITE), or
	 * where the host maps the page writable already (vm_fault_fast()).
	 */
	m->may_write = flags & VM_WRITE;
	m->prot = DUNE_NPT_R;
	if (npf & DUNE_NPF_WRITE)
		m->prot |= DUNE_NPT_W;
	if (flags & VM_EXEC)
		m->prot |= DUNE_NPT_X;
	return 0;
}

/**
 * dune_vm_must_retry - must a fault retry instead of mapping?
 * @vm:		the process's VM.
 * @seq:	invalidate_seq, read before the fault looked at the host's tables.
 * @hva:	the start of the host range the fault would map.
 * @len:	its length.
 *
 * Yes while an invalidation of that range is in progress, or when any
 * invalidation ended since (KVM's mmu_invalidate_retry_gfn()).  An invalidation of other memory in
 * progress does not matter: whatever it covers, the page this fault took
 * is not in it, and one that starts later waits for vm->lock and then
 * removes what the fault mapped.  Retrying on any invalidation in
 * progress made a vCPU spin on re-entries while a sibling thread's
 * munmap or mprotect ran: about 150000 nested-fault exits in one xz -T2
 * run under dune-sandbox on the amd machine, against 4000 for -T1.
 * Called with vm->lock held.
 */
bool dune_vm_must_retry(struct dune_vm *vm, unsigned long seq, u64 hva, u64 len)
{
	lockdep_assert_held(&vm->lock);
	if (vm->invalidate_in_progress && hva < vm->inval_end && hva + len > vm->inval_start)
		return true;
	return seq != vm->invalidate_seq;
}

/*
 * GUP-fast first, as KVM's hva_to_pfn_fast(): a page the host already has
 * needs no mmap lock and no fault, and its presence says whether
 * fault-around is worth its probes.  A read of a page the host maps
 * writable maps it writable at once, as KVM does, or the guest's first
 * write to it (a buffer the host kernel filled, memory the guest read
 * before writing) takes a second exit.  Writable in the host means the
 * process may write it and it is no COW page; a later write protection
 * (fork, mprotect, KSM, soft-dirty) goes through the MMU notifier.
 */
static bool vm_fault_fast(struct dune_vm *vm, u64 hva, struct vm_host_map *m,
			  unsigned int *gup, struct page **page)
{
	if (current->mm != vm->mm)
		return false;
	if (!*gup && m->may_write && get_user_pages_fast_only(hva, 1, FOLL_WRITE, page) == 1) {
		*gup = FOLL_WRITE;
		m->prot |= DUNE_NPT_W;
		return true;
	}
	return get_user_pages_fast_only(hva, 1, *gup, page) == 1;
}

/**
 * vm_fault_once - resolve a nested page fault at @gpa (dune_vm_fault()).
 * @vm:		the process's VM.
 * @gpa:	the faulting guest-physical address.
 * @hva:	the page of the process that @gpa mirrors.
 * @npf:	the access (DUNE_NPF_* bits).
 *
 * Maps the page the process has at the corresponding address, as a 2M
 * nested page where the host maps a 2M (or 1G) page there (vm_huge.c),
 * else at 4K, together with the present neighbours of its 64K block
 * (fault-around) when the host had the page already or it is a file's.
 * Returns 0 when the guest can retry the access, -EAGAIN when an
 * invalidation raced with us (dune_vm_fault() looks again, or the guest
 * faults again after the run loop's signal and resched checks), -EFAULT
 * when the process itself could not make the access, -ENOMEM.
 */
static int vm_fault_once(struct dune_vm *vm, u64 gpa, u64 hva, u32 npf)
{
	struct vm_fault_around around = { 0 };
	bool present = false;
	struct vm_host_map m;
	struct page *page = NULL;
	unsigned long seq, pfn;
	int r;

	seq = READ_ONCE(vm->invalidate_seq);
	/*
	 * The sequence is read before the host's page tables (as KVM reads
	 * mmu_invalidate_seq), and checked again under vm->lock before mapping.
	 */
	smp_rmb();
	r = vm_host_prot(vm, hva, npf, &m);
	if (r)
		return r;
	pfn = m.pfnmap_pfn;
	if (!pfn) {
		unsigned int gup = (m.prot & DUNE_NPT_W) ? FOLL_WRITE : 0;

		present = vm_fault_fast(vm, hva, &m, &gup, &page);
		if (!present && get_user_pages_unlocked(hva, 1, &page, gup) != 1)
			return -EFAULT;
		pfn = page_to_pfn(page);
		/* Only a compound page can be part of a host 2M mapping. */
		if (PageCompound(page) &&
		    dune_vm_map_huge(vm, gpa, hva, pfn, m.prot, m.vma_start, m.vma_end, seq)) {
			put_page(page);
			return 0;
		}
		/*
		 * Fault-around only when the host had the page (then its
		 * neighbours are likely present too: after fork, a buffer the
		 * host filled) or for a file, whose page the host's own fault
		 * just mapped with its neighbours (the kernel's fault-around).
		 * Fresh anonymous memory has neighbours as absent as the page
		 * was, and probing them cost 6400 instructions per first touch
		 * on the intel machine (about twice the host's own fault).
		 */
		if (present || m.file)
			dune_vm_fault_around_get(vm, &around, gpa, hva, m.prot,
						 m.vma_start, m.vma_end);
	}
	spin_lock(&vm->lock);
	/* The 64K block: the fault's page and the neighbours fault-around took. */
	if (dune_vm_must_retry(vm, seq, hva & ~((u64)DUNE_FAULT_AROUND * PAGE_SIZE - 1),
			       (u64)DUNE_FAULT_AROUND * PAGE_SIZE)) {
		r = -EAGAIN;
	} else {
		r = dune_npt_map(vm, gpa & PAGE_MASK, PFN_PHYS(pfn), m.prot, 0);
		if (!r)
			dune_npt_fill(vm, gpa, around.gpa, around.page, around.n, m.prot);
	}
	spin_unlock(&vm->lock);
	dune_vm_fault_around_put(&around);
	if (page)
		put_page(page);
	return r;
}

int dune_vm_fault(struct dune_vm *vm, u64 gpa, u32 npf)
{
	u64 hva = dune_gpa_to_hva(&vm->layout, gpa) & PAGE_MASK;
	int r, tries;

	if (!hva)
		return -EFAULT;
	if (!mmget_not_zero(vm->mm))
		return -EFAULT;
	/*
	 * A fault whose own GUP changed the host's tables (a write that broke
	 * COW, of the zero page too) ended an invalidation of its page: it
	 * must look again, but need not re-enter the guest to fault again
	 * for that (an exit more per such page).  While another invalidation
	 * runs, the guest retries from the run loop, as KVM's do.
	 */
	for (tries = 0; tries < 3; tries++) {
		r = vm_fault_once(vm, gpa, hva, npf);
		if (r != -EAGAIN || READ_ONCE(vm->invalidate_in_progress))
			break;
	}
	mmput(vm->mm);
	return r;
}
