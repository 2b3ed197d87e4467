/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The original libdune's libdune/local.h: its internal definitions, which
 * some of its programs (test/posted_ipi.c, bench/posted_ipi.c) include.
 *
 * Only what this libdune has is declared.  Left out:
 *  - the original's assembly entry points (__dune_enter, __dune_ret,
 *    __dune_syscall, __dune_go_linux, ...) and dune_page_init(): internal
 *    to a library whose entry path is not ours;
 *  - the APIC IPI API (dune_setup_apic, dune_apic_free,
 *    dune_apic_init_rt_entry, and dune_apic_send_ipi, dune_apic_eoi,
 *    dune_apic_id_for_cpu from the original's dune.h): inter-processor
 *    interrupts between vCPUs need the module's side first (issue 14); they
 *    will be declared here when they exist, not before, so a program using
 *    them fails at compile time rather than at run time.
 */
#ifndef DUNE_COMPAT_LOCAL_H
#define DUNE_COMPAT_LOCAL_H

#include <stdbool.h>

#define __str_t(x...)	#x
#define __str(x...)	__str_t(x)

/* glibc exports arch_prctl() but no header declares it. */
extern int arch_prctl(int code, unsigned long *addr);

#endif /* DUNE_COMPAT_LOCAL_H */
