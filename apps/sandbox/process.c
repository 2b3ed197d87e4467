// SPDX-License-Identifier: GPL-2.0
/*
 * fork(2) for the program: the monitor forks itself.  The child of a Dune
 * process continues in host mode (libdune runs clone-family calls on the
 * host), so the child monitor enters Dune mode again (dune_enter() starts
 * over with a new /dev/dune descriptor, vCPU and guest page tables), gives
 * the program's regions back their PERM_U mappings and resumes the
 * program's copy of itself at the instruction after its fork.  Host fork
 * gives the child its copy-on-write memory, MAP_SHARED staying shared.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"

__thread struct pending_fork pending_fork;

/*
 * The open descriptors now, as a set, from /proc/self/fd read with getdents64 into a
 * buffer on the stack: opendir's heap buffer cost the sandbox's start
 * about 100000 instructions of nested faults on the intel machine.
 */
static void open_fds(bool set[1024])
{
	char buf[2048];
	int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long n;

	memset(set, 0, 1024 * sizeof(bool));
	if (dfd < 0)
		return;
	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);
			int fd = atoi(e->d_name);

			if (e->d_name[0] != '.' && fd >= 0 && fd < 1024 && fd != dfd)
				set[fd] = true;
			off += e->d_reclen;
		}
	}
	close(dfd);
}

static bool start_fd[1024];

/* Before dune_init: these descriptors are the program's (0-2 and any
 * others the sandbox was started with). */
void note_start_fds(void)
{
	open_fds(start_fd);
}

/* After it: those opened since are the monitor's (/dev/dune). */
void mark_monitor_fds(void)
{
	open_fds(monitor_fd);
	for (int i = 0; i < 1024; i++)
		monitor_fd[i] = monitor_fd[i] && !start_fd[i];
}

static void put_tid(uintptr_t p, int tid)
{
	if (p && mem_ok(p, sizeof(int), PROT_WRITE))
		*(int *)p = tid;
}

/* Returns the child's pid in the parent, 0 in the child (then in Dune
 * mode again), or a negative errno. */
long sandbox_fork(void)
{
	static bool prog_fd[1024], now_fd[1024];
	unsigned long ufs = dune_get_user_fs();
	struct pending_fork f = pending_fork;
	pid_t pid;
	int r;

	open_fds(prog_fd);
	for (int i = 0; i < 1024; i++)
		prog_fd[i] = prog_fd[i] && !monitor_fd[i];
	/* The region table stays whole across the fork: no sibling thread
	 * changes it meanwhile (the child has none of them). */
	mem_lock();
	pid = fork();
	if (pid != 0)
		mem_unlock();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		if (f.flags & CLONE_PARENT_SETTID)
			put_tid(f.parent_tid, pid);
		return pid;
	}
	/* The child, in host mode, with only this thread. */
	mem_after_fork();
	sig_after_fork();
	threads_after_fork();
	stats_after_fork();
	r = dune_enter();
	if (r) {
		sb_log("fork: the child cannot enter Dune mode: %s\n", strerror(-r));
		_exit(125);
	}
	open_fds(now_fd);
	for (int i = 0; i < 1024; i++)
		monitor_fd[i] = now_fd[i] && !prog_fd[i];
	r = mem_remap_all();
	if (r) {
		sb_log("fork: cannot map the program in the child: %s\n", strerror(-r));
		_exit(125);
	}
	dune_set_user_fs(ufs);
	if (f.flags & CLONE_CHILD_SETTID)
		put_tid(f.child_tid, getpid());
	clear_child_tid = f.flags & CLONE_CHILD_CLEARTID ? f.child_tid : 0;
	if (f.flags & CLONE_PARENT_SETTID)
		put_tid(f.parent_tid, getpid());
	return 0;
}
