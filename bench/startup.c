// SPDX-License-Identifier: GPL-2.0
/*
 * The startup row (issue 16): what it costs a new process to get into
 * Dune mode and make its first system call, against what Linux needs to
 * start a new program in a new process.  One operation, from the parent's
 * point of view:
 *  - Linux: fork, the child execs a static program (this one: a
 *    constructor sees DUNE_BENCH_STARTUP_CHILD, makes getpid and exits
 *    before main), wait;
 *  - Dune: fork, the child (of a process that never ran dune_init)
 *    runs dune_init(true), dune_enter(), getpid in guest ring 0 and exits,
 *    wait.
 * Both measured by the parent, which is not in Dune mode (dune-bench runs
 * this row's Dune side in host mode).  The Dune side also prints where the
 * time went (libdune's dune_get_startup_stats time stamps) and the same
 * for a child forked from a process that already ran dune_init, which
 * keeps its parent's guest page tables (libdune/entry.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dune/dune.h>

#include "bench.h"

#define CHILD_ENV	"DUNE_BENCH_STARTUP_CHILD"

/* The exec'd program of the Linux side: exit right after libc's start. */
__attribute__((constructor)) static void startup_child(void)
{
	if (getenv(CHILD_ENV)) {
		syscall(SYS_getpid);
		_exit(0);
	}
}

/* Phases of one Dune startup, in cycles, as the parent and child saw them. */
enum phase {
	PH_FORK,	/* fork until the child calls dune_init */
	PH_OPEN,	/* open /dev/dune, DUNE_GET_INFO, DUNE_GET_LAYOUT */
	PH_POOL,	/* IDT, trap setup, the page pool */
	PH_TABLES,	/* the guest page tables (from /proc/self/maps, or kept) */
	PH_PERCPU,	/* the thread's GDT, TSS and trap stacks */
	PH_ENTER,	/* DUNE_ENTER: vCPU, first guest instructions, boot */
	PH_SYSCALL,	/* the first system call (getpid) */
	PH_EXIT,	/* exit and wait */
	NR_PHASES
};

static const char *const phase_name[NR_PHASES] = {
	"fork", "open", "pool", "tables", "percpu", "enter", "getpid", "exit+wait",
};

struct shared {
	uint64_t t0, t1;	/* the parent's, around fork and wait */
	uint64_t t_getpid;
	struct dune_startup_stats st;
	uint64_t exits[DUNE_STATS_MAX_EXITS];
	int err;
};

static void add_phases(double *ph, const struct shared *s)
{
	uint64_t t0 = s->t0, t1 = s->t1;
	const struct dune_startup_stats *st = &s->st;
	uint64_t init_start = st->init_start ? st->init_start : st->enter_start;

	ph[PH_FORK] += init_start - t0;
	if (st->init_start) {
		ph[PH_OPEN] += st->opened - st->init_start;
		ph[PH_POOL] += st->pool - st->opened;
		ph[PH_TABLES] += st->tables - st->pool;
		ph[PH_PERCPU] += st->init_end - st->tables;	/* dune_init's rest */
	}
	ph[PH_PERCPU] += st->percpu - st->enter_start + (st->init_end ? st->enter_start -
							     st->init_end : 0);
	ph[PH_ENTER] += st->entered - st->percpu;
	ph[PH_SYSCALL] += s->t_getpid - st->entered;
	ph[PH_EXIT] += t1 - s->t_getpid;
}

/* One Dune startup in a child; @init: the child runs dune_init itself. */
static int one_startup(struct shared *s, bool init, uint64_t *cycles)
{
	uint64_t t0, t1;
	pid_t pid;
	int st;

	memset(s, 0, sizeof(*s));
	t0 = bench_tsc();
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct dune_stats ds;
		int r = init ? dune_init(true) : 0;

		if (!r)
			r = dune_enter();
		if (r) {
			s->err = r;
			_exit(1);
		}
		bench_raw_getpid();
		s->t_getpid = bench_tsc();
		dune_get_startup_stats(&s->st);
		if (dune_get_stats(&ds) == 0)
			memcpy(s->exits, ds.exits, sizeof(s->exits));
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -errno;
	t1 = bench_tsc();
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return s->err ? s->err : -ECHILD;
	s->t0 = t0;
	s->t1 = t1;
	*cycles = t1 - t0;
	return 0;
}

