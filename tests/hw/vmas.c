// SPDX-License-Identifier: GPL-2.0
/*
 * DUNE_GET_VMAS: the process's mappings from the module agree with
 * /proc/self/maps (bounds, rights, sharing, file offsets, heap, stack,
 * vdso, vvar; no vsyscall page), in host mode and from the guest (one
 * exit per call); paging through a small buffer visits the same list; a
 * query from inside a mapping starts with it; bad arguments get an errno
 * and nothing else; a thread changing the mappings all the while breaks
 * nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <dune/dune.h>
#include <dune/info.h>

#include "dunetest.h"

#define MAX_MAPS	512

static char text[1 << 17];
static struct dune_vma got[MAX_MAPS];
static struct dune_procmap_entry want[MAX_MAPS];
static int n_want;

static void note_map(const struct dune_procmap_entry *e)
{
	if (e->type == PROCMAP_TYPE_VSYSCALL || n_want == MAX_MAPS)
		return;
	want[n_want] = *e;
	want[n_want++].path = NULL;
}

static int read_text(void)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, text + len, sizeof(text) - 1 - len)) > 0)
		len += n;
	close(fd);
	text[len] = '\0';
	return n < 0 ? -errno : 0;
}

static long get_vmas(int fd, uint64_t addr, struct dune_vma *buf, uint32_t nr, uint64_t *next)
{
	struct dune_vmas q = { .addr = addr, .buf = (uintptr_t)buf, .nr = nr };

	if (ioctl(fd, DUNE_GET_VMAS, &q) < 0)
		return -errno;
	if (next)
		*next = q.next;
	return q.nr;
}

static int kind_type(uint32_t kind)
{
	static const int t[] = {
		[DUNE_VMA_ANON] = PROCMAP_TYPE_ANONYMOUS, [DUNE_VMA_FILE] = PROCMAP_TYPE_FILE,
		[DUNE_VMA_HEAP] = PROCMAP_TYPE_HEAP, [DUNE_VMA_STACK] = PROCMAP_TYPE_STACK,
		[DUNE_VMA_VDSO] = PROCMAP_TYPE_VDSO, [DUNE_VMA_VVAR] = PROCMAP_TYPE_VVAR,
	};

	return kind < sizeof(t) / sizeof(t[0]) ? t[kind] : PROCMAP_TYPE_UNKNOWN;
}

/* The text and the ioctl back to back (nothing maps memory in between),
 * then compared; 0 if they agree, else the first differing index + 1. */
static int compare(int fd, int *n_got, char *why, size_t len)
{
	uint64_t next = 1;
	long n;
	int i;

	n_want = 0;
	if (read_text()) {
		snprintf(why, len, "cannot read /proc/self/maps");
		return -1;
	}
	n = get_vmas(fd, 0, got, MAX_MAPS, &next);
	if (n < 0 || dune_procmap_iterate_text(text, note_map)) {
		snprintf(why, len, "DUNE_GET_VMAS: %ld", n);
		return -1;
	}
	if (next) {
		snprintf(why, len, "all %ld fit, yet next is %#llx", n, (unsigned long long)next);
		return -1;
	}
	*n_got = (int)n;
	for (i = 0; i < n_want || i < n; i++) {
		const struct dune_procmap_entry *w = &want[i];
		const struct dune_vma *g = &got[i];

		if (i >= n_want || i >= n || g->start != w->begin || g->end != w->end ||
		    !!(g->flags & DUNE_VMA_READ) != w->r || !!(g->flags & DUNE_VMA_WRITE) != w->w ||
		    !!(g->flags & DUNE_VMA_EXEC) != w->x || !(g->flags & DUNE_VMA_SHARED) != w->p ||
		    (w->type == PROCMAP_TYPE_FILE && g->offset != w->offset) ||
		    kind_type(g->kind) != w->type) {
			snprintf(why, len, "entry %d: maps %lx-%lx %c%c%c%c type %d, ioctl %llx-%llx "
				 "flags %#x kind %u", i, i < n_want ? w->begin : 0UL,
				 i < n_want ? w->end : 0UL, w->r ? 'r' : '-', w->w ? 'w' : '-',
				 w->x ? 'x' : '-', w->p ? 'p' : 's', w->type,
				 (unsigned long long)g->start, (unsigned long long)g->end, g->flags,
				 g->kind);
			return i + 1;
		}
	}
	return 0;
}

