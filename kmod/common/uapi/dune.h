/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The /dev/dune ioctl ABI: one ABI for both vendors.
 *
 * Rules that keep it stable:
 *  - every struct has a fixed layout (explicit padding, no pointers: user
 *    addresses travel as __u64) and its size is part of the ioctl number;
 *  - new fields go into reserved space or into a new ioctl; numbers and enum
 *    values are never reused;
 *  - DUNE_ABI_VERSION changes only on an incompatible change.
 *
 * Names describe what things mean, not one vendor's word for them ("nested
 * paging", not EPT/NPT).
 */
#ifndef _UAPI_DUNE_H
#define _UAPI_DUNE_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define DUNE_ABI_VERSION	1
#define DUNE_DEVICE_NAME	"dune"
#define DUNE_IOC_MAGIC		0xE9

/* Which hardware backend the module chose at load time. */
enum dune_backend {
	DUNE_BACKEND_NONE = 0,
	DUNE_BACKEND_VMX = 1,	/* Intel VT-x: VMCS + EPT */
	DUNE_BACKEND_SVM = 2,	/* AMD-V: VMCB + NPT */
};

/* Bits of dune_info.features: what the CPU offers that dune uses. */
#define DUNE_FEAT_NESTED_PAGING	(1ULL << 0) /* EPT / NPT */
#define DUNE_FEAT_TAGGED_TLB	(1ULL << 1) /* VPID / ASID */
#define DUNE_FEAT_NESTED_2M	(1ULL << 2) /* 2 MiB nested pages */
#define DUNE_FEAT_NESTED_1G	(1ULL << 3) /* 1 GiB nested pages */
#define DUNE_FEAT_NESTED_AD	(1ULL << 4) /* accessed/dirty bits in nested tables */
#define DUNE_FEAT_NESTED_XO	(1ULL << 5) /* execute-only nested pages */
#define DUNE_FEAT_PCID		(1ULL << 6) /* guest may use CR4.PCIDE */
#define DUNE_FEAT_NEXT_RIP	(1ULL << 7) /* CPU reports next RIP on exits */
#define DUNE_FEAT_XSAVE		(1ULL << 8) /* host has XSAVE enabled */
/*
 * DUNE_SEND_IPI uses posted interrupts (VMX): the target takes the vector
 * without an exit and must end it with an EOI, a write of 0 to x2APIC MSR
 * 0x80b (virtualized: it reaches only this vCPU's virtual APIC) before an
 * equal or lower priority vector can come.  libdune does this before
 * running a handler.  Without this bit there is no EOI to write.
 */
#define DUNE_FEAT_POSTED_INTR	(1ULL << 9)

/**
 * struct dune_info - DUNE_GET_INFO result.
 * @abi_version:	DUNE_ABI_VERSION of the module.
 * @backend:		enum dune_backend in use.
 * @features:		DUNE_FEAT_* bits.
 * @phys_bits:		guest-physical address width in bits.
 * @virt_bits:		linear address width in bits.
 * @nr_tlb_tags:	number of VPIDs / ASIDs usable (0 if untagged).
 * @nr_cpus:		CPUs with virtualization enabled.
 * @live_vcpus:		vCPUs that exist now, in all processes.
 * @reserved:		zero; room to grow without an ABI change.
 */
struct dune_info {
	__u32 abi_version;
	__u32 backend;
	__u64 features;
	__u32 phys_bits;
	__u32 virt_bits;
	__u32 nr_tlb_tags;
	__u32 nr_cpus;
	__u32 live_vcpus;
	__u32 reserved0;
	__u64 reserved[8];
};

#define DUNE_GET_INFO		_IOR(DUNE_IOC_MAGIC, 0x00, struct dune_info)

/**
 * struct dune_regs - the guest's general registers, in this order.
 * The order matches the register numbers of the x86-64 ModRM encoding
 * (rax=0 ... r15=15) so exit handlers can index it.
 */
struct dune_regs {
	__u64 rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
	__u64 r8, r9, r10, r11, r12, r13, r14, r15;
	__u64 rip, rflags;
};

