// SPDX-License-Identifier: GPL-2.0
/*
 * dune-bench: the Dune paper's micro-benchmarks (Table 2: system call, page
 * fault, page walk; Table 3: ptrace-style interposition, trap, appel1,
 * appel2), in plain Linux and in Dune mode, on the same machine in one run.
 * Each row reports median cycles per operation for both, their ratio, and
 * the VM exits per operation the Dune side cost (the module's per-vCPU
 * counters), checked against the design's targets: 1 exit for a
 * passed-through system call, 0 for what the guest handles itself, at most
 * 1 per new 4K page.  See bench/README.md.
 *
 * Every side of every row runs in its own forked process (a Dune side
 * enters Dune mode first), so one crash costs one cell and handlers never
 * leak from row to row.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dune/dune.h>

#include "bench.h"
#include "dunetest.h"	/* CHECK(), describe_status() */

static const struct bench_params full_params = {
	.runs = 5,
	.ops = {
		[ROW_SYSCALL] = 2000, [ROW_SYSCALL_SECCOMP] = 2000, [ROW_PGFAULT] = 1000, [ROW_PGFAULT_NESTED] = 1000,
		[ROW_PTWALK] = 50000, [ROW_PTRACE] = 500, [ROW_TRAP] = 2000,
		[ROW_APPEL1] = 20, [ROW_APPEL2] = 20, [ROW_IPI] = 2000, [ROW_STARTUP] = 4,
	},
	.ptwalk_pages = 16384,	/* 64 MiB: far beyond any TLB's reach */
	.appel_pages = 100,
};

/* For the test suite: small enough for Bochs, big enough that every exit
 * target is checked over hundreds of operations. */
static const struct bench_params quick_params = {
	.runs = 3,
	.ops = {
		[ROW_SYSCALL] = 300, [ROW_SYSCALL_SECCOMP] = 300, [ROW_PGFAULT] = 128, [ROW_PGFAULT_NESTED] = 128,
		[ROW_PTWALK] = 4096, [ROW_PTRACE] = 100, [ROW_TRAP] = 300,
		[ROW_APPEL1] = 2, [ROW_APPEL2] = 2, [ROW_IPI] = 100, [ROW_STARTUP] = 2,
	},
	.ptwalk_pages = 2048,
	.appel_pages = 100,
};

static void usage(FILE *f)
{
	int i;

	fprintf(f, "usage: dune-bench [--quick] [--json=FILE|-] [--runs=N] [--scale=F]\n"
		"                  [--rows=NAME,...] [--ptwalk-pages=N]\n"
		"  --quick          small counts (the test suite's run)\n"
		"  --json=FILE      also write the results as JSON; '-' prints them on\n"
		"                   stdout between %s and %s lines\n"
		"  --runs=N         timed runs per side, median reported (1-%d)\n"
		"  --scale=F        multiply every operation count by F\n"
		"  --rows=LIST      only these rows:", "@@DUNE-BENCH-JSON-BEGIN@@",
		"@@DUNE-BENCH-JSON-END@@", BENCH_MAX_RUNS);
	for (i = 0; i < NR_ROWS; i++)
		fprintf(f, " %s", bench_rows[i].name);
	fprintf(f, "\n  --ptwalk-pages=N size of the page-walk region in 4K pages\n"
		"  --kvm-save=FILE  measure only the syscall row's kvm-exit method (needs\n"
		"                   /dev/kvm, so no dune module) and save its runs in FILE\n"
		"  --kvm-from=FILE  the kvm-exit method's runs are FILE's (--kvm-save)\n"
		"Exit status: 0 every exit target met, 1 a target missed or a side\n"
		"failed, 77 no Dune mode on this machine (Linux side still shown).\n"
		"DUNE_BENCH_EMULATED=1/0 overrides the emulator detection.\n");
}

static int parse_rows(const char *list, bool *sel)
{
	char *copy = strdup(list), *tok, *save = NULL;
	int i, found;

	if (!copy)
		return -ENOMEM;
	memset(sel, 0, NR_ROWS * sizeof(*sel));
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		found = 0;
		for (i = 0; i < NR_ROWS; i++) {
			if (!strcmp(tok, bench_rows[i].name)) {
				sel[i] = true;
				found = 1;
			}
		}
		if (!found) {
			fprintf(stderr, "dune-bench: no row \"%s\"\n", tok);
			free(copy);
			return -EINVAL;
		}
	}
	free(copy);
	return 0;
}

/* Run @fn in a child (entering Dune mode first for @dune); its results
 * land in @res, which is shared memory. */
static void run_side(side_fn fn, const struct bench_params *p, struct side_result *res,
		     bool dune)
{
	char buf[64];
	pid_t pid;
	int st, r;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		bench_fail(res, -errno, "fork");
		return;
	}
	if (pid == 0) {
		if (dune) {
			r = dune_init_and_enter();
			if (r) {
				bench_fail(res, r, "dune_init_and_enter");
				_exit(0);
			}
		}
		fn(p, res);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid) {
		bench_fail(res, -errno, "waitpid");
		return;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		bench_fail(res, -ECHILD, "the measuring process ended with %s",
			   describe_status(st, buf, sizeof(buf)));
	else if (!res->err && res->runs < p->runs)
		bench_fail(res, -EIO, "%d of %d runs done", res->runs, p->runs);
}

/* Can this machine run the Dune side at all?  Answers in @why if not. */
static bool dune_usable(char *why, size_t len)
{
	struct dune_info info;
	int r = dune_get_info(&info);

	if (r) {
		snprintf(why, len, "no dune module (/dev/dune: %s)", strerror(-r));
		return false;
	}
	return true;
}

