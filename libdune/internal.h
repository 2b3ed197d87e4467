/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef DUNE_INTERNAL_H
#define DUNE_INTERNAL_H

#include <stdint.h>

#include <dune/dune.h>

/* x86-64 paging bits (SDM Vol. 3A, 4.5). */
#define PTE_P		0x001ULL
#define PTE_W		0x002ULL
#define PTE_U		0x004ULL
#define PTE_A		0x020ULL
#define PTE_D		0x040ULL
#define PTE_NX		(1ULL << 63)
#define PTE_ADDR_MASK	0x000ffffffffff000ULL
#define PGSIZE		4096UL

struct dune_tf {
	uint64_t rax, rbx, rcx, rdx, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t vector, err;
	uint64_t rip, cs, rflags, rsp, ss;
};

extern int dune_fd;
extern struct dune_info dune_info_cache;
extern struct dune_layout dune_layout_cache;
extern uint64_t *dune_pgroot;

int dune_vm_init(void);
int dune_map_page(uintptr_t va, uint64_t perm);
void dune_guest_boot(void);
void dune_trap(struct dune_tf *tf);
long dune_hypercall_write(int fd, const void *buf, unsigned long len);

#endif /* DUNE_INTERNAL_H */
