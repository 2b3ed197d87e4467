// SPDX-License-Identifier: GPL-2.0
/*
 * Choosing the hardware backend and keeping virtualization enabled on every
 * online CPU (module load/unload, CPU hotplug, suspend/resume, reboot and
 * crash).  Vendor-neutral: everything vendor specific goes through dune_hv.
 */
#define pr_fmt(fmt) "dune: " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/module.h>
#include <linux/notifier.h>
#include <linux/percpu.h>
#include <linux/reboot.h>
#include <linux/syscore_ops.h>
#include <asm/cpufeature.h>
#include <asm/fpu/xcr.h>
#include <asm/reboot.h>
#include <asm/tlbflush.h>

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
static atomic_t hv_enable_err = ATOMIC_INIT(0);	/* first error of hv_enable_all() */
/* Set once the emergency path (crash, kexec, the debugfs hook) ran. */
static bool hv_virt_lost;

unsigned int dune_hv_nr_cpus(void)
{
	return atomic_read(&hv_nr_on);
}

/**
 * dune_hv_cpu_ready - may a guest be entered on this CPU now?
 *
 * False when virtualization is off here: a reboot turned it off under
 * running processes, or the emergency path turned it off everywhere.
 * VMLAUNCH/VMRUN would then raise #UD.  Call with interrupts off, right
 * before entry, so that only an NMI (the emergency path, which the
 * backends' exception fixups cover) can change the answer before the
 * guest runs.
 */
