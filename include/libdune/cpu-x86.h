/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Original include path: programs written for the original libdune use
 * #include "libdune/cpu-x86.h" unchanged. */
#include <dune/cpu-x86.h>
