// SPDX-License-Identifier: GPL-2.0
/*
 * libdune's privileged-feature API on the real (emulated) hardware: guest
 * IDT handlers, the vector state they must preserve, page tables seen by
 * the MMU (map, mprotect, unmap, on-demand mapping, accessed/dirty bits,
 * clone + copy-on-write), ring 3 with its system calls and faults caught in
 * ring 0, the other vendor's raw hypercall instruction, and the trap-stack
 * limit.  Each case runs in its own Dune process; a case reports its failed
 * sub-checks on stdout and exits with their number.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "dunetest.h"

/* ------------------------------------------------------- ring-3 code */

/*
 * Ring-3 routines, in their own page(s) so they can be given PERM_U
 * without exposing anything else.  They use SYSCALL 60 (exit) to hand a
 * result back; the ring-0 handler turns that into dune_ret_from_user.
 */
extern char user_text_start[], user_text_end[];
extern char u_getpid_loop[], u_nosys_loop[], u_read[], u_write[], u_cli[], u_fs[], u_regs[];
extern char u_say[];
__asm__(".pushsection .text.dune_user,\"ax\",@progbits\n"
	".balign 4096\n"
	".globl user_text_start\nuser_text_start:\n"
	/* u_getpid_loop(n): n getpid calls, exit(last result) */
	".globl u_getpid_loop\nu_getpid_loop:\n"
	"	mov %rdi, %r12\n"
	"1:	mov $39, %eax\n	syscall\n	dec %r12\n	jnz 1b\n"
	"	mov %rax, %rdi\n	mov $60, %eax\n	syscall\n	ud2\n"
	/* u_nosys_loop(n): n calls of an unknown number, exit(last result) */
	".globl u_nosys_loop\nu_nosys_loop:\n"
	"	mov %rdi, %r12\n"
	"1:	mov $500, %eax\n	syscall\n	dec %r12\n	jnz 1b\n"
	"	mov %rax, %rdi\n	mov $60, %eax\n	syscall\n	ud2\n"
	/* u_read(p): exit(*p) */
	".globl u_read\nu_read:\n"
	"	mov (%rdi), %rdi\n	mov $60, %eax\n	syscall\n	ud2\n"
	/* u_write(p, v): *p = v, exit(0) */
	".globl u_write\nu_write:\n"
	"	mov %rsi, (%rdi)\n	xor %edi, %edi\n	mov $60, %eax\n	syscall\n	ud2\n"
	/* u_cli: a privileged instruction */
	".globl u_cli\nu_cli:\n"
	"	cli\n	xor %edi, %edi\n	mov $60, %eax\n	syscall\n	ud2\n"
	/* u_fs: exit(%fs:0) */
	".globl u_fs\nu_fs:\n"
	"	mov %fs:0, %rdi\n	mov $60, %eax\n	syscall\n	ud2\n"
	/* u_say(buf, len): write(1, buf, len), exit(result) */
	".globl u_say\nu_say:\n"
	"	mov %rsi, %rdx\n	mov %rdi, %rsi\n	mov $1, %edi\n	mov $1, %eax\n"
	"	syscall\n	mov %rax, %rdi\n	mov $60, %eax\n	syscall\n	ud2\n"
	/* u_regs: registers other than rax/rcx/r11 survive a system call */
	".globl u_regs\nu_regs:\n"
	"	mov $0x1111, %rbx\n	mov $0x2222, %rbp\n	mov $0x3333, %r12\n"
	"	mov $0x4444, %r13\n	mov $0x5555, %r14\n	mov $0x6666, %r15\n"
	"	mov $0x7777, %rdi\n	mov $0x8888, %rsi\n	mov $0x9999, %rdx\n"
	"	mov $0xaaaa, %r10\n	mov $0xbbbb, %r8\n	mov $0xcccc, %r9\n"
	"	mov $39, %eax\n	syscall\n"
	"	cmp $0x1111, %rbx\n	jne 2f\n	cmp $0x2222, %rbp\n	jne 2f\n"
	"	cmp $0x3333, %r12\n	jne 2f\n	cmp $0x4444, %r13\n	jne 2f\n"
	"	cmp $0x5555, %r14\n	jne 2f\n	cmp $0x6666, %r15\n	jne 2f\n"
	"	cmp $0x7777, %rdi\n	jne 2f\n	cmp $0x8888, %rsi\n	jne 2f\n"
	"	cmp $0x9999, %rdx\n	jne 2f\n	cmp $0xaaaa, %r10\n	jne 2f\n"
	"	cmp $0xbbbb, %r8\n	jne 2f\n	cmp $0xcccc, %r9\n	jne 2f\n"
	"	xor %edi, %edi\n	mov $60, %eax\n	syscall\n	ud2\n"
	"2:	mov $1, %edi\n	mov $60, %eax\n	syscall\n	ud2\n"
	".balign 4096\n"
	".globl user_text_end\nuser_text_end:\n"
	".popsection\n");

