/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the host owes itself around every guest run, for both backends: the
 * pieces of KVM's vcpu_enter_guest() (arch/x86/kvm/x86.c) and of
 * guest_state_enter_irqoff()/guest_state_exit_irqoff() (linux/kvm_host.h)
 * that are not about the hardware's world switch.  Decided on what the
 * headers define, never on version numbers (see compat.h).
 */
#ifndef _DUNE_GUEST_ENTRY_H
#define _DUNE_GUEST_ENTRY_H

#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/task_work.h>
#include <asm/cpufeature.h>
#include <asm/mce.h>
#include <asm/nospec-branch.h>

/*
 * Work the host must do before the guest goes on, checked with interrupts
 * off right before entry so nothing raised later is missed: an interrupt
 * or IPI that sets one of these flags after the check makes the guest exit
 * at once (KVM: xfer_to_guest_mode_work_pending(), XFER_TO_GUEST_MODE_WORK).
 *  - TIF_NEED_RESCHED: the run loop calls cond_resched();
 *  - a signal (TIF_SIGPENDING, TIF_NOTIFY_SIGNAL): back to user mode;
 *  - task work behind TIF_NOTIFY_RESUME (the last fput() of a file the
 *    guest closed, which a pipe's reader waits on for EOF; NUMA balancing).
 *    KVM runs all of TIF_NOTIFY_RESUME in place with resume_user_mode_work();
 *    task_work_run() is not exported to modules, so dune returns to user
 *    mode, where the kernel runs it on the way out, and libdune re-enters.
 *    Only for task work: rseq sets TIF_NOTIFY_RESUME at every context
 *    switch, and returning for it would livelock a traced process (each
 *    re-entering ioctl stops for the tracer, which switches, which sets the
 *    flag again).  The rest (rseq's CPU number, memcg reclaim over the high
 *    limit) waits for the next return to user mode.
 */
static inline bool dune_task_work_pending(void)
{
	return test_thread_flag(TIF_NOTIFY_RESUME) && task_work_pending(current);
}

static inline bool dune_host_work_pending(void)
{
	return need_resched() || signal_pending(current) || dune_task_work_pending();
}

/*
 * Right before entry, interrupts off: a guest run is a context switch for
 * RCU (KVM: guest_context_enter_irqoff() without context tracking calls
 * rcu_virt_note_context_switch()), so a vCPU that spins in the guest and
 * never sleeps does not stall RCU or RCU Tasks (trampoline updates, BPF).
 */
static inline void dune_guest_enter_irqoff(void)
{
	rcu_note_context_switch(false);
}

/*
 * Right after the run, interrupts still off.  VMSCAPE: the guest may have
 * trained the branch predictor against the host's user space (here, the
 * process's own host-mode code, which ring 3 of the guest must not reach),
 * so where the kernel asks for it, an IBPB before the next return to user
 * mode (KVM: vcpu_enter_guest() sets x86_ibpb_exit_to_user after every run).
 */
static inline void dune_guest_exit_irqoff(void)
{
#ifdef X86_FEATURE_IBPB_EXIT_TO_USER
	if (cpu_feature_enabled(X86_FEATURE_IBPB_EXIT_TO_USER))
		this_cpu_write(x86_ibpb_exit_to_user, true);
#endif
}

/*
 * A machine check hit while the guest ran (intercepted, so the guest's IDT
 * never saw it): the host's handler owns it, as if it had hit user mode
 * (KVM: kvm_machine_check).  Interrupts off, right after the exit.
 */
static inline void dune_host_machine_check(void)
{
#ifdef CONFIG_X86_MCE
	struct pt_regs regs = { .cs = 3, .flags = X86_EFLAGS_IF };

	do_machine_check(&regs);
#endif
}

#endif /* _DUNE_GUEST_ENTRY_H */
