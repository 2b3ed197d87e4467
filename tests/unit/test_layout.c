// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for the guest-physical layout (kmod/common/layout.c), shared
 * by the module and libdune.
 */
#include <check.h>
#include <stdlib.h>

#include "../../kmod/common/layout.h"

#define GIB (1ULL << 30)

static struct dune_layout make(unsigned int bits)
{
	struct dune_layout l;

	dune_layout_init(&l, 0x7f1234567000ULL, 0x7ffd12345678ULL, bits);
	return l;
}

START_TEST(windows_fit_below_phys_limit)
{
	static const unsigned int bits[] = { 39, 40, 46, 48, 52 };
	struct dune_layout l = make(bits[_i]);

	ck_assert_uint_eq(l.phys_limit, 1ULL << bits[_i]);
	ck_assert_uint_eq(l.gpa_stack_base + l.stack_size, l.phys_limit);
	ck_assert_uint_eq(l.gpa_map_base + l.map_size, l.gpa_stack_base);
	ck_assert_uint_eq(l.base_limit, l.gpa_map_base);
	ck_assert_uint_eq(l.mmap_base % GIB, 0);
	ck_assert_uint_eq(l.stack_base % GIB, 0);
	/* The windows hold the areas they are named after. */
	ck_assert(0x7f1234567000ULL - 1 >= l.mmap_base);
	ck_assert(0x7f1234567000ULL - 1 < l.mmap_base + l.map_size);
	ck_assert(0x7ffd12345678ULL >= l.stack_base);
	ck_assert(0x7ffd12345678ULL < l.stack_base + l.stack_size);
}
END_TEST

START_TEST(round_trips)
{
	struct dune_layout l = make(40);
	const uint64_t vas[] = {
		0x400000, 0x1000, l.base_limit - 4096,		/* 1:1 part */
		l.mmap_base, l.mmap_base + l.map_size - 1,	/* mmap window */
		0x7f1234567000ULL - 4096,
		l.stack_base, 0x7ffd12345000ULL,		/* stack window */
		l.stack_base + l.stack_size - 1,
	};
	size_t i;

	for (i = 0; i < sizeof(vas) / sizeof(vas[0]); i++) {
		uint64_t gpa = dune_hva_to_gpa(&l, vas[i]);

		ck_assert_msg(gpa < l.phys_limit, "va %#llx", (unsigned long long)vas[i]);
		ck_assert_uint_eq(dune_gpa_to_hva(&l, gpa), vas[i]);
	}
}
END_TEST

START_TEST(outside_maps_nowhere)
{
	struct dune_layout l = make(40);

	/* Addresses between the 1:1 part and the windows have no GPA. */
	ck_assert_uint_eq(dune_hva_to_gpa(&l, l.base_limit), ~0ULL);
	ck_assert_uint_eq(dune_hva_to_gpa(&l, 0x555555554000ULL), ~0ULL);	/* PIE */
	ck_assert_uint_eq(dune_hva_to_gpa(&l, l.stack_base + l.stack_size), ~0ULL);
	ck_assert_uint_eq(dune_hva_to_gpa(&l, 0xffffffffff600000ULL), ~0ULL);	/* vsyscall */
	/* GPAs at or beyond the physical limit map nowhere. */
	ck_assert_uint_eq(dune_gpa_to_hva(&l, l.phys_limit), 0);
	ck_assert_uint_eq(dune_gpa_to_hva(&l, ~0ULL), 0);
	ck_assert_uint_eq(dune_gpa_to_hva(&l, l.phys_limit + l.gpa_map_base), 0);
}
END_TEST

START_TEST(window_edges)
{
	struct dune_layout l = make(40);

	ck_assert_uint_eq(dune_gpa_to_hva(&l, l.gpa_map_base), l.mmap_base);
	ck_assert_uint_eq(dune_gpa_to_hva(&l, l.gpa_stack_base), l.stack_base);
	ck_assert_uint_eq(dune_gpa_to_hva(&l, l.gpa_stack_base - 1),
			  l.mmap_base + l.map_size - 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("layout");
	TCase *tc = tcase_create("layout");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, windows_fit_below_phys_limit, 0, 5);
	tcase_add_test(tc, round_trips);
	tcase_add_test(tc, outside_maps_nowhere);
	tcase_add_test(tc, window_edges);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
