// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Guest traps: the handlers a program registers (per vector, page faults,
 * ring-3 system calls) and libdune's defaults: demand paging of process
 * memory, copy-on-write, raw VMCALL/VMMCALL from either vendor's programs,
 * and a Linux-like death (dump, then the signal Linux would have sent).
 *
 * Built with -mgeneral-regs-only: the entry saves the interrupted code's
 * vector state, but this file must not need it before then.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "internal.h"
#include "../arch/x86_64/offsets.h"
#include "vm_internal.h"

#define HIDDEN __attribute__((visibility("hidden")))

/* XSAVE area size and mask for the trap entry (entry.S); a zero mask means
 * FXSAVE (512 bytes).  Set by dune_trap_init(). */
HIDDEN uint64_t dune_xsave_size = 512 + 64;
HIDDEN uint32_t dune_xsave_mask_lo, dune_xsave_mask_hi;

static uintptr_t read_cr2(void);

static dune_intr_cb intr_cbs[IDT_ENTRIES];
/* DUNE_FEAT_POSTED_INTR: interrupts must be ended with an EOI (uapi). */
static bool posted_eoi;
static dune_pgflt_cb pgflt_cb;
static dune_syscall_cb syscall_cb;

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ __volatile__("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			     : "a"(leaf), "c"(sub));
}

static inline uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	__asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return lo | ((uint64_t)hi << 32);
}

/* In host mode, at dune_init: the guest's CR4.OSXSAVE and XCR0 are the
 * host's (the module shares them), so what the host uses, the trap entry
 * saves.  CPUID.(0DH,0).EBX is the XSAVE area size for the enabled XCR0
 * features (SDM Vol. 1 13.2). */
void dune_trap_init(void)
{
	uint32_t r[4];

	posted_eoi = dune_info_cache.features & DUNE_FEAT_POSTED_INTR;
	cpuid(1, 0, r);
	if (!(r[2] & (1U << 27))) {	/* OSXSAVE */
		dune_xsave_mask_lo = dune_xsave_mask_hi = 0;
		dune_xsave_size = 512 + 64;
		return;
	}
	cpuid(0xd, 0, r);
	dune_xsave_size = r[1] + 64;
	dune_xsave_mask_lo = (uint32_t)xgetbv0() | 1;	/* never zero: x87 */
	dune_xsave_mask_hi = xgetbv0() >> 32;
}

int dune_register_intr_handler(int vec, dune_intr_cb cb)
{
	if (vec < 0 || vec >= IDT_ENTRIES)
		return -EINVAL;
	__atomic_store_n(&intr_cbs[vec], cb, __ATOMIC_RELEASE);
	return 0;
}


void dune_register_pgflt_handler(dune_pgflt_cb cb)
{
	__atomic_store_n(&pgflt_cb, cb, __ATOMIC_RELEASE);
}

void dune_register_syscall_handler(dune_syscall_cb cb)
{
	__atomic_store_n(&syscall_cb, cb, __ATOMIC_RELEASE);
}

void dune_passthrough_syscall(struct dune_tf *tf)
{
	if (dune_passthrough_refused(tf->rax, ARG0(tf), ARG1(tf))) {
		tf->rax = -ENOSYS;
		return;
	}
	tf->rax = dune_raw_syscall(tf->rax, ARG0(tf), ARG1(tf), ARG2(tf), ARG3(tf),
				   ARG4(tf), ARG5(tf));
}

/* The ring-0 and ring-3 FS bases, for ring-0 handlers (entry.S keeps them
 * in the percpu area the GS base points at). */
unsigned long dune_get_user_fs(void)
{
	unsigned long v;

	__asm__ __volatile__("mov %%gs:%c1, %0" : "=r"(v) : "i"(PC_UFS));
	return v;
}

void dune_set_user_fs(unsigned long fs_base)
{
	__asm__ __volatile__("mov %0, %%gs:%c1" : : "r"(fs_base), "i"(PC_UFS) : "memory");
}

static bool page_mapped(const void *va)
{
	ptent_t *pte;

	return pgroot && dune_vm_lookup(dune_vm_current_root(), (void *)va, CREATE_NONE, &pte) == 0 &&
	       (*pte & PTE_P);
}

