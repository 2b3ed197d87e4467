/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMX instructions that operate on a VMCS or on cached translations
 * (Intel SDM Vol. 3C, chapter 31 "VMX Instruction Reference").
 *
 * Every instruction can fail in two ways: VMfail (CF or ZF set, SDM 31.2)
 * when the operands or the current VMCS are wrong, and #UD when VMX is off
 * on this CPU (after an emergency disable).  Both end up in the error
 * helpers in vmx_vcpu.c, which warn once; callers then see the usual
 * consequences (a failed VM entry).
 */
#ifndef _DUNE_VMX_VMCS_H
#define _DUNE_VMX_VMCS_H

#include <linux/types.h>
#include <asm/asm.h>
#include <asm/vmx.h>

void vmx_insn_failed(const char *insn, u64 arg1, u64 arg2);

/**
 * vmcs_read - VMREAD one field of the current VMCS.
 * @field:	field encoding (SDM Appendix B).
 *
 * Returns the value, or 0 if there is no current VMCS or VMX is off.
 */
static __always_inline u64 vmcs_read(unsigned long field)
{
	u64 value = 0;

	asm volatile("1: vmread %[field], %[value]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [value] "+r"(value) : [field] "r"(field) : "cc");
	return value;
}

/**
 * vmcs_write - VMWRITE one field of the current VMCS.
 * @field:	field encoding (SDM Appendix B).
 * @value:	new value; the CPU keeps the bits the field has.
 */
static __always_inline void vmcs_write(unsigned long field, u64 value)
{
	asm goto("1: vmwrite %[value], %[field]\n\t"
		 "jna %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fail])
		 : : [field] "r"(field), [value] "rm"(value) : "cc" : fail);
	return;
fail:
	vmx_insn_failed("vmwrite", field, value);
}

/* VMPTRLD (SDM 31.3): make the VMCS at @pa current and active on this CPU. */
static inline void vmcs_load(u64 pa)
{
	asm goto("1: vmptrld %[pa]\n\t"
		 "jna %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fail])
		 : : [pa] "m"(pa) : "cc", "memory" : fail);
	return;
fail:
	vmx_insn_failed("vmptrld", pa, 0);
}

/*
 * VMCLEAR (SDM 31.3): write the VMCS at @pa back to memory, make it
 * inactive and "clear" (the next entry must be VMLAUNCH).
 */
static inline void vmcs_clear(u64 pa)
{
	asm goto("1: vmclear %[pa]\n\t"
		 "jna %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fail])
		 : : [pa] "m"(pa) : "cc", "memory" : fail);
	return;
fail:
	vmx_insn_failed("vmclear", pa, 0);
}

/* INVEPT (SDM 31.3): @type is VMX_EPT_EXTENT_CONTEXT or _GLOBAL. */
static inline void vmx_invept(unsigned long type, u64 eptp)
{
	struct { u64 eptp, reserved; } desc = { eptp, 0 };

	asm goto("1: invept %[desc], %[type]\n\t"
		 "jna %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fail])
		 : : [desc] "m"(desc), [type] "r"(type) : "cc", "memory" : fail);
	return;
fail:
	vmx_insn_failed("invept", type, eptp);
}

/* INVVPID (SDM 31.3): @type is one of VMX_VPID_EXTENT_*. */
static inline void vmx_invvpid(unsigned long type, u16 vpid, u64 gva)
{
	struct { u64 vpid : 16, reserved : 48; u64 gva; } desc = { vpid, 0, gva };

	asm goto("1: invvpid %[desc], %[type]\n\t"
		 "jna %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fail])
		 : : [desc] "m"(desc), [type] "r"(type) : "cc", "memory" : fail);
	return;
fail:
	vmx_insn_failed("invvpid", type, vpid);
}

#endif /* _DUNE_VMX_VMCS_H */