#define USTACK_SIZE	(16 * 4096)

static uint8_t *ustack;
static long n_user_syscalls;
static uintptr_t user_fault_addr;
static uint64_t user_fault_fec;

static void user_syscall(struct dune_tf *tf)
{
	n_user_syscalls++;
	switch (tf->rax) {
	case SYS_exit:
		dune_ret_from_user((int)ARG0(tf));
	case SYS_getpid:
	case SYS_write:
		dune_passthrough_syscall(tf);
		break;
	default:
		tf->rax = -ENOSYS;
	}
}

static void user_gp(struct dune_tf *tf)
{
	if (tf->cs & 3)
		dune_ret_from_user(-EPERM);
	dune_printf("#GP in ring 0 at %#lx\n", (unsigned long)tf->rip);
	dune_die();
}

static void user_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	if (fec & FEC_U) {
		user_fault_addr = addr;
		user_fault_fec = fec;
		dune_ret_from_user(-EFAULT);
	}
	dune_vm_default_pgflt_handler(addr, fec);
}

static int setup_user(void)
{
	int r;

	ustack = mmap(NULL, USTACK_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (ustack == MAP_FAILED)
		return -errno;
	r = dune_vm_mprotect(pgroot, user_text_start, user_text_end - user_text_start,
			     PERM_R | PERM_X | PERM_U);
	if (!r)
		r = dune_vm_map_phys(pgroot, ustack, USTACK_SIZE, (void *)dune_va_to_pa(ustack),
				     PERM_R | PERM_W | PERM_U);
	dune_flush_tlb();
	dune_register_syscall_handler(user_syscall);
	dune_register_intr_handler(T_GPFLT, user_gp);
	dune_register_pgflt_handler(user_pgflt);
	return r;
}

static long run_user(void *entry, uint64_t a0, uint64_t a1)
{
	struct dune_tf tf;

	memset(&tf, 0, sizeof(tf));
	tf.rip = (uintptr_t)entry;
	tf.rsp = (uintptr_t)ustack + USTACK_SIZE;
	tf.rflags = 0x2;
	tf.rdi = a0;
	tf.rsi = a1;
	return dune_jump_to_user(&tf);
}

static uint64_t hypercalls(void)
{
	struct dune_stats st;

	return dune_get_stats(&st) ? 0 : st.exits[DUNE_EXIT_HYPERCALL];
}

static __thread int tls_probe = 42;

static void case_ring3(void *arg)
{
	static const char msg[] = "# hello from ring 3\n";
	char *umsg;
	uint64_t *ufs;
	uint64_t h0, h1;
	long r;
	int i;

	SUB(setup_user() == 0, "ring-3 mappings");
	umsg = (char *)ustack;			/* ring 3 reads its own stack page */
	ufs = (uint64_t *)(ustack + 4096);
	r = run_user(u_getpid_loop, 100, 0);
	SUB(r == getpid(), "100 getpid from ring 3 return the pid: %ld vs %d", r, getpid());
	SUB(n_user_syscalls == 101, "the ring-0 handler saw 101 calls: %ld", n_user_syscalls);

	h0 = hypercalls();
	r = run_user(u_nosys_loop, 1000, 0);
	h1 = hypercalls();
	SUB(r == -ENOSYS, "unknown call answered by ring 0: %ld", r);
	printf("# 1000 ring-3 calls handled in ring 0: %lu hypercall exits\n",
	       (unsigned long)(h1 - h0 - 1));
	SUB(h1 - h0 <= 2, "ring-3 calls handled in ring 0 exit nothing: %lu",
	    (unsigned long)(h1 - h0));
	h0 = hypercalls();
	run_user(u_getpid_loop, 1000, 0);
	h1 = hypercalls();
	printf("# 1000 ring-3 getpid passed through: %lu hypercall exits\n",
	       (unsigned long)(h1 - h0 - 1));
	SUB(h1 - h0 >= 1000 && h1 - h0 <= 1002, "one exit per passthrough call: %lu",
	    (unsigned long)(h1 - h0));

	memcpy(umsg, msg, sizeof(msg) - 1);
	r = run_user(u_say, (uintptr_t)umsg, sizeof(msg) - 1);
	SUB(r == (long)sizeof(msg) - 1, "write from ring 3: %ld", r);
	SUB(run_user(u_regs, 0, 0) == 0, "registers survive a ring-3 system call");

	r = run_user(u_read, (uintptr_t)&tls_probe, 0);
	SUB(r == -EFAULT && user_fault_addr == (uintptr_t)&tls_probe &&
	    (user_fault_fec & (FEC_U | FEC_P)) == (FEC_U | FEC_P),
	    "ring 3 cannot read ring-0 memory: %ld at %#lx fec %#lx", r,
	    (unsigned long)user_fault_addr, (unsigned long)user_fault_fec);
	r = run_user(u_write, (uintptr_t)u_getpid_loop, 0x90);
	SUB(r == -EFAULT && (user_fault_fec & FEC_W), "ring 3 cannot write its code: %ld", r);
	r = run_user(u_write, (uintptr_t)(ustack + 64), 0x1234);
	SUB(r == 0 && *(uint64_t *)(ustack + 64) == 0x1234, "ring 3 writes its stack");
	SUB(run_user(u_cli, 0, 0) == -EPERM, "cli in ring 3 is #GP");

	ufs[0] = 0x5eed;
	dune_set_user_fs((uintptr_t)ufs);
	r = run_user(u_fs, 0, 0);
	SUB(r == 0x5eed, "ring 3 runs on its own FS base: %#lx", r);
	SUB(tls_probe == 42, "ring 0 has its TLS back");
	SUB(dune_get_user_fs() == (uintptr_t)ufs, "dune_get_user_fs");
	dune_set_user_fs(0);

	for (i = 0; i < 2000; i++)
		if (run_user(u_getpid_loop, 1, 0) != getpid())
			break;
	SUB(i == 2000, "2000 trips to ring 3 and back: %d", i);
	exit(sub_failed);
}

/* A signal that arrives while ring-3 code runs reaches its dune_signal
 * handler, in ring 0, when the ring-3 code next enters ring 0. */
static volatile int alarm_hits;
static volatile uint16_t alarm_cs;

static void on_alarm(int sig)
{
	alarm_hits++;
	__asm__ __volatile__("mov %%cs, %0" : "=r"(alarm_cs));
}

static void stop_on_alarm(struct dune_tf *tf)
{
	if (tf->rax == SYS_exit)
		dune_ret_from_user((int)ARG0(tf));
	if (alarm_hits)
		dune_ret_from_user(1000);
	tf->rax = -ENOSYS;
}

static void case_ring3_signal(void *arg)
{
	struct itimerval it = { { 0, 0 }, { 0, 20000 } };
	long r;

	SUB(setup_user() == 0, "ring-3 mappings");
	dune_register_syscall_handler(stop_on_alarm);
	dune_signal(SIGALRM, on_alarm);
	setitimer(ITIMER_REAL, &it, NULL);
	r = run_user(u_nosys_loop, 1UL << 60, 0);
	SUB(r == 1000 && alarm_hits == 1 && alarm_cs == GD_KT,
	    "SIGALRM during ring-3 code ran its handler in ring 0: %ld, %d hits, cs %#x", r,
	    alarm_hits, alarm_cs);
	exit(sub_failed);
}

/* --------------------------------------------------- traps in ring 0 */

static volatile int n_bp, n_ud;
static volatile uint16_t bp_cs;

static void on_bp(struct dune_tf *tf)
{
	n_bp++;
	bp_cs = tf->cs;
}

static void on_ud(struct dune_tf *tf)
{
	n_ud++;
	tf->rip += 2;	/* skip ud2 */
}

/* Clobbers every xmm register the way library code would. */
static void on_bp_clobber(struct dune_tf *tf)
{
	static char a[8192], b[8192];
	char num[64];

	n_bp++;
	memset(a, 0x5a, sizeof(a));
	memcpy(b, a, sizeof(b));
	snprintf(num, sizeof(num), "%f", 3.25 * n_bp);
	__asm__ __volatile__("pxor %%xmm0, %%xmm0\n\tpcmpeqd %%xmm1, %%xmm1\n\t"
			     "pcmpeqd %%xmm15, %%xmm15" : : : "xmm0", "xmm1", "xmm15");
}

static void case_traps(void *arg)
{
	uint8_t in[16 * 16], out[16 * 16];
	int i;

	SUB(dune_register_intr_handler(T_BRKPT, on_bp) == 0, "register #BP");
	SUB(dune_register_intr_handler(T_ILLOP, on_ud) == 0, "register #UD");
	SUB(dune_register_intr_handler(256, on_bp) == -EINVAL, "vector 256 refused");
	for (i = 0; i < 3; i++)
		__asm__ __volatile__("int3" : : : "memory");
	SUB(n_bp == 3 && bp_cs == GD_KT, "3 #BP handled in ring 0 (cs %#x)", bp_cs);
	__asm__ __volatile__("ud2" : : : "memory");
	SUB(n_ud == 1, "#UD handled, ud2 skipped");

	/* The interrupted code's vector registers survive a handler that uses
	 * them (memcpy, printf's floating point). */
	for (i = 0; i < (int)sizeof(in); i++)
		in[i] = i * 7 + 1;
	dune_register_intr_handler(T_BRKPT, on_bp_clobber);
	__asm__ __volatile__(
		"movdqu 0(%0), %%xmm0\n\tmovdqu 16(%0), %%xmm1\n\tmovdqu 32(%0), %%xmm2\n\t"
		"movdqu 48(%0), %%xmm3\n\tmovdqu 64(%0), %%xmm4\n\tmovdqu 80(%0), %%xmm5\n\t"
		"movdqu 96(%0), %%xmm6\n\tmovdqu 112(%0), %%xmm7\n\tmovdqu 128(%0), %%xmm8\n\t"
		"movdqu 144(%0), %%xmm9\n\tmovdqu 160(%0), %%xmm10\n\tmovdqu 176(%0), %%xmm11\n\t"
		"movdqu 192(%0), %%xmm12\n\tmovdqu 208(%0), %%xmm13\n\tmovdqu 224(%0), %%xmm14\n\t"
		"movdqu 240(%0), %%xmm15\n\t"
		"int3\n\t"
		"movdqu %%xmm0, 0(%1)\n\tmovdqu %%xmm1, 16(%1)\n\tmovdqu %%xmm2, 32(%1)\n\t"
		"movdqu %%xmm3, 48(%1)\n\tmovdqu %%xmm4, 64(%1)\n\tmovdqu %%xmm5, 80(%1)\n\t"
		"movdqu %%xmm6, 96(%1)\n\tmovdqu %%xmm7, 112(%1)\n\tmovdqu %%xmm8, 128(%1)\n\t"
		"movdqu %%xmm9, 144(%1)\n\tmovdqu %%xmm10, 160(%1)\n\tmovdqu %%xmm11, 176(%1)\n\t"
		"movdqu %%xmm12, 192(%1)\n\tmovdqu %%xmm13, 208(%1)\n\tmovdqu %%xmm14, 224(%1)\n\t"
		"movdqu %%xmm15, 240(%1)\n\t"
		: : "r"(in), "r"(out)
		: "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
		  "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	SUB(n_bp == 4, "clobbering handler ran");
	SUB(memcmp(in, out, sizeof(in)) == 0, "xmm0-15 preserved across a trap");
	exit(sub_failed);
}

/* A fault inside every nested page-fault handler: the trap stack runs
 * out and the process ends with SIGSEGV, nothing worse. */
static void recursive_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	*(volatile int *)0x1000 = 1;
}

static void case_trap_overflow(void *arg)
{
	dune_register_pgflt_handler(recursive_pgflt);
	*(volatile int *)0x1000 = 1;
	exit(0);
}

/* ------------------------------------------------------ raw hypercalls */

static long raw_vmcall(long nr)
{
	long r;

	__asm__ __volatile__("vmcall" : "=a"(r) : "a"(nr) : "rcx", "r11", "memory");
	return r;
}

static long raw_vmmcall(long nr)
{
	long r;

	__asm__ __volatile__("vmmcall" : "=a"(r) : "a"(nr) : "rcx", "r11", "memory");
	return r;
}

static void case_hypercalls(void *arg)
{
	SUB(raw_vmcall(SYS_getpid) == getpid(), "raw vmcall getpid");
	SUB(raw_vmmcall(SYS_getpid) == getpid(), "raw vmmcall getpid");
	SUB(raw_vmcall(SYS_gettid) == gettid(), "raw vmcall gettid");
	SUB(raw_vmmcall(SYS_gettid) == gettid(), "raw vmmcall gettid");
	exit(sub_failed);
}

/* ------------------------------------------------------- page tables */

#define REGION_PAGES	16

static uint8_t *demand_base;
static volatile int n_demand, n_wp, n_clone;
static uintptr_t wp_addr, clone_addr;
static ptent_t *clone_root;

static void vm_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	if (demand_base && addr - (uintptr_t)demand_base < REGION_PAGES * 4096 &&
	    !(fec & FEC_P)) {
		n_demand++;
		if (dune_vm_map_pages(pgroot, (void *)PGADDR(addr), 4096, PERM_R | PERM_W))
			dune_die();
		return;
	}
	if (clone_addr && PGADDR(addr) == clone_addr && !(fec & FEC_P)) {
		n_clone++;
		dune_vm_mprotect(clone_root, (void *)clone_addr, 4096, PERM_R | PERM_W);
		dune_flush_tlb_one(clone_addr);
		return;
	}
	if (wp_addr && PGADDR(addr) == wp_addr && (fec & FEC_W)) {
		n_wp++;
		dune_vm_mprotect(pgroot, (void *)wp_addr, 4096, PERM_R | PERM_W);
		dune_flush_tlb_one(wp_addr);
		return;
	}
	dune_vm_default_pgflt_handler(addr, fec);
}

