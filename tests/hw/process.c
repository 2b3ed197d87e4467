// SPDX-License-Identifier: GPL-2.0
/*
 * A Dune-mode process stays a Linux process: exit codes, seccomp filters,
 * SIGKILL, coherent memory after munmap/mprotect/MADV_DONTNEED, one VM exit
 * per passed-through system call, migration between CPUs, TLS via FS, and
 * fork, threads and exec from Dune mode.
 */
#include <errno.h>
#include <pthread.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>

#include "dunetest.h"

static void exit_42(void *a) { exit(42); }

/* A filter that makes getppid fail with EPERM and allows everything else. */
static int install_seccomp(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static void seccomp_child(void *a)
{
	long r = syscall(SYS_getppid);

	exit(r == -1 && errno == EPERM ? 0 : 1);
}

static void spin(void *a)
{
	for (;;)
		asm volatile("" ::: "memory");
}

static void write_after_munmap(void *a)
{
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	p[0] = 1;
	munmap(p, 4096);
	p[0] = 2;
	exit(3);
}

static void write_after_mprotect(void *a)
{
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	p[0] = 1;
	mprotect(p, 4096, PROT_READ);
	if (p[0] != 1)
		exit(4);
	p[0] = 2;
	exit(3);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void check_children(void)
{
	char buf[64];
	double t0;
	int st;
	pid_t pid;

	st = run_in_dune_child(exit_42, NULL);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42, "exit(42) in Dune mode: %s",
	      describe_status(st, buf, sizeof(buf)));

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (install_seccomp())
			_exit(5);
		if (dune_init_and_enter())
			_exit(CHILD_NO_DUNE);
		seccomp_child(NULL);
	}
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "a seccomp filter still denies getppid in Dune mode: %s",
	      describe_status(st, buf, sizeof(buf)));

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (dune_init_and_enter())
			_exit(CHILD_NO_DUNE);
		spin(NULL);
	}
	usleep(300 * 1000);
	t0 = now();
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && now() - t0 < 2.0,
	      "SIGKILL ends a spinning Dune process in %.3f s: %s", now() - t0,
	      describe_status(st, buf, sizeof(buf)));

	st = run_in_dune_child(write_after_munmap, NULL);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	      "a write after munmap never reaches the old page: %s",
	      describe_status(st, buf, sizeof(buf)));
	st = run_in_dune_child(write_after_mprotect, NULL);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	      "a write after mprotect(PROT_READ) is refused: %s",
	      describe_status(st, buf, sizeof(buf)));
}

static void check_memory(void)
{
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *q;

	memset(p, 0x5a, 8192);
	CHECK(madvise(p, 8192, MADV_DONTNEED) == 0 && p[0] == 0 && p[4096] == 0,
	      "MADV_DONTNEED: the guest sees fresh zero pages");
	p[0] = 7;
	q = dunetest_fresh_range(8192);
	CHECK(q != MAP_FAILED && mremap(p, 8192, 8192, MREMAP_MAYMOVE | MREMAP_FIXED, q) == q &&
	      q[0] == 7, "mremap: data follows to the new address");
}

static void check_exits(void)
{
	struct dune_stats a, b;
	int i, n = 1000;

	dune_get_stats(&a);
	for (i = 0; i < n; i++)
		syscall(SYS_getppid);
	dune_get_stats(&b);
	/* n getppid + the second GET_STATS itself. */
	CHECK(b.exits[DUNE_EXIT_HYPERCALL] - a.exits[DUNE_EXIT_HYPERCALL] == (uint64_t)n + 1,
	      "one hypercall exit per system call (%llu for %d)",
	      (unsigned long long)(b.exits[DUNE_EXIT_HYPERCALL] - a.exits[DUNE_EXIT_HYPERCALL]), n);
	CHECK(b.syscalls_kernel - a.syscalls_kernel >= (uint64_t)n,
	      "untraced, unfiltered calls run in the kernel (%llu of %d)",
	      (unsigned long long)(b.syscalls_kernel - a.syscalls_kernel), n);
	CHECK(b.nested_pages > 0, "%llu nested pages mapped",
	      (unsigned long long)b.nested_pages);
}

static void check_migration(void)
{
	int two[2], ncpu = hwtest_two_cpus(two);
	int i, moved = 0;
	cpu_set_t set;

	if (ncpu < 2) {
		CHECK(1, "migration: # SKIP one CPU");
		return;
	}
	for (i = 0; i < 40; i++) {
		unsigned int cpu = 0;

		CPU_ZERO(&set);
		CPU_SET(two[i % 2], &set);
		sched_setaffinity(0, sizeof(set), &set);
		syscall(SYS_getcpu, &cpu, NULL, NULL);
		moved += cpu == (unsigned int)two[i % 2];
	}
	CHECK(moved == 40, "40 moves between CPUs %d and %d in Dune mode (%d landed)",
	      two[0], two[1], moved);
}

static int in_guest(void)
{
	uint16_t cs;

	asm volatile("mov %%cs, %0" : "=r"(cs));
	return (cs & 3) == 0;
}

