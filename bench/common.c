// SPDX-License-Identifier: GPL-2.0
/*
 * What both sides share: the rows (with the paper's figures), the cycle
 * counter's overhead, recording a run, and ptwalk's pointer chase.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* Paper figures: Belay et al., OSDI 2012, Tables 2 and 3 (Xeon E3-1230 v2,
 * Linux 3.2); see ../shared/PAPER.md. */
const struct row_info bench_rows[NR_ROWS] = {
	[ROW_SYSCALL] = {
		"syscall", 2, "system call (getpid)", "getpid round trip",
		"SYSCALL instruction, getpid",
		"SYSCALL in guest ring 0 = hypercall, run by the host, re-entry",
		138, 895, TARGET_ONE, "syscall",
		{ { "kvm-exit",
		    "a KVM guest's hypercall (IN on a port) exits to the user-space VMM, which "
		    "makes getpid and resumes the guest (bench/kvm.c)", l_syscall_kvm } } },
	[ROW_SYSCALL_SECCOMP] = {
		"syscall-seccomp", 0, "system call under a seccomp filter", "getpid round trip",
		"getpid under an allow-all filter of a few rules that looks at the call site "
		"(no cached verdict: the filter runs on every call)",
		"the same call under the same filter: the module bounces it to host mode, "
		"libdune makes it there",
		0, 0, TARGET_ONE, "seccomp-filter",
		{ { "seccomp-cached",
		    "getpid under the same rules without the call-site check: the kernel caches "
		    "getpid's allow verdict (5.11+)", l_syscall_seccomp_cached } } },
	[ROW_PGFAULT] = {
		"pgfault", 2, "page fault", "first write to a page",
		"kernel fault on fresh anonymous memory",
		"guest #PF to a ring-0 libdune handler mapping a pool page",
		2687, 5093, TARGET_ZERO, "kernel-fault",
		{ { "sigsegv", "PROT_NONE memory, SIGSEGV handler mprotects the page RW",
		    l_pgfault_sigsegv },
		  { "uffd-missing",
		    "userfaultfd missing-page fault, a handler thread answers with UFFDIO_COPY "
		    "of a zero page", l_pgfault_uffd } } },
	[ROW_PGFAULT_NESTED] = {
		"pgfault-nested", 2, "page fault, new process memory", "first write to a page",
		"kernel fault on fresh anonymous memory",
		"nested page fault on fresh dune_mmap memory, host fault",
		2687, 5093, TARGET_AT_MOST_ONE, "kernel-fault" },
	[ROW_PTWALK] = {
		"ptwalk", 2, "page walk (TLB miss)", "dependent load, random page",
		"random pointer chase over 4K pages",
		"same chase: guest walk through the nested tables (2D)",
		35.8, 86.4, TARGET_ZERO, "chase" },
	[ROW_PTRACE] = {
		"ptrace", 3, "syscall interposition (ptrace)", "interposed getpid",
		"tracer process with PTRACE_SYSEMU answers the child's getpid",
		"ring-3 SYSCALL to a ring-0 handler that answers it",
		27317, 1091, TARGET_ZERO, "ptrace-sysemu",
		{ { "seccomp-trap",
		    "seccomp SECCOMP_RET_TRAP: a SIGSYS handler answers getpid (gVisor's systrap)",
		    l_seccomp_trap },
		  { "seccomp-notif",
		    "seccomp SECCOMP_RET_USER_NOTIF: a supervisor thread answers through the "
		    "listener fd", l_seccomp_notif } } },
	[ROW_TRAP] = {
		"trap", 3, "user-level trap", "int3, handler, return",
		"SIGTRAP handler and sigreturn",
		"#BP through the guest IDT to a registered handler, iretq",
		2821, 587, TARGET_ZERO, "sigtrap" },
	[ROW_APPEL1] = {
		"appel1", 3, "PROT1+TRAP+UNPROT", "pass over 100 pages (100 traps)",
		"mprotect + SIGSEGV handler doing 2 mprotect",
		"guest #PF handler doing 2 dune_vm_mprotect",
		701413, 94496, TARGET_ZERO, "mprotect-sigsegv",
		{ { "uffd-wp",
		    "userfaultfd write-protect: UFFDIO_WRITEPROTECT, a handler thread un-protects "
		    "the page and protects the one 100 further", l_appel1_uffd_wp } } },
	[ROW_APPEL2] = {
		"appel2", 3, "PROTN+TRAP+UNPROT", "pass over 100 pages (100 traps)",
		"mprotect of 100 pages + SIGSEGV handler doing mprotect",
		"dune_vm_mprotect of 100 pages + guest #PF handler doing dune_vm_mprotect",
		684909, 94854, TARGET_ZERO, "mprotect-sigsegv",
		{ { "uffd-wp",
		    "userfaultfd write-protect of 100 pages, a handler thread un-protects each "
		    "written page", l_appel2_uffd_wp },
		  { "soft-dirty",
		    "clear_refs 4, writes fault in the kernel only, pagemap bit 55 read back: "
		    "which pages were written (no per-write handler)", l_appel2_soft_dirty },
		  { "pagemap-scan",
		    "userfaultfd async write-protect, writes fault in the kernel only, one "
		    "PAGEMAP_SCAN collects the written pages and re-protects them (6.7+)",
		    l_appel2_pagemap_scan } } },
	[ROW_IPI] = {
		"ipi", 0, "inter-processor interrupt", "send to a thread on another CPU, its handler runs",
		"pthread_kill(SIGUSR1) to a spinning thread, SIGUSR1 handler",
		"dune_apic_send_ipi (DUNE_SEND_IPI) to a spinning Dune thread, IDT handler",
		0, 0, TARGET_NONE, "tgkill" },
	[ROW_STARTUP] = {
		"startup", 0, "process startup", "new process to its first system call",
		"fork, execve of a static program that makes getpid and exits, wait",
		"fork, dune_init + dune_enter + getpid in guest ring 0, exit, wait",
		0, 0, TARGET_NONE, "fork-exec-wait" },
};

