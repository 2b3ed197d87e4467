/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _DUNE_NPT_H
#define _DUNE_NPT_H

#include "vcpu.h"

/* Permissions of a nested leaf. */
#define DUNE_NPT_R	(1U << 0)
#define DUNE_NPT_W	(1U << 1)
#define DUNE_NPT_X	(1U << 2)

int dune_npt_alloc_root(struct dune_vm *vm);
int dune_npt_map(struct dune_vm *vm, u64 gpa, u64 hpa, unsigned int prot, int level);
void dune_npt_fill(struct dune_vm *vm, u64 anchor, const u64 *gpa, struct page *const *pages,
		   int n, unsigned int prot);
unsigned long dune_npt_unmap_range(struct dune_vm *vm, u64 gpa_start, u64 gpa_end);
void dune_npt_free(struct dune_vm *vm);

#endif /* _DUNE_NPT_H */
