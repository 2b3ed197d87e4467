/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels the SVM backend builds against (Debian
 * 6.1 and 6.12), decided on what the headers define, never on version
 * numbers (see ../common/compat.h).  Included from C and from vmrun.S.
 */
#ifndef _DUNE_SVM_COMPAT_H
#define _DUNE_SVM_COMPAT_H

#include <asm/cpufeatures.h>
#include <asm/nospec-branch.h>

#ifdef __ASSEMBLY__

/*
 * Retbleed/SRSO untraining after #VMEXIT, before the first RET, as each
 * kernel's own __svm_vcpu_run does: 6.12 has UNTRAIN_RET_VM (the untrain
 * call, then IBPB if X86_FEATURE_IBPB_ON_VMEXIT); Debian's 6.1 KVM uses
 * UNTRAIN_RET (untrain call, IBPB if X86_FEATURE_ENTRY_IBPB) followed by
 * the IBPB_ON_VMEXIT alternative (checked in its kvm-amd.ko).
 * Clobbers RAX, RCX, RDX when the IBPB is patched in.
 */
.macro SVM_UNTRAIN_RET_VM
#ifdef UNTRAIN_RET_VM
	UNTRAIN_RET_VM
#else
	UNTRAIN_RET
	ALTERNATIVE "", "call entry_ibpb", X86_FEATURE_IBPB_ON_VMEXIT
#endif
.endm

#else /* !__ASSEMBLY__ */

#include <linux/percpu.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>

/*
 * SRSO "bp-spec-reduce" (6.12): when the kernel picked it, it left
 * X86_FEATURE_SRSO_BP_SPEC_REDUCE set instead of IBPB_ON_VMEXIT and relies
 * on the hypervisor to set BP_CFG[BpSpecReduce] on every CPU that runs a
 * guest (KVM: svm_prepare_switch_to_guest sets it, svm_srso_clear_bp_spec_
 * reduce and svm_disable_virtualization_cpu clear it).  6.1 has no such
 * mitigation.
 */
#ifdef X86_FEATURE_SRSO_BP_SPEC_REDUCE
static inline bool svm_want_bp_spec_reduce(void)
{
	return cpu_feature_enabled(X86_FEATURE_SRSO_BP_SPEC_REDUCE);
}

static inline void svm_set_bp_spec_reduce(bool on)
{
	if (on)
		msr_set_bit(MSR_ZEN4_BP_CFG, MSR_ZEN4_BP_CFG_BP_SPEC_REDUCE_BIT);
	else
		msr_clear_bit(MSR_ZEN4_BP_CFG, MSR_ZEN4_BP_CFG_BP_SPEC_REDUCE_BIT);
}
#else
static inline bool svm_want_bp_spec_reduce(void)
{
	return false;
}

static inline void svm_set_bp_spec_reduce(bool on)
{
}
#endif

#endif /* __ASSEMBLY__ */

#endif /* _DUNE_SVM_COMPAT_H */
