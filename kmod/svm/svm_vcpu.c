// SPDX-License-Identifier: GPL-2.0
/*
 * AMD-V vCPU: VMCB setup (APM Vol. 2, Appendix B), ASIDs, the world switch
 * and exit decoding into the common dune_exit.
 */
#define pr_fmt(fmt) "dune: svm: " fmt

#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <asm/asm.h>
#include <asm/irq_vectors.h>
#include <asm/msr.h>
#include <asm/processor-flags.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/trapnr.h>

#include "../common/hv.h"
#include "svm_vcpu.h"
#include "../common/regs-offsets.h"

#define CHECK_REG(off, field) \
	static_assert((off) == offsetof(struct dune_regs, field))
CHECK_REG(REGS_RAX, rax); CHECK_REG(REGS_RCX, rcx); CHECK_REG(REGS_RDX, rdx);
CHECK_REG(REGS_RBX, rbx); CHECK_REG(REGS_RSP, rsp); CHECK_REG(REGS_RBP, rbp);
CHECK_REG(REGS_RSI, rsi); CHECK_REG(REGS_RDI, rdi); CHECK_REG(REGS_R8, r8);
CHECK_REG(REGS_R9, r9); CHECK_REG(REGS_R10, r10); CHECK_REG(REGS_R11, r11);
CHECK_REG(REGS_R12, r12); CHECK_REG(REGS_R13, r13); CHECK_REG(REGS_R14, r14);
CHECK_REG(REGS_R15, r15);

#define MSRPM_ORDER	1	/* 8 KiB (APM 15.11) */
#define IOPM_ORDER	2	/* 12 KiB used (APM 15.10.1) */

/* SVM segment attributes (APM 15.5.1): type | S<<4 | DPL<<5 | P<<7 | L<<9 | DB<<10 | G<<11 */
#define SEG_CODE64	0x0a9b
#define SEG_DATA	0x0c93
#define SEG_TSS64_BUSY	0x008b
#define SEL_CODE	0x08
#define SEL_DATA	0x10
#define SEL_TSS		0x18

struct svm_cpu_state {
	u64 asid_gen;
	u32 next_asid;
	struct page *host_save;	/* VMSAVE/VMLOAD target for host state */
};

static DEFINE_PER_CPU(struct svm_cpu_state, svm_cpu);
bool svm_flush_by_asid;
bool svm_nrips;		/* the VMCB's next RIP is valid (APM 15.7.1) */
u32 svm_nr_asids;

int svm_cpu_setup(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct svm_cpu_state *sc = per_cpu_ptr(&svm_cpu, cpu);

		sc->asid_gen = 1;
		sc->next_asid = 1;
		sc->host_save = svm_alloc_cpu_page(cpu_to_node(cpu), GFP_KERNEL);
		if (!sc->host_save) {
			svm_cpu_unsetup();
			return -ENOMEM;
		}
	}
	return 0;
}

void svm_cpu_unsetup(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct svm_cpu_state *sc = per_cpu_ptr(&svm_cpu, cpu);

		if (sc->host_save)
			__free_page(sc->host_save);
		sc->host_save = NULL;
	}
}

static inline void set_intercept(struct vmcb_control_area *c, unsigned int bit)
{
	c->intercepts[bit / 32] |= 1U << (bit % 32);
}

/* MSRs in 0xc0000000-0xc0001fff start at byte 0x800, two bits each. */
static void msrpm_allow(void *msrpm, u32 msr)
{
	u32 bit = 0x800 * 8 + (msr - 0xc0000000) * 2;

	__clear_bit(bit, msrpm);	/* read */
	__clear_bit(bit + 1, msrpm);	/* write */
}

struct dune_vcpu *svm_vcpu_alloc(void)
{
	struct svm_vcpu *svm = kzalloc(sizeof(*svm), GFP_KERNEL_ACCOUNT);
	struct page *vmcb;

