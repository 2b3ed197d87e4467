// SPDX-License-Identifier: GPL-2.0
/*
 * AMD-V capability decoding: turns CPUID words into dune_caps.  No hardware
 * access here, so it is unit-tested.
 */
#include "svm_caps.h"

/**
 * svm_decode_caps - decide whether dune can run and what it can use.
 * @c:		raw CPUID words.
 * @caps:	features and TLB tags are filled in; widths are left alone.
 *
 * Returns -ENODEV without SVM, -EOPNOTSUPP without nested paging, else 0.
 */
int svm_decode_caps(const struct svm_cap_cpuid *c, struct dune_caps *caps)
{
	if (!(c->ext1_ecx & SVM_CPUID_EXT1_ECX_SVM))
		return -ENODEV;
	if (!(c->svm_edx & SVM_CPUID_FEAT_NP))
		return -EOPNOTSUPP;

	/*
	 * Nested page tables use the long-mode format, so 2M pages and
	 * hardware-set A/D bits come with NPT (APM Vol. 2, 15.25.5); 1G pages
	 * exist when the host paging has them.
	 */
	caps->features = DUNE_FEAT_NESTED_PAGING | DUNE_FEAT_NESTED_2M |
			 DUNE_FEAT_NESTED_AD;
	if (c->ext1_edx & SVM_CPUID_EXT1_EDX_PAGE1GB)
		caps->features |= DUNE_FEAT_NESTED_1G;
	if (c->svm_edx & SVM_CPUID_FEAT_NRIPS)
		caps->features |= DUNE_FEAT_NEXT_RIP;
	/* ASID 0 is the host's (APM Vol. 2, 15.16). */
	caps->nr_tlb_tags = c->svm_ebx > 1 ? c->svm_ebx - 1 : 0;
	if (caps->nr_tlb_tags)
		caps->features |= DUNE_FEAT_TAGGED_TLB;
	return 0;
}