static void dump_stack(const struct dune_tf *tf)
{
	const uint64_t *sp = (const uint64_t *)tf->rsp;
	int i;

	for (i = 0; i < 8; i++) {
		if (!page_mapped(&sp[i]))
			break;
		dune_printf("dune: RSP%+-4d 0x%016lx\n", i * 8, (unsigned long)sp[i]);
	}
}

void dune_dump_trap_frame(struct dune_tf *tf)
{
	dune_printf("dune: --- trap frame ---\n");
	dune_printf("dune: RIP 0x%016lx CS 0x%02x SS 0x%02x\n", (unsigned long)tf->rip,
		    tf->cs, tf->ss);
	dune_printf("dune: ERR 0x%08x RFLAGS 0x%08lx\n", tf->err, (unsigned long)tf->rflags);
	dune_printf("dune: RAX 0x%016lx RCX 0x%016lx\n", (unsigned long)tf->rax,
		    (unsigned long)tf->rcx);
	dune_printf("dune: RDX 0x%016lx RBX 0x%016lx\n", (unsigned long)tf->rdx,
		    (unsigned long)tf->rbx);
	dune_printf("dune: RSP 0x%016lx RBP 0x%016lx\n", (unsigned long)tf->rsp,
		    (unsigned long)tf->rbp);
	dune_printf("dune: RSI 0x%016lx RDI 0x%016lx\n", (unsigned long)tf->rsi,
		    (unsigned long)tf->rdi);
	dune_printf("dune: R8  0x%016lx R9  0x%016lx\n", (unsigned long)tf->r8,
		    (unsigned long)tf->r9);
	dune_printf("dune: R10 0x%016lx R11 0x%016lx\n", (unsigned long)tf->r10,
		    (unsigned long)tf->r11);
	dune_printf("dune: R12 0x%016lx R13 0x%016lx\n", (unsigned long)tf->r12,
		    (unsigned long)tf->r13);
	dune_printf("dune: R14 0x%016lx R15 0x%016lx\n", (unsigned long)tf->r14,
		    (unsigned long)tf->r15);
	dump_stack(tf);
}

/* Linux's signal for the same exception in user mode. */
static int trap_signal(int vector)
{
	switch (vector) {
	case T_DIVIDE: case T_FPERR: case T_SIMDERR:
		return SIGFPE;
	case T_DEBUG: case T_BRKPT:
		return SIGTRAP;
	case T_ILLOP:
		return SIGILL;
	case T_ALIGN:
		return SIGBUS;
	default:
		return SIGSEGV;
	}
}

static void __attribute__((noreturn)) fatal(int num, struct dune_tf *tf, const char *what)
{
	dune_printf("dune: %s: vector %d err 0x%x rip 0x%lx", what, num, tf->err,
		    (unsigned long)tf->rip);
	if (num == T_PGFLT)
		dune_printf(" cr2 0x%lx", read_cr2());
	dune_printf("\n");
	dune_dump_trap_frame(tf);
	dune_die_signal(trap_signal(num));
}

/* Called by entry.S when every nested trap frame is in use. */
void dune_trap_overflow(struct dune_tf *tf)
{
	dune_printf("dune: trap stack exhausted (a fault in every nested handler)\n");
	(void)tf;
	dune_die_signal(SIGSEGV);
}

static uintptr_t read_cr2(void)
{
	uintptr_t v;

	__asm__ __volatile__("mov %%cr2, %0" : "=r"(v));
	return v;
}

/*
 * Page faults nobody registered a handler for: process memory that is not
 * in the guest page tables yet is mapped to its mirror on first touch from
 * ring 0 (the nested page tables still enforce the process's own
 * permissions); a write to a copy-on-write page copies it.  Anything else
 * is the program's bug.
 */
static void default_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	if (dune_vm_resolve_fault(addr, fec) == 0)
		return;
	dvm_print_walk(addr);
	fatal(T_PGFLT, tf, fec & FEC_U ? "unhandled page fault in ring 3" :
					 "unhandled page fault");
}

static bool is_hypercall(const uint8_t *p)
{
	return p[0] == 0x0f && p[1] == 0x01 && (p[2] == 0xc1 || p[2] == 0xd9);
}

