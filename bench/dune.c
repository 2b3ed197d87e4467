// SPDX-License-Identifier: GPL-2.0
/*
 * The Dune side of every row, run in a process already in Dune mode
 * (guest ring 0), following the original bench_dune.c where it had the
 * row.  Around each timed run the module's per-vCPU counters
 * (dune_get_stats) are read, so every row reports the VM exits it cost.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <dune/dune.h>

#include "bench.h"

#define PG	BENCH_PGSIZE

/* ------------------------------------------------------- exit counting */

/* What reading the counters costs by itself (the ioctl is a system call:
 * one hypercall exit), measured, not assumed. */
static uint64_t stats_cost[DUNE_STATS_MAX_EXITS];

static uint64_t total_exits(const uint64_t *e)
{
	uint64_t t = 0;
	int i;

	for (i = 0; i < DUNE_STATS_MAX_EXITS; i++)
		t += e[i];
	return t;
}

static int calibrate_stats(void)
{
	struct dune_stats a, b;
	uint64_t d[DUNE_STATS_MAX_EXITS], best = UINT64_MAX;
	int i, k, r;

	for (k = 0; k < 5; k++) {
		r = dune_get_stats(&a);
		if (!r)
			r = dune_get_stats(&b);
		if (r)
			return r;
		for (i = 0; i < DUNE_STATS_MAX_EXITS; i++)
			d[i] = b.exits[i] - a.exits[i];
		if (total_exits(d) < best) {
			best = total_exits(d);
			memcpy(stats_cost, d, sizeof(d));
		}
	}
	return 0;
}

static int exits_begin(struct dune_stats *s0, struct side_result *r)
{
	int e = dune_get_stats(s0);

	if (e)
		bench_fail(r, e, "dune_get_stats");
	return e;
}

static void exits_end(const struct dune_stats *s0, struct side_result *r)
{
	struct dune_stats s1;
	uint64_t d;
	int i;

	if (dune_get_stats(&s1)) {
		bench_fail(r, -EIO, "dune_get_stats");
		return;
	}
	for (i = 0; i < DUNE_STATS_MAX_EXITS; i++) {
		d = s1.exits[i] - s0->exits[i];
		r->exits[i] += d > stats_cost[i] ? d - stats_cost[i] : 0;
	}
	r->has_exits = true;
}

/* ------------------------------------------------------------ syscall */

/* getpid from guest ring 0: SYSCALL is libdune's hypercall, the module
 * hands the call to libdune's host-mode loop, which makes it and
 * re-enters (one VM exit). */
static void getpid_loop(const struct bench_params *p, struct side_result *r, long n)
{
	long i, bad = 0;
	pid_t pid = getpid();
	struct dune_stats s0;
	uint64_t t0, t1;
	int run;

	for (i = 0; i < 100; i++)
		bench_raw_getpid();
	for (run = 0; run < p->runs; run++) {
		if (exits_begin(&s0, r))
			return;
		t0 = bench_tsc();
		for (i = 0; i < n; i++)
			bad += bench_raw_getpid() != pid;
		t1 = bench_tsc();
		exits_end(&s0, r);
		bench_record(r, run, t1 - t0, n);
	}
	if (bad)
		bench_fail(r, -EIO, "%ld getpid calls returned another pid", bad);
}

static void d_syscall(const struct bench_params *p, struct side_result *r)
{
	getpid_loop(p, r, p->ops[ROW_SYSCALL]);
}

/*
 * The same under the Linux side's seccomp filter, installed from Dune mode
 * (prctl and seccomp pass through like any call).  A filtered thread's
 * calls must go through Linux's entry path, so the module bounces every
 * one to libdune, which makes it in host mode: still one exit per call.
 */
static void d_syscall_seccomp(const struct bench_params *p, struct side_result *r)
{
	int e = bench_seccomp_install(true);

	if (e) {
		bench_fail(r, e, "installing the seccomp filter in Dune mode");
		return;
	}
	e = calibrate_stats();	/* the counters' reading is filtered too now */
	if (e) {
		bench_fail(r, e, "dune_get_stats");
		return;
	}
	getpid_loop(p, r, p->ops[ROW_SYSCALL_SECCOMP]);
}

/* --------------------------------------------- pgfault, guest-handled */

/*
 * A guest page fault handled in ring 0 by a libdune handler: not-present
 * faults in a region nothing maps yet are served by mapping a page of
 * libdune's pool (dune_vm_map_pages, which zeroes it as the kernel zeroes
 * a fresh anonymous page).  The pool pages were used once before the timed
 * runs, so the host has them and no exit should be needed.
 */
static uint8_t *gp_base;
static size_t gp_len;
static volatile long gp_faults;

