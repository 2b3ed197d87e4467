// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile-process suite, system-call group: malformed hypercalls (unknown
 * numbers, the other vendor's instruction), system calls with kernel or
 * unmapped addresses and huge lengths (guest system calls may run inside
 * the kernel: they must still get EFAULT), /dev/dune ioctls issued by the
 * guest itself (nested DUNE_ENTER), and host policy a Dune process cannot
 * escape: a seccomp filter installed from inside Dune mode, and ptrace (a
 * traced process entering Dune mode still stops at its system calls, and
 * the tracer can still change their results).
 * Optional argument: run only the cases whose name contains it.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>

#include "hostile.h"

#define KADDR	((void *)0xffffffff81000000UL)	/* kernel text (KASLR or not) */
#define KDIRECT	((void *)0xffff888000000000UL)	/* the direct map */
#define NONCANON ((void *)0x8000000000000000UL)

/* The guest's hypercall with raw registers: what the SYSCALL stub does. */
static long hypercall(long nr, long a1, long a2, long a3)
{
	long r;

	if (hx_is_svm())
		asm volatile("vmmcall" : "=a"(r) : "a"(nr), "D"(a1), "S"(a2), "d"(a3) : "memory");
	else
		asm volatile("vmcall" : "=a"(r) : "a"(nr), "D"(a1), "S"(a2), "d"(a3) : "memory");
	return r;
}

static void do_hypercall_unknown(void *a)
{
	static const long nrs[] = { 100000, -1, 0x40000000L | 600, 548, 1023, 0x7fffffffL };
	size_t i;

	for (i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++)
		if (hypercall(nrs[i], 0, 0, 0) != -ENOSYS)
			exit(10 + i);
	exit(hypercall(SYS_getpid, 0, 0, 0) == getpid() ? 0 : 2);
}

static void do_hypercall_bad_ptrs(void *a)
{
	int fds[2];

	if (pipe(fds) || write(fds[1], "x", 1) != 1)
		exit(20);
	if (hypercall(SYS_write, fds[1], (long)KADDR, 100) != -EFAULT)
		exit(3);
	if (hypercall(SYS_read, fds[0], (long)KDIRECT, 1L << 40) != -EFAULT)
		exit(4);
	if (hypercall(SYS_uname, (long)KDIRECT, 0, 0) != -EFAULT)
		exit(5);
	exit(0);
}

/* The other vendor's hypercall is #UD in the guest. */
static void do_wrong_hypercall(void *a)
{
	if (hx_is_svm())
		asm volatile("vmcall" : : "a"(SYS_getpid));
	else
		asm volatile("vmmcall" : : "a"(SYS_getpid));
}

static int expect_efault(long r)
{
	return r == -1 && errno == EFAULT;
}

/* Kernel, direct-map, non-canonical and NULL pointers: EFAULT, never a
 * kernel read or write (the calls may run inside the kernel). */
static void do_kernel_addresses(void *a)
{
	void *bad[] = { KADDR, KDIRECT, NONCANON, NULL, (void *)0x7ffffffff000UL };
	struct iovec iov;
	char buf[16];
	int fds[2];
	size_t i;

	if (pipe(fds) || write(fds[1], "0123456789", 10) != 10)
		exit(20);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		iov.iov_base = bad[i];
		iov.iov_len = 100;
		if (!expect_efault(syscall(SYS_write, 1, bad[i], 100)))
			exit(30 + i);
		if (!expect_efault(syscall(SYS_read, fds[0], bad[i], 1)))
			exit(40 + i);
		if (!expect_efault(syscall(SYS_writev, 1, &iov, 1)))
			exit(50 + i);
		if (!expect_efault(syscall(SYS_uname, bad[i])))
			exit(60 + i);
		if (!expect_efault(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, bad[i])))
			exit(70 + i);
		if (!expect_efault(syscall(SYS_getcwd, bad[i], 100)))
			exit(80 + i);
		if (!expect_efault(syscall(SYS_pipe, bad[i])))
			exit(90 + i);
	}
	if (read(fds[0], buf, 10) != 10 || memcmp(buf, "0123456789", 10))
		exit(100);	/* the failed reads must not have consumed data */
	exit(0);
}

