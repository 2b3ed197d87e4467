/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Intel VT-x backend's internal interfaces: the VMCS configuration
 * chosen at probe time, the vendor vCPU, and the pieces each file provides.
 */
#ifndef _DUNE_VMX_H
#define _DUNE_VMX_H

#include <linux/list.h>
#include <linux/types.h>
#include <asm/vmx.h>

#include "../common/hv.h"
#include "vmx_caps.h"

/**
 * struct vmx_config - what every VMCS gets, computed once from the
 * capability MSRs (SDM Appendix A) by vmx_config_init().
 * @revision:	VMCS revision identifier (IA32_VMX_BASIC[30:0]).
 * @pin, @proc, @proc2, @exit, @entry: control field values (SDM 25.6-25.8).
 * @ept_vpid:	IA32_VMX_EPT_VPID_CAP.
 * @has_vpid:	VPIDs can be enabled and flushed with INVVPID.
 * @preempt_timer: VMX-preemption timer value, when @pin enables it.
 * @posted:	posted interrupts deliver DUNE_SEND_IPI (vmx_posted.c).
 * @cr0_fixed0, @cr0_fixed1, @cr4_fixed0, @cr4_fixed1: CR bits that must be
 *		1 / may be 1 in VMX operation (SDM A.7, A.8).
 */
struct vmx_config {
	u32 revision;
	u32 pin;
	u32 proc;
	u32 proc2;
	u32 exit;
	u32 entry;
	u64 ept_vpid;
	bool has_vpid;
	u32 preempt_timer;
	bool posted;
	u64 cr0_fixed0;
	u64 cr0_fixed1;
	u64 cr4_fixed0;
	u64 cr4_fixed1;
};

extern struct vmx_config vmx_cfg;

/*
 * MSRs the guest owns but VM entry and exit do not switch by themselves:
 * the SYSCALL MSRs and the SWAPGS target.  They go through the VM-entry
 * MSR-load, VM-exit MSR-store and VM-exit MSR-load lists (SDM 25.7.2,
 * 25.8.2, 28.4, 29.6), which is what VMSAVE/VMLOAD do on AMD.
 */
enum vmx_autoload_msr {
	VMX_MSR_KERNEL_GS_BASE,
	VMX_MSR_STAR,
	VMX_MSR_LSTAR,
	VMX_MSR_CSTAR,
	VMX_MSR_SYSCALL_MASK,
	VMX_NR_AUTOLOAD
};

/*
 * Host perf MSRs switched around each run (perf_guest_get_msrs returns
 * at most PERF_GLOBAL_CTRL, PEBS_ENABLE, PEBS_DATA_CFG and DS_AREA).
 */
#define VMX_MAX_PERF_MSRS	4

/**
 * struct vmx_msr_lists - the MSR areas of one VMCS (one page, 16-byte
 * aligned entries as SDM 25.7.2 requires).
 * @guest:	loaded on VM entry; the first VMX_NR_AUTOLOAD are stored on
 *		VM exit, the perf ones after them are rewritten every run.
 * @host:	loaded on VM exit.
 */
struct vmx_msr_lists {
	struct vmx_msr_entry guest[VMX_NR_AUTOLOAD + VMX_MAX_PERF_MSRS];
	struct vmx_msr_entry host[VMX_NR_AUTOLOAD + VMX_MAX_PERF_MSRS];
};

/**
 * struct vmx_pi_desc - posted-interrupt descriptor (SDM 30.6, table 30-1).
 * @pir:	one request bit per vector.
 * @control:	bit 0 ON (outstanding notification), bit 1 SN (suppress);
 *		the NV and NDST fields above them are for VT-d posting and
 *		unused here (the CPU takes the vector from the VMCS).
 */
struct vmx_pi_desc {
	unsigned long pir[4];
	unsigned long control;
	u32 rsvd[6];
} __aligned(64);

#define VMX_PI_ON	0

/**
 * struct vmx_host_cache - host-state VMCS fields that can change while
 * the VMCS lives; vmx_run.c rewrites a field only when its value moved.
 */
struct vmx_host_cache {
	unsigned long cr3;
	unsigned long cr4;
	unsigned long fs_base;
	unsigned long rsp;	/* written by vmenter.S */
	u64 debugctl;		/* not in the VMCS: read before, restored after each run */
};

