/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Decoding AMD-V capabilities from CPUID (pure logic, unit-tested in user
 * space).  Bits: AMD APM Vol. 3, Appendix E.4.1 (Fn8000_0001) and E.4.10
 * (Fn8000_000A, "SVM Revision and Feature Identification").
 */
#ifndef _DUNE_SVM_CAPS_H
#define _DUNE_SVM_CAPS_H

#include "../common/caps.h"

#define SVM_CPUID_EXT1_ECX_SVM		(1U << 2)	/* Fn8000_0001 ECX */
#define SVM_CPUID_EXT1_EDX_PAGE1GB	(1U << 26)	/* Fn8000_0001 EDX */
#define SVM_CPUID_FEAT_NP		(1U << 0)	/* Fn8000_000A EDX */
#define SVM_CPUID_FEAT_NRIPS		(1U << 3)
#define SVM_CPUID_FEAT_FLUSH_ASID	(1U << 6)
#define SVM_CPUID_SME_SNP		(1U << 4)	/* Fn8000_001F EAX: SEV-SNP */

/**
 * struct svm_cap_cpuid - the raw CPUID words the decoder looks at.
 * @ext1_ecx:	Fn8000_0001 ECX.
 * @ext1_edx:	Fn8000_0001 EDX.
 * @svm_ebx:	Fn8000_000A EBX (number of ASIDs).
 * @svm_edx:	Fn8000_000A EDX (SVM feature bits).
 */
struct svm_cap_cpuid {
	u32 ext1_ecx;
	u32 ext1_edx;
	u32 svm_ebx;
	u32 svm_edx;
};

int svm_decode_caps(const struct svm_cap_cpuid *c, struct dune_caps *caps);

#endif /* _DUNE_SVM_CAPS_H */
