/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Whether the benchmark runs under an emulator (its cycles are then only
 * "emulated"): DUNE_BENCH_EMULATED decides when set (Bochs hides the
 * hypervisor bit), else CPUID.1:ECX[31], reserved for hypervisors (SDM
 * Vol. 2A CPUID).  Shared by the apps' benchmarks; bench/machine.c does a
 * fuller job for dune-bench.
 */
#ifndef DUNE_APPS_EMULATED_H
#define DUNE_APPS_EMULATED_H

#include <cpuid.h>
#include <stdbool.h>
#include <stdlib.h>

static inline bool emulated(void)
{
	unsigned int a, b, c, d;
	const char *env = getenv("DUNE_BENCH_EMULATED");

	if (env && *env)
		return env[0] != '0';
	__cpuid(1, a, b, c, d);
	return c & (1u << 31);
}

#endif
