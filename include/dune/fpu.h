/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * x87/SSE/AVX register state in the XSAVE layout, with the original
 * libdune's names (libdune/fpu.h): a Dune program that switches its own
 * contexts saves and restores them with these.
 *
 * One difference: the original saved every component XCR0 enables
 * (mask -1), which on a CPU with AVX-512 or AMX writes kilobytes past
 * struct fpu_area.  Here the mask is DUNE_FPU_XSTATE, the components the
 * structure has room for, so a save never overruns it.
 */
#ifndef DUNE_FPU_H
#define DUNE_FPU_H

#include <stdint.h>
#include <string.h>

struct fxsave_area {
	uint16_t cwd;
	uint16_t swd;
	uint16_t twd;
	uint16_t fop;
	uint64_t rip;
	uint64_t rdp;
	uint32_t mxcsr;
	uint32_t mxcsr_mask;
	uint32_t st_regs[32];	/* 8 x87/MMX registers, 16 bytes each */
	uint32_t xmm_regs[64];	/* 16 XMM registers */
	uint32_t padding[24];
} __attribute__((packed));

struct xsave_header {
	uint64_t xstate_bv;
	uint64_t reserved_zero[2];
	uint64_t reserved[5];
} __attribute__((packed));

struct xsave_area {
	struct fxsave_area fxsave;
	struct xsave_header header;
	uint32_t ymm_regs[64];	/* upper halves of the 16 YMM registers */
} __attribute__((packed, aligned(64)));

struct fpu_area {
	struct xsave_area xsave;
};

/* x87 | SSE | AVX: the components struct xsave_area holds (SDM Vol. 1 13.4). */
#define DUNE_FPU_XSTATE	((uint64_t)7)

static inline void fpu_xsave(struct fpu_area *fp, uint64_t mask)
{
	mask &= DUNE_FPU_XSTATE;
	__asm__ __volatile__("xsaveq %0" : "=m"(fp->xsave)
			     : "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32)) : "memory");
}

static inline void fpu_xsaveopt(struct fpu_area *fp, uint64_t mask)
{
	mask &= DUNE_FPU_XSTATE;
	__asm__ __volatile__("xsaveoptq %0" : "=m"(fp->xsave)
			     : "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32)) : "memory");
}

static inline void fpu_xrstor(struct fpu_area *fp, uint64_t mask)
{
	mask &= DUNE_FPU_XSTATE;
	__asm__ __volatile__("xrstorq %0" : : "m"(fp->xsave),
			     "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32)) : "memory");
}

/* A fresh state: what FNINIT and the MXCSR reset value give. */
static inline void dune_fpu_init(struct fpu_area *fp)
{
	memset(fp, 0, sizeof(*fp));
	fp->xsave.fxsave.cwd = 0x37f;
	fp->xsave.fxsave.mxcsr = 0x1f80;
}

static inline void dune_fpu_load(struct fpu_area *fp)
{
	fpu_xrstor(fp, DUNE_FPU_XSTATE);
}

/* XSAVEOPT may skip components unchanged since the XRSTOR that last
 * loaded them, so @fp must be the area dune_fpu_load() last loaded;
 * otherwise use dune_fpu_save_safe().  XSAVEOPT needs CPUID.(EAX=0DH,
 * ECX=1):EAX[0] (every CPU with AVX has it). */
static inline void dune_fpu_save(struct fpu_area *fp)
{
	fpu_xsaveopt(fp, DUNE_FPU_XSTATE);
}

static inline void dune_fpu_save_safe(struct fpu_area *fp)
{
	fpu_xsave(fp, DUNE_FPU_XSTATE);
}

#endif /* DUNE_FPU_H */
