/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Entering Dune mode, the guest's SYSCALL entry, and exception entry.
 */
#include <asm/unistd_64.h>

#include "offsets.h"

	.text

/*
 * int __dune_enter(struct dune_config *conf, void *host_stack,
 *		    int (*host_loop)(struct dune_config *))
 *
 * The guest starts at __dune_ret on this stack and returns 0 to our
 * caller.  Host mode keeps running host_loop on its own stack (the guest
 * will reuse this one); host_loop returns only when entering failed, and we
 * return its (negative) value in host mode.
 */
	.globl __dune_enter
	.type __dune_enter, @function
__dune_enter:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, CONF_RSP(%rdi)
	lea __dune_ret(%rip), %rax
	mov %rax, CONF_RIP(%rdi)
	mov %rsp, %r12
	mov %rsi, %rsp
	call *%rdx
	mov %r12, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret
	.size __dune_enter, . - __dune_enter

__dune_ret:
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	xor %eax, %eax
	ret

/*
 * SYSCALL in the guest: hand the call to the host with the hypercall
 * (registers as the caller left them), then return like SYSRET would but
 * staying in ring 0: RFLAGS from r11, RIP from rcx.
 */
/*
 * Before a call that may change the process's mappings, bump
 * dune_map_gen: fullmap.c drops what it read of /proc/self/maps.  Flags
 * are free to clobber (SYSCALL saved RFLAGS in r11).
 */
.macro MAP_GEN_BUMP
	cmp $__NR_mmap, %rax		/* mmap, mprotect, munmap, brk: 9..12 */
	jb 2f
	cmp $__NR_brk, %rax
	jbe 1f
	cmp $__NR_mremap, %rax
	je 1f
	cmp $__NR_madvise, %rax
	je 1f
	cmp $__NR_shmat, %rax
	je 1f
	cmp $__NR_shmdt, %rax
	je 1f
	cmp $__NR_remap_file_pages, %rax
	je 1f
	cmp $__NR_pkey_mprotect, %rax
	jne 2f
1:	lock incq dune_map_gen(%rip)
2:
.endm

/*
 * The _insn labels mark the hypercall itself: a guest stopped there is at
 * a system call, where libdune may deliver a signal (entry.c,
 * guest_interruptible) although SYSCALL cleared IF.
 */
	.globl __dune_syscall_vmcall, __dune_syscall_vmcall_insn
__dune_syscall_vmcall:
	MAP_GEN_BUMP
__dune_syscall_vmcall_insn:
	vmcall
	jmp __dune_syscall_signals

	.globl __dune_syscall_vmmcall, __dune_syscall_vmmcall_insn
__dune_syscall_vmmcall:
	MAP_GEN_BUMP
__dune_syscall_vmmcall_insn:
	vmmcall
	/* fall through */

/* A signal for the guest that the host loop could not deliver before the
 * last entry (it came in between) is taken here, at the system call's
 * return, through the kick vector. */
__dune_syscall_signals:
	cmpq $0, %gs:PC_SIG_PENDING
	je __dune_syscall_return
	int $DUNE_SIGNAL_KICK
	/* fall through */

/* The caller's red zone below rsp may be live: step over it (lea leaves
 * the flags alone) to restore RFLAGS from r11. */
	.globl __dune_syscall_return
__dune_syscall_return:
	lea -128(%rsp), %rsp
	push %r11
	popfq
	lea 128(%rsp), %rsp
	jmp *%rcx

/*
 * long __dune_host_clone(struct dune_regs *r, void *new_stack)
 *
 * Run a clone-family call for the guest in host mode.  The parent gets the
 * result back here.  The child continues the guest's code, in host mode, at
 * the end of the SYSCALL path with the guest's registers: on @new_stack if
 * the call gave one (its caller's rcx and r11 were stored just below it),
 * else on the guest's own stack.
 */
	.globl __dune_host_clone
