// SPDX-License-Identifier: GPL-2.0
/*
 * A program for dune-sandbox's tests (tests/hw/sandbox.sh), run both
 * plainly and in the sandbox.  Built static (sbprobe) and dynamic
 * (sbprobe-dyn).  Modes:
 *   hello		print a line
 *   mem		malloc/realloc/mmap/mprotect/munmap, print a checksum
 *   cpu N		CPU-bound work, print its result
 *   calls N		N cheap system calls (getppid + write to /dev/null)
 *   socket		socket(AF_INET): exit 0 if created, 3 if EPERM
 *   thread		pthread_create: exit 0 if it ran, 3 if refused
 *   threads		pthreads: mutex/condvar futex waits, TLS, pthread_exit, join
 *   threads-exit	exit(7) from a thread while main waits: status 7
 *   threads-mainexit	main thread pthread_exit; the last thread ends the process
 *   threads-fault	a thread writes to NULL: the process dies by SIGSEGV
 *   race DENIED ALLOWED N [S]	a thread flips a path between DENIED and ALLOWED
 *			(same length) while main opens it N times (at most S
 *			seconds): prints how many opens read DENIED's first line
 *			(must be 0 in the sandbox)
 *   memrace N [S]	main opens /proc/self/mem N times (at most S seconds) while a thread preads
 *			monitor memory through every descriptor that names it:
 *			prints how many reads succeeded (must be 0)
 *   read|write|jump ADDR|auto	touch ADDR (auto: the monitor's memory, found
 *			in /proc/self/maps): must be killed, never succeed
 *   sys ADDR|auto	hand ADDR to system calls and try to map over it;
 *			every attempt must fail: exit = number that did not
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The monitor lives between the sandbox's two arenas (apps/sandbox/sandbox.h). */
#define MON_LO	0x60000000UL
#define MON_HI	0x100000000UL

static uintptr_t monitor_addr(const char *perm)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512], p[8];
	unsigned long lo, hi;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && lo >= MON_LO && lo < MON_HI &&
		    !strcmp(p, perm)) {
			fclose(f);
			return lo + 64;
		}
	fclose(f);
	return 0;
}

static uintptr_t addr_arg(const char *s, const char *perm)
{
	uintptr_t a = strcmp(s, "auto") ? strtoul(s, NULL, 0) : monitor_addr(perm);

	if (!a) {
		fprintf(stderr, "sbprobe: no monitor address found\n");
		exit(2);
	}
	return a;
}

static int failures;

static void expect_fail(long r, const char *what)
{
	int e = errno;

	if (r == -1 || (r < 0 && r > -4096)) {
		printf("refused: %s (%s)\n", what, strerror(r == -1 ? e : (int)-r));
	} else {
		printf("SUCCEEDED: %s = %ld\n", what, r);
		failures++;
	}
}

