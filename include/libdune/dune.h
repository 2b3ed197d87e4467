/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Original include path: programs written for the original libdune use
 * #include "libdune/dune.h" unchanged. */
#include <dune/dune.h>
