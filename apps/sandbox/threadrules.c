// SPDX-License-Identifier: GPL-2.0
/* Which clones and futex operations dune-sandbox offers (threadrules.h). */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>

#include "threadrules.h"

#define TID_FLAGS	(CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_PARENT_SETTID)
#define THREAD_NEEDED	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)
#define THREAD_OK	(THREAD_NEEDED | CLONE_SYSVSEM | CLONE_SETTLS | TID_FLAGS | CLONE_DETACHED)

enum sb_clone_kind sb_clone_kind(uint64_t flags, uint64_t newsp)
{
	if (!(flags & CLONE_VM))
		return !(flags & ~(TID_FLAGS | 0xffUL)) && (flags & 0xff) == SIGCHLD && !newsp ?
		       SB_CLONE_FORK : SB_CLONE_REFUSED;
	if ((flags & THREAD_NEEDED) == THREAD_NEEDED && !(flags & ~(uint64_t)THREAD_OK) && newsp)
		return SB_CLONE_THREAD;
	return SB_CLONE_REFUSED;
}

int sb_futex_op(int op, bool *timeout, bool *two)
{
	*timeout = *two = false;
	switch (op & FUTEX_CMD_MASK) {
	case FUTEX_WAIT: case FUTEX_WAIT_BITSET: case FUTEX_LOCK_PI: case FUTEX_LOCK_PI2:
		*timeout = true;
		return 0;
	case FUTEX_WAIT_REQUEUE_PI:
		*timeout = *two = true;
		return 0;
	case FUTEX_WAKE: case FUTEX_WAKE_BITSET: case FUTEX_UNLOCK_PI: case FUTEX_TRYLOCK_PI:
		return 0;
	case FUTEX_REQUEUE: case FUTEX_CMP_REQUEUE: case FUTEX_WAKE_OP: case FUTEX_CMP_REQUEUE_PI:
		*two = true;
		return 0;
	}
	return -ENOSYS;
}
