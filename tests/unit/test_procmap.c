// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests for libdune's memory map parser (libdune/procmap.c): crafted
 * maps text (every type, odd paths, malformed lines) and this process's
 * own /proc/self/maps (its code, heap, stack, vDSO, and mappings made here).
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "unit_env.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

/* The callback takes no argument: entries are copied here. */
#define MAX_ENTRIES 4096

static struct dune_procmap_entry seen[MAX_ENTRIES];
static int nseen;

static void collect(const struct dune_procmap_entry *e)
{
	ck_assert_int_lt(nseen, MAX_ENTRIES);
	ck_assert_ptr_nonnull(e->path);
	seen[nseen] = *e;
	seen[nseen].path = strdup(e->path);	/* e->path dies with the call */
	nseen++;
}

static void forget(void)
{
	while (nseen)
		free(seen[--nseen].path);
}

/* The entry holding @addr, or NULL. */
static const struct dune_procmap_entry *find(uintptr_t addr)
{
	int i;

	for (i = 0; i < nseen; i++)
		if (addr >= seen[i].begin && addr < seen[i].end)
			return &seen[i];
	return NULL;
}

static void check_entry(const struct dune_procmap_entry *e, uintptr_t begin, uintptr_t end,
			const char *perms, uint64_t offset, const char *path, int type)
{
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->begin, begin);
	ck_assert_uint_eq(e->end, end);
	ck_assert_int_eq(e->r, perms[0] == 'r');
	ck_assert_int_eq(e->w, perms[1] == 'w');
	ck_assert_int_eq(e->x, perms[2] == 'x');
	ck_assert_int_eq(e->p, perms[3] == 'p');
	ck_assert_uint_eq(e->offset, offset);
	ck_assert_str_eq(e->path, path);
	ck_assert_int_eq(e->type, type);
}

/* ------------------------------------------------------------ text */

static const char sample[] =
	"00400000-0040b000 r-xp 00000000 fe:00 917797                             /bin/cat\n"
	"022cf000-022f0000 rw-p 00000000 00:00 0                                  [heap]\n"
	"7fe598a24000-7fe598a28000 rw-p 00000000 00:00 0 \n"
	"7fe598a28000-7fe598a29000 rw-p 00000000 00:00 0\n"
	"7fe598b00000-7fe598b01000 r--s 0001f000 08:11 1234567890123   /tmp/my file  with spaces\n"
	"7fe598c00000-7fe598c02000 rw-s 00000000 00:05 42 /dev/shm/gone (deleted)\n"
	"7fe598d00000-7fe598d01000 rw-p 00000000 00:00 0     [anon:jit cache]\n"
	"7fe598e00000-7fe598e01000 r-xp 00000000 00:00 0     [uprobes]\n"
	"7fff601ca000-7fff601eb000 rw-p 00000000 00:00 0                          [stack]\n"
	"7fff601ec000-7fff601ed000 rw-p 00000000 00:00 0                          [stack:1234]\n"
	"7fff601f0000-7fff601f4000 r--p 00000000 00:00 0                          [vvar]\n"
	"7fff601f4000-7fff601f6000 r--p 00000000 00:00 0                          [vvar_vclock]\n"
	"7fff601ff000-7fff60200000 r-xp 00000000 00:00 0                          [vdso]\n"
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n"
	"ABCDEF000-ABCDEF000 ---p FFFFFFFFFFFFF000 FF:FF 18446744073709551615 x";

