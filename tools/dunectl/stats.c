// SPDX-License-Identifier: GPL-2.0
/*
 * dunectl stats: the module keeps VM-exit counters per vCPU and hands a
 * thread only its own (DUNE_GET_STATS), so dunectl enters Dune mode
 * itself, runs a short calibrated workload and prints what it cost:
 * phase 1 makes N getpid() calls (one hypercall exit each), phase 2
 * touches N fresh pages (nested page faults).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <dune/dune.h>

#include "dunectl.h"

/* Indexed by enum dune_exit_reason (uapi/dune.h). */
static const char *const exit_names[] = {
	[DUNE_EXIT_NONE] = "none",
	[DUNE_EXIT_HYPERCALL] = "hypercall",
	[DUNE_EXIT_NESTED_FAULT] = "nested-fault",
	[DUNE_EXIT_EXTINT] = "external-interrupt",
	[DUNE_EXIT_NMI] = "nmi",
	[DUNE_EXIT_EXCEPTION] = "exception",
	[DUNE_EXIT_TRIPLE_FAULT] = "triple-fault",
	[DUNE_EXIT_CPUID] = "cpuid",
	[DUNE_EXIT_HLT] = "hlt",
	[DUNE_EXIT_IO] = "io",
	[DUNE_EXIT_MSR_READ] = "msr-read",
	[DUNE_EXIT_MSR_WRITE] = "msr-write",
	[DUNE_EXIT_XSETBV] = "xsetbv",
	[DUNE_EXIT_PRIV_INSN] = "privileged-insn",
	[DUNE_EXIT_CR_ACCESS] = "cr-access",
	[DUNE_EXIT_DR_ACCESS] = "dr-access",
	[DUNE_EXIT_INVALID_STATE] = "invalid-state",
	[DUNE_EXIT_OTHER] = "other",
	[DUNE_EXIT_IRQ_WINDOW] = "irq-window",
};
_Static_assert(sizeof(exit_names) / sizeof(exit_names[0]) == DUNE_EXIT_NR,
	       "a name for every dune_exit_reason");

struct workload {
	long syscalls;
	long pages;
	bool json;
};

/* Counters at the start, after the getpid phase, after the page phase. */
struct snapshots {
	struct dune_stats s[3];
	struct dune_info info;	/* read while this process is in Dune mode */
	int err;
};

static int parse_args(int argc, char **argv, struct workload *w)
{
	char *end;
	int i;

	w->syscalls = 10000;
	w->pages = 1024;
	w->json = false;
	for (i = 1; i < argc; i++) {
		long *dst = !strncmp(argv[i], "--syscalls=", 11) ? &w->syscalls :
			    !strncmp(argv[i], "--pages=", 8) ? &w->pages : NULL;

		if (!strcmp(argv[i], "--json")) {
			w->json = true;
			continue;
		}
		if (!dst)
			return -1;
		errno = 0;
		*dst = strtol(strchr(argv[i], '=') + 1, &end, 10);
		if (errno || *end || *dst < 0 || *dst > 100000000)
			return -1;
	}
	return 0;
}

/* Runs in Dune mode: only the counters are gathered here, printing comes
 * after so that its own system calls do not land in the phases. */
static void run_workload(const struct workload *w, struct snapshots *sn)
{
	size_t len = (size_t)w->pages * 4096;
	volatile char *mem;
	long i;

	sn->err = dune_get_stats(&sn->s[0]);
	for (i = 0; i < w->syscalls; i++)
		syscall(SYS_getpid);
	sn->err = sn->err ? sn->err : dune_get_stats(&sn->s[1]);
	mem = len ? mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
		  : NULL;
	if (mem == MAP_FAILED) {
		sn->err = -errno;
		return;
	}
	for (i = 0; i < w->pages; i++)
		mem[i * 4096] = 1;
	sn->err = sn->err ? sn->err : dune_get_stats(&sn->s[2]);
	if (len)
		munmap((void *)mem, len);
	if (dune_get_info(&sn->info))
		sn->err = sn->err ? sn->err : -errno;
}

#define D(a, b, f) ((unsigned long long)((b)->f - (a)->f))

