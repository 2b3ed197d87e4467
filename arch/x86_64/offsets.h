/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Offsets into struct dune_config for entry.S; checked in libdune/entry.c. */
#ifndef DUNE_ARCH_OFFSETS_H
#define DUNE_ARCH_OFFSETS_H
#define CONF_RSP	0x20
#define CONF_RIP	0x80
#define TRAP_STUB_SIZE	16
#define DUNE_CLONE_MAGIC 0x454e5544	/* "DUNE": marks a clone child's new stack */

/* struct dune_regs */
#define REGS_RAX	0x00
#define REGS_RCX	0x08
#define REGS_RDX	0x10
#define REGS_RBX	0x18
#define REGS_RSP	0x20
#define REGS_RBP	0x28
#define REGS_RSI	0x30
#define REGS_RDI	0x38
#define REGS_R8		0x40
#define REGS_R9		0x48
#define REGS_R10	0x50
#define REGS_R11	0x58
#define REGS_R12	0x60
#define REGS_R13	0x68
#define REGS_R14	0x70
#define REGS_R15	0x78
#endif
