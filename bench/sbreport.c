// SPDX-License-Identifier: GPL-2.0
/*
 * dune-sandbox-bench's report: the table, where the sandbox's extra time
 * goes (start-up, system calls, nested page faults, from the per-op rows),
 * the cost targets, and the same as JSON (--json=FILE, or - for
 * stdout between the marker lines bench/run-bench extracts).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "sandbox-bench.h"

struct target {
	const char *name, *what;
	double value, limit;
	bool judged, met;
	char why[96];		/* not judged: why */
};

static struct sb_row *find(const char *name)
{
	for (int i = 0; i < nrows; i++)
		if (!strcmp(rows[i].name, name) && rows[i].ok)
			return &rows[i];
	return NULL;
}

/* The extra seconds a row's counts predict from the per-op rows. */
static double explained_s(const struct sb_row *r)
{
	const struct sb_row *st = find("startup"), *sc = find("syscall"), *pg = find("page");
	double s = 0;

	if (st)
		s += st->extra_us * r->st.procs / 1e6;
	if (sc)
		s += sc->extra_us * r->st.syscalls / 1e6;
	if (pg && pg->exits_per_op > 0)
		s += pg->extra_us / pg->exits_per_op * r->st.nested_fault / 1e6;
	return s;
}

static const char *clock_kind(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[1024];
	bool svm = false;

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5)) {
			svm = strstr(line, " svm") != NULL;
			break;
		}
	if (f)
		fclose(f);
	if (!getenv("DUNE_BENCH_EMULATED"))
		return "real";
	return svm ? "emulated wall clock (QEMU TCG: noisy)" : "emulated instructions (Bochs)";
}

static int targets(struct target *t)
{
	const struct sb_row *st = find("startup");
	double logsum = 0, min_native = 1e9;
	int n = 0, k = 0;

	for (int i = 0; i < nrows; i++)
		if (!strcmp(rows[i].kind, "cpu") && rows[i].ok) {
			logsum += log(rows[i].sandbox_s / rows[i].native_s);
			min_native = fmin(min_native, rows[i].native_s);
			n++;
		}
	t[k] = (struct target){ "cpu", "CPU-bound programs, geometric mean of sandboxed/plain",
				n ? exp(logsum / n) : 0, 1.05, n > 0 && min_native >= 1.0,
				false, "" };
	if (!n)
		snprintf(t[k].why, sizeof(t[k].why), "no CPU-bound row ran");
	else if (min_native < 1.0)
		snprintf(t[k].why, sizeof(t[k].why), "a plain run took %.2f s (< 1 s)", min_native);
	k++;
	t[k] = (struct target){ "startup", "a sandboxed process start over a plain one",
				st ? st->sandbox_s / st->native_s : 0, 2.0, st != NULL, false,
				"" };
	if (!st)
		snprintf(t[k].why, sizeof(t[k].why), "the startup row did not run");
	k++;
	for (int i = 0; i < nrows; i++)
		if (!strcmp(rows[i].kind, "server") && rows[i].ok)
			t[k++] = (struct target){ rows[i].name, "server throughput, sandboxed/plain",
						  rows[i].rps_sandbox / rows[i].rps_native, 0.90,
						  true, false, "" };
	for (int i = 0; i < k; i++)
		t[i].met = t[i].judged && (t[i].limit < 1 ? t[i].value >= t[i].limit
							  : t[i].value <= t[i].limit);
	return k;
}

static void print_row(const struct sb_row *r)
{
	if (r->skipped || !r->ok) {
		printf("%-9s %s: %s\n", r->name, r->skipped ? "skipped" : "FAILED", r->err);
		return;
	}
	if (!strcmp(r->kind, "server")) {
		printf("%-9s %8.0f req/s %8.0f req/s %6.2fx %9.1f us/req %8.1f exits/req%s\n",
		       r->name, r->rps_native, r->rps_sandbox, r->sandbox_s / r->native_s,
		       r->extra_us, r->exits_per_op,
		       r->st_plain != r->st_sandbox ? " (exit status differs)" : "");
	} else if (!strcmp(r->kind, "per-op")) {
		printf("%-9s %9.2f us %12.2f us %6.2fx %9.2f us/%-4s %7.2f exits/%s\n", r->name,
		       r->native_s * 1e6 / r->ops, r->sandbox_s * 1e6 / r->ops,
		       r->sandbox_s / r->native_s, r->extra_us, r->unit, r->exits_per_op, r->unit);
	} else if (!strcmp(r->kind, "startup")) {
		printf("%-9s %9.2f ms %12.2f ms %6.2fx %9.0f us/proc %7.0f exits/proc\n", r->name,
		       r->native_s * 1e3, r->sandbox_s * 1e3, r->sandbox_s / r->native_s,
		       r->extra_us, r->exits_per_op);
		double ti = r->st.init_ticks > 0 ? r->st.init_ticks : 1;

		printf("%-9s sandboxed: %.2f ms monitor start (main to the program's entry: "
		       "dune_init %.0f%%, dune_enter %.0f%%, arenas and loading %.0f%%), "
		       "%.2f ms program, %.2f ms exec + exit + wait\n", "", r->st.init_s * 1e3,
		       100 * r->st.dune_init_ticks / ti, 100 * r->st.dune_enter_ticks / ti,
		       100 * (ti - r->st.dune_init_ticks - r->st.dune_enter_ticks) / ti,
		       r->st.run_s * 1e3, (r->sandbox_s - r->st.init_s - r->st.run_s) * 1e3);
	} else {
		double extra = r->sandbox_s - r->native_s;

		/* Host interrupts a second of the sandboxed run, all vCPUs: each
		 * is an exit (the machine's timer rate shows here). */
		printf("%-9s %10.3f s %13.3f s %6.3fx %7.0f calls %8.0f exits (%.2f/call, "
		       "%.0f nested, %.0f irq/s); explained %.0f%%\n", r->name, r->native_s,
		       r->sandbox_s, r->sandbox_s / r->native_s, r->st.syscalls, r->st.exits,
		       r->exits_per_op, r->st.nested_fault,
		       r->sandbox_s > 0 ? r->st.extint / r->sandbox_s : 0,
		       extra > 0 ? 100 * explained_s(r) / extra : 0);
	}
}

