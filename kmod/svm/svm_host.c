// SPDX-License-Identifier: GPL-2.0
/*
 * AMD-V: the host-side hazards of running a guest that emulators do not
 * show, each following what KVM does in arch/x86/kvm/svm/svm.c (Linux 6.1
 * and 6.12; the comparison is in docs/threat-model.md):
 *  - machine checks that hit the guest belong to the host's handler, and
 *    on family 10h one of them (erratum 383) means the guest state is lost;
 *  - the guest runs with the task's own speculation controls;
 *  - SRSO "bp-spec-reduce" must be set on a CPU while it runs guests;
 *  - VMCB-format pages must not be 2 MiB aligned under SEV-SNP.
 */
#define pr_fmt(fmt) "dune: svm: " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/nospec-branch.h>
#include <asm/tlbflush.h>

#include "../common/guest_entry.h"
#include "../common/hv.h"
#include "svm_caps.h"
#include "svm_compat.h"
#include "svm_vcpu.h"

/*
 * AMD erratum 383 (family 10h, "CPU may incorrectly report a machine check
 * when a guest TLB multi-match occurs"): setting DC_CFG bit 47 makes the
 * CPU report it as this one machine check, after which the guest's state
 * is corrupt.  The _safe accessors: a hypervisor under us may refuse them.
 */
#define DC_CFG_ERRATUM_383		BIT_ULL(47)
#define MC0_STATUS_ERRATUM_383		0xb600000000010015ULL
#define MC0_STATUS_ERRATUM_383_IGNORE	BIT_ULL(62)

static bool svm_erratum_383;

/* Per CPU, when SVM is turned on there (KVM: svm_hardware_enable). */
void svm_init_erratum_383(void)
{
	u64 val;

	if (!boot_cpu_has_bug(X86_BUG_AMD_TLB_MMATCH))
		return;
	if (rdmsrl_safe(MSR_AMD64_DC_CFG, &val))
		return;
	if (!wrmsrl_safe(MSR_AMD64_DC_CFG, val | DC_CFG_ERRATUM_383))
		svm_erratum_383 = true;
}

/*
 * Was this machine check erratum 383?  If so, consume it (KVM:
 * is_erratum_383): clear the banks and flush the TLB's multi-match.
 */
static bool svm_is_erratum_383(void)
{
	u64 val;
	int i;

	if (!svm_erratum_383 || rdmsrl_safe(MSR_IA32_MC0_STATUS, &val))
		return false;
	if ((val & ~MC0_STATUS_ERRATUM_383_IGNORE) != MC0_STATUS_ERRATUM_383)
		return false;
	for (i = 0; i < 6; i++)
		wrmsrl_safe(MSR_IA32_MCx_STATUS(i), 0);
	if (!rdmsrl_safe(MSR_IA32_MCG_STATUS, &val))
		wrmsrl_safe(MSR_IA32_MCG_STATUS, val & ~MCG_STATUS_MCIP);	/* bit 2 */
	__flush_tlb_all();
	return true;
}

/**
 * svm_machine_check - a #MC intercepted while the guest ran (APM 15.12:
 * the intercept takes it before the guest's IDT could).  Interrupts off.
 *
 * Returns true when the guest's state is lost (erratum 383): the process
 * must stop.  Else the host's machine-check handler ran, as if the #MC
 * had hit user mode (KVM: kvm_machine_check), and the guest may go on.
 */
bool svm_machine_check(void)
{
	if (svm_is_erratum_383()) {
		pr_warn_ratelimited("pid %d: erratum 383 machine check in the guest: its state is lost\n",
				    current->pid);
		return true;
	}
	dune_host_machine_check();
	return false;
}

/*
 * With V_SPEC_CTRL (CPUID 8000000A EDX[20]), VMRUN loads SPEC_CTRL from
 * the VMCB and #VMEXIT restores the host's (APM 15.34): a zeroed VMCB
 * would run the guest without the task's SSBD or STIBP.  The guest is the
 * task in another mode, so give it the value the task has in user mode.
 * Without V_SPEC_CTRL the MSR keeps the host's value across VMRUN and the
 * guest cannot write it (intercepted): KVM then only writes it when the
 * guest's value differs, which for dune it never does.
 */
void svm_spec_ctrl_guest(struct vmcb *vmcb)
{
	if (boot_cpu_has(X86_FEATURE_V_SPEC_CTRL))
		vmcb->save.spec_ctrl = this_cpu_read(x86_spec_ctrl_current);
}

/*
 * SRSO bp-spec-reduce (6.12): set on a CPU before its first guest run,
 * cleared when SVM is turned off there (KVM: svm_srso_add_cpu / the
 * per-CPU bp_spec_reduce_set).  Interrupts off.
 */
static DEFINE_PER_CPU(bool, svm_bp_spec_reduce_set);

void svm_bp_spec_reduce_on(void)
{
	if (!svm_want_bp_spec_reduce() || this_cpu_read(svm_bp_spec_reduce_set))
		return;
	this_cpu_write(svm_bp_spec_reduce_set, true);
	svm_set_bp_spec_reduce(true);
}

void svm_bp_spec_reduce_off(void)
{
	if (!this_cpu_read(svm_bp_spec_reduce_set))
		return;
	this_cpu_write(svm_bp_spec_reduce_set, false);
	svm_set_bp_spec_reduce(false);
}

static bool svm_cpu_has_snp(void)
{
	return cpuid_eax(0x80000000) >= 0x8000001f &&
	       (cpuid_eax(0x8000001f) & SVM_CPUID_SME_SNP);
}

/**
 * svm_alloc_cpu_page - a zeroed page for a VMCB or a VMSAVE area.
 * @node:	NUMA node to allocate on.
 * @gfp:	allocation flags.
 *
 * Under SEV-SNP the CPU may raise a spurious RMP #PF when a 2 MiB-aligned
 * VMCB shares its RMP entry with a huge page (the SNP erratum KVM works
 * around in snp_safe_alloc_page_node): take two pages and keep the one
 * that is not 2 MiB aligned.  Firmware may have SNP on whatever the
 * kernel uses (and 6.1 has no X86_FEATURE_SEV_SNP), so CPUID decides.
 */
struct page *svm_alloc_cpu_page(int node, gfp_t gfp)
{
	struct page *p;

	if (!svm_cpu_has_snp())
		return alloc_pages_node(node, gfp | __GFP_ZERO, 0);
	p = alloc_pages_node(node, gfp | __GFP_ZERO, 1);
	if (!p)
		return NULL;
	split_page(p, 1);
	if (IS_ALIGNED(page_to_pfn(p), PTRS_PER_PMD)) {
		__free_page(p);
		return p + 1;
	}
	__free_page(p + 1);
	return p;
}
