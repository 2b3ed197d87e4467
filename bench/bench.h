/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dune-bench: the micro-benchmarks of the Dune paper (OSDI 2012, Tables 2
 * and 3), each measured in plain Linux and in Dune mode in the same run.
 * Shared definitions: the rows, the results, the cycle counter.
 */
#ifndef DUNE_BENCH_H
#define DUNE_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include <dune/info.h>	/* the module ABI: struct dune_stats, DUNE_EXIT_* */

#define BENCH_MAX_RUNS	15
#define BENCH_MAX_ALTS	4	/* other Linux methods per row */
#define BENCH_PGSIZE	4096UL

enum row_id {
	ROW_SYSCALL,		/* getpid round trip */
	ROW_SYSCALL_SECCOMP,	/* the same under a seccomp filter (not in the paper) */
	ROW_PGFAULT,		/* Linux kernel fault vs Dune guest-handled fault */
	ROW_PGFAULT_NESTED,	/* first touch of new process memory, both modes */
	ROW_PTWALK,		/* random page accesses: TLB misses, 2D walks */
	ROW_PTRACE,		/* system-call interposition */
	ROW_TRAP,		/* user-level trap handler round trip (int3) */
	ROW_APPEL1,		/* PROT1 + TRAP + UNPROT */
	ROW_APPEL2,		/* PROTN + TRAP + UNPROT */
	ROW_IPI,		/* interrupt to a thread on another CPU (not in the paper) */
	ROW_STARTUP,		/* a new process into Dune mode (not in the paper) */
	NR_ROWS
};

/* What the Dune side must cost in VM exits per operation (the CHECKs). */
enum exit_target {
	TARGET_NONE,		/* reported only */
	TARGET_ONE,		/* exactly one exit per operation */
	TARGET_ZERO,		/* no exit caused by the operation */
	TARGET_AT_MOST_ONE,	/* at most one per operation */
};

struct bench_params;
struct side_result;
typedef void (*side_fn)(const struct bench_params *p, struct side_result *r);

/* Another way Linux offers to do a row's operation (a baseline people
 * would use today), measured on the Linux side beside the paper's. */
struct alt_method {
	const char *name;	/* short, for the table and the JSON */
	const char *how;
	side_fn fn;
};

struct row_info {
	const char *name;
	int table;		/* in the paper; 0: not in the paper */
	const char *title;
	const char *unit;	/* what one operation is */
	const char *linux_how;
	const char *dune_how;
	double paper_linux;	/* cycles, paper Tables 2/3; 0: none */
	double paper_dune;
	enum exit_target target;
	const char *linux_name;	/* the Linux side's method, short */
	struct alt_method alts[BENCH_MAX_ALTS];	/* name NULL: none */
};

extern const struct row_info bench_rows[NR_ROWS];

/* One side (Linux or Dune) of one row; lives in shared memory so forked
 * measuring processes can fill it. */
struct side_result {
	int err;			/* 0, or a negative errno: not measured */
	bool skipped;			/* the kernel lacks the feature: not a failure */
	char why[120];			/* what went wrong */
	char note[80];			/* how it was measured, where that varies */
	int runs;			/* runs completed */
	long ops;			/* operations per run */
	double cycles[BENCH_MAX_RUNS];	/* cycles per operation, each run */
	bool has_exits;			/* Dune side: exits[] is valid */
	uint64_t exits[DUNE_STATS_MAX_EXITS];	/* summed over the runs */
};

struct row_result {
	bool selected;
	struct side_result lnx, dune;	/* "linux" is a GNU C macro */
	struct side_result alt[BENCH_MAX_ALTS];	/* bench_rows[].alts, Linux */
};

struct bench_params {
	int runs;
	long ops[NR_ROWS];	/* operations per run */
	long ptwalk_pages;	/* size of the ptwalk region */
	long appel_pages;	/* pages per appel pass */
};

/* linux.c, dune.c: one function per row; a NULL entry is not measured. */
extern const side_fn bench_linux[NR_ROWS];
extern const side_fn bench_dune[NR_ROWS];

/* ------------------------------------------------------------ timing */

extern uint64_t bench_tsc_overhead;