START_TEST(text_all_types)
{
	char copy[sizeof(sample)];

	memcpy(copy, sample, sizeof(sample));
	nseen = 0;
	ck_assert_int_eq(dune_procmap_iterate_text(copy, collect), 0);
	ck_assert_int_eq(memcmp(copy, sample, sizeof(sample)), 0);	/* read only */
	ck_assert_int_eq(nseen, 15);
	check_entry(&seen[0], 0x400000, 0x40b000, "r-xp", 0, "/bin/cat", PROCMAP_TYPE_FILE);
	check_entry(&seen[1], 0x22cf000, 0x22f0000, "rw-p", 0, "[heap]", PROCMAP_TYPE_HEAP);
	check_entry(&seen[2], 0x7fe598a24000, 0x7fe598a28000, "rw-p", 0, "",
		    PROCMAP_TYPE_ANONYMOUS);
	check_entry(&seen[3], 0x7fe598a28000, 0x7fe598a29000, "rw-p", 0, "",
		    PROCMAP_TYPE_ANONYMOUS);
	check_entry(&seen[4], 0x7fe598b00000, 0x7fe598b01000, "r--s", 0x1f000,
		    "/tmp/my file  with spaces", PROCMAP_TYPE_FILE);
	check_entry(&seen[5], 0x7fe598c00000, 0x7fe598c02000, "rw-s", 0,
		    "/dev/shm/gone (deleted)", PROCMAP_TYPE_FILE);
	check_entry(&seen[6], 0x7fe598d00000, 0x7fe598d01000, "rw-p", 0, "[anon:jit cache]",
		    PROCMAP_TYPE_ANONYMOUS);
	check_entry(&seen[7], 0x7fe598e00000, 0x7fe598e01000, "r-xp", 0, "[uprobes]",
		    PROCMAP_TYPE_UNKNOWN);
	check_entry(&seen[8], 0x7fff601ca000, 0x7fff601eb000, "rw-p", 0, "[stack]",
		    PROCMAP_TYPE_STACK);
	check_entry(&seen[9], 0x7fff601ec000, 0x7fff601ed000, "rw-p", 0, "[stack:1234]",
		    PROCMAP_TYPE_STACK);
	check_entry(&seen[10], 0x7fff601f0000, 0x7fff601f4000, "r--p", 0, "[vvar]",
		    PROCMAP_TYPE_VVAR);
	check_entry(&seen[11], 0x7fff601f4000, 0x7fff601f6000, "r--p", 0, "[vvar_vclock]",
		    PROCMAP_TYPE_VVAR);
	check_entry(&seen[12], 0x7fff601ff000, 0x7fff60200000, "r-xp", 0, "[vdso]",
		    PROCMAP_TYPE_VDSO);
	check_entry(&seen[13], 0xffffffffff600000, 0xffffffffff601000, "--xp", 0, "[vsyscall]",
		    PROCMAP_TYPE_VSYSCALL);
	/* Upper-case hex, widest numbers, no final newline. */
	check_entry(&seen[14], 0xabcdef000, 0xabcdef000, "---p", 0xfffffffffffff000, "x",
		    PROCMAP_TYPE_FILE);
	forget();
}
END_TEST

static int calls;

static void count(const struct dune_procmap_entry *e)
{
	calls++;
}

START_TEST(text_edges)
{
	calls = 0;
	ck_assert_int_eq(dune_procmap_iterate_text("", count), 0);
	ck_assert_int_eq(calls, 0);
	ck_assert_int_eq(dune_procmap_iterate_text("1000-2000 rw-p 0 0:0 0\n", count), 0);
	ck_assert_int_eq(calls, 1);
	ck_assert_int_eq(dune_procmap_iterate_text(NULL, count), -EINVAL);
	ck_assert_int_eq(dune_procmap_iterate_text("", NULL), -EINVAL);
}
END_TEST

static const char *const malformed[] = {
	"\n",					/* empty line in the middle */
	"zzz\n",
	" 1000-2000 rw-p 00000000 00:00 0\n",	/* leading blank */
	"1000-\n",
	"1000-2000\n",
	"1000 2000 rw-p 00000000 00:00 0\n",
	"1000-2000 rw-p\n",
	"1000-2000 rwzp 00000000 00:00 0\n",	/* bad permission */
	"1000-2000 rw-x 00000000 00:00 0\n",	/* neither p nor s */
	"1000-2000 rw-pp 00000000 00:00 0\n",
	"1000-2000 rw- 00000000 00:00 0\n",
	"1000-2000 rw-p  00000000 00:00 0\n",	/* two blanks */
	"1000-2000 rw-p 00000000 00:00\n",	/* no inode */
	"1000-2000 rw-p 00000000 0000 0\n",	/* no ':' in the device */
	"1000-2000 rw-p 0000000g 00:00 0\n",
	"1000-2000 rw-p 00000000 00:00 12a /x\n",	/* inode is decimal */
	"1000-2000 rw-p 00000000 00:00 0\t/x\n",
	"2000-1000 rw-p 00000000 00:00 0\n",	/* begin > end */
	"10000000000000000-10000000000001000 rw-p 00000000 00:00 0\n",	/* overflow */
	"1000-2000 rw-p 00000000 00:00 18446744073709551616\n",
	"1000-2000 r",				/* text ends inside the permissions */
};

START_TEST(text_malformed)
{
	const char *good = "1000-2000 rw-p 00000000 00:00 0 [heap]\n";
	char text[256];

	/* The bad line after a good one, and alone: the good line is not
	 * delivered either. */
	snprintf(text, sizeof(text), "%s%s%s", good, malformed[_i], good);
	calls = 0;
	ck_assert_msg(dune_procmap_iterate_text(text, count) == -EINVAL, "%s", malformed[_i]);
	ck_assert_int_eq(calls, 0);
	ck_assert_int_eq(dune_procmap_iterate_text(malformed[_i], count), -EINVAL);
	ck_assert_int_eq(calls, 0);
}
END_TEST

