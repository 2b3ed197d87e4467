// SPDX-License-Identifier: GPL-2.0
/*
 * A Dune process is a full Linux process: signals (dune_signal handlers run
 * in the guest; kill, raise, alarm, SIGCHLD, sigprocmask, EINTR/SA_RESTART,
 * default actions, stop/continue), fork/vfork/clone3 from Dune mode,
 * execve, the ways to exit, and ptrace.
 *
 * Every scenario runs twice, in a child that stays a plain Linux process
 * and in one that enters Dune mode first; their output and wait status
 * must be identical (the plain run is the reference).  Dune-only facts
 * (the handler ran in guest ring 0) are checked on top.
 */
#include <errno.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dunetest.h"

static bool in_dune;		/* this child entered Dune mode */
static char *self_exe = "/proc/self/exe";

static uint16_t read_cs(void)
{
	uint16_t cs;

	__asm__ __volatile__("mov %%cs, %0" : "=r"(cs));
	return cs;
}

/* Handlers record where they ran: guest ring 0 has CS = GD_KT. */
static volatile int hits[65];
static volatile int ran_in_guest = -1;

static void handler(int sig)
{
	hits[sig]++;
	ran_in_guest = read_cs() == GD_KT;
}

/* Dune-only: a handler in a Dune process must have run in the guest. */
static void guest_fact(const char *what)
{
	if (in_dune && ran_in_guest != 1)
		printf("FACT-FAILED %s: handler ran in %s\n", what,
		       ran_in_guest ? "?" : "host mode");
}

/* ------------------------------------------------------------ signals */

static void sc_kill_raise(void)
{
	dune_signal(SIGUSR1, handler);
	dune_signal(SIGUSR2, handler);
	kill(getpid(), SIGUSR1);
	printf("after kill: usr1=%d\n", hits[SIGUSR1]);
	guest_fact("kill");
	raise(SIGUSR2);
	printf("after raise: usr2=%d\n", hits[SIGUSR2]);
	guest_fact("raise");
}

/* An asynchronous signal reaches a guest that only computes. */
static void sc_timer_busy(void)
{
	struct itimerval it = { { 0, 0 }, { 0, 20000 } };
	struct timespec t0, t;

	dune_signal(SIGALRM, handler);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	setitimer(ITIMER_REAL, &it, NULL);
	do	/* no system call in the loop: only the timer can end it */
		clock_gettime(CLOCK_MONOTONIC, &t);
	while (!hits[SIGALRM] && t.tv_sec - t0.tv_sec < 20);
	printf("alarm while computing: %d\n", hits[SIGALRM]);
	guest_fact("setitimer");
}

static void sc_sigchld(void)
{
	pid_t pid;
	int st;

	dune_signal(SIGCHLD, handler);
	pid = fork();
	if (pid == 0)
		_exit(5);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	printf("child status %d, sigchld %d\n", WEXITSTATUS(st), hits[SIGCHLD]);
	guest_fact("SIGCHLD");
}

static void sc_sigprocmask(void)
{
	sigset_t set, old;

	dune_signal(SIGUSR1, handler);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	kill(getpid(), SIGUSR1);
	printf("blocked: %d\n", hits[SIGUSR1]);
	sigpending(&set);
	printf("pending: %d\n", sigismember(&set, SIGUSR1));
	sigprocmask(SIG_SETMASK, &old, NULL);
	printf("unblocked: %d\n", hits[SIGUSR1]);
	guest_fact("sigprocmask");
}

static int wake_fd = -1;

static void plain_alarm(int sig)
{
	hits[sig]++;
	if (wake_fd >= 0 && write(wake_fd, "w", 1) != 1)
		_exit(99);
}

/* A signal interrupting a blocking passthrough call: EINTR without
 * SA_RESTART, restarted with it (the handler then feeds the pipe). */
static void sc_eintr_restart(void)
{
	struct sigaction sa = { .sa_handler = plain_alarm };
	struct itimerval it = { { 0, 0 }, { 0, 30000 } };
	int p[2];
	char c;
	ssize_t n;

	if (pipe(p))
		return;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	n = read(p[0], &c, 1);
	printf("no SA_RESTART: read %zd errno %s\n", n, n < 0 ? strerrorname_np(errno) : "-");
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	wake_fd = p[1];
	setitimer(ITIMER_REAL, &it, NULL);
	n = read(p[0], &c, 1);
	printf("SA_RESTART: read %zd '%c', alarms %d\n", n, n == 1 ? c : '?', hits[SIGALRM]);
}