/* A Linux method must be measured, or skipped for want of a kernel
 * feature: a baseline this kernel lacks is no failure of dune-bench. */
static void check_linux(const char *row, const char *method, const struct side_result *s)
{
	double m;

	CHECK(side_median(s, &m) || s->skipped, "%s: Linux %s %s%s%s", row, method,
	      s->skipped ? "skipped" : "measured", s->err ? ": " : "", s->err ? s->why : "");
}

static void check_results(const struct row_result *res)
{
	char msg[200];
	int i, k;

	for (i = 0; i < NR_ROWS; i++) {
		const struct row_result *rr = &res[i];
		bool met;

		if (!rr->selected)
			continue;
		check_linux(bench_rows[i].name, bench_rows[i].linux_name, &rr->lnx);
		for (k = 0; k < BENCH_MAX_ALTS && bench_rows[i].alts[k].name; k++)
			check_linux(bench_rows[i].name, bench_rows[i].alts[k].name, &rr->alt[k]);
		met = row_target_met(i, &rr->dune, msg, sizeof(msg));
		CHECK(met, "%s: Dune side: %s", bench_rows[i].name, msg);
	}
}

struct options {
	struct bench_params params;
	bool sel[NR_ROWS];
	bool quick;
	const char *json;
	const char *kvm_save;
};

/* Returns -1 to go on, else the exit status. */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "json", required_argument, NULL, 'j' },
		{ "runs", required_argument, NULL, 'r' },
		{ "scale", required_argument, NULL, 's' },
		{ "rows", required_argument, NULL, 'w' },
		{ "ptwalk-pages", required_argument, NULL, 'p' },
		{ "kvm-save", required_argument, NULL, 'K' },
		{ "kvm-from", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *rows = NULL;
	double scale = 1.0;
	long ptwalk_pages = 0;
	int runs = 0, c, i;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "qj:r:s:w:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			o->quick = true;
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 's':
			scale = atof(optarg);
			break;
		case 'w':
			rows = optarg;
			break;
		case 'p':
			ptwalk_pages = atol(optarg);
			break;
		case 'K':
			o->kvm_save = optarg;
			break;
		case 'k':
			bench_kvm_from = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || (runs && (runs < 1 || runs > BENCH_MAX_RUNS)) || scale <= 0 ||
	    (ptwalk_pages && ptwalk_pages < 2)) {
		usage(stderr);
		return 2;
	}
	o->params = o->quick ? quick_params : full_params;
	if (runs)
		o->params.runs = runs;
	if (ptwalk_pages)
		o->params.ptwalk_pages = ptwalk_pages;
	for (i = 0; i < NR_ROWS; i++) {
		o->params.ops[i] = (long)(o->params.ops[i] * scale);
		if (o->params.ops[i] < 1)
			o->params.ops[i] = 1;
		o->sel[i] = true;
	}
	if (rows && parse_rows(rows, o->sel))
		return 2;
	return -1;
}

/* Both sides of every selected row, Linux first (the paper's method, then
 * today's alternatives, each in its own process). */
static void measure(const struct options *o, struct row_result *res, struct report *rep)
{
	const struct alt_method *alt;
	int i, k;

	for (i = 0; i < NR_ROWS; i++) {
		if (!o->sel[i])
			continue;
		res[i].selected = true;
		hwtest_mark("bench %s: linux", bench_rows[i].name);
		run_side(bench_linux[i], &o->params, &res[i].lnx, false);
		for (k = 0; k < BENCH_MAX_ALTS && bench_rows[i].alts[k].name; k++) {
			alt = &bench_rows[i].alts[k];
			hwtest_mark("bench %s: linux %s", bench_rows[i].name, alt->name);
			run_side(alt->fn, &o->params, &res[i].alt[k], false);
		}
		if (!rep->dune_available) {
			res[i].dune.err = -ENODEV;
			snprintf(res[i].dune.why, sizeof(res[i].dune.why), "%s", rep->dune_why);
			continue;
		}
		hwtest_mark("bench %s: dune", bench_rows[i].name);
		run_side(bench_dune[i], &o->params, &res[i].dune, i != ROW_STARTUP);
		if (res[i].dune.err == -EOPNOTSUPP) {
			/* The backend cannot enter Dune mode: skip the rest. */
			rep->dune_available = false;
			snprintf(rep->dune_why, sizeof(rep->dune_why), "%s", res[i].dune.why);
		}
	}
}

int main(int argc, char **argv)
{
	struct machine_info machine;
	struct row_result *res;
	struct options o;
	struct report rep;
	int r;

	r = parse_options(argc, argv, &o);
	if (r >= 0)
		return r;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (o.kvm_save)
		return bench_kvm_save(&o.params, o.kvm_save);
	/* Shared: the measuring processes write their results here. */
	res = mmap(NULL, NR_ROWS * sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED) {
		perror("dune-bench: mmap");
		return 1;
	}
	memset(&rep, 0, sizeof(rep));
	machine_detect(&machine);
	bench_measure_tsc_overhead();
	rep.dune_available = dune_usable(rep.dune_why, sizeof(rep.dune_why));
	measure(&o, res, &rep);

	rep.params = &o.params;
	rep.machine = &machine;
	rep.results = res;
	rep.quick = o.quick;
	report_table(&rep);
	r = o.json ? report_json(&rep, o.json) : 0;
	if (r)
		fprintf(stderr, "dune-bench: writing %s: %s\n", o.json, strerror(-r));
	if (!rep.dune_available) {
		printf("skip: no Dune mode here (%s): exit targets not checked\n", rep.dune_why);
		return r ? 1 : 77;
	}
	check_results(res);
	return hwtest_done() || r ? 1 : 0;
}
