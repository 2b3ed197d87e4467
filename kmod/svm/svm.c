// SPDX-License-Identifier: GPL-2.0
/*
 * AMD-V backend: probing and turning SVM on and off per CPU.
 */
#define pr_fmt(fmt) "dune: svm: " fmt

#include <linux/io.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <asm/asm.h>
#include <asm/msr.h>
#include <asm/processor.h>

#include "../common/hv.h"
#include "svm_caps.h"
#include "svm_vcpu.h"

/* APM Vol. 2, 15.30.1: VM_CR.SVMDIS set means firmware disabled SVM. */
#define SVM_VM_CR_SVMDIS	BIT_ULL(4)

static int svm_check_vm_cr(void)
{
	u64 vm_cr;

	rdmsrl(MSR_VM_CR, vm_cr);
	if (vm_cr & SVM_VM_CR_SVMDIS) {
		pr_warn("AMD-V is disabled by firmware (VM_CR=%#llx)\n", vm_cr);
		return -EPERM;
	}
	return 0;
}

static int svm_probe(struct dune_caps *caps)
{
	struct svm_cap_cpuid c = {
		.ext1_ecx = cpuid_ecx(0x80000001),
		.ext1_edx = cpuid_edx(0x80000001),
	};
	int r;

	if (!(c.ext1_ecx & SVM_CPUID_EXT1_ECX_SVM))
		return -ENODEV;
	r = svm_check_vm_cr();
	if (r)
		return r;
	c.svm_ebx = cpuid_ebx(0x8000000a);
	c.svm_edx = cpuid_edx(0x8000000a);
	r = svm_decode_caps(&c, caps);
	if (r) {
		pr_warn("AMD-V lacks nested paging, which dune needs (CPUID 8000000A EDX=%#x)\n",
			c.svm_edx);
		return r;
	}
	svm_nr_asids = c.svm_ebx;
	svm_flush_by_asid = c.svm_edx & SVM_CPUID_FEAT_FLUSH_ASID;
	svm_nrips = c.svm_edx & SVM_CPUID_FEAT_NRIPS;
	return svm_cpu_setup();
}

static int svm_cpu_enable(struct page *cpu_page)
{
	u64 efer;
	int r;

	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME) {
		pr_warn("CPU %d: EFER.SVME is already set: another hypervisor holds AMD-V\n",
			smp_processor_id());
		return -EBUSY;
	}
	r = svm_check_vm_cr();
	if (r)
		return r;
	wrmsrl(MSR_EFER, efer | EFER_SVME);
	/* APM 15.30.4: where VMRUN saves host state on this CPU. */
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(cpu_page));
	svm_init_erratum_383();
	return 0;
}

static void svm_cpu_disable(void)
{
	u64 efer;

	svm_bp_spec_reduce_off();
	wrmsrl(MSR_VM_HSAVE_PA, 0);
	rdmsrl(MSR_EFER, efer);
	if (!(efer & EFER_SVME))
		return;
	/*
	 * GIF may be clear if we got here from the middle of a world switch
	 * (crash path); STGI with SVME still on, then turn SVM off.
	 */
	asm goto("1: stgi\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : : "memory" : fault);
fault:
	wrmsrl(MSR_EFER, efer & ~EFER_SVME);
}

const struct dune_hv_ops dune_svm_ops = {
	.name = "svm",
	.backend = DUNE_BACKEND_SVM,
	.probe = svm_probe,
	.cpu_enable = svm_cpu_enable,
	.cpu_disable = svm_cpu_disable,
	.emergency_disable = svm_cpu_disable,
	.unsetup = svm_cpu_unsetup,
	.npt = &svm_npt_format,
	.vcpu_alloc = svm_vcpu_alloc,
	.vcpu_setup = svm_vcpu_setup,
	.vcpu_free = svm_vcpu_free,
	.vcpu_load = svm_vcpu_load,
	.vcpu_put = svm_vcpu_put,
	.vcpu_run = svm_vcpu_run,
};
