/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Constants shared by vmenter.S and C.  vmx_run.c checks every one against
 * offsetof() and <asm/vmx.h> at compile time.
 */
#ifndef _DUNE_VMX_VMENTER_H
#define _DUNE_VMX_VMENTER_H

/* struct dune_regs offsets (REGS_*); RSP, RIP and RFLAGS go through the VMCS. */
#include "../common/regs-offsets.h"

/* __dune_vmx_run() flags. */
#define VMX_RUN_RESUME_SHIFT	0
#define VMX_RUN_RESUME		(1 << VMX_RUN_RESUME_SHIFT)

/* The HOST_RSP field encoding (SDM Appendix B.4.4). */
#define VMX_VMCS_HOST_RSP	0x00006c14

#endif /* _DUNE_VMX_VMENTER_H */
