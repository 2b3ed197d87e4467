/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One AMD-V world switch (APM Vol. 2, 15.5 "VMRUN"; 15.5.2 "VMSAVE and
 * VMLOAD").  VMRUN saves and restores only part of the host state; FS, GS,
 * TR, LDTR, KERNEL_GS_BASE and the SYSCALL/SYSENTER MSRs go through VMSAVE
 * and VMLOAD: host ones into the per-CPU save page, guest ones in the VMCB.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

#include "../common/regs-offsets.h"

.text

/*
 * void svm_vmrun(u64 vmcb_pa, struct dune_regs *regs, u64 host_save_pa)
 * rdi = vmcb_pa, rsi = regs, rdx = host save page.
 */
SYM_FUNC_START(svm_vmrun)
	push %rbp
	mov  %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx
	push %rdx		/* host save page */
	push %rsi		/* regs */
	push %rdi		/* vmcb pa */

	mov %rdx, %rax
	vmsave %rax

	/* Guest GPRs; rax, rsp, rip, rflags travel in the VMCB. */
	mov REGS_RCX(%rsi), %rcx
	mov REGS_RDX(%rsi), %rdx
	mov REGS_RBX(%rsi), %rbx
	mov REGS_RBP(%rsi), %rbp
	mov REGS_RDI(%rsi), %rdi
	mov REGS_R8(%rsi),  %r8
	mov REGS_R9(%rsi),  %r9
	mov REGS_R10(%rsi), %r10
	mov REGS_R11(%rsi), %r11
	mov REGS_R12(%rsi), %r12
	mov REGS_R13(%rsi), %r13
	mov REGS_R14(%rsi), %r14
	mov REGS_R15(%rsi), %r15
	mov REGS_RSI(%rsi), %rsi

	mov (%rsp), %rax	/* vmcb pa */
	vmload %rax
	/*
	 * With V_INTR_MASKING, physical interrupts reach the guest as INTR
	 * exits only if the host's RFLAGS.IF saved by VMRUN is set (APM
	 * 15.21.1).  GIF is clear here, so nothing is delivered to the host
	 * between sti and vmrun, nor between #VMEXIT and cli.
	 */
	sti
	vmrun %rax
/* Where #VMEXIT resumes the host: svm_vcpu.c checks for it in the VMCB. */
SYM_INNER_LABEL(svm_vmrun_resume, SYM_L_GLOBAL)
	cli
	vmsave %rax

	/* Save guest GPRs: borrow rdi for the regs pointer. */
	push %rdi
	mov 16(%rsp), %rdi	/* regs */
	mov %rcx, REGS_RCX(%rdi)
	mov %rdx, REGS_RDX(%rdi)
	mov %rbx, REGS_RBX(%rdi)
	mov %rbp, REGS_RBP(%rdi)
	mov %rsi, REGS_RSI(%rdi)
	mov %r8,  REGS_R8(%rdi)
	mov %r9,  REGS_R9(%rdi)
	mov %r10, REGS_R10(%rdi)
	mov %r11, REGS_R11(%rdi)
	mov %r12, REGS_R12(%rdi)
	mov %r13, REGS_R13(%rdi)
	mov %r14, REGS_R14(%rdi)
	mov %r15, REGS_R15(%rdi)
	pop REGS_RDI(%rdi)

	/* Do not leave guest values in registers (speculation). */
	xor %ecx, %ecx
	xor %edx, %edx
	xor %esi, %esi
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d

	pop %rdi		/* vmcb pa */
	pop %rsi		/* regs */
	pop %rax		/* host save page */
	vmload %rax

	pop %rbx
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rbp
	RET
SYM_FUNC_END(svm_vmrun)
