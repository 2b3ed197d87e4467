// SPDX-License-Identifier: GPL-2.0
/*
 * The VM way to give a program its own ring 0 today: a KVM guest whose
 * system call is a hypercall that exits to the user-space VMM, which makes
 * the call and resumes the guest.  The syscall row's `kvm-exit` method.
 *
 * The guest is a 64-bit long-mode loop (identity-mapped first 2 MiB, one
 * 2M page): `in eax, dx` on a port of its own is the hypercall (one
 * KVM_EXIT_IO to the VMM, which calls getpid and puts the result where
 * KVM completes the IN on the next KVM_RUN), then the guest stores EAX and
 * loops.  This is the cheapest exit to user space KVM has; a VMCALL would
 * need KVM_CAP_EXIT_HYPERCALL and an MMIO access an instruction decode.
 *
 * KVM and dune cannot hold the CPU's virtualization at once (dune refuses
 * to load beside KVM and keeps KVM from loading), so in the emulated
 * machines bench/in-machine.sh measures this first with KVM loaded
 * (`dune-bench --kvm-save=FILE`), loads dune, and hands the runs to the
 * main run (`--kvm-from=FILE`).  Where /dev/kvm is open to us the main run
 * measures it directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

#define GUEST_MEM	(2UL << 20)
#define GUEST_PML4	0x1000
#define GUEST_PDPT	0x2000
#define GUEST_PD	0x3000
#define GUEST_CODE	0x8000
#define GUEST_RESULT	0x9000
#define HC_PORT		0x10	/* the guest's "getpid" port */

#define PTE_P		0x1ULL
#define PTE_W		0x2ULL
#define PTE_PS		0x80ULL

const char *bench_kvm_from;	/* --kvm-from: runs measured earlier */

struct kvm_guest {
	int kvm, vm, vcpu;
	uint8_t *mem;
	struct kvm_run *run;
	size_t run_size;
};

static void guest_close(struct kvm_guest *g)
{
	if (g->run && g->run != MAP_FAILED)
		munmap(g->run, g->run_size);
	if (g->mem && g->mem != MAP_FAILED)
		munmap(g->mem, GUEST_MEM);
	if (g->vcpu >= 0)
		close(g->vcpu);
	if (g->vm >= 0)
		close(g->vm);
	if (g->kvm >= 0)
		close(g->kvm);
}

/* The loop: in eax, dx; mov [GUEST_RESULT], eax; jmp back. */
static void guest_code(uint8_t *mem)
{
	static const uint8_t code[] = {
		0xed,				/* in eax, dx */
		0x89, 0x04, 0x25,		/* mov [disp32], eax */
		GUEST_RESULT & 0xff, GUEST_RESULT >> 8, 0, 0,
		0xeb, 0xf6,			/* jmp -10: back to the in */
	};
	uint64_t *pml4 = (uint64_t *)(mem + GUEST_PML4);
	uint64_t *pdpt = (uint64_t *)(mem + GUEST_PDPT);
	uint64_t *pd = (uint64_t *)(mem + GUEST_PD);

	pml4[0] = GUEST_PDPT | PTE_P | PTE_W;
	pdpt[0] = GUEST_PD | PTE_P | PTE_W;
	pd[0] = 0 | PTE_P | PTE_W | PTE_PS;
	memcpy(mem + GUEST_CODE, code, sizeof(code));
}

/* The guest's CPUID is what KVM supports: without long mode in it, KVM
 * (6.12) refuses EFER.LME in KVM_SET_SREGS. */
static int guest_cpuid(struct kvm_guest *g)
{
	struct kvm_cpuid2 *c;
	int n = 64, r;

	for (;;) {
		c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(g->kvm, KVM_GET_SUPPORTED_CPUID, c) == 0)
			break;
		r = -errno;
		free(c);
		if (r != -E2BIG || n >= 4096)
			return r;
		n *= 2;
	}
	r = ioctl(g->vcpu, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
	free(c);
	return r;
}