/* @exits: summed over the @n starts (the row's own are in its JSON). */
static void print_phases(const char *what, const double *ph, long n, bool forked,
			 const uint64_t *exits)
{
	double total = 0;
	int i;

	for (i = 0; i < NR_PHASES; i++)
		total += ph[i];
	printf("# startup %s (%s tables): %.0f cycles:", what, forked ? "kept" : "new",
	       total / n);
	for (i = 0; i < NR_PHASES; i++)
		printf(" %s %.0f", phase_name[i], ph[i] / n);
	printf("; exits per start:");
	for (i = 0; i < DUNE_STATS_MAX_EXITS; i++)
		if (exits[i])
			printf(" %s %.1f", bench_exit_name(i), (double)exits[i] / n);
	printf("\n");
}

/* Dune: in a process that is not in Dune mode and never ran dune_init. */
void d_startup(const struct bench_params *p, struct side_result *r)
{
	struct shared *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double ph[NR_PHASES] = { 0 }, phk[NR_PHASES] = { 0 };
	uint64_t kept_exits[DUNE_STATS_MAX_EXITS] = { 0 };
	long n = p->ops[ROW_STARTUP], i, done = 0, kept = 0;
	uint64_t c, sum;
	int run, e, err;

	if (s == MAP_FAILED) {
		bench_fail(r, -errno, "mmap");
		return;
	}
	/* Warm-up: the module's and libdune's code in the page cache. */
	err = one_startup(s, true, &c);
	for (run = 0; run < p->runs && !err; run++) {
		sum = 0;
		for (i = 0; i < n && !err; i++) {
			err = one_startup(s, true, &c);
			if (err)
				break;
			sum += c;
			add_phases(ph, s);
			for (e = 0; e < DUNE_STATS_MAX_EXITS; e++)
				r->exits[e] += s->exits[e];
			done++;
		}
		if (!err)
			bench_record(r, run, sum, n);
	}
	if (err) {
		bench_fail(r, err, "startup");
		return;
	}
	r->has_exits = true;
	print_phases("of a new process", ph, done, false, r->exits);
	/* The same from a process that ran dune_init: the child keeps the
	 * parent's tables (reported, not the row's figure). */
	if (dune_init(true) == 0) {
		for (i = 0; i < n * p->runs && !one_startup(s, false, &c); i++, kept++) {
			add_phases(phk, s);
			for (e = 0; e < DUNE_STATS_MAX_EXITS; e++)
				kept_exits[e] += s->exits[e];
		}
		print_phases("forked after dune_init", phk, kept ? kept : 1, true, kept_exits);
	}
	snprintf(r->note, sizeof(r->note), "new process: dune_init+dune_enter+getpid");
}

/* Linux: fork, exec a static program (this one), wait. */
void l_startup(const struct bench_params *p, struct side_result *r)
{
	char *argv[] = { "dune-bench", NULL };
	char *envp[] = { CHILD_ENV "=1", NULL };
	long n = p->ops[ROW_STARTUP], i;
	uint64_t t0, sum;
	int run, st;
	pid_t pid;

	for (run = -1; run < p->runs; run++) {	/* run -1: warm-up */
		t0 = bench_tsc();
		for (i = 0; i < n; i++) {
			pid = fork();
			if (pid < 0) {
				bench_fail(r, -errno, "fork");
				return;
			}
			if (pid == 0) {
				execve("/proc/self/exe", argv, envp);
				_exit(127);
			}
			if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
				bench_fail(r, -ECHILD, "the exec'd child failed (status %#x)", st);
				return;
			}
		}
		sum = bench_tsc() - t0;
		if (run >= 0)
			bench_record(r, run, sum, n);
	}
	snprintf(r->note, sizeof(r->note), "fork + execve(static dune-bench) + wait");
}
