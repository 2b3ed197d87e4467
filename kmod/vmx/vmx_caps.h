/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Decoding the VMX capability MSRs (pure logic, unit-tested in user space).
 * Bit positions: Intel SDM Vol. 3D, Appendix A ("VMX Capability Reporting
 * Facility"), A.1 (IA32_VMX_BASIC), A.3 (controls), A.10 (EPT/VPID).
 */
#ifndef _DUNE_VMX_CAPS_H
#define _DUNE_VMX_CAPS_H

#include "../common/caps.h"

/* IA32_VMX_BASIC (SDM A.1). */
#define VMXCAP_BASIC_REVISION_MASK		0x7fffffffULL
#define VMXCAP_BASIC_REGION_SIZE(b)	(((b) >> 32) & 0x1fff)
#define VMXCAP_BASIC_MEMTYPE(b)		(((b) >> 50) & 0xf)
#define VMXCAP_BASIC_TRUE_CTLS		BIT_ULL(55)
#define VMXCAP_MEMTYPE_WB			6

/* Primary processor-based controls (SDM 25.6.2, table 25-6). */
#define VMXCAP_PROC_ACTIVATE_SECONDARY	(1U << 31)

/* Secondary processor-based controls (SDM 25.6.2, table 25-7). */
#define VMXCAP_PROC2_ENABLE_EPT		(1U << 1)
#define VMXCAP_PROC2_ENABLE_VPID		(1U << 5)

/* IA32_VMX_EPT_VPID_CAP (SDM A.10). */
#define VMXCAP_EPT_CAP_EXEC_ONLY		BIT_ULL(0)
#define VMXCAP_EPT_CAP_WALK_4		BIT_ULL(6)
#define VMXCAP_EPT_CAP_WB			BIT_ULL(14)
#define VMXCAP_EPT_CAP_2M			BIT_ULL(16)
#define VMXCAP_EPT_CAP_1G			BIT_ULL(17)
#define VMXCAP_EPT_CAP_INVEPT		BIT_ULL(20)
#define VMXCAP_EPT_CAP_AD			BIT_ULL(21)
#define VMXCAP_EPT_CAP_INVEPT_SINGLE	BIT_ULL(25)
#define VMXCAP_EPT_CAP_INVEPT_ALL		BIT_ULL(26)
#define VMXCAP_VPID_CAP_INVVPID		BIT_ULL(32)
#define VMXCAP_VPID_CAP_SINGLE		BIT_ULL(41)
#define VMXCAP_VPID_CAP_ALL		BIT_ULL(42)

/* VPID is 16 bits and 0 belongs to the host (SDM 29.1). */
#define VMXCAP_NR_VPIDS			65535

/**
 * struct vmx_cap_msrs - the raw MSR values the decoder looks at.
 * @basic:	IA32_VMX_BASIC.
 * @procbased:	IA32_VMX_(TRUE_)PROCBASED_CTLS.
 * @procbased2:	IA32_VMX_PROCBASED_CTLS2 (0 if secondary controls absent).
 * @ept_vpid:	IA32_VMX_EPT_VPID_CAP (0 if absent).
 */
struct vmx_cap_msrs {
	u64 basic;
	u64 procbased;
	u64 procbased2;
	u64 ept_vpid;
};

const char *vmx_caps_missing(const struct vmx_cap_msrs *m);
int vmx_decode_caps(const struct vmx_cap_msrs *m, struct dune_caps *caps);
int vmx_adjust_ctl(u64 cap_msr, u32 required, u32 optional, u32 *out);

#endif /* _DUNE_VMX_CAPS_H */
