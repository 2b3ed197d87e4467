/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The original libdune's libdune/debug.h: the module's ioctl ABI (the
 * original included its kern/dune.h; ours is <dune/uapi/dune.h>, which
 * <dune/info.h> includes both in this tree and once installed).
 *
 * The original also declared dune_debug_handle_int(), its hook that
 * handed a Dune-mode debug trap to a host debugger.  This libdune has no
 * such hook, so it is left out: #DB and #BP go to the guest's own IDT
 * (dune_register_intr_handler(), tests/hw/debug.c).
 */
#ifndef DUNE_COMPAT_DEBUG_H
#define DUNE_COMPAT_DEBUG_H

#include <dune/info.h>	/* and through it the ABI, uapi/dune.h */

#endif /* DUNE_COMPAT_DEBUG_H */
