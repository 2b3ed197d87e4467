/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The original libdune's libdune/types.h (JOS's machine types), on top of
 * the standard headers instead of its own fixed-width typedefs.
 *
 * Left out on purpose: `#define inline __inline__` (C99 has inline) and
 * the original's own PRIu64 "ld" / PRIx64 "lx", which clash with
 * <inttypes.h>; the standard ones are used ("lu", "lx" on x86-64).
 */
#ifndef DUNE_COMPAT_TYPES_H
#define DUNE_COMPAT_TYPES_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>

typedef int bool_t;

/* Same type as <dune/mmu.h>'s: a repeated identical typedef is valid C11. */
typedef uintptr_t physaddr_t;

/* Page numbers. */
typedef uint64_t ppn_t;

#endif /* DUNE_COMPAT_TYPES_H */