/* RDTSC fenced on both sides (not CPUID, which exits in Dune mode). */
static inline uint64_t bench_tsc(void)
{
	uint32_t lo, hi;

	__asm__ __volatile__("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
	return lo | (uint64_t)hi << 32;
}

void bench_measure_tsc_overhead(void);
/* Store run @run's result: @cycles over @ops operations. */
void bench_record(struct side_result *r, int run, uint64_t cycles, long ops);
void bench_fail(struct side_result *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Not measured because this kernel lacks what the method needs. */
void bench_skip(struct side_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* getpid with the SYSCALL instruction itself (no libc), same code in both
 * modes; in Dune mode ring 0's SYSCALL is libdune's hypercall. */
static inline long bench_raw_getpid(void)
{
	long ret;

	__asm__ __volatile__("syscall" : "=a"(ret) : "a"(39L) : "rcx", "r11", "memory");
	return ret;
}

/* ----------------------------------------- today's baselines (Linux) */

/* seccomp.c: the filter both sides of syscall-seccomp run under;
 * @every_call: one the kernel cannot cache a verdict of (it looks at the
 * call site), so the filter runs on every call.  0 or a negative errno. */
int bench_seccomp_install(bool every_call);
void l_syscall_seccomp(const struct bench_params *p, struct side_result *r);
void l_syscall_seccomp_cached(const struct bench_params *p, struct side_result *r);
void l_seccomp_trap(const struct bench_params *p, struct side_result *r);
void l_seccomp_notif(const struct bench_params *p, struct side_result *r);
/* linux.c */
void l_pgfault_sigsegv(const struct bench_params *p, struct side_result *r);
/* uffd.c */
void l_pgfault_uffd(const struct bench_params *p, struct side_result *r);
void l_appel1_uffd_wp(const struct bench_params *p, struct side_result *r);
void l_appel2_uffd_wp(const struct bench_params *p, struct side_result *r);
/* Keep the measuring process (its handler thread too) on the CPU it runs
 * on: the faulting thread hands over to the handler on that CPU, and the
 * cost is the mechanism's, not a cross-CPU wake-up's (which an emulator
 * makes milliseconds).  0 or a negative errno. */
int bench_pin_cpu(void);
/* Opens a userfaultfd with @features (UFFDIO_API done), the ways this
 * kernel allows; -errno with @why filled if none works. */
int uffd_open(uint64_t features, char *why, size_t len);
/* ipi.c */
void l_ipi(const struct bench_params *p, struct side_result *r);
void d_ipi(const struct bench_params *p, struct side_result *r);
/* startup.c: the Dune side runs in host mode (it enters by itself). */
void l_startup(const struct bench_params *p, struct side_result *r);
void d_startup(const struct bench_params *p, struct side_result *r);
/* kvm.c: the syscall row through a KVM guest's exit to user space. */
extern const char *bench_kvm_from;	/* --kvm-from */
void l_syscall_kvm(const struct bench_params *p, struct side_result *r);
/* --kvm-save: measure only that, write the runs to @path; exit status. */
int bench_kvm_save(const struct bench_params *p, const char *path);
/* dirty.c */
void l_appel2_soft_dirty(const struct bench_params *p, struct side_result *r);
void l_appel2_pagemap_scan(const struct bench_params *p, struct side_result *r);

/* ---------------------------------------------- ptwalk's pointer chase */

/* Link @npages pages of @mem into one random cycle (same order for the
 * same seed); returns the start, or NULL without memory. */
void *chase_build(uint8_t *mem, long npages);
/* Follow @steps links from @p; returns where it ended (keeps it live). */
void *chase_run(void *p, long steps);

/* ---------------------------------------------------------- machine */

struct machine_info {
	bool emulated;
	char emulated_how[200];	/* how that was decided */
	char cpu_model[96];
	char kernel[96];
	char backend[8];	/* "vmx", "svm" or "" */
};

void machine_detect(struct machine_info *m);

/* ----------------------------------------------------------- report */

struct report {
	const struct bench_params *params;
	const struct machine_info *machine;
	const struct row_result *results;
	bool quick;
	bool dune_available;
	char dune_why[120];
};

/* Median of a side's runs; false when it was not measured. */
bool side_median(const struct side_result *s, double *out);
/* The cheapest measured Linux method of a row: -1 the paper's, else an
 * index into alts; false if none was measured. */
bool row_best_linux(enum row_id id, const struct row_result *rr, int *which, double *cyc);
/* Exits the operations caused (host interrupts and NMIs excluded). */
uint64_t side_caused_exits(const struct side_result *s);
/* Does the Dune side meet its row's exit target?  @msg says why. */
bool row_target_met(enum row_id id, const struct side_result *d, char *msg, size_t len);

/* An exit reason's short name ("nested_fault"), as the table prints it. */
const char *bench_exit_name(int reason);
void report_table(const struct report *rep);
/* Returns 0 or a negative errno. */
int report_json(const struct report *rep, const char *path);

#endif /* DUNE_BENCH_H */