/* Huge lengths: the kernel stops at the first unmapped byte. */
static void do_huge_lengths(void *a)
{
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fds[2], zero = open("/dev/zero", O_RDONLY);
	long r;

	if (p == MAP_FAILED || munmap(p + 4096, 4096) || zero < 0 || pipe(fds) ||
	    fcntl(fds[1], F_SETFL, O_NONBLOCK))
		exit(20);
	r = syscall(SYS_write, fds[1], p, 1UL << 62);	/* the pipe takes some */
	if (!(r > 0 || expect_efault(r)))
		exit(3);
	r = syscall(SYS_read, zero, p + 4000, 1UL << 40);	/* 96 bytes, then EFAULT */
	if (!(r == 96 || expect_efault(r)))
		exit(4);
	r = syscall(SYS_read, zero, p + 4000, (size_t)-1);
	exit(r == 96 || expect_efault(r) || (r == -1 && errno == EINVAL) ? 0 : 5);
}

extern int dune_fd;	/* libdune's /dev/dune descriptor */

/* DUNE_ENTER from the guest: on the same file and on a new one. */
static void do_nested_enter(void *a)
{
	struct dune_config c;
	int fd = a ? open("/dev/dune", O_RDWR) : dune_fd;
	long r;

	if (fd < 0)
		exit(20);
	memset(&c, 0, sizeof(c));
	c.regs.rip = 0x1000;
	c.regs.rflags = 2;
	r = ioctl(fd, DUNE_ENTER, &c);
	exit(r == -1 && errno == EBUSY ? 0 : 3);
}

static void do_guest_ioctls(void *a)
{
	struct dune_info info;
	struct dune_stats st;

	if (ioctl(dune_fd, DUNE_GET_INFO, KADDR) != -1 || errno != EFAULT)
		exit(3);
	if (ioctl(dune_fd, DUNE_GET_STATS, KDIRECT) != -1 || errno != EFAULT)
		exit(4);
	if (ioctl(dune_fd, DUNE_GET_INFO, &info) || info.live_vcpus < 1)
		exit(5);
	if (ioctl(dune_fd, DUNE_GET_STATS, &st) || st.entries < 1)
		exit(6);
	exit(0);
}

/* A filter that kills the process at getpriority(), installed from Dune mode. */
static void do_seccomp_from_guest(void *a)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpriority, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		exit(20);
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		exit(3);
	syscall(SYS_getpriority, 0, 0);
	exit(4);
}

/* Strict mode: only read/write/exit; anything else is SIGKILL. */
static void do_seccomp_strict(void *a)
{
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT))
		exit(20);
	syscall(SYS_getpid);
	exit(4);
}

/*
 * exit_group refused by a seccomp filter: the process goes on, and its
 * VM still maps fresh memory (the module gives up a VM's MMU notifier at
 * an exit only when nothing can stop that exit).
 */
static void do_exit_refused(void *a)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit_group, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
	size_t len = 1 << 20, i;
	char *p;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		syscall(SYS_exit, 20);
	if (syscall(SYS_exit_group, 9) != -1 || errno != EPERM)
		syscall(SYS_exit, 3);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		syscall(SYS_exit, 4);
	for (i = 0; i < len; i += 4096)
		p[i] = 1;
	syscall(SYS_exit, 0);	/* the only thread: the process ends */
}

static const struct hostile_case cases[] = {
	{ "hypercall with unknown numbers: ENOSYS", do_hypercall_unknown, NULL, HX_EXIT(0) },
	{ "hypercall with kernel pointers: EFAULT", do_hypercall_bad_ptrs, NULL, HX_EXIT(0) },
	/* QEMU's TCG runs VMCALL as VMMCALL on its AMD CPUs (hardware: #UD). */
	{ "the other vendor's hypercall instruction", do_wrong_hypercall, NULL, HX_SIG(SIGILL),
	  HX_EXIT(0) },
	{ "system calls with kernel/NULL/non-canonical pointers: EFAULT",
	  do_kernel_addresses, NULL, HX_EXIT(0) },
	{ "system calls with huge lengths", do_huge_lengths, NULL, HX_EXIT(0) },
	{ "DUNE_ENTER from the guest, same file: EBUSY", do_nested_enter, NULL, HX_EXIT(0) },
	{ "DUNE_ENTER from the guest, new file: EBUSY", do_nested_enter, (void *)1,
	  HX_EXIT(0) },
	{ "other /dev/dune ioctls from the guest", do_guest_ioctls, NULL, HX_EXIT(0) },
	{ "seccomp KILL_PROCESS filter installed in Dune mode", do_seccomp_from_guest, NULL,
	  HX_SIG(SIGSYS) },
	{ "seccomp strict mode entered in Dune mode", do_seccomp_strict, NULL,
	  HX_SIG(SIGKILL) },
	{ "exit_group refused by seccomp: the process goes on", do_exit_refused, NULL,
	  HX_EXIT(0) },
};

#define MAGIC_PRIO_WHO	0x1234
#define TRACER_RESULT	4242

