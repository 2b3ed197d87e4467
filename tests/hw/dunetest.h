/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for in-machine tests of Dune mode: run a function in a forked
 * child that enters Dune mode first, and collect its wait status.
 */
#ifndef DUNE_DUNETEST_H
#define DUNE_DUNETEST_H

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dune/dune.h>

#include "hwtest.h"

#define CHILD_NO_DUNE	99	/* the child could not enter Dune mode */

/*
 * Checks inside a Dune child: SUB() counts a failure in sub_failed and
 * prints why; the child exits with sub_failed, which the parent CHECKs.
 */
static int sub_failed __attribute__((unused));

#define SUB(cond, ...)							\
	do {								\
		if (!(cond)) {						\
			sub_failed++;					\
			printf("#   failed %s:%d: ", __FILE__, __LINE__);	\
			printf(__VA_ARGS__);				\
			printf("\n");					\
		}							\
	} while (0)


/* Fork; the child enters Dune mode and runs fn(arg); returns the status. */
static inline int run_in_dune_child(void (*fn)(void *), void *arg)
{
	int status = -1;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (dune_init_and_enter())
			_exit(CHILD_NO_DUNE);
		fn(arg);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static inline const char *describe_status(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "status %#x", st);
	return buf;
}

/* Skip the whole test when this machine's backend cannot enter yet. */
static inline void require_dune_mode(void)
{
	int r = dune_init_and_enter();

	if (r == -EOPNOTSUPP)
		SKIP_ALL("this module's backend cannot enter Dune mode yet");
	if (r) {
		printf("not ok - dune_init_and_enter() = %d\n", r);
		exit(1);
	}
}

static void noop_fn(void *arg)
{
	(void)arg;
}

/* In a child: can this machine enter Dune mode at all? */
static inline void require_dune_mode_in_child(void)
{
	int st = run_in_dune_child(noop_fn, NULL);

	if (WIFEXITED(st) && WEXITSTATUS(st) == CHILD_NO_DUNE) {
		struct dune_info info;

		if (dune_get_info(&info) == 0 && dune_init(true) == 0 && dune_enter() == -EOPNOTSUPP)
			SKIP_ALL("this module's backend cannot enter Dune mode yet");
	}
}

/*
 * @len bytes of address space the kernel chose (PROT_NONE), for an
 * MREMAP_FIXED target.  A fixed offset from a mapping may replace another
 * mapping, or lie above the mmap window's 1 GiB boundary, where memory has
 * no guest-physical address and every guest touch faults (kmod/common/
 * layout.c; README "Using libdune"); with ASLR it did, now and then.
 */
static inline void *dunetest_fresh_range(size_t len)
{
	return mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

#endif /* DUNE_DUNETEST_H */
