/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The original libdune's x2APIC IPI API (libdune/apic.c there), on the
 * module's DUNE_SEND_IPI (kmod/common/ipi.c, docs/ipi.md).
 *
 * The original ran the guest with a virtualized x2APIC and posted
 * interrupts: dune_apic_id() read the APIC ID MSR, dune_apic_send_ipi()
 * wrote the ICR, dune_apic_eoi() the EOI register.  Here the guest has no
 * APIC: the id of a vCPU is the thread id of its thread (unique in the
 * process, known to the module), a send is one ioctl (a system call, so
 * one exit from the guest), and the target takes the vector through its
 * IDT as an external interrupt, into the handler dune_register_intr_handler
 * registered.  Where the module posts the vector (VMX posted interrupts,
 * DUNE_FEAT_POSTED_INTR) it lands without an exit and libdune ends it in
 * the virtual APIC before the handler runs (trap.c); otherwise there is
 * no in-service register or priority to end.  Either way dune_apic_eoi()
 * has nothing left to do.
 *
 * The routing table (cpu -> id) is the original's: each thread that wants
 * to receive calls dune_apic_init_rt_entry() on the CPU it is pinned to.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <dune/dune.h>
#include <libdune/local.h>

#include "internal.h"

#define APIC_ID_NONE	UINT32_MAX

static uint32_t *apic_routing;
static int num_rt_entries;

/* The table, made on first use (the original needed dune_setup_apic()
 * first and crashed without it). */
static uint32_t *routing(void)
{
	uint32_t *t = __atomic_load_n(&apic_routing, __ATOMIC_ACQUIRE);
	uint32_t *expected = NULL;
	int i, n;

	if (t)
		return t;
	n = get_nprocs_conf();
	if (n < 1)
		n = 1;
	t = malloc(n * sizeof(*t));
	if (!t)
		return NULL;
	for (i = 0; i < n; i++)
		t[i] = APIC_ID_NONE;
	/* num_rt_entries first: a reader that sees the table sees its size. */
	__atomic_store_n(&num_rt_entries, n, __ATOMIC_RELEASE);
	if (!__atomic_compare_exchange_n(&apic_routing, &expected, t, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		free(t);
		return expected;
	}
	return t;
}

bool dune_setup_apic(void)
{
	return routing() != NULL;
}

/* The table stays: other threads may still look ids up.  Only the
 * entries are forgotten. */
void dune_apic_free(void)
{
	uint32_t *t = __atomic_load_n(&apic_routing, __ATOMIC_ACQUIRE);
	int i, n = __atomic_load_n(&num_rt_entries, __ATOMIC_ACQUIRE);

	for (i = 0; t && i < n; i++)
		__atomic_store_n(&t[i], APIC_ID_NONE, __ATOMIC_RELEASE);
}

uint32_t dune_apic_id(void)
{
	return (uint32_t)syscall(SYS_gettid);
}

void dune_apic_init_rt_entry(void)
{
	uint32_t *t = routing();
	int cpu = sched_getcpu();

	if (!t || cpu < 0 || cpu >= __atomic_load_n(&num_rt_entries, __ATOMIC_ACQUIRE))
		return;
	__atomic_store_n(&t[cpu], dune_apic_id(), __ATOMIC_RELEASE);
}

uint32_t dune_apic_id_for_cpu(uint32_t cpu, bool *error)
{
	uint32_t *t = __atomic_load_n(&apic_routing, __ATOMIC_ACQUIRE);
	uint32_t id;

	if (!t || cpu >= (uint32_t)__atomic_load_n(&num_rt_entries, __ATOMIC_ACQUIRE)) {
		if (error)
			*error = true;
		return 0;
	}
	id = __atomic_load_n(&t[cpu], __ATOMIC_ACQUIRE);
	if (error)
		*error = id == APIC_ID_NONE;
	return id;
}

int dune_apic_send_ipi(uint8_t vector, uint32_t destination_apic_id)
{
	struct dune_ipi req = { .dest = destination_apic_id, .vector = vector };

	if (dune_fd < 0) {
		errno = EBADF;
		return -1;
	}
	return ioctl(dune_fd, DUNE_SEND_IPI, &req) ? -1 : 0;
}

void dune_apic_eoi(void)
{
}
