/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interrupts between the vCPUs of one process (DUNE_SEND_IPI), delivered
 * by exits: the sender marks the vector pending on the target and kicks
 * the target's CPU out of the guest; the target's run loop offers the
 * highest pending vector to the backend before each entry, which injects
 * it as an external interrupt when the guest can take one, or else asks
 * for an interrupt-window exit.
 */
#ifndef _DUNE_IPI_H
#define _DUNE_IPI_H

#include <linux/bitops.h>
#include <linux/types.h>

#define DUNE_NR_VECTORS	256

/**
 * struct dune_vcpu_ipi - a vCPU's interrupt state.
 * @pending:	vectors sent and not yet injected (an APIC IRR).
 * @guest_cpu:	the CPU this vCPU is about to enter or is in the guest on,
 *		-1 otherwise: where senders send the kick.
 * @offer:	set by the run loop before an entry, read by the backend:
 *		the vector to inject if the guest can take an interrupt
 *		(RFLAGS.IF=1, no STI/MOV-SS shadow, no other event injected
 *		at this entry), else request an interrupt-window exit.  0: none.
 * @injected:	set by the backend when it injected @offer.
 * @delivered:	vectors injected (DUNE_GET_STATS irqs).
 */
struct dune_vcpu_ipi {
	unsigned long pending[BITS_TO_LONGS(DUNE_NR_VECTORS)];
	int guest_cpu;
	u8 offer;
	bool injected;
	u64 delivered;
};

struct dune_vcpu;
struct dune_file;
struct dune_ipi;

void dune_ipi_init(struct dune_vcpu *vcpu);
void dune_ipi_before_entry(struct dune_vcpu *vcpu);
void dune_ipi_after_exit(struct dune_vcpu *vcpu);
long dune_ipi_send(struct dune_file *df, const struct dune_ipi *req);

#endif /* _DUNE_IPI_H */
