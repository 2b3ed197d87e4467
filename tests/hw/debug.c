// SPDX-License-Identifier: GPL-2.0
/*
 * Debug exceptions in the guest.  dune intercepts #DB (and #AC, #MC) so
 * that a guest's #DB never touches the debug state the host shares and
 * cannot recur without the host getting the CPU back; each #DB is then
 * delivered to the guest's own IDT as the CPU would:
 *  - RFLAGS.TF single-step in ring 0: one #DB per instruction, at the next
 *    instruction, until the handler clears TF;
 *  - INT1 (ICEBP): #DB with RIP past the instruction;
 *  - afterwards, on the same CPU, a host hardware watchpoint hit by kernel
 *    code (copy_to_user into a watched buffer) must not find the guest's
 *    single-step bit in DR6 (Linux WARNs on DR_STEP in a kernel #DB; the
 *    runner fails the test on any WARNING).
 */
#include <errno.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dunetest.h"

#define EFLAGS_TF	0x100UL
#define STEPS		5

static volatile int n_db;
static volatile uintptr_t db_rip[16];

static void on_db(struct dune_tf *tf)
{
	if (n_db < 16)
		db_rip[n_db] = tf->rip;
	n_db++;
	if (n_db >= STEPS)
		tf->rflags &= ~EFLAGS_TF;
}

extern char step_start[], step_end[], after_int1[];

static uint64_t exception_exits(void)
{
	struct dune_stats st;

	return dune_get_stats(&st) ? 0 : st.exits[DUNE_EXIT_EXCEPTION];
}

static void single_step_case(void *arg)
{
	uint64_t x0 = exception_exits();
	int i, ok = 1;

	dune_register_intr_handler(T_DEBUG, on_db);
	__asm__ __volatile__("pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n"
			     ".globl step_start\nstep_start:\n\t"
			     "nop\n\tnop\n\tnop\n\tnop\n\tnop\n\tnop\n\tnop\n\tnop\n"
			     ".globl step_end\nstep_end:\n" ::: "memory", "cc");
	/* #DB after each of the first STEPS nops, at the next one. */
	for (i = 0; i < STEPS; i++)
		ok &= db_rip[i] == (uintptr_t)step_start + i + 1;
	if (n_db != STEPS || !ok) {
		printf("#   %d #DB, first at %#lx (nops at %#lx)\n", n_db,
		       (unsigned long)db_rip[0], (unsigned long)step_start);
		exit(1);
	}
	/* Each went through the host (intercepted) and back. */
	if (exception_exits() - x0 < STEPS) {
		printf("#   %lu #DB exits for %d steps\n",
		       (unsigned long)(exception_exits() - x0), STEPS);
		exit(2);
	}
	exit(0);
}

/* QEMU's TCG does not implement INT1 (built without WANT_ICEBP): #UD. */
static void int1_ud(struct dune_tf *tf)
{
	exit(3);
}

static void int1_case(void *arg)
{
	dune_register_intr_handler(T_DEBUG, on_db);
	dune_register_intr_handler(T_ILLOP, int1_ud);
	__asm__ __volatile__(".byte 0xf1\n.globl after_int1\nafter_int1:\n" ::: "memory");
	if (n_db != 1 || db_rip[0] != (uintptr_t)after_int1) {
		printf("#   %d #DB at %#lx, want 1 at %#lx\n", n_db, (unsigned long)db_rip[0],
		       (unsigned long)after_int1);
		exit(1);
	}
	exit(0);
}

/*
 * A watchpoint on @buf that the kernel itself hits (read(2) from a pipe
 * writes @buf in kernel mode).  Returns the hit count, -1 if breakpoints
 * cannot be set here.
 */
static long kernel_hits_watchpoint(void)
{
	static char buf[64] __attribute__((aligned(64)));
	struct perf_event_attr a;
	long long hits = 0;
	int fd, p[2];

	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_BREAKPOINT;
	a.size = sizeof(a);
	a.bp_type = HW_BREAKPOINT_W;
	a.bp_addr = (uintptr_t)buf;
	a.bp_len = HW_BREAKPOINT_LEN_8;
	fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
	if (fd < 0 || pipe(p))
		return -1;
	if (write(p[1], "12345678", 8) != 8 || read(p[0], buf, 8) != 8)
		return -1;
	if (read(fd, &hits, sizeof(hits)) != sizeof(hits))
		return -1;
	close(fd);
	close(p[0]);
	close(p[1]);
	return hits;
}

int main(void)
{
	char sbuf[64];
	cpu_set_t one;
	int cpu[2], st, i;
	long hits;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Everything on one CPU: the host check must run where the guest did. */
	if (hwtest_two_cpus(cpu) < 1)
		return 1;
	CPU_ZERO(&one);
	CPU_SET(cpu[0], &one);
	sched_setaffinity(0, sizeof(one), &one);
	require_dune_mode();

	for (i = 0; i < 20; i++) {
		st = run_in_dune_child(single_step_case, NULL);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			break;
	}
	CHECK(i == 20, "ring-0 TF single-step: one intercepted #DB per instruction, at the next (%d of 20 runs; %s)",
	      i, describe_status(st, sbuf, sizeof(sbuf)));
	st = run_in_dune_child(int1_case, NULL);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
		printf("# this CPU raises #UD for INT1 (an emulator without ICEBP)\n");
	CHECK(WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 3),
	      "INT1: #DB past the instruction (or #UD where the CPU lacks it): %s",
	      describe_status(st, sbuf, sizeof(sbuf)));

	hwtest_mark("host watchpoint after guest single-steps");
	hits = kernel_hits_watchpoint();
	if (hits < 0)
		printf("# no hardware breakpoints here (%s)\n", strerror(errno));
	else
		printf("# a kernel write hit the host's watchpoint %ld time(s)\n", hits);
	CHECK(1, "host #DB after guest single-steps: the kernel log is checked for DR_STEP warnings");
	return hwtest_done();
}