/* ------------------------------------------------------------ live */

static void snapshot(void)
{
	forget();
	dune_procmap_iterate(collect);
	ck_assert_int_gt(nseen, 5);
}

START_TEST(live_code_heap_stack)
{
	const struct dune_procmap_entry *e;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	/* [heap] is the brk area: grow it (malloc need not use it). */
	char *heap = sbrk(sysconf(_SC_PAGESIZE));
	int local = 0;
	uintptr_t vdso = getauxval(AT_SYSINFO_EHDR);

	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	ck_assert_ptr_ne(heap, (void *)-1);
	snapshot();
	e = find((uintptr_t)&snapshot);
	ck_assert_ptr_nonnull(e);
	ck_assert(e->r && !e->w && e->x && e->p);
	ck_assert_int_eq(e->type, PROCMAP_TYPE_FILE);
	ck_assert_str_eq(e->path, exe);
	e = find((uintptr_t)&nseen);
	ck_assert(e && e->r && e->w && !e->x);
	e = find((uintptr_t)heap);
	ck_assert(e && e->r && e->w && e->p);
	/* valgrind emulates brk and the main stack with anonymous mappings */
	if (!RUNNING_ON_VALGRIND)
		ck_assert_int_eq(e->type, PROCMAP_TYPE_HEAP);
	e = find((uintptr_t)&local);
	ck_assert(e && e->r && e->w && e->p);
	if (!RUNNING_ON_VALGRIND) {
		ck_assert_int_eq(e->type, PROCMAP_TYPE_STACK);
		ck_assert_str_eq(e->path, "[stack]");
	}
	if (vdso) {
		e = find(vdso);
		ck_assert(e && e->r && e->x);
		ck_assert_int_eq(e->type, PROCMAP_TYPE_VDSO);
		ck_assert_uint_eq(e->begin, vdso);
	}
	sbrk(-sysconf(_SC_PAGESIZE));
	forget();
}
END_TEST

START_TEST(live_anonymous_mmap)
{
	long pg = sysconf(_SC_PAGESIZE);
	/* PROT_NONE guards on both sides: no neighbour can merge with it. */
	char *g = mmap(NULL, 5 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t p;

	ck_assert_ptr_ne(g, MAP_FAILED);
	ck_assert_ptr_eq(mmap(g + pg, 3 * pg, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), g + pg);
	ck_assert_int_eq(mprotect(g + 2 * pg, pg, PROT_READ | PROT_EXEC), 0);
	p = (uintptr_t)g;
	snapshot();
	check_entry(find(p), p, p + pg, "---p", 0, "", PROCMAP_TYPE_ANONYMOUS);
	check_entry(find(p + pg), p + pg, p + 2 * pg, "rw-p", 0, "", PROCMAP_TYPE_ANONYMOUS);
	check_entry(find(p + 2 * pg), p + 2 * pg, p + 3 * pg, "r-xp", 0, "",
		    PROCMAP_TYPE_ANONYMOUS);
	check_entry(find(p + 3 * pg), p + 3 * pg, p + 4 * pg, "rw-p", 0, "",
		    PROCMAP_TYPE_ANONYMOUS);
	check_entry(find(p + 4 * pg), p + 4 * pg, p + 5 * pg, "---p", 0, "",
		    PROCMAP_TYPE_ANONYMOUS);
	munmap(g, 5 * pg);
	snapshot();
	ck_assert_ptr_null(find(p + 2 * pg));
	forget();
}
END_TEST

START_TEST(live_file_with_spaces_deleted)
{
	long pg = sysconf(_SC_PAGESIZE);
	char path[] = "/tmp/dune procmap test XXXXXX";
	char deleted[sizeof(path) + 16];
	uintptr_t p;
	void *m;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 2 * pg), 0);
	m = mmap(NULL, pg, PROT_READ, MAP_SHARED, fd, pg);
	ck_assert_ptr_ne(m, MAP_FAILED);
	close(fd);
	p = (uintptr_t)m;
	snapshot();
	check_entry(find(p), p, p + pg, "r--s", pg, path, PROCMAP_TYPE_FILE);
	unlink(path);
	snprintf(deleted, sizeof(deleted), "%s (deleted)", path);
	snapshot();
	check_entry(find(p), p, p + pg, "r--s", pg, deleted, PROCMAP_TYPE_FILE);
	munmap(m, pg);
	forget();
}
END_TEST

