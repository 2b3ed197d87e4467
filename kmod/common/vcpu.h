/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vendor-neutral vCPU and process VM, and the normalized exit record
 * that backends fill after each guest run.
 */
#ifndef _DUNE_VCPU_H
#define _DUNE_VCPU_H

#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "ipi.h"
#include "uapi/dune.h"

/* Backends translate their exit codes into enum dune_exit_reason (uapi). */
static_assert(DUNE_EXIT_NR <= DUNE_STATS_MAX_EXITS);

/* DUNE_NPF_* (the access of a nested page fault) are in uapi/dune.h. */

/**
 * struct dune_exit - one exit, normalized by the backend.
 * @reason:	enum dune_exit_reason.
 * @insn_len:	length of the exiting instruction when known, else 0.
 * @cpl:	the guest's privilege level when it exited (0 = ring 0): which
 *		code caused the exit decides what dune may do for it.
 * @info1/2:	see enum dune_exit_reason.
 * @raw:	the vendor's exit code (VMX basic exit reason / SVM exit code).
 */
struct dune_exit {
	u32 reason;
	u32 insn_len;
	u32 cpl;
	u64 info1;
	u64 info2;
	u64 raw;
};

/*
 * Nested page table entry format; the walker in common/npt.c is shared and
 * builds entries from these masks (EPT: SDM 29.3.2; NPT: APM 15.25.5).
 */
struct dune_npt_format {
	u64 present;	/* any of these bits means "present" */
	u64 read;	/* bits to allow reads (NPT: P|U) */
	u64 write;
	u64 exec;	/* EPT X bit; 0 on NPT */
	u64 nx;		/* NPT NX bit; 0 on EPT */
	u64 table;	/* bits of a non-leaf entry */
	u64 leaf;	/* extra bits of every leaf (EPT memory type WB | IPAT) */
	u64 large;	/* PS bit */
};

/**
 * struct dune_vm - one per process in Dune mode (shared by its vCPUs).
 */
struct dune_vm {
	struct mm_struct *mm;
	u64 id;				/* unique for the module's lifetime */
	struct mmu_notifier mn;
	refcount_t refs;		/* the file and each vCPU */
	refcount_t mem_refs;		/* users (refs) and the notifier */
	atomic_t notifier_put;		/* mmu_notifier_put done */
	bool retired;			/* maps nothing more, tables freed (vm.c) */
	spinlock_t lock;		/* nested page table */
	u64 *root;			/* nested PML4 (kernel virtual) */
	u64 root_pa;
	struct list_head npt_tables;	/* every table page, root included */
	atomic64_t tlb_gen;		/* bumped on every nested invalidation */
	unsigned long invalidate_seq;	/* mmu_invalidate_retry-style */
	int invalidate_in_progress;
	u64 inval_start, inval_end;	/* host range they cover (vm.c) */
	struct dune_layout layout;
	cpumask_var_t running;		/* CPUs a vCPU of this VM may be on */
	atomic_t nr_vcpus;
	atomic64_t nr_pages;		/* nested leaf entries installed */
};

/**
 * struct dune_exc - an exception to deliver to the guest at the next entry,
 * through its own IDT, as if the instruction at RIP had raised it.
 */
struct dune_exc {
	bool valid;
	bool has_err;
	u8 vector;
	u32 err;
};

/**
 * struct dune_vcpu - one per thread in Dune mode.  Backends embed it in
 * their own struct and get back with container_of.
 * @regs:	general registers, rip, rflags: owned here; backends copy
 *		rip/rsp/rflags (and rax on SVM) in and out around each run.
 * @fs_base, @gs_base: guest segment bases at entry.
 * @cr3:	guest CR3 at entry.
 * @cpu:	CPU it is loaded on, -1 if none.
 * @tlb_gen:	vm->tlb_gen value this vCPU's nested TLB is up to date with.
 * @exc:	exception queued by the run loop (dune_vcpu_queue_exc); the
 *		backend injects it at the next entry and clears it.
 * @exits:	exit counters by enum dune_exit_reason.
 * @reflected:	exits caused by ring-3 code that were reflected into the
 *		guest as the exception the instruction raises.
 * @ipi:	interrupts sent to this vCPU (ipi.h).
 */
struct dune_vcpu {
	struct dune_regs regs;
	u64 fs_base;
	u64 gs_base;
	u64 cr3;
	struct dune_vm *vm;
	int cpu;
	s64 tlb_gen;
	struct preempt_notifier pn;
	struct task_struct *task;
	struct dune_exc exc;
	struct dune_vcpu_ipi ipi;
	u64 exits[DUNE_EXIT_NR];
	u64 reflected;
	u64 entries;
	u64 returns;
	u64 syscalls_kernel;
	u64 syscalls_host;
	u64 host_work;			/* returns to user mode for task work */
};

/* Deliver @vector (with error code @err when @has_err) at the next entry. */
static inline void dune_vcpu_queue_exc(struct dune_vcpu *vcpu, u8 vector, bool has_err,
				       u32 err)
{
	vcpu->exc = (struct dune_exc){ .valid = true, .has_err = has_err,
				       .vector = vector, .err = err };
}

#endif /* _DUNE_VCPU_H */
