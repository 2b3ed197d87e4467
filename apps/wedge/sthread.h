/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sthreads: privilege-separated compartments in one Dune process, after
 * Wedge (Bittau et al., NSDI 2008) and the Dune paper's section 5.2.
 *
 * An sthread runs a function in guest ring 3 on its own page-table root,
 * a clone of libdune's pgroot in which the only user-accessible pages are
 *  - the program's read-only file mappings (code, constants), read-only;
 *  - its own stack and a private copy of the creator's TLS pages;
 *  - the tagged regions its policy grants, read-only or read-write.
 * Everything else (globals, heap, other tags, libdune's state) is
 * supervisor-only in its tree, so a ring-3 access faults.  A fault ends the
 * sthread and is reported to its creator by sthread_join(); the process
 * goes on.  System calls are limited to read/write on granted descriptors
 * with buffers the sthread's own tree lets it access.
 *
 * Sthreads run synchronously on the creator's kernel thread: creating one
 * runs its function to completion (or to its fault); sthread_call() runs
 * another function in an existing sthread, on the same tree.
 */
#ifndef WEDGE_STHREAD_H
#define WEDGE_STHREAD_H

#include <stddef.h>
#include <stdint.h>

#define STHREAD_MAX_MEM	16
#define STHREAD_MAX_FD	8

/* A tagged memory region (page-aligned, from mmap). */
typedef struct tag {
	void *base;
	size_t len;
} tag_t;

/* An sthread's policy: which tags it may read or write, which fds. */
typedef struct sc {
	int n_mem;
	struct {
		const tag_t *tag;
		int prot;	/* PROT_READ or PROT_READ | PROT_WRITE */
	} mem[STHREAD_MAX_MEM];
	int n_fd;
	struct {
		int fd;
		int prot;	/* PROT_READ: read(2), PROT_WRITE: write(2) */
	} fd[STHREAD_MAX_FD];
} sc_t;

/* What ended an sthread that did not return. */
enum sthread_end {
	STHREAD_RETURNED = 0,
	STHREAD_FAULT,		/* page fault: addr, fec, rip */
	STHREAD_TRAP,		/* another exception (e.g. #GP, #UD): vector */
};

struct sthread_fault {
	int kind;		/* enum sthread_end */
	int vector;
	uintptr_t addr;		/* faulting address (page faults) */
	uint64_t fec;		/* page-fault error code */
	uintptr_t rip;
};

typedef long (*stcb_t)(void *arg);
typedef struct sthread sthread_t;

/* After dune_init_and_enter(): installs the handlers, notes the program's
 * read-only mappings.  0 or a negative errno. */
int sthread_init(void);

int tag_new(tag_t *tag, size_t len);
void tag_delete(tag_t *tag);

void sc_init(sc_t *sc);
int sc_mem_add(sc_t *sc, const tag_t *tag, int prot);
int sc_fd_add(sc_t *sc, int fd, int prot);

/* Build an sthread with policy @sc and run cb(arg) in it.  0 (see
 * sthread_join for how it ended) or a negative errno (not created). */
int sthread_create(sthread_t **out, const sc_t *sc, stcb_t cb, void *arg);
/* Run cb(arg) in live sthread @st: 0 and *ret, -EFAULT/-EPERM if it
 * faulted now (@f filled; @st is then dead), -ESRCH if already dead. */
int sthread_call(sthread_t *st, stcb_t cb, void *arg, long *ret, struct sthread_fault *f);
/* Reap @st: 0 with *ret its last return value, or -EFAULT (page fault) /
 * -EPERM (other trap) with @f saying where.  Frees @st. */
int sthread_join(sthread_t *st, long *ret, struct sthread_fault *f);

/* Raw system calls for sthread code: libc's wrappers write errno, which is
 * not the sthread's to write (its TLS is a private copy, but keep it lean). */
long st_read(int fd, void *buf, size_t len);
long st_write(int fd, const void *buf, size_t len);

#endif /* WEDGE_STHREAD_H */