static void gp_handler(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	if (addr - (uintptr_t)gp_base < gp_len && !(fec & FEC_P)) {
		if (dune_vm_map_pages(pgroot, (void *)PGADDR(addr), PG, PERM_R | PERM_W)) {
			dune_printf("dune-bench: the page pool is exhausted\n");
			dune_die();
		}
		gp_faults++;
		return;
	}
	dune_vm_default_pgflt_handler(addr, fec);
}

static void d_pgfault(const struct bench_params *p, struct side_result *r)
{
	long n = p->ops[ROW_PGFAULT], i;
	struct dune_stats s0;
	uint64_t t0, t1;
	int run;

	/* An address range of the process that nothing else uses; the
	 * guest maps pool pages there (the host mapping stays PROT_NONE). */
	gp_len = n * PG;
	gp_base = mmap(NULL, gp_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	if (gp_base == MAP_FAILED) {
		bench_fail(r, -errno, "mmap");
		return;
	}
	dune_register_pgflt_handler(gp_handler);
	for (run = -1; run < p->runs; run++) {	/* run -1 warms the pool */
		gp_faults = 0;
		if (exits_begin(&s0, r))
			break;
		t0 = bench_tsc();
		for (i = 0; i < n; i++)
			((volatile uint8_t *)gp_base)[i * PG] = (uint8_t)i;
		t1 = bench_tsc();
		if (run >= 0) {
			exits_end(&s0, r);
			bench_record(r, run, t1 - t0, n);
		}
		dune_vm_unmap(pgroot, gp_base, gp_len);
		dune_flush_tlb();
		if (gp_faults != n) {
			bench_fail(r, -EIO, "%ld guest faults for %ld pages", gp_faults, n);
			break;
		}
	}
	dune_register_pgflt_handler(NULL);
	munmap(gp_base, gp_len);
}

/* ------------------------------------------ pgfault, new process memory */

/*
 * First touch of fresh anonymous memory from Dune mode: the guest page
 * tables already map it (dune_mmap), the nested page tables do not, so the
 * access is a nested page fault the module resolves with the host's own
 * fault handling: at most one exit per 4K page.
 */
static void d_pgfault_nested(const struct bench_params *p, struct side_result *r)
{
	long n = p->ops[ROW_PGFAULT_NESTED], i;
	struct dune_stats s0;
	uint64_t t0, t1;
	uint8_t *m;
	int run;

	for (run = -1; run < p->runs; run++) {
		m = dune_mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			      -1, 0);
		if (m == MAP_FAILED) {
			bench_fail(r, -errno, "dune_mmap of %ld pages", n);
			return;
		}
		madvise(m, n * PG, MADV_NOHUGEPAGE);
		if (exits_begin(&s0, r))
			return;
		t0 = bench_tsc();
		for (i = 0; i < n; i++)
			((volatile uint8_t *)m)[i * PG] = (uint8_t)i;
		t1 = bench_tsc();
		if (run >= 0) {
			exits_end(&s0, r);
			bench_record(r, run, t1 - t0, n);
		}
		munmap(m, n * PG);
		dune_vm_unmap(pgroot, m, n * PG);
		dune_flush_tlb();
	}
}

/* ------------------------------------------------------------- ptwalk */

/* Random page accesses over a region much larger than the TLB's reach:
 * in Dune mode each miss walks the guest tables through the nested ones.
 * Everything is mapped first, so the timed runs should not exit. */
static void d_ptwalk(const struct bench_params *p, struct side_result *r)
{
	long n = p->ops[ROW_PTWALK];
	size_t len = p->ptwalk_pages * PG;
	struct dune_stats s0;
	uint64_t t0, t1;
	uint8_t *m;
	void *start;
	int run;

	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		bench_fail(r, -errno, "mmap of %ld pages", p->ptwalk_pages);
		return;
	}
	madvise(m, len, MADV_NOHUGEPAGE);
	start = chase_build(m, p->ptwalk_pages);	/* faults everything in */
	if (!start) {
		munmap(m, len);
		bench_fail(r, -ENOMEM, "no memory for the permutation");
		return;
	}
	start = chase_run(start, p->ptwalk_pages);
	for (run = 0; run < p->runs; run++) {
		if (exits_begin(&s0, r))
			break;
		t0 = bench_tsc();
		start = chase_run(start, n);
		t1 = bench_tsc();
		exits_end(&s0, r);
		bench_record(r, run, t1 - t0, n);
	}
	munmap(m, len);
}

/* ------------------------------------------------------- ring-3 code */

/*
 * Ring-3 code in its own pages, so they alone get PERM_U.  u_getpid_loop(n)
 * makes n getpid calls with SYSCALL, then exit(0); from ring 3 SYSCALL
 * enters libdune's ring-0 entry, which calls the registered handler.
 */