/* Mappings of every kind worth telling apart: shared, PROT_NONE, a file
 * at an offset, execute-only rights, the heap. */
static void make_variety(void)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	void *p;

	mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	mmap(NULL, 3 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd >= 0) {
		mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
		close(fd);
	}
	p = mmap(NULL, 4096, PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	(void)p;
	free(malloc(200000));
	(void)sbrk(4096);
	/* More mappings than the module gathers in one round (64): 150
	 * that cannot merge, every other page of a reserved range read-only. */
	p = mmap(NULL, 300 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int i = 0; p != MAP_FAILED && i < 300; i += 2)
		mprotect((char *)p + i * 4096, 4096, PROT_READ);
}

static void check_agree(const char *mode, int fd)
{
	char why[200] = "";
	int n = 0, r;

	r = compare(fd, &n, why, sizeof(why));
	CHECK(r == 0 && n > 300, "%s: %d mappings as /proc/self/maps shows them%s%s", mode, n,
	      r ? ": " : "", why);
}

/* Paging one entry at a time, and from inside a mapping. */
static void check_paging(int fd)
{
	struct dune_vma one;
	uint64_t addr = 0, next;
	int n = 0, ok = 1;
	long r;

	do {
		r = get_vmas(fd, addr, &one, 1, &next);
		if (r != 1 || one.start != got[n].start || one.end != got[n].end ||
		    one.flags != got[n].flags) {
			ok = 0;
			break;
		}
		n++;
		addr = next;
	} while (next && n < MAX_MAPS);
	CHECK(ok && next == 0, "one entry at a time: %d calls, the same list (last next %#llx)", n,
	      (unsigned long long)next);
	/* 100 of them: two rounds of the module's gathering, then a stop. */
	r = get_vmas(fd, 0, got, 100, &next);
	CHECK(r == 100 && next == got[99].end, "100 at a time: %ld, next %#llx (the 100th ends "
	      "at %#llx)", r, (unsigned long long)next, (unsigned long long)got[99].end);
	r = get_vmas(fd, next, got + 100, MAX_MAPS - 100, &next);
	CHECK(r > 200 && next == 0, "the rest from there: %ld, next %#llx", r,
	      (unsigned long long)next);
	r = get_vmas(fd, (uintptr_t)&text[100], &one, 1, &next);
	CHECK(r == 1 && one.start <= (uintptr_t)&text[100] && one.end > (uintptr_t)&text[100] &&
	      (one.flags & DUNE_VMA_WRITE) && next == one.end,
	      "a query inside a mapping starts with it (%llx-%llx, next %#llx)",
	      (unsigned long long)one.start, (unsigned long long)one.end,
	      (unsigned long long)next);
	r = get_vmas(fd, ~0ULL - 4095, &one, 1, &next);
	CHECK(r == 0 && next == 0, "past the last mapping: none (%ld)", r);
}