/* Long mode straight away: KVM loads the segment registers' hidden parts
 * from kvm_sregs, so the guest needs no GDT of its own (SDM 9.8.5). */
static int guest_regs(struct kvm_guest *g)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 8, .type = 11,
		.present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = 16, .type = 3,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(g->vcpu, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.cr3 = GUEST_PML4;
	sregs.cr4 = 1 << 5;				/* PAE */
	sregs.cr0 = 0x80050033;				/* PG WP NE ET MP PE */
	sregs.efer = (1 << 8) | (1 << 10);		/* LME LMA */
	if (ioctl(g->vcpu, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_CODE;
	regs.rdx = HC_PORT;
	regs.rsp = GUEST_MEM;
	regs.rflags = 2;
	return ioctl(g->vcpu, KVM_SET_REGS, &regs) < 0 ? -errno : 0;
}

static int guest_open(struct kvm_guest *g, char *why, size_t len)
{
	struct kvm_userspace_memory_region region = { 0 };
	int r, sz;

	memset(g, 0, sizeof(*g));
	g->vm = g->vcpu = -1;
	g->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (g->kvm < 0) {
		snprintf(why, len, "/dev/kvm: %s", strerror(errno));
		return -errno;
	}
	g->vm = ioctl(g->kvm, KVM_CREATE_VM, 0);
	if (g->vm < 0) {
		snprintf(why, len, "KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	/* Needed by VMX without unrestricted guest; harmless elsewhere. */
	ioctl(g->vm, KVM_SET_TSS_ADDR, 0xfffbd000UL);
	g->mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	if (g->mem == MAP_FAILED) {
		snprintf(why, len, "guest memory: %s", strerror(errno));
		return -errno;
	}
	guest_code(g->mem);
	region.memory_size = GUEST_MEM;
	region.userspace_addr = (uintptr_t)g->mem;
	if (ioctl(g->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		snprintf(why, len, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
		return -errno;
	}
	g->vcpu = ioctl(g->vm, KVM_CREATE_VCPU, 0);
	sz = ioctl(g->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (g->vcpu < 0 || sz <= 0) {
		snprintf(why, len, "KVM_CREATE_VCPU: %s", strerror(errno));
		return -errno;
	}
	g->run_size = sz;
	g->run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, g->vcpu, 0);
	if (g->run == MAP_FAILED) {
		snprintf(why, len, "kvm_run: %s", strerror(errno));
		return -errno;
	}
	r = guest_cpuid(g);
	if (r) {
		snprintf(why, len, "guest CPUID: %s", strerror(-r));
		return r;
	}
	r = guest_regs(g);
	if (r)
		snprintf(why, len, "guest registers: %s", strerror(-r));
	return r;
}

/* One hypercall: resume the guest until its next IN on our port, answered
 * with getpid.  0, or a negative errno with @why filled. */
static int guest_call(struct kvm_guest *g, char *why, size_t len)
{
	struct kvm_run *run = g->run;
	uint32_t pid;

	if (ioctl(g->vcpu, KVM_RUN, 0) < 0) {
		snprintf(why, len, "KVM_RUN: %s", strerror(errno));
		return -errno;
	}
	if (run->exit_reason != KVM_EXIT_IO || run->io.port != HC_PORT ||
	    run->io.direction != KVM_EXIT_IO_IN || run->io.size != 4) {
		snprintf(why, len, "unexpected exit %u (port %#x)", run->exit_reason,
			 run->exit_reason == KVM_EXIT_IO ? run->io.port : 0);
		return -EIO;
	}
	pid = (uint32_t)bench_raw_getpid();
	memcpy((uint8_t *)run + run->io.data_offset, &pid, sizeof(pid));
	return 0;
}

static void kvm_measure(const struct bench_params *p, struct side_result *r)
{
	long n = p->ops[ROW_SYSCALL];
	struct kvm_guest g;
	char why[100] = "";
	uint32_t seen;
	uint64_t t0;
	int run, err;
	long i;

	err = guest_open(&g, why, sizeof(why));
	if (err) {
		if (err == -ENOENT || err == -ENODEV || err == -EACCES)
			bench_skip(r, "no KVM here (%s): KVM and dune cannot be loaded at once; "
				   "bench/in-machine.sh measures it first", why);
		else
			bench_fail(r, err, "%s", why);
		guest_close(&g);
		return;
	}
	/* Warm-up: the first exits fault in guest memory and the kvm_run page. */
	for (i = 0; i < 2 && !err; i++)
		err = guest_call(&g, why, sizeof(why));
	for (run = 0; run < p->runs && !err; run++) {
		t0 = bench_tsc();
		for (i = 0; i < n && !err; i++)
			err = guest_call(&g, why, sizeof(why));
		if (!err)
			bench_record(r, run, bench_tsc() - t0, n);
	}
	/* The guest stored the last answer it was given before its next IN. */
	memcpy(&seen, g.mem + GUEST_RESULT, sizeof(seen));
	if (err)
		bench_fail(r, err, "%s", why);
	else if (seen != (uint32_t)getpid())
		bench_fail(r, -EIO, "the guest saw pid %u, not %d", seen, getpid());
	else
		snprintf(r->note, sizeof(r->note), "1 KVM_EXIT_IO per call");
	guest_close(&g);
}

/* Runs saved by --kvm-save in this boot, before dune was loaded. */
static int kvm_load(const char *path, struct side_result *r)
{
	FILE *f = fopen(path, "r");
	int runs, i, ok;
	long ops;

	if (!f)
		return -errno;
	ok = fscanf(f, "dune-bench-kvm %d %ld", &runs, &ops) == 2 && runs > 0 &&
	     runs <= BENCH_MAX_RUNS && ops > 0;
	for (i = 0; ok && i < runs; i++)
		ok = fscanf(f, "%lf", &r->cycles[i]) == 1 && r->cycles[i] > 0;
	fclose(f);
	if (!ok)
		return -EINVAL;
	r->runs = runs;
	r->ops = ops;
	snprintf(r->note, sizeof(r->note), "1 KVM_EXIT_IO per call; KVM loaded, before dune");
	return 0;
}

void l_syscall_kvm(const struct bench_params *p, struct side_result *r)
{
	int err;

	if (!bench_kvm_from) {
		kvm_measure(p, r);
		return;
	}
	err = kvm_load(bench_kvm_from, r);
	if (err == -ENOENT)
		bench_skip(r, "no KVM run was saved in %s (KVM modules not shipped?)",
			   bench_kvm_from);
	else if (err)
		bench_fail(r, err, "%s: not a --kvm-save file", bench_kvm_from);
}

int bench_kvm_save(const struct bench_params *p, const char *path)
{
	struct side_result r;
	FILE *f;
	int i;

	memset(&r, 0, sizeof(r));
	bench_measure_tsc_overhead();
	kvm_measure(p, &r);
	if (r.err || r.skipped || r.runs < p->runs) {
		fprintf(stderr, "dune-bench: KVM: %s\n", r.why[0] ? r.why : "not measured");
		return 1;
	}
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "dune-bench: %s: %s\n", path, strerror(errno));
		return 1;
	}
	fprintf(f, "dune-bench-kvm %d %ld\n", r.runs, r.ops);
	for (i = 0; i < r.runs; i++)
		fprintf(f, "%.3f\n", r.cycles[i]);
	if (fclose(f)) {
		fprintf(stderr, "dune-bench: %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("kvm-exit: getpid through a KVM guest's exit to user space, %d runs of %ld: "
	       "saved in %s\n", r.runs, r.ops, path);
	return 0;
}
