/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Original include path: programs written for the original libdune use
 * #include "libdune/fpu.h" (or "fpu.h") unchanged. */
#include <dune/fpu.h>
