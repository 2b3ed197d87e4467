// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * dune_init / dune_enter: the guest's CPU structures (GDT, TSS, IDT,
 * SYSCALL MSRs) and the host-mode loop that runs what the guest hands back
 * (system calls run here, in host mode, so every host policy applies).
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <asm/prctl.h>
#include <linux/sched.h>

#include "internal.h"
#include "../kmod/common/layout.h"
#include "../arch/x86_64/offsets.h"

_Static_assert(CONF_RSP == offsetof(struct dune_config, regs.rsp), "entry.S");
_Static_assert(CONF_RIP == offsetof(struct dune_config, regs.rip), "entry.S");

int dune_fd = -1;
struct dune_info dune_info_cache;
struct dune_layout dune_layout_cache;

#define HOST_STACK_SIZE	(64 * 1024)
/* IST1: one frame per nested trap (a fault inside a handler). */
#define IST_FRAME	(64 * 1024)
#define IST_FRAMES	8
#define IST_STACK_SIZE	(IST_FRAME * IST_FRAMES)
#define DF_STACK_SIZE	(16 * 1024)
#define ENTRY_STACK_MAPPED (32 * 1024)	/* below dune_enter's frame, see there */
#define HYPERCALL_INSN_LEN 3	/* VMCALL 0f 01 c1, VMMCALL 0f 01 d9 */

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/*
 * Per-thread guest CPU state: each thread in Dune mode is its own vCPU.
 * The guest GS base points here in ring 0; entry.S uses the first fields
 * (arch/x86_64/offsets.h PC_*).
 */
struct dune_percpu {
	uint64_t self;
	uint64_t tmp;
	uint64_t kfs;
	uint64_t ufs;
	uint64_t in_user;
	uint64_t ist_frame;
	uint64_t ist_low;
	uint64_t ist_top;
	uint64_t user_ret;
	uint64_t lstar_kernel;
	uint64_t lstar_user;
	uint64_t sig_pending;		/* dune_signal() signals for the guest */
	uint64_t reserved[4];
	uint64_t gdt[NR_GDT_ENTRIES];
	uint8_t pad[20];		/* puts tss.ist[0] at PC_TSS_IST1 */
	struct tss64 tss;
	uint8_t *ist_stack;
	uint8_t *df_stack;
	uint8_t *host_stack;
	uint64_t fault_retried;		/* the page nested_fault_in_host touched */
	int sig_restart;		/* one of them interrupted a system call */
	struct dune_config conf;
};

_Static_assert(offsetof(struct dune_percpu, kfs) == PC_KFS, "offsets.h");
_Static_assert(offsetof(struct dune_percpu, ufs) == PC_UFS, "offsets.h");
_Static_assert(offsetof(struct dune_percpu, in_user) == PC_IN_USER, "offsets.h");
_Static_assert(offsetof(struct dune_percpu, ist_top) == PC_IST_TOP, "offsets.h");
_Static_assert(offsetof(struct dune_percpu, user_ret) == PC_USER_RET, "offsets.h");
_Static_assert(offsetof(struct dune_percpu, lstar_user) == PC_LSTAR_U, "offsets.h");
_Static_assert(offsetof(struct dune_percpu, tss.ist[0]) == PC_TSS_IST1, "offsets.h");
_Static_assert(offsetof(struct dune_percpu, sig_pending) == PC_SIG_PENDING, "offsets.h");
_Static_assert(offsetof(struct dune_tf, rax) == TF_RAX, "offsets.h");
_Static_assert(offsetof(struct dune_tf, cs) == TF_CS, "offsets.h");
_Static_assert(offsetof(struct dune_tf, ss) == TF_SS, "offsets.h");
_Static_assert(sizeof(struct dune_tf) == TF_SIZE, "offsets.h");
_Static_assert(GD_KT == SEL_KT && GD_KD == SEL_KD && (GD_UT | 3) == SEL_UT &&
	       (GD_UD | 3) == SEL_UD && GD_TSS == SEL_TSS, "offsets.h");

