// SPDX-License-Identifier: GPL-2.0
/*
 * Every system call of the program comes here first (ring 0).  A table
 * says, for each call the monitor models, what its arguments are; each
 * pointer and length is checked against the program's memory before the
 * call is passed to the host kernel, which would otherwise read or write
 * any of the monitor's memory on the program's behalf.  Calls not in the
 * table are refused with ENOSYS and logged.
 *
 * The program may have threads, and a sibling can rewrite its memory
 * between the check and the kernel's read.  So what the check reads from
 * program memory and the kernel would read again -- paths, iovec arrays --
 * is copied into this thread's monitor memory under the region lock,
 * checked there, and the call gets a pointer to the copy (the registers
 * are put back afterwards, as Linux leaves them).  Buffers the kernel only
 * reads or writes as data need no copy: the arenas hold nothing but the
 * program's memory, so a buffer unmapped or remapped by a sibling meanwhile
 * is at worst EFAULT, never the monitor's memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>
#include <asm/prctl.h>

#include "sandbox.h"
#include "sigrules.h"
#include "threadrules.h"

enum {
	A_INT,		/* not a pointer */
	A_FD,		/* a descriptor the program may use */
	A_DIRFD,	/* same, or AT_FDCWD */
	A_PATH,		/* a path: readable string, checked against the policy */
	A_IN,		/* the kernel reads this many bytes */
	A_OUT,		/* the kernel writes them */
	A_INOUT,
	A_IOV_IN,	/* struct iovec[count]: the kernel reads the buffers */
	A_IOV_OUT,	/* ... writes them */
	A_RANGE,	/* program memory of any protection (madvise, msync) */
};

struct arg {
	uint8_t kind;
	uint8_t opt;	/* NULL allowed */
	int16_t size;	/* bytes, or -(1 + index of the length argument) */
};

typedef long (*sc_fn)(struct dune_tf *tf, uint64_t a[6]);

struct sc {
	const char *name;
	sc_fn fn;		/* NULL: pass to the host after the checks */
	struct arg args[6];
};

#define INT		{ A_INT, 0, 0 }
#define FD		{ A_FD, 0, 0 }
#define DIRFD		{ A_DIRFD, 0, 0 }
#define PATH		{ A_PATH, 0, 0 }
#define PATH_OPT	{ A_PATH, 1, 0 }
#define IN(n)		{ A_IN, 0, n }
#define IN_OPT(n)	{ A_IN, 1, n }
#define OUT(n)		{ A_OUT, 0, n }
#define OUT_OPT(n)	{ A_OUT, 1, n }
#define INOUT_OPT(n)	{ A_INOUT, 1, n }
#define INL(i)		{ A_IN, 0, -1 - (i) }
#define INL_OPT(i)	{ A_IN, 1, -1 - (i) }
#define OUTL(i)		{ A_OUT, 0, -1 - (i) }
#define IOVI(i)		{ A_IOV_IN, 0, -1 - (i) }
#define IOVO(i)		{ A_IOV_OUT, 0, -1 - (i) }
#define RANGE(i)	{ A_RANGE, 0, -1 - (i) }

#define STAT_SZ		144	/* struct stat */
#define TS_SZ		16	/* struct timespec */

struct pending_exec pending_exec;

static dev_t proc_dev;
/* Per thread, not on the 64 KiB trap stack: resolved paths, the copies of
 * path arguments and of an iovec array the kernel is given. */
static __thread char pathbuf[2][4096];
static __thread char pathcopy[2][4096];
static __thread struct iovec iovcopy[1024];
static __thread uint64_t orig_arg[6];
static __thread unsigned int substituted;	/* bit i: argument i points at a copy */

/* ---------------------------------------------------------------- logging */

static __thread const struct sc *cur;

static void log_call(const struct sc *s, uint64_t nr, const uint64_t a[6], long ret,
		     const char *why)
{
	char args[512];
	int n = 0;

	for (int i = 0; i < 6; i++) {
		if (s && s->args[i].kind == A_PATH &&
		    (a[i] == (uintptr_t)pathcopy[0] || a[i] == (uintptr_t)pathcopy[1]))
			n += snprintf(args + n, sizeof(args) - n, "%s\"%s\"", i ? ", " : "",
				      (const char *)a[i]);
		else
			n += snprintf(args + n, sizeof(args) - n, "%s%#lx", i ? ", " : "",
				      (unsigned long)a[i]);
		if (n >= (int)sizeof(args))
			break;
	}
	if (s)
		sb_log("denied %s(%s) = %ld (%s): %s\n", s->name, args, ret, strerror(-ret), why);
	else
		sb_log("denied syscall %lu(%s) = %ld (%s): %s\n", (unsigned long)nr, args, ret,
		       strerror(-ret), why);
}

static long deny(uint64_t a[6], long ret, const char *why)
{
	log_call(cur, 0, a, ret, why);
	return ret;
}

/* ------------------------------------------------------------------ paths */

