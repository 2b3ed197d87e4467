// SPDX-License-Identifier: GPL-2.0
/*
 * DUNE_SEND_IPI: an interrupt from one thread of a Dune process to the vCPU
 * of another, delivered through VM exits, or posted where the backend can
 * (dune_hv->post_intr; see docs/ipi.md).  Vendor-neutral: the backends only
 * inject the vector the run loop offers, or ask for an interrupt-window
 * exit, or post it.
 *
 * Ordering between a sender and a target about to enter: the sender sets
 * the pending bit and then reads guest_cpu; the target sets guest_cpu and
 * then reads the pending bits, each with a full barrier in between.  So
 * either the target sees the bit before it enters, or the sender sees the
 * target's CPU and kicks it; a kick that arrives while the target has
 * interrupts off stays pending in the CPU and makes the entry exit at once
 * (external interrupts always exit: VMX pin-based control, SVM INTR
 * intercept), after which the next entry sees the bit.
 */
#define pr_fmt(fmt) "dune: " fmt

#include <linux/sched.h>
#include <linux/smp.h>
/* 6.3+: smp_send_reschedule() traces through the ipi_send_cpu event. */
#include <trace/events/ipi.h>

#include "hv.h"
#include "ipi.h"
#include "run.h"
#include "vcpu.h"

void dune_ipi_init(struct dune_vcpu *vcpu)
{
	bitmap_zero(vcpu->ipi.pending, DUNE_NR_VECTORS);
	vcpu->ipi.guest_cpu = -1;
	vcpu->ipi.offer = 0;
	vcpu->ipi.injected = false;
}

/*
 * Interrupts off, vCPU loaded, right before the backend runs the guest:
 * take the highest pending vector out of @pending and offer it.  Taking it
 * out now (the IRR-to-ISR move of an APIC) lets the same vector, sent again
 * while this one is being delivered, be delivered again.
 */
void dune_ipi_before_entry(struct dune_vcpu *vcpu)
{
	struct dune_vcpu_ipi *ipi = &vcpu->ipi;
	unsigned long v;

	WRITE_ONCE(ipi->guest_cpu, smp_processor_id());
	smp_mb();	/* pairs with the barrier in dune_ipi_post() */
	ipi->offer = 0;
	ipi->injected = false;
	for (;;) {
		v = find_last_bit(ipi->pending, DUNE_NR_VECTORS);
		if (v >= DUNE_NR_VECTORS)
			return;
		if (test_and_clear_bit(v, ipi->pending))
			break;
	}
	ipi->offer = v;
}

/* Interrupts off, after the run: an offer the backend did not inject waits. */
void dune_ipi_after_exit(struct dune_vcpu *vcpu)
{
	struct dune_vcpu_ipi *ipi = &vcpu->ipi;

	WRITE_ONCE(ipi->guest_cpu, -1);
	if (ipi->offer && ipi->injected)
		ipi->delivered++;
	else if (ipi->offer)
		set_bit(ipi->offer, ipi->pending);
	ipi->offer = 0;
	ipi->injected = false;
}

/*
 * Mark @vector pending on @vcpu and make it look: if it is in (or about to
 * enter) the guest on another CPU, a reschedule IPI there forces an exit
 * (KVM's kvm_vcpu_kick does the same).  Where the backend posts it
 * instead (@post_intr), the notification it sends there is consumed in
 * the guest, with no exit; a target not in the guest takes the posted
 * vector at its next entry.  Caller holds df->lock, so @vcpu stays
 * allocated.
 */
static void dune_ipi_post(struct dune_vcpu *vcpu, u8 vector)
{
	int cpu, me, posted = -EOPNOTSUPP;

	if (dune_hv->post_intr)
		posted = dune_hv->post_intr(vcpu, vector);
	if (!posted)
		return;
	if (posted < 0)
		set_bit(vector, vcpu->ipi.pending);
	smp_mb__after_atomic();	/* pairs with dune_ipi_before_entry() */
	cpu = READ_ONCE(vcpu->ipi.guest_cpu);
	me = get_cpu();
	if (cpu >= 0 && cpu != me && cpu_online(cpu)) {
		if (posted > 0)
			dune_hv->post_notify(cpu);
		else
			smp_send_reschedule(cpu);
	}
	put_cpu();
}

static bool ipi_req_valid(const struct dune_ipi *req)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(req->reserved); i++)
		if (req->reserved[i])
			return false;
	return true;
}

/**
 * dune_ipi_send - DUNE_SEND_IPI.
 * @df:		the /dev/dune file; the caller must be of its process.
 * @req:	target and vector (uapi/dune.h).
 *
 * Returns 0, -EINVAL (reserved fields, vector < 32 or > 255), -EBADFD (no
 * process entered through @df, or the caller is another process) or -ESRCH
 * (no live vCPU of this file has thread id @req->dest).
 */
long dune_ipi_send(struct dune_file *df, const struct dune_ipi *req)
{
	struct dune_vcpu *target;
	long r = 0;

	if (!ipi_req_valid(req)) {
		pr_warn_ratelimited("pid %d: DUNE_SEND_IPI with nonzero reserved fields\n",
				    current->pid);
		return -EINVAL;
	}
	if (req->vector < DUNE_IPI_MIN_VECTOR || req->vector >= DUNE_NR_VECTORS) {
		pr_warn_ratelimited("pid %d: DUNE_SEND_IPI vector %u is not 32..255\n",
				    current->pid, req->vector);
		return -EINVAL;
	}
	mutex_lock(&df->lock);
	if (!df->vm || df->vm->mm != current->mm) {
		pr_warn_ratelimited("pid %d: DUNE_SEND_IPI on a file no vCPU of this process entered through\n",
				    current->pid);
		r = -EBADFD;
		goto out;
	}
	target = dune_vcpu_by_tid(df, req->dest);
	if (!target) {
		pr_warn_ratelimited("pid %d: DUNE_SEND_IPI to %u: no such vCPU in this process\n",
				    current->pid, req->dest);
		r = -ESRCH;
		goto out;
	}
	dune_ipi_post(target, req->vector);
out:
	mutex_unlock(&df->lock);
	return r;
}
