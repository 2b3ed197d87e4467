// SPDX-License-Identifier: GPL-2.0
/*
 * vCPU lifecycle and the run loop: enter the guest, handle exits that the
 * kernel resolves itself (nested faults, host interrupts, CPUID), and go
 * back to user space for everything that needs host mode (system calls,
 * signals, errors).  Vendor-neutral: hardware access goes through dune_hv.
 */
#define pr_fmt(fmt) "dune: " fmt

#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <asm/debugreg.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/processor.h>

#include "core.h"
#include "exit.h"
#include "guest_entry.h"
#include "hv.h"
#include "ipi.h"
#include "run.h"
#include "syscall.h"
#include "vm.h"

struct dune_vcpu_node {
	struct list_head list;
	pid_t tid;
	struct task_struct *task;	/* referenced */
	struct dune_vcpu *vcpu;
	struct rcu_head rcu;		/* freed after RCU readers (vcpu_mine) */
};

/*
 * The process VM whose guest ran last on each CPU.  Guests of different
 * processes must not steer each other's indirect branches: an IBPB when
 * another VM's vCPU comes to the CPU (KVM: svm_vcpu_load() and
 * vmx_vcpu_load_vmcs() on a VMCB/VMCS switch).  By id, not pointer, so a
 * freed VM's address reused by a new one still counts as a switch.
 */
static DEFINE_PER_CPU(u64, dune_last_vm_id);

static void vcpu_load_on(struct dune_vcpu *vcpu, int cpu)
{
	if (this_cpu_read(dune_last_vm_id) != vcpu->vm->id) {
		this_cpu_write(dune_last_vm_id, vcpu->vm->id);
		indirect_branch_prediction_barrier();
	}
	dune_vm_note_cpu(vcpu->vm, cpu);
	dune_hv->vcpu_load(vcpu, cpu);
}

static inline struct dune_vcpu *pn_to_vcpu(struct preempt_notifier *pn)
{
	return container_of(pn, struct dune_vcpu, pn);
}

static void dune_sched_in(struct preempt_notifier *pn, int cpu)
{
	vcpu_load_on(pn_to_vcpu(pn), cpu);
}

static void dune_sched_out(struct preempt_notifier *pn, struct task_struct *next)
{
	dune_hv->vcpu_put(pn_to_vcpu(pn));
}

static struct preempt_ops dune_preempt_ops = {
	.sched_in = dune_sched_in,
	.sched_out = dune_sched_out,
};

/*
 * vCPUs register preempt notifiers, which needs the scheduler's notifier
 * static key on.  It is taken at the first vCPU and held until the module
 * unloads, not flipped per vCPU: flipping a static key patches kernel text
 * on every CPU (int3 + IPIs), far too costly for every process that enters,
 * and under QEMU's TCG it could leave a CPU looping on a stale int3.
 */
static DEFINE_MUTEX(dune_preempt_key_lock);
static bool dune_preempt_key_held;

static void dune_preempt_key_get(void)
{
	if (READ_ONCE(dune_preempt_key_held))
		return;
	mutex_lock(&dune_preempt_key_lock);
	if (!dune_preempt_key_held) {
		preempt_notifier_inc();
		WRITE_ONCE(dune_preempt_key_held, true);
	}
	mutex_unlock(&dune_preempt_key_lock);
}

/* Module unload: no vCPU is left. */
void dune_preempt_key_put(void)
{
	if (dune_preempt_key_held)
		preempt_notifier_dec();
	dune_preempt_key_held = false;
}

/* Attach the vCPU to this thread and CPU for the duration of one ioctl. */
static void vcpu_begin(struct dune_vcpu *vcpu)
{
	int cpu = get_cpu();

	preempt_notifier_register(&vcpu->pn);
	vcpu_load_on(vcpu, cpu);
	put_cpu();
}

static void vcpu_end(struct dune_vcpu *vcpu)
{
	preempt_disable();
	dune_hv->vcpu_put(vcpu);
	preempt_notifier_unregister(&vcpu->pn);
	preempt_enable();
}