	if (!svm)
		return ERR_PTR(-ENOMEM);
	vmcb = svm_alloc_cpu_page(NUMA_NO_NODE, GFP_KERNEL_ACCOUNT);
	svm->msrpm = (void *)__get_free_pages(GFP_KERNEL_ACCOUNT, MSRPM_ORDER);
	svm->iopm = (void *)__get_free_pages(GFP_KERNEL_ACCOUNT, IOPM_ORDER);
	if (!vmcb || !svm->msrpm || !svm->iopm) {
		if (vmcb)
			__free_page(vmcb);
		free_pages((unsigned long)svm->msrpm, MSRPM_ORDER);
		free_pages((unsigned long)svm->iopm, IOPM_ORDER);
		kfree(svm);
		return ERR_PTR(-ENOMEM);
	}
	svm->vmcb = page_address(vmcb);
	svm->vmcb_pa = page_to_phys(vmcb);
	/*
	 * Intercept every port and MSR, except the guest's own per-thread
	 * state that VMSAVE/VMLOAD switch (APM 15.5.2): segment bases and the
	 * SYSCALL MSRs.  The host's values come back from the host save page.
	 */
	memset(svm->iopm, 0xff, PAGE_SIZE << IOPM_ORDER);
	memset(svm->msrpm, 0xff, PAGE_SIZE << MSRPM_ORDER);
	msrpm_allow(svm->msrpm, MSR_FS_BASE);
	msrpm_allow(svm->msrpm, MSR_GS_BASE);
	msrpm_allow(svm->msrpm, MSR_KERNEL_GS_BASE);
	msrpm_allow(svm->msrpm, MSR_STAR);
	msrpm_allow(svm->msrpm, MSR_LSTAR);
	msrpm_allow(svm->msrpm, MSR_CSTAR);
	msrpm_allow(svm->msrpm, MSR_SYSCALL_MASK);
	svm->asid_cpu = -1;
	return &svm->vcpu;
}

void svm_vcpu_free(struct dune_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	free_page((unsigned long)svm->vmcb);
	free_pages((unsigned long)svm->msrpm, MSRPM_ORDER);
	free_pages((unsigned long)svm->iopm, IOPM_ORDER);
	kfree(svm);
}

static void setup_intercepts(struct vmcb_control_area *c)
{
	static const u16 bits[] = {
		INTERCEPT_CR0_WRITE, INTERCEPT_CR4_WRITE, INTERCEPT_CR8_READ,
		INTERCEPT_CR8_WRITE, INTERCEPT_INTR, INTERCEPT_NMI, INTERCEPT_SMI,
		INTERCEPT_RDPMC, INTERCEPT_CPUID, INTERCEPT_INVD,
		INTERCEPT_HLT, INTERCEPT_INVLPGA, INTERCEPT_IOIO_PROT,
		INTERCEPT_MSR_PROT, INTERCEPT_TASK_SWITCH, INTERCEPT_SHUTDOWN,
		INTERCEPT_VMRUN, INTERCEPT_VMMCALL, INTERCEPT_VMLOAD,
		INTERCEPT_VMSAVE, INTERCEPT_STGI, INTERCEPT_CLGI, INTERCEPT_SKINIT,
		INTERCEPT_WBINVD, INTERCEPT_MONITOR, INTERCEPT_MWAIT,
		INTERCEPT_MWAIT_COND, INTERCEPT_XSETBV, INTERCEPT_RDPRU,
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(bits); i++)
		set_intercept(c, bits[i]);
	c->intercepts[INTERCEPT_DR0_READ / 32] = ~0U;	/* all DR reads and writes */
	c->intercepts[INTERCEPT_EXCEPTION_OFFSET / 32] = DUNE_INTERCEPTED_EXCEPTIONS;
}

static void set_seg(struct vmcb_seg *s, u16 sel, u16 attrib, u32 limit, u64 base)
{
	s->selector = sel;
	s->attrib = attrib;
	s->limit = limit;
	s->base = base;
}