static int sys_attacks(uintptr_t a)
{
	struct iovec iov = { (void *)a, 16 };
	char buf[64];
	int fd = open("/proc/self/exe", O_RDONLY);

	printf("monitor address %#lx\n", (unsigned long)a);
	expect_fail(read(fd, (void *)a, 16), "read() into monitor memory");
	expect_fail(pread(fd, (void *)a, 16, 0), "pread() into monitor memory");
	expect_fail(write(1, (void *)a, 16), "write() from monitor memory");
	expect_fail(readv(fd, &iov, 1), "readv() into monitor memory");
	expect_fail(writev(1, (struct iovec *)a, 1), "writev() with an iovec in monitor memory");
	expect_fail(syscall(SYS_uname, a), "uname() into monitor memory");
	expect_fail(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, a), "clock_gettime() into it");
	expect_fail(syscall(SYS_getcwd, a, 64), "getcwd() into it");
	expect_fail(syscall(SYS_open, a, O_RDONLY), "open() of a path in monitor memory");
	expect_fail(syscall(SYS_fstat, 0, a), "fstat() into it");
	expect_fail(syscall(SYS_rt_sigaction, 2, a, 0, 8), "rt_sigaction() reading it");
	expect_fail((long)mmap((void *)(a & ~4095UL), 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
		    "mmap(MAP_FIXED) over monitor memory");
	expect_fail(munmap((void *)(a & ~4095UL), 4096), "munmap() of monitor memory");
	expect_fail(mprotect((void *)(a & ~4095UL), 4096, PROT_READ | PROT_WRITE),
		    "mprotect() of monitor memory");
	expect_fail((long)mremap((void *)(a & ~4095UL), 4096, 8192, MREMAP_MAYMOVE),
		    "mremap() of monitor memory");
	expect_fail(open("/proc/self/mem", O_RDWR), "open(/proc/self/mem)");
	unlink("/tmp/sbprobe-mem");
	if (symlink("/proc/self/mem", "/tmp/sbprobe-mem") == 0)
		expect_fail(open("/tmp/sbprobe-mem", O_RDWR), "open() of a symlink to /proc/self/mem");
	unlink("/tmp/sbprobe-mem");
	expect_fail(syscall(SYS_process_vm_writev, getpid(), &iov, 1, &iov, 1, 0),
		    "process_vm_writev()");
	expect_fail(syscall(SYS_ptrace, 0, 0, 0, 0), "ptrace()");
	for (int d = 3; d < 8; d++) {
		if (d == fd)
			continue;
		snprintf(buf, sizeof(buf), "ioctl() on descriptor %d", d);
		expect_fail(syscall(SYS_ioctl, d, 0, 0), buf);
	}
	printf("%d attempts succeeded\n", failures);
	return failures;
}

static void *thread_fn(void *arg)
{
	return arg;
}

/* ------------------------------------------------------------- threads */

#define NT	4
#define ROUNDS	2000

static pthread_mutex_t t_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t t_cond = PTHREAD_COND_INITIALIZER;
static long t_counter;
static int t_arrived;
static __thread long t_mine;	/* TLS: each thread's own */

static void *t_worker(void *arg)
{
	long id = (long)arg, bad = 0;

	t_mine = id * 1000;
	/* A barrier on a condition variable: all wait (futex) until the last. */
	pthread_mutex_lock(&t_lock);
	if (++t_arrived == NT)
		pthread_cond_broadcast(&t_cond);
	while (t_arrived < NT)
		pthread_cond_wait(&t_cond, &t_lock);
	pthread_mutex_unlock(&t_lock);
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&t_lock);	/* contended: futex waits and wakes */
		t_counter++;
		pthread_mutex_unlock(&t_lock);
		if (i % 100 == 0)
			sched_yield();
		t_mine++;
		if (t_mine != id * 1000 + i + 1)
			bad++;
	}
	if (bad)
		pthread_exit((void *)-1L);
	if (id == 1)
		pthread_exit((void *)(t_mine + 1));	/* exit before the end */
	return (void *)t_mine;
}

static volatile sig_atomic_t t_sigs;

static void t_on_usr1(int sig)
{
	(void)sig;
	t_sigs++;
}

static void *t_kill_main(void *arg)
{
	pthread_kill(*(pthread_t *)arg, SIGUSR1);	/* tgkill to another thread */
	raise(SIGUSR2);					/* and to itself */
	return NULL;
}

static int threads(void)
{
	pthread_t t[NT];
	long sum = 0;
	void *ret;
	int errs = 0;

	t_mine = -5;
	for (long i = 0; i < NT; i++)
		if (pthread_create(&t[i], NULL, t_worker, (void *)i)) {
			printf("pthread_create failed\n");
			return 1;
		}
	for (int i = 0; i < NT; i++) {
		if (pthread_join(t[i], &ret))
			errs++;
		printf("thread %d returned %ld\n", i, (long)ret);
		sum += (long)ret;
	}
	printf("counter %ld (expected %d), TLS of main %ld, join errors %d\n", t_counter,
	       NT * ROUNDS, t_mine, errs);
	/* Threads come and go: many short ones, joined. */
	for (int k = 0; k < 20; k++) {
		pthread_t u;

		if (pthread_create(&u, NULL, thread_fn, (void *)(long)k) || pthread_join(u, &ret) ||
		    (long)ret != k)
			errs++;
	}
	printf("20 short threads: %d errors\n", errs);
	/* Signals with threads: a handler runs for each (in some thread). */
	{
		pthread_t self = pthread_self(), u;

		signal(SIGUSR1, t_on_usr1);
		signal(SIGUSR2, t_on_usr1);
		pthread_create(&u, NULL, t_kill_main, &self);
		pthread_join(u, NULL);
		for (int i = 0; i < 100 && t_sigs < 2; i++)
			usleep(1000);
		printf("SIGUSR1 to main and SIGUSR2 to itself from a thread: %d handled\n",
		       (int)t_sigs);
	}
	return t_counter == NT * ROUNDS && t_mine == -5 && !errs && t_sigs == 2 ? 0 : 1;
}

