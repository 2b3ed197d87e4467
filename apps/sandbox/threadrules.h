/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which clones and futex operations dune-sandbox offers (syscalls.c,
 * thread.c), as plain functions without libdune, for unit tests
 * (tests/unit/test_threadrules.c).
 */
#ifndef DUNE_SANDBOX_THREADRULES_H
#define DUNE_SANDBOX_THREADRULES_H

#include <stdbool.h>
#include <stdint.h>

enum sb_clone_kind {
	SB_CLONE_FORK,		/* fork's flags: the monitor forks */
	SB_CLONE_THREAD,	/* a thread: a monitor thread on its own vCPU */
	SB_CLONE_REFUSED,	/* anything else sharing or unsharing state */
};

/* clone(@flags, @newsp, ...): a fork (exit signal SIGCHLD, only the tid
 * flags, no new stack), a thread (CLONE_VM, CLONE_FS, CLONE_FILES,
 * CLONE_SIGHAND and CLONE_THREAD, with at most CLONE_SYSVSEM,
 * CLONE_SETTLS, the tid flags and CLONE_DETACHED besides, no exit signal,
 * a new stack), or refused. */
enum sb_clone_kind sb_clone_kind(uint64_t flags, uint64_t newsp);

/* futex(uaddr, @op, val, timeout-or-val2, uaddr2, val3): 0 if the
 * operation is offered, with *@timeout when argument 3 is a timeout
 * pointer and *@two when uaddr2 is a second futex word; else -ENOSYS. */
int sb_futex_op(int op, bool *timeout, bool *two);

#endif /* DUNE_SANDBOX_THREADRULES_H */