static void setup_save_area(struct dune_vcpu *vcpu, struct vmcb_save_area *s)
{
	set_seg(&s->cs, SEL_CODE, SEG_CODE64, 0xffffffff, 0);
	set_seg(&s->ds, SEL_DATA, SEG_DATA, 0xffffffff, 0);
	set_seg(&s->es, SEL_DATA, SEG_DATA, 0xffffffff, 0);
	set_seg(&s->ss, SEL_DATA, SEG_DATA, 0xffffffff, 0);
	set_seg(&s->fs, SEL_DATA, SEG_DATA, 0xffffffff, vcpu->fs_base);
	set_seg(&s->gs, SEL_DATA, SEG_DATA, 0xffffffff, vcpu->gs_base);
	set_seg(&s->tr, SEL_TSS, SEG_TSS64_BUSY, 0x67, 0);
	/* GDTR/IDTR/LDTR empty: the guest loads its own right after entry. */
	s->cpl = 0;
	s->efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NX | EFER_SVME;
	s->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP |
		 X86_CR0_AM | X86_CR0_PG;
	/*
	 * PCIDE where the host uses PCIDs, as on VT-x (vmcs_setup.c): guest
	 * PCIDs are tagged inside the vCPU's ASID, and a TLB_CONTROL flush of
	 * the ASID or a new ASID drops all of them (APM 15.16).  INVPCID is
	 * not intercepted, so it works where the CPU has it.
	 */
	s->cr4 = X86_CR4_PAE | X86_CR4_PGE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT |
		 (cr4_read_shadow() & (X86_CR4_OSXSAVE | X86_CR4_FSGSBASE | X86_CR4_PCIDE));
	s->cr3 = vcpu->cr3;
	s->dr6 = 0xffff0ff0;
	s->dr7 = 0x400;
	rdmsrl(MSR_IA32_CR_PAT, s->g_pat);
	s->rflags = vcpu->regs.rflags | X86_EFLAGS_FIXED;
	s->rip = vcpu->regs.rip;
	s->rsp = vcpu->regs.rsp;
	s->rax = vcpu->regs.rax;
}

int svm_vcpu_setup(struct dune_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;

	setup_intercepts(c);
	c->iopm_base_pa = virt_to_phys(svm->iopm);
	c->msrpm_base_pa = virt_to_phys(svm->msrpm);
	/* Host interrupts stay host interrupts whatever the guest's IF. */
	c->int_ctl = V_INTR_MASKING_MASK;
	c->nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
	c->nested_cr3 = vcpu->vm->root_pa;
	c->tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
	setup_save_area(vcpu, &svm->vmcb->save);
	return 0;
}

void svm_vcpu_load(struct dune_vcpu *vcpu, int cpu)
{
	vcpu->cpu = cpu;
}

void svm_vcpu_put(struct dune_vcpu *vcpu)
{
}

/*
 * ASIDs are per CPU and handed out by generation (APM 15.16): a vCPU that
 * moved, or whose generation is old, gets a fresh one; running out starts a
 * new generation and flushes every ASID on this CPU.
 */
static void svm_pick_asid(struct svm_vcpu *svm, int cpu)
{
	struct svm_cpu_state *sc = this_cpu_ptr(&svm_cpu);
	struct vmcb_control_area *c = &svm->vmcb->control;

	if (svm->asid_cpu == cpu && svm->asid_gen == sc->asid_gen)
		return;
	if (sc->next_asid >= svm_nr_asids) {
		sc->asid_gen++;
		sc->next_asid = 1;
		c->tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
	}
	c->asid = sc->next_asid++;
	svm->asid_gen = sc->asid_gen;
	svm->asid_cpu = cpu;
	/* A recycled ASID may still tag another vCPU's translations. */
	c->tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
}

/* #NPF error code bits (APM 15.25.6: the #PF error code format). */
#define NPF_EC_PRESENT	BIT_ULL(0)
#define NPF_EC_WRITE	BIT_ULL(1)
#define NPF_EC_FETCH	BIT_ULL(4)

