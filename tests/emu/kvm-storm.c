/*
 * kvm-storm: reproduce, with Linux's own KVM as the L1 hypervisor, the
 * nested-SVM state corruption we see under QEMU's multi-threaded TCG.
 *
 * Runs, each in its own process and each VM with one vCPU:
 *   - storm VMs:  a 64-bit guest looping "int $0x80; int $0x41; int $0x42"
 *                 (0x80 and 0x41 through IST1, 0x42 on the current stack),
 *                 reporting progress with "out %al,$0x20" every 10000 loops;
 *   - canary VMs: a 64-bit guest that checksums a 4 KiB buffer and reports
 *                 it with "out %eax,(%dx)" to port 0x10 every round; the host
 *                 checks the data, rip, rsp and the round counter in r8;
 *   - one plain process spinning a checksum loop (CPU load only).
 * KVM_STORM_FXRSTOR=1 pins the canaries to CPU 0 and makes the plain
 * process run FXRSTOR in a loop on CPU 1 instead: the direct trigger of the
 * QEMU defect (docs/threat-model.md).  On stock QEMU 7.2 that panicked the
 * emulated host ("corrupted stack end detected inside scheduler", CPU 0)
 * within 2 s in 2 of 2 boots; with tests/vm/qemu's fix, 0 anomalies in 3
 * runs of 20 s.
 * Any unexpected exit or register value is an anomaly, and so is a vCPU
 * that makes no exit for 5 s (a SIGALRM each second breaks KVM_RUN to look).
 *
 * usage: kvm-storm [SECONDS [CANARIES [STORMS]]]   (defaults 20, 1, 1)
 *        kvm-storm --dump DIR   writes the guest code pages (GPA 0x8000 to
 *                               0xb000) of a storm and a canary VM to
 *                               DIR/storm.bin and DIR/canary.bin, for
 *                               objdump -D -b binary -mi386:x86-64
 *                               --adjust-vma=0x8000
 * exit: 0 no anomaly and every VM made progress, 1 otherwise, 77 no /dev/kvm.
 *
 * gcc -std=gnu11 -O2 -Wall -static -o kvm-storm kvm-storm.c -lpthread
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

/* Guest physical layout (4 MiB of RAM at GPA 0, identity mapped). */
#define MEM_SIZE	0x400000UL
#define PML4		0x1000
#define PDPT		0x2000
#define PD		0x3000
#define GDT		0x4000
#define IDT		0x5000
#define TSS		0x6000
#define CODE		0x8000
#define HANDLERS	0x9000		/* 32 bytes per storm vector */
#define EXC_STUBS	0xa000		/* 8 bytes per exception vector */
#define COUNTERS	0x10000		/* u64 per storm vector */
#define BUF		0x20000		/* canary's 4 KiB buffer */
#define BUF_QWORDS	512
#define STACK_TOP	0x80000
#define IST1_TOP	0x90000

#define SEL_CODE	0x08
#define SEL_DATA	0x10
#define SEL_TSS		0x18

/* After an interrupt without error code the frame is 5 qwords. */
#define FRAME		0x28

#define PORT_CANARY	0x10
#define PORT_PROGRESS	0x20
#define PORT_EXC	0xee
#define PORT_BADSTACK	0xef

#define STORM_LOOPS	10000

/*
 * Storm guest, at CODE.  Verified with GNU as and objdump (see --dump).
 */
static const uint8_t storm_code[] = {
	0xb9, 0x10, 0x27, 0x00, 0x00,	/* 8000: mov $10000,%ecx   */
	0xcd, 0x80,			/* 8005: int $0x80         */
	0xcd, 0x41,			/* 8007: int $0x41         */
	0xcd, 0x42,			/* 8009: int $0x42         */
	0xff, 0xc9,			/* 800b: dec %ecx          */
	0x75, 0xf6,			/* 800d: jne 8005          */
	0xe6, 0x20,			/* 800f: out %al,$0x20     */
	0xeb, 0xed,			/* 8011: jmp 8000          */
};
#define STORM_OUT_RIP	0x800f		/* the out instruction */

/*
 * Canary guest, at CODE: each round r8 += 1, then
 * rax = r8 + fold(rax = rol(rax + q, 5)) over the 512 qwords at BUF,
 * reported with out %eax,(%dx), dx = 0x10.
 */
