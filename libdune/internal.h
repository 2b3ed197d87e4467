/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libdune's internal interfaces between its files. */
#ifndef DUNE_INTERNAL_H
#define DUNE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

#include <dune/dune.h>

#define DUNE_CLONE_VM	0x00000100UL	/* <linux/sched.h>, which clashes with <sched.h> */

extern int dune_fd;
extern struct dune_info dune_info_cache;
extern struct dune_layout dune_layout_cache;

/* page.c: the page pool (@npages pages reserved, touched lazily). */
int dune_page_init(size_t npages);
/* page.c: the @i-th place for a pool of @len bytes at va == gpa, or 0. */
uintptr_t dune_pool_identity_addr(const struct dune_layout *l, size_t len, unsigned int i);

/* procmap.c: the walk of /proc/self/maps that libdune itself uses. */
typedef int (*dune_procmap_fn)(const struct dune_procmap_entry *e, void *arg);
int dune_procmap_scan(dune_procmap_fn fn, void *arg);
/* vmas.c: the same through the module's DUNE_GET_VMAS (no paths), which
 * falls back to dune_procmap_scan; one of its entries as a procmap one. */
int dune_vmas_scan(dune_procmap_fn fn, void *arg);
void dune_vma_entry(const struct dune_vma *v, struct dune_procmap_entry *e);

/* page.c, vm.c: a fork child starts over with unlocked locks (another
 * thread of the parent may have held them at the fork). */
void dune_page_after_fork(void);
/* page.c: the pool pages that hold page tables (vm.c marks them); a fork
 * child that keeps the guest tables copies them at once. */
void dune_page_mark_table(struct page *pg);
bool dune_page_is_table(struct page *pg);
void dune_page_populate_tables(void);
void dune_vm_after_fork(void);
/* fullmap.c: the same for its lock; what it read of /proc/self/maps is
 * the parent's. */
void dune_full_map_after_fork(void);
/* page.c: bytes from dune_page_base_va: the pool, then its pages[]. */
extern size_t dune_pool_map_len;

/* vm.c: after DUNE_GET_LAYOUT: pool, pgroot, and the process's mappings
 * mirrored into pgroot; *@pool_done gets the time stamp after the pool. */
int dune_vm_init(uint64_t *pool_done);
/* Map the 4K page holding @va to its own guest-physical mirror in pgroot
 * (demand paging of process memory); -EFAULT if it has none. */
int dune_vm_map_mirror(uintptr_t va);
/* The same in pgroot with the host mapping's rights: writable only if @w,
 * no-execute unless @x (fullmap.c). */
int dune_vm_map_mirror_rights(uintptr_t va, bool w, bool x);
/* Is pgroot's leaf for @va a read-only mirror (not COW)?  Then, with
 * @make_writable, make it writable (the host's mapping is now). */
bool dune_vm_mirror_ro(uintptr_t va, bool make_writable);
/* fullmap.c: dune_init(true)'s demand fault on ordinary process memory,
 * resolved before the program's handler; false if it is not one. */
bool dune_full_map_fault(uintptr_t addr, uint64_t fec);
/* Map [p, p + len) to its mirror now (memory the CPU itself uses: GDT,
 * TSS, IDT, trap stacks, which must never take a page fault). */
int dune_vm_map_mirror_range(const void *p, size_t len);

/*
 * A raw system call: no errno, no cancellation point, no locks, no vector
 * registers (trap handlers use it).  In guest ring 0 SYSCALL goes to the
 * hypercall; in host mode it is the real one.
 */
static inline long dune_raw_syscall(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ __volatile__("syscall" : "=a"(ret)
			     : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			     : "rcx", "r11", "memory");
	return ret;
}

/*
 * dune_passthrough_syscall() refuses (ENOSYS) a clone-family call from a
 * trap frame whose child would share the memory or get its own stack:
 * such a child would go on in host mode on that stack, in the middle of
 * the ring-0 handler that made the call, and crash.  A program's
 * pthread_create (glibc tries clone3 first and falls back to clone on
 * ENOSYS) then reaches the monitor's own thread code, as in the original
 * sandbox.  fork and clone without CLONE_VM or a stack go through.
 */
static inline bool dune_passthrough_refused(unsigned long nr, unsigned long a0,
					    unsigned long a1)
{
	switch (nr) {
	case SYS_clone3:
	case SYS_vfork:
		return true;
	case SYS_clone:		/* flags, new stack */
		return (a0 & DUNE_CLONE_VM) || a1;
	}
	return false;
}

/* vm.c: the page-table root in CR3 (a clone of pgroot, maybe); pgroot
 * outside ring 0. */
ptent_t *dune_vm_current_root(void);
/* vm.c: what libdune itself can do about a page fault (demand paging,
 * copy-on-write); 0 when resolved, -1 when the fault is the program's. */
int dune_vm_resolve_fault(uintptr_t addr, uint64_t fec);

/* entry.c: dune_init(map_full): true makes ring-0 demand faults on ordinary
 * process memory libdune's alone, not the program's handler's (fullmap.c). */
extern bool dune_map_full;

/* util.c: end the process by @sig (its default action). */
void dune_die_signal(int sig) __attribute__((noreturn));

/* entry.c: the calling thread's guest signals (dune_signal). */
bool dune_thread_in_guest(void);
bool dune_process_entered(void);
void dune_signals_entered(void);	/* trap.c */
void dune_sig_mark_pending(int sig);
uint64_t dune_sig_take_pending(void);

/* entry.c / trap.c */
void dune_guest_boot(void);
void dune_trap_init(void);
long dune_hypercall_write(int fd, const void *buf, unsigned long len);

#endif /* DUNE_INTERNAL_H */