static void svm_decode_npf(const struct vmcb_control_area *c, struct dune_exit *exit)
{
	u64 ec = c->exit_info_1;	/* #PF-style error code (APM 15.25.6) */

	exit->reason = DUNE_EXIT_NESTED_FAULT;
	exit->info1 = c->exit_info_2;
	exit->info2 = (ec & NPF_EC_PRESENT ? DUNE_NPF_PRESENT : 0) |
		      (ec & NPF_EC_WRITE ? DUNE_NPF_WRITE : 0) |
		      (ec & NPF_EC_FETCH ? DUNE_NPF_EXEC : DUNE_NPF_READ);
}

static u32 svm_exit_reason(u32 code)
{
	switch (code) {
	case SVM_EXIT_VMMCALL:
		return DUNE_EXIT_HYPERCALL;
	case SVM_EXIT_VINTR:
		return DUNE_EXIT_IRQ_WINDOW;
	case SVM_EXIT_INTR:
	case SVM_EXIT_SMI:	/* the platform's, not the guest's: re-enter */
		return DUNE_EXIT_EXTINT;
	case SVM_EXIT_NMI:
		return DUNE_EXIT_NMI;
	case SVM_EXIT_SHUTDOWN:
		return DUNE_EXIT_TRIPLE_FAULT;
	case SVM_EXIT_CPUID:
		return DUNE_EXIT_CPUID;
	case SVM_EXIT_HLT:
		return DUNE_EXIT_HLT;
	case SVM_EXIT_IOIO:
		return DUNE_EXIT_IO;
	case SVM_EXIT_XSETBV:
		return DUNE_EXIT_XSETBV;
	case SVM_EXIT_VMRUN: case SVM_EXIT_VMLOAD: case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI: case SVM_EXIT_CLGI: case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA: case SVM_EXIT_RDPMC: case SVM_EXIT_INVD:
	case SVM_EXIT_WBINVD: case SVM_EXIT_MONITOR: case SVM_EXIT_MWAIT:
	case SVM_EXIT_MWAIT_COND: case SVM_EXIT_RDPRU: case SVM_EXIT_TASK_SWITCH:
		return DUNE_EXIT_PRIV_INSN;
	}
	if (code >= SVM_EXIT_READ_CR0 && code <= SVM_EXIT_READ_CR0 + 0x1f)
		return DUNE_EXIT_CR_ACCESS;
	if (code >= SVM_EXIT_READ_DR0 && code <= SVM_EXIT_READ_DR0 + 0x1f)
		return DUNE_EXIT_DR_ACCESS;
	if (code >= SVM_EXIT_EXCP_BASE && code < SVM_EXIT_EXCP_BASE + 32)
		return DUNE_EXIT_EXCEPTION;
	return DUNE_EXIT_OTHER;
}

/*
 * The guest state a #VMEXIT stored is this host's own state at VMRUN: the
 * guest's real state is lost.  Hardware never does this (APM 15.6: #VMEXIT
 * saves the guest state and reloads the host's from VM_HSAVE_PA).  QEMU's
 * multi-threaded TCG does (docs/threat-model.md: another vCPU thread's
 * FXRSTOR/XRSTOR rewrites CPU 0's hidden flags and undoes the #VMEXIT's
 * "nested paging off"; the host's next instruction fetch then takes a
 * second #VMEXIT that stores the host state over the guest's).  Stop the
 * process with an error instead of running the host's state as guest.
 */
static bool svm_guest_state_lost(const struct vmcb_save_area *s)
{
	return s->rip == (unsigned long)svm_vmrun_resume && s->cr3 == __read_cr3();
}

/*
 * The length of an intercepted instruction: with NRIP_SAVE the CPU stores
 * the next RIP for instruction intercepts (APM 15.7.1), which counts the
 * prefixes a fixed length would miss (KVM: svm_skip_emulated_instruction
 * uses next_rip when nrips).  Without it, @fallback: the instruction's
 * length without prefixes.
 */
