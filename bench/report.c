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
	[DUNE_EXIT_IRQ_WINDOW] = "irq_window",
};

const char *bench_exit_name(int i)
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

bool row_best_linux(enum row_id id, const struct row_result *rr, int *which, double *cyc)
{
	bool found = side_median(&rr->lnx, cyc);
	double m;
	int k;

	*which = -1;
	for (k = 0; k < BENCH_MAX_ALTS && bench_rows[id].alts[k].name; k++) {
		if (side_median(&rr->alt[k], &m) && (!found || m < *cyc)) {
			*cyc = m;
			*which = k;
			found = true;
		}
	}
	return found;
}

static const char *method_name(enum row_id id, int which)
{
	return which < 0 ? bench_rows[id].linux_name : bench_rows[id].alts[which].name;
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
			n += snprintf(buf + n, len - n, " %s:%.3f", bench_exit_name(i),
				      (double)s->exits[i] / ops);
}

static void fmt_ratio(char *buf, size_t len, const struct side_result *lnx,
		      const struct side_result *dune)
{
	double l, d;

	if (side_median(lnx, &l) && side_median(dune, &d) && l > 0)
		snprintf(buf, len, "%.3gx", d / l);
	else
		snprintf(buf, len, "-");
}

/* Under a row with other Linux methods: one line each (its cycles, Dune
 * over it), then the best Linux method and Dune over that. */
static void table_alts(int i, const struct row_result *rr)
{
	const struct row_info *ri = &bench_rows[i];
	char lc[32], ratio[16], name[24];
	double best, d;
	int k, which;

	if (!ri->alts[0].name)
		return;
	for (k = 0; k < BENCH_MAX_ALTS && ri->alts[k].name; k++) {
		const struct side_result *a = &rr->alt[k];

		snprintf(name, sizeof(name), " +%s", ri->alts[k].name);
		if (a->skipped) {
			printf("%-18s %8s %12s  (skipped: %s)\n", name, "", "-", a->why);
			continue;
		}
		fmt_cycles(lc, sizeof(lc), a);
		fmt_ratio(ratio, sizeof(ratio), a, &rr->dune);
		printf("%-18s %8ld %12s %12s %8s%s%s\n", name, a->ops, lc, "", ratio,
		       a->note[0] ? "  " : "", a->note);
	}
	if (!row_best_linux(i, rr, &which, &best))
		return;
	if (side_median(&rr->dune, &d) && best > 0)
		snprintf(ratio, sizeof(ratio), "%.3gx", d / best);
	else
		snprintf(ratio, sizeof(ratio), "-");
	snprintf(name, sizeof(name), " =best Linux");
	printf("%-18s %8s %12.1f %12s %8s  %s\n", name, "", best, "", ratio,
	       method_name(i, which));
}

