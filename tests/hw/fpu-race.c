// SPDX-License-Identifier: GPL-2.0
/*
 * A Dune process's guest state survives other CPUs restoring FPU state.
 *
 * One plain process runs FXRSTOR in a tight loop on one CPU while a Dune
 * process on another CPU makes system calls (one VM exit and entry each)
 * and checks every result.  On hardware this is unremarkable.  On QEMU's
 * multi-threaded TCG it is exactly what breaks the emulated AMD-V of the
 * first vCPU: QEMU's FXRSTOR/XRSTOR helper clears IGNNE in CPU 0's hidden
 * flags from whatever vCPU thread runs it, without synchronization, and so
 * undoes CPU 0's concurrent #VMEXIT "nested paging off"; the next host
 * instruction fetch then takes a second #VMEXIT that overwrites the guest's
 * state in the VMCB with the host's (docs/threat-model.md).  The test
 * runner keeps the tests off CPU 0 on that machine, and this test checks
 * that the CPUs the tests run on are sound.
 *
 * FPU_RACE_CPU0=1 also runs the Dune side on CPU 0 (if the tests were kept
 * off it) and reports how often the emulator lost its state there; every
 * loss must end the Dune process with a kill from libdune, never with a
 * wrong system call result.  Opt-in because an emulator that loses the
 * nested-paging bit may also run a guest without nested paging, which can
 * write anywhere in the emulated host.
 */
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "dunetest.h"

#define RUN_SECONDS	3.0	/* per run: whichever comes first */
#define RUN_CALLS	30000
#define RUNS		3
#define CPU0_SECONDS	8.0	/* the defect shows within seconds */

struct shared {
	volatile int stop;
	volatile unsigned long restores;
	volatile unsigned long calls;
};

static struct shared *sh;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		_exit(4);
}

static void restorer(int cpu)
{
	static char area[512] __attribute__((aligned(64)));
	unsigned long n = 0;
	int i;

	pin(cpu);
	asm volatile("fxsave64 %0" : "=m"(area));
	while (!sh->stop) {
		for (i = 0; i < 1000; i++)
			asm volatile("fxrstor64 %0" : : "m"(area));
		n += 1000;
	}
	sh->restores = n;
	_exit(0);
}

/* Exit 0 after @calls correct calls or @seconds; 3: a wrong result. */
static void dune_caller(int cpu, double seconds, unsigned long calls)
{
	pid_t parent = getppid();
	double t0;
	unsigned long n;

	pin(cpu);
	if (dune_init_and_enter())
		_exit(CHILD_NO_DUNE);
	t0 = now();
	for (n = 0; n < calls && (n % 256 || now() - t0 < seconds); n++)
		if (syscall(SYS_getppid) != parent)
			_exit(3);
	sh->calls = n;
	_exit(0);
}

/* One run: the wait status of the Dune process. */
static int run(int dune_cpu, int restore_cpu, double seconds, unsigned long calls)
{
	pid_t r, d;
	int st, rst;

	sh->stop = 0;
	sh->restores = sh->calls = 0;
	r = fork();
	if (r == 0)
		restorer(restore_cpu);
	d = fork();
	if (d == 0)
		dune_caller(dune_cpu, seconds, calls);
	waitpid(d, &st, 0);
	sh->stop = 1;
	waitpid(r, &rst, 0);
	return st;
}

static void sound_cpus(const int two[2])
{
	char buf[64];
	int i, good = 0, st = 0;

	for (i = 0; i < RUNS; i++) {
		st = run(two[i % 2], two[(i + 1) % 2], RUN_SECONDS, RUN_CALLS);
		good += WIFEXITED(st) && WEXITSTATUS(st) == 0 && sh->calls > 0;
		if (WIFEXITED(st) && WEXITSTATUS(st) == CHILD_NO_DUNE)
			SKIP_ALL("cannot enter Dune mode");
		printf("# run %d: Dune on CPU %d: %lu calls, FXRSTOR on CPU %d: %lu (%s)\n",
		       i + 1, two[i % 2], sh->calls, two[(i + 1) % 2], sh->restores,
		       describe_status(st, buf, sizeof(buf)));
	}
	CHECK(good == RUNS, "CPUs %d and %d: %d of %d runs with every system call right",
	      two[0], two[1], good, RUNS);
}

static int cpu0_excluded(void)
{
	cpu_set_t set;

	return sched_getaffinity(0, sizeof(set), &set) == 0 && !CPU_ISSET(0, &set);
}

static void cpu0_report(int restore_cpu)
{
	int i, st, lost = 0, wrong = 0;

	for (i = 0; i < RUNS; i++) {
		st = run(0, restore_cpu, CPU0_SECONDS, ~0UL);
		if (WIFSIGNALED(st) && (WTERMSIG(st) == SIGKILL || WTERMSIG(st) == SIGSEGV))
			lost++;		/* libdune: state lost / triple fault */
		else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			wrong++;
	}
	printf("# CPU 0: the emulator lost the guest state in %d of %d runs\n", lost, RUNS);
	CHECK(wrong == 0, "CPU 0: no run ended with a wrong result (%d)", wrong);
}

int main(void)
{
	int two[2];

	if (hwtest_two_cpus(two) < 2)
		SKIP_ALL("needs two CPUs");
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		SKIP_ALL("no shared memory");
	sound_cpus(two);
	if (getenv("FPU_RACE_CPU0") && cpu0_excluded())
		cpu0_report(two[0]);
	return hwtest_done();
}
