// SPDX-License-Identifier: GPL-2.0
/*
 * dune-sandbox [--policy FILE] [--bench] [--stats FILE] [--] PROGRAM [ARGS...]
 *
 * Runs PROGRAM, unmodified, in ring 3 of this Dune process; the monitor
 * (this file and its neighbours) stays in ring 0 and sees each system call
 * and fault of the program first.  The exit status is the program's (or
 * 128 + signal, as a shell reports it, when it ends by a fault or signal).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"

char prog_path[4096];
bool monitor_fd[1024];
uint64_t n_syscalls;

extern char **environ;

void sb_log(const char *fmt, ...)
{
	static __thread char buf[1024];	/* one line per thread */
	va_list ap;
	int n;

	memcpy(buf, "dune-sandbox: ", 14);
	va_start(ap, fmt);
	n = vsnprintf(buf + 14, sizeof(buf) - 14, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n += 14;
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	if (write(2, buf, n) < 0)
		return;
}

static int fault_signal(int vec)
{
	switch (vec) {
	case T_DIVIDE: case T_FPERR: case T_SIMDERR:
		return SIGFPE;
	case T_DEBUG: case T_BRKPT:
		return SIGTRAP;
	case T_ILLOP: case T_DEVICE:
		return SIGILL;
	case T_ALIGN:
		return SIGBUS;
	}
	return SIGSEGV;
}

/* si_code of a fault (the kernel's choice for the same exception) */
static int fault_code(int vec)
{
	switch (vec) {
	case T_DIVIDE:
		return FPE_INTDIV;
	case T_BRKPT:
		return SI_KERNEL;
	case T_ILLOP:
		return ILL_ILLOPN;
	case T_ALIGN:
		return BUS_ADRALN;
	}
	return SI_KERNEL;
}

static void on_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	if (!(fec & FEC_U)) {
		dune_vm_default_pgflt_handler(addr, fec);
		return;
	}
	if (sig_deliver_fault(tf, SIGSEGV, fec & FEC_P ? SEGV_ACCERR : SEGV_MAPERR, addr, 14))
		return;
	sb_log("program killed by SIGSEGV: %s of %#lx at rip %#lx (%s)\n",
	       fec & FEC_W ? "write" : fec & FEC_I ? "fetch" : "read", (unsigned long)addr,
	       (unsigned long)tf->rip, fec & FEC_P ? "not permitted" : "not mapped");
	dune_ret_from_user(RUN_SIGNAL(SIGSEGV));
}

#define TRAP_HANDLER(vec)						\
	static void on_trap_##vec(struct dune_tf *tf)			\
	{								\
		if (!(tf->cs & 3)) {					\
			sb_log("monitor fault: vector %d\n", vec);	\
			dune_dump_trap_frame(tf);			\
			exit(125);					\
		}							\
		if (sig_deliver_fault(tf, fault_signal(vec), fault_code(vec), \
				      tf->rip, vec))			\
			return;						\
		sb_log("program killed by signal %d: exception %d at rip %#lx\n", \
		       fault_signal(vec), vec, (unsigned long)tf->rip); \
		dune_ret_from_user(RUN_SIGNAL(fault_signal(vec)));	\
	}
TRAP_HANDLER(0) TRAP_HANDLER(1) TRAP_HANDLER(3) TRAP_HANDLER(4) TRAP_HANDLER(5)
TRAP_HANDLER(6) TRAP_HANDLER(7) TRAP_HANDLER(10) TRAP_HANDLER(11) TRAP_HANDLER(12)
TRAP_HANDLER(13) TRAP_HANDLER(16) TRAP_HANDLER(17) TRAP_HANDLER(19)

static void register_handlers(void)
{
	static const struct { int vec; dune_intr_cb cb; } traps[] = {
		{ 0, on_trap_0 }, { 1, on_trap_1 }, { 3, on_trap_3 }, { 4, on_trap_4 },
		{ 5, on_trap_5 }, { 6, on_trap_6 }, { 7, on_trap_7 }, { 10, on_trap_10 },
		{ 11, on_trap_11 }, { 12, on_trap_12 }, { 13, on_trap_13 },
		{ 16, on_trap_16 }, { 17, on_trap_17 }, { 19, on_trap_19 },
	};

	for (size_t i = 0; i < sizeof(traps) / sizeof(traps[0]); i++)
		dune_register_intr_handler(traps[i].vec, traps[i].cb);
	dune_register_pgflt_handler(on_pgflt);
	dune_register_syscall_handler(sb_syscall);
}

/* PROGRAM as execvp would find it. */
static int find_program(const char *name, char *out, size_t size)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (strchr(name, '/'))
		return realpath(name, out) ? 0 : -errno;
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, name);
		if (!access(buf, X_OK) && realpath(buf, out) && size >= PATH_MAX)
			return 0;
		p += n + (p[n] == ':');
	}
	return -ENOENT;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --bench: the same program run plainly first (output to /dev/null). */
