/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Layouts shared by entry.S and C, checked with _Static_assert in
 * libdune/entry.c (struct dune_config, struct dune_percpu, struct dune_tf).
 */
#ifndef DUNE_ARCH_OFFSETS_H
#define DUNE_ARCH_OFFSETS_H

/* struct dune_config */
#define CONF_RSP	0x20
#define CONF_RIP	0x80

#define DUNE_CLONE_MAGIC 0x454e5544	/* "DUNE": marks a clone child's new stack */

/* struct dune_percpu: the guest GS base points at it in ring 0. */
#define PC_SELF		0x00
#define PC_TMP		0x08	/* scratch: ring-3 rsp at SYSCALL */
#define PC_KFS		0x10	/* ring-0 FS base */
#define PC_UFS		0x18	/* ring-3 FS base */
#define PC_IN_USER	0x20	/* 1 while ring-3 code runs */
#define PC_IST_FRAME	0x28	/* IST1 bytes each nested trap keeps */
#define PC_IST_LOW	0x30	/* IST1 below this: trap stack exhausted */
#define PC_IST_TOP	0x38	/* IST1 with no trap in progress */
#define PC_USER_RET	0x40	/* dune_jump_to_user's saved stack */
#define PC_LSTAR_K	0x48	/* SYSCALL entry for ring-0 callers */
#define PC_LSTAR_U	0x50	/* SYSCALL entry for ring-3 callers */
#define PC_SIG_PENDING	0x58	/* dune_signal() signals waiting for the guest */
#define PC_TSS_IST1	0x100	/* &percpu->tss.ist[0] */

/* The vector that runs pending guest signals (below DUNE_SIGNAL_INTR_BASE). */
#define DUNE_SIGNAL_KICK	199

/* struct dune_tf (the original libdune layout) */
#define TF_RDI		0
#define TF_RSI		8
#define TF_RDX		16
#define TF_RCX		24
#define TF_R8		32
#define TF_R9		40
#define TF_R10		48
#define TF_R11		56
#define TF_RBX		64
#define TF_RBP		72
#define TF_R12		80
#define TF_R13		88
#define TF_R14		96
#define TF_R15		104
#define TF_RAX		112
#define TF_ERR		120
#define TF_RIP		128
#define TF_CS		136
#define TF_RFLAGS	144
#define TF_RSP		152
#define TF_SS		160
#define TF_SIZE		168

/* Selectors (include/dune/dune.h GD_*) */
#define SEL_KT		0x10
#define SEL_KD		0x18
#define SEL_UD		0x2b	/* GD_UD | RPL 3 */
#define SEL_UT		0x33	/* GD_UT | RPL 3 */
#define SEL_TSS		0x38

#define MSR_FS_BASE_NR	0xc0000100
#define MSR_LSTAR_NR	0xc0000082

#define T_SYSCALL_VEC	48
#define TRAP_STUB_SIZE	16

#include "../../kmod/common/regs-offsets.h"
#endif