extern char bench_user_start[], bench_user_end[], u_getpid_loop[];
__asm__(".pushsection .text.dune_bench_user,\"ax\",@progbits\n"
	".balign 4096\n"
	".globl bench_user_start\nbench_user_start:\n"
	".globl u_getpid_loop\nu_getpid_loop:\n"
	"	mov %rdi, %r12\n"
	"	xor %r13, %r13\n"
	"1:	mov $39, %eax\n	syscall\n"
	"	cmp %rax, %rsi\n	je 2f\n	inc %r13\n"	/* count wrong answers */
	"2:	dec %r12\n	jnz 1b\n"
	"	mov %r13, %rdi\n	mov $60, %eax\n	syscall\n	ud2\n"
	".balign 4096\n"
	".globl bench_user_end\nbench_user_end:\n"
	".popsection\n");

#define USTACK_SIZE	(4 * PG)
#define INTERPOSED	0x5eedL	/* what the ring-0 "tracer" answers */

static uint8_t *ustack;
static volatile long n_interposed;

/* The interposer: ring 3's getpid is answered here, in ring 0, without
 * the kernel (as PTRACE_SYSEMU's tracer answers it on the Linux side). */
static void interpose(struct dune_tf *tf)
{
	switch (tf->rax) {
	case SYS_getpid:
		n_interposed++;
		tf->rax = INTERPOSED;
		break;
	case SYS_exit:
		dune_ret_from_user((int)ARG0(tf));
	default:
		tf->rax = -ENOSYS;
	}
}