START_TEST(live_dump)
{
	char path[] = "/tmp/dune-procmap-dump-XXXXXX";
	char *out = malloc(1 << 20);
	int fd = mkstemp(path), saved = dup(2);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	dup2(fd, 2);	/* dune_printf writes to fd 2 */
	dune_procmap_dump();
	dup2(saved, 2);
	n = pread(fd, out, (1 << 20) - 1, 0);
	ck_assert_int_gt(n, 0);
	out[n] = '\0';
	ck_assert_ptr_nonnull(strstr(out, "--- Process Map Dump ---\n"));
	ck_assert_ptr_nonnull(strstr(out, "[stack]\n"));
	ck_assert_ptr_nonnull(strstr(out, " RW-P "));
	close(fd);
	close(saved);
	free(out);
}
END_TEST

/* libdune/vmas.c: the module's binary entries become procmap entries. */
START_TEST(vma_entries)
{
	static const struct {
		uint32_t flags, kind;
		bool r, w, x, p;
		int type;
	} c[] = {
		{ DUNE_VMA_READ | DUNE_VMA_EXEC, DUNE_VMA_FILE, 1, 0, 1, 1, PROCMAP_TYPE_FILE },
		{ DUNE_VMA_READ | DUNE_VMA_WRITE | DUNE_VMA_SHARED, DUNE_VMA_ANON, 1, 1, 0, 0,
		  PROCMAP_TYPE_ANONYMOUS },
		{ DUNE_VMA_READ | DUNE_VMA_WRITE, DUNE_VMA_HEAP, 1, 1, 0, 1, PROCMAP_TYPE_HEAP },
		{ DUNE_VMA_READ | DUNE_VMA_WRITE, DUNE_VMA_STACK, 1, 1, 0, 1, PROCMAP_TYPE_STACK },
		{ DUNE_VMA_READ | DUNE_VMA_EXEC, DUNE_VMA_VDSO, 1, 0, 1, 1, PROCMAP_TYPE_VDSO },
		{ DUNE_VMA_READ | DUNE_VMA_PFNMAP, DUNE_VMA_VVAR, 1, 0, 0, 1, PROCMAP_TYPE_VVAR },
		{ 0, DUNE_VMA_SPECIAL, 0, 0, 0, 1, PROCMAP_TYPE_UNKNOWN },
		{ DUNE_VMA_WRITE, 77, 0, 1, 0, 1, PROCMAP_TYPE_UNKNOWN },
	};
	struct dune_procmap_entry e;
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct dune_vma v = { 0x1000 * (i + 1), 0x1000 * (i + 3), 0x2000 * i,
				      c[i].flags, c[i].kind };

		memset(&e, 0x5a, sizeof(e));
		dune_vma_entry(&v, &e);
		ck_assert_uint_eq(e.begin, v.start);
		ck_assert_uint_eq(e.end, v.end);
		ck_assert_uint_eq(e.offset, v.offset);
		ck_assert_msg(e.r == c[i].r && e.w == c[i].w && e.x == c[i].x && e.p == c[i].p,
			      "case %zu: rights %d%d%d%d", i, e.r, e.w, e.x, e.p);
		ck_assert_int_eq(e.type, c[i].type);
		ck_assert_ptr_null(e.path);
	}
}
END_TEST

static int n_scanned;
static bool scanned_stack;

static int count_scan(const struct dune_procmap_entry *e, void *arg)
{
	n_scanned++;
	if (e->type == PROCMAP_TYPE_STACK)
		scanned_stack = true;
	return arg && n_scanned == 3 ? 42 : 0;
}

/* Without the module (dune_fd closed) dune_vmas_scan walks the text, and
 * a callback's nonzero return stops it and is returned. */
START_TEST(vmas_scan_fallback)
{
	ck_assert_int_lt(dune_fd, 0);
	n_scanned = 0;
	ck_assert_int_eq(dune_vmas_scan(count_scan, NULL), 0);
	ck_assert_int_gt(n_scanned, 5);
	ck_assert(scanned_stack);
	n_scanned = 0;
	ck_assert_int_eq(dune_vmas_scan(count_scan, (void *)1), 42);
	ck_assert_int_eq(n_scanned, 3);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("procmap");
	TCase *tc = tcase_create("text");
	TCase *tl = tcase_create("live");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, text_all_types);
	tcase_add_test(tc, text_edges);
	tcase_add_loop_test(tc, text_malformed, 0, sizeof(malformed) / sizeof(malformed[0]));
	suite_add_tcase(s, tc);
	tcase_add_test(tl, live_code_heap_stack);
	tcase_add_test(tl, live_anonymous_mmap);
	tcase_add_test(tl, live_file_with_spaces_deleted);
	tcase_add_test(tl, live_dump);
	tcase_add_test(tl, vma_entries);
	tcase_add_test(tl, vmas_scan_fallback);
	suite_add_tcase(s, tl);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
