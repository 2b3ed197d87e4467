/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _DUNE_VM_H
#define _DUNE_VM_H

#include "vcpu.h"

void dune_layout_compute(struct dune_layout *l, struct mm_struct *mm, u32 phys_bits);
u64 dune_gpa_to_hva(const struct dune_layout *l, u64 gpa);
struct dune_vm *dune_vm_create(void);
void dune_vm_put(struct dune_vm *vm);
int dune_vm_fault(struct dune_vm *vm, u64 gpa, u32 npf_flags);
void dune_vm_note_cpu(struct dune_vm *vm, int cpu);

#endif /* _DUNE_VM_H */
