/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdune: run this process in Dune mode (guest ring 0 of a hardware VM)
 * and use privileged CPU features from it.
 *
 * The API is the original libdune's (project-dune/dune, libdune/dune.h):
 * same names, types, macros and semantics, so a Dune program builds with
 * only its include path changed.  Differences, all additions:
 *  - errors are negative errno values where the original returned -1/-EINVAL;
 *  - dune_pa_to_va(), dune_vm_clear_ad(), dune_page_stats_get(),
 *    dune_get_stats(), dune_get_process_stats() and dune_get_host_stats()
 *    are new;
 *  - PAGEBASE is where the page pool lies in guest-physical memory, chosen
 *    at dune_init() (the original fixed it at 0x200000000);
 *  - dune_fpu_save*() save only what struct fpu_area holds (x87, SSE,
 *    AVX), where the original's mask -1 overran it on AVX-512 CPUs.
 * The same binary runs on Intel (VT-x) and AMD (AMD-V) hosts.
 */
#ifndef DUNE_DUNE_H
#define DUNE_DUNE_H

#include <elf.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "info.h"
#include "mmu.h"
#include "cpu-x86.h"
#include "fpu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ utilities */

typedef void (*sighandler_t)(int);

static inline unsigned long dune_get_ticks(void)
{
	unsigned int a, d;

	__asm__ __volatile__("rdtsc" : "=a"(a), "=d"(d));
	return (unsigned long)a | ((unsigned long)d << 32);
}

/* printf that works in any context of Dune mode (trap handlers included):
 * formats into a stack buffer and writes it with one system call. */
int dune_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* End the process at once (exit_group(EXIT_FAILURE) after a message). */
void dune_die(void) __attribute__((noreturn));
/* mmap() whose result is also mapped in the guest page tables (pgroot). */
void *dune_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset);
/* Install @cb for @sig: as signal(), and as the guest vector
 * DUNE_SIGNAL_INTR_BASE + @sig.  Returns NULL, or SIG_ERR. */
sighandler_t dune_signal(int sig, sighandler_t cb);
/* FS base of ring-3 code (dune_jump_to_user); for ring-0 handlers. */
unsigned long dune_get_user_fs(void);
void dune_set_user_fs(unsigned long fs_base);

#ifndef assert
#define assert(expr)							\
	do {								\
		if (!(expr)) {						\
			dune_printf("ASSERT(" #expr ") at %s:%d in function %s\n", \
				    __FILE__, __LINE__, __func__);	\
			dune_die();					\
		}							\
	} while (0)
#endif

/* --------------------------------------------------------- fault handling */

/*
 * The guest GDT has Linux's layout, as in the original, so SYSCALL/SYSRET
 * selectors work: kernel code/data, user data/code, then the TSS.
 */
#define GD_KT		0x10
#define GD_KD		0x18
#define GD_UD		0x28
#define GD_UT		0x30
#define GD_TSS		0x38
#define GD_TSS2		0x40
#define NR_GDT_ENTRIES	9

/* A trap frame: registers at an exception, interrupt or ring-3 syscall. */
struct dune_tf {
	/* manually saved, arguments */
	uint64_t rdi;
	uint64_t rsi;
	uint64_t rdx;
	uint64_t rcx;
	uint64_t r8;
	uint64_t r9;
	uint64_t r10;
	uint64_t r11;

	/* callee-saved */
	uint64_t rbx;
	uint64_t rbp;
	uint64_t r12;
	uint64_t r13;
	uint64_t r14;
	uint64_t r15;

	/* system call number, return value */
	uint64_t rax;

	/* exception frame */
	uint32_t err;
	uint32_t pad1;
	uint64_t rip;
	uint16_t cs;
	uint16_t pad2[3];
	uint64_t rflags;
	uint64_t rsp;
	uint16_t ss;
	uint16_t pad3[3];
} __attribute__((packed));

/* System call arguments of a ring-3 SYSCALL (the entry moves r10 to rcx). */
#define ARG0(tf)	((tf)->rdi)
#define ARG1(tf)	((tf)->rsi)
#define ARG2(tf)	((tf)->rdx)
#define ARG3(tf)	((tf)->rcx)
#define ARG4(tf)	((tf)->r8)
#define ARG5(tf)	((tf)->r9)

typedef void (*dune_intr_cb)(struct dune_tf *tf);
typedef void (*dune_pgflt_cb)(uintptr_t addr, uint64_t fec, struct dune_tf *tf);
typedef void (*dune_syscall_cb)(struct dune_tf *tf);

