// SPDX-License-Identifier: GPL-2.0
/*
 * The program's threads.  A clone with thread flags (CLONE_VM, CLONE_THREAD
 * and the sharing that comes with them) becomes a thread of the monitor:
 * libdune runs the monitor's own clone on the host, the new thread starts
 * in host mode, enters Dune mode on its own vCPU (libdune: one vCPU per
 * host thread, all on the process's guest page tables) and jumps to ring 3
 * with the child's registers: RAX 0, the new stack, the TLS as ring 3's FS
 * base.  The monitor's handlers then run on each thread's vCPU for that
 * thread's system calls and faults, with the same policy and region table.
 *
 * CLONE_PARENT_SETTID and CLONE_CHILD_SETTID are written before the child
 * runs ring-3 code and before the parent's clone returns, as Linux does;
 * CLONE_CHILD_CLEARTID (and set_tid_address) is honoured when the thread
 * ends: 0 is stored and one futex waiter woken, which is what pthread_join
 * waits for.  SYS_exit ends the thread and its vCPU, exit_group the whole
 * process.  The program's threads are the monitor's threads, so their tids
 * are the host's: gettid, tgkill and PI futexes need no translation.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"
#include "threadrules.h"

#define MAX_THREADS	256
#define MONITOR_STACK	(512UL << 10)	/* with ~70 KiB of per-thread copies (TLS) */

__thread uintptr_t clear_child_tid;	/* CLONE_CHILD_CLEARTID / set_tid_address */

static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t tids[MAX_THREADS];		/* the program's live threads */
static int n_threads = 1;		/* the main thread is not in tids[] */
static int leader_code = -1;		/* the main thread's SYS_exit code */

struct thread_start {
	struct dune_tf tf;
	unsigned long flags;
	uintptr_t ptid, ctid, tls;
	uint64_t mask;
	int done;	/* futex word: 1 started, -errno failed */
	long tid;
};

static void put_tid(uintptr_t p, int tid)
{
	if (p && mem_ok(p, sizeof(int), PROT_WRITE))
		__atomic_store_n((int *)p, tid, __ATOMIC_RELEASE);
}

static void list_add(pid_t tid)
{
	pthread_mutex_lock(&list_lock);
	for (int i = 0; i < MAX_THREADS; i++) {
		if (!tids[i]) {
			tids[i] = tid;
			break;
		}
	}
	pthread_mutex_unlock(&list_lock);
}

/* Drop @tid; returns how many threads are left (this one not counted). */
static int list_del(pid_t tid)
{
	int left;

	pthread_mutex_lock(&list_lock);
	for (int i = 0; i < MAX_THREADS; i++)
		if (tids[i] == tid)
			tids[i] = 0;
	left = --n_threads;
	pthread_mutex_unlock(&list_lock);
	return left;
}

bool thread_is_ours(long tid)
{
	bool r = tid == getpid();

	pthread_mutex_lock(&list_lock);
	for (int i = 0; i < MAX_THREADS && !r; i++)
		r = tids[i] == tid;
	pthread_mutex_unlock(&list_lock);
	return r;
}

int threads_live(void)
{
	return __atomic_load_n(&n_threads, __ATOMIC_ACQUIRE);
}

/* A fork child has only the thread that forked (its tid is the pid now). */
void threads_after_fork(void)
{
	pthread_mutex_init(&list_lock, NULL);
	memset(tids, 0, sizeof(tids));
	n_threads = 1;
}

