// SPDX-License-Identifier: GPL-2.0
/*
 * One guest run on Intel: bring the VMCS up to date, enter through
 * vmenter.S, and put back the host state a VM exit does not restore
 * (SDM 28.5 "Loading Host State"), all with interrupts off.
 */
#include <linux/build_bug.h>
#include <linux/stddef.h>
#include <asm/cpufeature.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/msr.h>
#include <asm/perf_event.h>
#include <asm/processor.h>
#include <asm/segment.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#ifdef DUNE_HAVE_ASM_GSSEG
#include <asm/gsseg.h>
#endif

#include "vmcs.h"
#include "vmenter.h"
#include "vmx.h"

#define CHECK_REG(off, field) static_assert((off) == offsetof(struct dune_regs, field))
CHECK_REG(REGS_RAX, rax); CHECK_REG(REGS_RCX, rcx); CHECK_REG(REGS_RDX, rdx);
CHECK_REG(REGS_RBX, rbx); CHECK_REG(REGS_RBP, rbp); CHECK_REG(REGS_RSI, rsi);
CHECK_REG(REGS_RDI, rdi); CHECK_REG(REGS_R8, r8); CHECK_REG(REGS_R9, r9);
CHECK_REG(REGS_R10, r10); CHECK_REG(REGS_R11, r11); CHECK_REG(REGS_R12, r12);
CHECK_REG(REGS_R13, r13); CHECK_REG(REGS_R14, r14); CHECK_REG(REGS_R15, r15);
static_assert(VMX_VMCS_HOST_RSP == HOST_RSP);

/* RFLAGS bits a 64-bit guest may hold (SDM 27.3.1.4: no VM, reserved 0). */
#define RFLAGS_GUEST	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | X86_EFLAGS_ZF | \
			 X86_EFLAGS_SF | X86_EFLAGS_TF | X86_EFLAGS_IF | X86_EFLAGS_DF | \
			 X86_EFLAGS_OF | X86_EFLAGS_IOPL | X86_EFLAGS_NT | X86_EFLAGS_RF | \
			 X86_EFLAGS_AC | X86_EFLAGS_VIF | X86_EFLAGS_VIP | X86_EFLAGS_ID)

/*
 * The event fields of an IDT-vectoring information field that VM entry
 * can inject again (SDM 25.8.3 vs. 25.9.3).
 */
#define REINJECT_BITS	(INTR_INFO_VALID_MASK | INTR_INFO_DELIVER_CODE_MASK | \
			 INTR_INFO_INTR_TYPE_MASK | INTR_INFO_VECTOR_MASK)

/* The thread's user selectors: the kernel never changes them on x86-64. */
struct vmx_host_segs {
	u16 ds, es, fs, gs, ldt;
};

/* Host CR3 (PCID reassignment) and CR4 (per-task bits) can change. */
static void vmx_sync_host_crs(struct vmx_vcpu *vmx)
{
	unsigned long cr3 = __read_cr3(), cr4 = cr4_read_shadow();

	if (unlikely(cr3 != vmx->host.cr3)) {
		vmcs_write(HOST_CR3, cr3);
		vmx->host.cr3 = cr3;
	}
	if (unlikely(cr4 != vmx->host.cr4)) {
		vmcs_write(HOST_CR4, cr4);
		vmx->host.cr4 = cr4;
	}
}

static bool is_soft_event(u32 info)
{
	u32 type = info & INTR_INFO_INTR_TYPE_MASK;

	return type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_PRIV_SW_EXCEPTION ||
	       type == INTR_TYPE_SOFT_EXCEPTION;
}

/* FS/GS bases: the run loop may have changed them (arch_prctl in host mode). */
static void vmx_sync_guest_bases(struct vmx_vcpu *vmx)
{
	if (vmx->vcpu.fs_base != vmx->guest_fs_base) {
		vmcs_write(GUEST_FS_BASE, vmx->vcpu.fs_base);
		vmx->guest_fs_base = vmx->vcpu.fs_base;
	}
	if (vmx->vcpu.gs_base != vmx->guest_gs_base) {
		vmcs_write(GUEST_GS_BASE, vmx->vcpu.gs_base);
		vmx->guest_gs_base = vmx->vcpu.gs_base;
	}
}

/*
 * The interrupt the run loop offers (common/ipi.c): injected as an external
 * interrupt when the guest can take one now, that is RFLAGS.IF=1, no STI or
 * MOV-SS blocking (SDM 26.3.1.5 checks both for an injected external
 * interrupt) and no other event injected at this entry; else
 * interrupt-window exiting makes the CPU exit as soon as it can (SDM
 * 25.2, 26.7.5).  @busy: another event is injected at this entry.
 */
