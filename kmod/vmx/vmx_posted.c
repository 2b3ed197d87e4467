// SPDX-License-Identifier: GPL-2.0
/*
 * Posted interrupts (SDM Vol. 3C, 30.6): DUNE_SEND_IPI without an exit on
 * the target.  The sender sets the vector in the target's posted-interrupt
 * descriptor (PIR, then ON) and sends the notification vector to the CPU
 * the target is in the guest on; that CPU, in VMX non-root operation,
 * moves PIR into the virtual-APIC page's IRR and delivers the vector
 * through the guest's IDT itself (virtual-interrupt delivery, SDM 30.2),
 * with no VM exit.  The guest ends it with an EOI write to x2APIC MSR
 * 80BH, which EOI virtualization (SDM 30.1.3, 30.5) completes in the
 * virtual-APIC page, again with no exit.
 *
 * The notification vector is the host's POSTED_INTR_VECTOR, the one KVM
 * uses: the kernel's handler for it (sysvec_kvm_posted_intr_ipi) only
 * acknowledges it, which is right for a notification that reaches a CPU
 * in host mode.  A target not in the guest takes what is in its PIR at its
 * next entry (vmx_posted_sync, before every entry), as KVM's
 * vmx_sync_pir_to_irr does.  Sharing the vector with KVM is safe both
 * ways: a notification meant for one side that lands in the other's guest
 * only makes that CPU look at a descriptor whose ON bit is clear, or
 * that has its own real work.
 *
 * Posted-interrupt processing requires "acknowledge interrupt on exit"
 * (SDM 27.2.1.1), so every other host interrupt that makes the guest exit
 * is already taken from the APIC: vmx_posted_handle_irq() runs the host's
 * handler for it through the IDT, as KVM's handle_external_interrupt_irqoff
 * does.  That is why this mode is off under FRED (no IDT to call).
 */
#define pr_fmt(fmt) "dune: vmx: " fmt

#include <linux/bitops.h>
#include <linux/cpumask.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <asm/apic.h>
#include <asm/desc.h>
#include <asm/irq_vectors.h>
#include <asm/msr.h>

#include "../common/compat.h"
#include "vmcs.h"
#include "vmx.h"

/* The IRR in the virtual-APIC page (SDM 30.1.1, the xAPIC layout). */
#define VAPIC_IRR	0x200

#define X2APIC_MSR_EOI	0x80b

static bool posted_intr = true;
module_param(posted_intr, bool, 0444);
MODULE_PARM_DESC(posted_intr,
		 "deliver DUNE_SEND_IPI with VMX posted interrupts where the CPU has them (default on)");

/* The host's IDT (idt_table: the same on every CPU), read at probe time. */
static gate_desc *host_idt;

/* The controls a capability MSR allows to be 1: bits 63:32 (SDM A.3). */
static u32 allowed1(bool true_ctls, u32 true_msr, u32 msr)
{
	u64 cap;

	rdmsrl(true_ctls ? true_msr : msr, cap);
	return cap >> 32;
}

/**
 * vmx_posted_config - add the posted-interrupt controls to @c if the CPU
 * offers all of them.
 * @c:		controls already adjusted for everything else.
 * @true_ctls:	the IA32_VMX_TRUE_*_CTLS MSRs exist (SDM A.3.1).
 *
 * All or nothing: posted-interrupt processing needs virtual-interrupt
 * delivery, which needs the TPR shadow (the virtual-APIC page); the EOI
 * needs "virtualize x2APIC mode"; and the notification needs
 * "acknowledge interrupt on exit" (SDM 27.2.1.1).
 */
void vmx_posted_config(struct vmx_config *c, bool true_ctls)
{
	u32 pin1 = allowed1(true_ctls, MSR_IA32_VMX_TRUE_PINBASED_CTLS,
			    MSR_IA32_VMX_PINBASED_CTLS);
	u32 proc1 = allowed1(true_ctls, MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
			     MSR_IA32_VMX_PROCBASED_CTLS);
	u32 proc2_1 = allowed1(false, 0, MSR_IA32_VMX_PROCBASED_CTLS2);
	u32 exit1 = allowed1(true_ctls, MSR_IA32_VMX_TRUE_EXIT_CTLS, MSR_IA32_VMX_EXIT_CTLS);
	const u32 proc2 = SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE |
			  SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY;
	struct desc_ptr idt;

	c->posted = false;
	if (!posted_intr)
		return;
#if !IS_ENABLED(CONFIG_KVM)
	/* Without KVM the kernel has no handler for POSTED_INTR_VECTOR. */
	pr_info("posted interrupts off: the kernel has no POSTED_INTR_VECTOR handler\n");
	return;
#endif
#ifdef X86_FEATURE_FRED
	if (cpu_feature_enabled(X86_FEATURE_FRED)) {
		pr_info("posted interrupts off: FRED (host interrupts need an IDT to call)\n");
		return;
	}
#endif
	if (!(pin1 & PIN_BASED_POSTED_INTR) || !(proc1 & CPU_BASED_TPR_SHADOW) ||
	    (proc2_1 & proc2) != proc2 || !(exit1 & VM_EXIT_ACK_INTR_ON_EXIT))
		return;
	store_idt(&idt);
	host_idt = (gate_desc *)idt.address;
	c->pin |= PIN_BASED_POSTED_INTR;
	c->proc |= CPU_BASED_TPR_SHADOW;
	c->proc2 |= proc2;
	c->exit |= VM_EXIT_ACK_INTR_ON_EXIT;
	c->posted = true;
}

