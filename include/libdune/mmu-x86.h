/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The original libdune's libdune/mmu-x86.h (JOS's machine header): paging
 * and control-register bits, which <dune/mmu.h> already provides, and the
 * rest of the architecture constants it offered: EFLAGS, debug registers,
 * MTRRs, segment and gate descriptors.  Values from SDM Vol. 3A (2.3, 3.4.5,
 * 6.14.1, 11.11, 17.2) and APM Vol. 2.
 */
#ifndef DUNE_COMPAT_MMU_X86_H
#define DUNE_COMPAT_MMU_X86_H

#include <dune/mmu.h>

#define EFER_FFXSR	0x4000		/* fast FXSAVE/FXRSTOR (AMD) */

#ifndef MSR_FS_BASE
#define MSR_FS_BASE	0xc0000100
#define MSR_GS_BASE	0xc0000101
#endif

/* MTRRs */
#define MTRR_CAP		0xfe
#define MTRR_CAP_VCNT_MASK	0xff
#define MTRR_CAP_FIX		0x100
#define MTRR_CAP_WC		0x400
#define MTRR_BASE(i)		(0x200 + 2 * (i))
#define MTRR_BASE_UC		0x00
#define MTRR_BASE_WC		0x01
#define MTRR_BASE_WT		0x04
#define MTRR_BASE_WP		0x05
#define MTRR_BASE_WB		0x06
#define MTRR_MASK(i)		(0x201 + 2 * (i))
#define MTRR_MASK_FULL		PGADDR((ONE << 36) - 1)
#define MTRR_MASK_VALID		0x800

/* Last-branch recording and debug registers */
#define MSR_DEBUG_CTL		0x1d9
#define DEBUG_CTL_LBR		(1 << 0)
#define MSR_LBR_FROM_IP		0x1db
#define MSR_LBR_TO_IP		0x1dc
#define MSR_LEX_FROM_IP		0x1dd
#define MSR_LEX_TO_IP		0x1de

#define DR7_L(n)		(ONE << ((n) * 2))
#define DR7_G(n)		(ONE << ((n) * 2 + 1))
#define DR7_LE			(ONE << 8)
#define DR7_GE			(ONE << 9)
#define DR7_GD			(ONE << 13)
#define DR7_RW_SHIFT(n)		((n) * 4 + 16)
#define DR7_LEN_SHIFT(n)	((n) * 4 + 18)
#define DR7_RW_EXEC		0x0
#define DR7_RW_WRITE		0x1
#define DR7_RW_IO		0x2
#define DR7_RW_RW		0x3
#define DR7_LEN_1		0x0
#define DR7_LEN_2		0x1
#define DR7_LEN_8		0x2
#define DR7_LEN_4		0x3

/* RFLAGS */
#define FL_CF		0x00000001
#define FL_PF		0x00000004
#define FL_AF		0x00000010
#define FL_ZF		0x00000040
#define FL_SF		0x00000080
#define FL_TF		0x00000100
#define FL_IF		0x00000200
#define FL_DF		0x00000400
#define FL_OF		0x00000800
#define FL_IOPL_MASK	0x00003000
#define FL_IOPL_0	0x00000000
#define FL_IOPL_1	0x00001000
#define FL_IOPL_2	0x00002000
#define FL_IOPL_3	0x00003000
#define FL_NT		0x00004000
#define FL_RF		0x00010000
#define FL_VM		0x00020000
#define FL_AC		0x00040000
#define FL_VIF		0x00080000
#define FL_VIP		0x00100000
#define FL_ID		0x00200000

/* Segment type bits (STA_*) and the same bits in a descriptor (SEG_*). */
#define STA_A		(ONE << 0)	/* accessed */
#define STA_W		(ONE << 1)	/* writable data */
#define STA_E		(ONE << 2)	/* expand-down data */
#define STA_X		(ONE << 3)	/* code */
#define STA_R		(ONE << 1)	/* readable code */
#define STA_C		(ONE << 2)	/* conforming code */

#define SEG_A		(STA_A << 40)
#define SEG_W		(STA_W << 40)
#define SEG_E		(STA_E << 40)
#define SEG_X		(STA_X << 40)
#define SEG_R		(STA_R << 40)
#define SEG_C		(STA_C << 40)
#define SEG_S		(ONE << 44)	/* code or data (else system) */

/* System descriptor types in long mode. */
#define SEG_LDT		(UINT64(0x2) << 40)
#define SEG_TSSA	(UINT64(0x9) << 40)
#define SEG_TSSB	(UINT64(0xa) << 40)
#define SEG_CG		(UINT64(0xc) << 40)
#define SEG_IG		(UINT64(0xe) << 40)
#define SEG_TG		(UINT64(0xf) << 40)

#define SEG_DPL(x)	(((x) & UINT64(3)) << 45)
#define SEG_P		(ONE << 47)
#define SEG_L		(ONE << 53)
#define SEG_D		(ONE << 54)
#define SEG_G		(ONE << 55)

#define SEG_LIM(x)	(((x) & 0xffff) | ((x) & UINT64(0xf0000)) << 32)
#define SEG_BASELO(x)	(((CAST64(x) & 0xffffff) << 16) | ((CAST64(x) & 0xff000000) << 32))
#define SEG_BASEHI(x)	(CAST64(x) >> 32)

#define SEG32_ASM(type, base, lim)					\
	.word (((lim) >> 12) & 0xffff), ((base) & 0xffff);		\
	.byte (((base) >> 16) & 0xff), (0x90 | (type)),			\
	      (0xC0 | (((lim) >> 28) & 0xf)), (((base) >> 24) & 0xff)

#define SEG32(type, base, lim, dpl)					\
	((type) | SEG_S | SEG_P | SEG_D | SEG_G | SEG_A | SEG_DPL(dpl) |	\
	 SEG_BASELO(base) | SEG_LIM((lim) >> 12))

#define SEG64(type, dpl)						\
	((type) | SEG_S | SEG_P | SEG_G | SEG_L | SEG_A | SEG_DPL(dpl) |	\
	 SEG_LIM(0xffffffff))

/* Interrupt and trap gates: selector and 64-bit target. */
#define SEG_SEL(x)	(((x) & 0xffff) << 16)
#define SEG_TARGETLO(x)	((CAST64(x) & 0xffff) | ((CAST64(x) & 0xffff0000) << 32))
#define SEG_TARGETHI(x)	(CAST64(x) >> 32)

#define GATE32(type, sel, target, dpl)					\
	((type) | SEG_DPL(dpl) | SEG_P | SEG_SEL(sel) | SEG_TARGETLO(target))
/* @gate: anything with 64-bit gd_lo and gd_hi members. */
#define SETGATE(gate, type, sel, target, dpl)				\
	do {								\
		(gate).gd_lo = GATE32(type, sel, target, dpl);		\
		(gate).gd_hi = SEG_TARGETHI(target);			\
	} while (0)

#ifndef __ASSEMBLER__
/* The legacy FXSAVE area (SDM Vol. 1 10.5.1). */
struct Fpregs {
	uint16_t cwd;
	uint16_t swd;
	uint16_t twd;
	uint16_t fop;
	uint64_t rip;
	uint64_t rdp;
	uint32_t mxcsr;
	uint32_t mxcsr_mask;
	uint32_t st_space[32];
	uint32_t xmm_space[64];
	uint32_t padding[24];
};
#endif

#endif /* DUNE_COMPAT_MMU_X86_H */