static void print_text(const struct workload *w, const struct snapshots *sn,
		       const char *params)
{
	const struct dune_stats *s = sn->s;
	int i;

	printf("dunectl stats: this process in Dune mode on the %s backend\n",
	       dune_backend_name(sn->info.backend));
	printf("workload: phase 1 = %ld getpid() calls, phase 2 = %ld fresh pages touched\n\n",
	       w->syscalls, w->pages);
	printf("%-20s %12s %12s %12s\n", "exit reason", "total", "phase 1", "phase 2");
	for (i = 1; i < DUNE_EXIT_NR; i++)
		printf("%-20s %12llu %12llu %12llu\n", exit_names[i],
		       (unsigned long long)s[2].exits[i], D(&s[0], &s[1], exits[i]),
		       D(&s[1], &s[2], exits[i]));
	printf("%-20s %12llu %12llu %12llu\n", "guest entries",
	       (unsigned long long)s[2].entries, D(&s[0], &s[1], entries), D(&s[1], &s[2], entries));
	printf("%-20s %12llu %12llu %12llu\n", "returns to libdune",
	       (unsigned long long)s[2].returns, D(&s[0], &s[1], returns), D(&s[1], &s[2], returns));
	printf("%-20s %12llu %12llu %12llu\n", "syscalls in kernel",
	       (unsigned long long)s[2].syscalls_kernel, D(&s[0], &s[1], syscalls_kernel),
	       D(&s[1], &s[2], syscalls_kernel));
	printf("%-20s %12llu %12llu %12llu\n", "syscalls in host",
	       (unsigned long long)s[2].syscalls_host, D(&s[0], &s[1], syscalls_host),
	       D(&s[1], &s[2], syscalls_host));
	printf("%-20s %12llu\n\n", "nested pages now", (unsigned long long)s[2].nested_pages);
	printf("live vCPUs (module-wide, this one included): %u\n", sn->info.live_vcpus);
	printf("module parameters: %s\n", params[0] ? params : "(none readable)");
}

static void print_counters(const struct dune_stats *a, const struct dune_stats *b)
{
	int i;

	printf("{\"exits\": {");
	for (i = 1; i < DUNE_EXIT_NR; i++)
		printf("%s\"%s\": %llu", i > 1 ? ", " : "", exit_names[i],
		       a ? D(a, b, exits[i]) : (unsigned long long)b->exits[i]);
	printf("}, \"entries\": %llu, \"returns\": %llu, \"syscalls_kernel\": %llu,"
	       " \"syscalls_host\": %llu}",
	       a ? D(a, b, entries) : (unsigned long long)b->entries,
	       a ? D(a, b, returns) : (unsigned long long)b->returns,
	       a ? D(a, b, syscalls_kernel) : (unsigned long long)b->syscalls_kernel,
	       a ? D(a, b, syscalls_host) : (unsigned long long)b->syscalls_host);
}

static void print_json(const struct workload *w, const struct snapshots *sn, const char *params)
{
	printf("{\"backend\": \"%s\", \"syscalls\": %ld, \"pages\": %ld, \"total\": ",
	       dune_backend_name(sn->info.backend), w->syscalls, w->pages);
	print_counters(NULL, &sn->s[2]);
	printf(", \"getpid_phase\": ");
	print_counters(&sn->s[0], &sn->s[1]);
	printf(", \"page_phase\": ");
	print_counters(&sn->s[1], &sn->s[2]);
	printf(", \"nested_pages\": %llu, \"live_vcpus\": %u, \"parameters\": ",
	       (unsigned long long)sn->s[2].nested_pages, sn->info.live_vcpus);
	json_string(stdout, params);
	printf("}\n");
}

int cmd_stats(int argc, char **argv)
{
	static struct snapshots sn;
	struct workload w;
	char params[512];
	int r;

	if (parse_args(argc, argv, &w)) {
		fprintf(stderr, "usage: dunectl stats [--syscalls=N] [--pages=N] [--json]\n");
		return 2;
	}
	r = dune_init_and_enter();
	if (r) {
		fprintf(stderr, "dunectl: cannot enter Dune mode: %s\n", device_error(-r));
		return 1;
	}
	run_workload(&w, &sn);
	if (sn.err) {
		fprintf(stderr, "dunectl: reading the counters failed: %s\n", strerror(-sn.err));
		return 1;
	}
	module_params(params, sizeof(params));
	if (w.json)
		print_json(&w, &sn, params);
	else
		print_text(&w, &sn, params);
	return 0;
}
