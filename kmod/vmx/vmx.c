// SPDX-License-Identifier: GPL-2.0
/*
 * Intel VT-x backend: probing, turning VMX operation on and off per CPU,
 * and the ops table.  The vCPU lives in vmx_vcpu.c, vmcs_setup.c,
 * vmx_run.c, vmx_exit.c, vmx_posted.c, ept.c and vmenter.S.
 */
#define pr_fmt(fmt) "dune: vmx: " fmt

#include <linux/io.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <asm/asm.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/perf_event.h>
#include <asm/processor.h>
#include <asm/tlbflush.h>

#include "vmcs.h"
#include "vmx.h"

#define VMX_CPUID1_ECX_VMX	(1U << 5)

static int vmx_check_feat_ctl(void)
{
	u64 fc;

	/* SDM 24.7: VMXON needs IA32_FEATURE_CONTROL locked, VMX enabled. */
	rdmsrl(MSR_IA32_FEAT_CTL, fc);
	if (!(fc & FEAT_CTL_LOCKED) || !(fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		pr_warn("VT-x is disabled by firmware (IA32_FEATURE_CONTROL=%#llx)\n", fc);
		return -EPERM;
	}
	return 0;
}

static void vmx_read_cap_msrs(struct vmx_cap_msrs *m)
{
	rdmsrl(MSR_IA32_VMX_BASIC, m->basic);
	if (m->basic & VMXCAP_BASIC_TRUE_CTLS)
		rdmsrl(MSR_IA32_VMX_TRUE_PROCBASED_CTLS, m->procbased);
	else
		rdmsrl(MSR_IA32_VMX_PROCBASED_CTLS, m->procbased);
	m->procbased2 = 0;
	m->ept_vpid = 0;
	if ((m->procbased >> 32) & VMXCAP_PROC_ACTIVATE_SECONDARY) {
		rdmsrl(MSR_IA32_VMX_PROCBASED_CTLS2, m->procbased2);
		/* SDM A.10: the EPT/VPID MSR exists iff either may be enabled. */
		if ((m->procbased2 >> 32) & (VMXCAP_PROC2_ENABLE_EPT | VMXCAP_PROC2_ENABLE_VPID))
			rdmsrl(MSR_IA32_VMX_EPT_VPID_CAP, m->ept_vpid);
	}
}

static int vmx_probe(struct dune_caps *caps)
{
	struct vmx_cap_msrs m;
	int r;

	/*
	 * Raw CPUID, not X86_FEATURE_VMX: Linux clears that flag when
	 * firmware disabled VMX, and we want to say so rather than "absent".
	 */
	if (!(cpuid_ecx(1) & VMX_CPUID1_ECX_VMX))
		return -ENODEV;
	r = vmx_check_feat_ctl();
	if (r)
		return r;
	vmx_read_cap_msrs(&m);
	r = vmx_decode_caps(&m, caps);
	if (r) {
		pr_warn("VT-x lacks %s, which dune needs (EPT/VPID cap %#llx)\n",
			vmx_caps_missing(&m), m.ept_vpid);
		return r;
	}
	r = vmx_config_init(&m);
	if (r)
		return r;
	if (!vmx_cfg.has_vpid) {
		caps->features &= ~DUNE_FEAT_TAGGED_TLB;
		caps->nr_tlb_tags = 0;
	}
	if (vmx_cfg.posted)
		caps->features |= DUNE_FEAT_POSTED_INTR;
	return 0;
}

static int vmx_vmxon(u64 pa)
{
	asm goto("1: vmxon %[pa]\n\t"
		 "jna %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fail])
		 : : [pa] "m"(pa) : "cc", "memory" : fail);
	return 0;
fail:
	return -EIO;
}

static int vmx_cpu_enable(struct page *cpu_page)
{
	int r;

	if (cr4_read_shadow() & X86_CR4_VMXE) {
		pr_warn("CPU %d: VMX is already on: another hypervisor holds VT-x\n",
			smp_processor_id());
		return -EBUSY;
	}
	r = vmx_check_feat_ctl();
	if (r)
		return r;

	*(u32 *)page_address(cpu_page) = vmx_cfg.revision;
	intel_pt_handle_vmx(1);
	cr4_set_bits(X86_CR4_VMXE);
	if (vmx_vmxon(page_to_phys(cpu_page))) {
		cr4_clear_bits(X86_CR4_VMXE);
		intel_pt_handle_vmx(0);
		pr_warn("CPU %d: VMXON failed\n", smp_processor_id());
		return -EIO;
	}
	/* Stale EPT translations may survive from an earlier VMX user. */
	vmx_invept(VMX_EPT_EXTENT_GLOBAL, 0);
	vmx_percpu_enable();
	return 0;
}

static void vmx_vmxoff(void)
{
	asm goto("1: vmxoff\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : : "cc", "memory" : fault);
fault:
	cr4_clear_bits(X86_CR4_VMXE);
}

/* VMCSs active here must reach memory before VMXOFF (SDM 25.11.1). */
static void vmx_cpu_disable(void)
{
	vmx_clear_loaded_vmcss();
	vmx_vmxoff();
	intel_pt_handle_vmx(0);
}

/* Crash or emergency reboot: the kdump kernel may want the VMCS contents. */
static void vmx_emergency_disable(void)
{
	vmx_clear_loaded_vmcss();
	vmx_vmxoff();
}

const struct dune_hv_ops dune_vmx_ops = {
	.name = "vmx",
	.backend = DUNE_BACKEND_VMX,
	.probe = vmx_probe,
	.cpu_enable = vmx_cpu_enable,
	.cpu_disable = vmx_cpu_disable,
	.emergency_disable = vmx_emergency_disable,
	.npt = &vmx_npt_format,
	.vcpu_alloc = vmx_vcpu_alloc,
	.vcpu_setup = vmx_vcpu_setup,
	.vcpu_free = vmx_vcpu_free,
	.vcpu_load = vmx_vcpu_load,
	.vcpu_put = vmx_vcpu_put,
	.vcpu_run = vmx_vcpu_run,
	.post_intr = vmx_posted_post,
	.post_notify = vmx_posted_notify,
};