static void guest_alarm_writer(int sig)
{
	hits[sig]++;
	ran_in_guest = read_cs() == GD_KT;
	if (write(wake_fd, "g", 1) != 1)
		_exit(99);
}

/* A dune_signal handler (SA_RESTART semantics) interrupting a blocking
 * read: the handler runs in the guest, then the read is re-run and gets
 * what the handler wrote.  nanosleep is never restarted: EINTR. */
static void sc_guest_restart(void)
{
	struct itimerval it = { { 0, 0 }, { 0, 30000 } };
	struct timespec ts = { 5, 0 };
	int p[2], r;
	char c;
	ssize_t n;

	if (pipe(p))
		return;
	wake_fd = p[1];
	dune_signal(SIGALRM, guest_alarm_writer);
	setitimer(ITIMER_REAL, &it, NULL);
	n = read(p[0], &c, 1);
	printf("read restarted after the handler: %zd '%c' alarms %d\n", n, n == 1 ? c : '?',
	       hits[SIGALRM]);
	guest_fact("SA_RESTART read");
	if (read(p[0], &c, 0) < 0)
		return;
	setitimer(ITIMER_REAL, &it, NULL);
	r = nanosleep(&ts, NULL);
	printf("nanosleep: %d %s, alarms %d\n", r, r ? strerrorname_np(errno) : "-",
	       hits[SIGALRM]);
}