/* @path made absolute against @dirfd and lexically normalised into @out. */
static int resolve(int dirfd, const char *path, char *out, size_t size)
{
	char tmp[8192], *p, *save;
	size_t n = 0;

	if (path[0] == '/') {
		snprintf(tmp, sizeof(tmp), "%s", path);
	} else {
		char base[4096];

		if (dirfd == AT_FDCWD) {
			if (!getcwd(base, sizeof(base)))
				return -errno;
		} else {
			char link[64];
			ssize_t l;

			snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
			l = readlink(link, base, sizeof(base) - 1);
			if (l < 0)
				return -EBADF;
			base[l] = 0;
		}
		snprintf(tmp, sizeof(tmp), "%s/%s", base, path);
	}
	out[0] = 0;
	for (p = strtok_r(tmp, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		if (!strcmp(p, "."))
			continue;
		if (!strcmp(p, "..")) {
			while (n && out[n - 1] != '/')
				n--;
			if (n)
				n--;
			out[n] = 0;
			continue;
		}
		n += snprintf(out + n, size - n, "/%s", p);
		if (n >= size)
			return -ENAMETOOLONG;
	}
	if (!n)
		snprintf(out, size, "/");
	return 0;
}

static bool is_self_exe(const char *abs)
{
	char own[64];

	snprintf(own, sizeof(own), "/proc/%d/exe", getpid());
	return !strcmp(abs, "/proc/self/exe") || !strcmp(abs, "/proc/thread-self/exe") ||
	       !strcmp(abs, own);
}

/* ------------------------------------------------------------- arg checks */

static void set_arg(struct dune_tf *tf, int i, uint64_t v)
{
	switch (i) {
	case 0: ARG0(tf) = v; break;
	case 1: ARG1(tf) = v; break;
	case 2: ARG2(tf) = v; break;
	case 3: ARG3(tf) = v; break;
	case 4: ARG4(tf) = v; break;
	case 5: ARG5(tf) = v; break;
	}
}

/* Argument @i is now @copy (monitor memory) for the kernel too. */
static void substitute(struct dune_tf *tf, uint64_t a[6], int i, const void *copy)
{
	orig_arg[i] = a[i];
	a[i] = (uintptr_t)copy;
	set_arg(tf, i, a[i]);
	substituted |= 1U << i;
}

void sb_substitute(struct dune_tf *tf, uint64_t a[6], int i, const void *copy)
{
	substitute(tf, a, i, copy);
}

/* After the call: the program's registers as it passed them. */
static void put_back_args(struct dune_tf *tf, uint64_t a[6])
{
	for (int i = 0; i < 6; i++) {
		if (substituted & (1U << i)) {
			a[i] = orig_arg[i];
			set_arg(tf, i, a[i]);
		}
	}
	substituted = 0;
}

/* The caller holds the region lock when the call has a memory argument
 * (SC_MEMORY); the others check descriptors only. */
static long check_args(struct dune_tf *tf, const struct sc *s, uint64_t a[6])
{
	int dirfd = AT_FDCWD, npath = 0;

	for (int i = 0; i < 6; i++) {
		const struct arg *g = &s->args[i];
		size_t len = g->size >= 0 ? (size_t)g->size : a[-1 - g->size];
		int prot = g->kind == A_IN ? PROT_READ : g->kind == A_OUT ? PROT_WRITE :
			   PROT_READ | PROT_WRITE;

		switch (g->kind) {
		case A_INT:
			break;
		case A_DIRFD:
			if ((int)a[i] == AT_FDCWD)
				break;
			dirfd = (int)a[i];
			/* fall through */
		case A_FD:
			if ((int)a[i] >= 0 && (int)a[i] < 1024 && monitor_fd[(int)a[i]])
				return deny(a, -EBADF, "a descriptor of the monitor");
			break;
		case A_PATH: {
			char *abs = pathbuf[npath & 1];
			int r;

			long n;

			if (g->opt && !a[i])
				break;
			n = mem_strlen_held(a[i], 4096);
			if (n < 0)
				return deny(a, -EFAULT, "path not in the program's memory");
			memcpy(pathcopy[npath & 1], (const void *)a[i], n + 1);
			substitute(tf, a, i, pathcopy[npath & 1]);
			r = resolve(dirfd, (const char *)a[i], abs, sizeof(pathbuf[0]));
			if (r)
				return r;
			if (policy_path_denied(abs))
				return deny(a, -EPERM, "path denied by the policy");
			npath++;
			break;
		}
		case A_IN:
		case A_OUT:
		case A_INOUT:
			if (g->opt && !a[i])
				break;
			if (!mem_ok_held(a[i], len, prot))
				return deny(a, -EFAULT, "buffer not in the program's memory");
			break;
		case A_IOV_IN:
		case A_IOV_OUT: {
			const struct iovec *iov = iovcopy;

			if (len > 1024 || !mem_ok_held(a[i], len * sizeof(*iov), PROT_READ))
				return deny(a, -EFAULT, "iovec not in the program's memory");
			memcpy(iovcopy, (const void *)a[i], len * sizeof(*iov));
			substitute(tf, a, i, iovcopy);
			for (size_t k = 0; k < len; k++)
				if (!mem_ok_held((uintptr_t)iov[k].iov_base, iov[k].iov_len,
					    g->kind == A_IOV_IN ? PROT_READ : PROT_WRITE))
					return deny(a, -EFAULT, "buffer not in the program's memory");
			break;
		}
		case A_RANGE:
			if (!mem_ok_held(PG_DOWN(a[i]), PG_UP(a[i] + len) - PG_DOWN(a[i]), PROT_NONE))
				return deny(a, -ENOMEM, "range not in the program's memory");
			break;
		}
	}
	return 0;
}

/* ----------------------------------------------------- modelled specially */

static long host(struct dune_tf *tf)
{
	dune_passthrough_syscall(tf);
	return (long)tf->rax;
}

long sb_host(struct dune_tf *tf)
{
	return host(tf);
}

long sb_deny(uint64_t a[6], long ret, const char *why)
{
	return deny(a, ret, why);
}

/* Is @fd (any kind, O_PATH too) a /proc/PID/mem or task/TID/mem file? */
static bool is_proc_mem(int fd)
{
	char link[64], target[512];
	struct stat st;
	ssize_t l;

	if (fstat(fd, &st) || st.st_dev != proc_dev)
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	l = readlink(link, target, sizeof(target) - 1);
	target[l > 0 ? l : 0] = 0;
	return l > 0 && (!strcmp(target + (l >= 4 ? l - 4 : 0), "/mem") || strstr(target, "/mem ("));
}

/*
 * No descriptor of /proc/PID/mem: it would reach the monitor's memory.
 * The file is first opened O_PATH (no read, write or map through that
 * descriptor, so a sibling thread guessing its number gets nothing),
 * checked, and only then opened for real through /proc/self/fd, which
 * is the same inode whatever the path names meanwhile.  A file that does
 * not exist yet is created with O_EXCL, which never opens an existing
 * file.  The descriptor keeps the number the O_PATH one had (the lowest
 * free, as open returns).
 */
static long sc_open(struct dune_tf *tf, uint64_t a[6])
{
	int dirfd = tf->rax == SYS_openat ? (int)a[0] : AT_FDCWD;
	const char *path = (const char *)a[tf->rax == SYS_openat ? 1 : 0];
	int flags = tf->rax == SYS_openat ? (int)a[2] : tf->rax == SYS_open ? (int)a[1] :
		    O_CREAT | O_WRONLY | O_TRUNC;
	mode_t mode = tf->rax == SYS_openat ? a[3] : tf->rax == SYS_open ? a[2] : a[1];
	char link[64];

	for (int tries = 0; tries < 8; tries++) {
		int p = openat(dirfd, path, O_PATH | O_CLOEXEC |
			       (flags & (O_NOFOLLOW | O_DIRECTORY)), 0);
		int fd;

		if (p < 0) {
			if (errno != ENOENT || !(flags & O_CREAT))
				return -errno;
			fd = openat(dirfd, path, flags | O_EXCL, mode);
			if (fd >= 0 || errno != EEXIST || flags & O_EXCL)
				return fd >= 0 ? fd : -errno;
			continue;	/* created meanwhile: open it as it is */
		}
		if (is_proc_mem(p)) {
			close(p);
			return deny(a, -EACCES, "the process's memory file");
		}
		if (flags & O_PATH) {
			if (!(flags & O_CLOEXEC))
				fcntl(p, F_SETFD, 0);
			return p;
		}
		if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
			close(p);
			return -EEXIST;
		}
		snprintf(link, sizeof(link), "/proc/self/fd/%d", p);
		fd = open(link, flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW), mode);
		if (fd < 0) {
			fd = -errno;
			close(p);
			return fd;
		}
		if (dup3(fd, p, flags & O_CLOEXEC) == p) {
			close(fd);
			return p;
		}
		close(p);
		return fd;
	}
	/* Still no file to open, but one in the way of O_EXCL: a dangling
	 * symlink, which Linux would follow to create its target.  Opening
	 * it without O_EXCL could meet /proc/PID/mem if the link changes. */
	return -EEXIST;
}

