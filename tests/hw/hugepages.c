// SPDX-License-Identifier: GPL-2.0
/*
 * Huge nested pages and fault-around (issue 16), counted in nested-fault
 * exits, and the guest's view kept coherent with every way of changing
 * part of a host huge page:
 *  - first touch of 64 MiB of MADV_HUGEPAGE memory: one nested fault per
 *    2 MiB the host backs with a transparent huge page (target <= 33);
 *  - 64 MiB the host has already populated at 4K: at most one nested
 *    fault per 64 KiB, for reads and for writes;
 *  - after the guest mapped a THP at 2M: munmap, mprotect(PROT_READ) and
 *    MADV_DONTNEED of one 4K page in it, and fork (COW) of it, each seen
 *    by the guest exactly as the process sees it (a removed page faults, a
 *    read-only page refuses writes while its neighbours still take them,
 *    a dropped page reads zero, a forked child keeps the old contents);
 *  - MADV_COLLAPSE of memory the guest mapped at 4K: the guest then reads
 *    and writes the new huge page, not the freed small ones;
 *  - 4K pages read, then written: fresh ones cost at most 2 nested faults
 *    each; the writes to ones the host wrote first take none (the read
 *    maps them writable); a file's pages at most 2 per 64 KiB.
 * Turns THP on (madvise) for the run and restores the setting.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dunetest.h"

#define MB		(1UL << 20)
#define HUGE		(2 * MB)
#define REGION		(64 * MB)
#define THP_KNOB	"/sys/kernel/mm/transparent_hugepage/enabled"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif

static char thp_saved[64];

static uint64_t nested_faults(void)
{
	struct dune_stats st;

	if (dune_get_stats(&st))
		return ~0ULL;
	return st.exits[DUNE_EXIT_NESTED_FAULT];
}

static char *map_aligned(size_t len, int advice)
{
	char *p = mmap(NULL, len + HUGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	p = (char *)(((uintptr_t)p + HUGE - 1) & ~(HUGE - 1));
	if (advice >= 0 && madvise(p, len, advice))
		return NULL;
	return p;
}

/* KiB of @p's range the host backs with huge pages (smaps AnonHugePages). */
static long anon_huge_kb(const void *p)
{
	char line[256];
	unsigned long lo, hi;
	long kb = -1;
	int in = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	if (f)
		fclose(f);
	return kb;
}

/*
 * Make the guest page-table path (libdune's tables, from its page pool)
 * for every 2M of the range first, so the count that follows is of data
 * pages only.
 */
static void guest_tables(char *p, size_t len)
{
	static char *scratch;
	ptent_t *pte;
	size_t i;

	/* One guest page fault first: its handler's stack is mapped then. */
	if (!scratch) {
		scratch = map_aligned(4096, -1);
		if (!scratch)
			exit(10);
		memset(scratch, 1, 4096);	/* and memset's code */
		(void)nested_faults();		/* and the counter's */
	}
	for (i = 0; i < len; i += HUGE) {
		if (dune_vm_lookup(pgroot, p + i, CREATE_NORMAL, &pte))
			exit(10);
		/* A fresh table page is zero already: write it so it is mapped. */
		*(volatile ptent_t *)pte = *pte;
	}
}

/* One access per page, @off bytes into it (real code rarely touches a
 * page at its first byte, and the fault path once lost fault-around for
 * any other offset). */
static void touch(char *p, size_t len, int write, size_t off)
{
	size_t i;

	for (i = off; i < len; i += 4096) {
		if (write)
			p[i] = (char)(i >> 12) | 1;
		else
			(void)*(volatile char *)(p + i);
	}
}

/* ------------------------------------------------------------ counts */

static void case_thp_first_touch(void *arg)
{
	char *p = map_aligned(REGION, MADV_HUGEPAGE);
	uint64_t f0, f1;
	long kb;

	(void)arg;
	if (!p)
		exit(10);
	guest_tables(p, REGION);
	f0 = nested_faults();
	touch(p, REGION, 1, 0);
	f1 = nested_faults();
	kb = anon_huge_kb(p);
	printf("# first touch of 64 MiB MADV_HUGEPAGE: %llu nested faults, host THP %ld KiB\n",
	       (unsigned long long)(f1 - f0), kb);
	if (kb < (long)(REGION >> 10))
		exit(20);	/* the host did not back it all with THPs: no verdict */
	exit(f1 - f0 <= 33 ? 0 : 1);
}