static void check_bad(int fd)
{
	struct dune_vmas q = { .buf = (uintptr_t)got, .nr = 1 };
	void *ro = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *edge = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long r;

	CHECK(get_vmas(fd, 0, got, 0, NULL) == -EINVAL, "nr 0: EINVAL");
	CHECK(get_vmas(fd, 0, got, DUNE_VMAS_MAX + 1, NULL) == -EINVAL, "nr over the limit: EINVAL");
	q.reserved0 = 1;
	CHECK(ioctl(fd, DUNE_GET_VMAS, &q) < 0 && errno == EINVAL, "reserved0 set: EINVAL");
	q.reserved0 = 0;
	q.reserved[1] = 1;
	CHECK(ioctl(fd, DUNE_GET_VMAS, &q) < 0 && errno == EINVAL, "reserved set: EINVAL");
	CHECK(ioctl(fd, DUNE_GET_VMAS, NULL) < 0 && errno == EFAULT, "no argument: EFAULT");
	CHECK(get_vmas(fd, 0, NULL, 4, NULL) == -EFAULT, "no buffer: EFAULT");
	CHECK(get_vmas(fd, 0, (struct dune_vma *)(uintptr_t)0xffff800000000000ULL, 4, NULL) ==
	      -EFAULT, "a kernel buffer address: EFAULT");
	CHECK(ro != MAP_FAILED && get_vmas(fd, 0, ro, 4, NULL) == -EFAULT,
	      "a read-only buffer: EFAULT");
	/* The buffer's last entry runs into a PROT_NONE page. */
	if (edge != MAP_FAILED && mprotect(edge + 4096, 4096, PROT_NONE) == 0) {
		r = get_vmas(fd, 0, (struct dune_vma *)(edge + 4096 - sizeof(struct dune_vma)),
			     4, NULL);
		CHECK(r == -EFAULT, "a buffer running into PROT_NONE: EFAULT (%ld)", r);
	}
	CHECK(get_vmas(fd, 0, got, 1, NULL) == 1, "the file works after all that");
}

static atomic_bool stop;

static void *churn(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		void *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);

		if (p != MAP_FAILED) {
			mprotect((char *)p + 4096, 4096, PROT_READ);
			munmap(p, 65536);
		}
	}
	return NULL;
}

/* While a thread maps, splits and unmaps: sorted, disjoint, no errors. */
static void check_concurrent(int fd)
{
	pthread_t t;
	int i, k, bad = 0, err = 0;
	long n;

	atomic_store(&stop, false);
	if (pthread_create(&t, NULL, churn, NULL)) {
		CHECK(0, "churn thread");
		return;
	}
	for (i = 0; i < 300; i++) {
		n = get_vmas(fd, 0, got, MAX_MAPS, NULL);
		if (n < 0) {
			err++;
			continue;
		}
		for (k = 0; k < n; k++)
			if (got[k].start >= got[k].end || (k && got[k].start < got[k - 1].end))
				bad++;
	}
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	CHECK(!err && !bad, "300 calls beside a thread changing the mappings: %d errors, "
	      "%d unsorted or overlapping entries", err, bad);
}

static void guest_case(void *arg)
{
	struct dune_stats s0, s1;
	char why[200] = "";
	int fd = *(int *)arg, n = 0, r;
	uint64_t exits;

	r = compare(fd, &n, why, sizeof(why));
	SUB(r == 0 && n > 300, "from the guest: %d mappings as /proc/self/maps shows them: %s",
	    n, why);
	dune_get_stats(&s0);
	r = (int)get_vmas(fd, 0, got, MAX_MAPS, NULL);
	dune_get_stats(&s1);
	exits = s1.exits[DUNE_EXIT_HYPERCALL] - s0.exits[DUNE_EXIT_HYPERCALL];
	/* The second DUNE_GET_STATS is one hypercall too. */
	SUB(r > 300 && exits == 2, "one call from the guest: %d mappings, %llu hypercalls "
	    "(the stats read included)", r, (unsigned long long)exits);
	exit(sub_failed);
}

int main(void)
{
	char buf[64];
	int fd, st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open("/dev/dune", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		SKIP_ALL("no /dev/dune: %s", strerror(errno));
	if (ioctl(fd, DUNE_GET_VMAS, NULL) < 0 && errno == ENOTTY)
		SKIP_ALL("this module has no DUNE_GET_VMAS");
	make_variety();
	hwtest_mark("case host mode");
	check_agree("host mode", fd);
	check_paging(fd);
	check_bad(fd);
	check_concurrent(fd);
	hwtest_mark("case guest");
	require_dune_mode_in_child();
	st = run_in_dune_child(guest_case, &fd);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "from the guest: %s",
	      describe_status(st, buf, sizeof(buf)));
	return hwtest_done();
}