static struct idtd idt[IDT_ENTRIES] __attribute__((aligned(4096)));
static __thread struct dune_percpu *percpu;
static pid_t dune_pid;	/* the process dune_init ran in (a fork child must re-init) */
static struct dune_host_stats host_stats;
static struct dune_startup_stats startup;
extern char __dune_trap_stubs[];
extern char __dune_syscall_vmcall[], __dune_syscall_vmmcall[], __dune_user_syscall[];
extern char __dune_syscall_vmcall_insn[], __dune_syscall_vmmcall_insn[];
void __dune_load_segments(void);

/* The GDT has the original libdune's (and Linux's) layout; 0x08 stays a
 * code segment because the module starts the guest with CS 0x08. */
static void setup_gdt(struct dune_percpu *p)
{
	uint64_t base = (uint64_t)&p->tss, limit = sizeof(p->tss) - 1;

	memset(p->gdt, 0, sizeof(p->gdt));
	p->gdt[1] = 0x00af9b000000ffffULL;			/* 0x08 boot code */
	p->gdt[GD_KT / 8] = 0x00af9b000000ffffULL;		/* 64-bit code, DPL 0 */
	p->gdt[GD_KD / 8] = 0x00cf93000000ffffULL;		/* data, DPL 0 */
	p->gdt[GD_UD / 8] = 0x00cff3000000ffffULL;		/* data, DPL 3 */
	p->gdt[GD_UT / 8] = 0x00affb000000ffffULL;		/* 64-bit code, DPL 3 */
	p->gdt[GD_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
			     (0x89ULL << 40) | ((base >> 24 & 0xff) << 56);
	p->gdt[GD_TSS2 / 8] = base >> 32;
	p->ist_top = (uint64_t)p->ist_stack + IST_STACK_SIZE;
	p->ist_low = (uint64_t)p->ist_stack + IST_FRAME;
	p->ist_frame = IST_FRAME;
	p->tss.ist[0] = p->ist_top;
	p->tss.ist[1] = (uint64_t)p->df_stack + DF_STACK_SIZE;
	p->tss.iomap_base = sizeof(p->tss);
	p->self = (uint64_t)p;
	p->lstar_user = (uint64_t)__dune_user_syscall;
}

/* Every gate is an interrupt gate (IF off in handlers) on IST1, but #DF,
 * which gets its own stack so a broken IST1 still ends in a report. */
static void setup_idt(void)
{
	int i;

	for (i = 0; i < IDT_ENTRIES; i++) {
		uint64_t h = (uint64_t)__dune_trap_stubs + i * TRAP_STUB_SIZE;

		idt[i].low = h & 0xffff;
		idt[i].selector = GD_KT;
		idt[i].ist = i == T_DBLFLT ? 2 : 1;
		idt[i].type = IDTD_P | IDTD_INTERRUPT_GATE;
		idt[i].middle = h >> 16 & 0xffff;
		idt[i].high = h >> 32;
		idt[i].zero = 0;
	}
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* Runs in the guest, first thing after entry. */
void dune_guest_boot(void)
{
	struct desc_ptr gdtr = { sizeof(percpu->gdt) - 1, (uint64_t)percpu->gdt };
	struct desc_ptr idtr = { sizeof(idt) - 1, (uint64_t)idt };
	uint64_t entry = dune_info_cache.backend == DUNE_BACKEND_SVM ?
			 (uint64_t)__dune_syscall_vmmcall : (uint64_t)__dune_syscall_vmcall;

	asm volatile("lgdt %0" : : "m"(gdtr));
	__dune_load_segments();
	asm volatile("lidt %0" : : "m"(idtr));
	asm volatile("ltr %w0" : : "r"(GD_TSS));
	percpu->lstar_kernel = entry;
	percpu->kfs = percpu->ufs = percpu->conf.fs_base;
	/* SYSCALL: CS GD_KT, SS GD_KD; SYSRET: CS GD_UT, SS GD_UD (SDM Vol. 2B). */
	wrmsr(MSR_STAR, ((uint64_t)(GD_UD - 8) << 48) | ((uint64_t)GD_KT << 32));
	wrmsr(MSR_LSTAR, entry);
	wrmsr(MSR_SFMASK, 0x47700);	/* TF DF IF NT AC cleared */
	wrmsr(MSR_GS_BASE, (uint64_t)percpu);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
}

static long host_syscall(struct dune_regs *r)
{
	long ret;
	register long r10 asm("r10") = r->r10;
	register long r8 asm("r8") = r->r8;
	register long r9 asm("r9") = r->r9;

	asm volatile("syscall"
		     : "=a"(ret)
		     : "a"(r->rax), "D"(r->rdi), "S"(r->rsi), "d"(r->rdx),
		       "r"(r10), "r"(r8), "r"(r9)
		     : "rcx", "r11", "memory");
	return ret;
}

/*
 * The guest did something the process may not do: report it in one line
 * and end the process with the signal Linux would have sent for the same
 * act in user mode (SIGSEGV for memory, ports, MSRs, HLT; SIGILL for
 * virtualization and cache-control instructions).
 */
static void host_die(const struct dune_config *c, const char *what, int sig)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };

	fprintf(stderr, "dune: %s (ret %u, status %#llx, info %#llx) at rip %#llx "
		"(rsp %#llx, gs base %#llx, percpu %p)\n", what,
		c->ret, (unsigned long long)c->status, (unsigned long long)c->info,
		(unsigned long long)c->regs.rip, (unsigned long long)c->regs.rsp,
		(unsigned long long)c->gs_base, (void *)percpu);
	fflush(stderr);
	sigaction(sig, &sa, NULL);
	raise(sig);
	_exit(128 + sig);
}