void report_table(const struct report *rep)
{
	const struct machine_info *m = rep->machine;
	char lc[32], dc[32], ratio[16], ex[128], paper[40], msg[160], tbl[4];
	int i, k;

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
		fmt_ratio(ratio, sizeof(ratio), &rr->lnx, &rr->dune);
		if (ri->paper_linux > 0)
			snprintf(paper, sizeof(paper), "%.3gx", ri->paper_dune / ri->paper_linux);
		else
			snprintf(paper, sizeof(paper), "-");
		snprintf(tbl, sizeof(tbl), ri->table ? "%d" : "-", ri->table);
		fmt_exits(ex, sizeof(ex), &rr->dune);
		printf("%-15s %2s %8ld %12s %12s %8s  %-9s %-4s %s\n", ri->name, tbl, ops,
		       lc, dc, ratio, paper, target_text(ri->target), ex);
		table_alts(i, rr);
	}
	printf("\n");
	for (i = 0; i < NR_ROWS; i++) {
		const struct row_result *rr = &rep->results[i];

		if (rr->lnx.err)
			printf("%s, Linux side: %s%s\n", bench_rows[i].name,
			       rr->lnx.skipped ? "skipped: " : "", rr->lnx.why);
		for (k = 0; k < BENCH_MAX_ALTS && bench_rows[i].alts[k].name; k++)
			if (rr->alt[k].err && !rr->alt[k].skipped)
				printf("%s, Linux %s: %s\n", bench_rows[i].name,
				       bench_rows[i].alts[k].name, rr->alt[k].why);
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

/* A side's fields, without the braces around them. */
static void json_side_fields(FILE *f, const struct side_result *s, const char *how, bool dune)
{
	uint64_t ops = side_total_ops(s);
	double med;
	bool first = true;
	int i;

	fprintf(f, "\"method\": ");
	json_str(f, how);
	if (s->note[0]) {
		fprintf(f, ", \"note\": ");
		json_str(f, s->note);
	}
	if (s->skipped) {
		fprintf(f, ", \"skipped\": ");
		json_str(f, s->why);
		return;
	}
	if (!side_median(s, &med)) {
		fprintf(f, ", \"error\": ");
		json_str(f, s->err ? s->why : "not measured");
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
			fprintf(f, "%s\"%s\": %lu", first ? "" : ", ", bench_exit_name(i),
				(unsigned long)s->exits[i]);
			first = false;
		}
		fprintf(f, "}, \"total_ops\": %lu", (unsigned long)ops);
	}
}

static void json_side(FILE *f, const struct side_result *s, const char *how, bool dune)
{
	fprintf(f, "{");
	json_side_fields(f, s, how, dune);
	fprintf(f, "}");
}

/* Every Linux method of the row, the primary one (the "linux" side, the
 * paper's method) first, each with its name and Dune over it; then the
 * cheapest of them. */
static void json_methods(FILE *f, int i, const struct row_result *rr)
{
	const struct row_info *ri = &bench_rows[i];
	const struct side_result *s;
	double l, d, best;
	int k, which;

	fprintf(f, ",\n     \"linux_methods\": [");
	for (k = -1; k < BENCH_MAX_ALTS && (k < 0 || ri->alts[k].name); k++) {
		s = k < 0 ? &rr->lnx : &rr->alt[k];
		fprintf(f, "%s\n       {\"name\": ", k < 0 ? "" : ",");
		json_str(f, method_name(i, k));
		fprintf(f, ", \"primary\": %s, \"ratio_dune_over_this\": ",
			k < 0 ? "true" : "false");
		if (side_median(s, &l) && side_median(&rr->dune, &d) && l > 0)
			fprintf(f, "%.3f", d / l);
		else
			fprintf(f, "null");
		fprintf(f, ", ");
		json_side_fields(f, s, k < 0 ? ri->linux_how : ri->alts[k].how, false);
		fprintf(f, "}");
	}
	fprintf(f, "],\n     \"best_linux\": ");
	if (!row_best_linux(i, rr, &which, &best)) {
		fprintf(f, "null");
		return;
	}
	fprintf(f, "{\"name\": ");
	json_str(f, method_name(i, which));
	fprintf(f, ", \"cycles_per_op\": %.1f, \"ratio_dune_over_best_linux\": ", best);
	if (side_median(&rr->dune, &d) && best > 0)
		fprintf(f, "%.3f}", d / best);
	else
		fprintf(f, "null}");
}

static void json_row(FILE *f, const struct report *rep, int i)
{
	const struct row_info *ri = &bench_rows[i];
	const struct row_result *rr = &rep->results[i];
	char msg[160];
	double l, d;
	bool met;

	fprintf(f, "    {\"name\": \"%s\", \"table\": ", ri->name);
	fprintf(f, ri->table ? "%d" : "null", ri->table);
	fprintf(f, ", \"title\": ");
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
	if (ri->paper_linux > 0)
		fprintf(f, ", \"paper\": {\"linux\": %.1f, \"dune\": %.1f, "
			"\"ratio_dune_over_linux\": %.3f}", ri->paper_linux, ri->paper_dune,
			ri->paper_dune / ri->paper_linux);
	else
		fprintf(f, ", \"paper\": null");
	json_methods(f, i, rr);
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
