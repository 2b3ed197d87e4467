// SPDX-License-Identifier: GPL-2.0
/*
 * Vendor-neutral exit handling.  The kernel resolves what it can without
 * leaving the thread's context (nested faults, host interrupts, CPUID) and
 * hands the rest to user space through dune_config.ret: system calls run
 * there in host mode, so seccomp, ptrace, audit, signals and syscall
 * restart behave exactly as for any Linux process.  Everything that would
 * reach beyond the process (I/O ports, foreign MSRs, HLT, VMX/SVM
 * instructions...) is refused and reported, never emulated on the host.
 */
#define pr_fmt(fmt) "dune: " fmt

#include <linux/sched.h>
#include <asm/cpu.h>
#include <asm/cpufeature.h>
#include <asm/fpu/xcr.h>
#include <asm/processor.h>
#include <asm/trapnr.h>

#include "exit.h"
#include "hv.h"
#include "syscall.h"
#include "vm.h"

/* Hypercall instructions (VMCALL 0f 01 c1, VMMCALL 0f 01 d9) are 3 bytes. */
#define HYPERCALL_LEN	3
#define CPUID_LEN	2

static void skip_insn(struct dune_vcpu *vcpu, const struct dune_exit *exit, u32 len)
{
	vcpu->regs.rip += exit->insn_len ? exit->insn_len : len;
}

/*
 * CPUID as the host reports it, minus the virtualization extensions the
 * guest cannot use (nested virtualization is not offered).
 */
static void emulate_cpuid(struct dune_vcpu *vcpu)
{
	u32 leaf = vcpu->regs.rax, sub = vcpu->regs.rcx;
	u32 a, b, c, d;

	cpuid_count(leaf, sub, &a, &b, &c, &d);
	if (leaf == 1)
		c &= ~(1U << 5);	/* VMX */
	if (leaf == 0x80000001)
		c &= ~(1U << 2);	/* SVM */
	vcpu->regs.rax = a;
	vcpu->regs.rbx = b;
	vcpu->regs.rcx = c;
	vcpu->regs.rdx = d;
}

/*
 * XSETBV: the guest shares the thread's FPU/XSAVE state with the host, so
 * it may only (re)write the XCR0 value the host already uses.
 */
static bool xsetbv_allowed(const struct dune_vcpu *vcpu)
{
	u64 want = (vcpu->regs.rdx << 32) | (u32)vcpu->regs.rax;

	return boot_cpu_has(X86_FEATURE_OSXSAVE) && (u32)vcpu->regs.rcx == 0 &&
	       want == dune_host_xcr0;
}

static int to_user(struct dune_config *conf, u32 ret, s64 status, u64 info)
{
	conf->ret = ret;
	conf->status = status;
	conf->info = info;
	return 0;
}

/*
 * A guest system call: in the kernel when nothing else must see it (see
 * syscall.c), else back to libdune.  A call interrupted by a signal makes
 * DUNE_ENTER itself return -ERESTART*, with the guest at the hypercall, so
 * Linux's own rules pick restart (the guest re-executes it) or EINTR.
 */
static int handle_hypercall(struct dune_vcpu *vcpu, const struct dune_exit *exit,
			    struct dune_config *conf)
{
	u32 len = exit->insn_len ? exit->insn_len : HYPERCALL_LEN;
	long restart;

	vcpu->regs.rip += len;
	switch (dune_syscall_in_kernel(vcpu, &restart)) {
	case DUNE_SC_DONE:
		vcpu->syscalls_kernel++;
		return 1;
	case DUNE_SC_RESTART:
		vcpu->regs.rip -= len;
		conf->ret = DUNE_RET_SYSCALL_INTERRUPTED;
		/*
		 * Which -ERESTART* it was: a libdune handler that delivers
		 * the signal in the guest needs it to apply SA_RESTART.
		 */
		conf->status = restart;
		return (int)restart;
	case DUNE_SC_HOST:
	default:
		vcpu->syscalls_host++;
		return to_user(conf, DUNE_RET_SYSCALL, vcpu->regs.rax, 0);
	}
}

static int handle_nested_fault(struct dune_vcpu *vcpu, const struct dune_exit *exit,
			       struct dune_config *conf)
{
	int r = dune_vm_fault(vcpu->vm, exit->info1, exit->info2);

	if (!r || r == -EAGAIN)
		return 1;
	if (r == -EFAULT)
		return to_user(conf, DUNE_RET_NESTED_FAULT, exit->info2, exit->info1);
	return r;
}

