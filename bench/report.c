// SPDX-License-Identifier: GPL-2.0
/*
 * Results: medians, exit counts against the targets, the table on stdout
 * and the same as JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define JSON_BEGIN	"@@DUNE-BENCH-JSON-BEGIN@@"
#define JSON_END	"@@DUNE-BENCH-JSON-END@@"

static const char *const exit_names[DUNE_EXIT_NR] = {
	[DUNE_EXIT_NONE] = "none",
	[DUNE_EXIT_HYPERCALL] = "hypercall",
	[DUNE_EXIT_NESTED_FAULT] = "nested_fault",
	[DUNE_EXIT_EXTINT] = "extint",
	[DUNE_EXIT_NMI] = "nmi",
	[DUNE_EXIT_EXCEPTION] = "exception",
	[DUNE_EXIT_TRIPLE_FAULT] = "triple_fault",
	[DUNE_EXIT_CPUID] = "cpuid",
	[DUNE_EXIT_HLT] = "hlt",
	[DUNE_EXIT_IO] = "io",
	[DUNE_EXIT_MSR_READ] = "msr_read",
	[DUNE_EXIT_MSR_WRITE] = "msr_write",
	[DUNE_EXIT_XSETBV] = "xsetbv",
	[DUNE_EXIT_PRIV_INSN] = "priv_insn",
	[DUNE_EXIT_CR_ACCESS] = "cr_access",
	[DUNE_EXIT_DR_ACCESS] = "dr_access",
	[DUNE_EXIT_INVALID_STATE] = "invalid_state",
	[DUNE_EXIT_OTHER] = "other",
};

static const char *exit_name(int i)
{
	static char buf[16];

	if (i < DUNE_EXIT_NR && exit_names[i])
		return exit_names[i];
	snprintf(buf, sizeof(buf), "reason%d", i);
	return buf;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

bool side_median(const struct side_result *s, double *out)
{
	double v[BENCH_MAX_RUNS];
	int n = s->runs;

	if (s->err || n <= 0)
		return false;
	memcpy(v, s->cycles, n * sizeof(v[0]));
	qsort(v, n, sizeof(v[0]), cmp_double);
	*out = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return true;
}

static uint64_t side_total_ops(const struct side_result *s)
{
	return (uint64_t)s->runs * (uint64_t)s->ops;
}

static uint64_t side_total_exits(const struct side_result *s)
{
	uint64_t t = 0;
	int i;

	for (i = 0; i < DUNE_STATS_MAX_EXITS; i++)
		t += s->exits[i];
	return t;
}

/* Host interrupts and NMIs exit whatever the guest runs: not the
 * operation's cost. */
uint64_t side_caused_exits(const struct side_result *s)
{
	return side_total_exits(s) - s->exits[DUNE_EXIT_EXTINT] - s->exits[DUNE_EXIT_NMI];
}

static const char *target_text(enum exit_target t)
{
	switch (t) {
	case TARGET_ONE:
		return "=1";
	case TARGET_ZERO:
		return "=0";
	case TARGET_AT_MOST_ONE:
		return "<=1";
	default:
		return "-";
	}
}

bool row_target_met(enum row_id id, const struct side_result *d, char *msg, size_t len)
{
	enum exit_target t = bench_rows[id].target;
	uint64_t ops = side_total_ops(d), caused = side_caused_exits(d);
	bool met;

	if (d->err || !d->has_exits || !ops) {
		snprintf(msg, len, "not measured%s%s", d->err ? ": " : "", d->err ? d->why : "");
		return false;
	}
	switch (t) {
	case TARGET_ONE:
		met = caused == ops;
		break;
	case TARGET_ZERO:
		met = caused == 0;
		break;
	case TARGET_AT_MOST_ONE:
		met = caused <= ops;
		break;
	default:
		met = true;
	}
	snprintf(msg, len, "%lu exits caused by %lu operations (%.3f/op), target %s%s",
		 (unsigned long)caused, (unsigned long)ops, (double)caused / ops,
		 target_text(t), t == TARGET_NONE ? " (none)" : "");
	return met;
}

/* ------------------------------------------------------------- table */

static void fmt_cycles(char *buf, size_t len, const struct side_result *s)
{
	double m;

	if (side_median(s, &m))
		snprintf(buf, len, "%.1f", m);
	else
		snprintf(buf, len, "n/a");
}

