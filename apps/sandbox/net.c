// SPDX-License-Identifier: GPL-2.0
/*
 * The program's sockets and event loops: the calls whose memory arguments
 * do not fit the table's fixed shapes in syscalls.c, because a length sits
 * behind a pointer (socklen_t *), inside a structure (struct msghdr), or is
 * a count of fixed-size records (epoll events, fd_set bits).  Each check
 * reads the program's values once; the program has one thread, so they
 * cannot change before the host kernel reads them again.
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
 * A socket address the kernel writes (accept, getpeername, recvfrom,
 * getsockname): *@lenp is read and written, @addr gets at most
 * min(*@lenp, ADDR_MAX) bytes.  Both NULL is allowed where the kernel
 * ignores them (accept); a negative length is the kernel's EINVAL.
 */
static const char *sockaddr_out_bad(uint64_t addr, uint64_t lenp)
{
	int32_t len;

	if (!addr)
		return NULL;
	if (!mem_ok(lenp, sizeof(uint32_t), PROT_READ | PROT_WRITE))
		return "address length not in the program's memory";
	len = *(int32_t *)lenp;
	if (len > 0 && !mem_ok(addr, len < ADDR_MAX ? len : ADDR_MAX, PROT_WRITE))
		return "address buffer not in the program's memory";
	return NULL;
}

static long checked(struct dune_tf *tf, uint64_t a[6], const char *bad)
{
	return bad ? sb_deny(a, -EFAULT, bad) : sb_host(tf);
}

/* accept(fd, addr, lenp), accept4(fd, addr, lenp, flags),
 * getsockname and getpeername(fd, addr, lenp) */
long sc_sockaddr_out(struct dune_tf *tf, uint64_t a[6])
{
	return checked(tf, a, sockaddr_out_bad(a[1], a[2]));
}

/* recvfrom(fd, buf, len, flags, addr, lenp): buf is checked by the table */
long sc_recvfrom(struct dune_tf *tf, uint64_t a[6])
{
	return checked(tf, a, sockaddr_out_bad(a[4], a[5]));
}

/* getsockopt(fd, level, name, val, lenp): val gets at most *lenp bytes */
long sc_getsockopt(struct dune_tf *tf, uint64_t a[6])
{
	int32_t len;

	if (!mem_ok(a[4], sizeof(uint32_t), PROT_READ | PROT_WRITE))
		return sb_deny(a, -EFAULT, "option length not in the program's memory");
	len = *(int32_t *)a[4];
	if (len > 0 && !mem_ok(a[3], len, PROT_WRITE))
		return sb_deny(a, -EFAULT, "option buffer not in the program's memory");
	return sb_host(tf);
}

static const char *iov_bad(const struct iovec *iov, size_t n, int prot)
{
	if (n > IOV_MAX_SB || !mem_ok((uintptr_t)iov, n * sizeof(*iov), PROT_READ))
		return "iovec not in the program's memory";
	for (size_t k = 0; k < n; k++)
		if (!mem_ok((uintptr_t)iov[k].iov_base, iov[k].iov_len, prot))
			return "buffer not in the program's memory";
	return NULL;
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

/*
 * One struct msghdr: @out for recvmsg (the kernel writes the name, the
 * buffers, the control data and the lengths), else sendmsg (it reads them).
 */
static const char *msghdr_bad(uint64_t p, bool out)
{
	const struct msghdr *m = (const struct msghdr *)p;
	int prot = out ? PROT_WRITE : PROT_READ;
	const char *bad;

	if (!mem_ok(p, sizeof(*m), out ? PROT_READ | PROT_WRITE : PROT_READ))
		return "message header not in the program's memory";
	if (m->msg_name && m->msg_namelen &&
	    !mem_ok((uintptr_t)m->msg_name,
		    m->msg_namelen < ADDR_MAX || !out ? m->msg_namelen : ADDR_MAX, prot))
		return "message address not in the program's memory";
	bad = iov_bad(m->msg_iov, m->msg_iovlen, prot);
	if (bad)
		return bad;
	if (m->msg_control && m->msg_controllen &&
	    !mem_ok((uintptr_t)m->msg_control, m->msg_controllen, prot))
		return "control data not in the program's memory";
	if (!out && m->msg_control && m->msg_controllen)
		return rights_bad(m);
	return NULL;
}

/* sendmsg(fd, msg, flags) */
long sc_sendmsg(struct dune_tf *tf, uint64_t a[6])
{
	const char *bad = msghdr_bad(a[1], false);

	if (bad && strstr(bad, "SCM_RIGHTS"))
		return sb_deny(a, -EBADF, bad);
	return checked(tf, a, bad);
}

/* recvmsg(fd, msg, flags) */
long sc_recvmsg(struct dune_tf *tf, uint64_t a[6])
{
	return checked(tf, a, msghdr_bad(a[1], true));
}

/* sendmmsg/recvmmsg(fd, struct mmsghdr *vec, n, flags[, timeout]) */
long sc_mmsg(struct dune_tf *tf, uint64_t a[6])
{
	bool out = tf->rax == SYS_recvmmsg;
	struct mmsghdr *v = (struct mmsghdr *)a[1];
	uint32_t n = a[2];

	if (n > IOV_MAX_SB || !mem_ok(a[1], n * sizeof(*v), PROT_READ | PROT_WRITE))
		return sb_deny(a, -EFAULT, "message vector not in the program's memory");
	for (uint32_t i = 0; i < n; i++) {
		const char *bad = msghdr_bad((uintptr_t)&v[i].msg_hdr, out);

		if (bad)
			return sb_deny(a, strstr(bad, "SCM_RIGHTS") ? -EBADF : -EFAULT, bad);
	}
	if (out && a[4] && !mem_ok(a[4], 16, PROT_READ | PROT_WRITE))
		return sb_deny(a, -EFAULT, "timeout not in the program's memory");
	return sb_host(tf);
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
		/* { const sigset_t *ss; size_t ss_len; } */
		const uint64_t *d = (const uint64_t *)a[5];

		if (!mem_ok(a[5], 16, PROT_READ) || (d[0] && !mem_ok(d[0], 8, PROT_READ)))
			return sb_deny(a, -EFAULT, "signal mask not in the program's memory");
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
