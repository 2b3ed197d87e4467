// SPDX-License-Identifier: GPL-2.0
/*
 * seccomp on the Linux side: getpid under an allow-all filter (the
 * syscall-seccomp row, whose Dune side runs under the same filter), and
 * the two ways seccomp interposes on a call today, beside PTRACE_SYSEMU in
 * the ptrace row: SECCOMP_RET_TRAP with a SIGSYS handler (gVisor's
 * systrap) and SECCOMP_RET_USER_NOTIF with a supervisor thread.
 *
 * Every function here runs in a measuring process of its own, which ends
 * after it: filters cannot be removed, and they need not be.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <ucontext.h>
#include <unistd.h>

#include "bench.h"

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS	/* 6.6+; older headers lack it */
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS	SECCOMP_IOW(4, __u64)
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP	(1UL << 0)
#endif

#define ANSWER	0x5eedL		/* what the interposer makes getpid return */

#define LD(field)	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define RET(v)		BPF_STMT(BPF_RET | BPF_K, (v))
#define JEQ(k, t, f)	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define JGE(k, t, f)	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (k), (t), (f))

static int install(struct sock_filter *f, unsigned short len, unsigned int flags)
{
	struct sock_fprog prog = { .len = len, .filter = f };
	long r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	return r < 0 ? -errno : (int)r;
}

/*
 * A sandbox's usual shape: the architecture, a few denied calls, one
 * argument check, everything else allowed.  The kernel (5.11+) caches the
 * verdict for a call number whose path through the filter reads only the
 * number and the architecture, and then skips the filter; @every_call
 * adds a check of the call site (the instruction pointer: calls from the
 * kernel half are refused, which never happens), as filters that look at
 * where a call comes from do, so the filter runs on every call.
 */
