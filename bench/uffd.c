// SPDX-License-Identifier: GPL-2.0
/*
 * userfaultfd on the Linux side: missing-page faults answered by a handler
 * thread (pgfault, beside the kernel's own fault and SIGSEGV), and
 * write-protect faults answered the same way (appel1 and appel2, beside
 * mprotect and SIGSEGV).  The handler thread is how userfaultfd is meant
 * to be used (QEMU post-copy, CRIU lazy pages): the faulting thread sleeps
 * until another one resolves the fault.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

#define PG	BENCH_PGSIZE

#ifndef UFFD_USER_MODE_ONLY		/* 5.11+ */
#define UFFD_USER_MODE_ONLY	1
#endif
#ifndef USERFAULTFD_IOC_NEW		/* /dev/userfaultfd, 6.1+ */
#define USERFAULTFD_IOC_NEW	_IO(0xAA, 0x00)
#endif

static void read_sysctl(char *buf, size_t len)
{
	FILE *f = fopen("/proc/sys/vm/unprivileged_userfaultfd", "r");

	snprintf(buf, len, "?");
	if (f) {
		if (!fgets(buf, len, f))
			snprintf(buf, len, "?");
		buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
}

/* The ways to get a userfaultfd, most permissive first: user-mode faults
 * only (allowed even when vm.unprivileged_userfaultfd is 0), the plain
 * system call, the /dev/userfaultfd device (6.1+, its own permissions). */
static int uffd_fd(char *why, size_t len)
{
	int fd, dev, e_sys, e_dev;
	char sysctl[16];

	fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0 && errno == EINVAL)
		fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0)
		return fd;
	e_sys = errno;
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		e_dev = errno;
		close(dev);
		if (fd >= 0)
			return fd;
	} else {
		e_dev = errno;
	}
	read_sysctl(sysctl, sizeof(sysctl));
	snprintf(why, len, "no userfaultfd: system call %s (vm.unprivileged_userfaultfd=%s), "
		 "/dev/userfaultfd %s", strerror(e_sys), sysctl, strerror(e_dev));
	return -e_sys;
}

int uffd_open(uint64_t features, char *why, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int fd = uffd_fd(why, len), e;

	if (fd < 0)
		return fd;
	if (ioctl(fd, UFFDIO_API, &api)) {
		e = -errno;
		snprintf(why, len, "userfaultfd without features %#llx: %s",
			 (unsigned long long)features, strerror(-e));
		close(fd);
		return e;
	}
	return fd;
}

/* ---------------------------------------------- the handler thread */

struct uffd_srv {
	int uffd;
	int stop;		/* an eventfd: the thread ends when it is written */
	void (*fault)(struct uffd_srv *s, const struct uffd_msg *m);
	volatile long faults;
	volatile int err;	/* a negative errno; the uffd is closed then */
	pthread_t th;
};

/* Serve faults until told to stop.  On an error the uffd is closed, which
 * wakes the faulting thread and lets the kernel resolve its fault, so the
 * measuring process notices instead of sleeping forever. */
static void *srv_loop(void *arg)
{
	struct uffd_srv *s = arg;
	struct pollfd pf[2] = { { s->uffd, POLLIN, 0 }, { s->stop, POLLIN, 0 } };
	struct uffd_msg m;
	ssize_t n;

	while (!s->err) {
		if (poll(pf, 2, -1) < 0) {
			if (errno != EINTR)
				s->err = -errno;
			continue;
		}
		if (pf[1].revents)
			return NULL;
		n = read(s->uffd, &m, sizeof(m));
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n != sizeof(m)) {
			s->err = n < 0 ? -errno : -EIO;
			continue;
		}
		if (m.event == UFFD_EVENT_PAGEFAULT)
			s->fault(s, &m);
	}
	close(s->uffd);
	return NULL;
}

static int srv_start(struct uffd_srv *s)
{
	int e;

	e = bench_pin_cpu();
	if (e)
		return e;
	s->stop = eventfd(0, EFD_CLOEXEC);
	if (s->stop < 0)
		return -errno;
	e = pthread_create(&s->th, NULL, srv_loop, s);
	if (e) {
		close(s->stop);
		return -e;
	}
	return 0;
}

