/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Querying the dune module: is it there, which backend, which features.
 */
#ifndef DUNE_INFO_H
#define DUNE_INFO_H

#include <stddef.h>
#include <stdint.h>

#include "uapi/dune.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * dune_get_info() - ask /dev/dune what it runs on.
 * @info: filled on success.
 *
 * Returns 0, or -1 with errno set: ENOENT when the module is not loaded,
 * EACCES when the caller may not open /dev/dune, EPROTO when the module
 * speaks another ABI version.
 */
int dune_get_info(struct dune_info *info);

/** dune_backend_name() - "vmx", "svm", or "none" for unknown values. */
const char *dune_backend_name(uint32_t backend);

/**
 * dune_feature_names() - the DUNE_FEAT_* bits of @features as words.
 * @buf/@len: output buffer; always NUL-terminated when @len > 0.
 *
 * Returns the length the full string needs (like snprintf).
 */
int dune_feature_names(uint64_t features, char *buf, size_t len);

/** The device path; DUNE_DEVICE (environment) overrides it for tests. */
const char *dune_device_path(void);

#ifdef __cplusplus
}
#endif

#endif /* DUNE_INFO_H */