/* Why DUNE_ENTER returned to host mode (dune_config.ret). */
enum dune_ret {
	DUNE_RET_NONE = 0,
	DUNE_RET_EXIT = 1,		/* the guest called exit/exit_group */
	DUNE_RET_SYSCALL = 2,		/* a call that needs host mode: run it, re-enter */
	DUNE_RET_SIGNAL = 3,		/* host work is pending (status says which,
					 * enum dune_signal_why): return to user
					 * mode so the kernel does it, re-enter */
	DUNE_RET_NESTED_FAULT = 4,	/* guest-physical address outside the process */
	DUNE_RET_UNHANDLED_EXIT = 5,	/* an exit dune refuses to emulate */
	DUNE_RET_TRIPLE_FAULT = 6,	/* the guest shut down */
	DUNE_RET_BAD_STATE = 7,		/* the CPU refused the guest state */
	DUNE_RET_SYSCALL_INTERRUPTED = 8, /* with DUNE_ENTER failing EINTR: a
					   * signal interrupted the guest's
					   * system call, which returns -EINTR
					   * (or is re-run: regs.rip is at the
					   * hypercall); status holds the
					   * kernel's -ERESTART* code */
};

/* DUNE_RET_SIGNAL: dune_config.status. */
enum dune_signal_why {
	DUNE_SIGNAL_PENDING = 0,	/* a signal: let the host deliver it */
	DUNE_SIGNAL_HOST_WORK = 1,	/* task work (e.g. the last close of a
					 * file the guest closed), run by the
					 * kernel on the way to user mode */
};

/*
 * DUNE_RET_NESTED_FAULT: dune_config.status holds the access, .info the
 * guest-physical address.
 */
#define DUNE_NPF_READ		(1U << 0)
#define DUNE_NPF_WRITE		(1U << 1)
#define DUNE_NPF_EXEC		(1U << 2)
#define DUNE_NPF_PRESENT	(1U << 3)	/* a translation existed */

/**
 * struct dune_config - DUNE_ENTER argument (in and out).
 * @regs:	in: where the guest starts or resumes; out: guest state at
 *		the return.
 * @cr3:	in, first entry of a thread only: guest page-table root (a
 *		guest-physical address).  Later the guest owns its CR3.
 * @fs_base:	in/out: guest FS base (resuming sets it, so a host-mode
 *		arch_prctl(ARCH_SET_FS) reaches the guest).
 * @gs_base:	in/out: guest GS base.
 * @ret:	out: enum dune_ret.
 * @status:	out: exit code for DUNE_RET_EXIT, syscall number for
 *		DUNE_RET_SYSCALL, the raw vendor exit code otherwise.
 * @info:	out: faulting guest-physical address, or the exit's extra info.
 * @reserved:	zero.
 */
struct dune_config {
	struct dune_regs regs;
	__u64 cr3;
	__u64 fs_base;
	__u64 gs_base;
	__u32 ret;
	__u32 reserved0;
	__s64 status;
	__u64 info;
	__u64 reserved[6];
};

/**
 * struct dune_layout - how guest-physical addresses map to the process.
 *
 * GPA = VA for VA < @base_limit; VAs in [@mmap_base, @mmap_base +
 * @map_size) appear at @gpa_map_base; VAs in [@stack_base, @stack_base +
 * @stack_size) at @gpa_stack_base.  @phys_limit is 1 << guest-physical bits.
 */
struct dune_layout {
	__u64 phys_limit;
	__u64 base_limit;
	__u64 mmap_base;
	__u64 map_size;
	__u64 gpa_map_base;
	__u64 stack_base;
	__u64 stack_size;
	__u64 gpa_stack_base;
	__u64 reserved[4];
};

