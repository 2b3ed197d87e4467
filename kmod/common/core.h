/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _DUNE_CORE_H
#define _DUNE_CORE_H

#include <linux/atomic.h>

/* vCPUs alive in all processes (reported by DUNE_GET_INFO). */
extern atomic_t dune_live_vcpus;

#endif /* _DUNE_CORE_H */