static void *t_exit_group(void *arg)
{
	(void)arg;
	printf("thread: exit(7)\n");
	fflush(stdout);
	exit(7);
}

static void *t_last(void *arg)
{
	(void)arg;
	usleep(200 * 1000);
	printf("last thread: main has gone\n");
	fflush(stdout);
	return NULL;
}

static void *t_fault(void *arg)
{
	*(volatile int *)arg = 1;
	return NULL;
}

static char race_path[4096];
static volatile int race_stop;
static const char *race_a, *race_b;

static void *t_flip(void *arg)
{
	size_t n = strlen(race_a);

	(void)arg;
	while (!race_stop) {
		memcpy(race_path, race_a, n);
		memcpy(race_path, race_b, n);
	}
	return NULL;
}

static double secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A sibling rewrites the path after the monitor checked it. */
static int race(const char *denied, const char *allowed, long n, double limit)
{
	double t0 = secs();
	char secret[256] = "", buf[256];
	long leaked = 0, opened = 0, refused = 0;
	pthread_t t;
	int fd = open(denied, O_RDONLY);

	if (fd >= 0) {	/* plainly, to know its content */
		ssize_t l = read(fd, secret, sizeof(secret) - 1);

		secret[l > 0 ? l : 0] = 0;
		close(fd);
	}
	if (strlen(denied) != strlen(allowed))
		return 2;
	race_a = denied;
	race_b = allowed;
	memcpy(race_path, allowed, strlen(allowed) + 1);
	pthread_create(&t, NULL, t_flip, NULL);
	for (long i = 0; i < n && (i % 64 || secs() - t0 < limit); i++) {
		ssize_t l;

		fd = open(race_path, O_RDONLY);
		if (fd < 0) {
			refused += errno == EPERM;
			continue;
		}
		opened++;
		l = read(fd, buf, sizeof(buf) - 1);
		buf[l > 0 ? l : 0] = 0;
		if (strstr(buf, "top secret"))
			leaked++;
		close(fd);
	}
	race_stop = 1;
	pthread_join(t, NULL);
	printf("race: %ld opens, %ld refused, %ld leaked%s\n", opened, refused, leaked,
	       secret[0] ? " (denied file readable: not sandboxed?)" : "");
	return 0;
}

static uintptr_t mem_target;
static volatile long mem_reads;

static void *t_memread(void *arg)
{
	char link[64], target[256];
	uint64_t v;

	(void)arg;
	while (!race_stop) {
		for (int fd = 3; fd < 16; fd++) {
			ssize_t l;

			snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
			l = readlink(link, target, sizeof(target) - 1);
			if (l < 4 || memcmp(target + l - 4, "/mem", 4))
				continue;
			if (pread(fd, &v, sizeof(v), mem_target) == sizeof(v))
				mem_reads++;
		}
	}
	return NULL;
}

/* A sibling uses the descriptor of /proc/self/mem before the monitor
 * closes it. */
static int memrace(long n, double limit)
{
	long refused = 0, i;
	double t0 = secs();
	pthread_t t;

	mem_target = monitor_addr("rw-p");
	if (!mem_target)
		return 2;
	pthread_create(&t, NULL, t_memread, NULL);
	for (i = 0; i < n && (i % 64 || secs() - t0 < limit); i++) {
		int fd = open("/proc/self/mem", O_RDWR);

		if (fd < 0)
			refused++;
		else
			close(fd);
	}
	race_stop = 1;
	pthread_join(t, NULL);
	printf("memrace: %ld of %ld opens refused, %ld reads of monitor memory\n", refused, i,
	       mem_reads);
	return 0;
}

