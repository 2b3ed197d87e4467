// SPDX-License-Identifier: GPL-2.0
/*
 * The server rows of dune-sandbox-bench: a closed-loop client load on
 * loopback, several connections at once, each its own thread that sends a
 * request, reads the whole response, checks it and sends the next.
 *
 *   http:  HTTP/1.1 keep-alive GETs of one static file; every response
 *          must be 200 with the file's exact bytes.
 *   redis: SET key value then GET key, alternately, as RESP arrays; every
 *          reply must be +OK or the value just set.
 *
 * A wrong response is an error, not a slow one: sbload_run returns -1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox-bench.h"

struct client {
	const struct sbload *load;
	int id;
	long done;
	char err[160];
	pthread_t thread;
};

static int dial(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (s < 0)
		return -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		close(s);
		return -1;
	}
	return s;
}

int sbload_wait_up(int port, double timeout_s)
{
	for (double t = 0; t < timeout_s; t += 0.05) {
		int s = dial(port);

		if (s >= 0) {
			close(s);
			return 0;
		}
		usleep(50000);
	}
	return -1;
}

static int send_all(int s, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(s, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= w;
	}
	return 0;
}

/* Read until @buf holds a complete response as @complete judges it. */
static long recv_until(int s, char *buf, size_t cap, long (*complete)(const char *, size_t))
{
	size_t have = 0;
	long need;

	for (;;) {
		ssize_t r;

		buf[have] = 0;
		need = complete(buf, have);
		if (need)
			return need;
		if (have + 1 >= cap)
			return -1;
		r = read(s, buf + have, cap - 1 - have);
		if (r <= 0)
			return -1;
		have += r;
	}
}

/* An HTTP response's length once its headers and body are in, else 0. */
static long http_complete(const char *b, size_t n)
{
	const char *end = strstr(b, "\r\n\r\n"), *cl = strcasestr(b, "Content-Length:");
	long body;

	if (!end || !cl || cl > end)
		return 0;
	body = strtol(cl + 15, NULL, 10);
	return (size_t)(end + 4 - b) + body <= n ? (long)(end + 4 - b) + body : 0;
}

/* A RESP simple string, error or bulk string's length once whole. */
static long resp_complete(const char *b, size_t n)
{
	const char *eol = memmem(b, n, "\r\n", 2);
	long len;

	if (!eol)
		return 0;
	if (b[0] != '$')
		return eol + 2 - b;
	len = strtol(b + 1, NULL, 10);
	if (len < 0)
		return eol + 2 - b;
	return (size_t)(eol + 2 - b) + len + 2 <= n ? (eol + 2 - b) + len + 2 : 0;
}

static int http_one(struct client *c, int s, char *buf, size_t cap)
{
	const struct sbload *l = c->load;
	char req[256];
	int n = snprintf(req, sizeof(req), "GET /%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", l->path);
	long got;
	const char *body;

	if (send_all(s, req, n) || (got = recv_until(s, buf, cap, http_complete)) < 0)
		return snprintf(c->err, sizeof(c->err), "request %ld: connection lost", c->done);
	body = strstr(buf, "\r\n\r\n") + 4;
	if (strncmp(buf, "HTTP/1.1 200", 12) || got - (body - buf) != (long)l->body_len ||
	    memcmp(body, l->body, l->body_len))
		return snprintf(c->err, sizeof(c->err), "request %ld: wrong response: %.40s",
				c->done, buf);
	return 0;
}

static int redis_one(struct client *c, int s, char *buf, size_t cap)
{
	char key[32], val[64], req[256];
	long i = c->done / 2;
	int n;

	snprintf(key, sizeof(key), "k%d:%ld", c->id, i % 64);
	snprintf(val, sizeof(val), "value-%d-%ld-%0*d", c->id, i, 24, 0);
	if (c->done % 2 == 0)
		n = snprintf(req, sizeof(req), "*3\r\n$3\r\nSET\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n",
			     strlen(key), key, strlen(val), val);
	else
		n = snprintf(req, sizeof(req), "*2\r\n$3\r\nGET\r\n$%zu\r\n%s\r\n", strlen(key), key);
	if (send_all(s, req, n) || recv_until(s, buf, cap, resp_complete) < 0)
		return snprintf(c->err, sizeof(c->err), "command %ld: connection lost", c->done);
	if (c->done % 2 == 0 ? strcmp(buf, "+OK\r\n") :
	    (strncmp(buf, "$", 1) || !strstr(buf, val)))
		return snprintf(c->err, sizeof(c->err), "command %ld: wrong reply: %.40s",
				c->done, buf);
	return 0;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	size_t cap = c->load->body_len + 4096;
	char *buf = malloc(cap);
	int s = dial(c->load->port);

	if (!buf || s < 0) {
		snprintf(c->err, sizeof(c->err), "cannot connect: %s", strerror(errno));
		goto out;
	}
	while (c->done < c->load->requests) {
		int bad = c->load->kind == SBLOAD_HTTP ? http_one(c, s, buf, cap)
						       : redis_one(c, s, buf, cap);
		if (bad)
			break;
		c->done++;
	}
out:
	if (s >= 0)
		close(s);
	free(buf);
	return NULL;
}

/* Run the load; returns the seconds it took, or -1 with @err set. */
double sbload_run(const struct sbload *l, char *err, size_t errlen)
{
	struct client c[SBLOAD_MAX_CONNS];
	double t0 = sb_now(), t;
	int n = l->conns > SBLOAD_MAX_CONNS ? SBLOAD_MAX_CONNS : l->conns;

	memset(c, 0, sizeof(c));
	for (int i = 0; i < n; i++) {
		c[i].load = l;
		c[i].id = i;
		if (pthread_create(&c[i].thread, NULL, client_main, &c[i])) {
			snprintf(err, errlen, "cannot start client thread %d", i);
			n = i;
			break;
		}
	}
	for (int i = 0; i < n; i++)
		pthread_join(c[i].thread, NULL);
	t = sb_now() - t0;
	for (int i = 0; i < n; i++)
		if (c[i].err[0] || c[i].done != l->requests) {
			snprintf(err, errlen, "connection %d: %s", i, c[i].err[0] ? c[i].err :
				 "stopped early");
			return -1;
		}
	return n == l->conns ? t : -1;
}
