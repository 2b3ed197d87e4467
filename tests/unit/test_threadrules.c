// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for dune-sandbox's thread rules (apps/sandbox/threadrules.c):
 * which clones are forks, threads or refused, and how each futex
 * operation's arguments are checked.
 */
#include <check.h>
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>

#include "../../apps/sandbox/threadrules.h"

/* glibc 2.36's pthread_create (sysdeps/nptl/pthread_create.c) */
#define GLIBC_THREAD	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SYSVSEM | CLONE_SIGHAND | \
			 CLONE_THREAD | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID)
/* glibc's fork (arch_fork) */
#define GLIBC_FORK	(CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD)

START_TEST(clone_kinds)
{
	static const struct { uint64_t flags, sp; enum sb_clone_kind want; } t[] = {
		{ GLIBC_FORK, 0, SB_CLONE_FORK },
		{ SIGCHLD, 0, SB_CLONE_FORK },
		{ SIGCHLD | CLONE_PARENT_SETTID, 0, SB_CLONE_FORK },
		{ SIGCHLD, 0x1000, SB_CLONE_REFUSED },		/* a fork on a new stack */
		{ SIGUSR1, 0, SB_CLONE_REFUSED },		/* another exit signal */
		{ SIGCHLD | CLONE_NEWNS, 0, SB_CLONE_REFUSED },
		{ SIGCHLD | CLONE_FILES, 0, SB_CLONE_REFUSED },	/* shares the fd table */
		{ GLIBC_THREAD, 0x1000, SB_CLONE_THREAD },
		{ GLIBC_THREAD & ~(CLONE_SYSVSEM | CLONE_SETTLS), 0x1000, SB_CLONE_THREAD },
		{ GLIBC_THREAD | CLONE_CHILD_SETTID | CLONE_DETACHED, 0x1000, SB_CLONE_THREAD },
		{ GLIBC_THREAD, 0, SB_CLONE_REFUSED },		/* no stack of its own */
		{ GLIBC_THREAD | SIGCHLD, 0x1000, SB_CLONE_REFUSED },
		{ GLIBC_THREAD & ~CLONE_THREAD, 0x1000, SB_CLONE_REFUSED },
		{ GLIBC_THREAD & ~CLONE_FILES, 0x1000, SB_CLONE_REFUSED },
		{ GLIBC_THREAD | CLONE_VFORK, 0x1000, SB_CLONE_REFUSED },
		{ GLIBC_THREAD | CLONE_PTRACE, 0x1000, SB_CLONE_REFUSED },
		{ GLIBC_THREAD | CLONE_NEWUSER, 0x1000, SB_CLONE_REFUSED },
		{ CLONE_VM | CLONE_VFORK | SIGCHLD, 0x1000, SB_CLONE_REFUSED },	/* posix_spawn */
		{ CLONE_VM | SIGCHLD, 0x1000, SB_CLONE_REFUSED },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(sb_clone_kind(t[i].flags, t[i].sp) == t[i].want, "case %zu", i);
}
END_TEST

START_TEST(futex_ops)
{
	static const struct { int op, ret; bool timeout, two; } t[] = {
		{ FUTEX_WAIT, 0, true, false },
		{ FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, true, false },
		{ FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME, 0, true, false },
		{ FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 0, false, false },
		{ FUTEX_WAKE_BITSET, 0, false, false },
		{ FUTEX_REQUEUE, 0, false, true },	/* arg 3 is a count, not a pointer */
		{ FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG, 0, false, true },
		{ FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG, 0, false, true },
		{ FUTEX_LOCK_PI, 0, true, false },
		{ FUTEX_LOCK_PI2, 0, true, false },
		{ FUTEX_UNLOCK_PI, 0, false, false },
		{ FUTEX_TRYLOCK_PI, 0, false, false },
		{ FUTEX_WAIT_REQUEUE_PI, 0, true, true },
		{ FUTEX_CMP_REQUEUE_PI, 0, false, true },
		{ FUTEX_FD, -ENOSYS, false, false },	/* removed from Linux */
		{ 14, -ENOSYS, false, false },
		{ 127, -ENOSYS, false, false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool timeout = true, two = true;

		ck_assert_msg(sb_futex_op(t[i].op, &timeout, &two) == t[i].ret, "case %zu", i);
		if (t[i].ret)
			continue;
		ck_assert_msg(timeout == t[i].timeout && two == t[i].two, "case %zu", i);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("threadrules");
	TCase *tc = tcase_create("threadrules");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, clone_kinds);
	tcase_add_test(tc, futex_ops);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