/* The tracee: stop for the tracer, enter Dune mode, make the magic call. */
static void traced_child(void)
{
	long r;

	if (ptrace(PTRACE_TRACEME, 0, 0, 0))
		_exit(20);
	raise(SIGSTOP);
	r = dune_init_and_enter();
	if (r)
		_exit(r == -EPERM || r == -EBUSY ? 30 : CHILD_NO_DUNE);
	r = syscall(SYS_getpriority, PRIO_PROCESS, MAGIC_PRIO_WHO);
	_exit(r == TRACER_RESULT ? 0 : 1);
}

/*
 * ptrace: a traced process that enters Dune mode still stops at each
 * system call; the tracer sees the arguments and changes the result.
 */
static void check_ptrace(void)
{
	struct user_regs_struct regs;
	int st = -1, stops = 0, seen = 0, hung;
	double t0 = hx_now();
	char buf[64];
	pid_t pid;

	hwtest_mark("case: ptrace");
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		traced_child();
	waitpid(pid, &st, 0);	/* the SIGSTOP */
	ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL);
	while (hx_now() - t0 < 20 && ptrace(PTRACE_SYSCALL, pid, 0, 0) == 0 &&
	       waitpid(pid, &st, 0) == pid && WIFSTOPPED(st)) {
		if (WSTOPSIG(st) != (SIGTRAP | 0x80))
			continue;
		stops++;
		if (ptrace(PTRACE_GETREGS, pid, 0, &regs))
			break;
		if (regs.orig_rax != SYS_getpriority || regs.rsi != MAGIC_PRIO_WHO)
			continue;
		/* Entry stop (rax = -ENOSYS), then the exit stop: set the result. */
		if (++seen == 2) {
			regs.rax = TRACER_RESULT;
			ptrace(PTRACE_SETREGS, pid, 0, &regs);
		}
	}
	if (!WIFEXITED(st) && !WIFSIGNALED(st))
		st = hx_wait(pid, 1, &hung);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0 && seen == 2,
	      "ptrace: the traced Dune process stopped at its calls (%d stops, magic seen %d "
	      "times) and got the tracer's result (%s)",
	      stops, seen, describe_status(st, buf, sizeof(buf)));
	hx_check_host("ptrace");
}

/* The guest's exit_group, at its first instruction (ring 0, no stack). */
asm(".pushsection .text\n"
    "exit_vmcall: mov $231, %eax\n vmcall\n ud2\n"
    "exit_vmmcall: mov $231, %eax\n vmmcall\n ud2\n"
    ".popsection");
extern const char exit_vmcall[], exit_vmmcall[];

/* A raw client (no libdune host loop): the guest exits, the client goes on. */
static void exit_ignored_child(void)
{
	struct dune_config c;

	if (dune_init(true))
		_exit(CHILD_NO_DUNE);
	memset(&c, 0, sizeof(c));
	c.regs.rip = (uintptr_t)(hx_is_svm() ? exit_vmmcall : exit_vmcall);
	c.regs.rflags = 2;
	c.cr3 = dune_va_to_pa(pgroot);
	/*
	 * Host work may come first (DUNE_RET_SIGNAL: e.g. 6.12's periodic
	 * mm_cid task work); like libdune, enter again.
	 */
	do {
		if (ioctl(dune_fd, DUNE_ENTER, &c))
			_exit(errno == EOPNOTSUPP ? CHILD_NO_DUNE : 2);
	} while (c.ret == DUNE_RET_SIGNAL);
	if (c.ret != DUNE_RET_SYSCALL || c.status != SYS_exit_group)
		_exit(3);
	if (ioctl(dune_fd, DUNE_ENTER, &c) != -1 || errno != ESHUTDOWN)
		_exit(4);
	_exit(0);
}

/*
 * A guest exit handed to a caller that nothing stops from exiting ends the
 * VM (its MMU notifier goes before the mm does): a caller that goes on
 * anyway gets ESHUTDOWN, not a VM that maps memory no notifier watches.
 */
static void check_exit_ignored(void)
{
	int st, hung;
	char buf[64];
	pid_t pid;

	hwtest_mark("case: exit ignored");
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		exit_ignored_child();
	st = pid > 0 ? hx_wait(pid, hx_case_limit(), &hung) : -1;
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "a guest exit its caller ignores: the next DUNE_ENTER is ESHUTDOWN (%s)",
	      describe_status(st, buf, sizeof(buf)));
	hx_check_host("exit ignored");
}

int main(int argc, char **argv)
{
	hx_setup();
	hx_run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc > 1 ? argv[1] : NULL);
	if (argc < 2 || strstr("ptrace", argv[1]))
		check_ptrace();
	if (argc < 2 || strstr("exit ignored", argv[1]))
		check_exit_ignored();
	return hx_finish();
}
