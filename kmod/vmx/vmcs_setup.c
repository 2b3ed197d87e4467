// SPDX-License-Identifier: GPL-2.0
/*
 * The initial contents of a Dune VMCS (SDM Vol. 3C, chapter 25 "Virtual
 * Machine Control Structures"): controls, host state and the guest's first
 * state, a flat 64-bit ring-0 world that the guest replaces with its own
 * GDT, IDT and TSS right after entry.  The values must pass the VM-entry
 * checks of SDM chapter 27.
 */
#include <asm/desc.h>
#include <asm/msr.h>
#include <asm/processor-flags.h>
#include <asm/segment.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/trapnr.h>

#include "vmcs.h"
#include "vmx.h"

/*
 * Access rights (SDM 25.4.1, table 25-2): type | S<<4 | DPL<<5 | P<<7 |
 * L<<13 | D/B<<14 | G<<15 | unusable<<16.
 */
#define AR_CODE64	0xa09b	/* execute/read, accessed, L, G */
#define AR_DATA		0xc093	/* read/write, accessed, D/B, G */
#define AR_TSS64_BUSY	0x008b	/* busy 64-bit TSS */
#define AR_UNUSABLE	0x10000

#define DR7_INIT	0x400	/* all breakpoints off; bit 10 is 1 (SDM 18.2.4) */

#define SEL_CODE	0x08
#define SEL_DATA	0x10
#define SEL_TSS		0x18

#define GUEST_CR0_BITS	(X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | \
			 X86_CR0_WP | X86_CR0_AM | X86_CR0_PG)
#define GUEST_CR4_BITS	(X86_CR4_PAE | X86_CR4_PGE | X86_CR4_MCE | X86_CR4_OSFXSR | \
			 X86_CR4_OSXMMEXCPT)
/*
 * From the host's CR4: XSAVE and FSGSBASE as the process has them, and
 * PCIDE wherever the host uses PCIDs (as the original Dune), so the guest
 * may tag its address spaces (CR3 bits 11:0, bit 63 = no flush) and use
 * INVPCID (enabled in vmx_config.c).  Guest PCIDs live inside the vCPU's
 * VPID: INVVPID single-context, INVEPT and, without VPID, every VM entry
 * and exit drop the entries of all its PCIDs (SDM 28.3.3), so the module's
 * flushes stay complete; the host's own PCIDs are VPID 0's.
 */
#define GUEST_CR4_FROM_HOST (X86_CR4_OSXSAVE | X86_CR4_FSGSBASE | X86_CR4_PCIDE)

/*
 * Guest/host masks (SDM 25.6.6): the guest reads the shadow for these bits
 * and writing a different value exits (CR_ACCESS) and is refused.  One
 * rule on both backends: CR0 and CR4 are the host's entirely, as on AMD
 * where every CR0 and CR4 write is intercepted.  So CR0.WP and TS stay as
 * set up, and the guest cannot turn on CR4 features the host has not
 * prepared for it (CET, PKS, LAM, SMXE...) nor see or clear VMXE
 * (fixed to 1 in VMX operation, SDM 24.8), PAE or MCE.
 */
#define CR0_HOST_OWNED	(~0UL)
#define CR4_HOST_OWNED	(~0UL)

struct vmx_seg_fields {
	u32 selector, base, limit, ar;
};

#define SEG(s) { GUEST_##s##_SELECTOR, GUEST_##s##_BASE, GUEST_##s##_LIMIT, GUEST_##s##_AR_BYTES }

static void set_seg(struct vmx_seg_fields f, u16 sel, u64 base, u32 limit, u32 ar)
{
	vmcs_write(f.selector, sel);
	vmcs_write(f.base, base);
	vmcs_write(f.limit, limit);
	vmcs_write(f.ar, ar);
}