static int setup_user(void)
{
	int r;

	ustack = mmap(NULL, USTACK_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (ustack == MAP_FAILED)
		return -errno;
	r = dune_vm_mprotect(pgroot, bench_user_start, bench_user_end - bench_user_start,
			     PERM_R | PERM_X | PERM_U);
	if (!r)
		r = dune_vm_map_phys(pgroot, ustack, USTACK_SIZE,
				     (void *)dune_va_to_pa(ustack), PERM_R | PERM_W | PERM_U);
	dune_flush_tlb();
	dune_register_syscall_handler(interpose);
	return r;
}

static long run_user_loop(long n)
{
	struct dune_tf tf;

	memset(&tf, 0, sizeof(tf));
	tf.rip = (uintptr_t)u_getpid_loop;
	tf.rsp = (uintptr_t)ustack + USTACK_SIZE;
	tf.rflags = 0x2;
	tf.rdi = n;
	tf.rsi = INTERPOSED;
	return dune_jump_to_user(&tf);
}

/* ------------------------------------------------------------- ptrace */

static void d_ptrace(const struct bench_params *p, struct side_result *r)
{
	long n = p->ops[ROW_PTRACE], wrong;
	struct dune_stats s0;
	uint64_t t0, t1;
	int run, e;

	e = setup_user();
	if (e) {
		bench_fail(r, e, "ring-3 mappings");
		return;
	}
	run_user_loop(10);
	for (run = 0; run < p->runs; run++) {
		n_interposed = 0;
		if (exits_begin(&s0, r))
			return;
		t0 = bench_tsc();
		wrong = run_user_loop(n);
		t1 = bench_tsc();
		exits_end(&s0, r);
		if (wrong || n_interposed != n) {
			bench_fail(r, -EIO, "%ld calls interposed of %ld, %ld wrong answers",
				   n_interposed, n, wrong);
			return;
		}
		bench_record(r, run, t1 - t0, n);
	}
}

/* --------------------------------------------------------------- trap */

static volatile long n_bp;

static void on_bp(struct dune_tf *tf)
{
	n_bp++;		/* #BP is a trap: rip is already past the int3 */
}

/* int3 -> the guest IDT -> libdune's entry -> handler -> iretq. */
static void d_trap(const struct bench_params *p, struct side_result *r)
{
	long n = p->ops[ROW_TRAP], i;
	struct dune_stats s0;
	uint64_t t0, t1;
	int run;

	dune_register_intr_handler(T_BRKPT, on_bp);
	for (i = 0; i < 10; i++)
		__asm__ __volatile__("int3" : : : "memory");
	for (run = 0; run < p->runs; run++) {
		n_bp = 0;
		if (exits_begin(&s0, r))
			return;
		t0 = bench_tsc();
		for (i = 0; i < n; i++)
			__asm__ __volatile__("int3" : : : "memory");
		t1 = bench_tsc();
		exits_end(&s0, r);
		if (n_bp != n) {
			bench_fail(r, -EIO, "%ld #BP handled for %ld int3", n_bp, n);
			return;
		}
		bench_record(r, run, t1 - t0, n);
	}
}

/* -------------------------------------------------------- appel1, appel2 */

/*
 * As the Linux side, with libdune's page-table calls in a ring-0 page-fault
 * handler instead of mprotect() and SIGSEGV.  The region is pool memory
 * mapped in the guest only.  dune_vm_mprotect() flushes the guest TLB
 * itself (MOV CR3), which covers the INVLPG the original did by hand.
 */
static uint8_t *amem;
static long anpg;
static volatile long a_traps;
static bool a_protn;

static void appel_handler(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	uintptr_t a = PGADDR(addr);

	if (a - (uintptr_t)amem >= (uintptr_t)anpg * PG || !(fec & FEC_W)) {
		dune_vm_default_pgflt_handler(addr, fec);
		return;
	}
	a_traps++;
	dune_vm_mprotect(pgroot, (void *)a, PG, PERM_R | PERM_W);		/* UNPROT */
	if (!a_protn)
		dune_vm_mprotect(pgroot, (void *)(a + anpg * PG), PG, PERM_R);	/* PROT1 */
}

static void d_appel(const struct bench_params *p, struct side_result *r, bool protn)
{
	long n = p->ops[protn ? ROW_APPEL2 : ROW_APPEL1], i, k;
	struct dune_stats s0;
	uint64_t t0, t1, sum;
	int run, e;

	anpg = p->appel_pages;
	a_protn = protn;
	amem = mmap(NULL, 2 * anpg * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		    -1, 0);
	if (amem == MAP_FAILED) {
		bench_fail(r, -errno, "mmap");
		return;
	}
	e = dune_vm_map_pages(pgroot, amem, 2 * anpg * PG, PERM_R | PERM_W);
	if (e) {
		bench_fail(r, e, "dune_vm_map_pages");
		return;
	}
	for (i = 0; i < 2 * anpg; i++)
		amem[i * PG] = (uint8_t)i;
	dune_register_pgflt_handler(appel_handler);
	for (run = -1; run < p->runs; run++) {	/* run -1 warms up */
		sum = 0;
		a_traps = 0;
		if (exits_begin(&s0, r))
			return;
		for (k = 0; k < n; k++) {
			if (protn) {
				dune_vm_mprotect(pgroot, amem, 2 * anpg * PG, PERM_R | PERM_W);
				for (i = 0; i < 2 * anpg; i++)
					amem[i * PG] = (uint8_t)i;
				t0 = bench_tsc();
				dune_vm_mprotect(pgroot, amem, anpg * PG, PERM_R);	/* PROTN */
			} else {
				dune_vm_mprotect(pgroot, amem, anpg * PG, PERM_R);
				t0 = bench_tsc();
			}
			for (i = 0; i < anpg; i++)
				((volatile uint8_t *)amem)[i * PG] = (uint8_t)i;	/* TRAP */
			t1 = bench_tsc();
			sum += t1 - t0;
		}
		if (run < 0)
			continue;
		exits_end(&s0, r);
		if (a_traps != n * anpg) {
			bench_fail(r, -EIO, "%ld traps for %ld pages", a_traps, n * anpg);
			return;
		}
		bench_record(r, run, sum - (n - 1) * bench_tsc_overhead, n);
	}
	dune_register_pgflt_handler(NULL);
	dune_vm_unmap(pgroot, amem, 2 * anpg * PG);
	dune_flush_tlb();
}

static void d_appel1(const struct bench_params *p, struct side_result *r)
{
	d_appel(p, r, false);
}

static void d_appel2(const struct bench_params *p, struct side_result *r)
{
	d_appel(p, r, true);
}

/* Every row starts with the counters' own cost measured. */
#define DUNE_ROW(fn)							\
	static void fn##_row(const struct bench_params *p, struct side_result *r) \
	{								\
		int e = calibrate_stats();				\
									\
		if (e)							\
			bench_fail(r, e, "dune_get_stats");		\
		else							\
			fn(p, r);					\
	}

DUNE_ROW(d_syscall)
DUNE_ROW(d_syscall_seccomp)
DUNE_ROW(d_pgfault)
DUNE_ROW(d_pgfault_nested)
DUNE_ROW(d_ptwalk)
DUNE_ROW(d_ptrace)
DUNE_ROW(d_trap)
DUNE_ROW(d_appel1)
DUNE_ROW(d_appel2)

const side_fn bench_dune[NR_ROWS] = {
	[ROW_SYSCALL] = d_syscall_row,
	[ROW_SYSCALL_SECCOMP] = d_syscall_seccomp_row,
	[ROW_PGFAULT] = d_pgfault_row,
	[ROW_PGFAULT_NESTED] = d_pgfault_nested_row,
	[ROW_PTWALK] = d_ptwalk_row,
	[ROW_PTRACE] = d_ptrace_row,
	[ROW_TRAP] = d_trap_row,
	[ROW_APPEL1] = d_appel1_row,
	[ROW_APPEL2] = d_appel2_row,
	[ROW_IPI] = d_ipi,
	[ROW_STARTUP] = d_startup,
};
