// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for the CPU capability decoders (kmod/vmx/vmx_caps.c and
 * kmod/svm/svm_caps.c), fed with raw CPUID/MSR values.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../kmod/svm/svm_caps.h"
#include "../../kmod/vmx/vmx_caps.h"

/* A VMX_BASIC with WB memory type, 4K region, true controls, revision 1. */
#define BASIC_OK ((6ULL << 50) | (4096ULL << 32) | VMXCAP_BASIC_TRUE_CTLS | 1)
#define PROC_OK ((uint64_t)VMXCAP_PROC_ACTIVATE_SECONDARY << 32)
#define PROC2_OK ((uint64_t)(VMXCAP_PROC2_ENABLE_EPT | VMXCAP_PROC2_ENABLE_VPID) << 32)
#define EPT_MIN (VMXCAP_EPT_CAP_WALK_4 | VMXCAP_EPT_CAP_WB | VMXCAP_EPT_CAP_INVEPT | \
		 VMXCAP_EPT_CAP_INVEPT_ALL)
#define VPID_OK (VMXCAP_VPID_CAP_INVVPID | VMXCAP_VPID_CAP_SINGLE)

static struct vmx_cap_msrs full_vmx(void)
{
	struct vmx_cap_msrs m = {
		.basic = BASIC_OK,
		.procbased = PROC_OK,
		.procbased2 = PROC2_OK,
		.ept_vpid = EPT_MIN | VMXCAP_EPT_CAP_2M | VMXCAP_EPT_CAP_1G |
			    VMXCAP_EPT_CAP_AD | VMXCAP_EPT_CAP_EXEC_ONLY | VPID_OK,
	};
	return m;
}

START_TEST(vmx_full_features)
{
	struct vmx_cap_msrs m = full_vmx();
	struct dune_caps c = { 0 };

	ck_assert_int_eq(vmx_decode_caps(&m, &c), 0);
	ck_assert_ptr_null(vmx_caps_missing(&m));
	ck_assert(c.features & DUNE_FEAT_NESTED_PAGING);
	ck_assert(c.features & DUNE_FEAT_TAGGED_TLB);
	ck_assert(c.features & DUNE_FEAT_NESTED_2M);
	ck_assert(c.features & DUNE_FEAT_NESTED_1G);
	ck_assert(c.features & DUNE_FEAT_NESTED_AD);
	ck_assert(c.features & DUNE_FEAT_NESTED_XO);
	ck_assert(c.features & DUNE_FEAT_NEXT_RIP);
	ck_assert_uint_eq(c.nr_tlb_tags, 65535);
}
END_TEST

START_TEST(vmx_minimal_features)
{
	struct vmx_cap_msrs m = full_vmx();
	struct dune_caps c = { 0 };

	m.ept_vpid = EPT_MIN;
	ck_assert_int_eq(vmx_decode_caps(&m, &c), 0);
	ck_assert_uint_eq(c.features, DUNE_FEAT_NESTED_PAGING | DUNE_FEAT_NEXT_RIP);
	ck_assert_uint_eq(c.nr_tlb_tags, 0);
}
END_TEST

/* Each row removes one thing dune cannot run without. */
static const struct {
	const char *what;
	uint64_t clear_basic, clear_proc, clear_proc2, clear_ept;
	const char *said;	/* in vmx_caps_missing()'s words */
} vmx_missing[] = {
	{ "secondary controls", 0, PROC_OK, 0, 0, "EPT (it has no secondary" },
	{ "EPT control", 0, 0, (uint64_t)VMXCAP_PROC2_ENABLE_EPT << 32, 0,
	  "EPT (extended page tables)" },
	{ "4-level walk", 0, 0, 0, VMXCAP_EPT_CAP_WALK_4, "EPT with 4-level walks" },
	{ "WB paging structures", 0, 0, 0, VMXCAP_EPT_CAP_WB, "EPT paging structures" },
	{ "INVEPT", 0, 0, 0, VMXCAP_EPT_CAP_INVEPT, "EPT invalidation" },
	{ "INVEPT all-context", 0, 0, 0, VMXCAP_EPT_CAP_INVEPT_ALL, "EPT invalidation" },
	{ "WB VMCS", 6ULL << 50, 0, 0, 0, "write-back VMCS" },
	{ "VMCS size", 4096ULL << 32, 0, 0, 0, "VMCS region" },
};

START_TEST(vmx_missing_required)
{
	struct vmx_cap_msrs m = full_vmx();
	struct dune_caps c = { 0 };

	m.basic &= ~vmx_missing[_i].clear_basic;
	m.procbased &= ~vmx_missing[_i].clear_proc;
	m.procbased2 &= ~vmx_missing[_i].clear_proc2;
	m.ept_vpid &= ~vmx_missing[_i].clear_ept;
	ck_assert_msg(vmx_decode_caps(&m, &c) == -EOPNOTSUPP, "without %s",
		      vmx_missing[_i].what);
	ck_assert_msg(vmx_caps_missing(&m) &&
		      strstr(vmx_caps_missing(&m), vmx_missing[_i].said),
		      "without %s: said \"%s\"", vmx_missing[_i].what,
		      vmx_caps_missing(&m) ? vmx_caps_missing(&m) : "(nothing)");
}
END_TEST

