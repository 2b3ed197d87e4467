// SPDX-License-Identifier: GPL-2.0
/*
 * The Linux side of every row: the same operations as a plain process
 * (never in Dune mode) does them, following the original bench_linux.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define PG	BENCH_PGSIZE

/* ------------------------------------------------------------ syscall */

static void l_syscall(const struct bench_params *p, struct side_result *r)
{
	long n = p->ops[ROW_SYSCALL], i;
	uint64_t t0, t1;
	int run;

	for (i = 0; i < 100; i++)
		bench_raw_getpid();
	for (run = 0; run < p->runs; run++) {
		t0 = bench_tsc();
		for (i = 0; i < n; i++)
			bench_raw_getpid();
		t1 = bench_tsc();
		bench_record(r, run, t1 - t0, n);
	}
}

/* ------------------------------------------------------------ pgfault */

static void *fresh_region(size_t len)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	/* 4K pages in both modes: a THP fault would fill 512 at once. */
	madvise(m, len, MADV_NOHUGEPAGE);
	return m;
}

/* A kernel page fault per page: first write to fresh anonymous memory.
 * Run -1 warms up and is not recorded. */
static void l_pgfault(const struct bench_params *p, struct side_result *r, long n)
{
	uint64_t t0, t1;
	uint8_t *m;
	long i;
	int run;

	for (run = -1; run < p->runs; run++) {
		m = fresh_region(n * PG);
		if (!m) {
			bench_fail(r, -errno, "mmap of %ld pages", n);
			return;
		}
		t0 = bench_tsc();
		for (i = 0; i < n; i++)
			((volatile uint8_t *)m)[i * PG] = (uint8_t)i;
		t1 = bench_tsc();
		munmap(m, n * PG);
		if (run >= 0)
			bench_record(r, run, t1 - t0, n);
	}
}

static void l_pgfault_row(const struct bench_params *p, struct side_result *r)
{
	l_pgfault(p, r, p->ops[ROW_PGFAULT]);
}

static void l_pgfault_nested_row(const struct bench_params *p, struct side_result *r)
{
	l_pgfault(p, r, p->ops[ROW_PGFAULT_NESTED]);
}

/*
 * User-level fault handling the classic way (beside the Dune side's ring-0
 * handler that maps a page): the memory is PROT_NONE, the SIGSEGV handler
 * makes the page accessible, and the retried write takes the kernel fault
 * that gives it a page.
 */
static uintptr_t sv_base;
static size_t sv_len;
static volatile long sv_faults;

static void sv_handler(int sig, siginfo_t *si, void *ctx)
{
	uintptr_t a = (uintptr_t)si->si_addr & ~(PG - 1);

	if (a - sv_base >= sv_len) {
		signal(SIGSEGV, SIG_DFL);	/* not ours: crash on the retry */
		return;
	}
	mprotect((void *)a, PG, PROT_READ | PROT_WRITE);
	sv_faults++;
}

void l_pgfault_sigsegv(const struct bench_params *p, struct side_result *r)
{
	long n = p->ops[ROW_PGFAULT], i;
	struct sigaction sa;
	uint64_t t0, t1;
	uint8_t *m;
	int run;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sv_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL)) {
		bench_fail(r, -errno, "sigaction");
		return;
	}
	sv_len = n * PG;
	for (run = -1; run < p->runs; run++) {	/* run -1 warms up */
		m = mmap(NULL, sv_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED) {
			bench_fail(r, -errno, "mmap of %ld pages", n);
			break;
		}
		madvise(m, sv_len, MADV_NOHUGEPAGE);
		sv_base = (uintptr_t)m;
		sv_faults = 0;
		t0 = bench_tsc();
		for (i = 0; i < n; i++)
			((volatile uint8_t *)m)[i * PG] = (uint8_t)i;
		t1 = bench_tsc();
		munmap(m, sv_len);
		if (sv_faults != n) {
			bench_fail(r, -EIO, "%ld SIGSEGVs for %ld pages", sv_faults, n);
			break;
		}
		bench_record(r, run, t1 - t0, n);
	}
	signal(SIGSEGV, SIG_DFL);
}

/* ------------------------------------------------------------- ptwalk */

