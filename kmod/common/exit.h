/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _DUNE_EXIT_H
#define _DUNE_EXIT_H

#include "vcpu.h"

/*
 * Returns 1 to re-enter the guest, 0 to return to user space (conf->ret
 * says why), or a negative errno.
 */
int dune_handle_exit(struct dune_vcpu *vcpu, const struct dune_exit *exit,
		     struct dune_config *conf);

#endif /* _DUNE_EXIT_H */
