// SPDX-License-Identifier: GPL-2.0
/*
 * sthreads on libdune (sthread.h): one page-table root per sthread, ring 3,
 * faults turned into an error for the creator.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <asm/prctl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <dune/dune.h>

#include "sthread.h"

#define STACK_SIZE	(16 * PGSIZE)
#define SYS_STHREAD_EXIT 0x5e00		/* the exit trampoline's call number */
#define MAX_RANGES	64
#define TLS_PAGES_BELOW	2		/* static TLS lies below the TCB */
#define STACK_CACHE	16

struct sthread {
	ptent_t *root;
	uintptr_t cr3;
	void *stack;
	sc_t sc;
	int dead;
	long ret;
	struct sthread_fault fault;
};

struct range {
	uintptr_t start, end;
};

static struct range ro[MAX_RANGES], rd[MAX_RANGES];
static int n_ro, n_rd;
static uintptr_t tls_fs, root_cr3;
static struct sthread *current;
static void *stack_cache[STACK_CACHE];
static int n_stack_cache;

/* Where a returning sthread function goes: hand %rax to ring 0. */
extern char sthread_exit_tramp[];
__asm__(".text\n.globl sthread_exit_tramp\nsthread_exit_tramp:\n"
	"	mov %rax, %rdi\n	mov $0x5e00, %eax\n	syscall\n	ud2\n");

static long raw_syscall3(long nr, long a0, long a1, long a2)
{
	long r;

	__asm__ __volatile__("syscall" : "=a"(r) : "a"(nr), "D"(a0), "S"(a1), "d"(a2)
			     : "rcx", "r11", "memory");
	return r;
}

long st_read(int fd, void *buf, size_t len)
{
	return raw_syscall3(SYS_read, fd, (long)buf, (long)len);
}

long st_write(int fd, const void *buf, size_t len)
{
	return raw_syscall3(SYS_write, fd, (long)buf, (long)len);
}

/* ------------------------------------------------------------ traps */

static void __attribute__((noreturn)) end_sthread(int kind, int vec, uintptr_t addr,
						   uint64_t fec, uintptr_t rip)
{
	struct sthread *st = current;

	st->dead = 1;
	st->fault.kind = kind;
	st->fault.vector = vec;
	st->fault.addr = addr;
	st->fault.fec = fec;
	st->fault.rip = rip;
	dune_ret_from_user(kind == STHREAD_FAULT ? -EFAULT : -EPERM);
}

/* Is [p, p + len) accessible to the sthread, by its own tree? */
struct access_walk {
	uint64_t need;
	uintptr_t next;
};

static int access_cb(const void *arg, ptent_t *pte, void *va)
{
	struct access_walk *a = (struct access_walk *)arg;

	if ((*pte & a->need) != a->need || (uintptr_t)va != a->next)
		return 1;
	a->next += PGSIZE;
	return 0;
}

static bool may_access(struct sthread *st, uintptr_t p, size_t len, bool write)
{
	struct access_walk a = { PTE_P | PTE_U | (write ? PTE_W : 0), PGADDR(p) };

	if (!len)
		return true;
	if (p + len < p || p + len > 0x800000000000UL)
		return false;
	if (dune_vm_page_walk(st->root, (void *)p, (void *)(p + len - 1), access_cb, &a))
		return false;
	return a.next >= p + len;	/* no hole after the last leaf */
}

static bool fd_allowed(struct sthread *st, int fd, int prot)
{
	int i;

	for (i = 0; i < st->sc.n_fd; i++)
		if (st->sc.fd[i].fd == fd)
			return (st->sc.fd[i].prot & prot) == prot;
	return false;
}

static void on_syscall(struct dune_tf *tf)
{
	struct sthread *st = current;
	bool w = tf->rax == SYS_read;

	if (!st) {
		tf->rax = -ENOSYS;
		return;
	}
	switch (tf->rax) {
	case SYS_STHREAD_EXIT:
		st->ret = (long)ARG0(tf);
		dune_ret_from_user(0);
	case SYS_read:
	case SYS_write:
		/* The host kernel accesses the buffer through the process's own
		 * mappings: check it against the sthread's tree first. */
		if (!fd_allowed(st, (int)ARG0(tf), w ? PROT_READ : PROT_WRITE) ||
		    !may_access(st, ARG1(tf), ARG2(tf), w)) {
			tf->rax = -EPERM;
			return;
		}
		dune_passthrough_syscall(tf);
		return;
	default:
		tf->rax = -EPERM;
	}
}

/* A ring-0 touch of memory first used while an sthread's tree is loaded
 * (a handler's stack, say): map it in pgroot and copy the entry over. */