static const uint8_t canary_code[] = {
	0x49, 0xff, 0xc0,		/* 8000: inc %r8             */
	0xbe, 0x00, 0x00, 0x02, 0x00,	/* 8003: mov $0x20000,%esi   */
	0x31, 0xc0,			/* 8008: xor %eax,%eax       */
	0xb9, 0x00, 0x02, 0x00, 0x00,	/* 800a: mov $512,%ecx       */
	0x48, 0x03, 0x06,		/* 800f: add (%rsi),%rax     */
	0x48, 0xc1, 0xc0, 0x05,		/* 8012: rol $5,%rax         */
	0x48, 0x83, 0xc6, 0x08,		/* 8016: add $8,%rsi         */
	0xff, 0xc9,			/* 801a: dec %ecx            */
	0x75, 0xf1,			/* 801c: jne 800f            */
	0x4c, 0x01, 0xc0,		/* 801e: add %r8,%rax        */
	0xba, 0x10, 0x00, 0x00, 0x00,	/* 8021: mov $0x10,%edx      */
	0xef,				/* 8026: out %eax,(%dx)      */
	0xeb, 0xd7,			/* 8027: jmp 8000            */
};
#define CANARY_OUT_RIP	0x8026		/* the out instruction */

/*
 * Storm vector handler template (32-byte slot).  Patched: the expected rsp
 * at entry (imm32 at 3), the counter address (disp32 at 14), the vector
 * (imm8 at 21).
 */
static const uint8_t handler_tmpl[] = {
	0x48, 0x81, 0xfc, 0, 0, 0, 0,	/* +00: cmp $RSP,%rsp        */
	0x75, 0x0b,			/* +07: jne +14 (bad)        */
	0xf0, 0x48, 0xff, 0x04, 0x25,	/* +09: lock incq COUNTER    */
	0, 0, 0, 0,
	0x48, 0xcf,			/* +12: iretq                */
	0xb0, 0,			/* +14: bad: mov $VEC,%al    */
	0xe6, 0xef,			/* +16: out %al,$0xef        */
	0xf4,				/* +18: hlt                  */
	0xeb, 0xfd,			/* +19: jmp +18              */
};

/* Exception stub template (8-byte slot), vector patched at 1. */
static const uint8_t exc_tmpl[] = {
	0xb0, 0,			/* +0: mov $VEC,%al          */
	0xe6, 0xee,			/* +2: out %al,$0xee         */
	0xf4,				/* +4: hlt                   */
	0xeb, 0xfd,			/* +5: jmp +4                */
	0x90,				/* +7: nop (padding)         */
};

struct storm_vec {
	int vec;
	int ist;
};
static const struct storm_vec storm_vecs[] = {
	{ 0x80, 1 }, { 0x41, 1 }, { 0x42, 0 },
};
#define NVEC (int)(sizeof(storm_vecs) / sizeof(storm_vecs[0]))

enum kind { STORM, CANARY, SPINNER };

#define MAXCHILD 64
struct child {
	pid_t pid;
	int kind;
	int idx;
	volatile long progress;		/* storm: interrupts; canary: rounds */
	volatile int anomaly;
	volatile int ready;
};

struct shared {
	volatile int stop;
	struct child c[MAXCHILD];
};

static struct shared *sh;

struct vm {
	int kvm, vmfd, vcpufd;
	uint8_t *mem;
	struct kvm_run *run;
};

static void die(const char *what)
{
	printf("kvm-storm: %s: %s\n", what, strerror(errno));
	fflush(stdout);
	_exit(2);
}

