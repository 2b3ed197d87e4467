/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One VMX transition: VMLAUNCH or VMRESUME into the guest, and the VM exit
 * back (SDM Vol. 3C, 27 "VM Entries", 28 "VM Exits").  The guest's RSP,
 * RIP and RFLAGS are in the VMCS; its other general registers are in
 * struct dune_regs and go through the CPU here.  A VM exit restores the
 * host's RSP and RIP from the VMCS (HOST_RSP, HOST_RIP = dune_vmx_vmexit)
 * but no general register, so the callee-saved ones live on the stack.
 *
 * Speculation hygiene follows KVM's vmenter.S: VERW last before entry,
 * RSB filling, IBRS and branch history clearing before the first RET.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/msr-index.h>
#include <asm/nospec-branch.h>
#include <asm/percpu.h>
#include <asm/segment.h>
#include <asm/unwind_hints.h>

#include "vmenter.h"

.text

/**
 * __dune_vmx_run - enter the guest of the current VMCS once.
 * @regs:	struct dune_regs * (rdi): guest registers, in and out.
 * @host_rsp:	unsigned long * (rsi): the value HOST_RSP holds now.
 * @flags:	VMX_RUN_RESUME (edx): VMRESUME, else VMLAUNCH.
 *
 * Interrupts off.  Returns 0 after a VM exit (including a VM-entry failure
 * reported as an exit, SDM 27.8), 1 if the instruction failed (VMfail,
 * SDM 27.1 to 27.3: see VM_INSTRUCTION_ERROR).
 */
SYM_FUNC_START(__dune_vmx_run)
	push %rbp
	mov  %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx
	/* @regs is needed again after the exit. */
	push %rdi

	/* Copy @flags to EBX: it survives until the guest's RBX is loaded. */
	mov %edx, %ebx

	/* The exit lands with this RSP; update HOST_RSP when it moved. */
	cmp %rsp, (%rsi)
	je .Lhost_rsp_ok
	mov $VMX_VMCS_HOST_RSP, %eax
.Lhost_rsp_write:
	vmwrite %rsp, %rax
	/* Cache it only once the VMCS has it (VMfail: CF or ZF, SDM 31.2). */
	jna .Lhost_rsp_ok
	mov %rsp, (%rsi)
.Lhost_rsp_ok:
	/*
	 * #UD: VMX was turned off under us (emergency disable).  The VMLAUNCH
	 * or VMRESUME below faults too and reports the failure.
	 */
	_ASM_EXTABLE(.Lhost_rsp_write, .Lhost_rsp_ok)

	/* CF = VMRESUME.  Nothing below touches CF until the branch. */
	bt $VMX_RUN_RESUME_SHIFT, %ebx

	mov %rdi, %rax
	mov REGS_RCX(%rax), %rcx
	mov REGS_RDX(%rax), %rdx
	mov REGS_RBX(%rax), %rbx
	mov REGS_RBP(%rax), %rbp
	mov REGS_RSI(%rax), %rsi
	mov REGS_RDI(%rax), %rdi
	mov REGS_R8(%rax),  %r8
	mov REGS_R9(%rax),  %r9
	mov REGS_R10(%rax), %r10
	mov REGS_R11(%rax), %r11
	mov REGS_R12(%rax), %r12
	mov REGS_R13(%rax), %r13
	mov REGS_R14(%rax), %r14
	mov REGS_R15(%rax), %r15
	mov REGS_RAX(%rax), %rax

	/* Clear CPU buffers (MDS and relatives); clobbers ZF only. */
	VM_CLEAR_CPU_BUFFERS

	jnc .Lvmlaunch

	/*
	 * A successful VMRESUME/VMLAUNCH continues at dune_vmx_vmexit after
	 * the exit, with the stack as it is here: tell objtool.
	 */
	UNWIND_HINT_SAVE

.Lvmresume:
	vmresume
	jmp .Lvmfail

