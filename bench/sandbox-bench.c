// SPDX-License-Identifier: GPL-2.0
/*
 * dune-sandbox-bench: the paper's sandbox evaluation for dune-sandbox
 * (bench/README.md, "Sandbox").  The same unmodified programs run plainly
 * and under dune-sandbox in one boot, alternately, with the median of
 * several runs on each side; every sandboxed run's output must be the
 * plain run's bytes.  Rows:
 *
 *   startup   a static program that does nothing (process start to exit)
 *   syscall   N and 2N getppid calls: the extra time and exits per call
 *   page      N and 2N first writes to fresh pages: the same per page
 *   cpu       Debian's gzip, bzip2, xz, perl, sqlite3 and tcc on inputs
 *             grown until the plain run takes --min-seconds
 *   threads   xz -T2 (two compression threads, each its own vCPU)
 *   server    lighttpd and redis-server under a concurrent client load
 *
 * The sandboxed side's VM exits come from dune-sandbox --stats.  Exit
 * status: 0 measured, 1 a run failed or its output differed, 77 no Dune.
 * Missed cost targets are reported, not failed: this is a benchmark.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox-bench.h"

struct sb_opts opt = { .runs = 5, .min_s = 1.0, .work = "/tmp/dune-sandbox-bench" };
struct sb_row rows[SB_MAX_ROWS];
int nrows;
static char errpath[PATH_MAX], statspath[PATH_MAX];

double sb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void redirect(int fd, const char *path, int flags)
{
	int f = open(path ? path : "/dev/null", flags, 0644);

	if (f < 0 || dup2(f, fd) < 0)
		_exit(126);
	close(f);
}

/* Start @av with stdin @in and stdout @out (NULL: /dev/null). */
pid_t sb_spawn(char *const av[], const char *in, const char *out)
{
	pid_t pid = fork();

	if (pid == 0) {
		redirect(0, in, O_RDONLY);
		redirect(1, out, O_WRONLY | O_CREAT | O_TRUNC);
		redirect(2, errpath, O_WRONLY | O_CREAT | O_APPEND);
		execv(av[0], av);
		_exit(127);
	}
	return pid;
}

/* Run @av to its end: its wait status, @secs from fork to reaped. */
static int run_cmd(char *const av[], const char *in, const char *out, double *secs)
{
	double t0 = sb_now();
	pid_t pid = sb_spawn(av, in, out);
	int st;

	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	*secs = sb_now() - t0;
	return st;
}

/* The sandboxed form of @av: dune-sandbox --stats FILE -- av... */
char **sb_sandboxed(char *const av[], char **buf)
{
	int n = 0;

	buf[n++] = (char *)opt.sandbox;
	buf[n++] = "--stats";
	buf[n++] = statspath;
	buf[n++] = "--";
	for (int i = 0; av[i] && n < SB_MAX_ARGS - 1; i++)
		buf[n++] = av[i];
	buf[n] = NULL;
	return buf;
}

static double field(const char *line, const char *key)
{
	char k[48];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\": ", key);
	p = strstr(line, k);
	return p ? strtod(p + strlen(k), NULL) : 0;
}

/* Sum the --stats lines (one per process of the program), then clear. */
void sb_read_stats(struct sb_stats *s)
{
	FILE *f = fopen(statspath, "r");
	char line[512];

	memset(s, 0, sizeof(*s));
	while (f && fgets(line, sizeof(line), f)) {
		s->procs++;
		s->exits += field(line, "exits");
		s->hypercall += field(line, "hypercall");
		s->nested_fault += field(line, "nested_fault");
		s->extint += field(line, "extint");
		s->syscalls += field(line, "syscalls");
		s->vcpus += field(line, "vcpus");
		s->init_s += field(line, "init_s");
		s->run_s += field(line, "seconds");
		s->init_ticks += field(line, "init_ticks");
		s->dune_init_ticks += field(line, "dune_init_ticks");
		s->dune_enter_ticks += field(line, "dune_enter_ticks");
	}
	if (f)
		fclose(f);
	unlink(statspath);
}

