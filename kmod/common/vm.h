/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _DUNE_VM_H
#define _DUNE_VM_H

#include "layout.h"
#include "vcpu.h"

struct dune_vm *dune_vm_create(void);
void dune_vm_put(struct dune_vm *vm);
void dune_vm_retire(struct dune_vm *vm);
int dune_vm_fault(struct dune_vm *vm, u64 gpa, u32 npf_flags);
void dune_vm_note_cpu(struct dune_vm *vm, int cpu);
bool dune_vm_must_retry(struct dune_vm *vm, unsigned long seq, u64 hva, u64 len);

/* vm_huge.c: 2M nested pages and fault-around. */
#define DUNE_FAULT_AROUND	16	/* pages: 64K, the kernel's fault_around_bytes */

struct vm_fault_around {
	int n;
	u64 gpa[DUNE_FAULT_AROUND];
	struct page *page[DUNE_FAULT_AROUND];
};

bool dune_vm_map_huge(struct dune_vm *vm, u64 gpa, u64 hva, unsigned long pfn,
		      unsigned int prot, u64 vma_start, u64 vma_end, unsigned long seq);
void dune_vm_fault_around_get(struct dune_vm *vm, struct vm_fault_around *fa, u64 gpa,
			      u64 hva, unsigned int prot, u64 vma_start, u64 vma_end);
void dune_vm_fault_around_put(struct vm_fault_around *fa);

#endif /* _DUNE_VM_H */
