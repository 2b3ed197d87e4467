// SPDX-License-Identifier: GPL-2.0
/*
 * The ioctl ABI's layout is fixed: these asserts fail the build if a field
 * moves, and the runtime tests check the ioctl numbers and libdune's names.
 */
#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <dune/info.h>

_Static_assert(sizeof(struct dune_info) == 104, "dune_info size is ABI");
_Static_assert(offsetof(struct dune_info, features) == 8, "features offset");
_Static_assert(offsetof(struct dune_info, phys_bits) == 16, "phys_bits offset");
_Static_assert(offsetof(struct dune_info, live_vcpus) == 32, "live_vcpus offset");
_Static_assert(offsetof(struct dune_info, reserved) == 40, "reserved offset");
_Static_assert(sizeof(struct dune_info) % 8 == 0, "no tail padding surprises");
_Static_assert(sizeof(struct dune_ipi) == 24, "dune_ipi size is ABI");
_Static_assert(offsetof(struct dune_ipi, vector) == 4, "dune_ipi vector offset");
_Static_assert(offsetof(struct dune_ipi, reserved) == 8, "dune_ipi reserved offset");
_Static_assert(sizeof(struct dune_stats) == 320, "dune_stats size is ABI");
_Static_assert(offsetof(struct dune_stats, irqs) == 312, "irqs took the last reserved word");
_Static_assert(DUNE_EXIT_IRQ_WINDOW == 18 && DUNE_EXIT_NR <= DUNE_STATS_MAX_EXITS,
	       "exit reasons are ABI");

START_TEST(ioctl_numbers)
{
	/* Direction, size and number are encoded; changing any breaks users. */
	ck_assert_uint_eq(DUNE_GET_INFO, 0x8068e900u);
	ck_assert_uint_eq(_IOC_SIZE(DUNE_GET_INFO), sizeof(struct dune_info));
	ck_assert_uint_eq(DUNE_SEND_IPI, 0x4018e904u);
}
END_TEST

START_TEST(backend_names)
{
	ck_assert_str_eq(dune_backend_name(DUNE_BACKEND_VMX), "vmx");
	ck_assert_str_eq(dune_backend_name(DUNE_BACKEND_SVM), "svm");
	ck_assert_str_eq(dune_backend_name(DUNE_BACKEND_NONE), "none");
	ck_assert_str_eq(dune_backend_name(77), "none");
}
END_TEST

START_TEST(feature_names)
{
	char buf[256];
	int n;

	n = dune_feature_names(DUNE_FEAT_NESTED_PAGING | DUNE_FEAT_NESTED_2M, buf, sizeof(buf));
	ck_assert_str_eq(buf, "nested-paging nested-2m");
	ck_assert_int_eq(n, (int)strlen(buf));
	dune_feature_names(1ULL << 40, buf, sizeof(buf));
	ck_assert_str_eq(buf, "unknown(0x10000000000)");
	/* Truncation: still terminated, returns the full length. */
	n = dune_feature_names(DUNE_FEAT_NESTED_PAGING, buf, 4);
	ck_assert_str_eq(buf, "nes");
	ck_assert_int_eq(n, (int)strlen("nested-paging"));
	dune_feature_names(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(get_info_without_module)
{
	struct dune_info info;

	setenv("DUNE_DEVICE", "/nonexistent/dune", 1);
	ck_assert_int_eq(dune_get_info(&info), -1);
	ck_assert_int_eq(errno, ENOENT);
	setenv("DUNE_DEVICE", "/dev/null", 1);
	ck_assert_int_eq(dune_get_info(&info), -1);
	ck_assert_int_eq(errno, ENOTTY);
	unsetenv("DUNE_DEVICE");
	ck_assert_str_eq(dune_device_path(), "/dev/dune");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("abi");
	TCase *tc = tcase_create("abi");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, ioctl_numbers);
	tcase_add_test(tc, backend_names);
	tcase_add_test(tc, feature_names);
	tcase_add_test(tc, get_info_without_module);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