/* Signals reach the guest as these vectors (DUNE_SIGNAL_INTR_BASE + signo);
 * vector 199 is libdune's own (it runs signals that wait for the guest). */
#define DUNE_SIGNAL_INTR_BASE	200

/* Handler for vector @vec (0..255); a registered handler also replaces
 * libdune's own for that vector (e.g. demand paging on T_PGFLT).
 * Returns 0 or -EINVAL. */
int dune_register_intr_handler(int vec, dune_intr_cb cb);
int dune_register_signal_handler(int signum, dune_intr_cb cb);
void dune_register_pgflt_handler(dune_pgflt_cb cb);
/* Handler for SYSCALL from ring 3 (ring-0 code's system calls always go to
 * the host kernel). */
void dune_register_syscall_handler(dune_syscall_cb cb);

/* Load @tf's registers and iretq to it. */
void dune_pop_trap_frame(struct dune_tf *tf) __attribute__((noreturn));
/* Run @tf at ring 3 (its cs/ss are set to the user selectors) until a
 * handler calls dune_ret_from_user(ret); returns ret. */
int dune_jump_to_user(struct dune_tf *tf);
void dune_ret_from_user(int ret) __attribute__((noreturn));
void dune_dump_trap_frame(struct dune_tf *tf);
/* Inside a trap or system-call handler: the extended state (x87, SSE,
 * AVX...) of the context its @tf describes, which the return restores
 * (XSAVE layout, or FXSAVE without XSAVE).  New in this libdune. */
void *dune_tf_xstate(const struct dune_tf *tf, size_t *size);
/* A guest system call interrupted by a host signal whose handler is not
 * libdune's returns the kernel's -ERESTART* code (-512..-516) instead of
 * -EINTR, for code that delivers signals itself and applies SA_RESTART
 * (dune-sandbox).  Off by default.  New in this libdune. */
void dune_report_restart_codes(bool on);
/* Run @tf's system call (rax, args in rdi rsi rdx r10 r8 r9 as SYSCALL
 * left them) on the host kernel; the result goes to tf->rax. */
void dune_passthrough_syscall(struct dune_tf *tf);

/* -------------------------------------------------------- page allocation */

SLIST_HEAD(page_head, page);
typedef SLIST_ENTRY(page) page_entry_t;

struct page {
	page_entry_t link;
	uint64_t ref;
};

extern struct page *pages;
extern int num_pages;
extern uintptr_t dune_page_base;	/* guest-physical address of page 0 */
extern uintptr_t dune_page_base_va;	/* its address in the process */

#define PAGEBASE	dune_page_base
#define MAX_PAGES	(1ul << 20)	/* 4 GiB: the most the pool may hold */

/* Pages for guest page tables and dune_vm_map_pages(); zeroed, refcount 1.
 * Thread-safe.  NULL when the pool is exhausted. */
struct page *dune_page_alloc(void);
void dune_page_free(struct page *pg);
void dune_page_stats(void);

struct dune_page_stats {
	uint64_t total;		/* pages in the pool */
	uint64_t free;		/* on the free list or never used */
	uint64_t allocs;	/* dune_page_alloc() successes */
	uint64_t frees;		/* pages returned */
};
void dune_page_stats_get(struct dune_page_stats *st);

static inline struct page *dune_pa2page(physaddr_t pa)
{
	return &pages[PPN(pa - PAGEBASE)];
}

static inline physaddr_t dune_page2pa(struct page *pg)
{
	return PAGEBASE + ((physaddr_t)(pg - pages) << PGSHIFT);
}

/* The page's memory, as seen by the process (host and guest alike). */
static inline void *dune_page2va(struct page *pg)
{
	return (void *)(dune_page_base_va + ((uintptr_t)(pg - pages) << PGSHIFT));
}

bool dune_page_isfrompool(physaddr_t pa);

static inline struct page *dune_page_get(struct page *pg)
{
	assert(pg >= pages);
	assert(pg < (pages + num_pages));
	__atomic_add_fetch(&pg->ref, 1, __ATOMIC_RELAXED);
	return pg;
}

static inline void dune_page_put(struct page *pg)
{
	assert(pg >= pages);
	assert(pg < (pages + num_pages));
	if (__atomic_sub_fetch(&pg->ref, 1, __ATOMIC_ACQ_REL) == 0)
		dune_page_free(pg);
}