static void vmx_offer_irq(struct vmx_vcpu *vmx, bool busy)
{
	struct dune_vcpu *vcpu = &vmx->vcpu;
	u8 v = vcpu->ipi.offer;
	bool window = false;

	if (v && !busy && (vcpu->regs.rflags & X86_EFLAGS_IF) &&
	    !(vmx->intr_state & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))) {
		vmcs_write(VM_ENTRY_INTR_INFO_FIELD, v | INTR_TYPE_EXT_INTR | INTR_INFO_VALID_MASK);
		vcpu->ipi.injected = true;
	} else if (v) {
		window = true;
	}
	if (window != vmx->irq_window) {
		vmcs_write(CPU_BASED_VM_EXEC_CONTROL,
			   vmx_cfg.proc | (window ? CPU_BASED_INTR_WINDOW_EXITING : 0));
		vmx->irq_window = window;
	}
}

/*
 * Guest registers in, and the event state that belongs to the instruction
 * at the last exit: if the run loop moved RIP (it emulated or skipped that
 * instruction), STI/MOV-SS blocking and an interrupted event delivery no
 * longer apply.  STI blocking also needs IF=1 (SDM 27.3.1.5).
 */
static void vmx_prepare_guest(struct vmx_vcpu *vmx)
{
	struct dune_regs *regs = &vmx->vcpu.regs;
	bool same_insn = regs->rip == vmx->exit_rip;
	u32 blocking = vmx->intr_state & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);

	vmcs_write(GUEST_RIP, regs->rip);
	vmcs_write(GUEST_RSP, regs->rsp);
	vmcs_write(GUEST_RFLAGS, (regs->rflags & RFLAGS_GUEST) | X86_EFLAGS_FIXED);
	vmx_sync_guest_bases(vmx);
	if (blocking && (!same_insn || !(regs->rflags & X86_EFLAGS_IF))) {
		vmx->intr_state &= ~blocking;
		vmcs_write(GUEST_INTERRUPTIBILITY_INFO, vmx->intr_state);
	}
	bool event = true;

	if (vmx->vcpu.exc.valid) {
		/*
		 * An exception the run loop reflects: a hardware exception
		 * at RIP (SDM 25.8.3); it replaces any cut-short event.
		 */
		struct dune_exc *e = &vmx->vcpu.exc;

		vmcs_write(VM_ENTRY_INTR_INFO_FIELD, e->vector | INTR_TYPE_HARD_EXCEPTION |
			   INTR_INFO_VALID_MASK | (e->has_err ? INTR_INFO_DELIVER_CODE_MASK : 0));
		if (e->has_err)
			vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, e->err);
		e->valid = false;
	} else if (vmx->reinject && same_insn) {
		vmcs_write(VM_ENTRY_INTR_INFO_FIELD, vmx->reinject);
		if (vmx->reinject & INTR_INFO_DELIVER_CODE_MASK)
			vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, vmx->reinject_err);
		if (is_soft_event(vmx->reinject))
			vmcs_write(VM_ENTRY_INSTRUCTION_LEN, vmx->reinject_len);
	} else {
		event = false;
	}
	vmx->reinject = 0;
	vmx_offer_irq(vmx, event);
	vmx_posted_sync(vmx);
}

/*
 * After an exit: registers and FS/GS bases out, and an event the exit
 * cut short (SDM 28.2.4).
 */
static void vmx_save_guest(struct vmx_vcpu *vmx)
{
	struct dune_regs *regs = &vmx->vcpu.regs;
	u32 idt = vmcs_read(IDT_VECTORING_INFO_FIELD);

	regs->rip = vmcs_read(GUEST_RIP);
	regs->rsp = vmcs_read(GUEST_RSP);
	regs->rflags = vmcs_read(GUEST_RFLAGS);
	vmx->exit_rip = regs->rip;
	vmx->guest_fs_base = vmcs_read(GUEST_FS_BASE);
	vmx->vcpu.fs_base = vmx->guest_fs_base;
	vmx->guest_gs_base = vmcs_read(GUEST_GS_BASE);
	vmx->vcpu.gs_base = vmx->guest_gs_base;
	vmx->intr_state = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	if (!(idt & VECTORING_INFO_VALID_MASK))
		return;
	vmx->reinject = idt & REINJECT_BITS;
	if (idt & VECTORING_INFO_DELIVER_CODE_MASK)
		vmx->reinject_err = vmcs_read(IDT_VECTORING_ERROR_CODE);
	if (is_soft_event(idt))
		vmx->reinject_len = vmcs_read(VM_EXIT_INSTRUCTION_LEN);
}

static void vmx_save_host_segs(struct vmx_host_segs *s)
{
	savesegment(ds, s->ds);
	savesegment(es, s->es);
	savesegment(fs, s->fs);
	savesegment(gs, s->gs);
	asm volatile("sldt %0" : "=rm"(s->ldt));
}

/*
 * A VM exit leaves DS, ES, FS and GS null (HOST_*_SELECTOR), LDTR unusable,
 * the TR limit at 0x67, DR7 at 0x400 and DEBUGCTL at 0 (SDM 28.5.1,
 * 28.5.2).  FS and GS bases and KERNEL_GS_BASE come back from the VMCS and
 * the MSR-load list; loading a selector overwrites its base, so those are
 * rewritten after a reload.
 */
