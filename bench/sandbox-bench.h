/* SPDX-License-Identifier: GPL-2.0 */
/* dune-sandbox-bench (bench/sandbox-bench.c): shared between its files. */
#ifndef DUNE_SANDBOX_BENCH_H
#define DUNE_SANDBOX_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SB_MAX_ROWS 16
#define SB_MAX_ARGS 32
#define SB_MAX_RUNS 40

struct sb_opts {
	bool quick;
	int runs;		/* timed runs a side */
	double min_s;		/* cpu rows: grow the input to this plain time */
	const char *rows, *json, *sandbox, *sbwork, *work;
};

/* What dune-sandbox --stats reported, summed over a run's processes. */
struct sb_stats {
	double procs, vcpus, syscalls, exits, hypercall, nested_fault, extint;
	double init_s, run_s;	/* main() to the program's entry; from there to its end */
	double init_ticks, dune_init_ticks, dune_enter_ticks;	/* init_s split */
};

struct sb_row {
	const char *name, *kind, *what, *unit;
	bool ok, skipped;
	char err[200];		/* why it failed or was skipped */
	long size;		/* cpu rows: the input, in @unit */
	long ops;		/* operations a measurement covers */
	double native_s, sandbox_s;	/* medians (server rows: per request) */
	double extra_us;	/* per operation */
	double exits_per_op;	/* cpu rows: per system call */
	double rps_native, rps_sandbox;	/* server rows */
	int st_plain, st_sandbox;	/* server rows: wait status after SIGTERM */
	struct sb_stats st;	/* the sandboxed side's */
};

extern struct sb_opts opt;
extern struct sb_row rows[SB_MAX_ROWS];
extern int nrows;

/* sandbox-bench.c */
struct sb_row *sb_new_row(const char *name, const char *kind, const char *what);
pid_t sb_spawn(char *const av[], const char *in, const char *out);
char **sb_sandboxed(char *const av[], char **buf);
void sb_read_stats(struct sb_stats *s);
int sb_fail(struct sb_row *r, const char *fmt, const char *a, int st);
void sb_show_err(void);
void sb_clear_err(void);
double sb_median(double *v, int n);
/* sbserve.c: the server rows */
void sb_servers(void);
/* sbreport.c: the table and JSON; the exit status */
int sb_report(void);

#define SBLOAD_MAX_CONNS 16

enum sbload_kind { SBLOAD_HTTP, SBLOAD_REDIS };

/* A closed-loop client load on 127.0.0.1:@port (bench/sbload.c). */
struct sbload {
	enum sbload_kind kind;
	int port;
	int conns;		/* connections at once, a thread each */
	long requests;		/* per connection */
	const char *path;	/* http: the file requested ... */
	const char *body;	/* ... and its exact bytes */
	size_t body_len;
};

double sb_now(void);
int sbload_wait_up(int port, double timeout_s);
double sbload_run(const struct sbload *l, char *err, size_t errlen);

#endif /* DUNE_SANDBOX_BENCH_H */
