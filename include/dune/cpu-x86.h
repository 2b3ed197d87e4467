/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * x86-64 CPU definitions with the original libdune names: trap numbers,
 * IDT descriptors, MSRs, and small privileged-instruction helpers that a
 * Dune process may use in guest ring 0.
 */
#ifndef DUNE_CPU_X86_H
#define DUNE_CPU_X86_H

#include <stdint.h>

#define MSR_FS_BASE		0xc0000100
#define MSR_GS_BASE		0xc0000101
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_SFMASK		0xc0000084

static inline void native_write_msr(unsigned int msr, unsigned int low, unsigned int high)
{
	__asm__ __volatile__("wrmsr" : : "c"(msr), "a"(low), "d"(high) : "memory");
}

static inline unsigned long long native_read_msr(unsigned int msr)
{
	unsigned int low, high;

	__asm__ __volatile__("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
	return low | ((unsigned long long)high << 32);
}

#define wrmsrl(msr, val) \
	native_write_msr((msr), (uint32_t)((uint64_t)(val)), (uint32_t)((uint64_t)(val) >> 32))
#define rdmsrl(msr, val)	((val) = native_read_msr((msr)))

struct tptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

#define IDTD_P			(1 << 7)
#define IDTD_CPL3		(3 << 5)
#define IDTD_TRAP_GATE		0xF
#define IDTD_INTERRUPT_GATE	0xE

#define IDT_ENTRIES		256

struct idtd {
	uint16_t low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type;
	uint16_t middle;
	uint32_t high;
	uint32_t zero;
} __attribute__((packed, aligned));

/* Exception vectors (SDM Vol. 3A 6.3.1). */
#define T_DIVIDE	0	/* divide error */
#define T_DEBUG		1	/* debug exception */
#define T_NMI		2	/* non-maskable interrupt */
#define T_BRKPT		3	/* breakpoint */
#define T_OFLOW		4	/* overflow */
#define T_BOUND		5	/* bounds check */
#define T_ILLOP		6	/* invalid opcode */
#define T_DEVICE	7	/* device not available */
#define T_DBLFLT	8	/* double fault */
#define T_TSS		10	/* invalid TSS */
#define T_SEGNP		11	/* segment not present */
#define T_STACK		12	/* stack fault */
#define T_GPFLT		13	/* general protection */
#define T_PGFLT		14	/* page fault */
#define T_FPERR		16	/* x87 floating point error */
#define T_ALIGN		17	/* alignment check */
#define T_MCHK		18	/* machine check */
#define T_SIMDERR	19	/* SIMD floating point error */

/* Software-chosen vector, away from the CPU's exceptions. */
#define T_SYSCALL	48

#endif /* DUNE_CPU_X86_H */