static void host_unhandled(const struct dune_config *c)
{
	switch (c->info) {
	case DUNE_EXIT_PRIV_INSN:
		host_die(c, "privileged instruction refused", SIGILL);
		break;
	case DUNE_EXIT_IO:
		host_die(c, "port I/O refused", SIGSEGV);
		break;
	case DUNE_EXIT_MSR_READ:
	case DUNE_EXIT_MSR_WRITE:
		host_die(c, "MSR access refused", SIGSEGV);
		break;
	case DUNE_EXIT_HLT:
		host_die(c, "HLT refused", SIGSEGV);
		break;
	default:
		host_die(c, "exit refused", SIGSEGV);
	}
}

extern long __dune_host_clone(struct dune_regs *r, void *new_stack);

/*
 * System calls that cannot simply run on the host loop's stack: the host
 * FS/GS base must follow the guest's; clone-family children continue the
 * guest's code in host mode (as with the original Dune, a child starts
 * outside Dune mode and may call dune_init/dune_enter again); calls that need
 * the caller's own user-mode frame are refused with a clear errno.
 */
static long host_special(struct dune_config *c, bool *done)
{
	struct dune_regs *r = &c->regs;

	*done = true;
	switch (r->rax) {
	case SYS_arch_prctl:
		switch (r->rdi) {
		case ARCH_SET_FS: {
			long ret = host_syscall(r);

			if (ret == 0)
				c->fs_base = r->rsi;
			return ret;
		}
		case ARCH_GET_FS:
			return *(unsigned long *)r->rsi = c->fs_base, 0;
		case ARCH_SET_GS:
		case ARCH_GET_GS:
			/* In ring 0 the GS base is libdune's (the percpu area). */
			return -EBUSY;
		}
		break;
	case SYS_clone:
		return __dune_host_clone(r, (void *)r->rsi);
	case SYS_clone3: {
		const struct clone_args *a = (const void *)r->rdi;

		if (r->rsi < CLONE_ARGS_SIZE_VER0)
			return -EINVAL;
		return __dune_host_clone(r, a->stack ? (void *)(a->stack + a->stack_size) : NULL);
	}
	case SYS_fork:
	case SYS_vfork:
		return __dune_host_clone(r, NULL);
	case SYS_rt_sigreturn:
	case SYS_sigaltstack:
	case SYS_iopl:
	case SYS_ioperm:
		return -ENOSYS;
	}
	*done = false;
	return 0;
}

static pid_t entered_pid;	/* a thread of this process entered Dune mode */

bool dune_process_entered(void)
{
	return entered_pid == getpid();
}

/* In Dune mode (a fork child inherits the parent's thread state but runs
 * in host mode until it enters again). */
