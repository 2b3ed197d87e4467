/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The /dev/dune ioctl ABI: one ABI for both vendors.
 *
 * Rules that keep it stable:
 *  - every struct has a fixed layout (explicit padding, no pointers: user
 *    addresses travel as __u64) and its size is part of the ioctl number;
 *  - new fields go into reserved space or into a new ioctl; numbers and enum
 *    values are never reused;
 *  - DUNE_ABI_VERSION changes only on an incompatible change.
 *
 * Names describe what things mean, not one vendor's word for them ("nested
 * paging", not EPT/NPT).
 */
#ifndef _UAPI_DUNE_H
#define _UAPI_DUNE_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define DUNE_ABI_VERSION	1
#define DUNE_DEVICE_NAME	"dune"
#define DUNE_IOC_MAGIC		0xE9

/* Which hardware backend the module chose at load time. */
enum dune_backend {
	DUNE_BACKEND_NONE = 0,
	DUNE_BACKEND_VMX = 1,	/* Intel VT-x: VMCS + EPT */
	DUNE_BACKEND_SVM = 2,	/* AMD-V: VMCB + NPT */
};

/* Bits of dune_info.features: what the CPU offers that dune uses. */
#define DUNE_FEAT_NESTED_PAGING	(1ULL << 0) /* EPT / NPT */
#define DUNE_FEAT_TAGGED_TLB	(1ULL << 1) /* VPID / ASID */
#define DUNE_FEAT_NESTED_2M	(1ULL << 2) /* 2 MiB nested pages */
#define DUNE_FEAT_NESTED_1G	(1ULL << 3) /* 1 GiB nested pages */
#define DUNE_FEAT_NESTED_AD	(1ULL << 4) /* accessed/dirty bits in nested tables */
#define DUNE_FEAT_NESTED_XO	(1ULL << 5) /* execute-only nested pages */
#define DUNE_FEAT_PCID		(1ULL << 6) /* guest may use CR4.PCIDE */
#define DUNE_FEAT_NEXT_RIP	(1ULL << 7) /* CPU reports next RIP on exits */
#define DUNE_FEAT_XSAVE		(1ULL << 8) /* host has XSAVE enabled */

/**
 * struct dune_info - DUNE_GET_INFO result.
 * @abi_version:	DUNE_ABI_VERSION of the module.
 * @backend:		enum dune_backend in use.
 * @features:		DUNE_FEAT_* bits.
 * @phys_bits:		guest-physical address width in bits.
 * @virt_bits:		linear address width in bits.
 * @nr_tlb_tags:	number of VPIDs / ASIDs usable (0 if untagged).
 * @nr_cpus:		CPUs with virtualization enabled.
 * @live_vcpus:		vCPUs that exist now, in all processes.
 * @reserved:		zero; room to grow without an ABI change.
 */
struct dune_info {
	__u32 abi_version;
	__u32 backend;
	__u64 features;
	__u32 phys_bits;
	__u32 virt_bits;
	__u32 nr_tlb_tags;
	__u32 nr_cpus;
	__u32 live_vcpus;
	__u32 reserved0;
	__u64 reserved[8];
};

#define DUNE_GET_INFO		_IOR(DUNE_IOC_MAGIC, 0x00, struct dune_info)

#endif /* _UAPI_DUNE_H */
