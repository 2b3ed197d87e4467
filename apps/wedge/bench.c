// SPDX-License-Identifier: GPL-2.0
/*
 * `wedge bench ITERS`: what an sthread costs next to a process.
 *  - create + join of an sthread running an empty function, vs fork +
 *    _exit + waitpid of a process;
 *  - a round trip into a live sthread (sthread_call: CR3 switch, ring 3 and
 *    back), vs a one-byte pipe round trip with another process (two
 *    context switches).
 * Cycles from RDTSC (marked emulated when the CPU says it runs under a
 * hypervisor or emulator); VM exits per operation from dune_get_stats().
 * The process numbers are taken before entering Dune mode.  Table on
 * stdout, then one JSON line.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dune/dune.h>

#include "../common/emulated.h"
#include "sthread.h"
#include "wedge.h"

struct result {
	const char *name;
	double cycles;
	double exits;	/* < 0: not in Dune mode */
};

static uint64_t exits_now(void)
{
	struct dune_stats st;
	uint64_t n = 0;
	int i;

	if (dune_get_stats(&st))
		return 0;
	for (i = 0; i < DUNE_STATS_MAX_EXITS; i++)
		n += st.exits[i];
	return n;
}

static double bench_fork(int iters)
{
	unsigned long t0 = dune_get_ticks();
	int i, st;

	for (i = 0; i < iters; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		if (pid < 0 || waitpid(pid, &st, 0) != pid)
			return -1;
	}
	return (double)(dune_get_ticks() - t0) / iters;
}

static double bench_pipe(int iters)
{
	int a[2], b[2], i;
	unsigned long t0;
	char c = 0;
	pid_t pid;

	if (pipe(a) || pipe(b))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(a[1]);
		close(b[0]);
		while (read(a[0], &c, 1) == 1)
			if (write(b[1], &c, 1) != 1)
				break;
		_exit(0);
	}
	t0 = dune_get_ticks();
	for (i = 0; i < iters; i++)
		if (write(a[1], &c, 1) != 1 || read(b[0], &c, 1) != 1)
			return -1;
	t0 = dune_get_ticks() - t0;
	close(a[1]);
	waitpid(pid, NULL, 0);
	close(a[0]);
	close(b[0]);
	close(b[1]);
	return (double)t0 / iters;
}

static long empty(void *arg)
{
	return 0;
}

static int bench_sthreads(int iters, struct result *create, struct result *call)
{
	sthread_t *st;
	unsigned long t0;
	uint64_t e0;
	long ret;
	sc_t sc;
	int i;

	sc_init(&sc);
	e0 = exits_now();
	t0 = dune_get_ticks();
	for (i = 0; i < iters; i++)
		if (sthread_create(&st, &sc, empty, NULL) || sthread_join(st, &ret, NULL))
			return -1;
	create->cycles = (double)(dune_get_ticks() - t0) / iters;
	create->exits = (double)(exits_now() - e0) / iters;

	if (sthread_create(&st, &sc, empty, NULL))
		return -1;
	e0 = exits_now();
	t0 = dune_get_ticks();
	for (i = 0; i < iters; i++)
		if (sthread_call(st, empty, NULL, &ret, NULL))
			return -1;
	call->cycles = (double)(dune_get_ticks() - t0) / iters;
	call->exits = (double)(exits_now() - e0) / iters;
	return sthread_join(st, &ret, NULL);
}

int wedge_bench(int iters)
{
	struct result r[4] = {
		{ "fork+exit+wait", 0, -1 },
		{ "sthread create+join", 0, 0 },
		{ "pipe round trip (2 switches)", 0, -1 },
		{ "sthread call (switch in+out)", 0, 0 },
	};
	bool emu = emulated();
	int i, rc;

	if (iters < 10)
		iters = 10;
	r[0].cycles = bench_fork(iters / 4 + 1);
	r[2].cycles = bench_pipe(iters);
	rc = wedge_enter();
	if (rc)
		return rc;
	if (bench_sthreads(iters, &r[1], &r[3])) {
		printf("not ok - sthread benchmark failed\n");
		return 1;
	}
	printf("# %-30s %14s %12s   (%d iterations%s)\n", "operation", "cycles/op", "exits/op",
	       iters, emu ? ", EMULATED machine: cycles are not hardware costs" : "");
	for (i = 0; i < 4; i++) {
		if (r[i].exits < 0)
			printf("# %-30s %14.0f %12s\n", r[i].name, r[i].cycles, "(plain)");
		else
			printf("# %-30s %14.0f %12.2f\n", r[i].name, r[i].cycles, r[i].exits);
	}
	printf("{\"wedge_bench\": {\"emulated\": %s, \"iterations\": %d, "
	       "\"fork_wait_cycles\": %.0f, \"sthread_create_join_cycles\": %.0f, "
	       "\"sthread_create_join_exits\": %.2f, \"pipe_roundtrip_cycles\": %.0f, "
	       "\"sthread_call_cycles\": %.0f, \"sthread_call_exits\": %.2f}}\n",
	       emu ? "true" : "false", iters, r[0].cycles, r[1].cycles, r[1].exits,
	       r[2].cycles, r[3].cycles, r[3].exits);
	return r[0].cycles > 0 && r[2].cycles > 0 ? 0 : 1;
}