uint64_t bench_tsc_overhead;

void bench_measure_tsc_overhead(void)
{
	uint64_t t0, t1, best = UINT64_MAX;
	int i;

	for (i = 0; i < 1000; i++) {
		t0 = bench_tsc();
		t1 = bench_tsc();
		if (t1 - t0 < best)
			best = t1 - t0;
	}
	bench_tsc_overhead = best;
}

void bench_record(struct side_result *r, int run, uint64_t cycles, long ops)
{
	if (run < 0 || run >= BENCH_MAX_RUNS || ops <= 0)
		return;
	if (cycles > bench_tsc_overhead)
		cycles -= bench_tsc_overhead;
	r->cycles[run] = (double)cycles / ops;
	r->ops = ops;
	if (run + 1 > r->runs)
		r->runs = run + 1;
}

int bench_pin_cpu(void)
{
	int cpu = sched_getcpu();
	cpu_set_t set;

	if (cpu < 0)
		return -errno;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

void bench_skip(struct side_result *r, const char *fmt, ...)
{
	va_list ap;

	if (r->err)
		return;
	r->err = -EOPNOTSUPP;
	r->skipped = true;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
}

void bench_fail(struct side_result *r, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->err)
		return;		/* the first failure says most */
	r->err = err ? err : -EIO;
	va_start(ap, fmt);
	n = vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(r->why) && err)
		snprintf(r->why + n, sizeof(r->why) - n, ": %s", strerror(-err));
}

/* ---------------------------------------------------------- the chase */

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Sattolo's algorithm gives one cycle through all pages.  Each page's link
 * sits at a different cache line (index mod 64), so the loads spread over
 * the cache sets instead of all landing in the same one.
 */
void *chase_build(uint8_t *mem, long npages)
{
	uint32_t *perm = malloc(npages * sizeof(*perm)), t;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	long i, j;

	if (!perm || npages < 2) {
		free(perm);
		return NULL;
	}
	for (i = 0; i < npages; i++)
		perm[i] = (uint32_t)i;
	for (i = npages - 1; i > 0; i--) {
		j = (long)(xorshift(&seed) % (uint64_t)i);
		t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	/* perm is a cyclic permutation: page i links to page perm[i]. */
	for (i = 0; i < npages; i++) {
		void **slot = (void **)(mem + i * BENCH_PGSIZE + (i % 64) * 64);

		*slot = mem + perm[i] * BENCH_PGSIZE + (perm[i] % 64) * 64;
	}
	free(perm);
	return mem;
}

void *chase_run(void *p, long steps)
{
	while (steps-- > 0)
		p = *(void *volatile *)p;
	return p;
}
