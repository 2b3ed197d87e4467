/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Constants shared by vmenter.S and C.  vmx_run.c checks every one against
 * offsetof() and <asm/vmx.h> at compile time.
 */
#ifndef _DUNE_VMX_VMENTER_H
#define _DUNE_VMX_VMENTER_H

/* struct dune_regs (uapi/dune.h); RSP, RIP and RFLAGS go through the VMCS. */
#define VMX_REGS_RAX	0x00
#define VMX_REGS_RCX	0x08
#define VMX_REGS_RDX	0x10
#define VMX_REGS_RBX	0x18
#define VMX_REGS_RBP	0x28
#define VMX_REGS_RSI	0x30
#define VMX_REGS_RDI	0x38
#define VMX_REGS_R8	0x40
#define VMX_REGS_R9	0x48
#define VMX_REGS_R10	0x50
#define VMX_REGS_R11	0x58
#define VMX_REGS_R12	0x60
#define VMX_REGS_R13	0x68
#define VMX_REGS_R14	0x70
#define VMX_REGS_R15	0x78

/* __dune_vmx_run() flags. */
#define VMX_RUN_RESUME_SHIFT	0
#define VMX_RUN_RESUME		(1 << VMX_RUN_RESUME_SHIFT)

/* The HOST_RSP field encoding (SDM Appendix B.4.4). */
#define VMX_VMCS_HOST_RSP	0x00006c14

#endif /* _DUNE_VMX_VMENTER_H */
