/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _DUNE_VMAS_H
#define _DUNE_VMAS_H

#include <linux/compiler_types.h>

long dune_ioctl_vmas(void __user *arg);

#endif /* _DUNE_VMAS_H */