static u32 svm_insn_len(const struct svm_vcpu *svm, u32 fallback)
{
	u64 next = svm->vmcb->control.next_rip;
	u64 rip = svm->vmcb->save.rip;

	if (svm_nrips && next > rip && next - rip <= 15)
		return next - rip;
	return fallback;
}

static void svm_decode_exit(struct svm_vcpu *svm, struct dune_exit *exit)
{
	const struct vmcb_control_area *c = &svm->vmcb->control;
	u32 code = c->exit_code;

	exit->raw = code;
	exit->cpl = svm->vmcb->save.cpl;	/* APM 15.5.1: the guest's CPL */
	if (c->exit_code_hi || code == (u32)SVM_EXIT_ERR) {
		exit->reason = DUNE_EXIT_INVALID_STATE;
		exit->raw = SVM_EXIT_ERR;
		pr_warn_ratelimited("pid %d: VMRUN refused the guest state (event_inj %#x, exit_int_info %#x, int_ctl %#x, int_state %#x, rflags %#llx)\n",
				    current->pid, c->event_inj, c->exit_int_info, c->int_ctl,
				    c->int_state, svm->vmcb->save.rflags);
		return;
	}
	if (unlikely(svm_guest_state_lost(&svm->vmcb->save))) {
		exit->reason = DUNE_EXIT_INVALID_STATE;
		pr_warn_ratelimited("pid %d: #VMEXIT %#x stored the host's state as the guest's (a CPU or emulator fault); stopping the process\n",
				    current->pid, code);
		return;
	}
	if (code == SVM_EXIT_NPF) {
		svm_decode_npf(c, exit);
		return;
	}
	exit->reason = svm_exit_reason(code);
	switch (code) {
	case SVM_EXIT_VMMCALL:
	case SVM_EXIT_XSETBV:
		exit->insn_len = svm_insn_len(svm, 3);
		break;
	case SVM_EXIT_CPUID:
		exit->insn_len = svm_insn_len(svm, 2);
		break;
	case SVM_EXIT_HLT:
		exit->insn_len = svm_insn_len(svm, 1);
		break;
	case SVM_EXIT_MSR:
		exit->reason = c->exit_info_1 ? DUNE_EXIT_MSR_WRITE : DUNE_EXIT_MSR_READ;
		exit->info1 = svm->vcpu.regs.rcx & 0xffffffff;
		exit->insn_len = svm_insn_len(svm, 2);
		break;
	case SVM_EXIT_EXCP_BASE + X86_TRAP_MC:
		if (svm_machine_check()) {
			exit->reason = DUNE_EXIT_INVALID_STATE;
			exit->raw = SVM_EXIT_DUNE_ERRATUM_383;
			break;
		}
		fallthrough;
	default:
		if (exit->reason == DUNE_EXIT_EXCEPTION) {
			exit->info1 = code - SVM_EXIT_EXCP_BASE;
			exit->info2 = c->exit_info_1;
		}
	}
}

/* INTn, INT3 and INTO: events an instruction raises (APM 15.20). */
static bool svm_event_is_soft(u32 info)
{
	u32 type = info & SVM_EXITINTINFO_TYPE_MASK;
	u32 vector = info & SVM_EXITINTINFO_VEC_MASK;

	return type == SVM_EXITINTINFO_TYPE_SOFT ||
	       (type == SVM_EXITINTINFO_TYPE_EXEPT &&
		(vector == X86_TRAP_BP || vector == X86_TRAP_OF));
}

/*
 * CLGI, VMRUN and STGI fault (#UD) once EFER.SVME is clear: SVM was turned
 * off under us (emergency disable on reboot or kexec, APM 15.4).  Like
 * KVM's svm_asm fixups, note it instead of oopsing.  Returns 0, or 1 when
 * an SVM instruction faulted and the guest did not run to a #VMEXIT.
 */
static int svm_world_switch(struct svm_vcpu *svm)
{
	int faulted;

	asm goto("1: clgi\n\t"
		 _ASM_EXTABLE(1b, %l[off])
		 : : : "memory" : off);
	faulted = svm_vmrun(svm->vmcb_pa, &svm->vcpu.regs,
			    page_to_phys(this_cpu_ptr(&svm_cpu)->host_save));
	asm goto("1: stgi\n\t"
		 _ASM_EXTABLE(1b, %l[off])
		 : : : "memory" : off);
	return faulted;
off:
	return 1;
}

