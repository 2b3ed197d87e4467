// SPDX-License-Identifier: GPL-2.0
/*
 * Choosing the hardware backend and keeping virtualization enabled on every
 * online CPU (module load/unload, CPU hotplug, suspend/resume, reboot and
 * crash).  Vendor-neutral: everything vendor specific goes through dune_hv.
 */
#define pr_fmt(fmt) "dune: " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/gfp.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/reboot.h>
#include <linux/syscore_ops.h>
#include <asm/cpufeature.h>
#include <asm/fpu/xcr.h>
#include <asm/reboot.h>

#include "compat.h"
#include "hv.h"

const struct dune_hv_ops *dune_hv;
u64 dune_host_xcr0;
struct dune_caps dune_caps;

static const struct dune_hv_ops *const dune_backends[] = {
#ifdef DUNE_HAVE_VMX
	&dune_vmx_ops,
#endif
#ifdef DUNE_HAVE_SVM
	&dune_svm_ops,
#endif
};

static DEFINE_PER_CPU(struct page *, hv_cpu_page);
static DEFINE_PER_CPU(bool, hv_cpu_on);
static atomic_t hv_nr_on = ATOMIC_INIT(0);
static enum cpuhp_state hv_cpuhp_state;

unsigned int dune_hv_nr_cpus(void)
{
	return atomic_read(&hv_nr_on);
}

/* Must run on the target CPU with interrupts off. */
static int hv_enable_this_cpu(void)
{
	struct page *page = this_cpu_read(hv_cpu_page);
	int r;

	if (this_cpu_read(hv_cpu_on))
		return 0;
	if (!page)
		return -ENOMEM;
	r = dune_hv->cpu_enable(page);
	if (r)
		return r;
	this_cpu_write(hv_cpu_on, true);
	atomic_inc(&hv_nr_on);
	return 0;
}

static void hv_disable_this_cpu(void)
{
	if (!this_cpu_read(hv_cpu_on))
		return;
	dune_hv->cpu_disable();
	this_cpu_write(hv_cpu_on, false);
	atomic_dec(&hv_nr_on);
}

static int hv_cpu_online(unsigned int cpu)
{
	struct page *page = per_cpu(hv_cpu_page, cpu);
	unsigned long flags;
	int r;

	/* Allocate here, not under irqs-off: hotplug may bring new CPUs. */
	if (!page) {
		page = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO, 0);
		if (!page)
			return -ENOMEM;
		per_cpu(hv_cpu_page, cpu) = page;
	}
	local_irq_save(flags);
	r = hv_enable_this_cpu();
	local_irq_restore(flags);
	return r;
}

static int hv_cpu_offline(unsigned int cpu)
{
	unsigned long flags;

	local_irq_save(flags);
	hv_disable_this_cpu();
	local_irq_restore(flags);
	return 0;
}

static void hv_free_cpu_pages(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		if (per_cpu(hv_cpu_page, cpu))
			__free_page(per_cpu(hv_cpu_page, cpu));
		per_cpu(hv_cpu_page, cpu) = NULL;
	}
}

/* Suspend: only the boot CPU is left; the others went through offline. */
static int hv_suspend(DUNE_SYSCORE_ARG)
{
	hv_disable_this_cpu();
	return 0;
}

static void hv_resume(DUNE_SYSCORE_ARG)
{
	if (hv_enable_this_cpu())
		pr_warn("could not re-enable virtualization on CPU %d after resume\n",
			smp_processor_id());
}

static struct dune_syscore hv_syscore = DUNE_SYSCORE_INIT(hv_suspend, hv_resume);

static void hv_disable_ipi(void *unused)
{
	hv_disable_this_cpu();
}

/* Firmware and the next kernel expect VMX/SVM off (INIT is blocked in VMX
 * root operation, SDM 24.8). */
static int hv_reboot(struct notifier_block *nb, unsigned long code, void *unused)
{
	on_each_cpu(hv_disable_ipi, NULL, 1);
	return NOTIFY_OK;
}

static struct notifier_block hv_reboot_nb = {
	.notifier_call = hv_reboot,
};

/* Crash/kexec from NMI context: no locks, just turn it off. */
static void hv_emergency_disable(void)
{
	if (this_cpu_read(hv_cpu_on))
		dune_hv->emergency_disable();
}

static int hv_choose_backend(void)
{
	int i, r = -ENODEV;

	for (i = 0; i < ARRAY_SIZE(dune_backends); i++) {
		r = dune_backends[i]->probe(&dune_caps);
		if (r == -ENODEV)
			continue;
		if (r == 0)
			dune_hv = dune_backends[i];
		return r;
	}
	pr_warn("this CPU has no %s\n", ARRAY_SIZE(dune_backends) == 2 ?
		"VT-x or AMD-V" : "virtualization extension this module was built for");
	return r;
}

/*
 * Another hypervisor in this kernel: KVM owns VMX/SVM while it runs a VM
 * (6.1) or from load time (6.12), and it also takes the single emergency
 * callback slot.  Refuse to share the hardware with it.
 */
static int hv_check_kvm(void)
{
	void *sym = __symbol_get("kvm_init");

	if (!sym)
		return 0;
	symbol_put(kvm_init);
	pr_warn("KVM is loaded: unload kvm_intel/kvm_amd and kvm before loading dune\n");
	return -EBUSY;
}

static void hv_fill_host_caps(void)
{
	dune_caps_set_widths(&dune_caps, cpuid_eax(0x80000008));
	if (boot_cpu_has(X86_FEATURE_PCID))
		dune_caps.features |= DUNE_FEAT_PCID;
	if (boot_cpu_has(X86_FEATURE_OSXSAVE)) {
		dune_caps.features |= DUNE_FEAT_XSAVE;
		dune_host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
	}
}

int dune_hv_init(void)
{
	int r;

	r = hv_choose_backend();
	if (r)
		return r;
	r = hv_check_kvm();
	if (r)
		goto unsetup;
	hv_fill_host_caps();

	/* Enables on every online CPU; on failure the core rolls back. */
	r = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "dune:online",
			      hv_cpu_online, hv_cpu_offline);
	if (r < 0) {
		pr_warn("could not enable %s on all CPUs (%d)\n", dune_hv->name, r);
		hv_free_cpu_pages();
		goto unsetup;
	}
	hv_cpuhp_state = r;
	dune_register_syscore(&hv_syscore);
	register_reboot_notifier(&hv_reboot_nb);
	cpu_emergency_register_virt_callback(hv_emergency_disable);
	pr_info("%s backend enabled on %u CPUs\n", dune_hv->name, dune_hv_nr_cpus());
	return 0;

unsetup:
	if (dune_hv->unsetup)
		dune_hv->unsetup();
	return r;
}

void dune_hv_exit(void)
{
	cpu_emergency_unregister_virt_callback(hv_emergency_disable);
	unregister_reboot_notifier(&hv_reboot_nb);
	dune_unregister_syscore(&hv_syscore);
	cpuhp_remove_state(hv_cpuhp_state);
	hv_free_cpu_pages();
	if (dune_hv->unsetup)
		dune_hv->unsetup();
}