static void l_ptwalk(const struct bench_params *p, struct side_result *r)
{
	long n = p->ops[ROW_PTWALK];
	uint64_t t0, t1;
	uint8_t *m;
	void *start;
	int run;

	m = fresh_region(p->ptwalk_pages * PG);
	if (!m) {
		bench_fail(r, -errno, "mmap of %ld pages", p->ptwalk_pages);
		return;
	}
	start = chase_build(m, p->ptwalk_pages);
	if (!start) {
		munmap(m, p->ptwalk_pages * PG);
		bench_fail(r, -ENOMEM, "no memory for the permutation");
		return;
	}
	start = chase_run(start, p->ptwalk_pages);
	for (run = 0; run < p->runs; run++) {
		t0 = bench_tsc();
		start = chase_run(start, n);
		t1 = bench_tsc();
		bench_record(r, run, t1 - t0, n);
	}
	munmap(m, p->ptwalk_pages * PG);
}

/* ------------------------------------------------------------- ptrace */

#define TRACER_ANSWER	0x5eedL	/* what the tracer makes getpid return */

/* The traced child: n getpid calls the tracer answers (PTRACE_SYSEMU:
 * the kernel never runs them), timed; then sched_yield tells the tracer
 * to let go. */
static void __attribute__((noreturn)) tracee(long n, volatile uint64_t *out)
{
	uint64_t t0, t1;
	long i, bad = 0;

	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		_exit(2);
	raise(SIGSTOP);
	t0 = bench_tsc();
	for (i = 0; i < n; i++)
		bad += bench_raw_getpid() != TRACER_ANSWER;
	t1 = bench_tsc();
	out[0] = t1 - t0;
	out[1] = bad;
	syscall(SYS_sched_yield);
	_exit(0);
}

/* Serve the tracee's system calls until the one after its loop; returns
 * how many getpid calls it answered, or a negative errno. */
static long tracer_loop(pid_t pid)
{
	struct user_regs_struct regs;
	long answered = 0;
	int st, sig;

	for (;;) {
		if (waitpid(pid, &st, 0) != pid)
			return -errno;
		if (!WIFSTOPPED(st))
			return -ECHILD;
		sig = WSTOPSIG(st);
		if (sig != (SIGTRAP | 0x80)) {
			/* Not a system-call stop: pass the signal on. */
			if (ptrace(PTRACE_SYSEMU, pid, NULL, (void *)(long)sig))
				return -errno;
			continue;
		}
		if (ptrace(PTRACE_GETREGS, pid, NULL, &regs))
			return -errno;
		if (regs.orig_rax != SYS_getpid) {
			/* The loop is over; this call (sched_yield) is skipped,
			 * which does no harm. */
			if (ptrace(PTRACE_DETACH, pid, NULL, NULL))
				return -errno;
			return answered;
		}
		regs.rax = TRACER_ANSWER;
		if (ptrace(PTRACE_SETREGS, pid, NULL, &regs) ||
		    ptrace(PTRACE_SYSEMU, pid, NULL, NULL))
			return -errno;
		answered++;
	}
}

static int ptrace_once(long n, volatile uint64_t *out, struct side_result *r)
{
	long answered;
	pid_t pid;
	int st;

	pid = fork();
	if (pid < 0) {
		bench_fail(r, -errno, "fork");
		return -1;
	}
	if (pid == 0)
		tracee(n, out);
	if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st) || WSTOPSIG(st) != SIGSTOP) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		bench_fail(r, -ECHILD, "the tracee did not stop for its tracer");
		return -1;
	}
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL,
		   (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)) ||
	    ptrace(PTRACE_SYSEMU, pid, NULL, NULL)) {
		bench_fail(r, -errno, "PTRACE_SETOPTIONS/PTRACE_SYSEMU");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	answered = tracer_loop(pid);
	if (answered < 0)
		kill(pid, SIGKILL);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    answered != n || out[1]) {
		bench_fail(r, answered < 0 ? (int)answered : -EIO,
			   "tracer answered %ld of %ld calls, %lu wrong results, child status %#x",
			   answered, n, (unsigned long)out[1], st);
		return -1;
	}
	return 0;
}

static void l_ptrace(const struct bench_params *p, struct side_result *r)
{
	long n = p->ops[ROW_PTRACE];
	volatile uint64_t *out;
	int run;

	/* Tracer and tracee on one CPU, as the other interposers' threads:
	 * the stop and resume are the cost, not a cross-CPU wake-up. */
	bench_pin_cpu();
	out = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (out == MAP_FAILED) {
		bench_fail(r, -errno, "mmap");
		return;
	}
	for (run = 0; run < p->runs; run++) {
		if (ptrace_once(n, out, r))
			break;
		bench_record(r, run, out[0], n);
	}
	munmap((void *)out, PG);
}

/* --------------------------------------------------------------- trap */

static volatile long n_traps;

static void on_sigtrap(int sig)
{
	n_traps++;
}

