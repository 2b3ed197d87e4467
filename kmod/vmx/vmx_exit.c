// SPDX-License-Identifier: GPL-2.0
/*
 * Turning a VMX exit (basic exit reasons: SDM Vol. 3D, Appendix C; exit
 * information: SDM 28.2) into the vendor-neutral struct dune_exit.  Host
 * NMIs and machine checks that arrived in the guest are handed to the
 * host's handlers here, before interrupts come back on.
 */
#define pr_fmt(fmt) "dune: vmx: " fmt

#include <linux/printk.h>
#include <linux/sched.h>
#include <asm/ptrace.h>
#include <asm/trapnr.h>

#include "vmcs.h"
#include "vmx.h"
#include "../common/guest_entry.h"

#define EXIT_REASON_GETSEC	11	/* not in <uapi/asm/vmx.h> */
#define VMX_RAW_VMFAIL		0xffff	/* exit->raw when there was no exit */

/* EPT-violation exit qualification (SDM 28.2.1, table 28-7). */
#define EPT_QUAL_READ		BIT_ULL(0)
#define EPT_QUAL_WRITE		BIT_ULL(1)
#define EPT_QUAL_FETCH		BIT_ULL(2)
#define EPT_QUAL_PERMS		(7ULL << 3)	/* the GPA was readable/writable/executable */

static u32 vmx_exit_reason(u16 basic)
{
	switch (basic) {
	case EXIT_REASON_VMCALL:		return DUNE_EXIT_HYPERCALL;
	case EXIT_REASON_EPT_VIOLATION:		return DUNE_EXIT_NESTED_FAULT;
	case EXIT_REASON_EXTERNAL_INTERRUPT:	return DUNE_EXIT_EXTINT;
	case EXIT_REASON_INTERRUPT_WINDOW:	return DUNE_EXIT_IRQ_WINDOW;
	/* The backstop timer (vmx_config.c): the host may have work. */
	case EXIT_REASON_PREEMPTION_TIMER:	return DUNE_EXIT_EXTINT;
	case EXIT_REASON_TRIPLE_FAULT:		return DUNE_EXIT_TRIPLE_FAULT;
	case EXIT_REASON_CPUID:			return DUNE_EXIT_CPUID;
	case EXIT_REASON_HLT:			return DUNE_EXIT_HLT;
	case EXIT_REASON_IO_INSTRUCTION:	return DUNE_EXIT_IO;
	case EXIT_REASON_MSR_READ:		return DUNE_EXIT_MSR_READ;
	case EXIT_REASON_MSR_WRITE:		return DUNE_EXIT_MSR_WRITE;
	case EXIT_REASON_XSETBV:		return DUNE_EXIT_XSETBV;
	case EXIT_REASON_CR_ACCESS:		return DUNE_EXIT_CR_ACCESS;
	case EXIT_REASON_DR_ACCESS:		return DUNE_EXIT_DR_ACCESS;
	case EXIT_REASON_VMCLEAR: case EXIT_REASON_VMLAUNCH: case EXIT_REASON_VMPTRLD:
	case EXIT_REASON_VMPTRST: case EXIT_REASON_VMREAD: case EXIT_REASON_VMRESUME:
	case EXIT_REASON_VMWRITE: case EXIT_REASON_VMOFF: case EXIT_REASON_VMON:
	case EXIT_REASON_INVEPT: case EXIT_REASON_INVVPID: case EXIT_REASON_VMFUNC:
	case EXIT_REASON_INVD: case EXIT_REASON_WBINVD: case EXIT_REASON_RDPMC:
	case EXIT_REASON_MONITOR_INSTRUCTION: case EXIT_REASON_MWAIT_INSTRUCTION:
	case EXIT_REASON_GETSEC: case EXIT_REASON_ENCLS:
		return DUNE_EXIT_PRIV_INSN;
	default:
		return DUNE_EXIT_OTHER;
	}
}

/* Exits caused by an instruction report its length (SDM 28.2.5). */
static bool has_insn_len(u32 reason)
{
	switch (reason) {
	case DUNE_EXIT_HYPERCALL: case DUNE_EXIT_CPUID: case DUNE_EXIT_HLT:
	case DUNE_EXIT_IO: case DUNE_EXIT_MSR_READ: case DUNE_EXIT_MSR_WRITE:
	case DUNE_EXIT_XSETBV: case DUNE_EXIT_PRIV_INSN: case DUNE_EXIT_CR_ACCESS:
	case DUNE_EXIT_DR_ACCESS:
		return true;
	default:
		return false;
	}
}

/*
 * Exception or NMI (SDM 28.2.2).  The exception bitmap holds
 * DUNE_INTERCEPTED_EXCEPTIONS.
 * An NMI exit leaves the NMI unhandled: run the host's handler through its
 * IDT gate now; its IRET also ends NMI blocking.
 */
