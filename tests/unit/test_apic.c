// SPDX-License-Identifier: GPL-2.0
/*
 * libdune/apic.c without hardware: the cpu -> vCPU id routing table of the
 * original API, and a send without /dev/dune.
 */
#include <check.h>
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <dune/dune.h>
#include <libdune/local.h>

int dune_fd = -1;	/* libdune's, from entry.c: not opened here */

START_TEST(routing)
{
	int cpu = sched_getcpu();
	bool err = false;

	ck_assert_int_ge(cpu, 0);
	ck_assert_uint_eq(dune_apic_id(), (uint32_t)syscall(SYS_gettid));
	/* Before any entry: no table, or no entry. */
	dune_apic_id_for_cpu(cpu, &err);
	ck_assert(err);
	ck_assert(dune_setup_apic());
	dune_apic_init_rt_entry();
	err = true;
	ck_assert_uint_eq(dune_apic_id_for_cpu(cpu, &err), dune_apic_id());
	ck_assert(!err);
	ck_assert_uint_eq(dune_apic_id_for_cpu(cpu, NULL), dune_apic_id());
	err = false;
	ck_assert_uint_eq(dune_apic_id_for_cpu(1u << 30, &err), 0);
	ck_assert(err);
	dune_apic_free();
	err = false;
	dune_apic_id_for_cpu(cpu, &err);
	ck_assert(err);
	/* Setting up again keeps the same table and works. */
	ck_assert(dune_setup_apic());
	dune_apic_init_rt_entry();
	err = true;
	ck_assert_uint_eq(dune_apic_id_for_cpu(cpu, &err), dune_apic_id());
	ck_assert(!err);
}
END_TEST

START_TEST(send_without_dune)
{
	errno = 0;
	ck_assert_int_eq(dune_apic_send_ipi(0xf2, dune_apic_id()), -1);
	ck_assert_int_eq(errno, EBADF);
	dune_apic_eoi();	/* nothing to end: must not fault */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("apic");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, routing);
	tcase_add_test(tc, send_without_dune);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
