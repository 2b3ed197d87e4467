/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The seam between the vendor-neutral core and the hardware backends.
 *
 * One ops table per backend (kmod/vmx, kmod/svm).  The core picks a table
 * once, at load time, by asking each compiled-in backend to probe the CPU;
 * after that it only ever calls through dune_hv and never tests the vendor.
 * Backends never see ioctls or user pointers.
 */
#ifndef _DUNE_HV_H
#define _DUNE_HV_H

#include <linux/mm_types.h>

#include "caps.h"

/**
 * struct dune_hv_ops - what a hardware backend provides.
 * @name:	"vmx" or "svm", used in log lines.
 * @backend:	enum dune_backend value reported to user space.
 * @probe:	Check the boot CPU.  Fills @caps.  Returns 0 when this backend
 *		can run, -ENODEV when the CPU lacks this extension entirely
 *		(the core then tries the next backend), -EPERM when firmware
 *		disabled it, -EBUSY when another hypervisor holds it,
 *		-EOPNOTSUPP when a feature dune needs is missing.
 * @cpu_enable:	Turn virtualization on for the calling CPU (interrupts off).
 *		@cpu_page is a zeroed page owned by the core for this CPU
 *		(VMXON region / host save area).  Returns 0 or a negative
 *		errno as for @probe.
 * @cpu_disable: Turn it off again on the calling CPU (interrupts off).  Only
 *		called after a successful @cpu_enable on that CPU.
 * @emergency_disable: Same as @cpu_disable but from crash/NMI context: no
 *		locks, no allocation, must not fault.
 */
struct dune_hv_ops {
	const char *name;
	u32 backend;
	int (*probe)(struct dune_caps *caps);
	int (*cpu_enable)(struct page *cpu_page);
	void (*cpu_disable)(void);
	void (*emergency_disable)(void);
};

#ifdef DUNE_HAVE_VMX
extern const struct dune_hv_ops dune_vmx_ops;
#endif
#ifdef DUNE_HAVE_SVM
extern const struct dune_hv_ops dune_svm_ops;
#endif

/* The backend in use; set once in dune_hv_init(). */
extern const struct dune_hv_ops *dune_hv;
extern struct dune_caps dune_caps;

int dune_hv_init(void);
void dune_hv_exit(void);
unsigned int dune_hv_nr_cpus(void);

#endif /* _DUNE_HV_H */