static void vcpu_destroy(struct dune_file *df, struct dune_vcpu_node *node);

static struct dune_vcpu *vcpu_create(struct dune_file *df, struct dune_config *conf)
{
	struct dune_vcpu_node *node = kzalloc(sizeof(*node), GFP_KERNEL_ACCOUNT);
	struct dune_vcpu *vcpu;
	int r;

	if (!node)
		return ERR_PTR(-ENOMEM);
	vcpu = dune_hv->vcpu_alloc();
	if (IS_ERR_OR_NULL(vcpu)) {
		kfree(node);
		return vcpu ? vcpu : ERR_PTR(-ENOMEM);
	}
	vcpu->vm = df->vm;
	vcpu->cpu = -1;
	vcpu->task = current;
	vcpu->regs = conf->regs;
	vcpu->cr3 = conf->cr3;
	vcpu->fs_base = conf->fs_base;
	vcpu->gs_base = conf->gs_base;
	vcpu->tlb_gen = -1;
	dune_ipi_init(vcpu);
	dune_preempt_key_get();
	preempt_notifier_init(&vcpu->pn, &dune_preempt_ops);

	vcpu_begin(vcpu);
	r = dune_hv->vcpu_setup(vcpu);
	vcpu_end(vcpu);
	if (r) {
		dune_hv->vcpu_free(vcpu);
		kfree(node);
		return ERR_PTR(r);
	}
	refcount_inc(&df->vm->refs);
	atomic_inc(&df->vm->nr_vcpus);
	atomic_inc(&dune_live_vcpus);
	node->tid = current->pid;
	node->task = get_task_struct(current);
	node->vcpu = vcpu;
	list_add(&node->list, &df->vcpus);
	r = xa_err(xa_store(&df->by_tid, node->tid, node, GFP_KERNEL_ACCOUNT));
	if (r) {
		vcpu_destroy(df, node);
		return ERR_PTR(r);
	}
	return vcpu;
}

static void vcpu_destroy(struct dune_file *df, struct dune_vcpu_node *node)
{
	struct dune_vcpu *vcpu = node->vcpu;
	struct dune_vm *vm = vcpu->vm;

	dune_hv->vcpu_free(vcpu);
	atomic_dec(&vm->nr_vcpus);
	atomic_dec(&dune_live_vcpus);
	dune_vm_put(vm);
	list_del(&node->list);
	/* Only if still ours: a thread of the same id may have one now. */
	xa_cmpxchg(&df->by_tid, node->tid, node, NULL, 0);
	put_task_struct(node->task);
	kfree_rcu(node, rcu);
}

/* Add @vcpu's counters to @st. */
static void vcpu_stats_add(struct dune_stats *st, const struct dune_vcpu *vcpu)
{
	int i;

	for (i = 0; i < DUNE_EXIT_NR; i++)
		st->exits[i] += READ_ONCE(vcpu->exits[i]);
	st->entries += READ_ONCE(vcpu->entries);
	st->returns += READ_ONCE(vcpu->returns);
	st->syscalls_kernel += READ_ONCE(vcpu->syscalls_kernel);
	st->syscalls_host += READ_ONCE(vcpu->syscalls_host);
	st->reflected += READ_ONCE(vcpu->reflected);
	st->host_work += READ_ONCE(vcpu->host_work);
	st->irqs += READ_ONCE(vcpu->ipi.delivered);
}

/*
 * Free the vCPUs of threads that have exited.  A thread runs only its own
 * vCPU and PF_EXITING is set in do_exit, after it left its last ioctl, so
 * such a vCPU is idle for good.  Called with df->lock held.
 */
static void vcpus_reap(struct dune_file *df)
{
	struct dune_vcpu_node *node, *tmp;

	list_for_each_entry_safe(node, tmp, &df->vcpus, list) {
		if (!(READ_ONCE(node->task->flags) & PF_EXITING))
			continue;
		/* DUNE_GET_PROCESS_STATS counts ended threads too. */
		vcpu_stats_add(&df->ended, node->vcpu);
		df->ended_vcpus++;
		vcpu_destroy(df, node);
	}
}

