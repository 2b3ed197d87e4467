/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One AMD-V world switch (APM Vol. 2, 15.5 "VMRUN"; 15.5.2 "VMSAVE and
 * VMLOAD").  VMRUN saves and restores only part of the host state; FS, GS,
 * TR, LDTR, KERNEL_GS_BASE and the SYSCALL/SYSENTER MSRs go through VMSAVE
 * and VMLOAD: host ones into the per-CPU save page, guest ones in the VMCB.
 *
 * Host hardening follows KVM's __svm_vcpu_run (arch/x86/kvm/svm/vmenter.S,
 * compared with the kvm-amd.ko of Debian's 6.1 and 6.12): VERW right before
 * VMRUN, the return stack buffer filled and return predictions untrained
 * before the first RET, exception fixups on every SVM instruction.  Unlike
 * KVM, every guest GPR is cleared before the first branch after #VMEXIT.
 * SPEC_CTRL needs no switch here: see svm_vcpu.c, svm_spec_ctrl_guest().
 */
#include <linux/linkage.h>
#include <linux/objtool.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

#include "../common/regs-offsets.h"
#include "svm_compat.h"

/* The frame below the callee-saved registers, constant between the pushes
 * and the pops, so that every fixup can reach it. */
#define FRAME_FAULTED	0	/* set to 1 by a fixup */
#define FRAME_VMCB	8
#define FRAME_REGS	16
#define FRAME_HSAVE	24
#define FRAME_SIZE	32

.text

/**
 * svm_vmrun - enter the guest once.
 * @vmcb_pa:	rdi, the guest's VMCB.
 * @regs:	rsi, struct dune_regs *: guest GPRs in and out (rax, rsp, rip
 *		and rflags travel in the VMCB).
 * @hsave_pa:	rdx, this CPU's VMSAVE page for the host's state.
 *
 * GIF and interrupts off.  Returns 0, or 1 when an SVM instruction faulted
 * (#UD: EFER.SVME was cleared under us, APM 15.4; the registers are then
 * whatever the run got to, and nothing ran in guest mode after the fault).
 */
SYM_FUNC_START(svm_vmrun)
	push %rbp
	mov  %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx
	push %rdx		/* FRAME_HSAVE */
	push %rsi		/* FRAME_REGS */
	push %rdi		/* FRAME_VMCB */
	push $0			/* FRAME_FAULTED */

	mov %rdx, %rax
.Lhost_vmsave:
	vmsave %rax
.Lload_guest:
	/* Guest GPRs; RAX is the VMCB address until VMRUN. */
	mov %rsi, %rax
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
	mov FRAME_VMCB(%rsp), %rax

	/* From here to the host's VMLOAD, GS.base is the guest's: no per-CPU
	 * data. */
.Lguest_vmload:
	vmload %rax
	/*
	 * With V_INTR_MASKING, physical interrupts reach the guest as INTR
	 * exits only if the host's RFLAGS.IF saved by VMRUN is set (APM
	 * 15.21.1).  GIF is clear here, so nothing is delivered to the host
	 * between sti and vmrun, nor between #VMEXIT and cli.
	 */
	sti
	/* Clear CPU buffers last (MDS/TSA; KVM: VM_CLEAR_CPU_BUFFERS before
	 * VMRUN on both kernels).  Touches only ZF. */
	VM_CLEAR_CPU_BUFFERS
.Lvmrun:
	vmrun %rax
/* Where #VMEXIT resumes the host: svm_vcpu.c checks for it in the VMCB. */
SYM_INNER_LABEL(svm_vmrun_resume, SYM_L_GLOBAL)
	ANNOTATE_NOENDBR
	cli

	/*
	 * #VMEXIT restored RSP and RAX (the VMCB address, APM 15.6); every
	 * other GPR holds a guest value.  Store them, then clear them before
	 * the first branch (KVM clears them only after its RSB fill and
	 * untraining, which both branch).
	 */
	mov FRAME_REGS(%rsp), %rax
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
	xor %eax, %eax
	xor %ecx, %ecx
	xor %edx, %edx
	xor %ebx, %ebx
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

	mov FRAME_VMCB(%rsp), %rax
.Lguest_vmsave:
	vmsave %rax
.Lguest_saved:
	mov FRAME_HSAVE(%rsp), %rax
.Lhost_vmload:
	vmload %rax
.Lhost_loaded:
	/*
	 * Before the first RET: overwrite return predictions the guest may
	 * have planted (KVM 6.12: FILL_RETURN_BUFFER on X86_FEATURE_RSB_VMEXIT;
	 * 6.1 uses X86_FEATURE_RETPOLINE, which 6.1's bugs.c never sets
	 * without RSB_VMEXIT), then untrain returns (Retbleed/SRSO).  Both
	 * need the host's GS.base (call depth tracking), restored just above.
	 */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT
	SVM_UNTRAIN_RET_VM

	pop %rax		/* FRAME_FAULTED: the result */
	add $(FRAME_SIZE - 8), %rsp
	pop %rbx
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rbp
	RET

	/*
	 * Fixups: an SVM instruction raised #UD or #GP.  Note it and skip
	 * what can no longer work; as in KVM, the run still ends through the
	 * normal exit path, so the stack and the host's registers come back.
	 */
.Lfault_host_vmsave:
	movq $1, FRAME_FAULTED(%rsp)
	jmp .Lhost_loaded	/* nothing was loaded: no guest value anywhere */
.Lfault_guest_vmload:
.Lfault_vmrun:
	movq $1, FRAME_FAULTED(%rsp)
	jmp svm_vmrun_resume	/* cli: sti may have run */
.Lfault_guest_vmsave:
	movq $1, FRAME_FAULTED(%rsp)
	jmp .Lguest_saved
.Lfault_host_vmload:
	movq $1, FRAME_FAULTED(%rsp)
	jmp .Lhost_loaded

	_ASM_EXTABLE(.Lhost_vmsave, .Lfault_host_vmsave)
	_ASM_EXTABLE(.Lguest_vmload, .Lfault_guest_vmload)
	_ASM_EXTABLE(.Lvmrun, .Lfault_vmrun)
	_ASM_EXTABLE(.Lguest_vmsave, .Lfault_guest_vmsave)
	_ASM_EXTABLE(.Lhost_vmload, .Lfault_host_vmload)
SYM_FUNC_END(svm_vmrun)
