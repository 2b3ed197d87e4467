/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _DUNE_SYSCALL_H
#define _DUNE_SYSCALL_H

#include "vcpu.h"

/* Results of dune_syscall_in_kernel(). */
enum dune_sc {
	DUNE_SC_DONE,		/* handled; result in vcpu->regs.rax */
	DUNE_SC_HOST,		/* libdune must run it in host mode */
	DUNE_SC_RESTART,	/* interrupted by a signal: restart via the ioctl */
};

int dune_syscall_init(void);
enum dune_sc dune_syscall_in_kernel(struct dune_vcpu *vcpu, long *restart_code);
bool dune_syscall_ends_process(unsigned long nr);

#endif /* _DUNE_SYSCALL_H */
