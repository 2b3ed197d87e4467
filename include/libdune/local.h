/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The original libdune's libdune/local.h: its internal definitions, which
 * some of its programs (test/posted_ipi.c, bench/posted_ipi.c) include.
 *
 * Only what this libdune has is declared.  Left out: the original's
 * assembly entry points (__dune_enter, __dune_ret, __dune_syscall,
 * __dune_go_linux, ...) and dune_page_init(): internal to a library whose
 * entry path is not ours.
 *
 * The APIC IPI API is here as in the original (dune_setup_apic,
 * dune_apic_free, dune_apic_init_rt_entry; dune_apic_id,
 * dune_apic_id_for_cpu, dune_apic_send_ipi and dune_apic_eoi are in
 * dune/dune.h as in the original's dune.h), implemented on the module's
 * DUNE_SEND_IPI (libdune/apic.c, docs/ipi.md).  dune_setup_apic() is
 * optional here: the routing table is made on first use.
 */
#ifndef DUNE_COMPAT_LOCAL_H
#define DUNE_COMPAT_LOCAL_H

#include <stdbool.h>

#define __str_t(x...)	#x
#define __str(x...)	__str_t(x)

/* glibc exports arch_prctl() but no header declares it. */
extern int arch_prctl(int code, unsigned long *addr);

/* The cpu -> vCPU id routing table (libdune/apic.c). */
bool dune_setup_apic(void);
void dune_apic_free(void);
/* Record the calling thread's id for the CPU it runs on (pin it first). */
void dune_apic_init_rt_entry(void);

#endif /* DUNE_COMPAT_LOCAL_H */
