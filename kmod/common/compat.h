/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels dune supports (6.1 .. 6.12 and Debian's
 * backports).  Feature macros come from Kbuild probing the headers, never
 * from version numbers: distributions backport interface changes.
 */
#ifndef _DUNE_COMPAT_H
#define _DUNE_COMPAT_H

#include <linux/syscore_ops.h>
#include <asm/apic.h>

/*
 * syscore: newer kernels (and Debian's 6.12.1xx) pass a data pointer and
 * register a struct syscore wrapping the ops.
 */
#ifdef DUNE_SYSCORE_HAS_DATA
#define DUNE_SYSCORE_ARG void *data
struct dune_syscore {
	struct syscore sc;
	struct syscore_ops ops;
};

#define DUNE_SYSCORE_INIT(s, r) { .sc = { .ops = NULL }, .ops = { .suspend = s, .resume = r } }
static inline void dune_register_syscore(struct dune_syscore *s)
{
	s->sc.ops = &s->ops;
	register_syscore(&s->sc);
}

static inline void dune_unregister_syscore(struct dune_syscore *s)
{
	unregister_syscore(&s->sc);
}
#else
#define DUNE_SYSCORE_ARG void
struct dune_syscore {
	struct syscore_ops ops;
};

#define DUNE_SYSCORE_INIT(s, r) { .ops = { .suspend = s, .resume = r } }
static inline void dune_register_syscore(struct dune_syscore *s)
{
	register_syscore_ops(&s->ops);
}

static inline void dune_unregister_syscore(struct dune_syscore *s)
{
	unregister_syscore_ops(&s->ops);
}
#endif

/*
 * Looking up the PFN behind a VM_PFNMAP/VM_IO address (the vDSO's vvar
 * page): follow_pte() until 6.9, follow_pfnmap_start/end from 6.10/6.12.
 * Returns 0 with *pfn and *writable, or a negative errno.  mmap lock held.
 */
#include <linux/mm.h>
static inline int dune_follow_pfn(struct vm_area_struct *vma, unsigned long addr,
				  unsigned long *pfn, bool *writable)
{
#ifdef DUNE_HAVE_FOLLOW_PFNMAP
	struct follow_pfnmap_args args = { .vma = vma, .address = addr };
	int r = follow_pfnmap_start(&args);

	if (r)
		return r;
	*pfn = args.pfn;
	*writable = args.writable;
	follow_pfnmap_end(&args);
	return 0;
#else
	spinlock_t *ptl;
	pte_t *ptep;
	int r = follow_pte(vma->vm_mm, addr, &ptep, &ptl);

	if (r)
		return r;
	__acquire(ptl);		/* follow_pte() took it; for sparse */
	*pfn = pte_pfn(*ptep);
	*writable = pte_write(*ptep);
	pte_unmap_unlock(ptep, ptl);
	return 0;
#endif
}

/*
 * The CPU hotplug states that turn virtualization on and off.  Going down,
 * it must be turned off only after the scheduler moved every task off the
 * CPU (a vCPU thread still queued there would load its VMCS/VMCB on a CPU
 * out of VMX/SVM operation); coming up, it must be on before the CPU is
 * active (no task may enter a guest there first), and a CPU where it
 * cannot be turned on should be refused.
 *  - 6.3+ (and backports): CPUHP_AP_KVM_ONLINE, KVM's state, placed just
 *    before CPUHP_AP_SCHED_WAIT_EMPTY for exactly these reasons; callbacks
 *    run in the hotplug thread and an error aborts the online.
 *  - older (6.1): no such state.  Off in CPUHP_AP_KVM_STARTING's teardown
 *    (the dying section: on the CPU, interrupts off, after the CPU is
 *    empty, as KVM 6.1's kvm_dying_cpu); on from CPUHP_AP_ONLINE_DYN,
 *    which still runs before CPUHP_AP_ACTIVE and, unlike the starting
 *    section, may fail and so refuse the CPU.
 * KVM's slots are free: dune and KVM never run together (hv.c).
 */
#include <linux/cpuhotplug.h>
#ifndef DUNE_HAVE_CPUHP_KVM_ONLINE
#define DUNE_CPUHP_DYING_STATE	CPUHP_AP_KVM_STARTING
#endif

/*
 * An IPI with a given vector to one CPU (VMX posted-interrupt
 * notification): 6.5+ calls the APIC driver through static calls
 * (__apic_send_IPI_mask, exported for KVM); older kernels through the
 * exported apic struct.
 */
static inline void dune_send_vector_to_cpu(int cpu, int vector)
{
#ifdef DUNE_HAVE_APIC_CALLS
	__apic_send_IPI_mask(cpumask_of(cpu), vector);
#else
	apic->send_IPI_mask(cpumask_of(cpu), vector);
#endif
}

#endif /* _DUNE_COMPAT_H */
