/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _DUNE_VM_H
#define _DUNE_VM_H

#include "layout.h"
#include "vcpu.h"

struct dune_vm *dune_vm_create(void);
void dune_vm_put(struct dune_vm *vm);
int dune_vm_fault(struct dune_vm *vm, u64 gpa, u32 npf_flags);
void dune_vm_note_cpu(struct dune_vm *vm, int cpu);

#endif /* _DUNE_VM_H */