/*
 * A raw VMCALL on AMD or VMMCALL on Intel is #UD (SDM Vol. 2B VMCALL; APM
 * Vol. 3 VMMCALL): programs written for one vendor still work on the other
 * by running the hypercall with this vendor's instruction.  Its ABI is the
 * system call's (rax, rdi, rsi, rdx, r10, r8, r9).  Ring 0 only; calls that
 * need the caller's own frame (clone family, rt_sigreturn) cannot be
 * emulated from a handler and fail with ENOSYS.
 */
static bool emulate_hypercall(struct dune_tf *tf)
{
	if ((tf->cs & 3) || !page_mapped((void *)tf->rip) ||
	    !page_mapped((void *)(tf->rip + 2)) || !is_hypercall((const uint8_t *)tf->rip))
		return false;
	switch (tf->rax) {
	case SYS_clone: case SYS_clone3: case SYS_fork: case SYS_vfork:
	case SYS_rt_sigreturn:
		tf->rax = -ENOSYS;
		break;
	default:
		tf->rax = dune_raw_syscall(tf->rax, tf->rdi, tf->rsi, tf->rdx, tf->r10, tf->r8,
					   tf->r9);
	}
	tf->rip += 3;
	return true;
}

static sighandler_t sig_cbs[IDT_ENTRIES - DUNE_SIGNAL_INTR_BASE];

/* A signal's guest handler: the vector's (dune_register_signal_handler),
 * else dune_signal()'s.  @tf is NULL when run from host mode. */
static void run_signal(int sig, struct dune_tf *tf)
{
	dune_intr_cb vcb = __atomic_load_n(&intr_cbs[DUNE_SIGNAL_INTR_BASE + sig],
					   __ATOMIC_ACQUIRE);
	sighandler_t cb = __atomic_load_n(&sig_cbs[sig], __ATOMIC_ACQUIRE);

	if (vcb && tf)
		vcb(tf);
	else if (cb && cb != SIG_IGN && cb != SIG_DFL)
		cb(sig);
}

/* Every signal waiting for this thread's guest, lowest first. */
static void run_pending_signals(struct dune_tf *tf)
{
	uint64_t pend = dune_sig_take_pending();

	while (pend) {
		int sig = __builtin_ctzll(pend);

		pend &= pend - 1;
		run_signal(sig, tf);
	}
}

/*
 * The host-mode handler behind dune_signal(): a thread in Dune mode gets
 * the signal in the guest (libdune's host loop delivers it as the
 * signal's vector before re-entering); other threads, and the process
 * before it enters, run the handler at once, as signal() would.
 */
static void host_sig_trampoline(int sig)
{
	if (dune_thread_in_guest())
		dune_sig_mark_pending(sig);
	else
		run_signal(sig, NULL);
}

static uint64_t routed;	/* signals whose host handler is the trampoline */

/*
 * SA_RESTART until the process enters Dune mode, then without it: an
 * interrupted guest system call must come back to the host loop, which
 * applies SA_RESTART itself after the guest's handler ran (see
 * syscall_interrupted in entry.c).
 */
static int route_signal(int sig, sighandler_t cb)
{
	struct sigaction sa = { .sa_flags = dune_process_entered() ? 0 : SA_RESTART };

	sa.sa_handler = (cb == SIG_IGN || cb == SIG_DFL) ? cb : host_sig_trampoline;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL))
		return -errno;
	if (sa.sa_handler == host_sig_trampoline)
		__atomic_fetch_or(&routed, 1ULL << sig, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(&routed, ~(1ULL << sig), __ATOMIC_RELAXED);
	return 0;
}

/* At the process's first dune_enter: drop SA_RESTART from the routed. */
void dune_signals_entered(void)
{
	uint64_t set = __atomic_load_n(&routed, __ATOMIC_RELAXED);

	while (set) {
		int sig = __builtin_ctzll(set);

		set &= set - 1;
		route_signal(sig, (sighandler_t)host_sig_trampoline);
	}
}

/* The handler for @signum's vector; the signal is routed to it from now
 * on (SA_RESTART semantics, as dune_signal). */
int dune_register_signal_handler(int signum, dune_intr_cb cb)
{
	int r;

	if (signum < 1 || DUNE_SIGNAL_INTR_BASE + signum >= IDT_ENTRIES)
		return -EINVAL;
	r = dune_register_intr_handler(DUNE_SIGNAL_INTR_BASE + signum, cb);
	return r ? r : route_signal(signum, cb ? (sighandler_t)host_sig_trampoline : SIG_DFL);
}