static unsigned long cpu(long n)
{
	unsigned long x = 88172645463325252UL, s = 0;

	for (long i = 0; i < n * 1000000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		s += x % 1000003;
	}
	return s;
}

static int mem(void)
{
	unsigned long sum = 0;
	size_t n = 1 << 20;
	char *p = malloc(n), *q;

	for (size_t i = 0; i < n; i++)
		p[i] = (char)i;
	p = realloc(p, 8 * n);
	for (size_t i = 0; i < 8 * n; i += 4096)
		p[i] = 1;
	for (size_t i = 0; i < n; i++)
		sum += (unsigned char)p[i];
	q = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q == MAP_FAILED)
		return 1;
	q[5000] = 7;
	if (mprotect(q, 4096, PROT_READ) || munmap(q + 8192, 4096) || munmap(q, 8192))
		return 1;
	free(p);
	printf("mem checksum %lu\n", sum + 7);
	return 0;
}

/*
 * A raw hypercall instruction with a system call in its registers, as a
 * program that tries to go around the monitor would: rax = number, rdi,
 * rsi, rdx = arguments.
 */
static long raw_hypercall(int vmmcall, long nr, long a0, long a1, long a2)
{
	long r;

	if (vmmcall)
		__asm__ __volatile__("vmmcall" : "=a"(r) : "a"(nr), "D"(a0), "S"(a1), "d"(a2)
				     : "memory");
	else
		__asm__ __volatile__("vmcall" : "=a"(r) : "a"(nr), "D"(a0), "S"(a1), "d"(a2)
				     : "memory");
	return r;
}

/* hypercall vmcall|vmmcall PATH: write through the hypercall, then open,
 * read and write PATH's contents the same way. */
static int hypercall_attack(const char *insn, const char *path)
{
	static const char msg[] = "LEAK: written by a raw hypercall\n";
	int vmm = !strcmp(insn, "vmmcall");
	char buf[256];
	long fd, n;

	raw_hypercall(vmm, SYS_write, 1, (long)msg, sizeof(msg) - 1);
	fd = raw_hypercall(vmm, SYS_open, (long)path, O_RDONLY, 0);
	if (fd < 0)
		return 4;
	n = raw_hypercall(vmm, SYS_read, fd, (long)buf, sizeof(buf));
	if (n > 0)
		raw_hypercall(vmm, SYS_write, 1, (long)buf, n);
	printf("survived the raw %s\n", insn);
	return 0;
}


#define NET_CHECK(cond, what)						\
	do {								\
		if (!(cond)) {						\
			printf("net: %s failed: %s\n", what, strerror(errno)); \
			return 1;					\
		}							\
		printf("net: %s\n", what);				\
	} while (0)

/*
 * A TCP server and its client in two processes, with the calls servers
 * use: SO_REUSEADDR, bind to an ephemeral port, getsockname, listen,
 * accept4, getpeername, epoll, select, ppoll, recvfrom, recvmsg/sendmsg
 * with two buffers, getsockopt, shutdown, and passing a descriptor with
 * SCM_RIGHTS.  Prints the same lines plainly and sandboxed.
 */
