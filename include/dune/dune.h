/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdune: run this process in Dune mode (guest ring 0 of a hardware VM).
 *
 * This is the start of the original libdune API (dune_init, dune_enter,
 * dune_init_and_enter); the page-table, trap and ring-3 calls follow.
 */
#ifndef DUNE_DUNE_H
#define DUNE_DUNE_H

#include <stdbool.h>
#include <stdint.h>

#include "info.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * dune_init() - open /dev/dune and build the guest page tables.
 * @map_full: accepted for source compatibility with the original libdune;
 *	      the whole address space is always mirrored.
 *
 * Returns 0, or a negative errno (-ENOENT: module not loaded, ...).
 */
int dune_init(bool map_full);

/**
 * dune_enter() - move the calling thread into Dune mode.
 *
 * Returns 0, now running in guest ring 0, or a negative errno in host mode.
 */
int dune_enter(void);

/** dune_init_and_enter() - dune_init(true) then dune_enter(). */
int dune_init_and_enter(void);

/** The guest-physical address of a process address, or ~0 if none. */
uint64_t dune_va_to_pa(uintptr_t va);

/** Counters kept by libdune's host-mode loop (for tests and benchmarks). */
struct dune_host_stats {
	uint64_t syscalls;	/* system calls passed to the host */
	uint64_t signals;	/* returns to host mode for a signal */
};
void dune_get_host_stats(struct dune_host_stats *out);

/**
 * dune_get_stats() - the module's counters for the calling thread's vCPU:
 * VM exits by reason (DUNE_EXIT_*), entries, nested pages.  Returns 0 or a
 * negative errno.
 */
int dune_get_stats(struct dune_stats *st);

#ifdef __cplusplus
}
#endif

#endif /* DUNE_DUNE_H */
