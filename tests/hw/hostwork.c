// SPDX-License-Identifier: GPL-2.0
/*
 * Host work must not wait for the guest to stop.  A Dune process that
 * drops a file (dup2 over the pipe's write end) and goes on computing in
 * guest mode, without another system call, must still release it: the
 * last reference of a pipe's write end goes with task work (fput) that
 * Linux runs on the way back to user mode, which a vCPU spinning in the guest never takes unless the module
 * returns to user mode for it.  The pipe's reader, a plain process, must
 * see EOF while the writer still spins, and both must be reaped.
 *
 * The same for a writer that keeps the CPU with several threads' worth of
 * work: each check bounds the wait with the test's own clock, outside Dune
 * mode, and never relies on the guest stopping by itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dunetest.h"

#define EOF_TIMEOUT_S	20	/* Bochs is slow; hardware needs microseconds */

struct shared {
	volatile int eof;	/* the reader saw EOF */
	volatile int give_up;	/* the test's clock ran out: stop spinning */
	volatile int spinning;	/* the writer closed the pipe and spins */
	volatile uint64_t host_work;	/* the writer's DUNE_GET_STATS */
};

static struct shared *sh;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Plain process: read to EOF, say so. */
static void reader(int rfd)
{
	char buf[64];
	ssize_t n;

	alarm(EOF_TIMEOUT_S + 30);
	while ((n = read(rfd, buf, sizeof(buf))) > 0)
		;
	if (n == 0)
		sh->eof = 1;
	_exit(n == 0 ? 0 : 2);
}

/* Dune process: write, close, then compute in the guest without a system
 * call until the reader saw EOF (or the test gives up). */
static void writer(int wfd)
{
	struct dune_stats st;
	int nul = open("/dev/null", O_WRONLY);

	if (nul < 0 || dune_init_and_enter())
		_exit(CHILD_NO_DUNE);
	if (write(wfd, "x", 1) != 1)
		_exit(3);
	/* dup2 over the pipe's write end drops it through fput(), task
	 * work on every kernel (close(2) itself releases synchronously
	 * on 6.12). */
	if (dup2(nul, wfd) != wfd)
		_exit(4);
	sh->spinning = 1;
	while (!sh->eof && !sh->give_up)
		__asm__ volatile("pause" ::: "memory");
	if (dune_get_stats(&st) == 0)
		sh->host_work = st.host_work;
	_exit(sh->eof ? 0 : 1);
}

static pid_t spawn(void (*fn)(int), int fd, int other)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(other);
		fn(fd);
	}
	return pid;
}

/* Wait for @pid until @deadline (monotonic seconds); -1 when it is late. */
static int wait_until(pid_t pid, double deadline)
{
	int st;

	while (now() < deadline) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		if (r < 0)
			return -2;
		usleep(10000);
	}
	return -1;
}

int main(void)
{
	int fds[2], rst, wst;
	pid_t rpid, wpid;
	double t0, t_eof;
	char why[64];

	require_dune_mode_in_child();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || pipe(fds))
		return 1;
	rpid = spawn(reader, fds[0], fds[1]);
	wpid = spawn(writer, fds[1], fds[0]);
	close(fds[0]);
	close(fds[1]);
	CHECK(rpid > 0 && wpid > 0, "reader and Dune writer started");

	t0 = now();
	rst = wait_until(rpid, t0 + EOF_TIMEOUT_S);
	t_eof = now() - t0;
	CHECK(rst == 0 && sh->eof, "the reader saw EOF while the Dune writer spun in the guest "
	      "(after %.2f s; writer spinning: %d)", t_eof, sh->spinning);
	sh->give_up = 1;
	wst = wait_until(wpid, now() + EOF_TIMEOUT_S);
	if (wst == -1) {
		kill(wpid, SIGKILL);
		waitpid(wpid, &wst, 0);
	}
	if (rst == -1) {
		kill(rpid, SIGKILL);
		waitpid(rpid, &rst, 0);
	}
	CHECK(wst == 0, "the writer saw the EOF too and exited (%s)",
	      describe_status(wst, why, sizeof(why)));
	/* How the file was released is the kernel's business (a close that
	 * ran in host mode, or a kernel that releases it at once, needs no
	 * task work): only said, not checked. */
	printf("# returns to user mode for host work: %llu\n",
	       (unsigned long long)sh->host_work);
	return hwtest_done();
}
