/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The environment libdune's pure logic needs, for unit tests in plain user
 * space: a guest-physical layout where every address is its own
 * guest-physical address (so page tables built in ordinary memory can be
 * walked in software), and the globals entry.c would otherwise define.
 */
#ifndef DUNE_UNIT_ENV_H
#define DUNE_UNIT_ENV_H

#include "../../libdune/internal.h"

/* Identity layout: GPA == VA below 1 << 47. */
void unit_env_identity_layout(void);

#endif
