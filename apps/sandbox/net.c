// SPDX-License-Identifier: GPL-2.0
/*
 * The program's sockets and event loops: the calls whose memory arguments
 * do not fit the table's fixed shapes in syscalls.c, because a length sits
 * behind a pointer (socklen_t *), inside a structure (struct msghdr), or is
 * a count of fixed-size records (epoll events, fd_set bits).
 *
 * Descriptors passed with SCM_RIGHTS are checked like any descriptor
 * argument: the monitor's own (the log, /dev/dune) never leave the
 * process through a socket.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "sandbox.h"

#define ADDR_MAX	128	/* sizeof(struct sockaddr_storage): the kernel's limit */
#define IOV_MAX_SB	1024
#define EPOLL_EVENT_SZ	12	/* struct epoll_event is packed on x86-64 */

static bool fd_is_monitors(long fd)
{
	return fd >= 0 && fd < 1024 && monitor_fd[fd];
}

/*
 * What the kernel reads twice -- a length behind a pointer, a message
 * header, its iovec array and control data -- is copied into this thread's
 * monitor memory under the region lock and checked there, and the call
 * gets the copy (sb_substitute); the lengths and header fields the kernel
 * writes back are copied out to the program afterwards.  A sibling thread
 * (or another process sharing the memory) rewriting the program's copy
 * after the check changes nothing the kernel uses.
 */
static __thread int32_t len_copy;
#define MMSG_MAX	64		/* messages of one sendmmsg/recvmmsg */
#define CTL_POOL	16384		/* control bytes of the messages sent */
static __thread struct mmsghdr msgs[MMSG_MAX];
static __thread struct iovec iov_pool[IOV_MAX_SB];
static __thread char ctl_pool[CTL_POOL];

/*
 * A buffer @a[buf_i] of *@a[len_i] bytes the kernel writes, the length read
 * and written back (a socket address: at most ADDR_MAX; an option value).
 * A NULL socket address leaves both to the kernel (accept ignores them).
 */
static long len_buffer(struct dune_tf *tf, uint64_t a[6], int buf_i, int len_i, bool addr)
{
	uintptr_t lenp = a[len_i];
	const char *bad = NULL;
	long r;

	if (addr && !a[buf_i])
		return sb_host(tf);
	mem_lock();
	if (!mem_ok(lenp, sizeof(int32_t), PROT_READ | PROT_WRITE)) {
		bad = addr ? "address length not in the program's memory" :
			     "option length not in the program's memory";
	} else {
		int32_t len = *(int32_t *)lenp;

		len_copy = len;
		if (addr && len > ADDR_MAX)
			len = ADDR_MAX;
		if (len > 0 && !mem_ok(a[buf_i], len, PROT_WRITE))
			bad = addr ? "address buffer not in the program's memory" :
				     "option buffer not in the program's memory";
		else
			sb_substitute(tf, a, len_i, &len_copy);
	}
	mem_unlock();
	if (bad)
		return sb_deny(a, -EFAULT, bad);
	r = sb_host(tf);
	if (r >= 0) {
		mem_lock();
		if (mem_ok(lenp, sizeof(int32_t), PROT_WRITE))
			*(int32_t *)lenp = len_copy;
		mem_unlock();
	}
	return r;
}

/* accept(fd, addr, lenp), accept4(fd, addr, lenp, flags),
 * getsockname and getpeername(fd, addr, lenp) */
long sc_sockaddr_out(struct dune_tf *tf, uint64_t a[6])
{
	return len_buffer(tf, a, 1, 2, true);
}

/* recvfrom(fd, buf, len, flags, addr, lenp): buf is checked by the table */
long sc_recvfrom(struct dune_tf *tf, uint64_t a[6])
{
	return len_buffer(tf, a, 4, 5, true);
}

/* getsockopt(fd, level, name, val, lenp): val gets at most *lenp bytes */
long sc_getsockopt(struct dune_tf *tf, uint64_t a[6])
{
	return len_buffer(tf, a, 3, 4, false);
}

/* Descriptors in SCM_RIGHTS messages: none may be the monitor's. */
static const char *rights_bad(const struct msghdr *m)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		size_t n;
		const int *fds = (const int *)CMSG_DATA(c);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		if (c->cmsg_len < CMSG_LEN(0))
			break;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++)
			if (fd_is_monitors(fds[i]))
				return "a descriptor of the monitor in SCM_RIGHTS";
	}
	return NULL;
}

/* Free room in this call's pools. */
struct pools {
	size_t iov, ctl;
};

