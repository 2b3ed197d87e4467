// SPDX-License-Identifier: GPL-2.0
/*
 * A Dune-mode process cannot hide from a tracer: with PTRACE_SYSCALL the
 * parent sees every system call the child makes in Dune mode, with its
 * number and arguments, and can change the result.
 */
#include <stdint.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>

#include "dunetest.h"

#define MAGIC_ARG 0x1badd00dL

int main(void)
{
	int st, stops = 0, seen = 0, faked = 0;
	char buf[64];
	pid_t pid;

	require_dune_mode_in_child();
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		long r;

		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		if (dune_init_and_enter())
			_exit(CHILD_NO_DUNE);
		/* getppid ignores its argument; the tracer looks for it. */
		r = syscall(SYS_getppid, MAGIC_ARG);
		_exit(r == 4242 ? 0 : 1);
	}
	waitpid(pid, &st, 0);	/* the SIGSTOP */
	ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)PTRACE_O_TRACESYSGOOD);
	for (;;) {
		struct user_regs_struct regs;

		ptrace(PTRACE_SYSCALL, pid, NULL, NULL);
		if (waitpid(pid, &st, 0) != pid || WIFEXITED(st) || WIFSIGNALED(st))
			break;
		if (!WIFSTOPPED(st) || WSTOPSIG(st) != (SIGTRAP | 0x80))
			continue;
		stops++;
		ptrace(PTRACE_GETREGS, pid, NULL, &regs);
		if (regs.orig_rax == SYS_getppid && (long)regs.rdi == MAGIC_ARG) {
			/* Entry stop, then exit stop: fake the result there. */
			seen++;
			if (regs.rax != (unsigned long long)-ENOSYS) {
				regs.rax = 4242;
				ptrace(PTRACE_SETREGS, pid, NULL, &regs);
				faked++;
			}
		}
	}
	CHECK(stops > 10, "the tracer saw %d system-call stops", stops);
	CHECK(seen == 2, "including the Dune-mode getppid(MAGIC) entry and exit (%d)", seen);
	CHECK(faked == 1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "and the result it set reached the guest: %s",
	      describe_status(st, buf, sizeof(buf)));
	return hwtest_done();
}