static void put64(uint8_t *mem, uint64_t gpa, uint64_t v)
{
	memcpy(mem + gpa, &v, 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void set_gate(uint8_t *mem, int vec, uint64_t handler, int ist)
{
	uint8_t *g = mem + IDT + 16 * vec;

	memset(g, 0, 16);
	g[0] = handler & 0xff;
	g[1] = (handler >> 8) & 0xff;
	g[2] = SEL_CODE;
	g[3] = 0;
	g[4] = ist & 7;
	g[5] = 0x8e;			/* present, DPL 0, 64-bit interrupt gate */
	g[6] = (handler >> 16) & 0xff;
	g[7] = (handler >> 24) & 0xff;
	put32(g + 8, (uint32_t)(handler >> 32));
}

/* Page tables, GDT, TSS, IDT, stubs and the given code. */
static void build_image(uint8_t *mem, const uint8_t *code, size_t len)
{
	/* identity map 4 MiB with two 2 MiB pages */
	put64(mem, PML4, PDPT | 3);
	put64(mem, PDPT, PD | 3);
	put64(mem, PD, 0x000000 | 0x83);
	put64(mem, PD + 8, 0x200000 | 0x83);

	/* GDT: null, 64-bit code, data, 64-bit TSS (16 bytes, busy) */
	put64(mem, GDT + 0x00, 0);
	put64(mem, GDT + SEL_CODE, 0x00af9a000000ffffULL);
	put64(mem, GDT + SEL_DATA, 0x00cf92000000ffffULL);
	uint64_t base = TSS, limit = 0x67;
	uint64_t lo = (limit & 0xffff) | ((base & 0xffffff) << 16) |
		      (0x8bULL << 40) | (((limit >> 16) & 0xf) << 48) |
		      (((base >> 24) & 0xff) << 56);
	put64(mem, GDT + SEL_TSS, lo);
	put64(mem, GDT + SEL_TSS + 8, base >> 32);

	/* TSS: RSP0 = STACK_TOP, IST1 = IST1_TOP, no I/O bitmap */
	memset(mem + TSS, 0, 0x68);
	put64(mem, TSS + 4, STACK_TOP);
	put64(mem, TSS + 0x24, IST1_TOP);
	mem[TSS + 0x66] = 0x68;

	/* exceptions 0-31 report their vector on port 0xee */
	for (int v = 0; v < 32; v++) {
		uint64_t at = EXC_STUBS + 8 * v;

		memcpy(mem + at, exc_tmpl, sizeof(exc_tmpl));
		mem[at + 1] = v;
		set_gate(mem, v, at, 0);
	}

	/* storm vectors: check the stack, count, iretq */
	for (int i = 0; i < NVEC; i++) {
		uint64_t at = HANDLERS + 32 * i;
		uint32_t rsp = (storm_vecs[i].ist ? IST1_TOP : STACK_TOP) - FRAME;

		memcpy(mem + at, handler_tmpl, sizeof(handler_tmpl));
		put32(mem + at + 3, rsp);
		put32(mem + at + 14, COUNTERS + 8 * i);
		mem[at + 21] = storm_vecs[i].vec;
		set_gate(mem, storm_vecs[i].vec, at, storm_vecs[i].ist);
	}

	memcpy(mem + CODE, code, len);
}

static void fill_buf(uint8_t *mem, int idx)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL ^ (uint64_t)idx;

	for (int i = 0; i < BUF_QWORDS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		put64(mem, BUF + 8 * i, x);
	}
}

static uint64_t buf_sum(const uint8_t *mem)
{
	uint64_t s = 0, q;

	for (int i = 0; i < BUF_QWORDS; i++) {
		memcpy(&q, mem + BUF + 8 * i, 8);
		s += q;
		s = (s << 5) | (s >> 59);
	}
	return s;
}

static void set_seg(struct kvm_segment *s, int sel, int type, int code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->s = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

static void vm_create(struct vm *vm, const uint8_t *code, size_t len)
{
	vm->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm < 0)
		die("open /dev/kvm");
	if (ioctl(vm->kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		die("KVM_GET_API_VERSION");
	vm->vmfd = ioctl(vm->kvm, KVM_CREATE_VM, 0);
	if (vm->vmfd < 0)
		die("KVM_CREATE_VM");
	ioctl(vm->vmfd, KVM_SET_TSS_ADDR, 0xfffbd000UL);	/* VMX only */

	vm->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED)
		die("mmap guest memory");
	build_image(vm->mem, code, len);

	struct kvm_userspace_memory_region r = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = MEM_SIZE,
		.userspace_addr = (uint64_t)(uintptr_t)vm->mem,
	};
	if (ioctl(vm->vmfd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		die("KVM_SET_USER_MEMORY_REGION");

	vm->vcpufd = ioctl(vm->vmfd, KVM_CREATE_VCPU, 0);
	if (vm->vcpufd < 0)
		die("KVM_CREATE_VCPU");
	int sz = ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run))
		die("KVM_GET_VCPU_MMAP_SIZE");
	vm->run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpufd, 0);
	if (vm->run == MAP_FAILED)
		die("mmap kvm_run");

	/* the host's CPUID, as KVM supports it */
	int n = 100;
	struct kvm_cpuid2 *cpuid = calloc(1, sizeof(*cpuid) +
					  n * sizeof(struct kvm_cpuid_entry2));
	cpuid->nent = n;
	if (ioctl(vm->kvm, KVM_GET_SUPPORTED_CPUID, cpuid) < 0)
		die("KVM_GET_SUPPORTED_CPUID");
	if (ioctl(vm->vcpufd, KVM_SET_CPUID2, cpuid) < 0)
		die("KVM_SET_CPUID2");
	free(cpuid);

	struct kvm_sregs sregs;
	if (ioctl(vm->vcpufd, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS");
	set_seg(&sregs.cs, SEL_CODE, 11, 1);
	set_seg(&sregs.ds, SEL_DATA, 3, 0);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.base = TSS;
	sregs.tr.limit = 0x67;
	sregs.tr.selector = SEL_TSS;
	sregs.tr.type = 11;		/* busy 64-bit TSS */
	sregs.tr.present = 1;
	memset(&sregs.ldt, 0, sizeof(sregs.ldt));
	sregs.ldt.type = 2;
	sregs.ldt.unusable = 1;
	sregs.gdt.base = GDT;
	sregs.gdt.limit = SEL_TSS + 16 - 1;
	sregs.idt.base = IDT;
	sregs.idt.limit = 256 * 16 - 1;
	sregs.cr0 = 0x80050033;		/* PG WP NE ET MP PE */
	sregs.cr3 = PML4;
	sregs.cr4 = 0x220;		/* OSFXSR PAE */
	sregs.efer = 0x501;		/* LMA LME SCE */
	if (ioctl(vm->vcpufd, KVM_SET_SREGS, &sregs) < 0)
		die("KVM_SET_SREGS");

	struct kvm_regs regs;
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE;
	regs.rsp = STACK_TOP;
	regs.rflags = 0x2;
	if (ioctl(vm->vcpufd, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS");
}

static const char *kind_name(int kind)
{
	return kind == STORM ? "storm" : kind == CANARY ? "canary" : "spinner";
}

/* One line: what went wrong, the exit, regs and sregs. */
static void anomaly(struct vm *vm, struct child *me, long round, const char *why)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_run *run = vm->run;
	char extra[160] = "";

	memset(&regs, 0, sizeof(regs));
	memset(&sregs, 0, sizeof(sregs));
	ioctl(vm->vcpufd, KVM_GET_REGS, &regs);
	ioctl(vm->vcpufd, KVM_GET_SREGS, &sregs);
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		snprintf(extra, sizeof(extra), " io(%s port=%#x size=%d count=%u data=%#x)",
			 run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			 run->io.port, run->io.size, run->io.count,
			 *(uint32_t *)((uint8_t *)run + run->io.data_offset));
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(extra, sizeof(extra), " fail_entry(reason=%#llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(extra, sizeof(extra), " internal_error(suberror=%u ndata=%u data0=%#llx data1=%#llx)",
			 run->internal.suberror, run->internal.ndata,
			 run->internal.ndata > 0 ? (unsigned long long)run->internal.data[0] : 0ULL,
			 run->internal.ndata > 1 ? (unsigned long long)run->internal.data[1] : 0ULL);
		break;
	case KVM_EXIT_MMIO:
		snprintf(extra, sizeof(extra), " mmio(addr=%#llx len=%u write=%u)",
			 (unsigned long long)run->mmio.phys_addr, run->mmio.len,
			 run->mmio.is_write);
		break;
	}
	printf("ANOMALY %s %d pid %d after %ld: %s; exit_reason=%u%s rip=%#llx rsp=%#llx "
	       "r8=%#llx rcx=%#llx rflags=%#llx cr0=%#llx cr3=%#llx cr4=%#llx efer=%#llx cs=%#x\n",
	       kind_name(me->kind), me->idx, (int)getpid(), round, why, run->exit_reason, extra,
	       (unsigned long long)regs.rip, (unsigned long long)regs.rsp,
	       (unsigned long long)regs.r8, (unsigned long long)regs.rcx,
	       (unsigned long long)regs.rflags, (unsigned long long)sregs.cr0,
	       (unsigned long long)sregs.cr3, (unsigned long long)sregs.cr4,
	       (unsigned long long)sregs.efer, sregs.cs.selector);
	fflush(stdout);
	me->anomaly = 1;
	_exit(1);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * A SIGALRM every second breaks KVM_RUN, so a vCPU that stops exiting (a
 * guest looping on a fault, say) is reported with its registers instead of
 * hanging until the parent kills it.
 */
static void start_ticker(void)
{
	struct sigaction sa;
	struct itimerval it = { { 1, 0 }, { 1, 0 } };

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART: KVM_RUN returns EINTR */
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

#define STALL_SECONDS 5

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int kvm_run(struct vm *vm, struct child *me, long round)
{
	static double last;

	if (!last)
		last = now();
	for (;;) {
		if (ioctl(vm->vcpufd, KVM_RUN, 0) == 0) {
			last = now();
			return 0;
		}
		if (errno != EINTR && errno != EAGAIN)
			die("KVM_RUN");
		if (sh->stop)
			return -1;
		if (now() - last > STALL_SECONDS) {
			char why[64];

			snprintf(why, sizeof(why), "no exit for %.0f s", now() - last);
			anomaly(vm, me, round, why);
		}
	}
}

static void run_storm(struct child *me)
{
	struct vm vm;
	long exits = 0;
	char why[160];

	vm_create(&vm, storm_code, sizeof(storm_code));
	volatile uint64_t *cnt = (volatile uint64_t *)(vm.mem + COUNTERS);
	me->ready = 1;
	start_ticker();
	while (!sh->stop) {
		if (kvm_run(&vm, me, exits) < 0)
			break;
		struct kvm_run *r = vm.run;

		if (r->exit_reason != KVM_EXIT_IO)
			anomaly(&vm, me, exits, "unexpected exit");
		if (r->io.port == PORT_EXC) {
			snprintf(why, sizeof(why), "guest exception %u",
				 *((uint8_t *)r + r->io.data_offset));
			anomaly(&vm, me, exits, why);
		}
		if (r->io.port == PORT_BADSTACK) {
			snprintf(why, sizeof(why), "handler for %#x on the wrong stack",
				 *((uint8_t *)r + r->io.data_offset));
			anomaly(&vm, me, exits, why);
		}
		if (r->io.port != PORT_PROGRESS || r->io.direction != KVM_EXIT_IO_OUT ||
		    r->io.size != 1 || r->io.count != 1)
			anomaly(&vm, me, exits, "unexpected io");
		exits++;

		struct kvm_regs regs;
		if (ioctl(vm.vcpufd, KVM_GET_REGS, &regs) < 0)
			die("KVM_GET_REGS");
		if (regs.rip != STORM_OUT_RIP || regs.rsp != STACK_TOP || (uint32_t)regs.rcx != 0)
			anomaly(&vm, me, exits, "wrong rip/rsp/rcx at the progress out");
		uint64_t want = (uint64_t)exits * STORM_LOOPS;
		for (int i = 0; i < NVEC; i++)
			if (cnt[i] != want) {
				snprintf(why, sizeof(why), "counter for %#x is %llu, want %llu",
					 storm_vecs[i].vec, (unsigned long long)cnt[i],
					 (unsigned long long)want);
				anomaly(&vm, me, exits, why);
			}
		me->progress = (long)(want * NVEC);
	}
	_exit(0);
}

/*
 * KVM_STORM_FXRSTOR=1: the canaries run on CPU 0 and the spinner runs
 * FXRSTOR on CPU 1 instead of arithmetic: the pattern that loses CPU 0's
 * SVM state under QEMU's multi-threaded TCG (docs/threat-model.md).
 */
static int fxrstor_mode;

static void pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("sched_setaffinity");
}

static void run_canary(struct child *me)
{
	struct vm vm;
	long rounds = 0;
	char why[200];

	if (fxrstor_mode)
		pin_cpu(0);
	vm_create(&vm, canary_code, sizeof(canary_code));
	fill_buf(vm.mem, me->idx);
	uint64_t sum = buf_sum(vm.mem);
	me->ready = 1;
	start_ticker();
	while (!sh->stop) {
		if (kvm_run(&vm, me, rounds) < 0)
			break;
		struct kvm_run *r = vm.run;

		if (r->exit_reason != KVM_EXIT_IO)
			anomaly(&vm, me, rounds, "unexpected exit");
		if (r->io.port == PORT_EXC) {
			snprintf(why, sizeof(why), "guest exception %u",
				 *((uint8_t *)r + r->io.data_offset));
			anomaly(&vm, me, rounds, why);
		}
		if (r->io.port != PORT_CANARY || r->io.direction != KVM_EXIT_IO_OUT ||
		    r->io.size != 4 || r->io.count != 1)
			anomaly(&vm, me, rounds, "unexpected io");
		rounds++;
		uint32_t data = *(uint32_t *)((uint8_t *)r + r->io.data_offset);
		uint32_t want = (uint32_t)(sum + (uint64_t)rounds);
		if (data != want) {
			snprintf(why, sizeof(why), "checksum %#x, want %#x", data, want);
			anomaly(&vm, me, rounds, why);
		}

		struct kvm_regs regs;
		if (ioctl(vm.vcpufd, KVM_GET_REGS, &regs) < 0)
			die("KVM_GET_REGS");
		if (regs.rip != CANARY_OUT_RIP || regs.rsp != STACK_TOP ||
		    regs.r8 != (uint64_t)rounds) {
			snprintf(why, sizeof(why), "wrong rip/rsp/r8 at the out (want rip=%#x rsp=%#x r8=%#lx)",
				 CANARY_OUT_RIP, STACK_TOP, rounds);
			anomaly(&vm, me, rounds, why);
		}
		me->progress = rounds;
	}
	_exit(0);
}

static void run_fxrstor(struct child *me)
{
	static uint8_t area[512] __attribute__((aligned(64)));
	long n = 0;

	pin_cpu(1);
	asm volatile("fxsave64 %0" : "=m"(area));
	me->ready = 1;
	while (!sh->stop) {
		for (int i = 0; i < 1000; i++)
			asm volatile("fxrstor64 %0" : : "m"(area));
		me->progress = ++n;
	}
	_exit(0);
}

static void run_spinner(struct child *me)
{
	uint64_t s = 1;
	long n = 0;

	if (fxrstor_mode)
		run_fxrstor(me);
	me->ready = 1;
	while (!sh->stop) {
		for (int i = 0; i < 100000; i++) {
			s += (uint64_t)i ^ (s >> 3);
			s = (s << 7) | (s >> 57);
		}
		n++;
		me->progress = n;
	}
	_exit(s == 42);		/* keep s live */
}

static int dump(const char *dir)
{
	struct { const char *name; const uint8_t *code; size_t len; } img[] = {
		{ "storm.bin", storm_code, sizeof(storm_code) },
		{ "canary.bin", canary_code, sizeof(canary_code) },
	};
	uint8_t *mem = calloc(1, MEM_SIZE);

	for (int i = 0; i < 2; i++) {
		char path[4096];

		memset(mem, 0, MEM_SIZE);
		build_image(mem, img[i].code, img[i].len);
		snprintf(path, sizeof(path), "%s/%s", dir, img[i].name);
		FILE *f = fopen(path, "wb");
		if (!f || fwrite(mem + CODE, 1, 0x3000, f) != 0x3000 || fclose(f)) {
			perror(path);
			return 1;
		}
	}
	free(mem);
	return 0;
}

static void totals(int nchild, long *storm_irqs, long *rounds, int *anom)
{
	*storm_irqs = *rounds = 0;
	*anom = 0;
	for (int i = 0; i < nchild; i++) {
		struct child *c = &sh->c[i];

		if (c->kind == STORM)
			*storm_irqs += c->progress;
		else if (c->kind == CANARY)
			*rounds += c->progress;
		*anom += c->anomaly;
	}
}

/* Reap ended children; returns how many are still running. */
static int reap(int nchild)
{
	int st, left = 0;
	pid_t p;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		for (int i = 0; i < nchild; i++) {
			struct child *c = &sh->c[i];

			if (c->pid != p)
				continue;
			c->pid = 0;
			if (WIFEXITED(st) && WEXITSTATUS(st) == 1)
				c->anomaly = 1;
			else if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
				printf("kvm-storm: %s %d ended with status %#x\n",
				       kind_name(c->kind), c->idx, st);
		}
	for (int i = 0; i < nchild; i++)
		left += sh->c[i].pid != 0;
	return left;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--dump") == 0)
		return dump(argv[2]);

	int seconds = argc > 1 ? atoi(argv[1]) : 20;
	int ncanary = argc > 2 ? atoi(argv[2]) : 1;
	int nstorm = argc > 3 ? atoi(argv[3]) : 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	fxrstor_mode = getenv("KVM_STORM_FXRSTOR") != NULL;
	if (seconds <= 0 || ncanary < 0 || nstorm < 0 || ncanary + nstorm + 1 > MAXCHILD) {
		printf("usage: kvm-storm [SECONDS [CANARIES [STORMS]]]\n");
		return 2;
	}
	if (access("/dev/kvm", F_OK) != 0) {
		printf("skip: no /dev/kvm\n");
		return 77;
	}

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	memset(sh, 0, sizeof(*sh));

	int nchild = 0;
	for (int i = 0; i < nstorm; i++)
		sh->c[nchild++] = (struct child){ .kind = STORM, .idx = i };
	for (int i = 0; i < ncanary; i++)
		sh->c[nchild++] = (struct child){ .kind = CANARY, .idx = i };
	sh->c[nchild++] = (struct child){ .kind = SPINNER, .idx = 0 };

	printf("kvm-storm: %d s, %d storm, %d canary, 1 spinner\n", seconds, nstorm, ncanary);
	for (int i = 0; i < nchild; i++) {
		struct child *c = &sh->c[i];

		fflush(stdout);
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			sh->stop = 1;
			break;
		}
		if (pid == 0) {
			if (c->kind == STORM)
				run_storm(c);
			else if (c->kind == CANARY)
				run_canary(c);
			else
				run_spinner(c);
			_exit(0);
		}
		c->pid = pid;
	}

	/* run, one progress line every 5 s, stop early if every VM child has died */
	double t0 = now(), last = t0;
	while (!sh->stop && now() - t0 < seconds) {
		usleep(100000);
		if (reap(nchild) <= 1)
			break;
		if (now() - last >= 5) {
			long si, cr;
			int an;
			last = now();
			totals(nchild, &si, &cr, &an);
			printf("kvm-storm: t=%.0fs storm interrupts %ld, canary rounds %ld, anomalies %d\n",
			       last - t0, si, cr, an);
		}
	}
	sh->stop = 1;

	/* reap; a child stuck in KVM_RUN (no exit for 10 s) counts as an anomaly */
	double tstop = now();
	int killed = 0;
	while (reap(nchild) > 0) {
		if (!killed && now() - tstop > 10) {
			for (int i = 0; i < nchild; i++)
				if (sh->c[i].pid) {
					printf("ANOMALY %s %d pid %d: no exit for 10 s after stop, killed\n",
					       kind_name(sh->c[i].kind), sh->c[i].idx, (int)sh->c[i].pid);
					sh->c[i].anomaly = 1;
					kill(sh->c[i].pid, SIGKILL);
				}
			killed = 1;
		}
		usleep(50000);
	}

	long si, cr;
	int an, stalled = 0;
	totals(nchild, &si, &cr, &an);
	for (int i = 0; i < nchild; i++)
		if (sh->c[i].kind != SPINNER && sh->c[i].progress == 0) {
			printf("kvm-storm: %s %d made no progress\n",
			       kind_name(sh->c[i].kind), sh->c[i].idx);
			stalled++;
		}
	printf("kvm-storm: storms %d (interrupts %ld), canaries %d (rounds %ld), anomalies %d\n",
	       nstorm, si, ncanary, cr, an);
	return an == 0 && stalled == 0 ? 0 : 1;
}