bool dune_thread_in_guest(void)
{
	return percpu && percpu->conf.regs.rip && dune_pid == getpid();
}

void dune_sig_mark_pending(int sig)
{
	__atomic_fetch_or(&percpu->sig_pending, 1ULL << sig, __ATOMIC_RELEASE);
	__atomic_store_n(&percpu->sig_restart, 1, __ATOMIC_RELEASE);
}

/* Pending signals for the guest handlers, now taken. */
uint64_t dune_sig_take_pending(void)
{
	/* Every ring-3 system call asks: a plain load first, the locked
	 * exchange only when something is there. */
	if (!percpu || !__atomic_load_n(&percpu->sig_pending, __ATOMIC_ACQUIRE))
		return 0;
	return __atomic_exchange_n(&percpu->sig_pending, 0, __ATOMIC_ACQ_REL);
}

/*
 * Ring-0 code can take an interrupt with IF set, and also at or right
 * after the hypercall of a system call: SFMASK cleared IF only for the
 * SYSCALL path, and Linux delivers signals at a system call's return (or
 * before re-running an interrupted one) too.
 */
static bool guest_interruptible(const struct dune_config *c)
{
	return (c->regs.rflags & 0x200) ||
	       c->regs.rip == (uint64_t)__dune_syscall_vmcall_insn ||
	       c->regs.rip == (uint64_t)__dune_syscall_vmmcall_insn ||
	       c->regs.rip == (uint64_t)__dune_syscall_vmcall_insn + HYPERCALL_INSN_LEN ||
	       c->regs.rip == (uint64_t)__dune_syscall_vmmcall_insn + HYPERCALL_INSN_LEN;
}

/*
 * Deliver one pending dune_signal() signal to the guest as its vector
 * (DUNE_SIGNAL_INTR_BASE + signo), the way the CPU delivers an interrupt
 * through an interrupt gate on IST1 (SDM Vol. 3A 6.14): the frame on the
 * trap stack, RIP at the vector's stub, IF and TF clear.  Only when the
 * guest could take an interrupt: ring 0 with IF set.  Ring-3 code gets its
 * signals when it next enters ring 0 (dune_trap_handler takes them then),
 * and code running with IF clear (a trap handler) at a later exit.
 */
static void inject_signal(struct dune_config *c)
{
	uint64_t pend = __atomic_load_n(&percpu->sig_pending, __ATOMIC_ACQUIRE);
	uint64_t *sp;
	int sig;

	if (!pend || percpu->in_user || !guest_interruptible(c))
		return;
	sig = __builtin_ctzll(pend);
	__atomic_fetch_and(&percpu->sig_pending, ~(1ULL << sig), __ATOMIC_ACQ_REL);
	sp = (uint64_t *)(percpu->tss.ist[0] & ~0xfUL);
	*--sp = GD_KD;
	*--sp = c->regs.rsp;
	*--sp = c->regs.rflags;
	*--sp = GD_KT;
	*--sp = c->regs.rip;
	c->regs.rsp = (uint64_t)sp;
	c->regs.rip = (uint64_t)__dune_trap_stubs + (DUNE_SIGNAL_INTR_BASE + sig) * TRAP_STUB_SIZE;
	c->regs.rflags &= ~(0x200ULL | 0x100 | 0x4000 | 0x10000);	/* IF TF NT RF */
}

/* The kernel's restart codes (include/linux/errno.h, not exported). */
#define ERESTARTSYS	512

/*
 * A signal handler interrupted the guest's system call and the kernel
 * made DUNE_ENTER fail with EINTR.  A plain handler without SA_RESTART
 * gets EINTR, as in Linux.  libdune's own handler (dune_signal, which has
 * SA_RESTART semantics but is installed without the flag so the host loop
 * gets control to deliver the signal in the guest) gets the call re-run
 * after the guest's handler when Linux would restart it (-ERESTARTSYS).
 */
static bool restart_codes;

/* The guest's own signal delivery (a monitor emulating a kernel, as
 * dune-sandbox does) needs the kernel's -ERESTART* code, not -EINTR, to
 * apply SA_RESTART itself. */