static void json_row(FILE *f, const struct sb_row *r)
{
	fprintf(f, "{\"name\": \"%s\", \"kind\": \"%s\", \"what\": \"%s\", \"ok\": %s, "
		"\"skipped\": %s, \"error\": \"%s\"", r->name, r->kind, r->what,
		r->ok ? "true" : "false", r->skipped ? "true" : "false", r->err);
	if (r->ok)
		fprintf(f, ", \"unit\": \"%s\", \"size\": %ld, \"ops\": %ld, \"plain_s\": %.9f, "
			"\"sandbox_s\": %.9f, \"ratio\": %.4f, \"extra_us_per_op\": %.3f, "
			"\"exits_per_op\": %.3f, \"explained_s\": %.6f, \"rps_plain\": %.1f, "
			"\"rps_sandbox\": %.1f, \"sandbox\": {\"processes\": %.0f, \"vcpus\": %.0f, "
			"\"syscalls\": %.0f, \"exits\": %.0f, \"hypercall\": %.0f, "
			"\"nested_fault\": %.0f, \"extint\": %.0f, \"init_s\": %.6f, "
			"\"run_s\": %.6f, \"init_ticks\": %.0f, \"dune_init_ticks\": %.0f, "
			"\"dune_enter_ticks\": %.0f}", r->unit, r->size, r->ops,
			r->native_s, r->sandbox_s, r->sandbox_s / r->native_s, r->extra_us,
			r->exits_per_op, strcmp(r->kind, "cpu") ? 0 : explained_s(r), r->rps_native,
			r->rps_sandbox, r->st.procs, r->st.vcpus, r->st.syscalls, r->st.exits,
			r->st.hypercall, r->st.nested_fault, r->st.extint, r->st.init_s, r->st.run_s,
			r->st.init_ticks, r->st.dune_init_ticks, r->st.dune_enter_ticks);
	if (r->ok && !strcmp(r->kind, "server"))
		fprintf(f, ", \"status_plain\": %d, \"status_sandbox\": %d", r->st_plain,
			r->st_sandbox);
	fputc('}', f);
}

static void json(FILE *f, const struct target *t, int nt)
{
	struct utsname u;

	uname(&u);
	fprintf(f, "{\"benchmark\": \"dune-sandbox-bench\", \"kernel\": \"%s\", \"clock\": \"%s\", "
		"\"quick\": %s, \"runs\": %d, \"min_seconds\": %.3f, \"rows\": [", u.release,
		clock_kind(), opt.quick ? "true" : "false", opt.runs, opt.min_s);
	for (int i = 0; i < nrows; i++) {
		fputs(i ? ", " : "", f);
		json_row(f, &rows[i]);
	}
	fputs("], \"targets\": [", f);
	for (int i = 0; i < nt; i++)
		fprintf(f, "%s{\"name\": \"%s\", \"what\": \"%s\", \"value\": %.4f, \"limit\": %.2f, "
			"\"judged\": %s, \"met\": %s, \"why\": \"%s\"}", i ? ", " : "", t[i].name,
			t[i].what, t[i].value, t[i].limit, t[i].judged ? "true" : "false",
			t[i].met ? "true" : "false", t[i].why);
	fputs("]}\n", f);
}

int sb_report(void)
{
	struct target t[SB_MAX_ROWS + 2];
	int nt = targets(t), status = 0;

	printf("\n# dune-sandbox-bench (%s): plain vs dune-sandbox, medians\n", clock_kind());
	printf("%-9s %12s %15s %7s %15s %s\n", "row", "plain", "sandboxed", "ratio", "extra",
	       "exits");
	for (int i = 0; i < nrows; i++) {
		print_row(&rows[i]);
		if (!rows[i].ok && !rows[i].skipped)
			status = 1;
	}
	printf("\n# targets\n");
	for (int i = 0; i < nt; i++)
		printf("%-9s %-55s %6.3f (limit %s %.2f): %s%s\n", t[i].name, t[i].what, t[i].value,
		       t[i].limit < 1 ? ">=" : "<=", t[i].limit,
		       !t[i].judged ? "not judged: " : t[i].met ? "met" : "MISSED", t[i].why);
	if (opt.json && !strcmp(opt.json, "-")) {
		printf("@@DUNE-BENCH-JSON-BEGIN@@\n");
		json(stdout, t, nt);
		printf("@@DUNE-BENCH-JSON-END@@\n");
	} else if (opt.json) {
		FILE *f = fopen(opt.json, "w");

		if (!f) {
			perror(opt.json);
			return 1;
		}
		json(f, t, nt);
		fclose(f);
	}
	return status;
}
