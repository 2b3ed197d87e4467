/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dunectl: look at and diagnose the dune module on this machine.
 * One file per command (info.c, check.c, stats.c); util.c reads the
 * system files they share.
 */
#ifndef DUNECTL_H
#define DUNECTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

int cmd_info(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_stats(int argc, char **argv);

/*
 * System files are read under $DUNECTL_SYSROOT when it is set (default
 * ""), so the tests can show `check` a made-up machine.  /dev/dune itself
 * follows libdune's DUNE_DEVICE.
 */
const char *sys_path(const char *path, char *buf, size_t len);
bool sys_exists(const char *path);
/* Read a whole (small) file; returns its length or -1 with errno set.
 * The buffer is always NUL-terminated and trailing newlines removed. */
long sys_read(const char *path, char *buf, size_t len);
/* The running kernel's release (proc/sys/kernel/osrelease, else uname). */
const char *sys_release(void);
/* Is a module of this name in /proc/modules (or built in: /sys/module)? */
bool sys_module_loaded(const char *name);

/* Module parameters as "name=value name=value" (empty if none/unloaded). */
void module_params(char *buf, size_t len);
/* Print @s as a JSON string literal. */
void json_string(FILE *out, const char *s);

/* A friendly sentence for why /dev/dune could not be used. */
const char *device_error(int err);

#endif /* DUNECTL_H */