/* SDM 27.3.1.2: flat segments, L=1 code, busy 64-bit TSS, no LDT. */
static void setup_guest_segments(struct dune_vcpu *vcpu)
{
	static const struct vmx_seg_fields data[] = { SEG(DS), SEG(ES), SEG(SS) };
	static const struct vmx_seg_fields cs = SEG(CS), fs = SEG(FS), gs = SEG(GS);
	static const struct vmx_seg_fields tr = SEG(TR), ldtr = SEG(LDTR);
	int i;

	set_seg(cs, SEL_CODE, 0, 0xffffffff, AR_CODE64);
	for (i = 0; i < ARRAY_SIZE(data); i++)
		set_seg(data[i], SEL_DATA, 0, 0xffffffff, AR_DATA);
	set_seg(fs, SEL_DATA, vcpu->fs_base, 0xffffffff, AR_DATA);
	set_seg(gs, SEL_DATA, vcpu->gs_base, 0xffffffff, AR_DATA);
	to_vmx(vcpu)->guest_fs_base = vcpu->fs_base;
	to_vmx(vcpu)->guest_gs_base = vcpu->gs_base;
	set_seg(tr, SEL_TSS, 0, 0x67, AR_TSS64_BUSY);
	set_seg(ldtr, 0, 0, 0, AR_UNUSABLE);
	/* Empty GDT and IDT: the guest loads its own first thing. */
	vmcs_write(GUEST_GDTR_BASE, 0);
	vmcs_write(GUEST_GDTR_LIMIT, 0);
	vmcs_write(GUEST_IDTR_BASE, 0);
	vmcs_write(GUEST_IDTR_LIMIT, 0);
}

/* CR0 and CR4 in VMX operation must respect the FIXED MSRs (SDM A.7, A.8). */
static void setup_guest_crs(struct dune_vcpu *vcpu)
{
	u64 cr0 = GUEST_CR0_BITS, cr4 = GUEST_CR4_BITS;

	cr4 |= cr4_read_shadow() & GUEST_CR4_FROM_HOST;
	cr0 = (cr0 | vmx_cfg.cr0_fixed0) & vmx_cfg.cr0_fixed1;
	cr4 = (cr4 | vmx_cfg.cr4_fixed0) & vmx_cfg.cr4_fixed1;
	vmcs_write(GUEST_CR0, cr0);
	vmcs_write(CR0_READ_SHADOW, cr0);
	vmcs_write(CR0_GUEST_HOST_MASK, CR0_HOST_OWNED);
	vmcs_write(GUEST_CR4, cr4);
	vmcs_write(CR4_READ_SHADOW, cr4 & ~X86_CR4_VMXE);
	vmcs_write(CR4_GUEST_HOST_MASK, CR4_HOST_OWNED);
	vmcs_write(GUEST_CR3, vcpu->cr3);
}