static bool same_file(const char *a, const char *b)
{
	int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
	struct stat sa, sb;
	bool same = false;

	if (fa >= 0 && fb >= 0 && !fstat(fa, &sa) && !fstat(fb, &sb) && sa.st_size == sb.st_size) {
		void *pa = sa.st_size ? mmap(NULL, sa.st_size, PROT_READ, MAP_PRIVATE, fa, 0) : NULL;
		void *pb = sb.st_size ? mmap(NULL, sb.st_size, PROT_READ, MAP_PRIVATE, fb, 0) : NULL;

		same = !sa.st_size || (pa != MAP_FAILED && pb != MAP_FAILED &&
				       !memcmp(pa, pb, sa.st_size));
		if (sa.st_size && pa != MAP_FAILED)
			munmap(pa, sa.st_size);
		if (sb.st_size && pb != MAP_FAILED)
			munmap(pb, sb.st_size);
	}
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return same;
}

void sb_clear_err(void)
{
	unlink(errpath);
}

void sb_show_err(void)
{
	char line[256];
	FILE *f = fopen(errpath, "r");

	for (int i = 0; f && i < 8 && fgets(line, sizeof(line), f); i++)
		printf("#   %s", line);
	if (f)
		fclose(f);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double sb_median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int sb_fail(struct sb_row *r, const char *fmt, const char *a, int st)
{
	snprintf(r->err, sizeof(r->err), fmt, a, st);
	printf("# %s: %s\n", r->name, r->err);
	sb_show_err();
	return -1;
}

/*
 * @runs plain and sandboxed runs of @av, alternately (so a drift in the
 * machine's speed hits both sides): medians into @nat and @sbx, the last
 * sandboxed run's stats into @st.  @file: the program writes there, not
 * to stdout.  Every output must be the first plain run's bytes.
 */
static int measure(struct sb_row *r, char *const av[], const char *in, const char *file,
		   int runs, double *nat, double *sbx, struct sb_stats *st)
{
	char ref[PATH_MAX], out[PATH_MAX], *sav[SB_MAX_ARGS];
	double tn[SB_MAX_RUNS], ts[SB_MAX_RUNS];
	const char *target = file ? file : out;
	int s;

	snprintf(ref, sizeof(ref), "%s/ref.out", opt.work);
	snprintf(out, sizeof(out), "%s/run.out", opt.work);
	sb_sandboxed(av, sav);
	for (int i = 0; i < runs; i++) {
		unlink(errpath);
		s = run_cmd(av, in, file ? NULL : out, &tn[i]);
		if (s != 0)
			return sb_fail(r, "plain %s: wait status %#x", av[0], s);
		if (i == 0 && rename(target, ref))
			return sb_fail(r, "cannot keep the output of %s (%d)", av[0], errno);
		if (i && !same_file(ref, target))
			return sb_fail(r, "plain %s: output differs between runs (%d)", av[0], i);
		unlink(statspath);
		s = run_cmd(sav, in, file ? NULL : out, &ts[i]);
		if (s != 0)
			return sb_fail(r, "sandboxed %s: wait status %#x", av[0], s);
		if (!same_file(ref, target))
			return sb_fail(r, "sandboxed %s: output is not the plain run's (run %d)", av[0], i);
		sb_read_stats(st);
	}
	*nat = sb_median(tn, runs);
	*sbx = sb_median(ts, runs);
	return 0;
}

/* Write sbwork MODE SIZE's output to @path. */
static int gen(const char *mode, long size, const char *path)
{
	char num[32], *av[] = { (char *)opt.sbwork, (char *)mode, num, NULL };
	double t;

	snprintf(num, sizeof(num), "%ld", size);
	return run_cmd(av, NULL, path, &t) == 0 ? 0 : -1;
}

struct sb_row *sb_new_row(const char *name, const char *kind, const char *what)
{
	struct sb_row *r = &rows[nrows++];

	memset(r, 0, sizeof(*r));
	r->name = name;
	r->kind = kind;
	r->what = what;
	printf("# %-10s %s ...\n", name, what);
	fflush(stdout);
	return r;
}

static bool wanted(const char *name)
{
	char list[256], *save, *tok;

	if (!opt.rows)
		return true;
	snprintf(list, sizeof(list), "%s", opt.rows);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (!strcmp(tok, name))
			return true;
	return false;
}

static void row_startup(void)
{
	char *av[] = { (char *)opt.sbwork, "null", NULL };
	struct sb_row *r = sb_new_row("startup", "startup", "a static program that does nothing");

	r->ops = 1;
	r->unit = "process";
	if (measure(r, av, NULL, NULL, opt.runs * 2, &r->native_s, &r->sandbox_s, &r->st))
		return;
	r->ok = true;
	r->extra_us = (r->sandbox_s - r->native_s) * 1e6;
	r->exits_per_op = r->st.exits;
}

/* A per-operation row: the difference between N and 2N operations. */
static void row_slope(const char *name, const char *mode, long n, const char *what,
		      const char *unit)
{
	char n1[32], n2[32];
	char *a1[] = { (char *)opt.sbwork, (char *)mode, n1, NULL };
	char *a2[] = { (char *)opt.sbwork, (char *)mode, n2, NULL };
	struct sb_row *r = sb_new_row(name, "per-op", what);
	double nat1, sbx1, nat2, sbx2;
	struct sb_stats s1;

	snprintf(n1, sizeof(n1), "%ld", n);
	snprintf(n2, sizeof(n2), "%ld", 2 * n);
	r->ops = n;
	r->unit = unit;
	if (measure(r, a1, NULL, NULL, opt.runs, &nat1, &sbx1, &s1) ||
	    measure(r, a2, NULL, NULL, opt.runs, &nat2, &sbx2, &r->st))
		return;
	r->ok = true;
	r->native_s = nat2 - nat1;	/* the cost of n operations */
	r->sandbox_s = sbx2 - sbx1;
	r->extra_us = (r->sandbox_s - r->native_s) * 1e6 / n;
	r->exits_per_op = (r->st.exits - s1.exits) / n;
}

struct cpu_prog {
	const char *name, *path, *gen, *what;
	long quick_size, size, max_size;
	const char *args[6];	/* "%i": the input, "%o": the output file */
	bool from_stdin;
	const char *kind;
	const char *suffix;	/* the input file's */
};

static const struct cpu_prog cpu_progs[] = {
	{ "gzip", "/usr/bin/gzip", "text", "gzip -9 of word text", 1 << 15, 1 << 20, 64 << 20,
	  { "-9", "-c" }, true, "cpu", ".txt" },
	{ "bzip2", "/usr/bin/bzip2", "text", "bzip2 -9 of word text", 1 << 15, 1 << 19, 64 << 20,
	  { "-9", "-c" }, true, "cpu", ".txt" },
	{ "xz", "/usr/bin/xz", "text", "xz -6 (one thread) of word text", 1 << 14, 1 << 18,
	  64 << 20, { "-6", "-T1", "-c" }, true, "cpu", ".txt" },
	{ "perl", "/usr/bin/perl", "text", "perl: word frequencies, sorted", 1 << 16, 1 << 18,
	  64 << 20, { "-ne", "$c{$_}++ for split; END { print \"$_ $c{$_}\\n\" for sort keys %c }" },
	  true, "cpu", ".txt" },
	{ "sqlite3", "/usr/bin/sqlite3", "sql", "sqlite3: inserts, an index, a self-join",
	  500, 2000, 1 << 20, { ":memory:" }, true, "cpu", ".sql" },
	{ "tcc", "/usr/bin/tcc", "csrc", "tcc -c of generated C", 100, 400, 1 << 18,
	  { "-c", "%i", "-o", "%o" }, false, "cpu", ".c" },
	{ "xz-T2", "/usr/bin/xz", "text", "xz -1 -T2 in 128 KiB blocks (two threads)", 1 << 18,
	  1 << 20, 64 << 20, { "-1", "-T2", "--block-size=131072", "-c" }, true, "threads", ".txt" },
};

static void row_cpu(const struct cpu_prog *p)
{
	char in[PATH_MAX], obj[PATH_MAX], *av[SB_MAX_ARGS];
	struct sb_row *r = sb_new_row(p->name, p->kind, p->what);
	long size = opt.quick ? p->quick_size : p->size;
	int n = 0;
	double t;

	r->unit = strcmp(p->gen, "text") ? (strcmp(p->gen, "sql") ? "functions" : "rows")
		  : "bytes";
	if (access(p->path, X_OK)) {
		r->skipped = true;
		snprintf(r->err, sizeof(r->err), "%s is not in this machine", p->path);
		return;
	}
	snprintf(in, sizeof(in), "%s/in-%s%s", opt.work, p->name, p->suffix);
	snprintf(obj, sizeof(obj), "%s/out-%s.o", opt.work, p->name);
	av[n++] = (char *)p->path;
	for (int i = 0; i < 6 && p->args[i]; i++)
		av[n++] = !strcmp(p->args[i], "%i") ? in : !strcmp(p->args[i], "%o") ? obj
			  : (char *)p->args[i];
	av[n] = NULL;
	/* Grow the input until the plain run takes --min-seconds. */
	for (;;) {
		if (gen(p->gen, size, in)) {
			sb_fail(r, "sbwork %s: cannot write the input (%d)", p->gen, (int)size);
			return;
		}
		unlink(errpath);
		if (run_cmd(av, p->from_stdin ? in : NULL, p->from_stdin ? obj : NULL, &t) != 0) {
			sb_fail(r, "plain %s failed on its input (%d)", p->path, 0);
			return;
		}
		if (t >= opt.min_s || size >= p->max_size)
			break;
		size *= t > 0 && opt.min_s * 1.15 / t < 16 ? (long)ceil(opt.min_s * 1.15 / t) : 16;
		if (size > p->max_size)
			size = p->max_size;
	}
	r->size = size;
	r->ops = 1;
	if (measure(r, av, p->from_stdin ? in : NULL, p->from_stdin ? NULL : obj, opt.runs,
		    &r->native_s, &r->sandbox_s, &r->st))
		return;
	r->ok = true;
	r->extra_us = (r->sandbox_s - r->native_s) * 1e6;
	r->exits_per_op = r->st.syscalls ? r->st.exits / r->st.syscalls : 0;
	unlink(in);
}

static int usage(void)
{
	fprintf(stderr, "usage: dune-sandbox-bench [--quick] [--runs=N] [--min-seconds=S] "
		"[--rows=a,b] [--json=FILE|-] [--sandbox=PATH] [--sbwork=PATH] [--work=DIR]\n");
	return 2;
}

static const char *next_to_me(const char *argv0, const char *name)
{
	static char buf[2][PATH_MAX];
	static int k;
	const char *slash = strrchr(argv0, '/');
	int dl = slash ? (int)(slash - argv0) : 1;

	snprintf(buf[k], sizeof(buf[k]), "%.*s/%s", dl, slash ? argv0 : ".", name);
	return buf[k++];
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = strchr(a, '=');

		v = v ? v + 1 : "";
		if (!strcmp(a, "--quick"))
			opt.quick = true;
		else if (!strncmp(a, "--runs=", 7))
			opt.runs = atoi(v);
		else if (!strncmp(a, "--min-seconds=", 14))
			opt.min_s = atof(v);
		else if (!strncmp(a, "--rows=", 7))
			opt.rows = v;
		else if (!strncmp(a, "--json=", 7))
			opt.json = v;
		else if (!strncmp(a, "--sandbox=", 10))
			opt.sandbox = v;
		else if (!strncmp(a, "--sbwork=", 9))
			opt.sbwork = v;
		else if (!strncmp(a, "--work=", 7))
			opt.work = v;
		else
			return usage();
	}
	if (opt.quick) {
		opt.runs = opt.runs == 5 ? 3 : opt.runs;
		opt.min_s = opt.min_s == 1.0 ? 0.1 : opt.min_s;
	}
	if (opt.runs < 1 || opt.runs * 2 > SB_MAX_RUNS || opt.min_s < 0)
		return usage();
	opt.sandbox = opt.sandbox ? opt.sandbox : next_to_me(argv[0], "dune-sandbox");
	opt.sbwork = opt.sbwork ? opt.sbwork : next_to_me(argv[0], "sbwork");
	mkdir(opt.work, 0755);
	snprintf(errpath, sizeof(errpath), "%s/stderr", opt.work);
	snprintf(statspath, sizeof(statspath), "%s/stats", opt.work);
	if (access("/dev/dune", R_OK | W_OK) || access(opt.sandbox, X_OK)) {
		printf("1..0 # SKIP no /dev/dune or no %s\n", opt.sandbox);
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	printf("# dune-sandbox-bench%s: %d runs a side, cpu inputs grown to %.2f s plain\n",
	       opt.quick ? " --quick" : "", opt.runs, opt.min_s);
	if (wanted("startup"))
		row_startup();
	if (wanted("syscall"))
		row_slope("syscall", "calls", opt.quick ? 2000 : 20000, "getppid", "call");
	if (wanted("page"))
		row_slope("page", "pages", opt.quick ? 512 : 4096, "first write to a fresh page",
			  "page");
	for (size_t i = 0; i < sizeof(cpu_progs) / sizeof(cpu_progs[0]); i++)
		if (wanted(cpu_progs[i].name))
			row_cpu(&cpu_progs[i]);
	sb_servers();
	return sb_report();
}