/* SIGSTOP stops a (Dune) child, SIGCONT resumes it, SIGTERM ends it. */
static void sc_stop_cont(void)
{
	int st, p[2];
	char c;
	pid_t pid;

	if (pipe(p))
		return;
	pid = fork();
	if (pid == 0) {
		volatile unsigned long n = 0;

		if (in_dune && dune_init_and_enter())
			_exit(50);
		if (write(p[1], "r", 1) != 1)
			_exit(51);
		for (;;)
			n += syscall(SYS_getppid) > 0;
	}
	if (read(p[0], &c, 1) != 1)
		return;
	kill(pid, SIGSTOP);
	waitpid(pid, &st, WUNTRACED);
	printf("stopped %d by %d\n", WIFSTOPPED(st), WIFSTOPPED(st) ? WSTOPSIG(st) : 0);
	kill(pid, SIGCONT);
	waitpid(pid, &st, WCONTINUED);
	printf("continued %d\n", WIFCONTINUED(st));
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	printf("terminated by %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
}

static void sc_default_term(void)
{
	printf("before SIGTERM\n");
	fflush(stdout);
	kill(getpid(), SIGTERM);
	printf("not reached\n");
}

static void sc_default_segv(void)
{
	printf("before SIGSEGV\n");
	fflush(stdout);
	raise(SIGSEGV);
	printf("not reached\n");
}

static void sc_abort(void)
{
	printf("before abort\n");
	fflush(stdout);
	abort();
}

static void sc_sigkill(void)
{
	printf("before SIGKILL\n");
	fflush(stdout);
	kill(getpid(), SIGKILL);
	for (;;)
		;
}

/* ---------------------------------------------------- fork, exec, exit */

static volatile int cow_value = 1;

static void sc_fork_cow(void)
{
	pid_t pid;
	int st, p[2];
	char buf[64] = "";

	if (pipe(p))
		return;
	pid = fork();
	if (pid == 0) {
		int ok = 1;

		if (in_dune)	/* the original semantics: a child may enter again */
			ok = dune_enter() == 0 && read_cs() == GD_KT;
		cow_value = 3;
		snprintf(buf, sizeof(buf), "child sees %d, reenter %d", cow_value, ok);
		if (write(p[1], buf, strlen(buf)) < 0)
			_exit(98);
		_exit(11);
	}
	cow_value = 2;
	waitpid(pid, &st, 0);
	if (read(p[0], buf, sizeof(buf) - 1) < 0)
		return;
	printf("%s; parent sees %d; child exit %d; pid ok %d\n", buf, cow_value,
	       WEXITSTATUS(st), pid > 0 && pid != getpid());
}

static void sc_vfork(void)
{
	pid_t pid = vfork();
	int st;

	if (pid == 0)
		_exit(7);
	waitpid(pid, &st, 0);
	printf("vfork child exit %d\n", WEXITSTATUS(st));
}

static void sc_clone3(void)
{
	struct clone_args a = { .exit_signal = SIGCHLD };
	long pid = syscall(SYS_clone3, &a, sizeof(a));
	int st;

	if (pid == 0)
		_exit(9);
	waitpid(pid, &st, 0);
	printf("clone3 child exit %d\n", WEXITSTATUS(st));
}

/* The new image starts in host mode and may use dune itself. */
static void sc_execve(void)
{
	char *argv[] = { self_exe, "--exec-child", NULL };

	fflush(stdout);
	execv(self_exe, argv);
	printf("execv failed: %s\n", strerror(errno));
}

static int exec_child(void)
{
	int r = dune_init_and_enter();

	printf("exec'd image: dune_init_and_enter %s\n", r == 0 ? "ok" : "failed");
	return 3;
}

static void sc_exit_code(void)
{
	printf("exiting 42\n");
	exit(42);
}

static void sc_exit_group(void)
{
	syscall(SYS_exit_group, 43);
}

static void *short_thread(void *arg)
{
	if (in_dune && dune_enter())
		return NULL;
	pthread_exit((void *)7);
}

static void *long_thread(void *arg)
{
	volatile unsigned long n = 0;

	if (in_dune && dune_enter())
		return NULL;
	while (n < 2000000)
		n++;
	return (void *)n;
}

static void sc_thread_exit(void)
{
	pthread_t a, b;
	void *ra, *rb;

	pthread_create(&a, NULL, short_thread, NULL);
	pthread_create(&b, NULL, long_thread, NULL);
	pthread_join(a, &ra);
	pthread_join(b, &rb);
	printf("threads returned %ld %ld\n", (long)ra, (long)rb);
}

static void *crashing_thread(void *arg)
{
	if (in_dune && dune_enter())
		return NULL;
	volatile int *bad = (volatile int *)(uintptr_t)arg;

	*bad = 1;
	return NULL;
}

static void sc_thread_fatal(void)
{
	pthread_t t;

	printf("a thread crashes\n");
	fflush(stdout);
	pthread_create(&t, NULL, crashing_thread, (void *)8);
	pthread_join(t, NULL);
	printf("not reached\n");
}

/* ------------------------------------------------------------- ptrace */

/* A tracer (the scenario) watches a traced child make 5 getppid calls;
 * in the Dune run the child enters Dune mode after PTRACE_TRACEME. */
static void sc_ptrace(void)
{
	int st, stops = 0, getpids = 0;
	pid_t pid = fork();

	if (pid == 0) {
		int i;

		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		if (in_dune && dune_init_and_enter())
			_exit(50);
		for (i = 0; i < 5; i++)
			syscall(SYS_getppid);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)PTRACE_O_TRACESYSGOOD);
	for (;;) {
		ptrace(PTRACE_SYSCALL, pid, NULL, NULL);
		if (waitpid(pid, &st, 0) < 0 || WIFEXITED(st) || WIFSIGNALED(st))
			break;
		if (WIFSTOPPED(st) && WSTOPSIG(st) == (SIGTRAP | 0x80)) {
			long nr = ptrace(PTRACE_PEEKUSER, pid,
					 (void *)offsetof(struct user_regs_struct, orig_rax), NULL);

			stops++;
			if (nr == SYS_getppid)
				getpids++;
		}
	}
	printf("tracer saw %d getppid stops (entry+exit), child exit %d, traced %d\n",
	       getpids, WIFEXITED(st) ? WEXITSTATUS(st) : -1, stops > 0);
}

/* /proc/PID/status of a Dune process is a normal one. */
static void sc_proc_status(void)
{
	char path[64], line[256];
	int p[2], state = 0, name = 0;
	pid_t pid;
	FILE *f;

	if (pipe(p))
		return;
	pid = fork();
	if (pid == 0) {
		char c;

		if (in_dune && dune_init_and_enter())
			_exit(50);
		if (read(p[0], &c, 1) < 0)
			_exit(51);
		_exit(0);
	}
	usleep(100000);
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "State:\tS", 8))
			state = 1;
		if (!strncmp(line, "Name:\t", 6))
			name = 1;
	}
	if (f)
		fclose(f);
	if (write(p[1], "x", 1) < 0)
		return;
	waitpid(pid, NULL, 0);
	printf("status: name %d, sleeping in a passthrough read %d\n", name, state);
}