/* --------------------------------------------------------- virtual memory */

/* The guest page-table root every Dune thread starts with (CR3). */
extern ptent_t *pgroot;
extern uintptr_t phys_limit;	/* 1 << guest-physical address bits */
extern uintptr_t mmap_base;	/* start of the mmap window of the layout */
extern uintptr_t stack_base;	/* start of the stack window */

/*
 * Guest-physical address of a process address: the module mirrors the
 * process's address space into guest-physical memory in three windows
 * (DUNE_GET_LAYOUT).  ~0 for an address with no guest-physical home.
 */
uintptr_t dune_va_to_pa(const void *ptr);
/* The process address of a guest-physical address (inverse), or ~0. */
uintptr_t dune_pa_to_va(physaddr_t pa);
uintptr_t dune_mmap_addr_to_pa(const void *ptr);
uintptr_t dune_stack_addr_to_pa(const void *ptr);

#define PERM_NONE	0	/* no access */
#define PERM_R		0x0001	/* read permission */
#define PERM_W		0x0002	/* write permission */
#define PERM_X		0x0004	/* execute permission */
#define PERM_U		0x0008	/* user-level permission */
#define PERM_UC		0x0010	/* make uncachable */
#define PERM_COW	0x0020	/* COW flag */
#define PERM_USR1	0x1000	/* user flag 1 */
#define PERM_USR2	0x2000	/* user flag 2 */
#define PERM_USR3	0x3000	/* user flag 3 */
#define PERM_BIG	0x0100	/* use large pages (2 MiB) */
#define PERM_BIG_1GB	0x0200	/* use large pages (1 GiB) */

#define PERM_SCODE	(PERM_R | PERM_X)
#define PERM_STEXT	(PERM_R | PERM_W)
#define PERM_SSTACK	PERM_STEXT
#define PERM_UCODE	(PERM_R | PERM_U | PERM_X)
#define PERM_UTEXT	(PERM_R | PERM_U | PERM_W)
#define PERM_USTACK	PERM_UTEXT

static inline void dune_flush_tlb_one(unsigned long addr)
{
	__asm__ __volatile__("invlpg (%0)" : : "r"(addr) : "memory");
}

static inline void dune_flush_tlb(void)
{
	unsigned long cr3;

	__asm__ __volatile__("mov %%cr3, %0\n\tmov %0, %%cr3" : "=r"(cr3) : : "memory");
}

#define CR3_NOFLUSH	(1UL << 63)
#define CR3_PCID_MASK	0xfffUL

/*
 * What load_cr3() writes for @cr3 under @cr4: without CR4.PCIDE, bit 63
 * is reserved (#GP; on QEMU the guest state is lost) and bits 0-11 are not
 * a PCID (3 and 4 are PWT and PCD) (SDM Vol. 3A 4.5, 4.10.4.1), so both go
 * and the load flushes the TLB, which is what a PCID switch without
 * PCIDs amounts to.  The original's wedge loads `root | CR3_NOFLUSH | id`
 * whatever the CPU has.
 */
static inline unsigned long dune_cr3_value(unsigned long cr3, unsigned long cr4)
{
	if (cr4 & CR4_PCIDE)
		return cr3;
	return cr3 & ~(CR3_NOFLUSH | CR3_PCID_MASK);
}

