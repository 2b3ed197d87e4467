// SPDX-License-Identifier: GPL-2.0
/*
 * Choosing the VM-execution, VM-exit and VM-entry controls every Dune VMCS
 * uses, from the capability MSRs (SDM Vol. 3D, Appendix A).  Done once at
 * probe time: a CPU that cannot give dune what it needs is refused there,
 * not at the first VM entry.
 */
#define pr_fmt(fmt) "dune: vmx: " fmt

#include <linux/minmax.h>
#include <linux/printk.h>
#include <linux/time64.h>
#include <asm/msr.h>
#include <asm/tsc.h>

#include "vmx.h"

struct vmx_config vmx_cfg;

/*
 * Pin-based controls (SDM 25.6.1): host interrupts and NMIs always exit,
 * whatever the guest's RFLAGS.IF; virtual NMIs so that NMI blocking in the
 * guest never hides a host NMI.
 */
#define PIN_REQUIRED	(PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING | \
			 PIN_BASED_VIRTUAL_NMIS)
#define PIN_OPTIONAL	PIN_BASED_VMX_PREEMPTION_TIMER

/*
 * The VMX-preemption timer (SDM 26.5.1) bounds how long one entry can
 * last: a backstop in case a host interrupt does not make the guest exit.
 * Bochs 2.7 is such a case: when the guest's RFLAGS.IF equals the host's
 * at VM entry, it keeps interrupts masked as the host had them (IF=0),
 * despite external-interrupt exiting.  Two host ticks: on hardware a tick
 * exits first, and every entry starts the timer again from this value (the
 * "save VMX-preemption timer value" exit control stays off).
 */
#define PREEMPT_TIMER_NS	(2 * NSEC_PER_SEC / HZ)

/*
 * Primary processor-based controls (SDM 25.6.2, table 25-6).  The guest
 * reaches nothing outside its process: no ports, no foreign MSRs, no debug
 * registers, no performance counters, no TPR, no HLT/MWAIT of the real CPU.
 * CR3 loads and INVLPG are the guest's own business and must not exit.
 * The TPR shadow is forbidden as a default-1 control; vmx_posted_config()
 * turns it on with posted interrupts (CR8 accesses still exit).
 */
#define PROC_REQUIRED	(CPU_BASED_HLT_EXITING | CPU_BASED_MWAIT_EXITING | \
			 CPU_BASED_RDPMC_EXITING | CPU_BASED_CR8_LOAD_EXITING | \
			 CPU_BASED_CR8_STORE_EXITING | CPU_BASED_MOV_DR_EXITING | \
			 CPU_BASED_UNCOND_IO_EXITING | CPU_BASED_USE_MSR_BITMAPS | \
			 CPU_BASED_MONITOR_EXITING | \
			 CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
#define PROC_FORBIDDEN	(CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING | \
			 CPU_BASED_INVLPG_EXITING | CPU_BASED_RDTSC_EXITING | \
			 CPU_BASED_USE_IO_BITMAPS | CPU_BASED_TPR_SHADOW)

/*
 * Secondary controls (SDM 25.6.2, table 25-7).  WBINVD and ENCLS (SGX
 * enclave management on the host's EPC) exit where the CPU can make them.
 * Left off on purpose, so that the instructions raise #UD:
 * unrestricted guest (the guest is 64-bit from the first instruction),
 * XSAVES/XRSTORS (supervisor state components the guest does not own),
 * PCONFIG, user wait/pause and VM functions.
 */
#define PROC2_REQUIRED	SECONDARY_EXEC_ENABLE_EPT
#define PROC2_OPTIONAL	(SECONDARY_EXEC_ENABLE_RDTSCP | SECONDARY_EXEC_ENABLE_INVPCID | \
			 SECONDARY_EXEC_WBINVD_EXITING | SECONDARY_EXEC_ENCLS_EXITING)

/*
 * VM-exit controls (SDM 25.7.1): back to a 64-bit host with its own EFER
 * and PAT, debug registers saved.  "Acknowledge interrupt on exit" is off
 * unless posted interrupts need it (vmx_posted_config); when off, the
 * interrupt stays pending and the host takes it through its IDT as soon as the run
 * loop enables interrupts.
 */
#define EXIT_REQUIRED	(VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_DEBUG_CONTROLS | \
			 VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER | \
			 VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT)
#define EXIT_FORBIDDEN	VM_EXIT_ACK_INTR_ON_EXIT

/* VM-entry controls (SDM 25.8.1): a 64-bit guest with its own EFER and PAT. */
#define ENTRY_REQUIRED	(VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_DEBUG_CONTROLS | \
			 VM_ENTRY_LOAD_IA32_EFER | VM_ENTRY_LOAD_IA32_PAT)