static void fmt_exits(char *buf, size_t len, const struct side_result *s)
{
	uint64_t ops = side_total_ops(s);
	size_t n;
	int i;

	if (s->err || !s->has_exits || !ops) {
		snprintf(buf, len, "n/a");
		return;
	}
	n = snprintf(buf, len, "%.3f", (double)side_total_exits(s) / ops);
	for (i = 0; i < DUNE_STATS_MAX_EXITS && n < len; i++)
		if (s->exits[i])
			n += snprintf(buf + n, len - n, " %s:%.3f", exit_name(i),
				      (double)s->exits[i] / ops);
}

void report_table(const struct report *rep)
{
	const struct machine_info *m = rep->machine;
	char lc[32], dc[32], ratio[16], ex[128], paper[40], msg[160];
	double l, d;
	int i;

	printf("dune-bench: %s run, median of %d runs, cycles per operation (rdtsc)\n",
	       rep->quick ? "quick" : "full", rep->params->runs);
	printf("machine: %s (%s); cpu \"%s\"; kernel %s; backend %s; tsc overhead %lu\n",
	       m->emulated ? "emulated" : "not emulated", m->emulated_how, m->cpu_model,
	       m->kernel, m->backend[0] ? m->backend : "none",
	       (unsigned long)bench_tsc_overhead);
	if (m->emulated)
		printf("note: emulated machine: cycles are the emulator's TSC; compare Linux and "
		       "Dune within this run, and the exit counts\n");
	if (!rep->dune_available)
		printf("note: no Dune side: %s\n", rep->dune_why);
	printf("\n%-15s %2s %8s %12s %12s %8s  %-9s %-4s %s\n", "row", "T", "ops/run",
	       m->emulated ? "Linux emu-cyc" : "Linux cyc", m->emulated ? "Dune emu-cyc" : "Dune cyc",
	       "D/L", "paper D/L", "tgt", "Dune exits/op (by reason)");
	for (i = 0; i < NR_ROWS; i++) {
		const struct row_info *ri = &bench_rows[i];
		const struct row_result *rr = &rep->results[i];
		long ops = rr->dune.ops ? rr->dune.ops : rr->lnx.ops;

		if (!rr->selected)
			continue;
		fmt_cycles(lc, sizeof(lc), &rr->lnx);
		fmt_cycles(dc, sizeof(dc), &rr->dune);
		if (side_median(&rr->lnx, &l) && side_median(&rr->dune, &d) && l > 0)
			snprintf(ratio, sizeof(ratio), "%.3gx", d / l);
		else
			snprintf(ratio, sizeof(ratio), "-");
		snprintf(paper, sizeof(paper), "%.3gx", ri->paper_dune / ri->paper_linux);
		fmt_exits(ex, sizeof(ex), &rr->dune);
		printf("%-15s %2d %8ld %12s %12s %8s  %-9s %-4s %s\n", ri->name, ri->table, ops,
		       lc, dc, ratio, paper, target_text(ri->target), ex);
	}
	printf("\n");
	for (i = 0; i < NR_ROWS; i++) {
		const struct row_result *rr = &rep->results[i];

		if (rr->lnx.err)
			printf("%s, Linux side: %s\n", bench_rows[i].name, rr->lnx.why);
		if (rr->dune.err && rep->dune_available)
			printf("%s, Dune side: %s\n", bench_rows[i].name, rr->dune.why);
		if (!rr->dune.err && rr->dune.has_exits &&
		    !row_target_met(i, &rr->dune, msg, sizeof(msg)))
			printf("%s: exit target missed: %s\n", bench_rows[i].name, msg);
	}
	fflush(stdout);
}

/* -------------------------------------------------------------- JSON */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_side(FILE *f, const struct side_result *s, const char *how, bool dune)
{
	uint64_t ops = side_total_ops(s);
	double med;
	bool first = true;
	int i;

	fprintf(f, "{\"method\": ");
	json_str(f, how);
	if (!side_median(s, &med)) {
		fprintf(f, ", \"error\": ");
		json_str(f, s->err ? s->why : "not measured");
		fprintf(f, "}");
		return;
	}
	fprintf(f, ", \"cycles_per_op\": %.1f, \"runs\": [", med);
	for (i = 0; i < s->runs; i++)
		fprintf(f, "%s%.1f", i ? ", " : "", s->cycles[i]);
	fprintf(f, "], \"ops_per_run\": %ld", s->ops);
	if (dune && s->has_exits && ops) {
		fprintf(f, ", \"exits_per_op\": %.4f, \"caused_exits_per_op\": %.4f",
			(double)side_total_exits(s) / ops, (double)side_caused_exits(s) / ops);
		fprintf(f, ", \"exits\": {");
		for (i = 0; i < DUNE_STATS_MAX_EXITS; i++) {
			if (!s->exits[i])
				continue;
			fprintf(f, "%s\"%s\": %lu", first ? "" : ", ", exit_name(i),
				(unsigned long)s->exits[i]);
			first = false;
		}
		fprintf(f, "}, \"total_ops\": %lu", (unsigned long)ops);
	}
	fprintf(f, "}");
}

