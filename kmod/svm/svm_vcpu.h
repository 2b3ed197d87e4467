/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _DUNE_SVM_VCPU_H
#define _DUNE_SVM_VCPU_H

#include <asm/svm.h>

#include "../common/vcpu.h"

/**
 * struct svm_vcpu - the AMD-V vCPU.
 * @vcpu:	the common part (vmrun.S gets &vcpu->regs explicitly).
 * @vmcb:	the guest's VMCB (APM Vol. 2, Appendix B).
 * @msrpm:	MSR permission map (8 KiB), @iopm: I/O permission map (12 KiB).
 * @asid_gen:	generation of @vmcb->control.asid on @asid_cpu.
 */
struct svm_vcpu {
	struct dune_vcpu vcpu;
	struct vmcb *vmcb;
	u64 vmcb_pa;
	void *msrpm;
	void *iopm;
	u64 asid_gen;
	int asid_cpu;
	bool offer_cut;		/* the last exit cut the offered IRQ short */
};

static inline struct svm_vcpu *to_svm(struct dune_vcpu *vcpu)
{
	return container_of(vcpu, struct svm_vcpu, vcpu);
}

/*
 * vmrun.S: one world switch.  Interrupts and GIF off.  Returns 0, or 1
 * when an SVM instruction faulted (SVM was turned off under the vCPU).
 */
int svm_vmrun(u64 vmcb_pa, struct dune_regs *regs, u64 host_save_pa);
/* vmrun.S: the instruction after VMRUN, where #VMEXIT resumes the host. */
extern const char svm_vmrun_resume[];

/*
 * Raw exit codes (dune_exit.raw, and dune_config.status with
 * DUNE_RET_BAD_STATE) the hardware never writes, in KVM's software range
 * (SVM_EXIT_SW): the run stopped for a reason of dune's own.
 */
#define SVM_EXIT_DUNE_SVM_OFF		(SVM_EXIT_SW + 1)	/* an SVM insn faulted */
#define SVM_EXIT_DUNE_ERRATUM_383	(SVM_EXIT_SW + 2)	/* guest state corrupt */

extern bool svm_flush_by_asid;
extern bool svm_nrips;
extern u32 svm_nr_asids;
int svm_cpu_setup(void);
/* svm_host.c: host-side hazards (machine checks, speculation, SNP). */
struct page *svm_alloc_cpu_page(int node, gfp_t gfp);
void svm_init_erratum_383(void);
bool svm_machine_check(void);
void svm_spec_ctrl_guest(struct vmcb *vmcb);
void svm_bp_spec_reduce_on(void);
void svm_bp_spec_reduce_off(void);
extern const struct dune_npt_format svm_npt_format;
struct dune_vcpu *svm_vcpu_alloc(void);
void svm_vcpu_free(struct dune_vcpu *vcpu);
int svm_vcpu_setup(struct dune_vcpu *vcpu);
void svm_vcpu_load(struct dune_vcpu *vcpu, int cpu);
void svm_vcpu_put(struct dune_vcpu *vcpu);
void svm_vcpu_run(struct dune_vcpu *vcpu, struct dune_exit *exit, bool flush_tlb);
void svm_cpu_unsetup(void);

#endif /* _DUNE_SVM_VCPU_H */