static int net(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in peer;
	socklen_t len = sizeof(sa), plen = sizeof(peer);
	int one = 1, ls, c, ep, err = -1, type = 0, st;
	struct epoll_event ev = { .events = EPOLLIN }, got;
	char buf[64] = "", b1[4] = "", b2[64] = "";
	struct iovec iov[2] = { { b1, 3 }, { b2, 7 } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	socklen_t olen = sizeof(err);
	struct pollfd pfd;
	fd_set rd;
	pid_t pid;

	ls = socket(AF_INET, SOCK_STREAM, 0);
	NET_CHECK(ls >= 0, "socket");
	NET_CHECK(!setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), "setsockopt SO_REUSEADDR");
	NET_CHECK(!bind(ls, (struct sockaddr *)&sa, sizeof(sa)), "bind 127.0.0.1:0");
	NET_CHECK(!getsockname(ls, (struct sockaddr *)&sa, &len) && sa.sin_port, "getsockname");
	NET_CHECK(!listen(ls, 4), "listen");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		char r[64];
		ssize_t n;

		if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) ||
		    send(s, "GET /index", 10, 0) != 10)
			_exit(10);
		n = recv(s, r, sizeof(r), 0);
		if (n != 12 || memcmp(r, "HTTP/1.0 200", 12))
			_exit(11);
		shutdown(s, SHUT_WR);
		_exit(recv(s, r, sizeof(r), 0) == 0 ? 0 : 12);
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	NET_CHECK(ep >= 0, "epoll_create1");
	ev.data.fd = ls;
	NET_CHECK(!epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev), "epoll_ctl ADD");
	NET_CHECK(epoll_wait(ep, &got, 1, 10000) == 1 && got.data.fd == ls, "epoll_wait: a connection");
	FD_ZERO(&rd);
	FD_SET(ls, &rd);
	NET_CHECK(select(ls + 1, &rd, NULL, NULL, NULL) == 1, "select");
	c = accept4(ls, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
	NET_CHECK(c >= 0, "accept4");
	NET_CHECK(!getpeername(c, (struct sockaddr *)&peer, &plen) && peer.sin_addr.s_addr == sa.sin_addr.s_addr,
		  "getpeername: 127.0.0.1");
	pfd = (struct pollfd){ .fd = c, .events = POLLIN };
	NET_CHECK(ppoll(&pfd, 1, NULL, NULL) == 1, "ppoll");
	NET_CHECK(recvmsg(c, &mh, MSG_WAITALL) == 10 && !strcmp(b1, "GET") && !strcmp(b2, " /index"),
		  "recvmsg into two buffers");
	iov[0] = (struct iovec){ "HTTP/1.0", 8 };
	iov[1] = (struct iovec){ " 200", 4 };
	NET_CHECK(sendmsg(c, &mh, 0) == 12, "sendmsg from two buffers");
	NET_CHECK(recvfrom(c, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen) == 0, "recvfrom: EOF");
	NET_CHECK(!getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &olen) && !err, "getsockopt SO_ERROR");
	olen = sizeof(type);
	NET_CHECK(!getsockopt(c, SOL_SOCKET, SO_TYPE, &type, &olen) && type == SOCK_STREAM, "getsockopt SO_TYPE");
	close(c);
	NET_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && !WEXITSTATUS(st),
		  "the client got its answer and the server's EOF");
	close(ls);
	return 0;
}

/*
 * Descriptors this program does not own (fcntl says EBADF) must not leave
 * through SCM_RIGHTS either: in the sandbox, the monitor's are open in the
 * same process.  Prints how many could be sent (0 is right).
 */
static int scm(void)
{
	int sv[2], own = 0, leaked = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 1;
	for (int fd = 0; fd < 256; fd++) {
		union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
		struct iovec iov = { "x", 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		char x;

		if (fcntl(fd, F_GETFD) >= 0) {
			own++;
			continue;
		}
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
		if (sendmsg(sv[0], &mh, 0) == 1) {
			leaked++;
			if (read(sv[1], &x, 1) != 1)
				return 1;
		}
	}
	printf("scm: %d descriptors not the program's were sent\n", leaked);
	return own > 0 ? 0 : 1;
}

/* MXCSR rounding control (bits 13-14): no libm in the test machines. */
static unsigned int mxcsr_get(void)
{
	unsigned int m;

	__asm__ volatile("stmxcsr %0" : "=m"(m));
	return m;
}

static void mxcsr_round_up(void)
{
	unsigned int m = (mxcsr_get() & ~0x6000U) | 0x4000U;

	__asm__ volatile("ldmxcsr %0" : : "m"(m));
}

static volatile sig_atomic_t got_sig, got_code, got_pid_ok, chld_count;
static void *volatile got_addr;
static int sig_pipe[2];
static volatile char *sig_page;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got_sig = sig;
	got_code = si->si_code;
	got_pid_ok = si->si_pid == getpid();
	mxcsr_round_up();	/* the interrupted code must not see it */
}