__dune_host_clone:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rdi, %rax
	push REGS_RSP(%rax)
	push REGS_RCX(%rax)
	push REGS_R11(%rax)
	movq $0, -8(%rsp)
	test %rsi, %rsi
	jz 1f
	movq $DUNE_CLONE_MAGIC, -8(%rsi)
	mov REGS_RCX(%rax), %rcx
	mov %rcx, -16(%rsi)
	mov REGS_R11(%rax), %rcx
	mov %rcx, -24(%rsi)
1:	mov REGS_RBX(%rax), %rbx
	mov REGS_RBP(%rax), %rbp
	mov REGS_R12(%rax), %r12
	mov REGS_R13(%rax), %r13
	mov REGS_R14(%rax), %r14
	mov REGS_R15(%rax), %r15
	mov REGS_RDI(%rax), %rdi
	mov REGS_RSI(%rax), %rsi
	mov REGS_RDX(%rax), %rdx
	mov REGS_R10(%rax), %r10
	mov REGS_R8(%rax), %r8
	mov REGS_R9(%rax), %r9
	mov REGS_RAX(%rax), %rax
	syscall
	test %rax, %rax
	jz 2f
	add $24, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret
2:	/* Child: the word below rsp says which stack it is on. */
	cmpq $DUNE_CLONE_MAGIC, -8(%rsp)
	je 3f
	/* Same stack as the parent had: our three words are on top. */
	pop %r11
	pop %rcx
	pop %rsp
	jmp __dune_syscall_return
3:	/* On the new stack. */
	mov -16(%rsp), %rcx
	mov -24(%rsp), %r11
	jmp __dune_syscall_return

/*
 * Traps, interrupts, ring 3.
 *
 * The guest GS base points at this thread's struct dune_percpu whenever
 * ring-0 code runs; ring-3 code runs with its own GS base and the percpu
 * pointer waits in KERNEL_GS_BASE (SWAPGS at each ring change, SDM Vol. 2B
 * SWAPGS), so nothing ring-3 code does to its GS can steer ring 0.
 *
 * Every IDT gate uses IST1 (ring-0 code keeps a red zone below rsp that a
 * push would clobber).  A trap in progress lowers IST1 by PC_IST_FRAME so a
 * nested trap (a fault inside a handler) gets its own frame below.
 *
 * The handler is C: the interrupted code's vector and x87 state are saved
 * with XSAVE (or FXSAVE) around it.
 */

/* Save the full extended state below %rsp; %rbx keeps the frame. */
.macro SAVE_XSTATE
	mov %rsp, %rbx
	sub dune_xsave_size(%rip), %rsp
	and $-64, %rsp
	cmpl $0, dune_xsave_mask_lo(%rip)
	je 91f
	/* XRSTOR needs a zeroed XSAVE header (SDM Vol. 1 13.4.2). */
	xor %eax, %eax
	mov %rax, 512(%rsp)
	mov %rax, 520(%rsp)
	mov %rax, 528(%rsp)
	mov %rax, 536(%rsp)
	mov %rax, 544(%rsp)
	mov %rax, 552(%rsp)
	mov %rax, 560(%rsp)
	mov %rax, 568(%rsp)
	mov dune_xsave_mask_lo(%rip), %eax
	mov dune_xsave_mask_hi(%rip), %edx
	xsave64 (%rsp)
	jmp 92f
91:	fxsave64 (%rsp)
92:
.endm

.macro RESTORE_XSTATE
	cmpl $0, dune_xsave_mask_lo(%rip)
	je 93f
	mov dune_xsave_mask_lo(%rip), %eax
	mov dune_xsave_mask_hi(%rip), %edx
	xrstor64 (%rsp)
	jmp 94f
93:	fxrstor64 (%rsp)
94:	mov %rbx, %rsp
.endm

.macro SAVE_TF_REGS
	mov %rdi, TF_RDI(%rsp)
	mov %rsi, TF_RSI(%rsp)
	mov %rdx, TF_RDX(%rsp)
	mov %rcx, TF_RCX(%rsp)
	mov %r8, TF_R8(%rsp)
	mov %r9, TF_R9(%rsp)
	mov %r10, TF_R10(%rsp)
	mov %r11, TF_R11(%rsp)
	mov %rbx, TF_RBX(%rsp)
	mov %rbp, TF_RBP(%rsp)
	mov %r12, TF_R12(%rsp)
	mov %r13, TF_R13(%rsp)
	mov %r14, TF_R14(%rsp)
	mov %r15, TF_R15(%rsp)
