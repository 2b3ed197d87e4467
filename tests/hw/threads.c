// SPDX-License-Identifier: GPL-2.0
/*
 * Many threads in Dune mode at once: each enters on its own vCPU, makes
 * system calls and faults in memory while the scheduler moves them between
 * CPUs; all results must be right and every vCPU freed afterwards.  Then a
 * vCPU's nested faults on fresh memory while a sibling thread maps and
 * unmaps other memory: one fault per page, not a spin of retries for each
 * invalidation in progress elsewhere.  And DUNE_GET_PROCESS_STATS: the
 * counters of every vCPU the process had, ended threads and a thread still
 * running both counted.
 *
 *   threads [NTHREADS [NCALLS]]     (default 16 x 10000)
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "dunetest.h"

static int ncalls = 10000;
static pid_t main_pid;

struct result {
	long bad_pid;
	long bad_mem;
	int entered;
	unsigned int cpus_seen;
};

static void *worker(void *arg)
{
	struct result *res = arg;
	int i, two[2] = { 0, 0 };
	char *mem;

	if (hwtest_two_cpus(two) < 2)
		two[1] = two[0];
	res->entered = dune_enter() == 0;
	if (!res->entered)
		return NULL;
	mem = mmap(NULL, 64 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (i = 0; i < ncalls; i++) {
		unsigned int cpu = 0;

		if (syscall(SYS_getpid) != main_pid)
			res->bad_pid++;
		if (i % 64 == 0) {
			char *p = mem + (i / 64 % 64) * 4096;

			*p = (char)i;
			if (*p != (char)i)
				res->bad_mem++;
		}
		if (i % 500 == 0) {
			/* Move between two CPUs: forced migrations. */
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(two[(i / 500) % 2], &set);
			sched_setaffinity(0, sizeof(set), &set);
			syscall(SYS_getcpu, &cpu, NULL, NULL);
			res->cpus_seen |= 1U << (cpu & 31);
		}
	}
	munmap(mem, 64 * 4096);
	return NULL;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static volatile int churn_stop;
static volatile long churn_rounds;

/* Not in Dune mode: its MADV_DONTNEEDs are MMU-notifier invalidations of the
 * VM, each over 4 MiB of present pages (a long one). */
static void *churn(void *arg)
{
	const long len = 4L << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	pin(*(int *)arg);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_NOHUGEPAGE);
	while (!churn_stop) {
		for (long i = 0; i < len; i += 4096)
			p[i] = 1;
		madvise(p, len, MADV_DONTNEED);
		churn_rounds++;
	}
	munmap(p, len);
	return NULL;
}

static void faults_beside_munmap(void)
{
	const long n = 2048;
	struct dune_stats a, b;
	int two[2] = { 0, 0 };
	long faults, rounds;
	pthread_t t;
	char *mem = mmap(NULL, n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);

	if (hwtest_two_cpus(two) < 2)
		two[1] = two[0];
	madvise(mem, n * 4096, MADV_NOHUGEPAGE);
	pin(two[0]);
	pthread_create(&t, NULL, churn, &two[1]);
	while (!churn_rounds)
		sched_yield();
	dune_get_stats(&a);
	rounds = churn_rounds;
	for (long i = 0; i < n; i++)
		mem[i * 4096] = (char)i;
	dune_get_stats(&b);
	rounds = churn_rounds - rounds;
	churn_stop = 1;
	pthread_join(t, NULL);
	faults = b.exits[DUNE_EXIT_NESTED_FAULT] - a.exits[DUNE_EXIT_NESTED_FAULT];
	CHECK(faults >= n / 2 && faults <= n + n / 8,
	      "%ld nested faults for %ld fresh pages while a sibling thread dropped 4 MiB of "
	      "other memory %ld times", faults, n, rounds);
	munmap(mem, n * 4096);
}

static volatile int idle_entered, idle_release;

/* Enters Dune mode, makes 1000 system calls and stays, running, until
 * released: the live vCPU DUNE_GET_PROCESS_STATS must count. */
static void *idle_worker(void *arg)
{
	(void)arg;
	if (dune_enter())
		return NULL;
	for (int i = 0; i < 1000; i++)
		syscall(SYS_getppid);
	idle_entered = 1;
	while (!idle_release)
		sched_yield();
	return NULL;
}

static uint64_t calls(const struct dune_stats *st)
{
	return st->syscalls_kernel + st->syscalls_host;
}

/* @ended threads, each of ncalls system calls, have ended. */
static void process_stats(int ended)
{
	struct dune_process_stats a, b, c;
	pthread_t t;

	CHECK(dune_get_process_stats(&a) == 0 && a.vcpus == (uint64_t)ended + 1 && a.live == 1,
	      "process stats after %d threads ended: %llu vCPUs, %llu live", ended,
	      (unsigned long long)a.vcpus, (unsigned long long)a.live);
	CHECK(calls(&a.sum) >= (uint64_t)ended * ncalls,
	      "the ended threads' %d x %d system calls counted (%llu)", ended, ncalls,
	      (unsigned long long)calls(&a.sum));
	pthread_create(&t, NULL, idle_worker, NULL);
	while (!idle_entered)
		sched_yield();
	dune_get_process_stats(&b);
	CHECK(b.vcpus == a.vcpus + 1 && b.live == 2 && calls(&b.sum) >= calls(&a.sum) + 1000,
	      "a running thread counted: %llu vCPUs, %llu live, %llu more calls (>= 1000)",
	      (unsigned long long)b.vcpus, (unsigned long long)b.live,
	      (unsigned long long)(calls(&b.sum) - calls(&a.sum)));
	idle_release = 1;
	pthread_join(t, NULL);
	dune_get_process_stats(&c);
	CHECK(c.vcpus == b.vcpus && c.live == 1 && calls(&c.sum) >= calls(&b.sum),
	      "once it ended: %llu vCPUs, %llu live, its calls kept",
	      (unsigned long long)c.vcpus, (unsigned long long)c.live);
}

int main(int argc, char **argv)
{
	int nthreads = argc > 1 ? atoi(argv[1]) : 16;
	struct result res[64] = { 0 };
	pthread_t t[64];
	struct dune_info info;
	struct dune_stats st;
	long bad = 0;
	unsigned int cpus = 0;
	int i, entered = 0, two[2];

	if (argc > 2)
		ncalls = atoi(argv[2]);
	if (nthreads > 64)
		nthreads = 64;
	main_pid = getpid();
	require_dune_mode();
	for (i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, &res[i]);
	for (i = 0; i < nthreads; i++) {
		pthread_join(t[i], NULL);
		entered += res[i].entered;
		bad += res[i].bad_pid + res[i].bad_mem;
		cpus |= res[i].cpus_seen;
	}
	CHECK(entered == nthreads, "%d of %d threads entered Dune mode", entered, nthreads);
	CHECK(bad == 0, "%d x %d system calls and page writes: %ld wrong", nthreads, ncalls, bad);
	CHECK(hwtest_two_cpus(two) < 2 || __builtin_popcount(cpus) >= 2,
	      "threads ran on %d CPUs", __builtin_popcount(cpus));
	dune_get_stats(&st);	/* frees the exited threads' vCPUs */
	CHECK(dune_get_info(&info) == 0 && info.live_vcpus == 1,
	      "only the main thread's vCPU is left (%u)", info.live_vcpus);
	process_stats(entered);
	faults_beside_munmap();
	return hwtest_done();
}