/* @arg: POP_WRITE and POP_INSIDE bits. */
#define POP_WRITE	1	/* write every page, else read it */
#define POP_INSIDE	2	/* touch at 0xa88 into each page, else its start */

static void case_populated(void *arg)
{
	uintptr_t how = (uintptr_t)arg;
	int write = !!(how & POP_WRITE);
	char *p = map_aligned(REGION, MADV_NOHUGEPAGE);
	uint64_t f0, f1;

	if (!p || madvise(p, REGION, MADV_POPULATE_WRITE))
		exit(10);
	guest_tables(p, REGION);
	f0 = nested_faults();
	touch(p, REGION, write, (how & POP_INSIDE) ? 0xa88 : 0);
	f1 = nested_faults();
	printf("# 64 MiB populated at 4K, %s every page at offset %s: %llu nested faults (%.2f per 64 KiB)\n",
	       write ? "writing" : "reading", (how & POP_INSIDE) ? "0xa88" : "0",
	       (unsigned long long)(f1 - f0), (double)(f1 - f0) / (REGION / (64 * 1024)));
	exit(f1 - f0 <= REGION / (64 * 1024) ? 0 : 1);
}

#define RW_PAGES	256
#define RW_HOST_WROTE	1	/* the host wrote the pages first, else fresh */

/*
 * Read every page, then write every page (what programs do with calloc'd
 * or read(2)-filled buffers).  Fresh memory: the read maps the zero page,
 * the write breaks COW; the fault that broke it looks again in the module
 * instead of making the guest fault once more, so at most 2 nested faults
 * per page (3 before).  Memory the host wrote: the read maps the page
 * writable, as the host has it, so the writes take no nested fault more
 * (one per page before).
 */
static void case_read_write(void *arg)
{
	int host_wrote = (uintptr_t)arg & RW_HOST_WROTE;
	size_t len = RW_PAGES * 4096UL;
	char *p = map_aligned(len, MADV_NOHUGEPAGE);
	uint64_t f0, f1, f2;

	if (!p || (host_wrote && madvise(p, len, MADV_POPULATE_WRITE)))
		exit(10);
	guest_tables(p, len);
	f0 = nested_faults();
	touch(p, len, 0, 0x10);
	f1 = nested_faults();
	touch(p, len, 1, 0x10);
	f2 = nested_faults();
	printf("# %d %s pages, read then written: %llu + %llu nested faults\n", RW_PAGES,
	       host_wrote ? "host-written" : "fresh", (unsigned long long)(f1 - f0),
	       (unsigned long long)(f2 - f1));
	if (host_wrote)
		exit(f2 - f1 <= RW_PAGES / 16 ? 0 : 1);
	exit(f2 - f0 <= 2 * RW_PAGES ? 0 : 1);
}

/*
 * A file's pages (in the page cache, not yet in the process's tables):
 * the host's own fault maps the faulting page with its neighbours (the
 * kernel's fault-around), and the nested fault takes them too, so at
 * most 2 nested faults per 64 KiB rather than one per page.
 */
static void case_file_read(void *arg)
{
	size_t len = RW_PAGES * 4096UL, i;
	char path[] = "/tmp/hugepages-file-XXXXXX", buf[4096];
	int fd = mkstemp(path);
	uint64_t f0, f1;
	char *p;

	if (fd < 0)
		exit(10);
	unlink(path);
	memset(buf, 0x3c, sizeof(buf));
	for (i = 0; i < RW_PAGES; i++)
		if (write(fd, buf, sizeof(buf)) != sizeof(buf))
			exit(10);
	p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		exit(10);
	guest_tables(p, len);
	f0 = nested_faults();
	for (i = 0; i < len; i += 4096)
		if (*(volatile char *)(p + i) != 0x3c)
			exit(2);
	f1 = nested_faults();
	printf("# %d pages of a file, read: %llu nested faults\n", RW_PAGES,
	       (unsigned long long)(f1 - f0));
	exit(f1 - f0 <= RW_PAGES / 16 * 2 ? 0 : 1);
}