static double plain_run(char **argv)
{
	double t0 = now();
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(126);
		execv(prog_path, argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return now() - t0;
}

static void die_by_signal(int sig)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t set;

	fflush(NULL);
	sigaction(sig, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	kill(getpid(), sig);
	exit(128 + sig);
}

/* Load the program into a fresh address space: @tf is its first state. */
static int start(char **argv, char **envp, struct dune_tf *tf)
{
	struct exec_image img;
	int r = load_program(prog_path, argv, envp, &img);

	if (r) {
		sb_log("%s: cannot load: %s\n", prog_path, strerror(-r));
		return RUN_EXIT(127);
	}
	memset(tf, 0, sizeof(*tf));
	tf->rip = img.entry;
	tf->rsp = img.sp;
	tf->rflags = 0x202;
	dune_set_user_fs(0);
	return 0;
}

/* Any thread: ring 3 from @tf through its forks and execs. */
int sb_run_from(struct dune_tf *tf)
{
	int r;

	for (;;) {
		r = dune_jump_to_user(tf);
		while (r == RUN_FORK) {
			*tf = pending_fork.tf;
			tf->rax = sandbox_fork();
			if (tf->rax == 0)
				sig_forget_pending();
			r = dune_jump_to_user(tf);
		}
		if (r != RUN_EXEC)
			return r;
		sig_reset_on_exec();
		snprintf(prog_path, sizeof(prog_path), "%s", pending_exec.path);
		r = start(pending_exec.argv, pending_exec.envp, tf);
		if (r)
			return r;
	}
}

static bool bench;
static double plain_s, t0, t_main;

/* The end of the whole process, from whichever thread sees it. */
void sb_finish(int r)
{
	stats_write(r, t0 - t_main, now() - t0);
	if (bench) {
		double t = now() - t0;

		fprintf(stderr, "{\"program\": \"%s\", \"plain_s\": %.6f, \"sandbox_s\": %.6f, "
			"\"ratio\": %.3f, \"syscalls\": %lu}\n", prog_path, plain_s, t,
			plain_s > 0 ? t / plain_s : 0.0, (unsigned long)n_syscalls);
	}
	if (r & 0x2000)
		die_by_signal(r & 0xff);
	fflush(NULL);
	exit(r & 0xff);
}

/* The main thread: the program's first thread. */
static int run(char **argv, char **envp)
{
	struct dune_tf tf;
	int r = start(argv, envp, &tf);

	if (r)
		return r;
	t0 = now();	/* the program's first instruction */
	stats_mark_run();
	r = sb_run_from(&tf);
	if ((r & ~0xff) == RUN_THREAD_EXIT(0)) {
		thread_exit_main(r & 0xff);	/* returns when it was the last */
		r = RUN_EXIT(r);
	}
	return r;
}

static void usage(void)
{
	fprintf(stderr, "usage: dune-sandbox [--policy FILE] [--bench] [--stats FILE] [--] PROGRAM [ARGS...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *policy = NULL, *stats = NULL;
	int i, r;

	t_main = now();
	stats_mark_main();

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (!strcmp(argv[i], "--policy") && i + 1 < argc) {
			policy = argv[++i];
		} else if (!strcmp(argv[i], "--stats") && i + 1 < argc) {
			stats = argv[++i];
		} else if (!strcmp(argv[i], "--bench")) {
			bench = true;
		} else {
			usage();
		}
	}
	if (i >= argc)
		usage();
	r = find_program(argv[i], prog_path, sizeof(prog_path));
	if (r) {
		fprintf(stderr, "dune-sandbox: %s: %s\n", argv[i], strerror(-r));
		return 127;
	}
	note_start_fds();
	if (policy && policy_load(policy))
		return 2;
	if (stats && stats_open(stats)) {
		fprintf(stderr, "dune-sandbox: --stats %s: %s\n", stats, strerror(errno));
		return 2;
	}
	if (bench)
		plain_s = plain_run(argv + i);
	r = dune_init_and_enter();
	if (r) {
		fprintf(stderr, "dune-sandbox: cannot enter Dune mode: %s\n", strerror(-r));
		return 125;
	}
	mark_monitor_fds();
	r = mem_init();
	if (r) {
		fprintf(stderr, "dune-sandbox: cannot reserve the program's address space "
			"[%#lx, %#lx) + [%#lx, %#lx): %s\n", ARENA_LO, ARENA_LO_END,
			ARENA_HI_START, ARENA_HI, strerror(-r));
		return 125;
	}
	syscalls_init();
	register_handlers();
	t0 = now();	/* if it cannot even load */
	r = run(argv + i, environ);
	sb_finish(r);
}
