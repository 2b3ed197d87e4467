// SPDX-License-Identifier: GPL-2.0
/*
 * The program's signal handlers.  The monitor is the process Linux sees, so
 * the program's dispositions become the monitor's: SIG_IGN and SIG_DFL as
 * they are (an ignored SIGPIPE makes write() fail with EPIPE; a default
 * SIGTERM ends the monitor, which reports it as the program's end), a
 * handler as a host handler that only notes the signal and its siginfo,
 * with the program's SA_RESTART (so an interrupted call is restarted or
 * fails with EINTR exactly as Linux decides).
 *
 * Noted signals are delivered on the way back to ring 3 after the
 * program's next system call, or at once for a fault of its own: the
 * monitor builds the kernel's x86-64 frame (struct rt_sigframe: the
 * restorer, a ucontext with the interrupted registers and mask, the
 * siginfo, a legacy FXSAVE image) on the program's stack and enters the
 * handler; rt_sigreturn takes the registers back from that frame.  The
 * extended state comes back from the monitor's own copy, never from the
 * program's memory: a forged frame can restore any registers ring 3 may
 * hold, but no privileged flag and no state XRSTOR could fault on.
 *
 * Threads: the mask (and rt_sigsuspend's) is each thread's own; noted
 * signals are the process's, taken by whichever thread next comes back
 * from a system call with the signal unblocked (a tgkill to one thread is
 * not kept for that thread).  A fault runs its handler in the faulting
 * thread, or ends the whole process.
 *
 * Not offered: alternate signal stacks, and a signal that arrives while
 * ring-3 code computes without a system call waits for the next one.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "sandbox.h"
#include "sigrules.h"

#define SIG_BIT(sig)	(1ULL << ((sig) - 1))
#ifndef SA_RESTORER
#define SA_RESTORER	0x04000000	/* the kernel's, not in glibc's headers */
#endif
#define UNBLOCKABLE	(SIG_BIT(SIGKILL) | SIG_BIT(SIGSTOP))
#define FXSAVE_SZ	512
#define UC_SIGCONTEXT_SS	0x2
#define UC_STRICT_RESTORE_SS	0x4
#define CLEAR_ON_ENTRY	0x10500UL	/* RF DF TF */

uint64_t sig_actions[65][4];	/* handler, flags, restorer, mask (kernel order) */
__thread uint64_t sig_mask;
static __thread uint64_t suspend_mask;	/* the mask before rt_sigsuspend, or 0 */
static __thread bool suspending;
static volatile uint64_t pending;
static siginfo_t infos[65];

/* The kernel's ucontext and rt_sigframe (arch/x86/include/asm/sigframe.h) */
struct kucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	stack_t uc_stack;
	struct sigcontext uc_mcontext;
	uint64_t uc_sigmask;
};

struct ksigframe {
	uint64_t pretcode;
	struct kucontext uc;
	siginfo_t info;
};

/* The extended state of each frame in flight, by frame address. */
#define NR_SAVED	16
static struct {
	uintptr_t frame;
	size_t size;
	uint8_t *state;
} saved[NR_SAVED];
static unsigned int next_saved;
static pthread_mutex_t saved_lock = PTHREAD_MUTEX_INITIALIZER;

/* A fork child: the lock may have been held by a thread it does not have. */
void sig_after_fork(void)
{
	pthread_mutex_init(&saved_lock, NULL);
}

static void host_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	infos[sig] = *si;
	__atomic_fetch_or(&pending, SIG_BIT(sig), __ATOMIC_RELEASE);
}

static bool has_handler(int sig)
{
	uintptr_t h = sig_actions[sig][0];

	return h != (uintptr_t)SIG_DFL && h != (uintptr_t)SIG_IGN;
}

/* The program changed @sig's action to @act: follow it on the host. */
int sig_set_action(int sig, const uint64_t act[4])
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	memcpy(sig_actions[sig], act, sizeof(sig_actions[sig]));
	if (has_handler(sig)) {
		/* Never SA_RESTART on the host: the kernel would restart the
		 * interrupted call before the program's handler ran (a handler
		 * the call may be waiting for).  sig_interrupted() applies the
		 * program's SA_RESTART after building the handler's frame. */
		sa.sa_sigaction = host_handler;
		sa.sa_flags = SA_SIGINFO;
	} else {
		sa.sa_handler = (void (*)(int))act[0];
	}
	return sigaction(sig, &sa, NULL) ? -errno : 0;
}

/* execve: handlers go back to SIG_DFL, ignored signals stay ignored. */
void sig_reset_on_exec(void)
{
	uint64_t dfl[4] = { (uintptr_t)SIG_DFL, 0, 0, 0 };

	for (int sig = 1; sig <= 64; sig++)
		if (has_handler(sig))
			sig_set_action(sig, dfl);
}

/* A fork child starts with no pending signal. */
void sig_forget_pending(void)
{
	pending = 0;
}