static void on_alarm_write(int sig)
{
	(void)sig;
	got_sig = sig;
	if (write(sig_pipe[1], "!", 1) != 1)
		_exit(9);
}

static void on_chld(int sig)
{
	(void)sig;
	chld_count++;
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got_sig = sig;
	got_addr = si->si_addr;
	mprotect((void *)sig_page, 4096, PROT_READ | PROT_WRITE);
}

static int install(int sig, void (*fn)(int, siginfo_t *, void *), void (*plain)(int), int flags)
{
	struct sigaction sa = { .sa_flags = flags };

	if (fn) {
		sa.sa_sigaction = fn;
		sa.sa_flags |= SA_SIGINFO;
	} else {
		sa.sa_handler = plain;
	}
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

#define SIG_CHECK(cond, what)						\
	do {								\
		bool ok_ = (cond);					\
									\
		printf("signals: %s: %s\n", what, ok_ ? "yes" : "NO");	\
		if (!ok_)						\
			bad++;						\
	} while (0)

/*
 * A program's own signal handlers, as servers and shells use them: raise
 * with siginfo, the FPU state around a handler, SIGALRM interrupting a
 * read without SA_RESTART (EINTR) and with it (restarted), pause, an
 * ignored SIGPIPE, SIGCHLD, blocking and sigpending, a SIGSEGV handler
 * that fixes the mapping, SIGTERM for a clean exit.  The same lines
 * plainly and sandboxed.
 */
static int signals(void)
{
	char c;
	int bad = 0, st;
	sigset_t set, old, pend;
	pid_t pid;

	setvbuf(stdout, NULL, _IONBF, 0);	/* progress survives a hang */
	install(SIGUSR1, on_sig, NULL, 0);
	raise(SIGUSR1);
	SIG_CHECK(got_sig == SIGUSR1 && got_code == SI_TKILL && got_pid_ok,
		  "raise(SIGUSR1) ran the handler with its siginfo");
	SIG_CHECK((mxcsr_get() & 0x6000) == 0, "the handler's FPU state did not leak back");

	if (pipe(sig_pipe))
		return 1;
	install(SIGALRM, NULL, on_alarm_write, 0);
	got_sig = 0;
	alarm(1);
	SIG_CHECK(read(sig_pipe[0], &c, 1) < 0 && errno == EINTR && got_sig == SIGALRM,
		  "SIGALRM without SA_RESTART: read fails with EINTR");
	SIG_CHECK(read(sig_pipe[0], &c, 1) == 1 && c == '!', "the handler's write is there");
	install(SIGALRM, NULL, on_alarm_write, SA_RESTART);
	got_sig = 0;
	alarm(1);
	SIG_CHECK(read(sig_pipe[0], &c, 1) == 1 && c == '!' && got_sig == SIGALRM,
		  "SIGALRM with SA_RESTART: read restarted and got the handler's byte");
	got_sig = 0;
	alarm(1);
	SIG_CHECK(pause() < 0 && errno == EINTR && got_sig == SIGALRM, "pause returns after SIGALRM");

	signal(SIGPIPE, SIG_IGN);
	{
		int p[2];

		if (pipe(p))
			return 1;
		close(p[0]);
		SIG_CHECK(write(p[1], "x", 1) < 0 && errno == EPIPE, "ignored SIGPIPE: write fails with EPIPE");
		close(p[1]);
	}

	install(SIGCHLD, NULL, on_chld, SA_RESTART);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(7);
	SIG_CHECK(waitpid(pid, &st, 0) == pid && WEXITSTATUS(st) == 7, "waitpid");
	for (int i = 0; i < 100 && !chld_count; i++)
		usleep(10000);
	SIG_CHECK(chld_count == 1, "SIGCHLD ran its handler once");

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	got_sig = 0;
	raise(SIGUSR1);
	sigpending(&pend);
	SIG_CHECK(!got_sig && sigismember(&pend, SIGUSR1), "a blocked SIGUSR1 waits, pending");
	sigprocmask(SIG_SETMASK, &old, NULL);
	SIG_CHECK(got_sig == SIGUSR1, "unblocking it ran the handler");

	sig_page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	install(SIGSEGV, on_segv, NULL, 0);
	got_sig = 0;
	sig_page[100] = 42;
	SIG_CHECK(got_sig == SIGSEGV && got_addr == sig_page + 100 && sig_page[100] == 42,
		  "a SIGSEGV handler made the page writable and the store went on");

	printf("signals: %d checks failed\n", bad);
	fflush(stdout);
	signal(SIGTERM, SIG_DFL);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "hello";

	if (!strcmp(m, "hello")) {
		printf("hello from sbprobe, argc %d\n", argc);
		return 0;
	}
	if (!strcmp(m, "mem"))
		return mem();
	if (!strcmp(m, "cpu") && argc > 2) {
		printf("cpu %lu\n", cpu(atol(argv[2])));
		return 0;
	}
	if (!strcmp(m, "calls") && argc > 2) {
		int fd = open("/dev/null", O_WRONLY);
		long n = atol(argv[2]);

		for (long i = 0; i < n; i++)
			if (getppid() < 0 || write(fd, "x", 1) != 1)
				return 1;
		printf("calls %ld\n", n);
		return 0;
	}
	if (!strcmp(m, "thread")) {
		pthread_t t;
		int e = pthread_create(&t, NULL, thread_fn, NULL);

		printf("pthread_create: %s\n", e ? strerror(e) : "created");
		return e ? 3 : pthread_join(t, NULL);
	}
	if (!strcmp(m, "threads"))
		return threads();
	if (!strcmp(m, "threads-exit")) {
		pthread_t t;

		pthread_create(&t, NULL, t_exit_group, NULL);
		pthread_join(t, NULL);
		printf("main: not reached\n");
		return 1;
	}
	if (!strcmp(m, "threads-mainexit")) {
		pthread_t t;

		pthread_create(&t, NULL, t_last, NULL);
		printf("main: pthread_exit\n");
		fflush(stdout);
		pthread_exit(NULL);
	}
	if (!strcmp(m, "threads-fault")) {
		pthread_t t;

		printf("a thread faults\n");
		fflush(stdout);
		pthread_create(&t, NULL, t_fault, NULL);
		pthread_join(t, NULL);
		printf("main: not reached\n");
		return 1;
	}
	if (argc > 2 && !strcmp(m, "memrace"))
		return memrace(atol(argv[2]), argc > 3 ? atof(argv[3]) : 1e9);
	if (argc > 4 && !strcmp(m, "race"))
		return race(argv[2], argv[3], atol(argv[4]), argc > 5 ? atof(argv[5]) : 1e9);
	if (!strcmp(m, "socket")) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		printf("socket: %s\n", s >= 0 ? "created" : strerror(errno));
		return s >= 0 ? 0 : errno == EPERM ? 3 : 1;
	}
	if (!strcmp(m, "net"))
		return net();
	if (!strcmp(m, "signals"))
		return signals();
	if (!strcmp(m, "scm"))
		return scm();
	if (argc > 2 && !strcmp(m, "read")) {
		volatile uint64_t *p = (uint64_t *)addr_arg(argv[2], "rw-p");

		printf("read %#lx: %#lx\n", (unsigned long)p, (unsigned long)*p);
		return 0;
	}
	if (argc > 2 && !strcmp(m, "write")) {
		volatile uint64_t *p = (uint64_t *)addr_arg(argv[2], "rw-p");

		*p = 0xbad;
		printf("wrote %#lx\n", (unsigned long)p);
		return 0;
	}
	if (argc > 2 && !strcmp(m, "jump")) {
		void (*f)(void) = (void (*)(void))addr_arg(argv[2], "r-xp");

		f();
		printf("ran monitor code\n");
		return 0;
	}
	if (argc > 3 && !strcmp(m, "hypercall"))
		return hypercall_attack(argv[2], argv[3]);
	if (argc > 2 && !strcmp(m, "sys"))
		return sys_attacks(addr_arg(argv[2], "rw-p"));
	fprintf(stderr, "sbprobe: unknown mode %s\n", m);
	return 2;
}
