/* SPDX-License-Identifier: GPL-2.0 */
/* The `wedge` program's parts: test, demo server, benchmark. */
#ifndef WEDGE_WEDGE_H
#define WEDGE_WEDGE_H

#include "hwtest.h"

/* dune_init_and_enter() + sthread_init(); 0, 77 (no Dune here) or 1. */
int wedge_enter(void);
int wedge_test(void);
int wedge_server(int n);
int wedge_bench(int iters);

#endif /* WEDGE_WEDGE_H */