static long sc_readlink(struct dune_tf *tf, uint64_t a[6])
{
	bool at = tf->rax == SYS_readlinkat;
	char *buf = (char *)a[at ? 2 : 1];
	size_t n = a[at ? 3 : 2], len = strlen(prog_path);

	if (!is_self_exe(pathbuf[0]))
		return host(tf);
	if (len > n)
		len = n;
	memcpy(buf, prog_path, len);
	return len;
}

static long sc_mmap(struct dune_tf *tf, uint64_t a[6])
{
	return sys_mmap(a[0], a[1], a[2], a[3], a[4], a[5]);
}

static long sc_munmap(struct dune_tf *tf, uint64_t a[6])
{
	if (!a[1] || a[0] & (PAGE_SZ - 1))
		return -EINVAL;
	if (!mem_in_arena(a[0], PG_UP(a[1])))
		return deny(a, -EINVAL, "not the program's memory");
	return mem_unmap(a[0], a[1]);
}

static long sc_mprotect(struct dune_tf *tf, uint64_t a[6])
{
	if (!mem_in_arena(a[0], PG_UP(a[1])))
		return deny(a, -ENOMEM, "not the program's memory");
	return mem_protect(a[0], a[1], a[2]);
}

static long sc_mremap(struct dune_tf *tf, uint64_t a[6])
{
	long r = sys_mremap(a[0], a[1], a[2], a[3], a[4]);

	return r == -EFAULT ? deny(a, r, "not the program's memory") : r;
}

static long sc_brk(struct dune_tf *tf, uint64_t a[6])
{
	return sys_brk(a[0]);
}

static long sc_arch_prctl(struct dune_tf *tf, uint64_t a[6])
{
	switch (a[0]) {
	case ARCH_SET_FS:
		/* Any value: ring 3 reaches through FS only its own pages. */
		dune_set_user_fs(a[1]);
		return 0;
	case ARCH_GET_FS:
		if (!mem_ok(a[1], 8, PROT_WRITE))
			return deny(a, -EFAULT, "buffer not in the program's memory");
		*(uint64_t *)a[1] = dune_get_user_fs();
		return 0;
	}
	return deny(a, -EINVAL, "arch_prctl code not modelled");
}