/*
 * The calling thread's vCPU without df->lock: every return to host mode
 * (a signal, a system call under seccomp or a tracer, host work) comes
 * back through DUNE_ENTER, which must not serialize a process's threads
 * on one mutex or walk a list of them.  Only this thread frees its vCPU,
 * and only after it has exited (vcpus_reap), so the vCPU found stays; a
 * node of a dead thread with the same id is told apart by its task, and
 * nodes are freed after an RCU grace period.
 */
static struct dune_vcpu *vcpu_mine(struct dune_file *df)
{
	struct dune_vcpu_node *node;
	struct dune_vcpu *vcpu = NULL;

	rcu_read_lock();
	node = xa_load(&df->by_tid, current->pid);
	if (node && READ_ONCE(node->task) == current)
		vcpu = node->vcpu;
	rcu_read_unlock();
	return vcpu;
}

static struct dune_vcpu *vcpu_find(struct dune_file *df)
{
	struct dune_vcpu_node *node;

	list_for_each_entry(node, &df->vcpus, list)
		if (node->tid == current->pid)
			return node->vcpu;
	return NULL;
}

/**
 * dune_vcpu_by_tid - a live vCPU of @df by its thread's id.
 * @df:		the /dev/dune file; df->lock held (the vCPU stays allocated
 *		while it is).
 * @tid:	the thread id.
 *
 * Returns the vCPU, or NULL: no such thread, not in Dune mode, or exiting.
 */
struct dune_vcpu *dune_vcpu_by_tid(struct dune_file *df, u32 tid)
{
	struct dune_vcpu_node *node;

	list_for_each_entry(node, &df->vcpus, list)
		if ((u32)node->tid == tid)
			return READ_ONCE(node->task->flags) & PF_EXITING ? NULL : node->vcpu;
	return NULL;
}

struct dune_file *dune_file_alloc(void)
{
	struct dune_file *df = kzalloc(sizeof(*df), GFP_KERNEL_ACCOUNT);

	if (!df)
		return NULL;
	mutex_init(&df->lock);
	INIT_LIST_HEAD(&df->vcpus);
	xa_init(&df->by_tid);
	return df;
}

void dune_file_free(struct dune_file *df)
{
	struct dune_vcpu_node *node, *tmp;

	list_for_each_entry_safe(node, tmp, &df->vcpus, list)
		vcpu_destroy(df, node);
	xa_destroy(&df->by_tid);
	if (df->vm)
		dune_vm_put(df->vm);
	kfree(df);
}

/*
 * XCR0 belongs to the host: the guest's XSETBV is intercepted, but should
 * a CPU (or emulator) let one through, put the host's value back before
 * any host FPU code runs, as KVM does on every exit.
 */
static void restore_host_xcr0(void)
{
	if (dune_host_xcr0 && xgetbv(XCR_XFEATURE_ENABLED_MASK) != dune_host_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, dune_host_xcr0);
}

/*
 * Enter once.  Returns false, without entering, when host work came up
 * (dune_host_work_pending(), checked with interrupts off); else true with
 * @exit filled.  Interrupts are enabled again on return.
 */
