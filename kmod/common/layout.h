/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest-physical layout of a Dune process (pure logic: also built in
 * user space for the unit tests).
 */
#ifndef _DUNE_LAYOUT_H
#define _DUNE_LAYOUT_H

#include "caps.h"

void dune_layout_init(struct dune_layout *l, u64 mmap_base, u64 start_stack, u32 phys_bits);
u64 dune_gpa_to_hva(const struct dune_layout *l, u64 gpa);
u64 dune_hva_to_gpa(const struct dune_layout *l, u64 hva);

#endif /* _DUNE_LAYOUT_H */