/* exit ends this thread (and its vCPU), exit_group the process. */
static long sc_exit(struct dune_tf *tf, uint64_t a[6])
{
	if (tf->rax == SYS_exit)
		dune_ret_from_user(RUN_THREAD_EXIT((int)a[0]));
	dune_ret_from_user(RUN_EXIT((int)a[0]));
}

static long sc_sigaction(struct dune_tf *tf, uint64_t a[6])
{
	int sig = (int)a[0];
	uint64_t act[4];

	if (sig < 1 || sig > 64 || a[3] != 8 || (a[1] && (sig == SIGKILL || sig == SIGSTOP)))
		return -EINVAL;
	if (a[1])	/* read before writing: act and oldact may be one buffer */
		memcpy(act, (void *)a[1], sizeof(act));
	if (a[2])
		memcpy((void *)a[2], sig_actions[sig], sizeof(sig_actions[sig]));
	if (a[1])
		return sig_set_action(sig, act);
	return 0;
}

static long sc_sigprocmask(struct dune_tf *tf, uint64_t a[6])
{
	uint64_t set = a[1] ? *(uint64_t *)a[1] : 0;

	if (a[3] != 8)
		return -EINVAL;
	if (a[2])
		*(uint64_t *)a[2] = sig_mask;
	if (!a[1])
		return 0;
	switch (a[0]) {
	case SIG_BLOCK:
		sig_mask |= set;
		break;
	case SIG_UNBLOCK:
		sig_mask &= ~set;
		break;
	case SIG_SETMASK:
		sig_mask = set;
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

static long sc_sigaltstack(struct dune_tf *tf, uint64_t a[6])
{
	if (a[1]) {
		stack_t *o = (stack_t *)a[1];

		o->ss_sp = NULL;
		o->ss_flags = SS_DISABLE;
		o->ss_size = 0;
	}
	return 0;
}

static long sc_zero(struct dune_tf *tf, uint64_t a[6])
{
	return 0;
}

static long sc_nosys(struct dune_tf *tf, uint64_t a[6])
{
	return -ENOSYS;
}

static long sc_kill(struct dune_tf *tf, uint64_t a[6])
{
	long pid = (long)a[0];
	int sig = (int)a[tf->rax == SYS_tgkill ? 2 : 1];

	if (tf->rax == SYS_kill ? pid != getpid() && pid != 0 :
	    tf->rax == SYS_tgkill ? pid != getpid() || !thread_is_ours((long)a[1]) :
	    !thread_is_ours(pid))
		return deny(a, -EPERM, "a signal to another process");
	if (sig < 0 || sig > 64)
		return -EINVAL;
	if (sig == 0 || sig_actions[sig][0] == (uintptr_t)SIG_IGN)
		return 0;
	if (sig_actions[sig][0] != (uintptr_t)SIG_DFL)
		return host(tf);	/* the host handler notes it (even blocked) */
	if (sig_mask & (1ULL << (sig - 1)) && sig != SIGKILL && sig != SIGSTOP)
		return 0;
	if (sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT)
		return 0;	/* ignored by default */
	sb_log("the program sent itself signal %d: ended as by that signal\n", sig);
	dune_ret_from_user(RUN_SIGNAL(sig));
}

/*
 * fork, vfork (run as a fork: the parent does not wait) and a clone with
 * fork's flags: the monitor forks (process.c).  A clone with thread flags
 * is a new thread (thread.c); other shared-memory clones are refused.
 */
static long sc_fork(struct dune_tf *tf, uint64_t a[6])
{
	struct pending_fork *f = &pending_fork;

	memset(f, 0, sizeof(*f));
	if (tf->rax == SYS_clone && a[0] & CLONE_VM)
		return sc_clone_thread(tf, a);
	if (tf->rax == SYS_clone) {
		if (sb_clone_kind(a[0], a[1]) != SB_CLONE_FORK)
			return deny(a, -EPERM, "clone flags not offered");
		if ((a[0] & CLONE_PARENT_SETTID && !mem_ok(a[2], 4, PROT_WRITE)) ||
		    (a[0] & CLONE_CHILD_SETTID && !mem_ok(a[3], 4, PROT_WRITE)))
			return deny(a, -EFAULT, "tid pointer not in the program's memory");
		f->flags = a[0];
		f->parent_tid = a[2];
		f->child_tid = a[3];
	}
	f->tf = *tf;
	dune_ret_from_user(RUN_FORK);
}

/* clone3 is not modelled: ENOSYS, on which glibc (pthread_create, fork,
 * posix_spawn) falls back to clone.  Not logged: every thread would log. */
static long sc_clone3(struct dune_tf *tf, uint64_t a[6])
{
	return -ENOSYS;
}

static long sc_ioctl(struct dune_tf *tf, uint64_t a[6])
{
	size_t in = 0, out = 0;

	switch (a[1]) {
	case TCGETS:
		out = sizeof(struct termios);
		break;
	case TCSETS: case TCSETSW: case TCSETSF:
		in = sizeof(struct termios);
		break;
	case TIOCGWINSZ:
		out = sizeof(struct winsize);
		break;
	case TIOCSWINSZ:
		in = sizeof(struct winsize);
		break;
	case TIOCGPGRP: case FIONREAD:
		out = sizeof(int);
		break;
	case FIOCLEX: case FIONCLEX:
		break;
	default:
		return deny(a, -EPERM, "ioctl request not modelled");
	}
	if ((in && !mem_ok(a[2], in, PROT_READ)) || (out && !mem_ok(a[2], out, PROT_WRITE)))
		return deny(a, -EFAULT, "buffer not in the program's memory");
	return host(tf);
}

static long sc_fcntl(struct dune_tf *tf, uint64_t a[6])
{
	switch (a[1]) {
	case F_DUPFD: case F_DUPFD_CLOEXEC: case F_GETFD: case F_SETFD:
	case F_GETFL: case F_SETFL:
	/* Integer arguments on the program's own descriptor (lighttpd sizes
	 * its pipes; memfd users seal theirs). */
	case F_GETPIPE_SZ: case F_SETPIPE_SZ: case F_GET_SEALS: case F_ADD_SEALS:
		return host(tf);
	case F_GETLK: case F_SETLK: case F_SETLKW:
	case F_OFD_GETLK: case F_OFD_SETLK: case F_OFD_SETLKW:
		if (!mem_ok(a[2], sizeof(struct flock), PROT_READ | PROT_WRITE))
			return deny(a, -EFAULT, "buffer not in the program's memory");
		return host(tf);
	}
	return deny(a, -EPERM, "fcntl command not modelled");
}

static long sc_prctl(struct dune_tf *tf, uint64_t a[6])
{
	if (a[0] == PR_GET_NAME && mem_ok(a[1], 16, PROT_WRITE))
		return host(tf);
	if (a[0] == PR_SET_NAME && mem_strlen(a[1], 16) >= 0)
		return host(tf);
	if (a[0] == PR_GET_NAME || a[0] == PR_SET_NAME)
		return deny(a, -EFAULT, "buffer not in the program's memory");
	return deny(a, -EPERM, "prctl option not modelled");
}

static long sc_prlimit(struct dune_tf *tf, uint64_t a[6])
{
	if (a[0] && (long)a[0] != getpid())
		return deny(a, -EPERM, "another process's limits");
	return host(tf);
}

static long sc_poll(struct dune_tf *tf, uint64_t a[6])
{
	if (a[1] > 4096 || !mem_ok(a[0], a[1] * 8, PROT_READ | PROT_WRITE))
		return deny(a, -EFAULT, "buffer not in the program's memory");
	return host(tf);
}

static long sc_getgroups(struct dune_tf *tf, uint64_t a[6])
{
	if (a[0] > 65536 || (a[0] && !mem_ok(a[1], a[0] * 4, PROT_WRITE)))
		return deny(a, -EFAULT, "buffer not in the program's memory");
	return host(tf);
}

/* Copy a NULL-terminated vector of strings out of the program. */
static char **copy_vec(uintptr_t v)
{
	char **out;
	int n = 0;

	if (!v)
		return calloc(1, sizeof(char *));
	while (n < 4096 && mem_ok(v + n * 8, 8, PROT_READ) && ((uintptr_t *)v)[n])
		n++;
	if (n == 4096 || !mem_ok(v + n * 8, 8, PROT_READ))
		return NULL;
	out = calloc(n + 1, sizeof(char *));
	for (int i = 0; out && i < n; i++) {
		uintptr_t s = ((uintptr_t *)v)[i];

		if (mem_strlen(s, 131072) < 0 || !(out[i] = strdup((const char *)s))) {
			free(out);	/* leaks the strings copied so far: exec fails anyway */
			return NULL;
		}
	}
	return out;
}

static long sc_execve(struct dune_tf *tf, uint64_t a[6])
{
	const char *abs = is_self_exe(pathbuf[0]) ? prog_path : pathbuf[0];
	char hdr[4];
	char **argv, **envp;
	int fd;

	if (threads_live() > 1)
		return deny(a, -EAGAIN, "execve with other threads running is not offered");
	if (access(abs, X_OK))
		return -errno;
	fd = open(abs, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (read(fd, hdr, 4) != 4 || (memcmp(hdr, "\177ELF", 4) && memcmp(hdr, "#!", 2))) {
		close(fd);
		return -ENOEXEC;
	}
	close(fd);
	mem_lock();
	argv = copy_vec(a[1]);
	envp = copy_vec(a[2]);
	mem_unlock();
	if (!argv || !envp)
		return deny(a, -EFAULT, "argv/envp not in the program's memory");
	snprintf(pending_exec.path, sizeof(pending_exec.path), "%s", abs);
	pending_exec.argv = argv;
	pending_exec.envp = envp;
	dune_ret_from_user(RUN_EXEC);
}

/* ------------------------------------------------------------------ table */

static const struct sc table[] = {
	[SYS_read] = { "read", NULL, { FD, OUTL(2), INT } },
	[SYS_write] = { "write", NULL, { FD, INL(2), INT } },
	[SYS_pread64] = { "pread64", NULL, { FD, OUTL(2), INT, INT } },
	[SYS_pwrite64] = { "pwrite64", NULL, { FD, INL(2), INT, INT } },
	[SYS_readv] = { "readv", NULL, { FD, IOVO(2), INT } },
	[SYS_writev] = { "writev", NULL, { FD, IOVI(2), INT } },
	[SYS_open] = { "open", sc_open, { PATH, INT, INT } },
	[SYS_openat] = { "openat", sc_open, { DIRFD, PATH, INT, INT } },
	[SYS_creat] = { "creat", sc_open, { PATH, INT } },
	[SYS_close] = { "close", NULL, { FD } },
	[SYS_stat] = { "stat", NULL, { PATH, OUT(STAT_SZ) } },
	[SYS_lstat] = { "lstat", NULL, { PATH, OUT(STAT_SZ) } },
	[SYS_fstat] = { "fstat", NULL, { FD, OUT(STAT_SZ) } },
	[SYS_newfstatat] = { "newfstatat", NULL, { DIRFD, PATH, OUT(STAT_SZ), INT } },
	[SYS_statx] = { "statx", NULL, { DIRFD, PATH, INT, INT, OUT(256) } },
	[SYS_statfs] = { "statfs", NULL, { PATH, OUT(120) } },
	[SYS_fstatfs] = { "fstatfs", NULL, { FD, OUT(120) } },
	[SYS_lseek] = { "lseek", NULL, { FD, INT, INT } },
	[SYS_access] = { "access", NULL, { PATH, INT } },
	[SYS_faccessat] = { "faccessat", NULL, { DIRFD, PATH, INT } },
	[SYS_faccessat2] = { "faccessat2", NULL, { DIRFD, PATH, INT, INT } },
	[SYS_getdents64] = { "getdents64", NULL, { FD, OUTL(2), INT } },
	[SYS_getcwd] = { "getcwd", NULL, { OUTL(1), INT } },
	[SYS_chdir] = { "chdir", NULL, { PATH } },
	[SYS_fchdir] = { "fchdir", NULL, { FD } },
	[SYS_dup] = { "dup", NULL, { FD } },
	[SYS_dup2] = { "dup2", NULL, { FD, FD } },
	[SYS_dup3] = { "dup3", NULL, { FD, FD, INT } },
	[SYS_pipe] = { "pipe", NULL, { OUT(8) } },
	[SYS_pipe2] = { "pipe2", NULL, { OUT(8), INT } },
	[SYS_fcntl] = { "fcntl", sc_fcntl, { FD, INT, INT } },
	[SYS_ioctl] = { "ioctl", sc_ioctl, { FD, INT, INT } },
	[SYS_readlink] = { "readlink", sc_readlink, { PATH, OUTL(2), INT } },
	[SYS_readlinkat] = { "readlinkat", sc_readlink, { DIRFD, PATH, OUTL(3), INT } },
	[SYS_unlink] = { "unlink", NULL, { PATH } },
	[SYS_unlinkat] = { "unlinkat", NULL, { DIRFD, PATH, INT } },
	[SYS_mkdir] = { "mkdir", NULL, { PATH, INT } },
	[SYS_mkdirat] = { "mkdirat", NULL, { DIRFD, PATH, INT } },
	[SYS_rmdir] = { "rmdir", NULL, { PATH } },
	[SYS_rename] = { "rename", NULL, { PATH, PATH } },
	[SYS_renameat] = { "renameat", NULL, { DIRFD, PATH, DIRFD, PATH } },
	[SYS_renameat2] = { "renameat2", NULL, { DIRFD, PATH, DIRFD, PATH, INT } },
	[SYS_link] = { "link", NULL, { PATH, PATH } },
	[SYS_linkat] = { "linkat", NULL, { DIRFD, PATH, DIRFD, PATH, INT } },
	[SYS_symlink] = { "symlink", NULL, { PATH, PATH } },
	[SYS_symlinkat] = { "symlinkat", NULL, { PATH, DIRFD, PATH } },
	[SYS_chmod] = { "chmod", NULL, { PATH, INT } },
	[SYS_fchmod] = { "fchmod", NULL, { FD, INT } },
	[SYS_fchmodat] = { "fchmodat", NULL, { DIRFD, PATH, INT } },
	[SYS_chown] = { "chown", NULL, { PATH, INT, INT } },
	[SYS_lchown] = { "lchown", NULL, { PATH, INT, INT } },
	[SYS_fchown] = { "fchown", NULL, { FD, INT, INT } },
	[SYS_fchownat] = { "fchownat", NULL, { DIRFD, PATH, INT, INT, INT } },
	[SYS_truncate] = { "truncate", NULL, { PATH, INT } },
	[SYS_ftruncate] = { "ftruncate", NULL, { FD, INT } },
	[SYS_fsync] = { "fsync", NULL, { FD } },
	[SYS_fdatasync] = { "fdatasync", NULL, { FD } },
	[SYS_fadvise64] = { "fadvise64", NULL, { FD, INT, INT, INT } },
	[SYS_utimensat] = { "utimensat", NULL, { DIRFD, PATH_OPT, IN_OPT(2 * TS_SZ), INT } },
	[SYS_sendfile] = { "sendfile", NULL, { FD, FD, INOUT_OPT(8), INT } },
	[SYS_umask] = { "umask", NULL, { INT } },
	[SYS_getpid] = { "getpid", NULL, { } },
	[SYS_getppid] = { "getppid", NULL, { } },
	[SYS_gettid] = { "gettid", NULL, { } },
	[SYS_getuid] = { "getuid", NULL, { } },
	[SYS_geteuid] = { "geteuid", NULL, { } },
	[SYS_getgid] = { "getgid", NULL, { } },
	[SYS_getegid] = { "getegid", NULL, { } },
	[SYS_getpgrp] = { "getpgrp", NULL, { } },
	[SYS_getpgid] = { "getpgid", NULL, { INT } },
	[SYS_getsid] = { "getsid", NULL, { INT } },
	[SYS_getgroups] = { "getgroups", sc_getgroups, { INT, INT } },
	[SYS_uname] = { "uname", NULL, { OUT(390) } },
	[SYS_sysinfo] = { "sysinfo", NULL, { OUT(112) } },
	[SYS_times] = { "times", NULL, { OUT_OPT(32) } },
	[SYS_getrusage] = { "getrusage", NULL, { INT, OUT(144) } },
	[SYS_getrlimit] = { "getrlimit", NULL, { INT, OUT(16) } },
	[SYS_prlimit64] = { "prlimit64", sc_prlimit, { INT, INT, IN_OPT(16), OUT_OPT(16) } },
	[SYS_getrandom] = { "getrandom", NULL, { OUTL(1), INT, INT } },
	[SYS_clock_gettime] = { "clock_gettime", NULL, { INT, OUT(TS_SZ) } },
	[SYS_clock_getres] = { "clock_getres", NULL, { INT, OUT_OPT(TS_SZ) } },
	[SYS_gettimeofday] = { "gettimeofday", NULL, { OUT_OPT(16), OUT_OPT(8) } },
	[SYS_time] = { "time", NULL, { OUT_OPT(8) } },
	[SYS_nanosleep] = { "nanosleep", NULL, { IN(TS_SZ), OUT_OPT(TS_SZ) } },
	[SYS_clock_nanosleep] = { "clock_nanosleep", NULL, { INT, INT, IN(TS_SZ), OUT_OPT(TS_SZ) } },
	[SYS_sched_yield] = { "sched_yield", NULL, { } },
	[SYS_sched_getaffinity] = { "sched_getaffinity", NULL, { INT, INT, OUTL(1) } },
	[SYS_poll] = { "poll", sc_poll, { INT, INT, INT } },
	[SYS_wait4] = { "wait4", NULL, { INT, OUT_OPT(4), INT, OUT_OPT(144) } },
	[SYS_madvise] = { "madvise", NULL, { RANGE(1), INT, INT } },
	[SYS_msync] = { "msync", NULL, { RANGE(1), INT, INT } },
	[SYS_mmap] = { "mmap", sc_mmap, { INT, INT, INT, INT, INT, INT } },
	[SYS_munmap] = { "munmap", sc_munmap, { INT, INT } },
	[SYS_mprotect] = { "mprotect", sc_mprotect, { INT, INT, INT } },
	[SYS_mremap] = { "mremap", sc_mremap, { INT, INT, INT, INT, INT } },
	[SYS_brk] = { "brk", sc_brk, { INT } },
	[SYS_arch_prctl] = { "arch_prctl", sc_arch_prctl, { INT, INT } },
	[SYS_exit] = { "exit", sc_exit, { INT } },
	[SYS_exit_group] = { "exit_group", sc_exit, { INT } },
	[SYS_rt_sigaction] = { "rt_sigaction", sc_sigaction, { INT, IN_OPT(32), OUT_OPT(32), INT } },
	[SYS_rt_sigprocmask] = { "rt_sigprocmask", sc_sigprocmask,
				 { INT, IN_OPT(8), OUT_OPT(8), INT } },
	[SYS_rt_sigreturn] = { "rt_sigreturn", sc_sigreturn, { } },
	[SYS_rt_sigsuspend] = { "rt_sigsuspend", sc_sigsuspend, { IN(8), INT } },
	[SYS_rt_sigpending] = { "rt_sigpending", sc_sigpending, { OUT(8), INT } },
	[SYS_pause] = { "pause", NULL, { } },
	[SYS_sigaltstack] = { "sigaltstack", sc_sigaltstack, { IN_OPT(24), OUT_OPT(24) } },
	[SYS_set_tid_address] = { "set_tid_address", sc_set_tid_address, { INT } },
	[SYS_futex] = { "futex", sc_futex, { INT, INT, INT, INT, INT, INT } },
	[SYS_set_robust_list] = { "set_robust_list", sc_zero, { INT, INT } },
	[SYS_rseq] = { "rseq", sc_nosys, { INT, INT, INT, INT } },
	[SYS_kill] = { "kill", sc_kill, { INT, INT } },
	[SYS_tkill] = { "tkill", sc_kill, { INT, INT } },
	[SYS_tgkill] = { "tgkill", sc_kill, { INT, INT, INT } },
	[SYS_prctl] = { "prctl", sc_prctl, { INT, INT, INT, INT, INT } },
	[SYS_execve] = { "execve", sc_execve, { PATH, INT, INT } },
	[SYS_clone] = { "clone", sc_fork, { INT, INT, INT, INT, INT } },
	[SYS_clone3] = { "clone3", sc_clone3, { INT, INT } },
	[SYS_fork] = { "fork", sc_fork, { } },
	[SYS_vfork] = { "vfork", sc_fork, { } },
	[SYS_socket] = { "socket", sc_socket, { INT, INT, INT } },
	[SYS_connect] = { "connect", NULL, { FD, INL(2), INT } },
	[SYS_bind] = { "bind", NULL, { FD, INL(2), INT } },
	[SYS_listen] = { "listen", NULL, { FD, INT } },
	[SYS_shutdown] = { "shutdown", NULL, { FD, INT } },
	[SYS_sendto] = { "sendto", NULL, { FD, INL(2), INT, INT, INL_OPT(5), INT } },
	[SYS_socketpair] = { "socketpair", sc_socket, { INT, INT, INT, OUT(8) } },
	[SYS_accept] = { "accept", sc_sockaddr_out, { FD, INT, INT } },
	[SYS_accept4] = { "accept4", sc_sockaddr_out, { FD, INT, INT, INT } },
	[SYS_getsockname] = { "getsockname", sc_sockaddr_out, { FD, INT, INT } },
	[SYS_getpeername] = { "getpeername", sc_sockaddr_out, { FD, INT, INT } },
	[SYS_recvfrom] = { "recvfrom", sc_recvfrom, { FD, OUTL(2), INT, INT, INT, INT } },
	[SYS_setsockopt] = { "setsockopt", NULL, { FD, INT, INT, INL_OPT(4), INT } },
	[SYS_getsockopt] = { "getsockopt", sc_getsockopt, { FD, INT, INT, INT, INT } },
	[SYS_sendmsg] = { "sendmsg", sc_sendmsg, { FD, INT, INT } },
	[SYS_recvmsg] = { "recvmsg", sc_recvmsg, { FD, INT, INT } },
	[SYS_sendmmsg] = { "sendmmsg", sc_mmsg, { FD, INT, INT, INT } },
	[SYS_recvmmsg] = { "recvmmsg", sc_mmsg, { FD, INT, INT, INT, INT } },
	[SYS_epoll_create] = { "epoll_create", NULL, { INT } },
	[SYS_epoll_create1] = { "epoll_create1", NULL, { INT } },
	[SYS_epoll_ctl] = { "epoll_ctl", NULL, { FD, INT, FD, IN_OPT(12) } },
	[SYS_epoll_wait] = { "epoll_wait", sc_epoll_wait, { FD, INT, INT, INT } },
	[SYS_epoll_pwait] = { "epoll_pwait", sc_epoll_wait, { FD, INT, INT, INT, INT, INT } },
	[SYS_epoll_pwait2] = { "epoll_pwait2", sc_epoll_wait, { FD, INT, INT, INT, INT, INT } },
	[SYS_select] = { "select", sc_select, { INT, INT, INT, INT, INT } },
	[SYS_pselect6] = { "pselect6", sc_select, { INT, INT, INT, INT, INT, INT } },
	[SYS_ppoll] = { "ppoll", sc_ppoll, { INT, INT, INT, INT, INT } },
	[SYS_eventfd] = { "eventfd", NULL, { INT } },
	[SYS_eventfd2] = { "eventfd2", NULL, { INT, INT } },
	[SYS_timerfd_create] = { "timerfd_create", NULL, { INT, INT } },
	[SYS_timerfd_settime] = { "timerfd_settime", NULL, { FD, INT, IN(32), OUT_OPT(32) } },
	[SYS_timerfd_gettime] = { "timerfd_gettime", NULL, { FD, OUT(32) } },
	[SYS_alarm] = { "alarm", NULL, { INT } },
	[SYS_getitimer] = { "getitimer", NULL, { INT, OUT(32) } },
	[SYS_setitimer] = { "setitimer", NULL, { INT, IN(32), OUT_OPT(32) } },
	[SYS_flock] = { "flock", NULL, { FD, INT } },
};

#define N_TABLE	(sizeof(table) / sizeof(table[0]))

/*
 * What sb_syscall needs to know of each call before its checks, worked out
 * once: whether the policy denies it (its rules are matched by name), and
 * whether any argument is checked against the region table (only then is
 * the region lock taken: a call of numbers and descriptors needs none).
 */
#define SC_DENIED	0x1
#define SC_MEMORY	0x2
static uint8_t sc_flags[N_TABLE];

static uint8_t sc_flags_of(const struct sc *s)
{
	uint8_t f = policy_syscall_denied(s->name) ? SC_DENIED : 0;

	for (int i = 0; i < 6; i++)
		if (s->args[i].kind != A_INT && s->args[i].kind != A_FD &&
		    s->args[i].kind != A_DIRFD)
			f |= SC_MEMORY;
	return f;
}

/* After policy_load(). */
void syscalls_init(void)
{
	dune_report_restart_codes(true);
	struct stat st;

	if (!stat("/proc/self", &st))
		proc_dev = st.st_dev;
	for (size_t nr = 0; nr < N_TABLE; nr++)
		if (table[nr].name)
			sc_flags[nr] = sc_flags_of(&table[nr]);
}

void sb_syscall(struct dune_tf *tf)
{
	uint64_t a[6] = { ARG0(tf), ARG1(tf), ARG2(tf), ARG3(tf), ARG4(tf), ARG5(tf) };
	uint64_t nr = tf->rax;
	long r;

	__atomic_fetch_add(&n_syscalls, 1, __ATOMIC_RELAXED);
	substituted = 0;	/* an execve that went through never put its back */
	cur = nr < N_TABLE && table[nr].name ? &table[nr] : NULL;
	if (!cur) {
		log_call(NULL, nr, a, -ENOSYS, "system call not modelled by the sandbox");
		tf->rax = -ENOSYS;
		return;
	}
	if (sc_flags[nr] & SC_DENIED) {
		tf->rax = deny(a, -EPERM, "system call denied by the policy");
		return;
	}
	/* Checks and copies see one region table and one memory: no sibling
	 * thread maps or unmaps in between. */
	if (sc_flags[nr] & SC_MEMORY) {
		mem_lock();
		r = check_args(tf, cur, a);
		mem_unlock();
	} else {
		r = check_args(tf, cur, a);
	}
	if (!r)
		r = cur->fn ? cur->fn(tf, a) : host(tf);
	put_back_args(tf, a);
	if (sb_is_restart_code(r))	/* interrupted by a signal */
		r = sig_interrupted(tf, nr, r);
	tf->rax = r;
	sig_deliver_pending(tf);
}
