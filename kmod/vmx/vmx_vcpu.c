// SPDX-License-Identifier: GPL-2.0
/*
 * Intel vCPU lifetime: allocating the VMCS and its bitmaps, VPIDs, and
 * keeping each VMCS active on exactly one CPU (SDM 25.1 "Overview", 25.11
 * "Software Use of the VMCS and Related Structures").
 *
 * A VMCS is active on at most one CPU at a time.  Before another CPU may
 * VMPTRLD it, the CPU holding it must VMCLEAR it, which also resets its
 * launch state; each CPU keeps a list of the VMCSs active on it so that a
 * CPU going offline can clear them all.
 */
#define pr_fmt(fmt) "dune: vmx: " fmt

#include <linux/module.h>
#include <linux/bitmap.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/spinlock.h>
#include <asm/desc.h>
#include <asm/msr.h>

#include "vmcs.h"
#include "vmx.h"

/* VMCSs active on each CPU, and the one that is current there. */
static DEFINE_PER_CPU(struct list_head, loaded_vmcss);
static DEFINE_PER_CPU(struct vmx_vcpu *, current_vmx);

/* VPID 0 is the host's; a VM entry with VPIDs enabled needs another. */
static DECLARE_BITMAP(vpid_bitmap, VMXCAP_NR_VPIDS + 1);
static DEFINE_SPINLOCK(vpid_lock);

void vmx_insn_failed(const char *insn, u64 arg1, u64 arg2)
{
	/* VM-instruction error numbers: SDM 31.4. */
	pr_warn_ratelimited("CPU %d: %s %#llx %#llx failed (VM-instruction error %llu)\n",
			    raw_smp_processor_id(), insn, arg1, arg2,
			    vmcs_read(VM_INSTRUCTION_ERROR));
}

/* On a CPU that just turned VMX on (interrupts off): nothing is loaded. */
void vmx_percpu_enable(void)
{
	INIT_LIST_HEAD(this_cpu_ptr(&loaded_vmcss));
	this_cpu_write(current_vmx, NULL);
}

/* Must run on the CPU the VMCS is active on, with interrupts off. */
static void vmx_clear_here(struct vmx_vcpu *vmx)
{
	vmcs_clear(vmx->vmcs_pa);
	if (this_cpu_read(current_vmx) == vmx)
		this_cpu_write(current_vmx, NULL);
	list_del(&vmx->loaded_node);
	/*
	 * The list update must be seen before the VMCS looks free to the
	 * CPU that loads it next (pairs with smp_rmb() in vmx_vcpu_load).
	 */
	smp_wmb();
	vmx->vmcs_cpu = -1;
	vmx->launched = false;
}

static void vmx_clear_ipi(void *arg)
{
	struct vmx_vcpu *vmx = arg;

	/* The CPU may have cleared it already while going offline. */
	if (vmx->vmcs_cpu == raw_smp_processor_id())
		vmx_clear_here(vmx);
}

/* Process context or preemption off; never with interrupts off. */
static void vmx_clear_remote(struct vmx_vcpu *vmx)
{
	int cpu = READ_ONCE(vmx->vmcs_cpu);

	/* An offline CPU cleared its VMCSs in vmx_clear_loaded_vmcss(). */
	if (cpu >= 0)
		smp_call_function_single(cpu, vmx_clear_ipi, vmx, 1);
}

/**
 * vmx_clear_loaded_vmcss - VMCLEAR every VMCS active on this CPU.
 *
 * Before VMXOFF (CPU offline, suspend, reboot, crash): the CPU may keep
 * VMCS data in its own storage until VMCLEAR (SDM 25.11.1).  Interrupts
 * off.  Their vCPUs reload with VMLAUNCH wherever they run next.
 */
void vmx_clear_loaded_vmcss(void)
{
	struct vmx_vcpu *vmx, *tmp;

	list_for_each_entry_safe(vmx, tmp, this_cpu_ptr(&loaded_vmcss), loaded_node)
		vmx_clear_here(vmx);
}

static u16 vpid_alloc(void)
{
	unsigned long vpid;

	if (!vmx_cfg.has_vpid)
		return 0;
	spin_lock(&vpid_lock);
	vpid = find_next_zero_bit(vpid_bitmap, VMXCAP_NR_VPIDS + 1, 1);
	if (vpid <= VMXCAP_NR_VPIDS)
		__set_bit(vpid, vpid_bitmap);
	else
		vpid = 0;	/* run without VPID: entries/exits flush VPID 0 */
	spin_unlock(&vpid_lock);
	return vpid;
}

static void vpid_free(u16 vpid)
{
	if (!vpid)
		return;
	spin_lock(&vpid_lock);
	__clear_bit(vpid, vpid_bitmap);
	spin_unlock(&vpid_lock);
}

