// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty-page tracking without a handler per write, beside appel2 (protect
 * N pages, learn which ones get written): the kernel notes the writes
 * itself and the program asks afterwards.
 *
 * soft-dirty: writing 4 to /proc/self/clear_refs write-protects every page
 * of the process and clears its soft-dirty bits; a write faults in the
 * kernel only, which sets the page's bit 55 in /proc/self/pagemap.
 * PAGEMAP_SCAN (6.7+): the region is registered for asynchronous
 * userfaultfd write-protection (the kernel resolves the faults, no thread
 * hears of them); one ioctl on /proc/self/pagemap returns the written
 * ranges and write-protects them again, collecting and re-arming at once.
 *
 * One operation is a pass as in appel2: arm, write each of the 100 pages,
 * know which were written.  appel1 (protect one more page per trap) has
 * no equivalent: there is no per-write hook to do it from.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

#define PG		BENCH_PGSIZE
#define PM_SOFT_DIRTY	(1ULL << 55)	/* pagemap entry bit */

#ifndef PAGEMAP_SCAN			/* 6.7+; older headers lack it */
#define PAGEMAP_SCAN		_IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_WRITTEN		(1 << 1)
#define PM_SCAN_WP_MATCHING	(1 << 0)
#define PM_SCAN_CHECK_WPASYNC	(1 << 1)
struct page_region {
	__u64 start, end, categories;
};
struct pm_scan_arg {
	__u64 size, flags, start, end, walk_end, vec, vec_len, max_pages;
	__u64 category_inverted, category_mask, category_anyof_mask, return_mask;
};
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_UNPOPULATED	(1 << 13)
#define UFFD_FEATURE_WP_ASYNC		(1 << 15)
#endif

/* @n populated 4K pages (no THP: it would track 2M at a time). */
static uint8_t *dirty_region(long n)
{
	uint8_t *m = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	long i;

	if (m == MAP_FAILED)
		return NULL;
	madvise(m, n * PG, MADV_NOHUGEPAGE);
	for (i = 0; i < n; i++)
		m[i * PG] = 1;
	return m;
}

/* ------------------------------------------------------ soft-dirty */

struct sd {
	int clear_refs, pagemap;
	uint8_t *mem;
	long npg;
	uint64_t pm[1024];
};

static int sd_clear(struct sd *s)
{
	return pwrite(s->clear_refs, "4", 1, 0) == 1 ? 0 : -errno;
}

/* How many of the region's pages have their soft-dirty bit set, or -errno. */
static long sd_count(struct sd *s)
{
	size_t len = s->npg * sizeof(uint64_t);
	off_t off = (uintptr_t)s->mem / PG * sizeof(uint64_t);
	long i, n = 0;

	if (pread(s->pagemap, s->pm, len, off) != (ssize_t)len)
		return -EIO;
	for (i = 0; i < s->npg; i++)
		n += !!(s->pm[i] & PM_SOFT_DIRTY);
	return n;
}

/* Does this kernel track soft-dirty bits (CONFIG_MEM_SOFT_DIRTY)? */
static bool sd_works(struct sd *s)
{
	if (sd_clear(s) || sd_count(s) != 0)
		return false;
	s->mem[0] = 2;
	return sd_count(s) == 1;
}

static bool sd_run(struct sd *s, struct side_result *r, int run, long n)
{
	uint64_t t0, t1, sum = 0;
	long i, k, dirty = 0;
	int e = 0;

	for (k = 0; k < n && !e; k++) {
		t0 = bench_tsc();
		e = sd_clear(s);					/* arm */
		for (i = 0; i < s->npg; i++)
			((volatile uint8_t *)s->mem)[i * PG] = (uint8_t)i;
		dirty = sd_count(s);					/* collect */
		t1 = bench_tsc();
		sum += t1 - t0;
		if (dirty != s->npg)
			break;
	}
	if (e || dirty != s->npg) {
		bench_fail(r, e ? e : dirty < 0 ? (int)dirty : -EIO,
			   "%ld of %ld written pages soft-dirty", dirty, s->npg);
		return false;
	}
	bench_record(r, run, sum - (n - 1) * bench_tsc_overhead, n);
	return true;
}