/* ------------------------------------------------------- coherence */

/* A THP the guest has mapped at 2M (written through the guest). */
static char *guest_thp(void)
{
	char *p = map_aligned(HUGE, MADV_HUGEPAGE);
	uint64_t f0;

	if (!p)
		exit(10);
	guest_tables(p, HUGE);
	f0 = nested_faults();
	memset(p, 0x5a, HUGE);
	/* At 4K (with fault-around) it would take 32 faults; allow a few for
	 * code and data the child touches first here. */
	f0 = nested_faults() - f0;
	if (anon_huge_kb(p) < (long)(HUGE >> 10) || f0 > 4) {
		printf("# not a THP mapped at 2M: host THP %ld KiB, %llu nested faults\n",
		       anon_huge_kb(p), (unsigned long long)f0);
		exit(20);	/* no verdict */
	}
	return p;
}

#define MID	(HUGE / 2)

static void case_munmap(void *arg)
{
	char *p = guest_thp();

	(void)arg;
	if (munmap(p + MID, 4096))
		exit(10);
	if (p[MID - 4096] != 0x5a || p[MID + 4096] != 0x5a)
		exit(2);	/* the neighbours must still read */
	(void)*(volatile char *)(p + MID);
	exit(1);		/* read a page the process no longer has */
}

static void case_mprotect(void *arg)
{
	char *p = guest_thp();

	(void)arg;
	if (mprotect(p + MID, 4096, PROT_READ))
		exit(10);
	p[MID - 4096] = 1;	/* neighbours stay writable */
	p[MID + 4096] = 1;
	if (p[MID] != 0x5a)
		exit(2);
	*(volatile char *)(p + MID) = 1;
	exit(1);		/* wrote a read-only page */
}

static void case_dontneed(void *arg)
{
	char *p = guest_thp();

	(void)arg;
	if (madvise(p + MID, 4096, MADV_DONTNEED))
		exit(10);
	if (p[MID] != 0 || p[MID + 4095] != 0)
		exit(1);	/* the guest still saw the dropped page */
	if (p[MID - 1] != 0x5a || p[MID + 4096] != 0x5a)
		exit(2);
	p[MID] = 7;
	exit(p[MID] == 7 ? 0 : 3);
}

static void case_fork(void *arg)
{
	char *p = guest_thp();
	int fds[2], st;
	char c = 0;
	pid_t pid;

	(void)arg;
	if (pipe(fds))
		exit(10);
	pid = fork();	/* the child runs outside Dune mode */
	if (pid == 0) {
		if (read(fds[0], &c, 1) != 1)
			_exit(10);
		_exit(p[0] == 0x5a && p[HUGE - 1] == 0x5a ? 0 : 1);
	}
	/* The parent's writes after fork must not reach the child's copy. */
	p[0] = 1;
	p[HUGE - 1] = 1;
	if (write(fds[1], "x", 1) != 1 || waitpid(pid, &st, 0) != pid)
		exit(10);
	exit(WIFEXITED(st) ? WEXITSTATUS(st) : 11);
}

/* What the host (the kernel, through the process's page tables) sees at @p. */
static int host_byte(const char *p)
{
	int fds[2];
	char c = 0;

	if (pipe(fds) || write(fds[1], p, 1) != 1 || read(fds[0], &c, 1) != 1)
		exit(10);
	close(fds[0]);
	close(fds[1]);
	return c;
}

static void case_collapse(void *arg)
{
	char *p = map_aligned(HUGE, MADV_NOHUGEPAGE);
	size_t i;

	(void)arg;
	if (!p)
		exit(10);
	guest_tables(p, HUGE);
	memset(p, 0x33, HUGE);		/* mapped at 4K in the nested table */
	if (madvise(p, HUGE, MADV_HUGEPAGE) || madvise(p, HUGE, MADV_COLLAPSE))
		exit(20);		/* no MADV_COLLAPSE here: no verdict */
	if (anon_huge_kb(p) < (long)(HUGE >> 10))
		exit(20);
	for (i = 0; i < HUGE; i += 4096)
		if (p[i] != 0x33)
			exit(2);
	for (i = 0; i < HUGE; i += 4096)
		p[i] = 0x44;
	for (i = 0; i < HUGE; i += 64 * 4096)
		if (host_byte(p + i) != 0x44)
			exit(1);	/* the guest wrote to a page the host dropped */
	exit(0);
}

