// SPDX-License-Identifier: GPL-2.0
/*
 * VMX capability decoding: turns the capability MSRs into dune_caps and
 * control-field values.  No hardware access here, so it is unit-tested.
 */
#include "vmx_caps.h"

/*
 * Control capability MSRs: low half = bits that must be 1 ("allowed-0
 * settings"), high half = bits that may be 1 (SDM A.3.1).
 */
static inline u32 ctl_must_be_one(u64 msr)
{
	return (u32)msr;
}

static inline u32 ctl_may_be_one(u64 msr)
{
	return (u32)(msr >> 32);
}

/**
 * vmx_adjust_ctl - compute a VMX control field value.
 * @cap_msr:	the capability MSR for that field.
 * @required:	bits dune cannot work without.
 * @optional:	bits used when the CPU allows them.
 * @out:	resulting field value (includes the must-be-one bits).
 *
 * Returns 0, or -EOPNOTSUPP when a required bit cannot be set.
 */
int vmx_adjust_ctl(u64 cap_msr, u32 required, u32 optional, u32 *out)
{
	u32 may = ctl_may_be_one(cap_msr);

	if (required & ~may)
		return -EOPNOTSUPP;
	*out = required | (optional & may) | ctl_must_be_one(cap_msr);
	return 0;
}

/**
 * vmx_caps_missing - what dune needs that these capabilities lack.
 * @m:		raw capability MSRs.
 *
 * Dune needs EPT with 4-level walks, write-back paging structures and
 * INVEPT (all-context), and a write-back VMCS of at most a page (SDM A.1,
 * A.3.3, A.10).  Returns NULL when all is there, else the first missing
 * feature in words, for the one line the module logs when it refuses.
 */
const char *vmx_caps_missing(const struct vmx_cap_msrs *m)
{
	if (VMXCAP_BASIC_MEMTYPE(m->basic) != VMXCAP_MEMTYPE_WB)
		return "a write-back VMCS";
	if (VMXCAP_BASIC_REGION_SIZE(m->basic) == 0 ||
	    VMXCAP_BASIC_REGION_SIZE(m->basic) > 4096)
		return "a VMCS region of at most 4 KiB";
	if (!(ctl_may_be_one(m->procbased) & VMXCAP_PROC_ACTIVATE_SECONDARY))
		return "EPT (it has no secondary VM-execution controls)";
	if (!(ctl_may_be_one(m->procbased2) & VMXCAP_PROC2_ENABLE_EPT))
		return "EPT (extended page tables)";
	if (!(m->ept_vpid & VMXCAP_EPT_CAP_WALK_4))
		return "EPT with 4-level walks";
	if (!(m->ept_vpid & VMXCAP_EPT_CAP_WB))
		return "EPT paging structures in write-back memory";
	if (!(m->ept_vpid & VMXCAP_EPT_CAP_INVEPT) ||
	    !(m->ept_vpid & VMXCAP_EPT_CAP_INVEPT_ALL))
		return "all-context EPT invalidation (INVEPT)";
	return NULL;
}

static bool has_vpid(const struct vmx_cap_msrs *m)
{
	if (!(ctl_may_be_one(m->procbased2) & VMXCAP_PROC2_ENABLE_VPID))
		return false;
	if (!(m->ept_vpid & VMXCAP_VPID_CAP_INVVPID))
		return false;
	return m->ept_vpid & (VMXCAP_VPID_CAP_SINGLE | VMXCAP_VPID_CAP_ALL);
}

/**
 * vmx_decode_caps - decide whether dune can run and what it can use.
 * @m:		raw capability MSRs.
 * @caps:	features and TLB tags are filled in; widths are left alone.
 *
 * Returns -EOPNOTSUPP when vmx_caps_missing() names something, else 0.
 */
int vmx_decode_caps(const struct vmx_cap_msrs *m, struct dune_caps *caps)
{
	if (vmx_caps_missing(m))
		return -EOPNOTSUPP;

	/* VMX always reports the exiting instruction's length (SDM 28.2.5). */
	caps->features = DUNE_FEAT_NESTED_PAGING | DUNE_FEAT_NEXT_RIP;
	caps->nr_tlb_tags = 0;
	if (has_vpid(m)) {
		caps->features |= DUNE_FEAT_TAGGED_TLB;
		caps->nr_tlb_tags = VMXCAP_NR_VPIDS;
	}
	if (m->ept_vpid & VMXCAP_EPT_CAP_2M)
		caps->features |= DUNE_FEAT_NESTED_2M;
	if (m->ept_vpid & VMXCAP_EPT_CAP_1G)
		caps->features |= DUNE_FEAT_NESTED_1G;
	if (m->ept_vpid & VMXCAP_EPT_CAP_AD)
		caps->features |= DUNE_FEAT_NESTED_AD;
	if (m->ept_vpid & VMXCAP_EPT_CAP_EXEC_ONLY)
		caps->features |= DUNE_FEAT_NESTED_XO;
	return 0;
}
