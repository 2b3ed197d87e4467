/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Entering Dune mode, the guest's SYSCALL entry, and exception entry.
 */
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
	.globl __dune_syscall_vmcall
__dune_syscall_vmcall:
	vmcall
	jmp __dune_syscall_return

	.globl __dune_syscall_vmmcall
__dune_syscall_vmmcall:
	vmmcall
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

/* Exception entry: every vector pushes an error code (0 if the CPU does
 * not) and its number, then a common path saves a struct dune_tf. */
.macro TRAP_NOERR n
	.align 16
	push $0
	push $\n
	jmp __dune_trap_common
.endm
.macro TRAP_ERR n
	.align 16
	push $\n
	jmp __dune_trap_common
.endm

	.align 16
	.globl __dune_trap_stubs
__dune_trap_stubs:
	TRAP_NOERR 0
	TRAP_NOERR 1
	TRAP_NOERR 2
	TRAP_NOERR 3
	TRAP_NOERR 4
	TRAP_NOERR 5
	TRAP_NOERR 6
	TRAP_NOERR 7
	TRAP_ERR 8
	TRAP_NOERR 9
	TRAP_ERR 10
	TRAP_ERR 11
	TRAP_ERR 12
	TRAP_ERR 13
	TRAP_ERR 14
	TRAP_NOERR 15
	TRAP_NOERR 16
	TRAP_ERR 17
	TRAP_NOERR 18
	TRAP_NOERR 19
	TRAP_NOERR 20
	TRAP_ERR 21
	TRAP_NOERR 22
	TRAP_NOERR 23
	TRAP_NOERR 24
	TRAP_NOERR 25
	TRAP_NOERR 26
	TRAP_NOERR 27
	TRAP_NOERR 28
	TRAP_ERR 29
	TRAP_ERR 30
	TRAP_NOERR 31

__dune_trap_common:
	push %r15
	push %r14
	push %r13
	push %r12
	push %r11
	push %r10
	push %r9
	push %r8
	push %rdi
	push %rsi
	push %rbp
	push %rdx
	push %rcx
	push %rbx
	push %rax
	mov %rsp, %rdi
	call dune_trap
	pop %rax
	pop %rbx
	pop %rcx
	pop %rdx
	pop %rbp
	pop %rsi
	pop %rdi
	pop %r8
	pop %r9
	pop %r10
	pop %r11
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	add $16, %rsp
	iretq

	.section .note.GNU-stack, "", @progbits
