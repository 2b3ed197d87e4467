// SPDX-License-Identifier: LGPL-2.1-or-later
#include <string.h>

#include "unit_env.h"

int dune_fd = -1;
struct dune_info dune_info_cache;
struct dune_layout dune_layout_cache;

void unit_env_identity_layout(void)
{
	memset(&dune_layout_cache, 0, sizeof(dune_layout_cache));
	dune_layout_cache.phys_limit = 1ULL << 47;
	dune_layout_cache.base_limit = 1ULL << 47;
}

/* entry.c's, which the unit tests do not link. */
bool dune_map_full;