int bench_seccomp_install(bool every_call)
{
	struct sock_filter arch[] = {
		LD(arch),
		JEQ(AUDIT_ARCH_X86_64, 1, 0),
		RET(SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_filter site[] = {
		LD(instruction_pointer) /* + 4 below: the high half */,
		JGE(0x8000, 0, 1),
		RET(SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_filter rules[] = {
		LD(nr),
		JGE(0x40000000, 0, 1),			/* the x32 ABI */
		RET(SECCOMP_RET_ERRNO | ENOSYS),
		JEQ(SYS_kexec_load, 0, 1),
		RET(SECCOMP_RET_ERRNO | EPERM),
		JEQ(SYS_open_by_handle_at, 0, 1),
		RET(SECCOMP_RET_ERRNO | EPERM),
		JEQ(SYS_ioctl, 0, 3),
		LD(args[1]),
		JEQ(TIOCSTI, 0, 1),			/* typing into the tty */
		RET(SECCOMP_RET_ERRNO | EPERM),
		RET(SECCOMP_RET_ALLOW),
	};
	struct sock_filter f[sizeof(arch) / sizeof(arch[0]) + sizeof(site) / sizeof(site[0]) +
			     sizeof(rules) / sizeof(rules[0])];
	unsigned short n = 0;

	site[0].k += 4;		/* little endian: the upper 32 bits */
	memcpy(f, arch, sizeof(arch));
	n += sizeof(arch) / sizeof(arch[0]);
	if (every_call) {
		memcpy(f + n, site, sizeof(site));
		n += sizeof(site) / sizeof(site[0]);
	}
	memcpy(f + n, rules, sizeof(rules));
	n += sizeof(rules) / sizeof(rules[0]);
	return install(f, n, 0);
}

/* ------------------------------------------- getpid under the filter */

static void getpid_filtered(const struct bench_params *p, struct side_result *r, bool every)
{
	long n = p->ops[ROW_SYSCALL_SECCOMP], i, bad = 0;
	long pid = bench_raw_getpid();
	uint64_t t0, t1;
	int run, e;

	e = bench_seccomp_install(every);
	if (e) {
		bench_skip(r, "no seccomp filter: %s", strerror(-e));
		return;
	}
	for (i = 0; i < 100; i++)
		bench_raw_getpid();
	for (run = 0; run < p->runs; run++) {
		t0 = bench_tsc();
		for (i = 0; i < n; i++)
			bad += bench_raw_getpid() != pid;
		t1 = bench_tsc();
		bench_record(r, run, t1 - t0, n);
	}
	if (bad)
		bench_fail(r, -EIO, "%ld getpid calls returned another pid", bad);
}

void l_syscall_seccomp(const struct bench_params *p, struct side_result *r)
{
	getpid_filtered(p, r, true);
}

void l_syscall_seccomp_cached(const struct bench_params *p, struct side_result *r)
{
	getpid_filtered(p, r, false);
}

/* Only getpid and getppid are interposed (@action), everything else runs
 * (getppid: the user-notification supervisor's signal to stop). */
static int install_getpid(unsigned int action, unsigned int flags)
{
	struct sock_filter f[] = {
		LD(arch),
		JEQ(AUDIT_ARCH_X86_64, 1, 0),
		RET(SECCOMP_RET_KILL_PROCESS),
		LD(nr),
		JEQ(SYS_getpid, 1, 0),
		JEQ(SYS_getppid, 0, 1),
		RET(action),
		RET(SECCOMP_RET_ALLOW),
	};

	return install(f, sizeof(f) / sizeof(f[0]), flags);
}

/* Time @n interposed getpid calls; false (and @r failed) on a wrong answer. */
static bool time_interposed(const struct bench_params *p, struct side_result *r, int run)
{
	long n = p->ops[ROW_PTRACE], i, bad = 0;
	uint64_t t0, t1;

	t0 = bench_tsc();
	for (i = 0; i < n; i++)
		bad += bench_raw_getpid() != ANSWER;
	t1 = bench_tsc();
	if (bad) {
		bench_fail(r, -EIO, "%ld of %ld getpid calls not answered by the interposer",
			   bad, n);
		return false;
	}
	bench_record(r, run, t1 - t0, n);
	return true;
}

/* ------------------------------------------------ SECCOMP_RET_TRAP */

static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	/* The call was not made; its result is what the handler leaves in
	 * rax when sigreturn restores the registers. */
	if (si->si_syscall == SYS_getpid)
		uc->uc_mcontext.gregs[REG_RAX] = ANSWER;
	else
		uc->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
}

void l_seccomp_trap(const struct bench_params *p, struct side_result *r)
{
	struct sigaction sa;
	int run, e;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL)) {
		bench_fail(r, -errno, "sigaction");
		return;
	}
	e = install_getpid(SECCOMP_RET_TRAP, 0);
	if (e) {
		bench_skip(r, "no seccomp filter: %s", strerror(-e));
		return;
	}
	for (run = -1; run < p->runs; run++)	/* run -1 warms up */
		if (!time_interposed(p, r, run))
			return;
}

/* ------------------------------------------- SECCOMP_RET_USER_NOTIF */

static int notif_fd;
static volatile long notif_err;

/* The supervisor: answers every notification until it has answered a
 * getppid, the caller's last.  If it fails it closes the listener, so that
 * calls fail with ENOSYS instead of waiting forever. */
static void *supervisor(void *arg)
{
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;

	for (;;) {
		memset(&req, 0, sizeof(req));	/* the kernel wants it zeroed */
		if (ioctl(notif_fd, SECCOMP_IOCTL_NOTIF_RECV, &req)) {
			if (errno == EINTR || errno == ENOENT)
				continue;
			notif_err = -errno;
			break;
		}
		memset(&resp, 0, sizeof(resp));
		resp.id = req.id;
		resp.val = req.data.nr == SYS_getpid ? ANSWER : 0;
		/* ENOENT: the caller went away meanwhile; nothing to do. */
		if (ioctl(notif_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) && errno != ENOENT) {
			notif_err = -errno;
			break;
		}
		if (req.data.nr == SYS_getppid)
			return NULL;
	}
	if (notif_err)
		close(notif_fd);
	return NULL;
}

void l_seccomp_notif(const struct bench_params *p, struct side_result *r)
{
	uint64_t sync = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
	pthread_t th;
	int run, e;

	e = install_getpid(SECCOMP_RET_USER_NOTIF, SECCOMP_FILTER_FLAG_NEW_LISTENER);
	if (e < 0) {
		bench_skip(r, "no seccomp user notification: %s", strerror(-e));
		return;
	}
	notif_fd = e;
	/* 6.6+: the supervisor runs on the caller's CPU, the handoff gVisor
	 * and crun use; older kernels wake it wherever it slept. */
	if (ioctl(notif_fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, sync) == 0)
		snprintf(r->note, sizeof(r->note), "synchronous wake-up (6.6+)");
	else
		snprintf(r->note, sizeof(r->note), "no synchronous wake-up (before 6.6)");
	e = bench_pin_cpu();
	if (!e)
		e = -pthread_create(&th, NULL, supervisor, NULL);
	if (e) {
		bench_fail(r, e, "pinning to a CPU, or pthread_create");
		return;
	}
	for (run = -1; run < p->runs; run++)
		if (!time_interposed(p, r, run))
			break;
	syscall(SYS_getppid);	/* the supervisor answers it and ends */
	pthread_join(th, NULL);
	if (!notif_err)
		close(notif_fd);
	else
		bench_fail(r, (int)notif_err, "supervisor");
}