void dune_report_restart_codes(bool on)
{
	restart_codes = on;
}

static void syscall_interrupted(struct dune_config *c)
{
	bool ours = __atomic_exchange_n(&percpu->sig_restart, 0, __ATOMIC_ACQ_REL);

	if (ours && c->status == -ERESTARTSYS)
		return;		/* the guest is at the hypercall: it runs again */
	c->regs.rax = restart_codes && !ours ? (uint64_t)c->status : (uint64_t)-EINTR;
	c->regs.rip += HYPERCALL_INSN_LEN;
}

/*
 * The module could not give the guest this page: the process has no
 * mapping there, or one Linux would first have to grow (a stack), or a
 * file page past the end.  Make the same access in host mode, once: Linux
 * then grows the stack, or delivers exactly the signal the program would
 * get without Dune (SIGSEGV, SIGBUS; a handler that fixes the mapping
 * works too).  If the access succeeds the guest tries again; if the guest
 * still cannot have the page, the process dies with SIGSEGV.
 */
static bool nested_fault_in_host(struct dune_config *c)
{
	uint64_t hva = dune_gpa_to_hva(&dune_layout_cache, c->info);
	uint64_t page = c->info & ~(uint64_t)(PGSIZE - 1);

	if (!hva || percpu->fault_retried == page)
		return false;
	percpu->fault_retried = page;
	if (c->status & DUNE_NPF_WRITE)
		__atomic_fetch_add((uint64_t *)(hva & ~7UL), 0, __ATOMIC_RELAXED);
	else
		(void)*(volatile uint8_t *)hva;
	return true;
}

/* Host mode: (re-)enter the guest and serve what it hands back. */
static int host_loop(struct dune_config *c)
{
	for (;;) {
		inject_signal(c);
		if (ioctl(dune_fd, DUNE_ENTER, c) < 0) {
			if (errno != EINTR)
				return -errno;
			if (c->ret == DUNE_RET_SYSCALL_INTERRUPTED)
				syscall_interrupted(c);
			continue;
		}
		if (c->ret != DUNE_RET_NESTED_FAULT)
			percpu->fault_retried = ~0UL;
		switch (c->ret) {
		case DUNE_RET_SYSCALL: {
			bool done;
			long ret = host_special(c, &done);

			host_stats.syscalls++;
			c->regs.rax = done ? ret : host_syscall(&c->regs);
			break;
		}
		case DUNE_RET_SIGNAL:
			/* Signals are delivered, task work is run, by the
			 * kernel on the way out of the ioctl: re-enter. */
			if (c->status == DUNE_SIGNAL_PENDING)
				host_stats.signals++;
			break;
		case DUNE_RET_NESTED_FAULT:
			if (!nested_fault_in_host(c))
				host_die(c, "guest touched memory the process does not own",
					 SIGSEGV);
			continue;
		case DUNE_RET_TRIPLE_FAULT:
			host_die(c, "triple fault in the guest", SIGSEGV);
			break;
		case DUNE_RET_UNHANDLED_EXIT:
			host_unhandled(c);
			break;
		default:
			host_die(c, "the CPU refused or lost the guest state (see the kernel log)", SIGKILL);
		}
	}
}

extern int __dune_enter(struct dune_config *conf, void *host_stack,
			int (*loop)(struct dune_config *));

static void *map_stack(size_t size);

#define PERCPU_MAP_SIZE	((sizeof(struct dune_percpu) + PGSIZE - 1) & ~(size_t)(PGSIZE - 1))
#define PERCPU_ALL_SIZE	(HOST_STACK_SIZE + DF_STACK_SIZE + IST_STACK_SIZE + PERCPU_MAP_SIZE)

/*
 * The CPU itself uses the GDT, TSS and trap stacks: they are mapped in the
 * guest page tables now, as they cannot take a page fault.  One mapping
 * holds, upwards, the host stack, the double-fault and IST1 stacks and the
 * struct (the order four mmaps gave them; one call instead of four saves
 * every start about 12000 instructions on the intel machine).
 */