.endm

.macro RESTORE_TF_REGS
	mov TF_RDI(%rsp), %rdi
	mov TF_RSI(%rsp), %rsi
	mov TF_RDX(%rsp), %rdx
	mov TF_RCX(%rsp), %rcx
	mov TF_R8(%rsp), %r8
	mov TF_R9(%rsp), %r9
	mov TF_R10(%rsp), %r10
	mov TF_R11(%rsp), %r11
	mov TF_RBX(%rsp), %rbx
	mov TF_RBP(%rsp), %rbp
	mov TF_R12(%rsp), %r12
	mov TF_R13(%rsp), %r13
	mov TF_R14(%rsp), %r14
	mov TF_R15(%rsp), %r15
	mov TF_RAX(%rsp), %rax
.endm

/* Ring 3 -> ring 0, with GS already the percpu: SYSCALL comes here again,
 * ring-0 FS back.  Clobbers rax, rcx, rdx. */
.macro FROM_USER
	mov %gs:PC_LSTAR_K, %rax
	mov %rax, %rdx
	shr $32, %rdx
	mov $MSR_LSTAR_NR, %ecx
	wrmsr
	mov $MSR_FS_BASE_NR, %ecx
	rdmsr
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, %gs:PC_UFS
	cmp %gs:PC_KFS, %rax
	je 95f
	mov %gs:PC_KFS, %rax
	mov %rax, %rdx
	shr $32, %rdx
	wrmsr
95:	movq $0, %gs:PC_IN_USER
.endm

/* Ring 0 -> ring 3 (SWAPGS follows).  Clobbers rax, rcx, rdx. */
.macro TO_USER
	movq $1, %gs:PC_IN_USER
	mov %gs:PC_UFS, %rax
	cmp %gs:PC_KFS, %rax
	je 96f
	mov %rax, %rdx
	shr $32, %rdx
	mov $MSR_FS_BASE_NR, %ecx
	wrmsr
96:	mov %gs:PC_LSTAR_U, %rax
	mov %rax, %rdx
	shr $32, %rdx
	mov $MSR_LSTAR_NR, %ecx
	wrmsr
.endm

/* Take the next IST1 frame; a nested trap lands below this one.  Clobbers
 * rax.  Past the last frame the process dies: see dune_trap_overflow. */
.macro IST_PUSH
	mov %gs:PC_IST_FRAME, %rax
	sub %rax, %gs:PC_TSS_IST1
	mov %gs:PC_TSS_IST1, %rax
	cmp %gs:PC_IST_LOW, %rax
	jb __dune_trap_overflow
.endm

.macro IST_POP
	mov %gs:PC_IST_FRAME, %rax
	add %rax, %gs:PC_TSS_IST1
.endm

/* Every vector pushes an error code (0 if the CPU does not) and its
 * number, which __dune_trap_common turns into a struct dune_tf. */
	.align 16
	.globl __dune_trap_stubs
__dune_trap_stubs:
	vec = 0
	.rept 256
	.align 16
	.if vec <> 8 && (vec < 10 || vec > 14) && vec <> 17 && vec <> 21 && vec <> 29 && vec <> 30
	push $0
	.endif
	push $vec
	jmp __dune_trap_common
	vec = vec + 1
	.endr

__dune_trap_common:
	/* The vector's slot becomes tf->rax. */
	sub $TF_RAX, %rsp
	SAVE_TF_REGS
	mov TF_RAX(%rsp), %r12
	mov %rax, TF_RAX(%rsp)
	testb $3, TF_CS(%rsp)
	jz 1f
	swapgs
	FROM_USER
1:	IST_PUSH
	SAVE_XSTATE
	mov %r12, %rdi
	mov %rbx, %rsi
	call dune_trap_handler
	RESTORE_XSTATE
	IST_POP
	/* fall through */

