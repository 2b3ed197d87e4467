// SPDX-License-Identifier: GPL-2.0
/*
 * The server rows of dune-sandbox-bench: Debian's lighttpd (one event
 * loop) and redis-server (an event loop plus background threads, each its
 * own vCPU in the sandbox), started plainly and then under dune-sandbox,
 * each given the same concurrent client load (bench/sbload.c) --runs
 * times.  Throughput is requests per second of the median load; every
 * response is checked.  The sandboxed server's exits cover its whole life
 * (start-up included), divided by the requests it served.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox-bench.h"

#define HTTP_PORT 8091
#define REDIS_PORT 6391
#define BODY_LEN 16384

static char body[BODY_LEN];

/* The machines boot with lo down. */
static void loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	if (!ioctl(s, SIOCGIFFLAGS, &ifr) && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
}

static int write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int ok = fd >= 0 && write(fd, data, len) == (ssize_t)len;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

/*
 * Start @av (sandboxed or not), give it @l --runs times, stop it with
 * SIGTERM.  Median seconds per request into @per_req; 0 or -1.
 */
static int serve(struct sb_row *r, char *const av[], bool sandbox, const struct sbload *l,
		 double *per_req, int *status)
{
	char *sav[SB_MAX_ARGS], err[160];
	double t[SB_MAX_RUNS];
	pid_t pid = sb_spawn(sandbox ? sb_sandboxed(av, sav) : av, NULL, NULL);
	const char *side = sandbox ? "sandboxed" : "plain";

	if (pid < 0)
		return sb_fail(r, "%s: cannot fork (%d)", side, errno);
	if (sbload_wait_up(l->port, 120)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return sb_fail(r, "%s server never listened (%d)", side, 0);
	}
	for (int i = 0; i < opt.runs; i++) {
		t[i] = sbload_run(l, err, sizeof(err));
		if (t[i] < 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			snprintf(r->err, sizeof(r->err), "%s: %s", side, err);
			printf("# %s: %s\n", r->name, r->err);
			return -1;
		}
		t[i] /= (double)l->conns * l->requests;
	}
	kill(pid, SIGTERM);
	if (waitpid(pid, status, 0) != pid)
		return sb_fail(r, "%s server: cannot reap it (%d)", side, errno);
	*per_req = sb_median(t, opt.runs);
	return 0;
}

static void server_row(const char *name, const char *what, char *const av[],
		       const struct sbload *l)
{
	struct sb_row *r = sb_new_row(name, "server", what);
	int st_plain = 0, st_sbx = 0;

	r->unit = "request";
	r->ops = (long)l->conns * l->requests;
	r->size = l->conns;
	if (access(av[0], X_OK)) {
		r->skipped = true;
		snprintf(r->err, sizeof(r->err), "%s is not in this machine", av[0]);
		return;
	}
	sb_read_stats(&r->st);	/* clear */
	sb_clear_err();
	if (serve(r, av, false, l, &r->native_s, &st_plain) ||
	    serve(r, av, true, l, &r->sandbox_s, &st_sbx))
		return;
	sb_read_stats(&r->st);
	/*
	 * Measured all the same: the responses were right.  tests/hw/servers.sh
	 * is the test of the exit; here a difference is reported (the row and
	 * the JSON carry both statuses) with what the server logged.
	 */
	r->st_plain = st_plain;
	r->st_sandbox = st_sbx;
	if (st_plain != st_sbx) {
		printf("# %s: SIGTERM ended it with status %#x, plain %#x; its log:\n", name,
		       st_sbx, st_plain);
		sb_show_err();
	}
	r->ok = true;
	r->rps_native = 1 / r->native_s;
	r->rps_sandbox = 1 / r->sandbox_s;
	r->extra_us = (r->sandbox_s - r->native_s) * 1e6;
	r->exits_per_op = r->st.exits / ((double)opt.runs * r->ops);
}

void sb_servers(void)
{
	char www[PATH_MAX], conf[PATH_MAX + 64], file[PATH_MAX + 16], text[3 * PATH_MAX];
	char port[16], dir[PATH_MAX], log[PATH_MAX + 16];
	long reqs = opt.quick ? 40 : 250;

	loopback_up();
	for (int i = 0; i < BODY_LEN; i++)
		body[i] = i % 64 == 63 ? '\n' : 'a' + (i * 7 + i / 64) % 26;
	if (!opt.rows || strstr(opt.rows, "lighttpd")) {
		struct sbload l = { SBLOAD_HTTP, HTTP_PORT, 4, reqs, "f16k.txt", body, BODY_LEN };
		char *av[] = { "/usr/sbin/lighttpd", "-D", "-f", conf, NULL };

		snprintf(www, sizeof(www), "%s/www", opt.work);
		mkdir(www, 0755);
		snprintf(file, sizeof(file), "%s/f16k.txt", www);
		snprintf(conf, sizeof(conf), "%s/lighttpd.conf", opt.work);
		snprintf(text, sizeof(text),
			 "server.document-root = \"%s\"\nserver.bind = \"127.0.0.1\"\n"
			 "server.port = %d\nserver.errorlog = \"%s/lighttpd.log\"\n"
			 "mimetype.assign = ( \".txt\" => \"text/plain\" )\n",
			 www, HTTP_PORT, opt.work);
		if (write_file(file, body, BODY_LEN) || write_file(conf, text, strlen(text)))
			printf("# lighttpd: cannot write its files in %s\n", opt.work);
		server_row("lighttpd", "lighttpd: HTTP/1.1 keep-alive GETs of 16 KiB, 4 clients",
			   av, &l);
	}
	if (!opt.rows || strstr(opt.rows, "redis")) {
		struct sbload l = { SBLOAD_REDIS, REDIS_PORT, 8, reqs * 2, NULL, NULL, 0 };
		char *av[] = { "/usr/bin/redis-server", "--port", port, "--bind", "127.0.0.1",
			       "--save", "", "--appendonly", "no", "--daemonize", "no",
			       "--protected-mode", "no", "--dir", dir, "--logfile", log, NULL };

		snprintf(port, sizeof(port), "%d", REDIS_PORT);
		snprintf(dir, sizeof(dir), "%s", opt.work);
		snprintf(log, sizeof(log), "%s/redis.log", opt.work);
		server_row("redis", "redis-server: SET/GET, 8 concurrent clients", av, &l);
	}
}
