/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _DUNE_RUN_H
#define _DUNE_RUN_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/xarray.h>

#include "vcpu.h"

/* Per open /dev/dune file: one process's VM and its threads' vCPUs. */
struct dune_file {
	struct mutex lock;		/* guards vm's creation and vcpus */
	struct dune_vm *vm;
	struct list_head vcpus;		/* struct dune_vcpu_node */
	struct xarray by_tid;		/* the same by thread id, RCU lookups */
	struct dune_stats ended;	/* counters of the vCPUs freed so far */
	u64 ended_vcpus;
};

struct dune_file *dune_file_alloc(void);
void dune_file_free(struct dune_file *df);
long dune_enter(struct dune_file *df, struct dune_config *conf);
void dune_preempt_key_put(void);
long dune_get_stats(struct dune_file *df, struct dune_stats *st);
long dune_get_process_stats(struct dune_file *df, struct dune_process_stats *ps);
struct dune_vcpu *dune_vcpu_by_tid(struct dune_file *df, u32 tid);

#endif /* _DUNE_RUN_H */