void l_appel2_soft_dirty(const struct bench_params *p, struct side_result *r)
{
	struct sd s = { .npg = p->appel_pages };
	int run;

	if (s.npg > 1024) {
		bench_fail(r, -E2BIG, "more than 1024 pages per pass");
		return;
	}
	s.clear_refs = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	s.pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	s.mem = dirty_region(s.npg);
	if (s.clear_refs < 0 || s.pagemap < 0 || !s.mem)
		bench_skip(r, "no /proc/self/clear_refs, pagemap or memory: %s", strerror(errno));
	else if (!sd_works(&s))
		bench_skip(r, "soft-dirty bits not tracked (CONFIG_MEM_SOFT_DIRTY off?)");
	else
		for (run = -1; run < p->runs; run++)	/* run -1 warms up */
			if (!sd_run(&s, r, run, p->ops[ROW_APPEL2]))
				break;
	if (s.mem)
		munmap(s.mem, s.npg * PG);
	close(s.clear_refs);
	close(s.pagemap);
}

/* ---------------------------------------------------- PAGEMAP_SCAN */

/* Written pages of [@m, @m + @npg pages), write-protected again; returns
 * the number of ranges in @vec or -errno. */
static long pm_scan(int pagemap, uint8_t *m, long npg, struct page_region *vec, int nvec)
{
	struct pm_scan_arg a = {
		.size = sizeof(a), .flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		.start = (uintptr_t)m, .end = (uintptr_t)(m + npg * PG),
		.vec = (uintptr_t)vec, .vec_len = nvec,
		.category_mask = PAGE_IS_WRITTEN, .return_mask = PAGE_IS_WRITTEN,
	};
	long n = ioctl(pagemap, PAGEMAP_SCAN, &a);

	return n < 0 ? -errno : n;
}

static bool scan_run(int pagemap, uint8_t *m, long npg, struct side_result *r, int run, long n)
{
	struct page_region vec[8];
	uint64_t t0, t1, sum = 0;
	long i, k, got = 0;

	for (k = 0; k < n; k++) {
		t0 = bench_tsc();
		for (i = 0; i < npg; i++)
			((volatile uint8_t *)m)[i * PG] = (uint8_t)i;
		got = pm_scan(pagemap, m, npg, vec, 8);	/* collect and re-arm */
		t1 = bench_tsc();
		sum += t1 - t0;
		/* All pages written: one range, the whole region. */
		if (got != 1 || vec[0].start != (uintptr_t)m ||
		    vec[0].end != (uintptr_t)(m + npg * PG))
			break;
	}
	if (k < n) {
		bench_fail(r, got < 0 ? (int)got : -EIO,
			   "PAGEMAP_SCAN found %ld ranges, not the %ld written pages", got, npg);
		return false;
	}
	bench_record(r, run, sum - (n - 1) * bench_tsc_overhead, n);
	return true;
}

static int scan_setup(int uffd, int pagemap, uint8_t *m, long npg, struct side_result *r)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)m, .len = npg * PG },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct page_region vec[8];
	long got;

	if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		bench_skip(r, "no userfaultfd write-protect registration: %s", strerror(errno));
		return -1;
	}
	got = pm_scan(pagemap, m, npg, vec, 8);		/* arm */
	if (got == -ENOTTY || got == -EINVAL) {
		bench_skip(r, "no PAGEMAP_SCAN ioctl in this kernel (6.7+)");
		return -1;
	}
	if (got < 0) {
		bench_fail(r, (int)got, "PAGEMAP_SCAN");
		return -1;
	}
	return 0;
}

void l_appel2_pagemap_scan(const struct bench_params *p, struct side_result *r)
{
	long npg = p->appel_pages;
	int uffd, pagemap, run;
	char why[100];
	uint8_t *m;

	uffd = uffd_open(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED, why, sizeof(why));
	if (uffd < 0) {
		bench_skip(r, "no asynchronous write-protect (6.7+): %s", why);
		return;
	}
	pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	m = dirty_region(npg);
	if (pagemap < 0 || !m)
		bench_skip(r, "no /proc/self/pagemap or memory: %s", strerror(errno));
	else if (!scan_setup(uffd, pagemap, m, npg, r))
		for (run = -1; run < p->runs; run++)	/* run -1 warms up */
			if (!scan_run(pagemap, m, npg, r, run, p->ops[ROW_APPEL2]))
				break;
	if (m)
		munmap(m, npg * PG);
	close(pagemap);
	close(uffd);
}