static void *reserve(size_t len)
{
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

struct ad_walk {
	uint8_t *base;
	unsigned int accessed, dirty;
};

static int ad_cb(const void *arg, ptent_t *pte, void *va)
{
	struct ad_walk *w = (struct ad_walk *)arg;
	unsigned int i = ((uintptr_t)va - (uintptr_t)w->base) / 4096;

	if (i < 32) {
		if (*pte & PTE_A)
			w->accessed |= 1U << i;
		if (*pte & PTE_D)
			w->dirty |= 1U << i;
	}
	return 0;
}

static void case_vm(void *arg)
{
	uint8_t *buf = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	uint8_t *alias = reserve(4 * 4096), *ad = reserve(8 * 4096);
	struct dune_page_stats s0, s1;
	struct ad_walk w = { ad, 0, 0 };
	volatile uint8_t *fresh;
	ptent_t *pte;
	int i, r;

	dune_register_pgflt_handler(vm_pgflt);
	/* map_phys: a second virtual address for the same memory */
	r = dune_vm_map_phys(pgroot, alias, 4 * 4096, (void *)dune_va_to_pa(buf),
			     PERM_R | PERM_W);
	SUB(r == 0, "map_phys: %d", r);
	*(volatile uint8_t *)&alias[4096 + 5] = 0x77;
	SUB(*(volatile uint8_t *)&buf[4096 + 5] == 0x77, "a write through the alias lands in the buffer");
	SUB(dune_vm_lookup(pgroot, alias, CREATE_NONE, &pte) == 0 &&
	    PTE_ADDR(*pte) == dune_va_to_pa(buf), "lookup finds the alias's PTE");

	/* mprotect: the MMU enforces it, the handler sees the write fault */
	wp_addr = (uintptr_t)alias;
	SUB(dune_vm_mprotect(pgroot, alias, 4096, PERM_R) == 0, "mprotect");
	dune_flush_tlb_one((uintptr_t)alias);
	*(volatile uint8_t *)&alias[8] = 1;
	__asm__ __volatile__("" : : : "memory");
	SUB(n_wp == 1 && *(volatile uint8_t *)&buf[8] == 1,
	    "write to a read-only page faulted once: %d, value %d", n_wp, buf[8]);

	/* unmap: the next access is a not-present fault */
	dune_vm_unmap(pgroot, alias, 4 * 4096);
	dune_flush_tlb();
	SUB(dune_vm_lookup(pgroot, alias, CREATE_NONE, &pte) != 0 || !(*pte & PTE_P),
	    "unmapped");

	/* a user-level handler that maps pool pages on demand */
	dune_page_stats_get(&s0);
	demand_base = reserve(REGION_PAGES * 4096);
	for (i = 0; i < REGION_PAGES; i++)
		demand_base[i * 4096 + i] = i + 1;
	for (i = 0; i < REGION_PAGES; i++)
		if (demand_base[i * 4096 + i] != i + 1)
			break;
	SUB(i == REGION_PAGES && n_demand == REGION_PAGES,
	    "%d pages mapped on demand by the handler (%d faults)", i, n_demand);
	SUB(dune_page_isfrompool(dune_page2pa(dune_vm_lookup_page(pgroot, demand_base))),
	    "on-demand pages come from the pool");
	dune_vm_unmap(pgroot, demand_base, REGION_PAGES * 4096);
	dune_flush_tlb();
	dune_page_stats_get(&s1);
	SUB(s1.free == s0.free, "unmap gave the pool its pages back: %lu vs %lu",
	    (unsigned long)s1.free, (unsigned long)s0.free);

	/* a clone of the tree: the process runs on it; a page closed only in
	 * the clone faults only there; faults on it resolve in the clone */
	buf[2 * 4096] = 0x42;
	clone_root = dune_vm_clone(pgroot);
	SUB(clone_root != NULL, "dune_vm_clone");
	if (clone_root) {
		clone_addr = (uintptr_t)buf + 2 * 4096;
		SUB(dune_vm_mprotect(clone_root, (void *)clone_addr, 4096, PERM_NONE) == 0,
		    "mprotect in the clone");
		load_cr3(dune_va_to_pa(clone_root));
		SUB(*(volatile uint8_t *)clone_addr == 0x42 && n_clone == 1,
		    "under the clone the page faulted once (%d) and then read", n_clone);
		/* fresh process memory first touched under the clone */
		fresh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			     -1, 0);
		fresh[0] = 9;
		load_cr3(dune_va_to_pa(pgroot));
		SUB(fresh[0] == 9, "memory first touched under the clone");
		SUB(*(volatile uint8_t *)clone_addr == 0x42 && n_clone == 1,
		    "the original tree never lost the page (%d faults)", n_clone);
		dune_vm_free(clone_root);
	}

	/* accessed/dirty bits set by the MMU */
	SUB(dune_vm_map_pages(pgroot, ad, 8 * 4096, PERM_R | PERM_W) == 0, "map_pages");
	for (i = 0; i < 8; i++)
		(void)*(volatile uint8_t *)(ad + i * 4096);
	dune_vm_clear_ad(pgroot, ad, 8 * 4096, PTE_A | PTE_D);
	dune_flush_tlb();
	ad[1 * 4096] = 1;
	ad[3 * 4096 + 100] = 3;
	ad[6 * 4096 + 4095] = 6;
	(void)*(volatile uint8_t *)(ad + 2 * 4096);
	dune_vm_page_walk(pgroot, ad, ad + 8 * 4096 - 1, ad_cb, &w);
	SUB(w.dirty == 0x4a, "dirty bits exactly on the written pages: %#x", w.dirty);
	SUB(w.accessed == 0x4e, "accessed bits exactly on the touched pages: %#x", w.accessed);
	exit(sub_failed);
}

