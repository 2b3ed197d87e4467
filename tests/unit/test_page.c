// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests for the page pool (libdune/page.c), in plain user space with
 * an identity guest-physical layout.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit_env.h"

#define POOL	64

static void setup(void)
{
	unit_env_identity_layout();
	unsetenv("DUNE_PAGE_POOL_MB");
	ck_assert_int_eq(dune_page_init(POOL), 0);
}

static struct dune_page_stats stats(void)
{
	struct dune_page_stats st;

	dune_page_stats_get(&st);
	return st;
}

static bool page_is_zero(struct page *pg)
{
	const uint64_t *p = dune_page2va(pg);
	int i;

	for (i = 0; i < PGSIZE / 8; i++)
		if (p[i])
			return false;
	return true;
}

START_TEST(init_geometry)
{
	ck_assert_int_eq(num_pages, POOL);
	ck_assert_ptr_nonnull(pages);
	ck_assert_uint_eq(dune_page_base_va % PGSIZE, 0);
	/* Identity layout: the pool's GPA is its address. */
	ck_assert_uint_eq(dune_page_base, dune_page_base_va);
	ck_assert_uint_eq(dune_va_to_pa((void *)dune_page_base_va), dune_page_base);
	ck_assert_uint_eq(stats().total, POOL);
	ck_assert_uint_eq(stats().free, POOL);
	ck_assert_uint_eq(stats().allocs, 0);
}
END_TEST

START_TEST(alloc_zeroed_ref1)
{
	struct page *pg = dune_page_alloc(), *again;

	ck_assert_ptr_nonnull(pg);
	ck_assert_uint_eq(pg->ref, 1);
	ck_assert(page_is_zero(pg));
	memset(dune_page2va(pg), 0xa5, PGSIZE);
	ck_assert_uint_eq(stats().free, POOL - 1);
	dune_page_put(pg);
	ck_assert_uint_eq(stats().free, POOL);
	ck_assert_uint_eq(stats().frees, 1);
	/* The free list is LIFO: the dirty page comes back, zeroed. */
	again = dune_page_alloc();
	ck_assert_ptr_eq(again, pg);
	ck_assert(page_is_zero(again));
	ck_assert_uint_eq(again->ref, 1);
	dune_page_put(again);
}
END_TEST

START_TEST(get_put_refcount)
{
	struct page *pg = dune_page_alloc();

	ck_assert_ptr_eq(dune_page_get(pg), pg);
	ck_assert_uint_eq(pg->ref, 2);
	dune_page_put(pg);
	ck_assert_uint_eq(pg->ref, 1);
	ck_assert_uint_eq(stats().frees, 0);
	ck_assert_uint_eq(stats().free, POOL - 1);
	dune_page_put(pg);
	ck_assert_uint_eq(pg->ref, 0);
	ck_assert_uint_eq(stats().frees, 1);
	ck_assert_uint_eq(stats().free, POOL);
}
END_TEST

START_TEST(exhaustion)
{
	struct page *got[POOL];
	int i, j;

	for (i = 0; i < POOL; i++) {
		got[i] = dune_page_alloc();
		ck_assert_ptr_nonnull(got[i]);
		for (j = 0; j < i; j++)
			ck_assert_ptr_ne(got[i], got[j]);
	}
	ck_assert_ptr_null(dune_page_alloc());
	ck_assert_ptr_null(dune_page_alloc());
	ck_assert_uint_eq(stats().free, 0);
	ck_assert_uint_eq(stats().allocs, POOL);
	dune_page_put(got[7]);
	ck_assert_ptr_eq(dune_page_alloc(), got[7]);
	for (i = 0; i < POOL; i++)
		dune_page_put(got[i]);
	ck_assert_uint_eq(stats().free, POOL);
	ck_assert_uint_eq(stats().allocs, stats().frees);
}
END_TEST