/*
 * An exit caused by ring-3 guest code (CPL > 0).  Ring 3 may only have
 * what the guest's ring 0 allows it, so dune serves such an exit only when
 * the same instruction would do the same without a hypervisor: CPUID, and
 * a nested fault on an access the guest's page tables permitted.  Anything
 * else is reflected into the guest as the exception the instruction raises
 * on a CPU without a hypervisor, and ring 0 decides:
 *  - VMCALL/VMMCALL and the VMX/SVM instructions: #UD (the guest has no
 *    VMX/SVM; SDM Vol. 3C 26.1.2: VMCALL and the VMX
 *    instructions exit at any CPL; APM Vol. 2 15.9: VMMCALL is not CPL
 *    checked), and the other intercepted instructions ring 3 can reach
 *    (RDPRU: #UD, as on a CPU without it);
 *  - port I/O that IOPL or the TSS bitmap let through, and, should a CPU
 *    or emulator exit before its privilege check (SDM 26.1.1 and APM
 *    15.7.1 say it does not), MSR, CR, DR, XSETBV and HLT: #GP(0).
 * Returns true when the exit was reflected.
 */
static bool reflect_user_exit(struct dune_vcpu *vcpu, const struct dune_exit *exit)
{
	switch (exit->reason) {
	case DUNE_EXIT_HYPERCALL:
	case DUNE_EXIT_PRIV_INSN:
		dune_vcpu_queue_exc(vcpu, X86_TRAP_UD, false, 0);
		break;
	case DUNE_EXIT_IO:
	case DUNE_EXIT_MSR_READ:
	case DUNE_EXIT_MSR_WRITE:
	case DUNE_EXIT_CR_ACCESS:
	case DUNE_EXIT_DR_ACCESS:
	case DUNE_EXIT_XSETBV:
	case DUNE_EXIT_HLT:
		dune_vcpu_queue_exc(vcpu, X86_TRAP_GP, true, 0);
		break;
	default:
		return false;
	}
	vcpu->reflected++;
	return true;
}

/*
 * The intercepted exceptions (DUNE_INTERCEPTED_EXCEPTIONS in hv.h).  #MC
 * was handed to the host's handler by the backend.  #DB is the guest's
 * own (its debug registers are the host's, so a guest #DB comes from
 * RFLAGS.TF or INT1): deliver it, past INT1, which is a trap.  #AC with
 * CPL 3 and RFLAGS.AC set is an alignment check the guest asked for
 * (dune guests always run with CR0.AM set, SDM 6.15 "#AC"); any other #AC
 * is a split lock caught by the host's detection: the host's policy
 * decides (warn and go on, or SIGBUS), as for KVM's guests.
 */
static int handle_exception(struct dune_vcpu *vcpu, const struct dune_exit *exit,
			    struct dune_config *conf)
{
	switch (exit->info1) {
	case X86_TRAP_MC:
		return 1;
	case X86_TRAP_DB:
		vcpu->regs.rip += exit->insn_len;
		dune_vcpu_queue_exc(vcpu, X86_TRAP_DB, false, 0);
		return 1;
	case X86_TRAP_AC:
		if (exit->cpl == 3 && (vcpu->regs.rflags & X86_EFLAGS_AC)) {
			dune_vcpu_queue_exc(vcpu, X86_TRAP_AC, true, 0);
			vcpu->reflected++;
			return 1;
		}
		/* false: SIGBUS is queued; the run loop returns for it. */
		handle_guest_split_lock(vcpu->regs.rip);
		return 1;
	}
	return to_user(conf, DUNE_RET_UNHANDLED_EXIT, exit->raw, exit->reason);
}

int dune_handle_exit(struct dune_vcpu *vcpu, const struct dune_exit *exit,
		     struct dune_config *conf)
{
	if (exit->cpl && reflect_user_exit(vcpu, exit))
		return 1;
	switch (exit->reason) {
	case DUNE_EXIT_EXTINT:
	case DUNE_EXIT_NMI:
	case DUNE_EXIT_IRQ_WINDOW:	/* the next entry injects (ipi.c) */
		return 1;
	case DUNE_EXIT_HYPERCALL:
		return handle_hypercall(vcpu, exit, conf);
	case DUNE_EXIT_NESTED_FAULT:
		return handle_nested_fault(vcpu, exit, conf);
	case DUNE_EXIT_CPUID:
		emulate_cpuid(vcpu);
		skip_insn(vcpu, exit, CPUID_LEN);
		return 1;
	case DUNE_EXIT_XSETBV:
		if (!xsetbv_allowed(vcpu))
			break;
		skip_insn(vcpu, exit, HYPERCALL_LEN);
		return 1;
	case DUNE_EXIT_EXCEPTION:
		return handle_exception(vcpu, exit, conf);
	case DUNE_EXIT_TRIPLE_FAULT:
		return to_user(conf, DUNE_RET_TRIPLE_FAULT, exit->raw, 0);
	case DUNE_EXIT_INVALID_STATE:
		return to_user(conf, DUNE_RET_BAD_STATE, exit->raw, exit->info1);
	default:
		break;
	}
	return to_user(conf, DUNE_RET_UNHANDLED_EXIT, exit->raw, exit->reason);
}