/* Return to the frame at %rsp (ring 0 or ring 3). */
__dune_trap_return:
	testb $3, TF_CS(%rsp)
	jz 2f
	TO_USER
	swapgs
2:	RESTORE_TF_REGS
	add $TF_RIP, %rsp
	iretq

/* The trap stack is exhausted (a fault inside every nested handler): keep
 * the last frame and let C end the process. */
__dune_trap_overflow:
	IST_POP
	mov %rsp, %rdi
	and $-16, %rsp
	call dune_trap_overflow
	ud2

/*
 * SYSCALL from ring 3.  Builds a struct dune_tf on a fresh trap frame as an
 * exception would (tf->rcx carries the fourth argument, r10, as in the
 * original libdune) and calls dune_syscall_handler; returns with IRETQ so
 * whatever RIP/RFLAGS the handler leaves are safe (SYSRET faults in ring 0
 * on a non-canonical RCX on Intel, SDM Vol. 2B SYSRET).
 */
	.globl __dune_user_syscall
__dune_user_syscall:
	swapgs
	mov %rsp, %gs:PC_TMP
	mov %gs:PC_TSS_IST1, %rsp
	push $SEL_UD
	push %gs:PC_TMP
	push %r11
	push $SEL_UT
	push %rcx
	push $0
	sub $TF_ERR, %rsp
	SAVE_TF_REGS
	mov %r10, TF_RCX(%rsp)
	mov %rax, TF_RAX(%rsp)
	FROM_USER
	IST_PUSH
	SAVE_XSTATE
	mov %rbx, %rdi
	call dune_syscall_handler
	RESTORE_XSTATE
	IST_POP
	jmp __dune_trap_return

/*
 * int dune_jump_to_user(struct dune_tf *tf)
 * Runs @tf in ring 3; dune_ret_from_user(ret) comes back here with ret.
 *
 * Calls nest: a ring-0 handler may run other ring-3 code with its own
 * dune_jump_to_user (the original's wedge schedules sthreads that way).
 * So the outer call's saved stack and the IST1 in use at the call (below
 * the handler's own trap frame) are kept on this stack, and
 * dune_ret_from_user goes back to the innermost call with both restored:
 * the outer handler's frame stays intact and the outer ring-3 code can
 * still return to its own caller.
 */
	.globl dune_jump_to_user
	.type dune_jump_to_user, @function
dune_jump_to_user:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	push %gs:PC_USER_RET
	push %gs:PC_TSS_IST1
	mov %rsp, %gs:PC_USER_RET
	/* The ring-0 FS base to come back to is the current one. */
	mov $MSR_FS_BASE_NR, %ecx
	rdmsr
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, %gs:PC_KFS
	movw $SEL_UT, TF_CS(%rdi)
	movw $SEL_UD, TF_SS(%rdi)
	/* fall through */

/* void dune_pop_trap_frame(struct dune_tf *tf) */
	.globl dune_pop_trap_frame
	.type dune_pop_trap_frame, @function
dune_pop_trap_frame:
	mov %rdi, %rsp
	jmp __dune_trap_return
	.size dune_jump_to_user, . - dune_jump_to_user

/* void dune_ret_from_user(int ret): from a ring-0 handler, back to the
 * caller of the innermost dune_jump_to_user; every trap frame taken since
 * that call is dropped. */
	.globl dune_ret_from_user
	.type dune_ret_from_user, @function
dune_ret_from_user:
	movslq %edi, %rax
	mov %gs:PC_USER_RET, %rsp
	pop %gs:PC_TSS_IST1
	pop %gs:PC_USER_RET
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret
	.size dune_ret_from_user, . - dune_ret_from_user

/* Load the ring-0 segments of the guest GDT (GD_KT/GD_KD) once it is
 * installed: the module starts the guest on its own selectors. */
	.globl __dune_load_segments
__dune_load_segments:
	pushq $SEL_KT
	lea 1f(%rip), %rax
	push %rax
	lretq
1:	mov $SEL_KD, %eax
	mov %eax, %ss
	mov %eax, %ds
	mov %eax, %es
	ret

	.section .note.GNU-stack, "", @progbits