START_TEST(isfrompool_bounds)
{
	physaddr_t base = dune_page_base, end = base + POOL * PGSIZE;

	ck_assert(dune_page_isfrompool(base));
	ck_assert(dune_page_isfrompool(base + 123));
	ck_assert(dune_page_isfrompool(end - 1));
	ck_assert(!dune_page_isfrompool(end));
	ck_assert(!dune_page_isfrompool(base - 1));
	ck_assert(!dune_page_isfrompool(0));
	ck_assert(!dune_page_isfrompool((physaddr_t)&base));
}
END_TEST

START_TEST(pa_round_trip)
{
	struct page *pg;
	int i;

	for (i = 0; i < POOL; i++) {
		pg = dune_page_alloc();
		ck_assert_uint_eq(dune_page2pa(pg) % PGSIZE, 0);
		ck_assert(dune_page_isfrompool(dune_page2pa(pg)));
		ck_assert_ptr_eq(dune_pa2page(dune_page2pa(pg)), pg);
		ck_assert_ptr_eq(dune_pa2page(dune_page2pa(pg) + PGSIZE - 1), pg);
		ck_assert_uint_eq(dune_va_to_pa(dune_page2va(pg)), dune_page2pa(pg));
		ck_assert_uint_eq(dune_pa_to_va(dune_page2pa(pg)), (uintptr_t)dune_page2va(pg));
	}
	ck_assert_uint_eq(stats().free, 0);
}
END_TEST

START_TEST(env_size_and_clamp)
{
	setenv("DUNE_PAGE_POOL_MB", "8", 1);
	ck_assert_int_eq(dune_page_init(0), 0);
	ck_assert_int_eq(num_pages, 8 << 8);
	ck_assert_uint_eq(stats().total, 2048);
	setenv("DUNE_PAGE_POOL_MB", "junk", 1);
	ck_assert_int_eq(dune_page_init(0), 0);
	ck_assert_int_eq(num_pages, 1 << 18);	/* default: 1 GiB */
	unsetenv("DUNE_PAGE_POOL_MB");
	ck_assert_int_eq(dune_page_init(MAX_PAGES + 5), 0);
	ck_assert_uint_eq(num_pages, MAX_PAGES);
	/* The last page is usable memory. */
	memset((void *)(dune_page_base_va + (MAX_PAGES - 1) * PGSIZE), 1, PGSIZE);
}
END_TEST

START_TEST(reinit_replaces_pool)
{
	struct page *pg = dune_page_alloc();

	dune_page_put(pg);
	ck_assert_int_eq(dune_page_init(16), 0);
	ck_assert_uint_eq(stats().total, 16);
	ck_assert_uint_eq(stats().free, 16);
	ck_assert_uint_eq(stats().allocs, 0);
	ck_assert_ptr_nonnull(dune_page_alloc());
}
END_TEST

START_TEST(no_guest_physical_home)
{
	/* An empty layout gives no address a GPA: the pool cannot exist. */
	memset(&dune_layout_cache, 0, sizeof(dune_layout_cache));
	ck_assert_int_eq(dune_page_init(16), -ENOMEM);
}
END_TEST

#define THREADS	8
#define ROUNDS	20000
#define HOLD	6

static void *hammer(void *arg)
{
	uint64_t tag = (uintptr_t)arg;
	struct page *held[HOLD];
	long bad = 0;
	int i, j, n;

	for (i = 0; i < ROUNDS; i++) {
		n = 1 + (i + (int)tag) % HOLD;
		for (j = 0; j < n; j++) {
			held[j] = dune_page_alloc();
			if (!held[j]) {
				n = j;
				break;
			}
			uint64_t *p = dune_page2va(held[j]);

			if (p[0] || p[PGSIZE / 8 - 1] || held[j]->ref != 1)
				bad++;
			p[0] = p[PGSIZE / 8 - 1] = tag << 32 | j;
		}
		for (j = 0; j < n; j++) {
			uint64_t *p = dune_page2va(held[j]);

			if (p[0] != (tag << 32 | j) || p[PGSIZE / 8 - 1] != p[0])
				bad++;
			if (j & 1)
				dune_page_get(held[j]), dune_page_put(held[j]);
			dune_page_put(held[j]);
		}
	}
	return (void *)bad;
}