/*
 * MSR bitmap (SDM 25.6.9): one bit per MSR and direction; 1 = exit.  Four
 * 1 KiB quarters: reads of 0-0x1fff, reads of 0xc0000000-0xc0001fff, then
 * the same for writes.  Everything exits except the MSRs the guest owns.
 */
static void msr_bitmap_allow(unsigned long *bitmap, u32 msr)
{
	u32 bit = msr - 0xc0000000;

	__clear_bit(0x400 * 8 + bit, bitmap);	/* read high */
	__clear_bit(0xc00 * 8 + bit, bitmap);	/* write high */
}

static void msr_bitmap_init(unsigned long *bitmap)
{
	memset(bitmap, 0xff, PAGE_SIZE);
	msr_bitmap_allow(bitmap, MSR_FS_BASE);
	msr_bitmap_allow(bitmap, MSR_GS_BASE);
	/* Switched through the MSR lists (struct vmx_msr_lists). */
	msr_bitmap_allow(bitmap, MSR_KERNEL_GS_BASE);
	msr_bitmap_allow(bitmap, MSR_STAR);
	msr_bitmap_allow(bitmap, MSR_LSTAR);
	msr_bitmap_allow(bitmap, MSR_CSTAR);
	msr_bitmap_allow(bitmap, MSR_SYSCALL_MASK);
}

static const u32 autoload_msrs[VMX_NR_AUTOLOAD] = {
	[VMX_MSR_KERNEL_GS_BASE] = MSR_KERNEL_GS_BASE,
	[VMX_MSR_STAR] = MSR_STAR,
	[VMX_MSR_LSTAR] = MSR_LSTAR,
	[VMX_MSR_CSTAR] = MSR_CSTAR,
	[VMX_MSR_SYSCALL_MASK] = MSR_SYSCALL_MASK,
};

/* The guest starts with all of them 0, as a fresh VMCB would on AMD. */
static void msr_lists_init(struct vmx_msr_lists *l)
{
	int i;

	for (i = 0; i < VMX_NR_AUTOLOAD; i++) {
		l->guest[i].index = autoload_msrs[i];
		l->host[i].index = autoload_msrs[i];
	}
}

static void vmx_free_pages(struct vmx_vcpu *vmx)
{
	free_page((unsigned long)vmx->vmcs);
	free_page((unsigned long)vmx->msr_bitmap);
	free_page((unsigned long)vmx->msrs);
	vmx_posted_free(vmx);
}

/*
 * Dune mode on VT-x is on by default; the parameter lets an administrator
 * keep a machine's VT-x for module-level use only.
 */
static bool vmx_dune_mode = true;
module_param(vmx_dune_mode, bool, 0444);
MODULE_PARM_DESC(vmx_dune_mode, "allow Dune mode on VT-x (default on)");

/**
 * vmx_vcpu_alloc - a zeroed Intel vCPU with its VMCS, bitmaps and VPID.
 *
 * Returns the common part or an ERR_PTR.
 */
struct dune_vcpu *vmx_vcpu_alloc(void)
{
	struct vmx_vcpu *vmx;

	if (!vmx_dune_mode) {
		pr_warn_once("Dune mode on VT-x is disabled (vmx_dune_mode=0)\n");
		return ERR_PTR(-EOPNOTSUPP);
	}
	vmx = kzalloc(sizeof(*vmx), GFP_KERNEL_ACCOUNT);
	if (!vmx)
		return ERR_PTR(-ENOMEM);
	vmx->vmcs = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	vmx->msr_bitmap = (void *)__get_free_page(GFP_KERNEL_ACCOUNT);
	vmx->msrs = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vmx->vmcs || !vmx->msr_bitmap || !vmx->msrs || vmx_posted_alloc(vmx)) {
		vmx_free_pages(vmx);
		kfree(vmx);
		return ERR_PTR(-ENOMEM);
	}
	/* SDM 25.2: revision identifier first; bit 31 clear (not a shadow). */
	*(u32 *)vmx->vmcs = vmx_cfg.revision;
	vmx->vmcs_pa = __pa(vmx->vmcs);
	msr_bitmap_init(vmx->msr_bitmap);
	vmx_posted_msr_bitmap(vmx);
	msr_lists_init(vmx->msrs);
	vmx->vpid = vpid_alloc();
	vmx->proc2 = vmx_cfg.proc2;
	if (!vmx->vpid)
		vmx->proc2 &= ~SECONDARY_EXEC_ENABLE_VPID;
	/* A fresh VMCS's fields are undefined: make every cached one stale. */
	vmx->host.cr3 = ~0UL;
	vmx->host.cr4 = ~0UL;
	vmx->host.fs_base = ~0UL;
	vmx->host.rsp = ~0UL;
	vmx->vmcs_cpu = -1;
	INIT_LIST_HEAD(&vmx->loaded_node);
	vmx->vcpu.cpu = -1;
	return &vmx->vcpu;
}