/* Pages of a vCPU that uses posted interrupts; 0 or -ENOMEM. */
int vmx_posted_alloc(struct vmx_vcpu *vmx)
{
	if (!vmx_cfg.posted)
		return 0;
	vmx->vapic = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vmx->pi = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (vmx->vapic && vmx->pi)
		return 0;
	vmx_posted_free(vmx);
	return -ENOMEM;
}

void vmx_posted_free(struct vmx_vcpu *vmx)
{
	free_page((unsigned long)vmx->vapic);
	free_page((unsigned long)vmx->pi);
	vmx->vapic = NULL;
	vmx->pi = NULL;
}

/*
 * MSR bitmap: in "virtualize x2APIC mode" a WRMSR to 80BH that does not
 * exit is an EOI to the virtual APIC (SDM 30.5), never to the real one;
 * every other x2APIC MSR, and every read, still exits and is refused.
 */
void vmx_posted_msr_bitmap(struct vmx_vcpu *vmx)
{
	if (vmx->pi)
		__clear_bit(0x800 * 8 + X2APIC_MSR_EOI, vmx->msr_bitmap);
}

/* VMCS fields of a new vCPU (SDM 25.6.8): nothing pending, nothing in service. */
void vmx_posted_setup(struct vmx_vcpu *vmx)
{
	int i;

	if (!vmx->pi)
		return;
	vmcs_write(VIRTUAL_APIC_PAGE_ADDR, __pa(vmx->vapic));
	vmcs_write(POSTED_INTR_NV, POSTED_INTR_VECTOR);
	vmcs_write(POSTED_INTR_DESC_ADDR, __pa(vmx->pi));
	for (i = 0; i < 4; i++)		/* no EOI exits (SDM 25.6.8) */
		vmcs_write(EOI_EXIT_BITMAP0 + 2 * i, 0);
	vmcs_write(GUEST_INTR_STATUS, 0);
}

/**
 * vmx_posted_post - record a vector for a vCPU (DUNE_SEND_IPI).
 * @vcpu:	the target; the caller holds its file's lock.
 * @vector:	32..255.
 *
 * Returns -EOPNOTSUPP when the vCPU does not use posted interrupts, 0 when
 * no notification is needed (the vector, or ON, was already set: whoever
 * set it notifies, or the target's next entry looks), 1 when the caller
 * must notify the target's CPU after a full barrier.
 */
int vmx_posted_post(struct dune_vcpu *vcpu, u8 vector)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	if (!vmx->pi)
		return -EOPNOTSUPP;
	if (test_and_set_bit(vector, vmx->pi->pir))
		return 0;
	vcpu->ipi.delivered++;
	return !test_and_set_bit(VMX_PI_ON, &vmx->pi->control);
}

/* The notification: the target's CPU consumes it in the guest (or acks it). */
void vmx_posted_notify(int cpu)
{
	dune_send_vector_to_cpu(cpu, POSTED_INTR_VECTOR);
}

/*
 * Before an entry, interrupts off, after the run loop published the CPU
 * (ipi.guest_cpu, then a full barrier): what senders posted while the
 * vCPU was out of the guest goes into the virtual IRR, and RVI names the
 * highest vector there (SDM 30.1.2), so VM entry's evaluation of pending
 * virtual interrupts delivers it (SDM 27.3.2.5).  A notification sent
 * after this point is pending on this CPU and consumed in the guest.
 */
void vmx_posted_sync(struct vmx_vcpu *vmx)
{
	u32 *irr = (u32 *)((u8 *)vmx->vapic + VAPIC_IRR);
	int i, max = -1;
	u16 status;

	if (!vmx->pi || !test_bit(VMX_PI_ON, &vmx->pi->control))
		return;
	clear_bit(VMX_PI_ON, &vmx->pi->control);
	/* ON clear before PIR is read: a sender that sets a bit after sets ON again. */
	smp_mb__after_atomic();
	for (i = 0; i < 8; i++) {
		u32 w = xchg(&((u32 *)vmx->pi->pir)[i], 0);

		irr[i * 4] |= w;
		if (irr[i * 4])
			max = i * 32 + __fls(irr[i * 4]);
	}
	status = vmcs_read(GUEST_INTR_STATUS);
	if (max > (status & 0xff))
		vmcs_write(GUEST_INTR_STATUS, (status & 0xff00) | max);
}

/*
 * After an external-interrupt exit, interrupts off, host state restored:
 * the CPU acknowledged the interrupt (SDM 28.2.2), so call the host's
 * handler for it through its IDT gate, with the frame an interrupt
 * would have pushed (vmenter.S).
 */
void vmx_posted_handle_irq(void)
{
	u32 info = vmcs_read(VM_EXIT_INTR_INFO);

	if (WARN_ONCE(!(info & INTR_INFO_VALID_MASK) ||
		      (info & INTR_INFO_INTR_TYPE_MASK) != INTR_TYPE_EXT_INTR,
		      "external-interrupt exit with interruption info %#x\n", info))
		return;
	__dune_vmx_do_irq(gate_offset(host_idt + (info & INTR_INFO_VECTOR_MASK)));
}