/* ------------------------------------------------------------- main */

static int thp_set(const char *mode)
{
	int fd = open(THP_KNOB, O_RDWR);
	char buf[128] = "";
	ssize_t n;

	if (fd < 0)
		return -1;
	if (!thp_saved[0]) {
		n = read(fd, buf, sizeof(buf) - 1);
		if (n > 0) {
			char *s = strchr(buf, '['), *e = s ? strchr(s, ']') : NULL;

			if (s && e && e - s - 1 < (long)sizeof(thp_saved)) {
				memcpy(thp_saved, s + 1, e - s - 1);
				thp_saved[e - s - 1] = 0;
			}
		}
	}
	n = pwrite(fd, mode, strlen(mode), 0);
	close(fd);
	return n == (ssize_t)strlen(mode) ? 0 : -1;
}

static int run(void (*fn)(void *), void *arg, const char **why)
{
	int st = run_in_dune_child(fn, arg);
	static char buf[64];

	*why = describe_status(st, buf, sizeof(buf));
	return st;
}

int main(void)
{
	struct dune_info info;
	const char *why;
	int st;

	setvbuf(stdout, NULL, _IONBF, 0);
	require_dune_mode_in_child();
	st = run(case_read_write, NULL, &why);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "fresh pages read, then written: <= 2 nested faults per page (%s)", why);
	st = run(case_read_write, (void *)RW_HOST_WROTE, &why);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "host-written pages read, then written: the writes take no nested fault (%s)", why);
	st = run(case_file_read, NULL, &why);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "a file's pages read: <= 2 nested faults per 64 KiB (%s)", why);
	if (dune_get_info(&info) || !(info.features & DUNE_FEAT_NESTED_2M))
		SKIP_ALL("no 2M nested pages on this CPU");
	if (thp_set("madvise"))
		SKIP_ALL("cannot turn on transparent huge pages (%s)", strerror(errno));

	st = run(case_thp_first_touch, NULL, &why);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 20)
		printf("# the host gave no THP for all 64 MiB: the first-touch count is not judged\n");
	else
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "64 MiB MADV_HUGEPAGE first touch: <= 33 nested faults (%s)", why);
	st = run(case_populated, NULL, &why);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "64 MiB populated at 4K, read: <= 1 nested fault per 64 KiB (%s)", why);
	st = run(case_populated, (void *)POP_WRITE, &why);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "64 MiB populated at 4K, written: <= 1 nested fault per 64 KiB (%s)", why);
	st = run(case_populated, (void *)POP_INSIDE, &why);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "64 MiB populated at 4K, read inside each page: <= 1 nested fault per 64 KiB (%s)",
	      why);
	st = run(case_populated, (void *)(POP_WRITE | POP_INSIDE), &why);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "64 MiB populated at 4K, written inside each page: <= 1 nested fault per 64 KiB (%s)",
	      why);

	st = run(case_munmap, NULL, &why);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	      "munmap of 4K inside a 2M nested page: the guest faults there (%s)", why);
	st = run(case_mprotect, NULL, &why);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	      "mprotect(PROT_READ) of 4K inside: neighbours writable, that page not (%s)", why);
	st = run(case_dontneed, NULL, &why);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "MADV_DONTNEED of 4K inside: the guest reads zero there (%s)", why);
	st = run(case_fork, NULL, &why);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "fork: the parent's guest writes after fork miss the child's copy (%s)", why);

	st = run(case_collapse, NULL, &why);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 20)
		printf("# MADV_COLLAPSE not available or refused here: not judged\n");
	else
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "MADV_COLLAPSE of guest-mapped 4K pages: the guest uses the new huge page (%s)",
		      why);

	if (thp_saved[0])
		thp_set(thp_saved);
	return hwtest_done();
}