static bool default_ignored(int sig)
{
	return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

static void save_xstate(uintptr_t frame, const struct dune_tf *tf)
{
	size_t size;
	void *x = dune_tf_xstate(tf, &size);
	unsigned int i;

	pthread_mutex_lock(&saved_lock);
	i = next_saved++ % NR_SAVED;
	if (saved[i].size != size) {
		free(saved[i].state);
		saved[i].state = malloc(size);
		saved[i].size = saved[i].state ? size : 0;
	}
	saved[i].frame = saved[i].state ? frame : 0;
	if (saved[i].state)
		memcpy(saved[i].state, x, size);
	pthread_mutex_unlock(&saved_lock);
}

static void restore_xstate(uintptr_t frame, struct dune_tf *tf)
{
	size_t size;
	void *x = dune_tf_xstate(tf, &size);

	pthread_mutex_lock(&saved_lock);
	for (int i = 0; i < NR_SAVED; i++) {
		if (saved[i].frame != frame || saved[i].size != size)
			continue;
		memcpy(x, saved[i].state, size);
		saved[i].frame = 0;
		break;
	}
	pthread_mutex_unlock(&saved_lock);
}

static void fill_mcontext(struct sigcontext *mc, const struct dune_tf *tf)
{
	mc->r8 = tf->r8;
	mc->r9 = tf->r9;
	mc->r10 = tf->r10;
	mc->r11 = tf->r11;
	mc->r12 = tf->r12;
	mc->r13 = tf->r13;
	mc->r14 = tf->r14;
	mc->r15 = tf->r15;
	mc->rdi = tf->rdi;
	mc->rsi = tf->rsi;
	mc->rbp = tf->rbp;
	mc->rbx = tf->rbx;
	mc->rdx = tf->rdx;
	mc->rax = tf->rax;
	mc->rcx = tf->rcx;
	mc->rsp = tf->rsp;
	mc->rip = tf->rip;
	mc->eflags = tf->rflags;
	mc->cs = tf->cs;
	mc->__pad0 = tf->ss;
}

/*
 * Enter the handler of @sig with @info: the frame goes below the red zone
 * of the program's stack.  An unusable stack ends the program with SIGSEGV,
 * as Linux does (force_sigsegv).
 */
static void setup_frame(struct dune_tf *tf, int sig, const siginfo_t *info, uintptr_t cr2,
			int trapno)
{
	uint64_t *act = sig_actions[sig];
	uintptr_t fp, sp = sb_signal_frame(tf->rsp, sizeof(struct ksigframe), FXSAVE_SZ, &fp);
	struct ksigframe *f = (struct ksigframe *)sp;
	size_t xsize;
	void *x = dune_tf_xstate(tf, &xsize);

	/* Held while the frame is written: no sibling unmaps it meanwhile. */
	mem_lock();
	if (!(act[1] & SA_RESTORER) || !mem_ok(sp, fp + FXSAVE_SZ - sp, PROT_READ | PROT_WRITE)) {
		sb_log("program killed by SIGSEGV: cannot deliver signal %d (%s)\n", sig,
		       act[1] & SA_RESTORER ? "stack not writable" : "no restorer");
		dune_ret_from_user(RUN_SIGNAL(SIGSEGV));
	}
	memset(f, 0, sizeof(*f));
	f->pretcode = act[2];
	f->uc.uc_flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	f->uc.uc_stack.ss_flags = SS_DISABLE;
	fill_mcontext(&f->uc.uc_mcontext, tf);
	f->uc.uc_mcontext.trapno = trapno;
	f->uc.uc_mcontext.cr2 = cr2;
	f->uc.uc_mcontext.oldmask = suspending ? suspend_mask : sig_mask;
	f->uc.uc_mcontext.fpstate = (struct _fpstate *)fp;
	f->uc.uc_sigmask = suspending ? suspend_mask : sig_mask;
	f->info = *info;
	memcpy((void *)fp, x, xsize < FXSAVE_SZ ? xsize : FXSAVE_SZ);
	mem_unlock();
	save_xstate(sp, tf);

	if (suspending)
		sig_mask = suspend_mask;
	suspending = false;
	sig_mask |= act[3] & ~UNBLOCKABLE;
	if (!(act[1] & SA_NODEFER))
		sig_mask |= SIG_BIT(sig);
	tf->rsp = sp;
	tf->rip = act[0];
	tf->rdi = sig;
	tf->rsi = (uintptr_t)&f->info;
	tf->rdx = (uintptr_t)&f->uc;
	tf->rax = 0;
	tf->rflags &= ~CLEAR_ON_ENTRY;
	if (act[1] & SA_RESETHAND) {
		uint64_t dfl[4] = { (uintptr_t)SIG_DFL, 0, 0, 0 };

		sig_set_action(sig, dfl);
	}
}

/*
 * On the way back to ring 3: every noted signal the program does not block
 * runs its handler (the last one taken runs first, as with Linux's nested
 * frames); one whose action became SIG_DFL meanwhile ends the program or
 * is dropped, as its default says.
 */
void sig_deliver_pending(struct dune_tf *tf)
{
	uint64_t p;

	while ((p = __atomic_load_n(&pending, __ATOMIC_ACQUIRE) & ~sig_mask)) {
		int sig = __builtin_ctzll(p) + 1;

		/* Taken by this thread only if it cleared the bit itself: a
		 * sibling may be taking the same signal now. */
		if (!(__atomic_fetch_and(&pending, ~SIG_BIT(sig), __ATOMIC_ACQ_REL) & SIG_BIT(sig)))
			continue;
		if (has_handler(sig)) {
			setup_frame(tf, sig, &infos[sig], 0, 0);
		} else if (sig_actions[sig][0] == (uintptr_t)SIG_DFL && !default_ignored(sig)) {
			sb_log("program killed by signal %d\n", sig);
			dune_ret_from_user(RUN_SIGNAL(sig));
		}
	}
	if (suspending) {	/* no handler ran: the mask comes back as is */
		sig_mask = suspend_mask;
		suspending = false;
	}
}

/* A fault of the program's own: its handler runs when it has one that is
 * not blocked (true), else the program ends as before (false). */
bool sig_deliver_fault(struct dune_tf *tf, int sig, int code, uintptr_t addr, int trapno)
{
	siginfo_t info;

	if (!has_handler(sig) || (sig_mask & SIG_BIT(sig)))
		return false;
	memset(&info, 0, sizeof(info));
	info.si_signo = sig;
	info.si_code = code;
	info.si_addr = (void *)addr;
	setup_frame(tf, sig, &info, addr, trapno);
	return true;
}

/*
 * A host call the program asked for came back with -ERESTART* (@r): a
 * signal interrupted it (dune_report_restart_codes).  As Linux decides in
 * handle_signal(): with a handler to run, ERESTARTSYS restarts only under
 * SA_RESTART, ERESTARTNOHAND and ERESTART_RESTARTBLOCK fail with EINTR;
 * ERESTARTNOINTR, and any code without a handler to run, restart.  A
 * restart points the program back at its SYSCALL with the call's number
 * in RAX, so the handler's frame saves exactly that.  Returns the value
 * for RAX.
 */
long sig_interrupted(struct dune_tf *tf, uint64_t nr, long r)
{
	uint64_t p = __atomic_load_n(&pending, __ATOMIC_ACQUIRE) & ~sig_mask;
	int sig = 0;
	bool restart;

	for (uint64_t q = p; q; q &= q - 1) {
		if (has_handler(__builtin_ctzll(q) + 1)) {
			sig = __builtin_ctzll(q) + 1;
			break;
		}
	}
	restart = sb_restart_call(r, sig, sig && (sig_actions[sig][1] & SA_RESTART));
	if (!restart)
		return -EINTR;
	tf->rip -= 2;	/* SYSCALL */
	return nr == SYS_restart_syscall ? SYS_restart_syscall : (long)nr;
}

/* rt_sigreturn: the registers and mask of the frame at the program's
 * stack; returns the restored RAX (the system-call path stores it). */
long sc_sigreturn(struct dune_tf *tf, uint64_t a[6])
{
	uintptr_t frame = tf->rsp - 8;
	const struct ksigframe *f = (const struct ksigframe *)frame;
	struct sigcontext mc;

	(void)a;
	mem_lock();
	if (!mem_ok(frame, sizeof(*f), PROT_READ)) {
		sb_log("program killed by SIGSEGV: rt_sigreturn without a signal frame\n");
		dune_ret_from_user(RUN_SIGNAL(SIGSEGV));
	}
	mc = f->uc.uc_mcontext;
	sig_mask = f->uc.uc_sigmask & ~UNBLOCKABLE;
	mem_unlock();
	tf->r8 = mc.r8;
	tf->r9 = mc.r9;
	tf->r10 = mc.r10;
	tf->r11 = mc.r11;
	tf->r12 = mc.r12;
	tf->r13 = mc.r13;
	tf->r14 = mc.r14;
	tf->r15 = mc.r15;
	tf->rdi = mc.rdi;
	tf->rsi = mc.rsi;
	tf->rbp = mc.rbp;
	tf->rbx = mc.rbx;
	tf->rdx = mc.rdx;
	tf->rcx = mc.rcx;
	tf->rsp = mc.rsp;
	tf->rip = mc.rip;
	tf->rflags = sb_sigreturn_rflags(tf->rflags, mc.eflags);
	restore_xstate(frame, tf);
	return mc.rax;
}

/* rt_sigsuspend(mask, size): wait under the program's mask; the handler's
 * frame saves the mask from before the call. */
long sc_sigsuspend(struct dune_tf *tf, uint64_t a[6])
{
	if (a[1] != 8)
		return -EINVAL;
	suspend_mask = sig_mask;
	suspending = true;
	sig_mask = *(uint64_t *)a[0] & ~UNBLOCKABLE;
	return sb_host(tf);	/* -EINTR once a host handler ran */
}

/* rt_sigpending(set, size) */
long sc_sigpending(struct dune_tf *tf, uint64_t a[6])
{
	(void)tf;
	if (a[1] != 8)
		return -EINVAL;
	*(uint64_t *)a[0] = __atomic_load_n(&pending, __ATOMIC_ACQUIRE) & sig_mask;
	return 0;
}
