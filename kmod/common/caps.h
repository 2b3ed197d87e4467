/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the CPU offers that dune uses, in vendor-neutral terms.
 *
 * This header and the backends' *_caps.c decoders are pure logic: they build
 * both in the kernel and in user space (DUNE_PURE_USERSPACE) so the Check unit
 * tests can feed them raw CPUID/MSR values without hardware.
 */
#ifndef _DUNE_CAPS_H
#define _DUNE_CAPS_H

#ifdef DUNE_PURE_USERSPACE
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
#define BIT_ULL(n) (1ULL << (n))
#else
#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/types.h>
#endif

#include "uapi/dune.h"

/**
 * struct dune_caps - decoded capabilities, filled by a backend's probe.
 * @features:	DUNE_FEAT_* bits.
 * @phys_bits:	guest-physical address width.
 * @virt_bits:	linear address width.
 * @nr_tlb_tags: usable VPIDs/ASIDs, 0 if none.
 */
struct dune_caps {
	u64 features;
	u32 phys_bits;
	u32 virt_bits;
	u32 nr_tlb_tags;
};

/* CPUID 0x80000008 EAX: [7:0] physical, [15:8] linear address bits. */
static inline void dune_caps_set_widths(struct dune_caps *caps, u32 eax_80000008)
{
	caps->phys_bits = eax_80000008 & 0xff;
	caps->virt_bits = (eax_80000008 >> 8) & 0xff;
}

#endif /* _DUNE_CAPS_H */
