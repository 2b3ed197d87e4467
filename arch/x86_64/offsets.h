/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Offsets into struct dune_config for entry.S; checked in libdune/entry.c. */
#ifndef DUNE_ARCH_OFFSETS_H
#define DUNE_ARCH_OFFSETS_H
#define CONF_RSP	0x20
#define CONF_RIP	0x80
#define TRAP_STUB_SIZE	16
#define DUNE_CLONE_MAGIC 0x454e5544	/* "DUNE": marks a clone child's new stack */


#include "../../kmod/common/regs-offsets.h"
#endif
