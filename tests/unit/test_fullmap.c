// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libdune/fullmap.c reads /proc/self/maps from trap context in 4 KiB
 * chunks with no allocation.  Against this process's own maps, made long
 * (hundreds of mappings with long file names: many 4 KiB chunks; the
 * kernel's seq_file ends each read on a whole line, so the code for a
 * line cut at a chunk's end is a defence, not exercised here): for every
 * mapping and every hole, the range and rights it reports are the ones
 * stdio parsing of the same file gives.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "unit_env.h"

bool dune_full_map_read_maps(uintptr_t addr, uintptr_t *start, uintptr_t *end, bool *ok,
			     bool *w, bool *x);

#define NR_MAPS	300

static void check_addr(uintptr_t addr, uintptr_t want_start, uintptr_t want_end, bool want_ok,
		       bool want_w, bool want_x)
{
	uintptr_t start, end;
	bool ok, w, x;

	ck_assert_msg(dune_full_map_read_maps(addr, &start, &end, &ok, &w, &x), "%#lx", addr);
	ck_assert_msg(start == want_start && end == want_end,
		      "%#lx: %#lx-%#lx, want %#lx-%#lx", addr, start, end, want_start, want_end);
	ck_assert_msg(ok == want_ok && (!ok || (w == want_w && x == want_x)),
		      "%#lx: ok %d w %d x %d", addr, ok, w, x);
}

START_TEST(long_maps_parsed_like_stdio)
{
	char path[300], line[1024], perms[5];
	uintptr_t start, end, prev_end = 0;
	int fd, i, lines = 0;
	size_t total = 0;
	FILE *f;

	/* A file with a ~250-byte name, mapped NR_MAPS times, every other
	 * one executable, so that no two mappings merge. */
	memset(path, 'n', sizeof(path));
	memcpy(path, "/tmp/dune-test-fullmap-", 23);
	path[260] = '\0';
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 4096), 0);
	for (i = 0; i < NR_MAPS; i++)
		ck_assert_ptr_ne(mmap(NULL, 4096, i % 2 ? PROT_READ : PROT_READ | PROT_EXEC,
				      MAP_PRIVATE, fd, 0), MAP_FAILED);
	/* and some PROT_NONE, writable and anonymous ones */
	ck_assert_ptr_ne(mmap(NULL, 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
			 MAP_FAILED);
	ck_assert_ptr_ne(mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			      -1, 0), MAP_FAILED);
	close(fd);
	unlink(path);

	f = fopen("/proc/self/maps", "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		total += strlen(line);
		ck_assert_int_eq(sscanf(line, "%lx-%lx %4s", &start, &end, perms), 3);
		if (start > prev_end)	/* the hole before it */
			check_addr(start - 1, prev_end, start, false, false, false);
		check_addr(start, start, end, perms[0] == 'r' || perms[2] == 'x',
			   perms[1] == 'w', perms[2] == 'x');
		check_addr(end - 1, start, end, perms[0] == 'r' || perms[2] == 'x',
			   perms[1] == 'w', perms[2] == 'x');
		prev_end = end;
		lines++;
	}
	fclose(f);
	ck_assert_int_gt(lines, NR_MAPS);
	ck_assert_uint_gt(total, 16 * 4096);	/* many chunks */
	if (prev_end)
		check_addr(~0UL - 1, prev_end, ~0UL, false, false, false);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fullmap");
	TCase *tc = tcase_create("maps");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, long_maps_parsed_like_stdio);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