START_TEST(vmx_vpid_needs_invvpid)
{
	struct vmx_cap_msrs m = full_vmx();
	struct dune_caps c = { 0 };

	m.ept_vpid &= ~VMXCAP_VPID_CAP_INVVPID;
	ck_assert_int_eq(vmx_decode_caps(&m, &c), 0);
	ck_assert(!(c.features & DUNE_FEAT_TAGGED_TLB));
	m = full_vmx();
	m.ept_vpid &= ~(VMXCAP_VPID_CAP_SINGLE | VMXCAP_VPID_CAP_ALL);
	ck_assert_int_eq(vmx_decode_caps(&m, &c), 0);
	ck_assert(!(c.features & DUNE_FEAT_TAGGED_TLB));
}
END_TEST

START_TEST(vmx_adjust_ctl_rules)
{
	/* must-be-one 0x16, may-be-one 0xff16 */
	uint64_t msr = (0xff16ULL << 32) | 0x16;
	uint32_t v = 0;

	ck_assert_int_eq(vmx_adjust_ctl(msr, 0x100, 0x10000, &v), 0);
	ck_assert_uint_eq(v, 0x116);	/* optional bit not allowed: dropped */
	ck_assert_int_eq(vmx_adjust_ctl(msr, 0, 0x8000, &v), 0);
	ck_assert_uint_eq(v, 0x8016);
	v = 0xdead;
	ck_assert_int_eq(vmx_adjust_ctl(msr, 0x10000, 0, &v), -EOPNOTSUPP);
	ck_assert_uint_eq(v, 0xdead);	/* untouched on error */
}
END_TEST

/* QEMU 7.2 -cpu EPYC,+svm,+npt: Fn8000_000A EBX=16 ASIDs, EDX=NP|VGIF... */
START_TEST(svm_qemu_epyc)
{
	struct svm_cap_cpuid c = {
		.ext1_ecx = SVM_CPUID_EXT1_ECX_SVM,
		.ext1_edx = SVM_CPUID_EXT1_EDX_PAGE1GB,
		.svm_ebx = 16,
		.svm_edx = SVM_CPUID_FEAT_NP | (1U << 16),
	};
	struct dune_caps caps = { 0 };

	ck_assert_int_eq(svm_decode_caps(&c, &caps), 0);
	ck_assert(caps.features & DUNE_FEAT_NESTED_PAGING);
	ck_assert(caps.features & DUNE_FEAT_NESTED_1G);
	ck_assert(caps.features & DUNE_FEAT_TAGGED_TLB);
	ck_assert(!(caps.features & DUNE_FEAT_NEXT_RIP));	/* no nRIP in TCG */
	ck_assert_uint_eq(caps.nr_tlb_tags, 15);
}
END_TEST

START_TEST(svm_errors)
{
	struct svm_cap_cpuid c = { .svm_ebx = 16, .svm_edx = SVM_CPUID_FEAT_NP };
	struct dune_caps caps = { 0 };

	ck_assert_int_eq(svm_decode_caps(&c, &caps), -ENODEV);
	c.ext1_ecx = SVM_CPUID_EXT1_ECX_SVM;
	c.svm_edx = SVM_CPUID_FEAT_NRIPS;
	ck_assert_int_eq(svm_decode_caps(&c, &caps), -EOPNOTSUPP);
	c.svm_edx |= SVM_CPUID_FEAT_NP;
	c.svm_ebx = 1;	/* only the host's ASID */
	ck_assert_int_eq(svm_decode_caps(&c, &caps), 0);
	ck_assert(!(caps.features & DUNE_FEAT_TAGGED_TLB));
	ck_assert(caps.features & DUNE_FEAT_NEXT_RIP);
}
END_TEST

START_TEST(widths_from_cpuid)
{
	struct dune_caps c = { 0 };

	dune_caps_set_widths(&c, 0x3028);	/* 40 physical, 48 linear */
	ck_assert_uint_eq(c.phys_bits, 40);
	ck_assert_uint_eq(c.virt_bits, 48);
}
END_TEST

static Suite *caps_suite(void)
{
	Suite *s = suite_create("caps");
	TCase *tc = tcase_create("decode");

	tcase_add_test(tc, vmx_full_features);
	tcase_add_test(tc, vmx_minimal_features);
	tcase_add_loop_test(tc, vmx_missing_required, 0,
			    sizeof(vmx_missing) / sizeof(vmx_missing[0]));
	tcase_add_test(tc, vmx_vpid_needs_invvpid);
	tcase_add_test(tc, vmx_adjust_ctl_rules);
	tcase_add_test(tc, svm_qemu_epyc);
	tcase_add_test(tc, svm_errors);
	tcase_add_test(tc, widths_from_cpuid);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(caps_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