/* ------------------------------------------------------------ harness */

struct scenario {
	const char *name;
	void (*fn)(void);
};

static const struct scenario scenarios[] = {
	{ "kill and raise run dune_signal handlers", sc_kill_raise },
	{ "setitimer signal reaches a computing guest", sc_timer_busy },
	{ "SIGCHLD", sc_sigchld },
	{ "sigprocmask blocks and releases", sc_sigprocmask },
	{ "EINTR without SA_RESTART, restart with it", sc_eintr_restart },
	{ "dune_signal handler: read restarted, nanosleep EINTR", sc_guest_restart },
	{ "SIGSTOP, SIGCONT, SIGTERM on a child", sc_stop_cont },
	{ "SIGTERM default action", sc_default_term },
	{ "SIGSEGV default action", sc_default_segv },
	{ "abort()", sc_abort },
	{ "SIGKILL", sc_sigkill },
	{ "fork: pid, copy-on-write, child re-enters", sc_fork_cow },
	{ "vfork", sc_vfork },
	{ "clone3", sc_clone3 },
	{ "execve", sc_execve },
	{ "exit(42)", sc_exit_code },
	{ "exit_group(43)", sc_exit_group },
	{ "a thread exits while another runs", sc_thread_exit },
	{ "a fatal fault in a thread", sc_thread_fatal },
	{ "ptrace sees the system calls", sc_ptrace },
	{ "/proc/PID/status", sc_proc_status },
};

/* Run @fn in a child (Dune mode or not); its stdout and wait status. */
static int run_one(void (*fn)(void), bool dune, char *out, size_t len, int *status)
{
	int p[2];
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(p))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 1);
		setvbuf(stdout, NULL, _IONBF, 0);
		in_dune = dune;
		if (dune && dune_init_and_enter())
			_exit(CHILD_NO_DUNE);
		fn();
		exit(0);
	}
	close(p[1]);
	while (got < len - 1 && (n = read(p[0], out + got, len - 1 - got)) > 0)
		got += n;
	out[got] = 0;
	close(p[0]);
	return waitpid(pid, status, 0) == pid ? 0 : -1;
}

int main(int argc, char **argv)
{
	char plain[2048], dune[2048], a[64], b[64];
	size_t i;

	if (argc > 1 && !strcmp(argv[1], "--exec-child"))
		return exec_child();
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* The parent stays a plain process: both runs fork from the same. */
	if (dune_init(true) == -EOPNOTSUPP)
		SKIP_ALL("this module's backend cannot enter Dune mode yet");
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		int sp = -1, sd = -1;

		/* LIFECYCLE_ONLY=N runs scenario N alone (when one hangs). */
		if (getenv("LIFECYCLE_ONLY") && (size_t)atoi(getenv("LIFECYCLE_ONLY")) != i + 1)
			continue;
		hwtest_mark("scenario %s", scenarios[i].name);
		run_one(scenarios[i].fn, false, plain, sizeof(plain), &sp);
		run_one(scenarios[i].fn, true, dune, sizeof(dune), &sd);
		CHECK(sp == sd && !strcmp(plain, dune) && !strstr(dune, "FACT-FAILED"),
		      "%s: %s, same as plain Linux", scenarios[i].name,
		      describe_status(sd, b, sizeof(b)));
		if (sp != sd || strcmp(plain, dune) || strstr(dune, "FACT-FAILED"))
			printf("#   plain (%s):\n%s#   dune (%s):\n%s",
			       describe_status(sp, a, sizeof(a)), plain,
			       describe_status(sd, b, sizeof(b)), dune);
	}
	{
		struct dune_info info;

		CHECK(dune_get_info(&info) == 0 && info.live_vcpus == 0,
		      "every vCPU of the %zu Dune runs was freed (live vCPUs: %u)",
		      sizeof(scenarios) / sizeof(scenarios[0]), info.live_vcpus);
	}
	return hwtest_done();
}