static bool run_once(struct dune_vcpu *vcpu, struct dune_exit *exit)
{
	s64 gen;

	local_irq_disable();
	if (dune_host_work_pending()) {
		local_irq_enable();
		return false;
	}
	/*
	 * Virtualization off on this CPU (a CPU that failed to come back
	 * online, or the reboot/crash path turned it off): no entry.
	 */
	if (unlikely(!dune_hv_cpu_ready())) {
		local_irq_enable();
		exit->reason = DUNE_EXIT_INVALID_STATE;
		pr_warn_ratelimited("pid %d: virtualization is off on CPU %d; stopping the process\n",
				    current->pid, raw_smp_processor_id());
		return true;
	}
	/*
	 * A retired VM's nested tables are freed once its CPUs have been
	 * kicked (vm.c): nothing may enter it.  DUNE_ENTER refuses it, and
	 * only a VM without users retires, so this is a second line.
	 */
	if (unlikely(READ_ONCE(vcpu->vm->retired))) {
		local_irq_enable();
		exit->reason = DUNE_EXIT_INVALID_STATE;
		pr_warn_ratelimited("pid %d: entry into a retired VM refused\n", current->pid);
		return true;
	}
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();
	gen = atomic64_read(&vcpu->vm->tlb_gen);
	dune_ipi_before_entry(vcpu);
	dune_guest_enter_irqoff();
	dune_hv->vcpu_run(vcpu, exit, gen != vcpu->tlb_gen);
	dune_guest_exit_irqoff();
	dune_ipi_after_exit(vcpu);
	/*
	 * Both VM exit and #VMEXIT leave DR7 with every breakpoint off (SDM
	 * 28.5.1, APM 15.6): put back the host's (perf, ptrace) ones, as
	 * KVM's vcpu_enter_guest() does for both vendors.
	 */
	if (hw_breakpoint_active())
		hw_breakpoint_restore();
	restore_host_xcr0();
	vcpu->tlb_gen = gen;
	vcpu->entries++;
	local_irq_enable();
	if (exit->reason < DUNE_EXIT_NR)
		vcpu->exits[exit->reason]++;
	return true;
}

/*
 * Host work that needs user mode: a signal to deliver, or task work that
 * only the return to user mode runs (guest_entry.h).  libdune re-enters.
 */
static bool host_needs_user_mode(struct dune_vcpu *vcpu, struct dune_config *conf)
{
	if (signal_pending(current)) {
		conf->ret = DUNE_RET_SIGNAL;
		conf->status = DUNE_SIGNAL_PENDING;
		return true;
	}
	if (dune_task_work_pending()) {
		conf->ret = DUNE_RET_SIGNAL;
		conf->status = DUNE_SIGNAL_HOST_WORK;
		vcpu->host_work++;
		return true;
	}
	return false;
}

static int vcpu_loop(struct dune_vcpu *vcpu, struct dune_config *conf)
{
	struct dune_exit exit;
	int r = 0;

	vcpu_begin(vcpu);
	for (;;) {
		cond_resched();
		memset(&exit, 0, sizeof(exit));
		/*
		 * Host work is checked once per entry, with interrupts off in
		 * run_once(); only then is it sorted out here.
		 */
		if (!run_once(vcpu, &exit)) {
			if (host_needs_user_mode(vcpu, conf))
				break;
			continue;
		}
		r = dune_handle_exit(vcpu, &exit, conf);
		if (r <= 0)
			break;
	}
	vcpu_end(vcpu);
	vcpu->returns++;
	conf->regs = vcpu->regs;
	conf->fs_base = vcpu->fs_base;
	conf->gs_base = vcpu->gs_base;
	return r < 0 ? r : 0;
}

/*
 * The process dies once this ioctl returns: SIGKILL is pending, or the
 * guest handed libdune an exit that nothing can stop (syscall.c), and no
 * other task uses the mm.  Its VM gives up its MMU notifier now rather
 * than make the exit wait (dune_vm_retire).  A caller that does not exit
 * after all gets ESHUTDOWN from its next DUNE_ENTER.
 */
static bool process_ending(long r, const struct dune_config *conf)
{
	if (atomic_read(&current->mm->mm_users) != 1)
		return false;
	if (fatal_signal_pending(current))
		return true;
	return !r && conf->ret == DUNE_RET_SYSCALL && dune_syscall_ends_process(conf->status);
}

/* May the calling thread enter @vm?  0, or why not (logged). */
static long vm_enterable(struct dune_vm *vm)
{
	if (vm->mm != current->mm) {
		pr_warn("pid %d: /dev/dune was opened by another process (fork?): open it again\n",
			current->pid);
		return -EBADFD;
	}
	if (READ_ONCE(vm->retired)) {
		pr_warn_ratelimited("pid %d: DUNE_ENTER after the guest's exit was reported\n",
				    current->pid);
		return -ESHUTDOWN;
	}
	return 0;
}