static void json_row(FILE *f, const struct report *rep, int i)
{
	const struct row_info *ri = &bench_rows[i];
	const struct row_result *rr = &rep->results[i];
	char msg[160];
	double l, d;
	bool met;

	fprintf(f, "    {\"name\": \"%s\", \"table\": %d, \"title\": ", ri->name, ri->table);
	json_str(f, ri->title);
	fprintf(f, ", \"unit\": ");
	json_str(f, ri->unit);
	fprintf(f, ",\n     \"linux\": ");
	json_side(f, &rr->lnx, ri->linux_how, false);
	fprintf(f, ",\n     \"dune\": ");
	json_side(f, &rr->dune, ri->dune_how, true);
	fprintf(f, ",\n     \"ratio_dune_over_linux\": ");
	if (side_median(&rr->lnx, &l) && side_median(&rr->dune, &d) && l > 0)
		fprintf(f, "%.3f", d / l);
	else
		fprintf(f, "null");
	fprintf(f, ", \"paper\": {\"linux\": %.1f, \"dune\": %.1f, \"ratio_dune_over_linux\": "
		"%.3f}", ri->paper_linux, ri->paper_dune, ri->paper_dune / ri->paper_linux);
	met = row_target_met(i, &rr->dune, msg, sizeof(msg));
	fprintf(f, ",\n     \"exit_target\": {\"caused_exits_per_op\": \"%s\", \"met\": %s, "
		"\"detail\": ", target_text(ri->target),
		ri->target == TARGET_NONE ? "null" : met ? "true" : "false");
	json_str(f, msg);
	fprintf(f, "}}");
}

static void json_doc(FILE *f, const struct report *rep)
{
	const struct machine_info *m = rep->machine;
	bool first = true;
	int i;

	fprintf(f, "{\n  \"program\": \"dune-bench\", \"format\": 1, \"mode\": \"%s\", "
		"\"runs\": %d, \"statistic\": \"median\",\n", rep->quick ? "quick" : "full",
		rep->params->runs);
	fprintf(f, "  \"machine\": {\"emulated\": %s, \"emulated_how\": ",
		m->emulated ? "true" : "false");
	json_str(f, m->emulated_how);
	fprintf(f, ", \"cpu_model\": ");
	json_str(f, m->cpu_model);
	fprintf(f, ", \"kernel\": ");
	json_str(f, m->kernel);
	fprintf(f, ", \"backend\": ");
	json_str(f, m->backend);
	fprintf(f, ", \"tsc_overhead\": %lu},\n", (unsigned long)bench_tsc_overhead);
	fprintf(f, "  \"dune_available\": %s, \"dune_why\": ",
		rep->dune_available ? "true" : "false");
	json_str(f, rep->dune_why);
	fprintf(f, ",\n  \"params\": {\"ptwalk_pages\": %ld, \"appel_pages\": %ld},\n",
		rep->params->ptwalk_pages, rep->params->appel_pages);
	fprintf(f, "  \"rows\": [\n");
	for (i = 0; i < NR_ROWS; i++) {
		const struct row_result *rr = &rep->results[i];

		if (!rr->selected)
			continue;
		fprintf(f, "%s", first ? "" : ",\n");
		json_row(f, rep, i);
		first = false;
	}
	fprintf(f, "\n  ]\n}\n");
}

/* @path "-": stdout, between marker lines (for the emulated machines,
 * whose only way out is the program's stdout). */
int report_json(const struct report *rep, const char *path)
{
	FILE *f;

	if (!strcmp(path, "-")) {
		printf("%s\n", JSON_BEGIN);
		json_doc(stdout, rep);
		printf("%s\n", JSON_END);
		fflush(stdout);
		return 0;
	}
	f = fopen(path, "w");
	if (!f)
		return -errno;
	json_doc(f, rep);
	if (fclose(f))
		return -errno;
	return 0;
}