static void fill_from_pgroot(uintptr_t addr, uint64_t fec)
{
	ptent_t *src, *dst;

	load_cr3(root_cr3);
	dune_vm_default_pgflt_handler(addr, fec);
	if (dune_vm_lookup(pgroot, (void *)addr, CREATE_NONE, &src) ||
	    dune_vm_lookup(current->root, (void *)addr, CREATE_NORMAL, &dst)) {
		dune_printf("sthread: cannot map %#lx in the sthread's tree\n",
			    (unsigned long)addr);
		dune_die();
	}
	*dst = *src & ~PTE_U;
	load_cr3(current->cr3);
}

static void on_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	if (current && (fec & FEC_U))
		end_sthread(STHREAD_FAULT, T_PGFLT, addr, fec, tf->rip);
	if (current && !(fec & FEC_P)) {
		fill_from_pgroot(addr, fec);
		return;
	}
	dune_vm_default_pgflt_handler(addr, fec);
}

static void on_trap(struct dune_tf *tf, int vec)
{
	if (current && (tf->cs & 3))
		end_sthread(STHREAD_TRAP, vec, 0, 0, tf->rip);
	dune_printf("sthread: exception %d in ring 0\n", vec);
	dune_dump_trap_frame(tf);
	dune_die();
}

#define TRAP(name, vec) static void name(struct dune_tf *tf) { on_trap(tf, vec); }
TRAP(on_de, T_DIVIDE)
TRAP(on_bp, T_BRKPT)
TRAP(on_ud, T_ILLOP)
TRAP(on_gp, T_GPFLT)
TRAP(on_ss, T_STACK)
TRAP(on_ac, T_ALIGN)

/* ------------------------------------------------------------- setup */

static void note_map(const struct dune_procmap_entry *e)
{
	if (!e->r || e->type == PROCMAP_TYPE_VSYSCALL || e->type == PROCMAP_TYPE_VVAR ||
	    e->begin >= 0x800000000000UL)
		return;
	if (n_rd < MAX_RANGES)
		rd[n_rd++] = (struct range){ e->begin, e->end };
	if (!e->w && e->type == PROCMAP_TYPE_FILE && n_ro < MAX_RANGES)
		ro[n_ro++] = (struct range){ e->begin, e->end };
}

int sthread_init(void)
{
	uintptr_t cr3, va;
	int i;

	dune_procmap_iterate(note_map);
	if (!n_ro)
		return -ENOENT;
	/* Demand-map the read-only image in pgroot now, so clones have it. */
	for (i = 0; i < n_ro; i++)
		for (va = ro[i].start; va < ro[i].end; va += PGSIZE)
			(void)*(volatile char *)va;
	if (syscall(SYS_arch_prctl, ARCH_GET_FS, &tls_fs))
		return -errno;
	__asm__ __volatile__("mov %%cr3, %0" : "=r"(cr3));
	root_cr3 = cr3;
	dune_register_syscall_handler(on_syscall);
	dune_register_pgflt_handler(on_pgflt);
	dune_register_intr_handler(T_DIVIDE, on_de);
	dune_register_intr_handler(T_BRKPT, on_bp);
	dune_register_intr_handler(T_ILLOP, on_ud);
	dune_register_intr_handler(T_GPFLT, on_gp);
	dune_register_intr_handler(T_STACK, on_ss);
	dune_register_intr_handler(T_ALIGN, on_ac);
	return 0;
}

int tag_new(tag_t *tag, size_t len)
{
	len = (len + PGSIZE - 1) & ~(size_t)(PGSIZE - 1);
	tag->base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (tag->base == MAP_FAILED)
		return -errno;
	tag->len = len;
	memset(tag->base, 0, len);	/* in pgroot before any clone */
	return 0;
}

void tag_delete(tag_t *tag)
{
	munmap(tag->base, tag->len);
	tag->base = NULL;
	tag->len = 0;
}

void sc_init(sc_t *sc)
{
	memset(sc, 0, sizeof(*sc));
}

int sc_mem_add(sc_t *sc, const tag_t *tag, int prot)
{
	if (sc->n_mem == STHREAD_MAX_MEM)
		return -ENOSPC;
	if (!(prot & PROT_READ) || (prot & ~(PROT_READ | PROT_WRITE)))
		return -EINVAL;
	sc->mem[sc->n_mem].tag = tag;
	sc->mem[sc->n_mem++].prot = prot;
	return 0;
}

int sc_fd_add(sc_t *sc, int fd, int prot)
{
	if (sc->n_fd == STHREAD_MAX_FD)
		return -ENOSPC;
	sc->fd[sc->n_fd].fd = fd;
	sc->fd[sc->n_fd++].prot = prot;
	return 0;
}

/* ----------------------------------------------------- the sthread tree */

static int user_ro_cb(const void *arg, ptent_t *pte, void *va)
{
	if (*pte & PTE_P)
		*pte = (*pte | PTE_U) & ~PTE_W;
	return 0;
}