/**
 * vmx_vcpu_free - undo vmx_vcpu_alloc().  Process context.
 * @vcpu:	a vCPU no thread runs; its VMCS may still be active somewhere.
 */
void vmx_vcpu_free(struct dune_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx_clear_remote(vmx);
	vpid_free(vmx->vpid);
	vmx_free_pages(vmx);
	kfree(vmx);
}

/* Host-state fields that differ between CPUs (SDM 26.5.2, 26.5.3). */
static void vmx_set_cpu_host_state(struct vmx_vcpu *vmx, int cpu)
{
	struct vmx_msr_entry *host = vmx->msrs->host;
	u64 v;

	vmcs_write(HOST_TR_BASE, (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	vmcs_write(HOST_GDTR_BASE, (unsigned long)get_current_gdt_ro());
	rdmsrl(MSR_IA32_SYSENTER_ESP, v);
	vmcs_write(HOST_IA32_SYSENTER_ESP, v);
	rdmsrl(MSR_GS_BASE, v);		/* kernel mode: this CPU's per-CPU base */
	vmcs_write(HOST_GS_BASE, v);
	/* The kernel's SYSCALL MSRs (the same on every CPU in practice). */
	rdmsrl(MSR_STAR, host[VMX_MSR_STAR].value);
	rdmsrl(MSR_LSTAR, host[VMX_MSR_LSTAR].value);
	rdmsrl(MSR_CSTAR, host[VMX_MSR_CSTAR].value);
	rdmsrl(MSR_SYSCALL_MASK, host[VMX_MSR_SYSCALL_MASK].value);
}

/*
 * Host state of the thread, read each time it is scheduled in: the user
 * FS base and the user GS base waiting in KERNEL_GS_BASE, which exits
 * would otherwise replace.  Neither changes while the thread stays in the
 * run loop: only a context switch reloads them, and that goes through
 * vmx_vcpu_load() again.
 */
static void vmx_set_thread_host_state(struct vmx_vcpu *vmx)
{
	unsigned long fs_base;

	rdmsrl(MSR_FS_BASE, fs_base);
	if (fs_base != vmx->host.fs_base) {
		vmcs_write(HOST_FS_BASE, fs_base);
		vmx->host.fs_base = fs_base;
	}
	rdmsrl(MSR_KERNEL_GS_BASE, vmx->msrs->host[VMX_MSR_KERNEL_GS_BASE].value);
}

/*
 * Translations tagged with this vCPU's VPID or its EPTP may have been
 * cached here by an earlier stay; invalidations since then only reached
 * the CPUs it ran on in between (SDM 29.4.3.1).
 */
static void vmx_flush_moved(struct vmx_vcpu *vmx)
{
	if (vmx->vpid)
		vmx_flush_vpid(vmx->vpid);
	if (vmx->eptp)
		vmx_flush_ept(vmx->eptp);
}

/**
 * vmx_vcpu_load - make the vCPU's VMCS current on @cpu.
 * @vcpu:	the vCPU of the calling thread.
 * @cpu:	smp_processor_id(); preemption is off, interrupts on.
 */
void vmx_vcpu_load(struct dune_vcpu *vcpu, int cpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	bool moved = vmx->vmcs_cpu != cpu;
	unsigned long flags;

	if (moved) {
		vmx_clear_remote(vmx);
		smp_rmb();	/* see vmx_clear_here() */
	}
	local_irq_save(flags);
	if (moved) {
		/*
		 * A new VMCS must be VMCLEARed once before use (SDM 25.11.3);
		 * for one already clear in memory this is harmless.
		 */
		vmcs_clear(vmx->vmcs_pa);
		vmx->launched = false;
		list_add(&vmx->loaded_node, this_cpu_ptr(&loaded_vmcss));
		vmx->vmcs_cpu = cpu;
	}
	if (this_cpu_read(current_vmx) != vmx) {
		vmcs_load(vmx->vmcs_pa);
		this_cpu_write(current_vmx, vmx);
	}
	local_irq_restore(flags);
	if (moved) {
		vmx_set_cpu_host_state(vmx, cpu);
		vmx_flush_moved(vmx);
	}
	vmx_set_thread_host_state(vmx);
	vcpu->cpu = cpu;
}

/**
 * vmx_vcpu_put - the thread leaves this CPU or the run loop.
 * @vcpu:	the thread's vCPU.
 *
 * The VMCS stays active here (a later load on this CPU is cheap).  VM
 * exits set the GDT limit to 0xffff (SDM 28.5.2); put it back before the
 * thread can reach user mode, where a selector could index past the GDT.
 */
void vmx_vcpu_put(struct dune_vcpu *vcpu)
{
	load_fixmap_gdt(raw_smp_processor_id());
	vcpu->cpu = -1;
}
