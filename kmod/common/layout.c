// SPDX-License-Identifier: GPL-2.0
/*
 * The guest-physical space is smaller than the user address space, so, as
 * the original Dune did, the low part is mapped 1:1 and two windows near
 * the top of the guest-physical space carry the mmap area and the stack
 * (both 1 GiB aligned).  Pure logic, unit-tested in user space.
 */
#include "layout.h"

#define GPA_STACK_SIZE	(1ULL << 30)
#define GPA_MAP_SIZE	((1ULL << 36) - GPA_STACK_SIZE)
#define GIB_ALIGN(x)	(((x) + (1ULL << 30) - 1) & ~((1ULL << 30) - 1))

/**
 * dune_layout_init - the layout for a process.
 * @l:		the layout to fill.
 * @mmap_base:	the top of its mmap area (mm->mmap_base).
 * @start_stack: its initial stack pointer (mm->start_stack).
 * @phys_bits:	guest-physical address width.
 */
void dune_layout_init(struct dune_layout *l, u64 mmap_base, u64 start_stack, u32 phys_bits)
{
	*l = (struct dune_layout){ 0 };
	l->phys_limit = 1ULL << phys_bits;
	l->gpa_stack_base = l->phys_limit - GPA_STACK_SIZE;
	l->gpa_map_base = l->gpa_stack_base - GPA_MAP_SIZE;
	l->base_limit = l->gpa_map_base;
	l->map_size = GPA_MAP_SIZE;
	l->mmap_base = GIB_ALIGN(mmap_base) - GPA_MAP_SIZE;
	l->stack_size = GPA_STACK_SIZE;
	l->stack_base = GIB_ALIGN(start_stack) - GPA_STACK_SIZE;
}

static int in_window(u64 x, u64 base, u64 size)
{
	return x >= base && x - base < size;
}

/* The process address of @gpa, or 0 when it maps nowhere. */
u64 dune_gpa_to_hva(const struct dune_layout *l, u64 gpa)
{
	if (gpa < l->base_limit)
		return gpa;
	if (in_window(gpa, l->gpa_map_base, l->map_size))
		return gpa - l->gpa_map_base + l->mmap_base;
	if (in_window(gpa, l->gpa_stack_base, l->stack_size))
		return gpa - l->gpa_stack_base + l->stack_base;
	return 0;
}

/*
 * The guest-physical address of @hva, or ~0 when it has none.  The windows
 * win over the 1:1 part, as in libdune's dune_va_to_pa().
 */
u64 dune_hva_to_gpa(const struct dune_layout *l, u64 hva)
{
	if (in_window(hva, l->mmap_base, l->map_size))
		return hva - l->mmap_base + l->gpa_map_base;
	if (in_window(hva, l->stack_base, l->stack_size))
		return hva - l->stack_base + l->gpa_stack_base;
	if (hva < l->base_limit)
		return hva;
	return ~0ULL;
}