static volatile int shared_value = 1;

/* fork from Dune mode: the child continues in host mode with its own copy
 * of memory and may enter Dune mode again; the parent stays in Dune mode. */
static void check_fork(void)
{
	int st = -1, pipefd[2];
	char buf[64];
	pid_t pid;

	shared_value = 1;
	pipe(pipefd);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int ok = !in_guest() && shared_value == 1;

		shared_value = 2;
		read(pipefd[0], buf, 1);	/* parent has written shared_value = 3 */
		ok = ok && shared_value == 2;
		ok = ok && dune_init_and_enter() == 0 && in_guest() &&
		     syscall(SYS_getpid) == getpid();
		_exit(ok ? 17 : 1);
	}
	CHECK(pid > 0 && in_guest(), "fork from Dune mode: parent gets pid %d, stays in the guest",
	      pid);
	shared_value = 3;
	write(pipefd[1], "x", 1);
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 17,
	      "child: host mode, own copy of memory, re-enters Dune mode: %s",
	      describe_status(st, buf, sizeof(buf)));
	CHECK(shared_value == 3, "parent keeps its own copy after fork");
	close(pipefd[0]);
	close(pipefd[1]);
}

static void *thread_fn(void *arg)
{
	long host = !in_guest();
	int r = dune_enter();

	return (void *)(host && r == 0 && in_guest() ? 1L : 0L);
}

static void check_threads(void)
{
	struct dune_info info;
	pthread_t t;
	void *ret = NULL;

	CHECK(pthread_create(&t, NULL, thread_fn, NULL) == 0 && pthread_join(t, &ret) == 0 &&
	      ret == (void *)1L,
	      "pthread_create from Dune mode: the thread starts in host mode and enters itself");
	{
		struct dune_stats st;

		dune_get_stats(&st);	/* frees the vCPUs of exited threads */
	}
	CHECK(dune_get_info(&info) == 0 && info.live_vcpus == 1,
	      "the exited thread's vCPU is freed (%u live)", info.live_vcpus);
	CHECK(WEXITSTATUS(system("exit 7")) == 7, "system() (clone + execve) works from Dune mode");
}

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void sigterm_self(void *a)
{
	kill(getpid(), SIGTERM);
	for (;;)
		;
}

static int restart_pipe[2];

static void on_alarm_write(int sig)
{
	got_signal = sig;
	write(restart_pipe[1], "y", 1);
}

/* A blocking call interrupted by a signal: EINTR without SA_RESTART, and
 * transparently restarted with it (the handler wrote what it then reads). */
static void check_restart(void)
{
	struct sigaction sa = { .sa_handler = on_alarm_write };
	char c = 0;
	ssize_t r;

	pipe(restart_pipe);
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	errno = 0;
	r = read(restart_pipe[0], &c, 1);
	CHECK(r == -1 && errno == EINTR, "read() interrupted without SA_RESTART: EINTR (%zd, %s)",
	      r, strerror(errno));
	read(restart_pipe[0], &c, 1);	/* drain the handler's byte */

	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	c = 0;
	r = read(restart_pipe[0], &c, 1);
	CHECK(r == 1 && c == 'y', "with SA_RESTART the read() restarts and gets the byte (%zd)", r);
	close(restart_pipe[0]);
	close(restart_pipe[1]);
}

/* Signals reach a Dune-mode process: raised, from a timer while the guest
 * spins, blocked by sigprocmask, and default actions kill it. */
static void check_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t set;
	char buf[64];
	double t0;
	int st;

	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	got_signal = 0;
	raise(SIGUSR1);
	CHECK(got_signal == SIGUSR1, "raise(SIGUSR1) runs the handler");

	got_signal = 0;
	alarm(1);
	t0 = now();
	while (!got_signal && now() - t0 < 5)
		;
	CHECK(got_signal == SIGALRM, "alarm() interrupts a spinning guest after %.2f s",
	      now() - t0);

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	got_signal = 0;
	raise(SIGUSR1);
	CHECK(got_signal == 0, "a blocked signal waits");
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	CHECK(got_signal == SIGUSR1, "and arrives when unblocked");

	st = run_in_dune_child(sigterm_self, NULL);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "SIGTERM's default action: %s",
	      describe_status(st, buf, sizeof(buf)));
}

static __thread int tls_value = 1234;

static void check_tls_and_errors(void)
{
	unsigned long fs = 0;

	CHECK(tls_value == 1234, "TLS through FS works in the guest");
	CHECK(syscall(SYS_arch_prctl, 0x1003 /* ARCH_GET_FS */, &fs) == 0 && fs != 0,
	      "arch_prctl(ARCH_GET_FS) = %#lx", fs);
}

int main(void)
{
	require_dune_mode_in_child();
	check_children();
	require_dune_mode();
	check_memory();
	check_exits();
	check_migration();
	check_tls_and_errors();
	check_fork();
	check_threads();
	check_signals();
	check_restart();
	return hwtest_done();
}
