/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Original include path: the original libdune shipped its own copy of an
 * old glibc <elf.h> as libdune/elf.h.  The system's <elf.h> is a superset
 * of it, so this is that header; #include_next skips this directory, which
 * programs built with -I<prefix>/include/libdune put before the system's.
 */
#pragma GCC system_header
#include_next <elf.h>