/* int3 -> SIGTRAP handler -> sigreturn, back after the int3. */
static void l_trap(const struct bench_params *p, struct side_result *r)
{
	long n = p->ops[ROW_TRAP], i;
	struct sigaction sa;
	uint64_t t0, t1;
	int run;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigtrap;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTRAP, &sa, NULL)) {
		bench_fail(r, -errno, "sigaction");
		return;
	}
	for (i = 0; i < 10; i++)
		__asm__ __volatile__("int3" : : : "memory");
	for (run = 0; run < p->runs; run++) {
		n_traps = 0;
		t0 = bench_tsc();
		for (i = 0; i < n; i++)
			__asm__ __volatile__("int3" : : : "memory");
		t1 = bench_tsc();
		if (n_traps != n) {
			bench_fail(r, -EIO, "%ld SIGTRAPs for %ld int3", n_traps, n);
			return;
		}
		bench_record(r, run, t1 - t0, n);
	}
}

/* -------------------------------------------------------- appel1, appel2 */

/*
 * Appel and Li's PROT1+TRAP+UNPROT and PROTN+TRAP+UNPROT, as bench_linux.c
 * does them: a region of 2 * npg pages; one operation is a pass writing
 * the first npg pages, each of which traps.
 */
static uint8_t *amem;
static long anpg;
static volatile long a_traps;

static void appel1_handler(int sig, siginfo_t *si, void *ctx)
{
	uintptr_t a = (uintptr_t)si->si_addr & ~(PG - 1);

	a_traps++;
	mprotect((void *)a, PG, PROT_READ | PROT_WRITE);	/* UNPROT */
	mprotect((void *)(a + anpg * PG), PG, PROT_READ);	/* PROT1 */
}

static void appel2_handler(int sig, siginfo_t *si, void *ctx)
{
	uintptr_t a = (uintptr_t)si->si_addr & ~(PG - 1);

	a_traps++;
	mprotect((void *)a, PG, PROT_READ | PROT_WRITE);	/* UNPROT */
}

static void l_appel(const struct bench_params *p, struct side_result *r, bool protn)
{
	long n = p->ops[protn ? ROW_APPEL2 : ROW_APPEL1], i, k;
	struct sigaction sa;
	uint64_t t0, t1, sum;
	int run;

	anpg = p->appel_pages;
	amem = mmap(NULL, 2 * anpg * PG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (amem == MAP_FAILED) {
		bench_fail(r, -errno, "mmap");
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = protn ? appel2_handler : appel1_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL)) {
		bench_fail(r, -errno, "sigaction");
		return;
	}
	for (run = 0; run < p->runs; run++) {
		sum = 0;
		a_traps = 0;
		for (k = 0; k < n; k++) {
			if (protn) {
				mprotect(amem, 2 * anpg * PG, PROT_READ | PROT_WRITE);
				for (i = 0; i < 2 * anpg; i++)
					amem[i * PG] = (uint8_t)i;
				t0 = bench_tsc();
				mprotect(amem, anpg * PG, PROT_READ);	/* PROTN */
			} else {
				mprotect(amem, anpg * PG, PROT_READ);
				t0 = bench_tsc();
			}
			for (i = 0; i < anpg; i++)
				((volatile uint8_t *)amem)[i * PG] = (uint8_t)i;	/* TRAP */
			t1 = bench_tsc();
			sum += t1 - t0;
		}
		if (a_traps != n * anpg) {
			bench_fail(r, -EIO, "%ld traps for %ld pages", a_traps, n * anpg);
			return;
		}
		/* bench_record subtracts one overhead; n passes had n. */
		bench_record(r, run, sum - (n - 1) * bench_tsc_overhead, n);
	}
	signal(SIGSEGV, SIG_DFL);
	munmap(amem, 2 * anpg * PG);
}

static void l_appel1(const struct bench_params *p, struct side_result *r)
{
	l_appel(p, r, false);
}

static void l_appel2(const struct bench_params *p, struct side_result *r)
{
	l_appel(p, r, true);
}

const side_fn bench_linux[NR_ROWS] = {
	[ROW_SYSCALL] = l_syscall,
	[ROW_SYSCALL_SECCOMP] = l_syscall_seccomp,
	[ROW_PGFAULT] = l_pgfault_row,
	[ROW_PGFAULT_NESTED] = l_pgfault_nested_row,
	[ROW_PTWALK] = l_ptwalk,
	[ROW_PTRACE] = l_ptrace,
	[ROW_TRAP] = l_trap,
	[ROW_APPEL1] = l_appel1,
	[ROW_APPEL2] = l_appel2,
	[ROW_IPI] = l_ipi,
	[ROW_STARTUP] = l_startup,
};
