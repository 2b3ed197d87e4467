// SPDX-License-Identifier: GPL-2.0
/*
 * `wedge server N`: a toy request/response server.  A client process sends
 * N requests over a SOCK_SEQPACKET socketpair; the server reads each into
 * a request tag and handles it in a fresh sthread that may read only that
 * tag and write only the response tag.  Some requests are malicious: one
 * makes the handler read the server's secret (its sthread faults and the
 * client gets an error), one makes it write(2) the secret to the client
 * (refused).  The client checks every answer and that the secret never
 * reached it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dune/dune.h>

#include "sthread.h"
#include "wedge.h"

#define MSG_MAX	256

static char server_secret[64] = "SECRET-KEY-0123456789";

struct req {
	int fd;		/* the connection, for the write(2) attack */
	int len;
	char data[MSG_MAX];
};

struct resp {
	int len;
	char data[MSG_MAX];
};

/* Runs in the sthread: only string handling by hand, no libc state. */
static int put(char *dst, int at, const char *s, int n)
{
	int i;

	for (i = 0; i < n && at < MSG_MAX; i++)
		dst[at++] = s[i];
	return at;
}

static bool eq(const char *a, const char *b, int n)
{
	while (n--)
		if (*a++ != *b++)
			return false;
	return true;
}

static long handle(void *arg)
{
	const struct req *rq = arg;
	struct resp *rs = (struct resp *)((char *)arg + 4096);	/* the next tag */
	int n = 0, i;

	if (rq->len == 4 && eq(rq->data, "LEAK", 4)) {
		n = put(rs->data, 0, server_secret, 21);	/* faults */
	} else if (rq->len == 5 && eq(rq->data, "LEAKW", 5)) {
		long r = st_write(rq->fd, server_secret, 21);

		n = put(rs->data, 0, "WRITE ", 6);
		n = put(rs->data, n, r == -EPERM ? "EPERM" : "DONE?", 5);
	} else {
		n = put(rs->data, 0, "OK ", 3);
		for (i = rq->len - 1; i >= 0; i--)	/* the request reversed */
			n = put(rs->data, n, &rq->data[i], 1);
	}
	rs->len = n;
	return n;
}

static void reverse(const char *s, int len, char *out)
{
	int i;

	for (i = 0; i < len; i++)
		out[i] = s[len - 1 - i];
	out[len] = 0;
}

/* The client: plain Linux process.  Exit 0 when every answer is right. */
static int client(int fd, int n)
{
	char msg[MSG_MAX + 1], want[MSG_MAX + 1], rq[64];
	int i, bad = 0, leaks = 0, faults = 0, refused = 0;
	ssize_t len;

	for (i = 0; i < n; i++) {
		if (i == n / 3)
			strcpy(rq, "LEAK");
		else if (i == 2 * n / 3)
			strcpy(rq, "LEAKW");
		else
			snprintf(rq, sizeof(rq), "request-%d", i);
		if (send(fd, rq, strlen(rq), 0) < 0)
			return 3;
		len = recv(fd, msg, MSG_MAX, 0);
		if (len <= 0)
			return 4;
		msg[len] = 0;
		if (strstr(msg, "SECRET"))
			leaks++;
		if (!strcmp(rq, "LEAK")) {
			faults += !strncmp(msg, "ERR fault at ", 13);
			continue;
		}
		if (!strcmp(rq, "LEAKW")) {
			refused += !strcmp(msg, "WRITE EPERM");
			continue;
		}
		strcpy(want, "OK ");
		reverse(rq, strlen(rq), want + 3);
		bad += strcmp(msg, want) != 0;
	}
	printf("# client: %d requests, %d wrong answers, %d leaks, %d faults reported, "
	       "%d write attacks refused\n", n, bad, leaks, faults, refused);
	return bad || leaks || faults != 1 || refused != 1;
}

static int serve(int fd, int n, int *served, int *faulted, uintptr_t *fault_addr)
{
	tag_t treq, tresp;
	struct sthread_fault f;
	struct req *rq;
	struct resp *rs;
	sthread_t *st;
	long ret;
	ssize_t len;
	sc_t sc;
	int r, i;

	/* Adjacent tags: the handler finds its response page after the request. */
	if (tag_new(&treq, 2 * 4096))
		return -ENOMEM;
	tresp.base = (char *)treq.base + 4096;
	tresp.len = 4096;
	treq.len = 4096;
	rq = treq.base;
	rs = tresp.base;
	for (i = 0; i < n; i++) {
		len = recv(fd, rq->data, MSG_MAX, 0);
		if (len <= 0)
			return -EIO;
		rq->len = len;
		rq->fd = fd;
		memset(rs, 0, sizeof(*rs));
		sc_init(&sc);
		sc_mem_add(&sc, &treq, PROT_READ);
		sc_mem_add(&sc, &tresp, PROT_READ | PROT_WRITE);
		sc_fd_add(&sc, fd, PROT_WRITE);
		r = sthread_create(&st, &sc, handle, rq);
		if (r)
			return r;
		r = sthread_join(st, &ret, &f);
		if (r) {
			(*faulted)++;
			*fault_addr = f.addr;
			rs->len = snprintf(rs->data, MSG_MAX, "ERR fault at %#lx",
					   (unsigned long)f.addr);
		}
		if (send(fd, rs->data, rs->len, 0) < 0)
			return -errno;
		(*served)++;
	}
	return 0;
}

int wedge_server(int n)
{
	int sv[2], st = -1, served = 0, faulted = 0, r;
	uintptr_t fault_addr = 0;
	unsigned long t0, t1;
	pid_t pid;

	if (n < 3)
		n = 3;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		return 1;
	fflush(NULL);
	pid = fork();	/* before Dune mode: the client is a plain process */
	if (pid == 0) {
		close(sv[0]);
		_exit(client(sv[1], n));
	}
	close(sv[1]);
	r = wedge_enter();
	if (r) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return r;
	}
	t0 = dune_get_ticks();
	r = serve(sv[0], n, &served, &faulted, &fault_addr);
	t1 = dune_get_ticks();
	close(sv[0]);
	waitpid(pid, &st, 0);
	CHECK(r == 0 && served == n, "server: %d of %d requests answered, each in a new sthread "
	      "(%d), %.0f cycles per request", served, n, r,
	      (double)(t1 - t0) / (served ? served : 1));
	CHECK(faulted == 1 && fault_addr == (uintptr_t)server_secret,
	      "server: the LEAK request's sthread faulted on the secret (%d, at %#lx)", faulted,
	      (unsigned long)fault_addr);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "client: every answer right, the secret never seen (status %#x)", st);
	return hwtest_done();
}