static struct dune_percpu *percpu_alloc(void)
{
	uint8_t *m = map_stack(PERCPU_ALL_SIZE), *df, *ist;
	struct dune_percpu *p;

	if (!m)
		return NULL;
	df = m + HOST_STACK_SIZE;
	ist = df + DF_STACK_SIZE;
	p = (struct dune_percpu *)(ist + IST_STACK_SIZE);
	if (dune_vm_map_mirror_range(df, DF_STACK_SIZE + IST_STACK_SIZE + PERCPU_MAP_SIZE)) {
		munmap(m, PERCPU_ALL_SIZE);
		return NULL;
	}
	p->host_stack = m;
	p->df_stack = df;
	p->ist_stack = ist;
	setup_gdt(p);
	return p;
}

static int init_process(bool map_full);

int dune_enter(void)
{
	struct dune_config *c;
	unsigned long fs;
	bool first = !startup.enter_start;
	int r;

	if (dune_fd < 0)
		return -EINVAL;
	/* A forked child enters with the parent's libdune state, as the
	 * original let a child just call dune_enter (dune_init keeps it). */
	if (dune_pid != getpid()) {
		r = init_process(dune_map_full);
		if (r)
			return r;
		first = true;
	}
	if (first)
		startup.enter_start = dune_get_ticks();
	if (percpu && percpu->conf.regs.rip)
		return -EALREADY;	/* dune_enter from inside Dune mode */
	if (!percpu) {
		percpu = percpu_alloc();
		if (!percpu)
			return -ENOMEM;
	}
	if (first)
		startup.percpu = dune_get_ticks();
	/* The guest's first instructions run on this stack before its IDT
	 * exists (a page fault there would be a triple fault): map the part
	 * around the stack pointer now; deeper pages fault in later. */
	r = dune_vm_map_mirror_range((char *)__builtin_frame_address(0) - ENTRY_STACK_MAPPED,
				     ENTRY_STACK_MAPPED + PGSIZE);
	if (r)
		return r;
	c = &percpu->conf;
	memset(c, 0, sizeof(*c));
	if (syscall(SYS_arch_prctl, ARCH_GET_FS, &fs))
		return -errno;
	c->fs_base = fs;
	c->cr3 = dune_va_to_pa(pgroot);
	/* IF set: the guest takes the signals libdune delivers as interrupts
	 * (host interrupts exit to the host whatever IF says). */
	c->regs.rflags = 0x202;
	if (!dune_process_entered()) {
		entered_pid = getpid();
		dune_signals_entered();
	}
	r = __dune_enter(c, percpu->host_stack + HOST_STACK_SIZE, host_loop);
	if (r) {
		c->regs.rip = 0;
		return r;
	}
	dune_guest_boot();
	if (first)
		startup.entered = dune_get_ticks();
	return 0;
}

static void *map_stack(size_t size)
{
	/* Not populated: most of the trap stacks is never touched, and a page
	 * the guest touches first is faulted in by the module (an exit during
	 * event delivery re-injects the event). */
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

bool dune_map_full;

/* The calling thread's stack is inside @p's trap stacks (a fork made in a
 * trap handler: the child runs on the parent's trap stack copy). */
static bool on_percpu_stacks(const struct dune_percpu *p)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);

	return (sp - (uintptr_t)p->ist_stack < IST_STACK_SIZE) ||
	       (sp - (uintptr_t)p->df_stack < DF_STACK_SIZE);
}

/*
 * A fork child of a process that ran dune_init: keep what fork copied.
 * The guest page tables, the pool and its allocator live in private
 * memory: the child's copies are its own, at the same addresses, so its
 * guest-physical layout must be the parent's (the module derives it from
 * the same mm fields, which fork copies; checked).  The guest tables can
 * only name guest-physical addresses, which the child's own nested tables
 * translate to its own memory, so keeping them gives the child nothing it
 * does not have.  The forking thread's vCPU state (GDT, TSS, trap stacks,
 * mapped in the kept tables) is reused, with the trap frames in progress
 * kept when the child runs on its trap stack; the parent's other threads
 * do not exist here.  Returns -ESTALE
 * when the tables cannot be kept (the caller builds new ones).
 */