static void svm_svm_off(struct dune_exit *exit)
{
	exit->reason = DUNE_EXIT_INVALID_STATE;
	exit->raw = SVM_EXIT_DUNE_SVM_OFF;
	pr_warn_ratelimited("pid %d: AMD-V was turned off under a running vCPU; stopping the process\n",
			    current->pid);
}

/*
 * EXITINTINFO as EVENTINJ for the next entry.  Vectors 32-255 are never
 * exceptions (SDM vol. 3 6.3.1, APM 8.2), so an exception-type event with
 * one is an external interrupt whose delivery the exit cut short, and is
 * injected as one: VMRUN refuses an exception with such a vector (APM
 * 15.20, "EVENTINJ"), which would stop the process over an interrupt it
 * was owed.  QEMU's SVM reports so an interrupt it delivered other than
 * through EVENTINJ (a V_IRQ) when a nested page fault cuts the delivery
 * short; a real CPU reports type 0 and this changes nothing.
 */
static u32 svm_reinject_event(u32 info)
{
	if ((info & SVM_EXITINTINFO_TYPE_MASK) == SVM_EXITINTINFO_TYPE_EXEPT &&
	    (info & SVM_EXITINTINFO_VEC_MASK) >= FIRST_EXTERNAL_VECTOR)
		info = (info & ~(SVM_EXITINTINFO_TYPE_MASK | SVM_EXITINTINFO_VALID_ERR)) |
		       SVM_EXITINTINFO_TYPE_INTR;
	return info;
}

/*
 * The interrupt the run loop offers (common/ipi.c) is a virtual interrupt:
 * V_IRQ with its vector in INT_VECTOR, V_TPR ignored (APM 15.21.4).  The
 * CPU delivers it through the guest's IDT as soon as the guest can take
 * one (RFLAGS.IF=1, no interrupt shadow, after any event EVENTINJ holds),
 * with no interrupt-window exit, and clears V_IRQ when it takes it
 * (written back at #VMEXIT).  EVENTINJ is left to exceptions: QEMU's SVM
 * keeps an EVENTINJ interrupt's vector as a pending
 * exception after VMRUN and delivers it a second time, whatever the
 * guest's IF, at its next turn of the CPU loop.
 */
static void svm_offer_irq(struct dune_vcpu *vcpu, struct vmcb *vmcb)
{
	struct vmcb_control_area *c = &vmcb->control;
	u8 v = vcpu->ipi.offer;

	c->int_ctl &= ~(V_IRQ_MASK | V_INTR_PRIO_MASK | V_IGN_TPR_MASK);
	if (!v)
		return;
	c->int_vector = v;
	c->int_ctl |= V_IRQ_MASK | (0xfU << V_INTR_PRIO_SHIFT) | V_IGN_TPR_MASK;
}

/*
 * After #VMEXIT, with an interrupt offered: was it taken?  V_IRQ clear says
 * the CPU took it.  An exit that cut its delivery short reports it in
 * EXITINTINFO (APM 15.7.2); the guest is then as it was before the delivery
 * began, so the interrupt goes back to the pending set (not taken) to be
 * offered again instead of reinjected.  Sets ipi.injected; returns true
 * for that cut-short case.
 */
static bool svm_offer_settle(struct dune_vcpu *vcpu, const struct vmcb *vmcb)
{
	const struct vmcb_control_area *c = &vmcb->control;
	u32 info;
	bool cut;

	if (!vcpu->ipi.offer)
		return false;
	info = svm_reinject_event(c->exit_int_info);
	cut = (info & SVM_EXITINTINFO_VALID) &&
	      (info & SVM_EXITINTINFO_TYPE_MASK) == SVM_EXITINTINFO_TYPE_INTR &&
	      (info & SVM_EXITINTINFO_VEC_MASK) == vcpu->ipi.offer;
	vcpu->ipi.injected = !cut && !(c->int_ctl & V_IRQ_MASK);
	return cut;
}