static void wake(int *word, int val)
{
	__atomic_store_n(word, val, __ATOMIC_RELEASE);
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* The thread's end, as Linux's mm_release: *clear_child_tid = 0, wake. */
static void clear_tid(void)
{
	uintptr_t p = clear_child_tid;

	if (p && mem_ok(p, sizeof(int), PROT_WRITE)) {
		__atomic_store_n((int *)p, 0, __ATOMIC_RELEASE);
		syscall(SYS_futex, p, FUTEX_WAKE, 1, NULL, NULL, 0);
	}
}

static void *thread_main(void *arg)
{
	struct thread_start *s = arg;
	struct dune_tf tf = s->tf;
	pid_t tid = syscall(SYS_gettid);
	int r = dune_enter();

	if (r) {
		sb_log("clone: the new thread cannot enter Dune mode: %s\n", strerror(-r));
		wake(&s->done, r);
		return NULL;
	}
	if (s->flags & CLONE_SETTLS)
		dune_set_user_fs(s->tls);
	sig_mask = s->mask;
	if (s->flags & CLONE_CHILD_CLEARTID)
		clear_child_tid = s->ctid;
	if (s->flags & CLONE_CHILD_SETTID)
		put_tid(s->ctid, tid);
	if (s->flags & CLONE_PARENT_SETTID)
		put_tid(s->ptid, tid);
	list_add(tid);
	s->tid = tid;
	wake(&s->done, 1);	/* @s is the parent's: not touched after this */

	r = sb_run_from(&tf);
	if ((r & ~0xff) != RUN_THREAD_EXIT(0))
		sb_finish(r);	/* exit_group, a fatal signal: the whole process */
	clear_tid();
	if (list_del(tid) == 0)	/* the last one: the process ends */
		sb_finish(RUN_EXIT(leader_code >= 0 ? leader_code : r & 0xff));
	stats_add_self();
	/* Back in the monitor's pthread code: it ends the host thread, whose
	 * vCPU libdune frees. */
	return NULL;
}

/* clone(flags, newsp, ptid, ctid, tls) with thread flags. */
long sc_clone_thread(struct dune_tf *tf, uint64_t a[6])
{
	static pthread_attr_t attr;
	static bool attr_ready;
	struct thread_start s;
	pthread_t t;
	int r;

	if (sb_clone_kind(a[0], a[1]) != SB_CLONE_THREAD)
		return sb_deny(a, -EINVAL, "shared-memory clones other than threads are not offered");
	if (!mem_ok(a[1] - 16, 16, PROT_READ | PROT_WRITE))
		return sb_deny(a, -EFAULT, "the new thread's stack is not the program's memory");
	if ((a[0] & CLONE_PARENT_SETTID && !mem_ok(a[2], 4, PROT_WRITE)) ||
	    (a[0] & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID) && !mem_ok(a[3], 4, PROT_WRITE)))
		return sb_deny(a, -EFAULT, "tid pointer not in the program's memory");
	if (threads_live() >= MAX_THREADS)
		return -EAGAIN;
	memset(&s, 0, sizeof(s));
	s.tf = *tf;
	s.tf.rax = 0;
	s.tf.rsp = a[1];
	s.flags = a[0];
	s.ptid = a[2];
	s.ctid = a[3];
	s.tls = a[4];
	s.mask = sig_mask;
	if (!__atomic_exchange_n(&attr_ready, true, __ATOMIC_ACQ_REL)) {
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, MONITOR_STACK);
	}
	__atomic_fetch_add(&n_threads, 1, __ATOMIC_ACQ_REL);
	r = pthread_create(&t, &attr, thread_main, &s);
	if (r) {
		__atomic_fetch_sub(&n_threads, 1, __ATOMIC_ACQ_REL);
		return -r;
	}
	while (!__atomic_load_n(&s.done, __ATOMIC_ACQUIRE))
		syscall(SYS_futex, &s.done, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	if (s.done < 0) {
		__atomic_fetch_sub(&n_threads, 1, __ATOMIC_ACQ_REL);
		return s.done;
	}
	return s.tid;
}

/*
 * SYS_exit of the main thread (the program's first): with other threads
 * left, only the monitor's main thread ends (the process goes on, and its
 * status is this code, as Linux reports the group leader's); as the last
 * thread, the process ends.  Returns only in the latter case.
 */
void thread_exit_main(int code)
{
	clear_tid();
	leader_code = code & 0xff;
	if (list_del(syscall(SYS_gettid)) > 0) {
		stats_add_self();
		syscall(SYS_exit, code);
	}
}

/* set_tid_address(p): the thread's clear_child_tid; returns the tid. */
long sc_set_tid_address(struct dune_tf *tf, uint64_t a[6])
{
	(void)tf;
	clear_child_tid = a[0];
	return syscall(SYS_gettid);
}

/*
 * futex: the words (and the second word of requeue and wake-op) must be
 * the program's writable memory, the timeout of a wait readable.  The
 * pointers are registers, so no sibling thread can change them after the
 * check; the kernel works on the program's own pages (shared by all its
 * threads, which are the monitor's, so private futexes work as in Linux).
 */
long sc_futex(struct dune_tf *tf, uint64_t a[6])
{
	bool timeout, two;

	if (sb_futex_op((int)a[1], &timeout, &two))
		return sb_deny(a, -ENOSYS, "futex operation not modelled");
	if (a[0] & 3 || !mem_ok(a[0], 4, PROT_READ | PROT_WRITE) ||
	    (two && (a[4] & 3 || !mem_ok(a[4], 4, PROT_READ | PROT_WRITE))))
		return sb_deny(a, -EFAULT, "futex word not in the program's memory");
	if (timeout && a[3] && !mem_ok(a[3], 16, PROT_READ))
		return sb_deny(a, -EFAULT, "timeout not in the program's memory");
	return sb_host(tf);
}