/* A vCPU resumes with the caller's registers (only its thread runs it). */
static void vcpu_set_state(struct dune_vcpu *vcpu, const struct dune_config *conf)
{
	vcpu->regs = conf->regs;
	vcpu->fs_base = conf->fs_base;
	vcpu->gs_base = conf->gs_base;
}

/*
 * A thread's first entry, under df->lock: the process's VM is made if
 * need be, the vCPUs of threads that have exited are freed, and the
 * calling thread's vCPU is made with @conf's state.
 */
static struct dune_vcpu *vcpu_get(struct dune_file *df, struct dune_config *conf)
{
	struct dune_vcpu *vcpu;
	long r;

	mutex_lock(&df->lock);
	if (!df->vm) {
		struct dune_vm *vm = dune_vm_create();

		if (IS_ERR(vm)) {
			mutex_unlock(&df->lock);
			return ERR_CAST(vm);
		}
		df->vm = vm;
	}
	r = vm_enterable(df->vm);
	if (r) {
		mutex_unlock(&df->lock);
		return ERR_PTR(r);
	}
	vcpus_reap(df);
	vcpu = vcpu_find(df);
	if (!vcpu)
		vcpu = vcpu_create(df, conf);
	else
		vcpu_set_state(vcpu, conf);
	mutex_unlock(&df->lock);
	return vcpu;
}

/**
 * dune_enter - DUNE_ENTER for the calling thread.
 * @df:		the /dev/dune file.
 * @conf:	the guest's registers in, why it stopped out.
 *
 * The first call of a thread creates its vCPU with @conf's registers, CR3
 * and segment bases; later calls (after a return to host mode) resume it
 * with @conf's registers.  Returns 0 with conf->ret saying why the guest
 * stopped, or a negative errno.
 */
long dune_enter(struct dune_file *df, struct dune_config *conf)
{
	struct dune_vcpu *vcpu;
	long r;

	if (!dune_hv->vcpu_alloc)
		return -EOPNOTSUPP;
	vcpu = vcpu_mine(df);
	if (vcpu) {
		r = vm_enterable(vcpu->vm);
		if (r)
			return r;
		vcpu_set_state(vcpu, conf);
	} else {
		vcpu = vcpu_get(df, conf);
		if (IS_ERR(vcpu))
			return PTR_ERR(vcpu);
	}
	conf->ret = DUNE_RET_NONE;
	r = vcpu_loop(vcpu, conf);
	if (process_ending(r, conf))
		dune_vm_retire(vcpu->vm);
	return r;
}

/**
 * dune_get_stats - DUNE_GET_STATS: the calling thread's vCPU counters
 * (all zero before it entered Dune mode).
 * @df:		the /dev/dune file.
 * @st:		filled with the counters.
 */
long dune_get_stats(struct dune_file *df, struct dune_stats *st)
{
	struct dune_vcpu *vcpu;

	memset(st, 0, sizeof(*st));
	mutex_lock(&df->lock);
	vcpus_reap(df);
	vcpu = vcpu_find(df);
	if (vcpu)
		vcpu_stats_add(st, vcpu);
	if (df->vm)
		st->nested_pages = atomic64_read(&df->vm->nr_pages);
	mutex_unlock(&df->lock);
	return 0;
}

/**
 * dune_get_process_stats - DUNE_GET_PROCESS_STATS: the counters of every
 * vCPU of @df's process, live or ended (a tool's totals at exit_group,
 * when other threads may still run).
 * @df:		the /dev/dune file.
 * @ps:		filled with the sums.
 */
long dune_get_process_stats(struct dune_file *df, struct dune_process_stats *ps)
{
	struct dune_vcpu_node *node;

	memset(ps, 0, sizeof(*ps));
	mutex_lock(&df->lock);
	vcpus_reap(df);
	ps->sum = df->ended;
	ps->vcpus = df->ended_vcpus;
	list_for_each_entry(node, &df->vcpus, list) {
		vcpu_stats_add(&ps->sum, node->vcpu);
		ps->vcpus++;
		ps->live++;
	}
	ps->sum.nested_pages = df->vm ? atomic64_read(&df->vm->nr_pages) : 0;
	mutex_unlock(&df->lock);
	return 0;
}
