/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * x86-64 paging: page sizes, page-table entry bits and control-register
 * bits, with the original libdune names (SDM Vol. 3A 4.5, APM Vol. 2 5.3).
 */
#ifndef DUNE_MMU_H
#define DUNE_MMU_H

#include <stdint.h>

typedef uint64_t ptent_t;
typedef uintptr_t physaddr_t;

#define UINT64(x)	((uint64_t)(x))
#define CAST64(x)	((uint64_t)(x))
#define ONE		UINT64(1)

/* Four levels of 512 entries: level 3 is the PML4, level 0 the PT. */
#define NPTBITS		9
#define NPTLVLS		3
#define NPTENTRIES	(1 << NPTBITS)
#define PDXMASK		((1 << NPTBITS) - 1)
#define PDSHIFT(n)	(12 + NPTBITS * (n))
#define PDX(n, la)	((((uintptr_t)(la)) >> PDSHIFT(n)) & PDXMASK)

#define PGSHIFT		12
#define PGSIZE		(1 << PGSHIFT)
#define PGMASK		(PGSIZE - 1)
#define PPN(la)		(((uintptr_t)(la)) >> PGSHIFT)
#define PGOFF(la)	(((uintptr_t)(la)) & PGMASK)
#define PGADDR(la)	(((uintptr_t)(la)) & ~CAST64(PGMASK))

#define BIG_PGSHIFT	21
#define BIG_PGSIZE	(1 << BIG_PGSHIFT)
#define BIG_PGMASK	(BIG_PGSIZE - 1)
#define BIG_PGOFF(la)	(((uintptr_t)(la)) & BIG_PGMASK)
#define BIG_PGADDR(la)	(((uintptr_t)(la)) & ~CAST64(BIG_PGMASK))

#define HUGE_PGSHIFT	30
#define HUGE_PGSIZE	(1UL << HUGE_PGSHIFT)
#define HUGE_PGMASK	(HUGE_PGSIZE - 1)

/* Page-table entry bits. */
#define PTE_P		0x0001		/* present */
#define PTE_W		0x0002		/* writable */
#define PTE_U		0x0004		/* user */
#define PTE_PWT		0x0008		/* write-through */
#define PTE_PCD		0x0010		/* cache disable */
#define PTE_A		0x0020		/* accessed */
#define PTE_D		0x0040		/* dirty */
#define PTE_PS		0x0080		/* page size, in PDPTE/PDE */
#define PTE_PAT		0x0080		/* PAT, in a 4K PTE */
#define PTE_G		0x0100		/* global */
#define PTE_AVAIL	0x0E00		/* ignored by the CPU: software bits */
#define PTE_PAT_PS	0x1000		/* PAT, in a 2M/1G entry */
#define PTE_AVAIL2	UINT64(0x7FF0000000000000)
#define PTE_NX		UINT64(0x8000000000000000)	/* no execute */
#define PTE_COW		0x0200		/* copy-on-write (must also be read-only) */
#define PTE_USR1	UINT64(0x4000000000000000)
#define PTE_USR2	UINT64(0x2000000000000000)
#define PTE_USR3	UINT64(0x1000000000000000)

#define PTE_ADDR(pte)	((physaddr_t)(pte) & UINT64(0xffffffffff000))
#define PTE_FLAGS(pte)	((physaddr_t)(pte) & UINT64(0xfff0000000000fff))
#define PTE_DEF_FLAGS	(PTE_P | PTE_W | PTE_U)

/* Page-fault error code bits (SDM Vol. 3A 4.7). */
#define FEC_P		0x01	/* protection violation (else not present) */
#define FEC_W		0x02	/* write */
#define FEC_U		0x04	/* from ring 3 */
#define FEC_RSV		0x08	/* reserved bit set in an entry */
#define FEC_I		0x10	/* instruction fetch */

#define CR0_PE		0x1
#define CR0_MP		0x2
#define CR0_EM		0x4
#define CR0_TS		0x8
#define CR0_ET		0x10
#define CR0_NE		0x20
#define CR0_WP		0x10000
#define CR0_AM		0x40000
#define CR0_NW		0x20000000
#define CR0_CD		0x40000000
#define CR0_PG		0x80000000

#define CR3_PWT		0x8
#define CR3_PCD		0x10

#define CR4_VME		0x1
#define CR4_PVI		0x2
#define CR4_TSD		0x4
#define CR4_DE		0x8
#define CR4_PSE		0x10
#define CR4_PAE		0x20
#define CR4_MCE		0x40
#define CR4_PGE		0x80
#define CR4_PCE		0x100
#define CR4_OSFXSR	0x200
#define CR4_OSX		0x400
#define CR4_FSGSBASE	0x10000
#define CR4_PCIDE	0x20000
#define CR4_OSXSAVE	0x40000

#define EFER		0xc0000080
#define EFER_SCE	0x1
#define EFER_LME	0x100
#define EFER_LMA	0x400
#define EFER_NXE	0x800

#endif /* DUNE_MMU_H */