/*
 * The struct msghdr at @p into @m, its iovec array and (sent) control data
 * into the pools, each checked: @out for recvmsg (the kernel writes the
 * name, the buffers, the control data), else sendmsg (it reads them).
 * The caller holds the region lock.
 */
static const char *msghdr_copy(uint64_t p, bool out, struct msghdr *m, struct pools *pl)
{
	int prot = out ? PROT_WRITE : PROT_READ;
	struct iovec *iov = iov_pool + pl->iov;

	if (!mem_ok(p, sizeof(*m), out ? PROT_READ | PROT_WRITE : PROT_READ))
		return "message header not in the program's memory";
	*m = *(const struct msghdr *)p;
	if (m->msg_name && m->msg_namelen &&
	    !mem_ok((uintptr_t)m->msg_name,
		    m->msg_namelen < ADDR_MAX || !out ? m->msg_namelen : ADDR_MAX, prot))
		return "message address not in the program's memory";
	if (m->msg_iovlen > IOV_MAX_SB - pl->iov ||
	    !mem_ok((uintptr_t)m->msg_iov, m->msg_iovlen * sizeof(*iov), PROT_READ))
		return "iovec not in the program's memory";
	memcpy(iov, m->msg_iov, m->msg_iovlen * sizeof(*iov));
	m->msg_iov = iov;
	pl->iov += m->msg_iovlen;
	for (size_t k = 0; k < m->msg_iovlen; k++)
		if (!mem_ok((uintptr_t)iov[k].iov_base, iov[k].iov_len, prot))
			return "buffer not in the program's memory";
	if (!m->msg_control || !m->msg_controllen)
		return NULL;
	if (!mem_ok((uintptr_t)m->msg_control, m->msg_controllen, prot))
		return "control data not in the program's memory";
	if (out)
		return NULL;
	if (m->msg_controllen > CTL_POOL - pl->ctl)
		return "control data too long";
	memcpy(ctl_pool + pl->ctl, m->msg_control, m->msg_controllen);
	m->msg_control = ctl_pool + pl->ctl;
	pl->ctl += (m->msg_controllen + 7) & ~7UL;
	return rights_bad(m);
}

/* What recvmsg wrote into the header copy, back into the program's. */
static void msghdr_out(uint64_t p, const struct msghdr *m)
{
	struct msghdr *u = (struct msghdr *)p;

	if (!mem_ok(p, sizeof(*u), PROT_WRITE))
		return;
	u->msg_namelen = m->msg_namelen;
	u->msg_controllen = m->msg_controllen;
	u->msg_flags = m->msg_flags;
}

static long msg_deny(uint64_t a[6], const char *bad)
{
	if (strstr(bad, "SCM_RIGHTS"))
		return sb_deny(a, -EBADF, bad);
	return sb_deny(a, strstr(bad, "too long") ? -ENOBUFS : -EFAULT, bad);
}

/* sendmsg(fd, msg, flags), recvmsg(fd, msg, flags) */
static long one_msg(struct dune_tf *tf, uint64_t a[6], bool out)
{
	struct pools pl = { 0, 0 };
	uintptr_t p = a[1];
	const char *bad;
	long r;

	mem_lock();
	bad = msghdr_copy(p, out, &msgs[0].msg_hdr, &pl);
	if (!bad)
		sb_substitute(tf, a, 1, &msgs[0].msg_hdr);
	mem_unlock();
	if (bad)
		return msg_deny(a, bad);
	r = sb_host(tf);
	if (out && r >= 0) {
		mem_lock();
		msghdr_out(p, &msgs[0].msg_hdr);
		mem_unlock();
	}
	return r;
}

long sc_sendmsg(struct dune_tf *tf, uint64_t a[6])
{
	return one_msg(tf, a, false);
}

long sc_recvmsg(struct dune_tf *tf, uint64_t a[6])
{
	return one_msg(tf, a, true);
}

/* sendmmsg/recvmmsg(fd, struct mmsghdr *vec, n, flags[, timeout]): at most
 * MMSG_MAX messages in one call (the kernel may do fewer too). */