START_TEST(concurrent_alloc_free)
{
	pthread_t t[THREADS];
	struct dune_page_stats st;
	void *bad;
	int i;

	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer,
						(void *)(uintptr_t)(i + 1)), 0);
	for (i = 0; i < THREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], &bad), 0);
		ck_assert_uint_eq((uintptr_t)bad, 0);
	}
	dune_page_stats_get(&st);
	ck_assert_uint_eq(st.free, POOL);
	ck_assert_uint_eq(st.allocs, st.frees);
	ck_assert_uint_ge(st.allocs, ROUNDS);
	for (i = 0; i < POOL; i++)
		ck_assert_uint_eq(pages[i].ref, 0);
}
END_TEST

START_TEST(table_marks)
{
	struct page *a = dune_page_alloc(), *b = dune_page_alloc();

	ck_assert(!dune_page_is_table(a) && !dune_page_is_table(b));
	dune_page_mark_table(b);
	ck_assert(!dune_page_is_table(a) && dune_page_is_table(b));
	dune_page_put(b);	/* freed: no table any more */
	ck_assert(!dune_page_is_table(b));
	ck_assert(dune_page_alloc() == b && !dune_page_is_table(b));
	dune_page_put(a);
	dune_page_put(b);
}
END_TEST

/* /proc/self/pagemap bit 56: the page is mapped only here (since 4.2). */
static int exclusive(const void *va)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : pread(fd, &e, 8, (off_t)((uintptr_t)va / PGSIZE * 8));

	if (fd >= 0)
		close(fd);
	return n == 8 ? (int)(e >> 56 & 1) : -1;
}

/*
 * A fork child copies the table pages, and only them: after
 * dune_page_populate_tables() they are its own, while another pool page
 * in use is still shared with the parent.
 */
START_TEST(fork_child_copies_tables)
{
	struct page *pg[70];
	int i, st;
	pid_t pid;

	for (i = 0; i < 70 && i < POOL; i++) {
		pg[i] = dune_page_alloc();
		ck_assert_ptr_nonnull(pg[i]);
		memset(dune_page2va(pg[i]), i + 1, PGSIZE);
		/* Tables in two runs, the second up to the pool's last page. */
		if ((i >= 2 && i < 5) || (i >= 60 && i < POOL))
			dune_page_mark_table(pg[i]);
	}
	pid = fork();
	if (pid == 0) {
		int bad = 0;

		dune_page_populate_tables();
		for (i = 0; i < 70 && i < POOL; i++) {
			int table = (i >= 2 && i < 5) || i >= 60;

			if (exclusive(dune_page2va(pg[i])) != table ||
			    *(uint8_t *)dune_page2va(pg[i]) != i + 1)
				bad++;
		}
		_exit(bad);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child: %d pages wrong",
		      WEXITSTATUS(st));
	for (i = 0; i < 70 && i < POOL; i++)
		dune_page_put(pg[i]);
}
END_TEST

static Suite *page_suite(void)
{
	Suite *s = suite_create("page");
	TCase *tc = tcase_create("pool");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, init_geometry);
	tcase_add_test(tc, alloc_zeroed_ref1);
	tcase_add_test(tc, get_put_refcount);
	tcase_add_test(tc, exhaustion);
	tcase_add_test(tc, isfrompool_bounds);
	tcase_add_test(tc, pa_round_trip);
	tcase_add_test(tc, env_size_and_clamp);
	tcase_add_test(tc, reinit_replaces_pool);
	tcase_add_test(tc, no_guest_physical_home);
	tcase_add_test(tc, concurrent_alloc_free);
	tcase_add_test(tc, table_marks);
	tcase_add_test(tc, fork_child_copies_tables);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(page_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