static void srv_stop(struct uffd_srv *s, struct side_result *r)
{
	uint64_t one = 1;

	if (write(s->stop, &one, sizeof(one)) != sizeof(one))
		bench_fail(r, -errno, "stopping the handler thread");
	pthread_join(s->th, NULL);
	close(s->stop);
	if (s->err)
		bench_fail(r, s->err, "handler thread");
	else
		close(s->uffd);
}

static int uffd_register(int uffd, void *addr, size_t len, uint64_t mode, uint64_t need)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)addr, .len = len }, .mode = mode,
	};

	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		return -errno;
	return (reg.ioctls & need) == need ? 0 : -EOPNOTSUPP;
}

/* ------------------------------------------ pgfault: missing pages */

static uint8_t zero_page[PG] __attribute__((aligned(PG)));

/* A write needs a page of its own (UFFDIO_COPY of zeroes); a read could
 * share the zero page (UFFDIO_ZEROPAGE).  Both wake the faulting thread. */
static void on_missing(struct uffd_srv *s, const struct uffd_msg *m)
{
	uintptr_t a = m->arg.pagefault.address & ~(PG - 1);
	struct uffdio_copy c = { .dst = a, .src = (uintptr_t)zero_page, .len = PG };
	struct uffdio_zeropage z = { .range = { .start = a, .len = PG } };
	int r;

	s->faults++;	/* before the wake-up: the writer reads it next */
	if (m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE)
		r = ioctl(s->uffd, UFFDIO_COPY, &c);
	else
		r = ioctl(s->uffd, UFFDIO_ZEROPAGE, &z);
	if (r && errno != EEXIST)
		s->err = -errno;
}

/* One timed run over a fresh region of @n pages; false on failure. */
static bool uffd_pgfault_run(struct uffd_srv *s, struct side_result *r, int run, long n)
{
	uint64_t t0, t1;
	uint8_t *m;
	long i;
	int e;

	m = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		bench_fail(r, -errno, "mmap of %ld pages", n);
		return false;
	}
	madvise(m, n * PG, MADV_NOHUGEPAGE);
	e = uffd_register(s->uffd, m, n * PG, UFFDIO_REGISTER_MODE_MISSING,
			  1ULL << _UFFDIO_COPY | 1ULL << _UFFDIO_ZEROPAGE);
	if (e) {
		munmap(m, n * PG);
		bench_skip(r, "no userfaultfd missing-page registration: %s", strerror(-e));
		return false;
	}
	s->faults = 0;
	t0 = bench_tsc();
	for (i = 0; i < n; i++)
		((volatile uint8_t *)m)[i * PG] = (uint8_t)i;
	t1 = bench_tsc();
	munmap(m, n * PG);	/* also unregisters it */
	if (s->err || s->faults != n) {
		bench_fail(r, s->err ? s->err : -EIO, "%ld userfaults for %ld pages", s->faults, n);
		return false;
	}
	bench_record(r, run, t1 - t0, n);
	return true;
}

void l_pgfault_uffd(const struct bench_params *p, struct side_result *r)
{
	struct uffd_srv s = { .fault = on_missing };
	char why[100];
	int run, e;

	s.uffd = uffd_open(0, why, sizeof(why));
	if (s.uffd < 0) {
		bench_skip(r, "%s", why);
		return;
	}
	e = srv_start(&s);
	if (e) {
		close(s.uffd);
		bench_fail(r, e, "handler thread");
		return;
	}
	for (run = -1; run < p->runs; run++)	/* run -1 warms up */
		if (!uffd_pgfault_run(&s, r, run, p->ops[ROW_PGFAULT]))
			break;
	srv_stop(&s, r);
}

/* ------------------------------------ appel1, appel2: write-protect */

static uint8_t *amem;
static long anpg;
static bool a_protn;