long sc_mmsg(struct dune_tf *tf, uint64_t a[6])
{
	bool out = tf->rax == SYS_recvmmsg;
	struct mmsghdr *v = (struct mmsghdr *)a[1];
	struct pools pl = { 0, 0 };
	const char *bad = NULL;
	uint32_t n = a[2] < MMSG_MAX ? a[2] : MMSG_MAX;
	long r;

	mem_lock();
	if (!mem_ok(a[1], n * sizeof(*v), PROT_READ | PROT_WRITE))
		bad = "message vector not in the program's memory";
	for (uint32_t i = 0; !bad && i < n; i++) {
		bad = msghdr_copy((uintptr_t)&v[i].msg_hdr, out, &msgs[i].msg_hdr, &pl);
		msgs[i].msg_len = 0;
	}
	if (!bad && out && a[4] && !mem_ok(a[4], 16, PROT_READ | PROT_WRITE))
		bad = "timeout not in the program's memory";
	if (!bad) {
		sb_substitute(tf, a, 1, msgs);
		sb_substitute(tf, a, 2, (const void *)(uintptr_t)n);	/* a count */
	}
	mem_unlock();
	if (bad)
		return msg_deny(a, bad);
	r = sb_host(tf);
	mem_lock();
	for (long i = 0; i < r; i++) {
		if (!mem_ok((uintptr_t)&v[i], sizeof(*v), PROT_WRITE))
			break;
		v[i].msg_len = msgs[i].msg_len;
		if (out)
			msghdr_out((uintptr_t)&v[i].msg_hdr, &msgs[i].msg_hdr);
	}
	mem_unlock();
	return r;
}

/* epoll_wait(epfd, events, max, timeout), epoll_pwait(..., mask, size),
 * epoll_pwait2(..., const struct timespec *, mask, size) */
long sc_epoll_wait(struct dune_tf *tf, uint64_t a[6])
{
	int max = (int)a[2];

	if (max > 0 && (max > (1 << 20) || !mem_ok(a[1], (size_t)max * EPOLL_EVENT_SZ, PROT_WRITE)))
		return sb_deny(a, -EFAULT, "event buffer not in the program's memory");
	if (tf->rax == SYS_epoll_pwait2 && a[3] && !mem_ok(a[3], 16, PROT_READ))
		return sb_deny(a, -EFAULT, "timeout not in the program's memory");
	if (tf->rax != SYS_epoll_wait && a[4] && !mem_ok(a[4], 8, PROT_READ))
		return sb_deny(a, -EFAULT, "signal mask not in the program's memory");
	return sb_host(tf);
}

/* select(n, r, w, e, tv) and pselect6(n, r, w, e, ts, sigmask data) */
long sc_select(struct dune_tf *tf, uint64_t a[6])
{
	bool p6 = tf->rax == SYS_pselect6;
	int n = (int)a[0];
	size_t bytes;

	if (n < 0 || n > FD_SETSIZE * 16)
		return sb_host(tf);	/* the kernel's EINVAL */
	bytes = ((size_t)n + 63) / 64 * 8;
	for (int i = 1; i <= 3; i++)
		if (a[i] && !mem_ok(a[i], bytes, PROT_READ | PROT_WRITE))
			return sb_deny(a, -EFAULT, "descriptor set not in the program's memory");
	if (a[4] && !mem_ok(a[4], 16, PROT_READ | PROT_WRITE))
		return sb_deny(a, -EFAULT, "timeout not in the program's memory");
	if (p6 && a[5]) {
		/* { const sigset_t *ss; size_t ss_len; }: the kernel reads the
		 * pointer again, so it gets a copy of the pair. */
		static __thread uint64_t d[2];
		const char *bad = NULL;

		mem_lock();
		if (!mem_ok(a[5], 16, PROT_READ))
			bad = "signal mask not in the program's memory";
		else
			memcpy(d, (const void *)a[5], sizeof(d));
		if (!bad && d[0] && !mem_ok(d[0], 8, PROT_READ))
			bad = "signal mask not in the program's memory";
		if (!bad)
			sb_substitute(tf, a, 5, d);
		mem_unlock();
		if (bad)
			return sb_deny(a, -EFAULT, bad);
	}
	return sb_host(tf);
}

/* ppoll(fds, n, ts, sigmask, size) */
long sc_ppoll(struct dune_tf *tf, uint64_t a[6])
{
	if (a[1] > 4096 || !mem_ok(a[0], a[1] * 8, PROT_READ | PROT_WRITE))
		return sb_deny(a, -EFAULT, "buffer not in the program's memory");
	if (a[2] && !mem_ok(a[2], 16, PROT_READ))
		return sb_deny(a, -EFAULT, "timeout not in the program's memory");
	if (a[3] && !mem_ok(a[3], 8, PROT_READ))
		return sb_deny(a, -EFAULT, "signal mask not in the program's memory");
	return sb_host(tf);
}

/* socket() and socketpair(): the policy may deny sockets */
long sc_socket(struct dune_tf *tf, uint64_t a[6])
{
	if (policy_socket_denied())
		return sb_deny(a, -EPERM, "sockets denied by the policy");
	return sb_host(tf);
}
