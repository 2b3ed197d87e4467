// SPDX-License-Identifier: GPL-2.0
/*
 * System-file helpers shared by the dunectl commands.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "dunectl.h"

const char *sys_path(const char *path, char *buf, size_t len)
{
	const char *root = getenv("DUNECTL_SYSROOT");

	snprintf(buf, len, "%s%s", root ? root : "", path);
	return buf;
}

bool sys_exists(const char *path)
{
	char p[512];

	return access(sys_path(path, p, sizeof(p)), F_OK) == 0;
}

long sys_read(const char *path, char *buf, size_t len)
{
	char p[512];
	ssize_t n, total = 0;
	int fd, saved;

	if (len)
		buf[0] = '\0';
	fd = open(sys_path(path, p, sizeof(p)), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (total + 1 < (ssize_t)len) {
		n = read(fd, buf + total, len - 1 - total);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += n;
	}
	saved = errno;
	close(fd);
	errno = saved;
	buf[total] = '\0';
	while (total > 0 && buf[total - 1] == '\n')
		buf[--total] = '\0';
	return total;
}

const char *sys_release(void)
{
	static char rel[128];
	struct utsname u;

	if (rel[0])
		return rel;
	if (sys_read("/proc/sys/kernel/osrelease", rel, sizeof(rel)) <= 0 && uname(&u) == 0)
		snprintf(rel, sizeof(rel), "%s", u.release);
	return rel;
}

bool sys_module_loaded(const char *name)
{
	static char mods[1 << 16];
	char line[64], dir[128];
	const char *p;
	size_t n = strlen(name);

	if (sys_read("/proc/modules", mods, sizeof(mods)) >= 0) {
		for (p = mods; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
			if (!strncmp(p, name, n) && p[n] == ' ')
				return true;
	}
	/* Built into the kernel: no /proc/modules line, but a /sys/module
	 * directory without the initstate file loadable modules have. */
	snprintf(dir, sizeof(dir), "/sys/module/%s", name);
	snprintf(line, sizeof(line), "/sys/module/%s/initstate", name);
	return sys_exists(dir) && !sys_exists(line);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void module_params(char *buf, size_t len)
{
	char *names[32], val[128], path[320];
	size_t used = 0;
	int i, n = 0;
	struct dirent *de;
	DIR *d;

	buf[0] = '\0';
	d = opendir(sys_path("/sys/module/dune/parameters", path, sizeof(path)));
	if (!d)
		return;
	while ((de = readdir(d)) && n < 32)
		if (de->d_name[0] != '.')
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (i = 0; i < n; i++) {
		if (!names[i])
			continue;
		snprintf(path, sizeof(path), "/sys/module/dune/parameters/%s", names[i]);
		if (sys_read(path, val, sizeof(val)) < 0)
			snprintf(val, sizeof(val), "?");
		if (used < len)
			used += snprintf(buf + used, len - used, "%s%s=%s",
					 used ? " " : "", names[i], val);
		free(names[i]);
	}
}

void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(out, "\\u%04x", *s);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

const char *device_error(int err)
{
	switch (err) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return "the dune module is not loaded (no /dev/dune); `dunectl check` explains why";
	case EACCES:
	case EPERM:
		return "permission denied: join the group that owns /dev/dune (`dunectl check`)";
	case EPROTO:
		return "the module speaks another ABI version than this libdune";
	default:
		return strerror(err);
	}
}