static int wp(int uffd, void *addr, size_t len, bool on)
{
	struct uffdio_writeprotect w = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,	/* 0: un-protect, wake */
	};

	return ioctl(uffd, UFFDIO_WRITEPROTECT, &w) ? -errno : 0;
}

/* As the SIGSEGV handlers: PROT1 (appel1) first, then UNPROT, which also
 * wakes the writer, so the handler's work is done when the write resumes. */
static void on_wp(struct uffd_srv *s, const struct uffd_msg *m)
{
	uintptr_t a = m->arg.pagefault.address & ~(PG - 1);
	int e = 0;

	if (!(m->arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP)) {
		s->err = -EFAULT;
		return;
	}
	s->faults++;	/* before the wake-up: the writer reads it next */
	if (!a_protn)
		e = wp(s->uffd, (void *)(a + anpg * PG), PG, true);		/* PROT1 */
	if (!e)
		e = wp(s->uffd, (void *)a, PG, false);				/* UNPROT */
	if (e)
		s->err = e;
}

/* The passes of one run, timed as l_appel() times them. */
static bool uffd_appel_run(struct uffd_srv *s, struct side_result *r, int run, long n)
{
	uint64_t t0, t1, sum = 0;
	long i, k;
	int e = 0;

	s->faults = 0;
	for (k = 0; k < n && !e; k++) {
		if (a_protn) {
			e = wp(s->uffd, amem, 2 * anpg * PG, false);
			for (i = 0; i < 2 * anpg; i++)
				amem[i * PG] = (uint8_t)i;
			t0 = bench_tsc();
			e = e ? e : wp(s->uffd, amem, anpg * PG, true);		/* PROTN */
		} else {
			e = wp(s->uffd, amem, anpg * PG, true);
			t0 = bench_tsc();
		}
		for (i = 0; i < anpg && !e; i++)
			((volatile uint8_t *)amem)[i * PG] = (uint8_t)i;	/* TRAP */
		t1 = bench_tsc();
		sum += t1 - t0;
	}
	if (e || s->err || s->faults != n * anpg) {
		bench_fail(r, e ? e : s->err ? s->err : -EIO, "%ld write-protect faults for %ld pages",
			   s->faults, n * anpg);
		return false;
	}
	bench_record(r, run, sum - (n - 1) * bench_tsc_overhead, n);
	return true;
}

static void l_appel_uffd_wp(const struct bench_params *p, struct side_result *r, bool protn)
{
	struct uffd_srv s = { .fault = on_wp };
	char why[100];
	size_t len;
	int run, e;

	anpg = p->appel_pages;
	a_protn = protn;
	len = 2 * anpg * PG;
	s.uffd = uffd_open(UFFD_FEATURE_PAGEFAULT_FLAG_WP, why, sizeof(why));
	if (s.uffd < 0) {
		bench_skip(r, "%s", why);
		return;
	}
	amem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
		    -1, 0);
	if (amem == MAP_FAILED) {
		close(s.uffd);
		bench_fail(r, -errno, "mmap");
		return;
	}
	e = uffd_register(s.uffd, amem, len, UFFDIO_REGISTER_MODE_WP,
			  1ULL << _UFFDIO_WRITEPROTECT);
	if (e)
		bench_skip(r, "no userfaultfd write-protect on anonymous memory: %s",
			   strerror(-e));
	else if ((e = srv_start(&s)))
		bench_fail(r, e, "handler thread");
	if (e) {
		close(s.uffd);
		munmap(amem, len);
		return;
	}
	for (run = -1; run < p->runs; run++)	/* run -1 warms up */
		if (!uffd_appel_run(&s, r, run, p->ops[protn ? ROW_APPEL2 : ROW_APPEL1]))
			break;
	srv_stop(&s, r);
	munmap(amem, len);
}

void l_appel1_uffd_wp(const struct bench_params *p, struct side_result *r)
{
	l_appel_uffd_wp(p, r, false);
}

void l_appel2_uffd_wp(const struct bench_params *p, struct side_result *r)
{
	l_appel_uffd_wp(p, r, true);
}