static int adjust(const char *what, u32 msr, u32 required, u32 optional,
		  u32 forbidden, u32 *out)
{
	u64 cap;

	rdmsrl(msr, cap);
	if (vmx_adjust_ctl(cap, required, optional, out)) {
		pr_warn("%s controls lack %#x (capability MSR %#llx)\n",
			what, required & ~(u32)(cap >> 32), cap);
		return -EOPNOTSUPP;
	}
	if (*out & forbidden) {
		pr_warn("%s controls force %#x on (capability MSR %#llx)\n",
			what, *out & forbidden, cap);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* SDM A.3.1: the TRUE_* MSRs, when present, allow more default1 bits off. */
static u32 ctl_msr(bool true_ctls, u32 true_msr, u32 msr)
{
	return true_ctls ? true_msr : msr;
}

static int vmx_config_controls(const struct vmx_cap_msrs *m, struct vmx_config *c)
{
	bool t = m->basic & VMXCAP_BASIC_TRUE_CTLS;
	u32 proc2_optional = PROC2_OPTIONAL;
	int r;

	r = adjust("pin-based", ctl_msr(t, MSR_IA32_VMX_TRUE_PINBASED_CTLS,
					MSR_IA32_VMX_PINBASED_CTLS),
		   PIN_REQUIRED, PIN_OPTIONAL, 0, &c->pin);
	r = r ?: adjust("processor-based", ctl_msr(t, MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
						   MSR_IA32_VMX_PROCBASED_CTLS),
			PROC_REQUIRED | CPU_BASED_INTR_WINDOW_EXITING, 0, PROC_FORBIDDEN,
			&c->proc);
	/* Checked above, but on only while an interrupt waits (vmx_run.c). */
	c->proc &= ~CPU_BASED_INTR_WINDOW_EXITING;
	if (c->has_vpid)
		proc2_optional |= SECONDARY_EXEC_ENABLE_VPID;
	r = r ?: adjust("secondary", MSR_IA32_VMX_PROCBASED_CTLS2,
			PROC2_REQUIRED, proc2_optional, SECONDARY_EXEC_UNRESTRICTED_GUEST,
			&c->proc2);
	r = r ?: adjust("VM-exit", ctl_msr(t, MSR_IA32_VMX_TRUE_EXIT_CTLS,
					   MSR_IA32_VMX_EXIT_CTLS),
			EXIT_REQUIRED, 0, EXIT_FORBIDDEN, &c->exit);
	r = r ?: adjust("VM-entry", ctl_msr(t, MSR_IA32_VMX_TRUE_ENTRY_CTLS,
					    MSR_IA32_VMX_ENTRY_CTLS),
			ENTRY_REQUIRED, 0, 0, &c->entry);
	if (!(c->proc2 & SECONDARY_EXEC_ENABLE_VPID))
		c->has_vpid = false;
	if (!r)
		vmx_posted_config(c, t);
	return r;
}

/* Timer ticks for PREEMPT_TIMER_NS: the timer counts TSC >> rate (SDM A.6). */
static u32 vmx_preempt_timer_value(void)
{
	u64 misc, ticks;

	rdmsrl(MSR_IA32_VMX_MISC, misc);
	ticks = ((u64)tsc_khz * PREEMPT_TIMER_NS / NSEC_PER_MSEC) >>
		vmx_misc_preemption_timer_rate(misc);
	return clamp_val(ticks, 1, U32_MAX);
}

/**
 * vmx_config_init - fill vmx_cfg for this CPU.
 * @m:	the capability MSRs vmx_probe() already read and vetted with
 *	vmx_decode_caps() (EPT with 4-level walks, WB, INVEPT).
 *
 * Returns 0, or -EOPNOTSUPP when a control dune relies on is missing.
 */
int vmx_config_init(const struct vmx_cap_msrs *m)
{
	struct vmx_config *c = &vmx_cfg;
	struct dune_caps caps = {};
	int r;

	c->revision = m->basic & VMXCAP_BASIC_REVISION_MASK;
	c->ept_vpid = m->ept_vpid;
	vmx_decode_caps(m, &caps);
	c->has_vpid = caps.features & DUNE_FEAT_TAGGED_TLB;
	rdmsrl(MSR_IA32_VMX_CR0_FIXED0, c->cr0_fixed0);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED1, c->cr0_fixed1);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED0, c->cr4_fixed0);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED1, c->cr4_fixed1);
	r = vmx_config_controls(m, c);
	if (!r && (c->pin & PIN_BASED_VMX_PREEMPTION_TIMER))
		c->preempt_timer = vmx_preempt_timer_value();
	return r;
}