void svm_vcpu_run(struct dune_vcpu *vcpu, struct dune_exit *exit, bool flush_tlb)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;
	int cpu = smp_processor_id();

	svm_pick_asid(svm, cpu);
	if (flush_tlb && vmcb->control.tlb_ctl == TLB_CONTROL_DO_NOTHING)
		vmcb->control.tlb_ctl = svm_flush_by_asid ? TLB_CONTROL_FLUSH_ASID :
					TLB_CONTROL_FLUSH_ALL_ASID;
	/*
	 * An event cut short by the exit (e.g. a nested fault while the guest's
	 * IDT delivered an exception) must be delivered again (APM 15.7.2),
	 * unless the host moved the guest on.  Software events (INTn, INT3,
	 * INTO) are not injected: RIP still points at their instruction, so
	 * running it again raises them with the right return address, where an
	 * injected #BP would return to the INT3 and raise it twice (KVM does
	 * the same).  An offered interrupt cut short went back to the pending
	 * set instead (svm_offer_settle).
	 */
	if (vcpu->exc.valid) {
		/* An exception the run loop reflects (APM 15.20). */
		vmcb->control.event_inj = vcpu->exc.vector | SVM_EVTINJ_TYPE_EXEPT |
					  SVM_EVTINJ_VALID |
					  (vcpu->exc.has_err ? SVM_EVTINJ_VALID_ERR : 0);
		vmcb->control.event_inj_err = vcpu->exc.err;
		vcpu->exc.valid = false;
	} else if (!svm->offer_cut && (vmcb->control.exit_int_info & SVM_EXITINTINFO_VALID) &&
		   !svm_event_is_soft(vmcb->control.exit_int_info) &&
		   vmcb->save.rip == vcpu->regs.rip) {
		vmcb->control.event_inj = svm_reinject_event(vmcb->control.exit_int_info);
		vmcb->control.event_inj_err = vmcb->control.exit_int_info_err;
	} else {
		vmcb->control.event_inj = 0;
	}
	svm_offer_irq(vcpu, vmcb);
	vmcb->save.rip = vcpu->regs.rip;
	vmcb->save.rsp = vcpu->regs.rsp;
	vmcb->save.rflags = vcpu->regs.rflags | X86_EFLAGS_FIXED;
	vmcb->save.rax = vcpu->regs.rax;
	vmcb->save.fs.base = vcpu->fs_base;
	vmcb->save.gs.base = vcpu->gs_base;

	vmcb->control.next_rip = 0;
	svm_spec_ctrl_guest(vmcb);
	svm_bp_spec_reduce_on();

	svm->offer_cut = false;
	if (svm_world_switch(svm)) {
		svm_svm_off(exit);
		return;
	}
	svm->offer_cut = svm_offer_settle(vcpu, vmcb);
	vmcb->control.tlb_ctl = TLB_CONTROL_DO_NOTHING;
	vcpu->regs.rip = vmcb->save.rip;
	vcpu->regs.rsp = vmcb->save.rsp;
	vcpu->regs.rflags = vmcb->save.rflags;
	vcpu->regs.rax = vmcb->save.rax;
	vcpu->fs_base = vmcb->save.fs.base;
	vcpu->gs_base = vmcb->save.gs.base;
	svm_decode_exit(svm, exit);
}

/*
 * NPT entries: long-mode format; the nested walk is a user access, so
 * every level needs U (APM 15.25.5).
 */
const struct dune_npt_format svm_npt_format = {
	.present = _PAGE_PRESENT,
	.read = _PAGE_PRESENT | _PAGE_USER,
	.write = _PAGE_RW,
	.exec = 0,
	.nx = _PAGE_NX,
	.table = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER,
	.leaf = _PAGE_ACCESSED,
	.large = _PAGE_PSE,
};