static void vmx_restore_host(struct vmx_vcpu *vmx, const struct vmx_host_segs *s)
{
	if (unlikely(s->ldt))
		asm volatile("lldt %0" : : "rm"(s->ldt));
	if (unlikely(s->ds | s->es)) {
		loadsegment(ds, s->ds);
		loadsegment(es, s->es);
	}
	if (unlikely(s->fs)) {
		loadsegment(fs, s->fs);
		wrmsrl(MSR_FS_BASE, vmx->host.fs_base);
	}
	if (unlikely(s->gs)) {
		load_gs_index(s->gs);
		wrmsrl(MSR_KERNEL_GS_BASE, vmx->msrs->host[VMX_MSR_KERNEL_GS_BASE].value);
	}
	invalidate_tss_limit();
	if (vmx->host.debugctl)
		update_debugctlmsr(vmx->host.debugctl);
}

/*
 * L1TF (SDM-independent, Intel's "L1 Terminal Fault" guidance): a guest
 * can read the L1D through a not-present guest PTE, so flush it before
 * entry where the CPU is affected and has the flush command.
 */
static void vmx_l1d_flush(void)
{
	if (boot_cpu_has_bug(X86_BUG_L1TF) && boot_cpu_has(X86_FEATURE_FLUSH_L1D))
		native_wrmsrl(MSR_IA32_FLUSH_CMD, L1D_FLUSH);
}

/*
 * Host perf events must not count the guest when they exclude it, and a
 * PEBS counter must not write records while the guest runs: on CPUs
 * without PEBS isolation the record would go through the guest's linear
 * addresses into memory the host chose (KVM: atomic_switch_perf_msrs).
 * perf gives the guest and host values of PERF_GLOBAL_CTRL (and of
 * PEBS_ENABLE where needed); those that differ go into the VM-entry and
 * VM-exit MSR-load lists for this run (SDM 25.7.2, 25.8.2).  NULL for
 * perf's data: dune exposes no PMU to the guest (RDPMC and the PMU MSRs
 * exit), so perf sees a guest without one.
 */
static void vmx_switch_perf_msrs(struct vmx_vcpu *vmx)
{
	struct vmx_msr_lists *l = vmx->msrs;
	struct perf_guest_switch_msr *m;
	u32 n = VMX_NR_AUTOLOAD;
	int i, nr = 0;

	m = perf_guest_get_msrs(&nr, NULL);
	for (i = 0; m && i < nr; i++) {
		if (m[i].host == m[i].guest)
			continue;
		if (WARN_ON_ONCE(n == ARRAY_SIZE(l->guest)))
			break;
		l->guest[n] = (struct vmx_msr_entry){ .index = m[i].msr, .value = m[i].guest };
		l->host[n] = (struct vmx_msr_entry){ .index = m[i].msr, .value = m[i].host };
		n++;
	}
	if (n != vmx->nr_load_msrs) {
		vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, n);
		vmcs_write(VM_EXIT_MSR_LOAD_COUNT, n);
		vmx->nr_load_msrs = n;
	}
}

/**
 * vmx_vcpu_run - enter the guest once and describe the exit.
 * @vcpu:	loaded on this CPU; interrupts off.
 * @exit:	filled in.
 * @flush_tlb:	drop this VM's cached EPT translations first.
 */
void vmx_vcpu_run(struct dune_vcpu *vcpu, struct dune_exit *exit, bool flush_tlb)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct vmx_host_segs segs;
	u32 reason;
	int fail;

	if (flush_tlb)
		vmx_flush_ept(vmx->eptp);
	vmx_sync_host_crs(vmx);
	/* Perf may have changed it since the last run (LBR, BTF). */
	vmx->host.debugctl = get_debugctlmsr();
	vmx_prepare_guest(vmx);
	vmx_switch_perf_msrs(vmx);
	vmx_save_host_segs(&segs);
	vmx_l1d_flush();
	fail = __dune_vmx_run(&vcpu->regs, &vmx->host.rsp,
			      vmx->launched ? VMX_RUN_RESUME : 0);
	vmx_restore_host(vmx, &segs);
	if (unlikely(fail)) {
		vmx_report_vmfail(vmx, exit);
		return;
	}
	reason = vmcs_read(VM_EXIT_REASON);
	if (unlikely(reason & VMX_EXIT_REASONS_FAILED_VMENTRY)) {
		/* No guest ran; the launch state is unchanged (SDM 27.8). */
		vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	} else {
		vmx->launched = true;
		vmx_save_guest(vmx);
	}
	vmx_decode_exit(vmx, reason, exit);
	/* Last: the handler may VMCLEAR other VMCSs (vmx_clear_ipi). */
	if (vmx_cfg.posted && reason == EXIT_REASON_EXTERNAL_INTERRUPT)
		vmx_posted_handle_irq();
}
