/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The seam between the vendor-neutral core and the hardware backends.
 *
 * One ops table per backend (kmod/vmx, kmod/svm).  The core picks a table
 * once, at load time, by asking each compiled-in backend to probe the CPU;
 * after that it only ever calls through dune_hv and never tests the vendor.
 * Backends never see ioctls or user pointers.
 */
#ifndef _DUNE_HV_H
#define _DUNE_HV_H

#include <linux/mm_types.h>
#include <asm/trapnr.h>

#include "caps.h"
#include "vcpu.h"

/**
 * struct dune_hv_ops - what a hardware backend provides.
 * @name:	"vmx" or "svm", used in log lines.
 * @backend:	enum dune_backend value reported to user space.
 * @probe:	Check the boot CPU.  Fills @caps.  Returns 0 when this backend
 *		can run, -ENODEV when the CPU lacks this extension entirely
 *		(the core then tries the next backend), -EPERM when firmware
 *		disabled it, -EBUSY when another hypervisor holds it,
 *		-EOPNOTSUPP when a feature dune needs is missing.
 * @cpu_enable:	Turn virtualization on for the calling CPU (interrupts off).
 *		@cpu_page is a zeroed page owned by the core for this CPU
 *		(VMXON region / host save area).  Returns 0 or a negative
 *		errno as for @probe.
 * @cpu_disable: Turn it off again on the calling CPU (interrupts off).  Only
 *		called after a successful @cpu_enable on that CPU.
 * @emergency_disable: Same as @cpu_disable but from crash/NMI context: no
 *		locks, no allocation, must not fault.
 * @unsetup:	Optional: free what a successful @probe allocated.
 * @npt:	the nested page table entry format.
 * @vcpu_alloc:	Allocate a zeroed vendor vCPU (with its VMCS/VMCB) and
 *		return the embedded common part.  Process context.
 * @vcpu_setup:	Write the initial guest state: 64-bit ring 0, flat segments,
 *		CR0/CR4/EFER mirroring the host's paging mode, CR3 = vcpu->cr3,
 *		FS/GS bases, interrupts off, intercepts as described in
 *		docs (I/O, MSRs but FS/GS/KERNEL_GS base, HLT, CPUID, XSETBV,
 *		VMX/SVM insns, INVD/WBINVD, RDPMC, MONITOR/MWAIT, DR access,
 *		shutdown, external interrupts, NMIs) and the nested root
 *		vcpu->vm->root_pa.  Called with the vCPU loaded.
 * @vcpu_free:	Free what @vcpu_alloc made.  Not loaded anywhere.
 * @vcpu_load:	Make the vCPU usable on this CPU (preemption off); moves it
 *		from its previous CPU if needed and flushes what that needs.
 * @vcpu_put:	The thread leaves this CPU or Dune mode (preemption off).
 * @vcpu_run:	Enter the guest once with regs, fs_base and gs_base from
 *		@vcpu, fill @exit and copy them back.  Interrupts are off on entry and on
 *		return.  @flush_tlb: drop this VM's nested translations
 *		(INVEPT single-context / TLB_CONTROL flush) before entering.
 * @post_intr:	Optional: deliver DUNE_SEND_IPI's @vector to @vcpu without
 *		an exit on it (VMX posted interrupts).  -EOPNOTSUPP: this
 *		vCPU does not, use the pending bitmap (common/ipi.c); 0:
 *		recorded, nothing more to do; 1: recorded, notify the CPU
 *		the target is in the guest on with @post_notify, after a
 *		full barrier.  Called under the file's lock.
 * @post_notify: Send the notification to @cpu (not this one).
 */
struct dune_hv_ops {
	const char *name;
	u32 backend;
	int (*probe)(struct dune_caps *caps);
	int (*cpu_enable)(struct page *cpu_page);
	void (*cpu_disable)(void);
	void (*emergency_disable)(void);

	void (*unsetup)(void);
	const struct dune_npt_format *npt;
	struct dune_vcpu *(*vcpu_alloc)(void);
	int (*vcpu_setup)(struct dune_vcpu *vcpu);
	void (*vcpu_free)(struct dune_vcpu *vcpu);
	void (*vcpu_load)(struct dune_vcpu *vcpu, int cpu);
	void (*vcpu_put)(struct dune_vcpu *vcpu);
	void (*vcpu_run)(struct dune_vcpu *vcpu, struct dune_exit *exit, bool flush_tlb);
	int (*post_intr)(struct dune_vcpu *vcpu, u8 vector);
	void (*post_notify)(int cpu);
};

/*
 * The exceptions every backend intercepts (VMX exception bitmap, SVM
 * exception intercepts), handled in common/exit.c:
 *  - #MC: the machine check belongs to the host's handler;
 *  - #DB: so a guest #DB never updates the hardware DR6 the host shares
 *    (VMX, SDM 28.1: an exception that exits leaves DR6 alone), and no
 *    #DB can recur in delivery without the host getting the CPU back
 *    (CVE-2015-8104; KVM intercepts it for the same reason);
 *  - #AC: a split lock under the host's split-lock detection is the
 *    host's policy, not the guest's (KVM: handle_guest_split_lock), and
 *    no #AC can recur in delivery (CVE-2015-5307).
 * Both are reflected into the guest when they are the guest's own.
 */
#define DUNE_INTERCEPTED_EXCEPTIONS \
	((1U << X86_TRAP_DB) | (1U << X86_TRAP_AC) | (1U << X86_TRAP_MC))

#ifdef DUNE_HAVE_VMX
extern const struct dune_hv_ops dune_vmx_ops;
#endif
#ifdef DUNE_HAVE_SVM
extern const struct dune_hv_ops dune_svm_ops;
#endif

/* The backend in use; set once in dune_hv_init(). */
extern const struct dune_hv_ops *dune_hv;
extern struct dune_caps dune_caps;
/* The host's XCR0, 0 without XSAVE. */
extern u64 dune_host_xcr0;

int dune_hv_init(void);
void dune_hv_exit(void);
unsigned int dune_hv_nr_cpus(void);
bool dune_hv_cpu_ready(void);

#endif /* _DUNE_HV_H */