static inline void load_cr3(unsigned long cr3)
{
	unsigned long cr4;

	/* Reading CR4 never exits (VT-x: the read shadow; AMD-V: only CR4
	 * writes are intercepted). */
	__asm__ __volatile__("mov %%cr4, %0" : "=r"(cr4));
	cr3 = dune_cr3_value(cr3, cr4);
	__asm__ __volatile__("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

static inline void __invpcid(int mode, unsigned long addr)
{
	struct {
		unsigned long pcid, gva;
	} operand = { 1, addr };

	__asm__ __volatile__("invpcid (%%rax), %%rcx" : : "a"(&operand), "c"(mode) : "cc", "memory");
}

#define VA_START	((void *)0)
#define VA_END		((void *)-1)

enum {
	CREATE_NONE = 0,
	CREATE_NORMAL = 1,
	CREATE_BIG = 2,
	CREATE_BIG_1GB = 3,
};

/* All return 0 or a negative errno. */
int dune_vm_mprotect(ptent_t *root, void *va, size_t len, int perm);
int dune_vm_map_phys(ptent_t *root, void *va, size_t len, void *pa, int perm);
int dune_vm_map_pages(ptent_t *root, void *va, size_t len, int perm);
void dune_vm_unmap(ptent_t *root, void *va, size_t len);
int dune_vm_lookup(ptent_t *root, void *va, int create, ptent_t **pte_out);

int dune_vm_insert_page(ptent_t *root, void *va, struct page *pg, int perm);
struct page *dune_vm_lookup_page(ptent_t *root, void *va);

ptent_t *dune_vm_clone(ptent_t *root);
void dune_vm_free(ptent_t *root);
void dune_vm_default_pgflt_handler(uintptr_t addr, uint64_t fec);

typedef int (*page_walk_cb)(const void *arg, ptent_t *ptep, void *va);
/* Call @cb for every mapped leaf entry in [start_va, end_va] (PERM_NONE
 * leaves included: they keep their address with PTE_P clear), in address
 * order; stops at and returns the first non-zero return of @cb.  Runs
 * under the page-table lock: @cb must not call dune_vm_* itself. */
int dune_vm_page_walk(ptent_t *root, void *start_va, void *end_va,
		      page_walk_cb cb, const void *arg);

/* Clear PTE_A and/or PTE_D (@bits) on every leaf in [va, va + len); the
 * caller flushes the TLB.  Returns how many entries had a bit set. */
long dune_vm_clear_ad(ptent_t *root, void *va, size_t len, uint64_t bits);

/* ------------------------------------------------------ process memory maps */

#define PROCMAP_TYPE_UNKNOWN	0x00
#define PROCMAP_TYPE_FILE	0x01
#define PROCMAP_TYPE_ANONYMOUS	0x02
#define PROCMAP_TYPE_HEAP	0x03
#define PROCMAP_TYPE_STACK	0x04
#define PROCMAP_TYPE_VSYSCALL	0x05
#define PROCMAP_TYPE_VDSO	0x06
#define PROCMAP_TYPE_VVAR	0x07

struct dune_procmap_entry {
	uintptr_t begin;
	uintptr_t end;
	uint64_t offset;
	bool r;		/* readable */
	bool w;		/* writable */
	bool x;		/* executable */
	bool p;		/* private (else shared) */
	char *path;
	int type;
};

/* The entry and its path are valid only during the callback. */
typedef void (*dune_procmap_cb)(const struct dune_procmap_entry *);

void dune_procmap_iterate(dune_procmap_cb cb);
void dune_procmap_dump(void);
/* Same, over a maps file's text (for tests and other processes); returns
 * 0 or a negative errno (-EINVAL for a malformed line). */
int dune_procmap_iterate_text(const char *text, dune_procmap_cb cb);

/* ------------------------------------------------------------ ELF helpers */

struct dune_elf {
	int fd;
	unsigned char *mem;	/* the image; read-only after open */
	int len;
	Elf64_Ehdr hdr;
	Elf64_Phdr *phdr;
	Elf64_Shdr *shdr;
	char *shdrstr;
	void *priv;
	void *elf;	/* libelf's Elf handle */
};

typedef int (*dune_elf_phcb)(struct dune_elf *elf, Elf64_Phdr *phdr);
typedef int (*dune_elf_shcb)(struct dune_elf *elf, const char *sname, int snum, Elf64_Shdr *shdr);

/* Return 0 or a negative errno: -ENOEXEC for a file that is not a valid
 * x86-64 ELF (bad magic, class, machine, truncated or out-of-range
 * headers), -EIO/-ENOENT/... from the file system. */
int dune_elf_open(struct dune_elf *elf, const char *path);
/* @mem must stay alive and unchanged until dune_elf_close(). */
int dune_elf_open_mem(struct dune_elf *elf, void *mem, int len);
int dune_elf_close(struct dune_elf *elf);
int dune_elf_dump(struct dune_elf *elf);
int dune_elf_iter_sh(struct dune_elf *elf, dune_elf_shcb cb);
int dune_elf_iter_ph(struct dune_elf *elf, dune_elf_phcb cb);
/* Map segment @phdr at phdr->p_vaddr + @off (MAP_FIXED: it replaces what
 * was there) with its protections: its file bytes, then zeros up to
 * p_memsz.  A file's pages are mapped from the file, as in the original;
 * an image in memory is copied.  Nothing is mapped on error: -EINVAL for
 * a segment that is not PT_LOAD or an address range that wraps or covers
 * the image, -ENOEXEC for a bad file range, else mmap's error. */
int dune_elf_load_ph(struct dune_elf *elf, Elf64_Phdr *phdr, off_t off);

/* --------------------------------------------------------- entry routines */

/**
 * dune_init() - open /dev/dune and build the guest page tables.
 * @map_full: true, as in the original: a page-fault handler registered with
 *	      dune_register_pgflt_handler() never sees the first touch of
 *	      ordinary process memory (mapped readable or executable by the
 *	      host), now or mapped later: libdune maps it, with the host
 *	      mapping's rights.  false: the handler sees those faults too.
 *	      See docs/compat.md for how this differs from the original.
 *
 * Returns 0, or a negative errno (-ENOENT: module not loaded, ...).
 */
int dune_init(bool map_full);

/**
 * dune_enter() - move the calling thread into Dune mode.
 *
 * Returns 0, now running in guest ring 0, or a negative errno in host mode.
 * Each thread and each forked child calls it.  A child forked after
 * dune_init() keeps the parent's guest page tables (every dune_vm_* mapping,
 * with its user/supervisor and permission bits, as in the original): they
 * live in the page pool, private memory that fork copies, so later changes
 * on either side are not seen by the other.  The child gets its own
 * /dev/dune descriptor and nested tables, filled from its own memory only.
 * Only the thread that forked continues in the child.
 */
int dune_enter(void);

/** dune_init_and_enter() - dune_init(true) then dune_enter(). */
int dune_init_and_enter(void);

/** Counters kept by libdune's host-mode loop (for tests and benchmarks). */
struct dune_host_stats {
	uint64_t syscalls;	/* system calls passed to the host */
	uint64_t signals;	/* returns to host mode for a signal */
};
void dune_get_host_stats(struct dune_host_stats *out);

/*
 * Where this process's dune_init() and first dune_enter() spent their time:
 * time stamp counter values at each step (0: the step did not run), for
 * dune-bench's startup row.  @forked: dune_init kept the guest page tables
 * the process inherited from its parent at fork.
 */
struct dune_startup_stats {
	uint64_t init_start;	/* dune_init() called */
	uint64_t opened;	/* /dev/dune open, DUNE_GET_INFO/LAYOUT done */
	uint64_t pool;		/* page pool reserved */
	uint64_t tables;	/* guest page tables built (or kept) */
	uint64_t init_end;	/* dune_init() returns */
	uint64_t enter_start;	/* dune_enter() called */
	uint64_t percpu;	/* this thread's GDT, TSS, trap stacks ready */
	uint64_t entered;	/* running in guest ring 0, IDT and GDT loaded */
	bool forked;
};
void dune_get_startup_stats(struct dune_startup_stats *out);

/**
 * dune_get_stats() - the module's counters for the calling thread's vCPU:
 * VM exits by reason (DUNE_EXIT_*), entries, nested pages.  Returns 0 or a
 * negative errno.
 */
int dune_get_stats(struct dune_stats *st);

/**
 * dune_get_process_stats() - the same counters summed over every vCPU the
 * process has had (threads still running and threads that ended), with
 * how many there were.  Returns 0 or a negative errno (-ENOTTY: a module
 * older than the call).
 */
int dune_get_process_stats(struct dune_process_stats *ps);

/* ------------------------------------------ inter-processor interrupts */

/*
 * The original libdune's x2APIC API, on DUNE_SEND_IPI (docs/ipi.md).  A
 * vCPU's id is its thread's id (gettid()); dune_apic_init_rt_entry() in
 * libdune/local.h records it for the calling thread's CPU, which
 * dune_apic_id_for_cpu() looks up (*error set when @cpu has no entry).
 * dune_apic_send_ipi() sends @vector (32..255) to the vCPU @dest of this
 * process; the target's handler registered with
 * dune_register_intr_handler(@vector) runs when the target's guest has
 * interrupts on.  Returns 0, or -1 with errno (EINVAL: vector < 32; ESRCH:
 * no such vCPU in this process; EBADF: not initialized).  The original
 * returned void: callers that ignore the result compile unchanged.
 * dune_apic_eoi() does nothing: there is no APIC state to end.
 */
uint32_t dune_apic_id(void);
uint32_t dune_apic_id_for_cpu(uint32_t cpu, bool *error);
int dune_apic_send_ipi(uint8_t vector, uint32_t destination_apic_id);
void dune_apic_eoi(void);

#ifdef __cplusplus
}
#endif

#endif /* DUNE_DUNE_H */
