// SPDX-License-Identifier: GPL-2.0
/*
 * --stats FILE: what the program cost, for bench/dune-sandbox-bench.  Each
 * process of the program (the first and every fork) appends one JSON line
 * to FILE when it ends: its system calls and the VM exits of all its
 * vCPUs, threads still running at exit_group included (the module sums
 * them: DUNE_GET_PROCESS_STATS).  With a module older than that, each
 * thread adds its vCPU's counters when it ends, and threads still running
 * at exit_group are not counted ("vcpus" says how many were).
 *
 * The descriptor is opened before the monitor marks its own, so the
 * program cannot write through it; O_APPEND keeps the lines of concurrent
 * processes whole.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"

static int stats_fd = -1;
static pthread_mutex_t sum_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dune_stats sum;
static unsigned int vcpus;
static double forked_at;	/* a fork child: when it began */
static uint64_t tick_main, tick_run;	/* dune_get_ticks() at main(), at the entry */

/* main() began; the program is about to run its first instruction. */
void stats_mark_main(void)
{
	tick_main = dune_get_ticks();
}

void stats_mark_run(void)
{
	tick_run = dune_get_ticks();
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int stats_open(const char *path)
{
	stats_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	return stats_fd < 0 ? -1 : 0;
}

/* The calling thread's vCPU, once, at its end. */
void stats_add_self(void)
{
	struct dune_stats st;
	uint64_t *d = (uint64_t *)&sum;
	const uint64_t *s = (const uint64_t *)&st;

	if (stats_fd < 0 || dune_get_stats(&st))
		return;
	pthread_mutex_lock(&sum_lock);
	for (size_t i = 0; i < sizeof(st) / sizeof(uint64_t); i++)
		d[i] += s[i];
	vcpus++;
	pthread_mutex_unlock(&sum_lock);
}

/* A fork child starts from nothing: its vCPU's counters are its own. */
void stats_after_fork(void)
{
	memset(&sum, 0, sizeof(sum));
	vcpus = 0;
	pthread_mutex_init(&sum_lock, NULL);
	forked_at = now_s();
	__atomic_store_n(&n_syscalls, 0, __ATOMIC_RELAXED);
}

/* The end of this process (@r as sb_finish got it): @init_s from main()
 * to the program's first instruction, @seconds from there to now (a fork
 * child: 0, and the time since the fork); the ticks split the former into
 * dune_init, dune_enter and the rest (the arenas, loading the program). */
void stats_write(int r, double init_s, double seconds)
{
	struct dune_startup_stats su;
	struct dune_process_stats ps;
	uint64_t total = 0;
	char line[640];
	int n;

	if (stats_fd < 0)
		return;
	dune_get_startup_stats(&su);
	if (!tick_run)	/* it never started: no split */
		tick_run = tick_main;
	if (forked_at) {
		init_s = 0;
		seconds = now_s() - forked_at;
		tick_main = tick_run = 0;
		su.init_end = su.init_start = su.entered = su.enter_start = 0;
	}
	stats_add_self();
	pthread_mutex_lock(&sum_lock);
	if (!dune_get_process_stats(&ps)) {
		sum = ps.sum;
		vcpus = ps.vcpus;
	}
	for (int i = 0; i < DUNE_EXIT_NR; i++)
		total += sum.exits[i];
	n = snprintf(line, sizeof(line),
		     "{\"pid\": %d, \"status\": %d, \"init_s\": %.6f, \"seconds\": %.6f, "
		     "\"syscalls\": %lu, "
		     "\"vcpus\": %u, \"exits\": %lu, \"hypercall\": %lu, \"nested_fault\": %lu, "
		     "\"extint\": %lu, \"exception\": %lu, \"nested_pages\": %lu, "
		     "\"init_ticks\": %lu, \"dune_init_ticks\": %lu, \"dune_enter_ticks\": %lu}\n",
		     (int)getpid(), r & 0x20ff, init_s, seconds,
		     (unsigned long)__atomic_load_n(&n_syscalls, __ATOMIC_RELAXED), vcpus,
		     (unsigned long)total, (unsigned long)sum.exits[DUNE_EXIT_HYPERCALL],
		     (unsigned long)sum.exits[DUNE_EXIT_NESTED_FAULT],
		     (unsigned long)sum.exits[DUNE_EXIT_EXTINT],
		     (unsigned long)sum.exits[DUNE_EXIT_EXCEPTION],
		     (unsigned long)sum.nested_pages, (unsigned long)(tick_run - tick_main),
		     (unsigned long)(su.init_end - su.init_start),
		     (unsigned long)(su.entered - su.enter_start));
	pthread_mutex_unlock(&sum_lock);
	if (n > 0 && write(stats_fd, line, n) < 0)
		sb_log("--stats: %m\n");
}