.Lvmlaunch:
	vmlaunch
	jmp .Lvmfail

	/* #UD: VMX was turned off under us (emergency reboot).  Same as VMfail. */
	_ASM_EXTABLE(.Lvmresume, .Lvmfail)
	_ASM_EXTABLE(.Lvmlaunch, .Lvmfail)

SYM_INNER_LABEL(dune_vmx_vmexit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR

	/* Guest RAX to the stack, @regs to RAX. */
	push %rax
	mov 8(%rsp), %rax

	pop           REGS_RAX(%rax)
	mov %rcx, REGS_RCX(%rax)
	mov %rdx, REGS_RDX(%rax)
	mov %rbx, REGS_RBX(%rax)
	mov %rbp, REGS_RBP(%rax)
	mov %rsi, REGS_RSI(%rax)
	mov %rdi, REGS_RDI(%rax)
	mov %r8,  REGS_R8(%rax)
	mov %r9,  REGS_R9(%rax)
	mov %r10, REGS_R10(%rax)
	mov %r11, REGS_R11(%rax)
	mov %r12, REGS_R12(%rax)
	mov %r13, REGS_R13(%rax)
	mov %r14, REGS_R14(%rax)
	mov %r15, REGS_R15(%rax)

	xor %ebx, %ebx		/* return 0: VM exit */

.Lclear_regs:
	pop %rax		/* drop @regs */

	/* No guest value may steer speculation in the host. */
	xor %eax, %eax
	xor %ecx, %ecx
	xor %edx, %edx
	xor %ebp, %ebp
	xor %esi, %esi
	xor %edi, %edi
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d
	xor %r12d, %r12d
	xor %r13d, %r13d
	xor %r14d, %r14d
	xor %r15d, %r15d

	/*
	 * Before the first unbalanced RET: overwrite return predictions the
	 * guest may have planted, rewrite SPEC_CTRL for legacy IBRS (it must
	 * be written again after a less privileged predictor mode ran; the
	 * guest cannot change the MSR itself, its MSR bitmap bit is set), and
	 * clear the branch history where the kernel does so on VM exits.
	 */
	FILL_RETURN_BUFFER %rcx, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT, \
			   X86_FEATURE_RSB_VMEXIT_LITE

	ALTERNATIVE "jmp .Lspec_ctrl_done", "", X86_FEATURE_KERNEL_IBRS
	mov $MSR_IA32_SPEC_CTRL, %ecx
	xor %edx, %edx
	movl PER_CPU_VAR(x86_spec_ctrl_current), %eax
	wrmsr
	lfence
.Lspec_ctrl_done:

	CLEAR_BRANCH_HISTORY_VMEXIT

	mov %rbx, %rax
	pop %rbx
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rbp
	RET

.Lvmfail:
	mov $1, %ebx
	jmp .Lclear_regs

SYM_FUNC_END(__dune_vmx_run)

/**
 * __dune_vmx_do_irq - run a host interrupt handler the CPU acknowledged
 * on a VM exit ("acknowledge interrupt on exit", vmx_posted.c).
 * @entry:	the handler's address from the host IDT gate (rdi).
 *
 * Interrupts off.  Builds the frame the CPU pushes for an interrupt in
 * kernel mode (SS, RSP aligned to 16 bytes, RFLAGS, CS, then RIP through
 * the CALL) so the handler's IRET comes back here, as KVM's
 * vmx_do_interrupt_irqoff does.  RSP is put back from RBP because objtool
 * cannot see that the callee pops the frame with IRET.
 */
SYM_FUNC_START(__dune_vmx_do_irq)
	push %rbp
	mov %rsp, %rbp
	and $-16, %rsp
	push $__KERNEL_DS
	push %rbp
	pushf
	push $__KERNEL_CS
	CALL_NOSPEC rdi
	mov %rbp, %rsp
	pop %rbp
	RET
SYM_FUNC_END(__dune_vmx_do_irq)