static bool readable(uintptr_t va)
{
	int i;

	for (i = 0; i < n_rd; i++)
		if (va >= rd[i].start && va + PGSIZE <= rd[i].end)
			return true;
	return false;
}

/* Private copies of the TLS pages around the TCB: libc code reads the
 * stack guard and may write errno there. */
static int copy_tls(ptent_t *root)
{
	uintptr_t va = PGADDR(tls_fs) - TLS_PAGES_BELOW * PGSIZE;
	struct page *pg;
	int r;

	for (; va <= PGADDR(tls_fs); va += PGSIZE) {
		if (!readable(va))
			continue;
		dune_vm_unmap(root, (void *)va, PGSIZE);
		r = dune_vm_map_pages(root, (void *)va, PGSIZE, PERM_R | PERM_W | PERM_U);
		if (r)
			return r;
		pg = dune_vm_lookup_page(root, (void *)va);
		if (!pg)
			return -EFAULT;
		memcpy(dune_page2va(pg), (void *)va, PGSIZE);
	}
	return 0;
}

static void *stack_get(void)
{
	void *s;

	if (n_stack_cache)
		return stack_cache[--n_stack_cache];
	s = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		return NULL;
	memset(s, 0, STACK_SIZE);	/* in pgroot before the clone */
	return s;
}

static void stack_put(void *s)
{
	if (n_stack_cache < STACK_CACHE) {
		/* The next sthread must not see this one's data. */
		memset(s, 0, STACK_SIZE);
		stack_cache[n_stack_cache++] = s;
	} else {
		munmap(s, STACK_SIZE);
	}
}

static int build(struct sthread *st)
{
	int i, r;

	st->stack = stack_get();
	if (!st->stack)
		return -ENOMEM;
	st->root = dune_vm_clone(pgroot);
	if (!st->root)
		return -ENOMEM;
	for (i = 0; i < n_ro; i++)
		dune_vm_page_walk(st->root, (void *)ro[i].start, (void *)(ro[i].end - 1),
				  user_ro_cb, NULL);
	r = dune_vm_mprotect(st->root, st->stack, STACK_SIZE, PERM_R | PERM_W | PERM_U);
	if (!r)
		r = copy_tls(st->root);
	for (i = 0; i < st->sc.n_mem && !r; i++) {
		const tag_t *t = st->sc.mem[i].tag;
		int perm = PERM_R | PERM_U | (st->sc.mem[i].prot & PROT_WRITE ? PERM_W : 0);

		r = dune_vm_mprotect(st->root, t->base, t->len, perm);
	}
	st->cr3 = dune_va_to_pa(st->root);
	return r;
}

static void destroy(struct sthread *st)
{
	if (st->root)
		dune_vm_free(st->root);
	if (st->stack)
		stack_put(st->stack);
	free(st);
}

static int run(struct sthread *st, stcb_t cb, void *arg)
{
	uint64_t *sp = (uint64_t *)((char *)st->stack + STACK_SIZE) - 1;
	struct dune_tf tf;
	int r;

	memset(&tf, 0, sizeof(tf));
	*sp = (uintptr_t)sthread_exit_tramp;	/* cb's return address */
	tf.rip = (uintptr_t)cb;
	tf.rsp = (uintptr_t)sp;
	tf.rflags = 0x2;
	tf.rdi = (uintptr_t)arg;
	dune_set_user_fs(tls_fs);
	current = st;
	load_cr3(st->cr3);	/* no PCID: the switch flushes the TLB */
	r = dune_jump_to_user(&tf);
	load_cr3(root_cr3);
	current = NULL;
	dune_set_user_fs(0);
	return r;
}

int sthread_create(sthread_t **out, const sc_t *sc, stcb_t cb, void *arg)
{
	struct sthread *st = calloc(1, sizeof(*st));
	int r;

	if (!st)
		return -ENOMEM;
	st->sc = *sc;
	r = build(st);
	if (r) {
		destroy(st);
		return r;
	}
	run(st, cb, arg);
	*out = st;
	return 0;
}

int sthread_call(sthread_t *st, stcb_t cb, void *arg, long *ret, struct sthread_fault *f)
{
	int r;

	if (st->dead)
		return -ESRCH;
	r = run(st, cb, arg);
	if (r) {
		if (f)
			*f = st->fault;
		return r;
	}
	if (ret)
		*ret = st->ret;
	return 0;
}

int sthread_join(sthread_t *st, long *ret, struct sthread_fault *f)
{
	int r = 0;

	if (st->dead) {
		r = st->fault.kind == STHREAD_FAULT ? -EFAULT : -EPERM;
		if (f)
			*f = st->fault;
	} else if (ret) {
		*ret = st->ret;
	}
	destroy(st);
	return r;
}