bool dune_hv_cpu_ready(void)
{
	return this_cpu_read(hv_cpu_on) && !READ_ONCE(hv_virt_lost);
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

/*
 * Hotplug callbacks (states: compat.h).  Going down, they run after every
 * task left the CPU, so no vCPU runs there any more; the backend VMCLEARs
 * the VMCSs still active on it before VMXOFF (SDM 25.11.1: an active VMCS
 * may be cached in the CPU until then) and SVM needs no such step (APM
 * 15.5: a VMCB is only in use during VMRUN).  Coming up, they run before
 * the CPU is active, so no task can enter a guest there first, and a
 * failure refuses the CPU.
 */
static int hv_cpu_online(unsigned int cpu)
{
	unsigned long flags;
	int r;

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

#ifdef DUNE_CPUHP_DYING_STATE
static int hv_cpuhp_online_state;

static int hv_cpuhp_setup(void)
{
	int r;

	r = cpuhp_setup_state_nocalls_cpuslocked(DUNE_CPUHP_DYING_STATE, "dune:dying",
						 NULL, hv_cpu_offline);
	if (r)
		return r;
	r = cpuhp_setup_state_nocalls_cpuslocked(CPUHP_AP_ONLINE_DYN, "dune:online",
						 hv_cpu_online, NULL);
	if (r < 0) {
		cpuhp_remove_state_nocalls_cpuslocked(DUNE_CPUHP_DYING_STATE);
		return r;
	}
	hv_cpuhp_online_state = r;
	return 0;
}

static void hv_cpuhp_remove(void)
{
	cpuhp_remove_state_nocalls_cpuslocked(hv_cpuhp_online_state);
	cpuhp_remove_state_nocalls_cpuslocked(DUNE_CPUHP_DYING_STATE);
}
#else
static int hv_cpuhp_setup(void)
{
	return cpuhp_setup_state_nocalls_cpuslocked(CPUHP_AP_KVM_ONLINE, "dune:online",
						    hv_cpu_online, hv_cpu_offline);
}

static void hv_cpuhp_remove(void)
{
	cpuhp_remove_state_nocalls_cpuslocked(CPUHP_AP_KVM_ONLINE);
}
#endif

static void hv_enable_ipi(void *unused)
{
	int r = hv_enable_this_cpu();

	if (r)
		atomic_cmpxchg(&hv_enable_err, 0, r);
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

static void hv_disable_ipi(void *unused)
{
	hv_disable_this_cpu();
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

/*
 * Firmware and the next kernel expect VMX/SVM off (INIT is blocked in VMX
 * root operation, SDM 24.8).
 */
static int hv_reboot(struct notifier_block *nb, unsigned long code, void *unused)
{
	on_each_cpu(hv_disable_ipi, NULL, 1);
	return NOTIFY_OK;
}

static struct notifier_block hv_reboot_nb = {
	.notifier_call = hv_reboot,
};

/*
 * Crash/kexec from NMI context: no locks, just turn it off.  hv_cpu_on
 * stays as it was (an NMI may have interrupted hv_disable_this_cpu());
 * hv_virt_lost keeps every later entry out instead, as kvm_rebooting
 * does for KVM (vmx_emergency_disable_virtualization_cpu, 6.12).
 */
static void hv_emergency_disable(void)
{
	WRITE_ONCE(hv_virt_lost, true);
	if (this_cpu_read(hv_cpu_on))
		dune_hv->emergency_disable();
}

static void hv_emergency_disable_ipi(void *unused)
{
	hv_emergency_disable();
}

/*
 * Test hook: writing 1 to <debugfs>/dune/disable_virt runs the emergency
 * path on every CPU, as a crash or emergency reboot would, while
 * processes keep running.  They must stop with an error and the host must
 * survive; only reloading the module brings Dune mode back.  Root only
 * (mode 0200, and debugfs itself is root's).
 */
static struct dentry *hv_debugfs_dir;

static ssize_t hv_disable_virt_write(struct file *file, const char __user *buf,
				     size_t len, loff_t *ppos)
{
	bool on;
	int r = kstrtobool_from_user(buf, len, &on);

	if (r)
		return r;
	if (on) {
		pr_warn("disable_virt: emergency-disabling %s on all CPUs (test hook); reload dune to use it again\n",
			dune_hv->name);
		on_each_cpu(hv_emergency_disable_ipi, NULL, 1);
	}
	return len;
}

static const struct file_operations hv_disable_virt_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = hv_disable_virt_write,
	.llseek = noop_llseek,
};

static void hv_debugfs_init(void)
{
	/* Best effort: without debugfs only the test hook is missing. */
	hv_debugfs_dir = debugfs_create_dir("dune", NULL);
	debugfs_create_file("disable_virt", 0200, hv_debugfs_dir, NULL,
			    &hv_disable_virt_fops);
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

/*
 * KVM loading after dune would take VMX/SVM (6.12 at load time, 6.1 with
 * its first VM) and the single emergency callback slot (a WARN, and ours
 * would no longer run on a crash).  The module loader calls this chain in
 * prepare_coming_module() before the module's init, and an error from it
 * fails the load (blocking_notifier_call_chain_robust, 6.1 and 6.12).
 */
static const char *const hv_kvm_modules[] = { "kvm", "kvm_intel", "kvm_amd" };

static int hv_module_notify(struct notifier_block *nb, unsigned long action, void *data)
{
	struct module *mod = data;
	int i;

	if (action != MODULE_STATE_COMING)
		return NOTIFY_DONE;
	for (i = 0; i < ARRAY_SIZE(hv_kvm_modules); i++) {
		if (strcmp(mod->name, hv_kvm_modules[i]))
			continue;
		pr_warn("refusing to load %s: dune holds %s; unload dune first\n",
			mod->name, dune_hv->name);
		return notifier_from_errno(-EBUSY);
	}
	return NOTIFY_DONE;
}

static struct notifier_block hv_module_nb = {
	.notifier_call = hv_module_notify,
};

static int hv_alloc_cpu_pages(void)
{
	int cpu;

	/* Every possible CPU up front, as KVM's alloc_kvm_area() (6.1). */
	for_each_possible_cpu(cpu) {
		struct page *page = alloc_pages_node(cpu_to_node(cpu),
						     GFP_KERNEL | __GFP_ZERO, 0);

		if (!page) {
			hv_free_cpu_pages();
			return -ENOMEM;
		}
		per_cpu(hv_cpu_page, cpu) = page;
	}
	return 0;
}

/*
 * Turn virtualization on everywhere and follow hotplug, as KVM's
 * hardware_enable_all() (6.1) does: with hotplug held off, install the
 * callbacks without calls, then enable each online CPU by IPI.  One
 * failing CPU undoes it all, and its error is the load's.
 */
static int hv_enable_all(void)
{
	int r;

	r = hv_alloc_cpu_pages();
	if (r)
		return r;
	cpus_read_lock();
	r = hv_cpuhp_setup();
	if (!r) {
		atomic_set(&hv_enable_err, 0);
		on_each_cpu(hv_enable_ipi, NULL, 1);
		r = atomic_read(&hv_enable_err);
		if (r) {
			on_each_cpu(hv_disable_ipi, NULL, 1);
			hv_cpuhp_remove();
		}
	}
	cpus_read_unlock();
	if (r) {
		pr_warn("could not enable %s on all CPUs (%d)\n", dune_hv->name, r);
		hv_free_cpu_pages();
	}
	return r;
}

static void hv_disable_all(void)
{
	cpus_read_lock();
	hv_cpuhp_remove();
	on_each_cpu(hv_disable_ipi, NULL, 1);
	cpus_read_unlock();
	hv_free_cpu_pages();
}

static void hv_fill_host_caps(void)
{
	dune_caps_set_widths(&dune_caps, cpuid_eax(0x80000008));
	/* The backends give the guest CR4.PCIDE exactly when the host has it. */
	if (boot_cpu_has(X86_FEATURE_PCID) && (cr4_read_shadow() & X86_CR4_PCIDE))
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
	/* First, so that no KVM can slip in after the check. */
	register_module_notifier(&hv_module_nb);
	r = hv_check_kvm();
	if (r)
		goto unnotify;
	hv_fill_host_caps();

	r = hv_enable_all();
	if (r)
		goto unnotify;
	dune_register_syscore(&hv_syscore);
	register_reboot_notifier(&hv_reboot_nb);
	cpu_emergency_register_virt_callback(hv_emergency_disable);
	hv_debugfs_init();
	pr_info("%s backend enabled on %u CPUs\n", dune_hv->name, dune_hv_nr_cpus());
	return 0;

unnotify:
	unregister_module_notifier(&hv_module_nb);
	if (dune_hv->unsetup)
		dune_hv->unsetup();
	return r;
}

void dune_hv_exit(void)
{
	debugfs_remove_recursive(hv_debugfs_dir);
	cpu_emergency_unregister_virt_callback(hv_emergency_disable);
	unregister_reboot_notifier(&hv_reboot_nb);
	dune_unregister_syscore(&hv_syscore);
	hv_disable_all();
	unregister_module_notifier(&hv_module_nb);
	if (dune_hv->unsetup)
		dune_hv->unsetup();
}
