// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Guest exception handling.  Built with -mgeneral-regs-only: the code it
 * interrupts owns the vector registers.
 */
#include <stdint.h>
#include <sys/syscall.h>

#include "internal.h"

static inline uint64_t read_cr2(void)
{
	uint64_t v;

	asm volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

/* A raw system call from guest ring 0 (the SYSCALL path, no libc). */
static long guest_syscall3(long nr, long a, long b, long c)
{
	long ret;

	asm volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c)
		     : "rcx", "r11", "memory");
	return ret;
}

static long guest_syscall4(long nr, long a, long b, long c, long d)
{
	register long r10 asm("r10") = d;
	long ret;

	asm volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
		     : "rcx", "r11", "memory");
	return ret;
}

static void say(const char *s)
{
	unsigned long n = 0;

	while (s[n])
		n++;
	guest_syscall3(SYS_write, 2, (long)s, n);
}

static void say_hex(uint64_t v)
{
	char buf[19] = "0x";
	int i;

	for (i = 0; i < 16; i++)
		buf[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
	buf[18] = 0;
	say(buf);
}

/* Demand paging: a not-present fault on a process address maps it (the
 * nested page table still enforces the process's own permissions). */
static int handle_page_fault(struct dune_tf *tf)
{
	uint64_t va = read_cr2();

	if (tf->err & 1)	/* protection violation, not a missing page */
		return -1;
	return dune_map_page(va, PTE_W);
}

/* Linux's signal for an unhandled exception in user mode. */
static int trap_signal(uint64_t vector)
{
	switch (vector) {
	case 0: case 16: case 19:
		return 8;	/* SIGFPE */
	case 1: case 3:
		return 5;	/* SIGTRAP */
	case 6:
		return 4;	/* SIGILL */
	case 17:
		return 7;	/* SIGBUS */
	default:
		return 11;	/* SIGSEGV */
	}
}

/* End the process by that signal, with its default action. */
static void die_by_signal(int sig)
{
	struct { unsigned long handler, flags, restorer, mask; } sa = { 0, 0, 0, 0 };

	guest_syscall4(SYS_rt_sigaction, sig, (long)&sa, 0, 8);
	guest_syscall3(SYS_kill, guest_syscall3(SYS_getpid, 0, 0, 0), sig, 0);
	guest_syscall3(SYS_exit_group, 128 + sig, 0, 0);
}

void dune_trap(struct dune_tf *tf)
{
	if (tf->vector == 14 && handle_page_fault(tf) == 0)
		return;
	say("dune: unhandled exception ");
	say_hex(tf->vector);
	say(" err ");
	say_hex(tf->err);
	say(" rip ");
	say_hex(tf->rip);
	if (tf->vector == 14) {
		say(" cr2 ");
		say_hex(read_cr2());
	}
	say("\n");
	die_by_signal(trap_signal(tf->vector));
}