/* Exit reasons counted in struct dune_stats (values are ABI). */
enum dune_exit_reason {
	DUNE_EXIT_NONE = 0,
	DUNE_EXIT_HYPERCALL = 1,	/* VMCALL / VMMCALL */
	DUNE_EXIT_NESTED_FAULT = 2,	/* EPT violation / nested page fault */
	DUNE_EXIT_EXTINT = 3,		/* a host interrupt arrived */
	DUNE_EXIT_NMI = 4,		/* a host NMI arrived */
	DUNE_EXIT_EXCEPTION = 5,	/* an intercepted exception */
	DUNE_EXIT_TRIPLE_FAULT = 6,
	DUNE_EXIT_CPUID = 7,
	DUNE_EXIT_HLT = 8,
	DUNE_EXIT_IO = 9,
	DUNE_EXIT_MSR_READ = 10,
	DUNE_EXIT_MSR_WRITE = 11,
	DUNE_EXIT_XSETBV = 12,
	DUNE_EXIT_PRIV_INSN = 13,	/* VMX/SVM insns, INVD, WBINVD, RDPMC, MWAIT... */
	DUNE_EXIT_CR_ACCESS = 14,
	DUNE_EXIT_DR_ACCESS = 15,
	DUNE_EXIT_INVALID_STATE = 16,	/* the CPU refused the guest state */
	DUNE_EXIT_OTHER = 17,
	DUNE_EXIT_IRQ_WINDOW = 18,	/* the guest can take an interrupt now */
	DUNE_EXIT_NR
};

#define DUNE_STATS_MAX_EXITS	32

/**
 * struct dune_stats - DUNE_GET_STATS: counters of the calling thread's vCPU.
 * @exits:	VM exits by enum dune_exit_reason.
 * @nested_pages: 4K pages the nested page table maps now (a 2M leaf counts 512).
 * @entries:	guest entries (one per run of the hardware).
 * @returns:	returns to host user mode (DUNE_ENTER completions).
 * @syscalls_kernel: guest system calls run in the kernel directly.
 * @syscalls_host: guest system calls handed to libdune for host mode.
 * @reflected:	exits caused by ring-3 guest code that dune does not serve
 *		from ring 3 (a hypercall, VMX/SVM instructions, port I/O...):
 *		each was delivered to the guest's own IDT as the exception the
 *		instruction raises without a hypervisor (#UD or #GP).
 * @host_work:	returns to host user mode (DUNE_RET_SIGNAL with
 *		DUNE_SIGNAL_HOST_WORK) so the kernel could run task work.
 * @irqs:	interrupts (DUNE_SEND_IPI vectors) delivered to this vCPU.
 */
struct dune_stats {
	__u64 exits[DUNE_STATS_MAX_EXITS];
	__u64 nested_pages;
	__u64 entries;
	__u64 returns;
	__u64 syscalls_kernel;
	__u64 syscalls_host;
	__u64 reflected;
	__u64 host_work;
	__u64 irqs;
};

/*
 * DUNE_ENTER returning DUNE_RET_SYSCALL for exit or exit_group, to a
 * process that nothing else shares its memory with and whose system calls
 * nothing observes (seccomp, ptrace, user dispatch), ends the VM: the
 * caller is expected to make that call, and a DUNE_ENTER after it fails
 * with ESHUTDOWN.  So does one after a return with SIGKILL pending.
 */
#define DUNE_ENTER		_IOWR(DUNE_IOC_MAGIC, 0x01, struct dune_config)
#define DUNE_GET_LAYOUT		_IOR(DUNE_IOC_MAGIC, 0x02, struct dune_layout)
#define DUNE_GET_STATS		_IOR(DUNE_IOC_MAGIC, 0x03, struct dune_stats)

/**
 * struct dune_process_stats - DUNE_GET_PROCESS_STATS: the counters of
 * every vCPU of the process that opened the file, summed: those of its
 * live threads and those of threads that have ended.
 * @sum:	the sum (@sum.nested_pages: the process's nested pages now).
 * @vcpus:	vCPUs counted (each thread that entered Dune mode).
 * @live:	of them, vCPUs whose thread has not ended.
 */
struct dune_process_stats {
	struct dune_stats sum;
	__u64 vcpus;
	__u64 live;
};

#define DUNE_GET_PROCESS_STATS	_IOR(DUNE_IOC_MAGIC, 0x06, struct dune_process_stats)

/* The lowest vector DUNE_SEND_IPI sends: 0-31 are the CPU's exceptions. */
#define DUNE_IPI_MIN_VECTOR	32