static int init_fork_child(void)
{
	struct dune_layout l;
	int fd = open(dune_device_path(), O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	startup.opened = dune_get_ticks();
	if (!pgroot || ioctl(fd, DUNE_GET_LAYOUT, &l) ||
	    memcmp(&l, &dune_layout_cache, sizeof(l))) {
		close(fd);
		return -ESTALE;
	}
	/* The parent's descriptor: its vCPUs and nested tables are the
	 * parent's (the module refuses them to another mm). */
	close(dune_fd);
	dune_fd = fd;
	dune_page_after_fork();
	dune_vm_after_fork();
	dune_full_map_after_fork();
	dune_page_populate_tables();
	if (percpu) {
		bool in_trap = on_percpu_stacks(percpu);
		uint64_t ist1 = percpu->tss.ist[0], user_ret = percpu->user_ret;

		/* setup_gdt also makes the TSS descriptor available again: the
		 * copy is marked busy by the parent's LTR (SDM Vol. 3A 7.2.2). */
		memset(&percpu->conf, 0, sizeof(percpu->conf));
		percpu->in_user = 0;
		percpu->sig_pending = 0;
		percpu->sig_restart = 0;
		percpu->fault_retried = 0;
		setup_gdt(percpu);
		/* Forked by a trap handler (the original's sandbox forks from
		 * its system-call handler and enters again there): the child
		 * runs on its copy of the trap stack and will return through
		 * the frames above IST1 and to the dune_jump_to_user that ran
		 * the ring-3 code, so both stay as they were at the fork. */
		if (in_trap) {
			percpu->tss.ist[0] = ist1;
			percpu->user_ret = user_ret;
		}
	}
	startup.pool = startup.tables = dune_get_ticks();
	startup.forked = true;
	return 0;
}

/* A fresh libdune state for this process: the pool, new guest tables. */
static int init_fresh(void)
{
	int r;

	/* A fork child whose parent's tables cannot be kept: start over. */
	if (dune_fd >= 0) {
		close(dune_fd);
		dune_page_after_fork();
		dune_vm_after_fork();
		dune_full_map_after_fork();
	}
	percpu = NULL;
	dune_fd = open(dune_device_path(), O_RDWR | O_CLOEXEC);
	if (dune_fd < 0)
		return -errno;
	if (ioctl(dune_fd, DUNE_GET_INFO, &dune_info_cache) ||
	    ioctl(dune_fd, DUNE_GET_LAYOUT, &dune_layout_cache)) {
		r = -errno;
		goto fail;
	}
	startup.opened = dune_get_ticks();
	setup_idt();
	dune_trap_init();
	r = dune_vm_init(&startup.pool);
	if (!r)
		r = dune_vm_map_mirror_range(idt, sizeof(idt));
	if (r)
		goto fail;
	startup.tables = dune_get_ticks();
	return 0;
fail:
	close(dune_fd);
	dune_fd = -1;
	return r;
}

static int init_process(bool map_full)
{
	int r = -ESTALE;

	memset(&startup, 0, sizeof(startup));
	startup.init_start = dune_get_ticks();
	if (dune_fd >= 0)
		r = init_fork_child();
	if (r)
		r = init_fresh();
	if (r)
		return r;
	dune_pid = getpid();
	dune_map_full = map_full;
	startup.init_end = dune_get_ticks();
	return 0;
}

int dune_init(bool map_full)
{
	if (dune_fd >= 0 && dune_pid == getpid())
		return 0;
	return init_process(map_full);
}

int dune_init_and_enter(void)
{
	int r = dune_init(true);

	return r ? r : dune_enter();
}

void dune_get_host_stats(struct dune_host_stats *out)
{
	*out = host_stats;
}

void dune_get_startup_stats(struct dune_startup_stats *out)
{
	*out = startup;
}

int dune_get_stats(struct dune_stats *st)
{
	return ioctl(dune_fd, DUNE_GET_STATS, st) ? -errno : 0;
}

int dune_get_process_stats(struct dune_process_stats *ps)
{
	return ioctl(dune_fd, DUNE_GET_PROCESS_STATS, ps) ? -errno : 0;
}