/* SDM 25.4.2 and 27.3.1: 64-bit mode, the host's PAT, no debugging. */
static void setup_guest_state(struct dune_vcpu *vcpu)
{
	u64 pat;

	setup_guest_crs(vcpu);
	setup_guest_segments(vcpu);
	vmcs_write(GUEST_IA32_EFER, EFER_SCE | EFER_LME | EFER_LMA | EFER_NX);
	rdmsrl(MSR_IA32_CR_PAT, pat);
	vmcs_write(GUEST_IA32_PAT, pat);
	vmcs_write(GUEST_DR7, DR7_INIT);
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(GUEST_SYSENTER_CS, 0);
	vmcs_write(GUEST_SYSENTER_ESP, 0);
	vmcs_write(GUEST_SYSENTER_EIP, 0);
	vmcs_write(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write(VMCS_LINK_POINTER, ~0ULL);	/* no shadow VMCS (SDM 25.4.2) */
	/* RIP, RSP and RFLAGS are written before every entry. */
}

/*
 * Host state that is the same on every CPU and for every thread (SDM 25.5,
 * 27.2.3).  The per-CPU and per-thread parts are in vmx_vcpu_load(), CR3
 * and CR4 are checked before each entry, and RSP is written by vmenter.S.
 * DS, ES, FS and GS come back null; vmx_run.c reloads the thread's own
 * selectors after the exit when they were not.
 */
static void setup_host_state(void)
{
	struct desc_ptr idt;
	u64 v;

	vmcs_write(HOST_CR0, read_cr0());
	vmcs_write(HOST_CS_SELECTOR, __KERNEL_CS);
	vmcs_write(HOST_SS_SELECTOR, __KERNEL_DS);
	vmcs_write(HOST_DS_SELECTOR, 0);
	vmcs_write(HOST_ES_SELECTOR, 0);
	vmcs_write(HOST_FS_SELECTOR, 0);
	vmcs_write(HOST_GS_SELECTOR, 0);
	vmcs_write(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	store_idt(&idt);
	vmcs_write(HOST_IDTR_BASE, idt.address);
	vmcs_write(HOST_RIP, (unsigned long)dune_vmx_vmexit);
	rdmsrl(MSR_IA32_SYSENTER_CS, v);
	vmcs_write(HOST_IA32_SYSENTER_CS, v);
	rdmsrl(MSR_IA32_SYSENTER_EIP, v);
	vmcs_write(HOST_IA32_SYSENTER_EIP, v);
	rdmsrl(MSR_EFER, v);
	vmcs_write(HOST_IA32_EFER, v);
	rdmsrl(MSR_IA32_CR_PAT, v);
	vmcs_write(HOST_IA32_PAT, v);
}

/* VM-execution, VM-exit and VM-entry control fields (SDM 25.6-25.8). */
static void setup_controls(struct vmx_vcpu *vmx)
{
	u64 guest_msrs = __pa(vmx->msrs->guest), host_msrs = __pa(vmx->msrs->host);

	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmx_cfg.pin);
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vmx_cfg.proc);
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, vmx->proc2);
	vmcs_write(VM_EXIT_CONTROLS, vmx_cfg.exit);
	vmcs_write(VM_ENTRY_CONTROLS, vmx_cfg.entry);
	vmcs_write(EXCEPTION_BITMAP, DUNE_INTERCEPTED_EXCEPTIONS);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write(CR3_TARGET_COUNT, 0);
	vmcs_write(TSC_OFFSET, 0);
	vmcs_write(MSR_BITMAP, __pa(vmx->msr_bitmap));
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_ADDR, guest_msrs);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, VMX_NR_AUTOLOAD);
	vmcs_write(VM_EXIT_MSR_STORE_ADDR, guest_msrs);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, VMX_NR_AUTOLOAD);
	vmcs_write(VM_EXIT_MSR_LOAD_ADDR, host_msrs);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, VMX_NR_AUTOLOAD);
	if (vmx->proc2 & SECONDARY_EXEC_ENCLS_EXITING)
		vmcs_write(ENCLS_EXITING_BITMAP, ~0ULL);	/* every leaf (SDM 25.6.16) */
	if (vmx_cfg.pin & PIN_BASED_VMX_PREEMPTION_TIMER)
		vmcs_write(VMX_PREEMPTION_TIMER_VALUE, vmx_cfg.preempt_timer);
	if (vmx->vpid)
		vmcs_write(VIRTUAL_PROCESSOR_ID, vmx->vpid);
	vmcs_write(EPT_POINTER, vmx->eptp);
	vmx_posted_setup(vmx);
	vmx->nr_load_msrs = VMX_NR_AUTOLOAD;
}

/**
 * vmx_vcpu_setup - write the whole VMCS of a new vCPU.
 * @vcpu:	loaded on this CPU (vmx_vcpu_load() wrote the per-CPU host
 *		fields already); its VM's nested root exists.
 *
 * Returns 0.
 */
int vmx_vcpu_setup(struct dune_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx->eptp = vmx_make_eptp(vcpu->vm->root_pa);
	setup_controls(vmx);
	setup_host_state();
	setup_guest_state(vcpu);
	/* The root page may be recycled: forget what this CPU cached for it. */
	vmx_flush_ept(vmx->eptp);
	return 0;
}