/**
 * struct dune_ipi - DUNE_SEND_IPI: an interrupt to another vCPU of this
 * process.
 * @dest:	the target vCPU: the thread id (gettid()) of a thread of the
 *		calling process that entered Dune mode through the same
 *		/dev/dune file.  Else ESRCH.
 * @vector:	DUNE_IPI_MIN_VECTOR..255, else EINVAL.  The target takes it
 *		through its IDT as an external interrupt when its RFLAGS.IF is
 *		set, at its next entry or after a forced exit if it is in the
 *		guest.  Pending vectors are a bitmap, as a local APIC's IRR:
 *		the same vector sent twice before the target took it is taken
 *		once; higher vectors go first.
 * @reserved:	must be zero, else EINVAL.
 *
 * Callable in host mode or from the guest (libdune's system calls reach
 * the kernel in one exit).  The caller need not be in Dune mode itself,
 * but must be of the process that entered through this file (EBADFD).
 */
struct dune_ipi {
	__u32 dest;
	__u32 vector;
	__u64 reserved[2];
};

#define DUNE_SEND_IPI		_IOW(DUNE_IOC_MAGIC, 0x04, struct dune_ipi)

/* Bits of dune_vma.flags: the mapping's rights and nature. */
#define DUNE_VMA_READ		(1U << 0)
#define DUNE_VMA_WRITE		(1U << 1)
#define DUNE_VMA_EXEC		(1U << 2)
#define DUNE_VMA_SHARED		(1U << 3)
#define DUNE_VMA_PFNMAP		(1U << 4)	/* no struct pages behind it (VM_PFNMAP, VM_IO) */

/* What a mapping is, as /proc/self/maps names it (values are ABI). */
enum dune_vma_kind {
	DUNE_VMA_ANON = 0,
	DUNE_VMA_FILE = 1,
	DUNE_VMA_HEAP = 2,	/* [heap] */
	DUNE_VMA_STACK = 3,	/* [stack] */
	DUNE_VMA_VDSO = 4,	/* [vdso] */
	DUNE_VMA_VVAR = 5,	/* [vvar], [vvar_vclock] */
	DUNE_VMA_SPECIAL = 6,	/* another kernel-named mapping ([uprobes]...) */
};

/**
 * struct dune_vma - one mapping of the calling process.
 * @start:	first address.
 * @end:	one past the last.
 * @offset:	file offset of @start (0 for anonymous memory).
 * @flags:	DUNE_VMA_* bits.
 * @kind:	enum dune_vma_kind.
 */
struct dune_vma {
	__u64 start;
	__u64 end;
	__u64 offset;
	__u32 flags;
	__u32 kind;
};

/* The most entries one DUNE_GET_VMAS fills. */
#define DUNE_VMAS_MAX		1024

/**
 * struct dune_vmas - DUNE_GET_VMAS: the calling process's mappings, as
 * /proc/self/maps shows them but binary and without the text (no
 * vsyscall page: it is no mapping of the process).
 * @addr:	in: list the mappings that end above this address.
 * @buf:	in: user address of room for @nr struct dune_vma.
 * @nr:		in: 1..DUNE_VMAS_MAX, else EINVAL; out: entries written.
 * @reserved0:	must be zero, else EINVAL.
 * @next:	out: where to go on (as @addr) when @buf was filled and more
 *		mappings follow; 0 when the last one was written.
 * @reserved:	must be zero, else EINVAL.
 *
 * One call from the guest costs one exit; reading /proc/self/maps costs
 * an open, reads and a close, and the kernel formats every line.  The
 * mappings can change right after the call, as with the file.  Callable
 * in host mode or from the guest, through any /dev/dune file.
 */
struct dune_vmas {
	__u64 addr;
	__u64 buf;
	__u32 nr;
	__u32 reserved0;
	__u64 next;
	__u64 reserved[2];
};

#define DUNE_GET_VMAS		_IOWR(DUNE_IOC_MAGIC, 0x05, struct dune_vmas)

#endif /* _UAPI_DUNE_H */
