// SPDX-License-Identifier: GPL-2.0
/*
 * EPT: the entry format the shared nested page table walker builds
 * (SDM 29.3.2, tables 29-1 to 29-6), the EPT pointer (SDM 25.6.11), and
 * invalidating cached EPT and VPID translations (SDM 29.4.3).
 */
#include "vmcs.h"
#include "vmx.h"

#define EPT_MT_WB		6ULL	/* write-back (SDM 29.3.7) */

/*
 * Leaves are write-back and ignore the guest PAT (IPAT): guest memory is
 * ordinary process memory, mapped write-back in the host too.
 */
const struct dune_npt_format vmx_npt_format = {
	.present = VMX_EPT_RWX_MASK,
	.read = VMX_EPT_READABLE_MASK,
	.write = VMX_EPT_WRITABLE_MASK,
	.exec = VMX_EPT_EXECUTABLE_MASK,
	.nx = 0,
	.table = VMX_EPT_RWX_MASK,
	.leaf = (EPT_MT_WB << VMX_EPT_MT_EPTE_SHIFT) | VMX_EPT_IPAT_BIT,
	.large = 1ULL << 7,
};

/**
 * vmx_make_eptp - the EPT pointer for a 4-level table at @root_pa.
 * @root_pa:	physical address of the EPT PML4 table.
 *
 * Write-back paging structures, walk length 4 - 1, and accessed/dirty
 * flags when the CPU has them (SDM 25.6.11, table 25-9).  With A/D on,
 * the CPU's reads of guest paging structures count as EPT writes
 * (SDM 29.3.3.2).
 */
u64 vmx_make_eptp(u64 root_pa)
{
	u64 eptp = root_pa | EPT_MT_WB | VMX_EPTP_PWL_4;

	if (vmx_cfg.ept_vpid & VMXCAP_EPT_CAP_AD)
		eptp |= VMX_EPTP_AD_ENABLE_BIT;
	return eptp;
}

/* Drop guest-physical and combined translations derived from @eptp. */
void vmx_flush_ept(u64 eptp)
{
	if (vmx_cfg.ept_vpid & VMXCAP_EPT_CAP_INVEPT_SINGLE)
		vmx_invept(VMX_EPT_EXTENT_CONTEXT, eptp);
	else
		vmx_invept(VMX_EPT_EXTENT_GLOBAL, 0);	/* vmx_decode_caps() checked it */
}

/* Drop linear and combined translations tagged with @vpid (not 0). */
void vmx_flush_vpid(u16 vpid)
{
	if (vmx_cfg.ept_vpid & VMXCAP_VPID_CAP_SINGLE)
		vmx_invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT, vpid, 0);
	else
		vmx_invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, 0, 0);
}