/* ---------------------------------------------------------------- misc */

static int n_maps;
static bool saw_stack;

static void count_map(const struct dune_procmap_entry *e)
{
	n_maps++;
	if (e->type == PROCMAP_TYPE_STACK)
		saw_stack = true;
}

static void case_misc(void *arg)
{
	struct page *pg;
	unsigned long t0 = dune_get_ticks();
	void *m;

	dune_procmap_iterate(count_map);
	SUB(n_maps > 5 && saw_stack, "procmap in Dune mode: %d entries", n_maps);
	SUB(dune_printf("# dune_printf %d\n", 42) > 0, "dune_printf");
	pg = dune_page_alloc();
	SUB(pg && pg->ref == 1 && dune_page_isfrompool(dune_page2pa(pg)), "page_alloc");
	if (pg) {
		memset(dune_page2va(pg), 0xab, 4096);
		dune_page_put(pg);
	}
	m = dune_mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SUB(m != MAP_FAILED, "dune_mmap");
	if (m != MAP_FAILED)
		memset(m, 1, 8192);
	SUB(dune_get_ticks() > t0, "ticks advance");
	exit(sub_failed);
}

/* ----------------------------------------------------------------- main */

static void run_case(const char *name, void (*fn)(void *), int want_sig)
{
	char buf[64];
	int st;

	hwtest_mark("case %s", name);
	st = run_in_dune_child(fn, NULL);
	if (want_sig)
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == want_sig, "%s: %s", name,
		      describe_status(st, buf, sizeof(buf)));
	else
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: %s", name,
		      describe_status(st, buf, sizeof(buf)));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	require_dune_mode();
	run_case("traps: #BP and #UD handled in ring 0, vector state kept", case_traps, 0);
	run_case("raw vmcall and vmmcall work on this vendor", case_hypercalls, 0);
	run_case("page tables: map_phys, mprotect, unmap, on-demand, A/D bits", case_vm, 0);
	run_case("ring 3: syscalls and faults reach ring-0 handlers", case_ring3, 0);
	run_case("a signal during ring-3 code reaches its handler", case_ring3_signal, 0);
	run_case("misc: procmap, printf, pages, dune_mmap, ticks", case_misc, 0);
	run_case("fault in every nested handler ends in SIGSEGV", case_trap_overflow, SIGSEGV);
	return hwtest_done();
}