/*
 * As signal() (BSD semantics: SA_RESTART, the signal blocked while its
 * handler runs), but the handler runs inside Dune mode, on the guest
 * vector DUNE_SIGNAL_INTR_BASE + @sig, as in the original libdune.
 * Returns NULL, or SIG_ERR with errno.
 */
sighandler_t dune_signal(int sig, sighandler_t cb)
{
	int r;

	if (sig < 1 || DUNE_SIGNAL_INTR_BASE + sig >= IDT_ENTRIES) {
		errno = EINVAL;
		return SIG_ERR;
	}
	__atomic_store_n(&sig_cbs[sig], cb, __ATOMIC_RELEASE);
	r = route_signal(sig, cb);
	if (r) {
		errno = -r;
		return SIG_ERR;
	}
	return NULL;
}

/*
 * The extended state (x87, SSE, AVX...) of the context @tf describes, as
 * the trap entry saved it and the return will restore it: just below the
 * frame, 64-byte aligned (entry.S, SAVE_XSTATE).  Only for the @tf a
 * handler was given, while that handler runs.
 */
void *dune_tf_xstate(const struct dune_tf *tf, size_t *size)
{
	*size = dune_xsave_size - 64;
	return (void *)(((uintptr_t)tf - dune_xsave_size) & ~63UL);
}

/*
 * With posted interrupts the vector just taken is in service in this
 * vCPU's virtual APIC and holds back every vector of its priority class
 * and below until an EOI: the write of 0 to x2APIC MSR 0x80b, which the
 * CPU completes in the virtual APIC without an exit (SDM 30.5).  Ending it
 * before the handler runs keeps the rule of the exit-based path: a
 * handler is never interrupted while IF is clear, and once it returns the
 * next vector, the same one too, can come.  After a vector that was not
 * posted (an exception, libdune's signal kicks, INT n) the EOI finds no
 * vector in service and changes nothing.
 */
static inline void posted_intr_eoi(void)
{
	__asm__ __volatile__("wrmsr" : : "c"(0x80b), "a"(0), "d"(0) : "memory");
}

/* Entry point from entry.S for every vector. */
void dune_trap_handler(int num, struct dune_tf *tf)
{
	dune_intr_cb cb = __atomic_load_n(&intr_cbs[num], __ATOMIC_ACQUIRE);
	dune_pgflt_cb pf;

	if (num >= 32 && posted_eoi)
		posted_intr_eoi();

	/* Signals that came while ring-3 code ran wait for it to enter ring 0. */
	if (tf->cs & 3)
		run_pending_signals(tf);

	if (num == DUNE_SIGNAL_KICK) {
		run_pending_signals(tf);
		return;
	}
	if (num >= DUNE_SIGNAL_INTR_BASE) {
		run_signal(num - DUNE_SIGNAL_INTR_BASE, tf);
		run_pending_signals(tf);
		return;
	}
	if (cb) {
		cb(tf);
		return;
	}
	switch (num) {
	case T_PGFLT:
		pf = __atomic_load_n(&pgflt_cb, __ATOMIC_ACQUIRE);
		/* dune_init(true): ordinary memory is libdune's (fullmap.c). */
		if (pf && dune_map_full && dune_full_map_fault(read_cr2(), tf->err))
			return;
		if (pf)
			pf(read_cr2(), tf->err, tf);
		else
			default_pgflt(read_cr2(), tf->err, tf);
		return;
	case T_ILLOP:
		if (emulate_hypercall(tf))
			return;
		break;
	}
	fatal(num, tf, num < 32 ? "unhandled exception" : "unhandled interrupt");
}

/* Entry point from entry.S for SYSCALL in ring 3. */
void dune_syscall_handler(struct dune_tf *tf)
{
	dune_syscall_cb cb = __atomic_load_n(&syscall_cb, __ATOMIC_ACQUIRE);

	run_pending_signals(tf);
	if (cb) {
		cb(tf);
		return;
	}
	dune_printf("dune: system call %ld from ring 3 and no handler registered\n",
		    (long)tf->rax);
	dune_dump_trap_frame(tf);
	dune_die_signal(SIGSYS);
}