/**
 * struct vmx_vcpu - the Intel vCPU.
 * @vcpu:	the common part.
 * @vmcs:	VMCS region (one page), @vmcs_pa its physical address.
 * @msr_bitmap:	MSR bitmap page (SDM 25.6.9).
 * @msrs:	MSR load/store lists (one page).
 * @eptp:	EPT pointer of this vCPU's VM (SDM 25.6.11).
 * @vpid:	this vCPU's VPID, 0 if VPIDs are off for it.
 * @proc2:	secondary controls (VPID may be off for this vCPU only).
 * @vmcs_cpu:	CPU the VMCS is active on, -1 if none (clear in memory).
 * @launched:	the VMCS's launch state is "launched" (VMRESUME next).
 * @loaded_node: entry in the per-CPU list of VMCSs active on @vmcs_cpu.
 * @host:	cached host-state fields.
 * @guest_fs_base, @guest_gs_base: what GUEST_FS_BASE and GUEST_GS_BASE
 *		hold (vcpu->fs_base and ->gs_base are the truth).
 * @exit_rip:	guest RIP at the last exit.
 * @intr_state:	guest interruptibility state at the last exit.
 * @reinject:	IDT-vectoring information of the last exit: an event the
 *		exit interrupted, to deliver again on the next entry.
 * @reinject_err: its error code, @reinject_len: its instruction length.
 * @irq_window:	interrupt-window exiting is on in the VMCS.
 * @vapic:	virtual-APIC page, @pi: posted-interrupt descriptor (its
 *		own page); both NULL unless vmx_cfg.posted.
 */
struct vmx_vcpu {
	struct dune_vcpu vcpu;
	void *vmcs;
	u64 vmcs_pa;
	void *msr_bitmap;
	struct vmx_msr_lists *msrs;
	u64 eptp;
	u16 vpid;
	u32 proc2;
	int vmcs_cpu;
	bool launched;
	struct list_head loaded_node;
	struct vmx_host_cache host;
	u64 guest_fs_base;
	u64 guest_gs_base;
	u64 exit_rip;
	u32 intr_state;
	u32 reinject;
	u32 reinject_err;
	u32 reinject_len;
	u32 nr_load_msrs;	/* entries in use in @msrs (load counts) */
	bool irq_window;
	void *vapic;
	struct vmx_pi_desc *pi;
};

static inline struct vmx_vcpu *to_vmx(struct dune_vcpu *vcpu)
{
	return container_of(vcpu, struct vmx_vcpu, vcpu);
}

/* vmx_config.c */
int vmx_config_init(const struct vmx_cap_msrs *m);

/* vmx_vcpu.c */
void vmx_percpu_enable(void);
void vmx_clear_loaded_vmcss(void);
struct dune_vcpu *vmx_vcpu_alloc(void);
void vmx_vcpu_free(struct dune_vcpu *vcpu);
void vmx_vcpu_load(struct dune_vcpu *vcpu, int cpu);
void vmx_vcpu_put(struct dune_vcpu *vcpu);

/* vmcs_setup.c */
int vmx_vcpu_setup(struct dune_vcpu *vcpu);

/* vmx_run.c */
void vmx_vcpu_run(struct dune_vcpu *vcpu, struct dune_exit *exit, bool flush_tlb);

/* vmx_exit.c */
void vmx_decode_exit(struct vmx_vcpu *vmx, u32 reason, struct dune_exit *exit);
void vmx_report_vmfail(struct vmx_vcpu *vmx, struct dune_exit *exit);

/* vmx_posted.c */
void vmx_posted_config(struct vmx_config *c, bool true_ctls);
int vmx_posted_alloc(struct vmx_vcpu *vmx);
void vmx_posted_free(struct vmx_vcpu *vmx);
void vmx_posted_msr_bitmap(struct vmx_vcpu *vmx);
void vmx_posted_setup(struct vmx_vcpu *vmx);
int vmx_posted_post(struct dune_vcpu *vcpu, u8 vector);
void vmx_posted_notify(int cpu);
void vmx_posted_sync(struct vmx_vcpu *vmx);
void vmx_posted_handle_irq(void);

/* ept.c */
extern const struct dune_npt_format vmx_npt_format;
u64 vmx_make_eptp(u64 root_pa);
void vmx_flush_ept(u64 eptp);
void vmx_flush_vpid(u16 vpid);

/* vmenter.S */
int __dune_vmx_run(struct dune_regs *regs, unsigned long *host_rsp, unsigned int flags);
extern const char dune_vmx_vmexit[];
void __dune_vmx_do_irq(unsigned long entry);

#endif /* _DUNE_VMX_H */