static void vmx_decode_exception(struct dune_exit *exit)
{
	u32 info = vmcs_read(VM_EXIT_INTR_INFO);
	u32 vector = info & INTR_INFO_VECTOR_MASK;

	if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR) {
		asm volatile("int $2");
		exit->reason = DUNE_EXIT_NMI;
		return;
	}
	if (vector == X86_TRAP_MC)
		dune_host_machine_check();
	exit->reason = DUNE_EXIT_EXCEPTION;
	exit->info1 = vector;
	if (info & INTR_INFO_DELIVER_CODE_MASK)
		exit->info2 = vmcs_read(VM_EXIT_INTR_ERROR_CODE);
	/*
	 * INT1 (ICEBP) is a privileged software exception: RIP is still at
	 * the instruction (SDM 28.2.5 gives its length).
	 */
	if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_PRIV_SW_EXCEPTION)
		exit->insn_len = vmcs_read(VM_EXIT_INSTRUCTION_LEN);
}

static void vmx_decode_ept_violation(struct dune_exit *exit)
{
	u64 q = vmcs_read(EXIT_QUALIFICATION);

	exit->info1 = vmcs_read(GUEST_PHYSICAL_ADDRESS);
	exit->info2 = (q & EPT_QUAL_READ ? DUNE_NPF_READ : 0) |
		      (q & EPT_QUAL_WRITE ? DUNE_NPF_WRITE : 0) |
		      (q & EPT_QUAL_FETCH ? DUNE_NPF_EXEC : 0) |
		      (q & EPT_QUAL_PERMS ? DUNE_NPF_PRESENT : 0);
}

/* VM entry failed after the VMLAUNCH/VMRESUME checks (SDM 27.8). */
static void vmx_decode_failed_entry(u32 reason, struct dune_exit *exit)
{
	u64 qual = vmcs_read(EXIT_QUALIFICATION);

	if ((u16)reason == EXIT_REASON_MCE_DURING_VMENTRY)
		dune_host_machine_check();
	exit->reason = DUNE_EXIT_INVALID_STATE;
	exit->info1 = reason;
	exit->info2 = qual;
	pr_warn_ratelimited("pid %d: VM entry failed: exit reason %#x, qualification %#llx\n",
			    current->pid, reason, qual);
}

/**
 * vmx_decode_exit - fill @exit from the current VMCS after a VM exit.
 * @vmx:	the vCPU; its registers are already saved.
 * @reason:	the VM_EXIT_REASON field.
 * @exit:	zeroed by the caller.
 */
void vmx_decode_exit(struct vmx_vcpu *vmx, u32 reason, struct dune_exit *exit)
{
	u16 basic = reason & 0xffff;

	exit->raw = basic;
	if (reason & VMX_EXIT_REASONS_FAILED_VMENTRY) {
		vmx_decode_failed_entry(reason, exit);
		return;
	}
	exit->reason = vmx_exit_reason(basic);
	/* SS.DPL is the CPL (SDM 25.4.1; KVM's vmx_get_cpl reads the same). */
	exit->cpl = (vmcs_read(GUEST_SS_AR_BYTES) >> 5) & 3;
	if (has_insn_len(exit->reason))
		exit->insn_len = vmcs_read(VM_EXIT_INSTRUCTION_LEN);
	switch (basic) {
	case EXIT_REASON_EXCEPTION_NMI:
		vmx_decode_exception(exit);
		break;
	case EXIT_REASON_EPT_VIOLATION:
		vmx_decode_ept_violation(exit);
		break;
	case EXIT_REASON_EPT_MISCONFIG:
		exit->info1 = vmcs_read(GUEST_PHYSICAL_ADDRESS);
		break;
	case EXIT_REASON_MSR_READ:
	case EXIT_REASON_MSR_WRITE:
		exit->info1 = (u32)vmx->vcpu.regs.rcx;
		break;
	case EXIT_REASON_IO_INSTRUCTION:
	case EXIT_REASON_CR_ACCESS:
	case EXIT_REASON_DR_ACCESS:
		exit->info1 = vmcs_read(EXIT_QUALIFICATION);	/* SDM 28.2.1 */
		break;
	}
}

/**
 * vmx_report_vmfail - VMLAUNCH/VMRESUME did not even start (VMfail).
 * @vmx:	the vCPU.
 * @exit:	INVALID_STATE with the VM-instruction error (SDM 31.4) in info1.
 */
void vmx_report_vmfail(struct vmx_vcpu *vmx, struct dune_exit *exit)
{
	u32 err = vmcs_read(VM_INSTRUCTION_ERROR);

	exit->reason = DUNE_EXIT_INVALID_STATE;
	exit->raw = VMX_RAW_VMFAIL;
	exit->info1 = err;
	pr_warn_ratelimited("pid %d: %s failed: VM-instruction error %u\n", current->pid,
			    vmx->launched ? "VMRESUME" : "VMLAUNCH", err);
}
