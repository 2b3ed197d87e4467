// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The process's memory map, parsed from /proc/self/maps.  A line is
 *
 *   begin-end perms offset major:minor inode [path]
 *   7fe598687000-7fe59881e000 r-xp 00000000 fe:00 917523     /lib/libc.so.6
 *
 * with addresses, offset and device in hex, the inode in decimal, perms
 * [r-][w-][x-][ps], and a path that runs to the end of the line: it may
 * hold spaces, end in " (deleted)", be a pseudo-path ([heap], [stack],
 * [vdso], [vvar], [vsyscall], [anon:name], ...) or be absent (anonymous).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static int path_type(const char *path)
{
	if (path[0] == '\0')
		return PROCMAP_TYPE_ANONYMOUS;
	if (path[0] != '[')
		return PROCMAP_TYPE_FILE;
	if (strcmp(path, "[heap]") == 0)
		return PROCMAP_TYPE_HEAP;
	/* "[stack:tid]" on kernels before 4.5 */
	if (strncmp(path, "[stack", 6) == 0)
		return PROCMAP_TYPE_STACK;
	if (strcmp(path, "[vsyscall]") == 0)
		return PROCMAP_TYPE_VSYSCALL;
	if (strcmp(path, "[vdso]") == 0)
		return PROCMAP_TYPE_VDSO;
	/* "[vvar_vclock]" since Linux 6.13 */
	if (strncmp(path, "[vvar", 5) == 0)
		return PROCMAP_TYPE_VVAR;
	/* named anonymous memory (PR_SET_VMA_ANON_NAME) */
	if (strncmp(path, "[anon:", 6) == 0 || strncmp(path, "[anon_shmem:", 12) == 0)
		return PROCMAP_TYPE_ANONYMOUS;
	return PROCMAP_TYPE_UNKNOWN;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Parse at least one digit in @base (16 or 10) from *@p, then @sep (if not
 * '\0'); advance *@p.  False on no digit, overflow or a missing @sep. */
static bool parse_num(const char **p, unsigned int base, char sep, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	unsigned int d;

	if (!(base == 16 ? is_hex(*s) : (*s >= '0' && *s <= '9')))
		return false;
	for (; base == 16 ? is_hex(*s) : (*s >= '0' && *s <= '9'); s++) {
		d = *s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10;
		if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, d, &v))
			return false;
	}
	if (sep) {
		if (*s != sep)
			return false;
		s++;
	}
	*p = s;
	*out = v;
	return true;
}

static bool parse_perms(const char **p, struct dune_procmap_entry *e)
{
	const char *s = *p;

	if ((s[0] != 'r' && s[0] != '-') || (s[1] != 'w' && s[1] != '-') ||
	    (s[2] != 'x' && s[2] != '-') || (s[3] != 'p' && s[3] != 's') || s[4] != ' ')
		return false;
	e->r = s[0] == 'r';
	e->w = s[1] == 'w';
	e->x = s[2] == 'x';
	e->p = s[3] == 'p';
	*p = s + 5;
	return true;
}

/*
 * Parse the line [@line, @eol) into @e.  The path is not terminated here:
 * *@path is where it starts (it ends at @eol).  Returns 0 or -EINVAL.
 */
static int parse_line(const char *line, const char *eol, struct dune_procmap_entry *e,
		      const char **path)
{
	const char *s = line;
	uint64_t begin, end, off, major, minor, inode;

	if (!parse_num(&s, 16, '-', &begin) || !parse_num(&s, 16, ' ', &end) ||
	    !parse_perms(&s, e) || !parse_num(&s, 16, ' ', &off) ||
	    !parse_num(&s, 16, ':', &major) || !parse_num(&s, 16, ' ', &minor) ||
	    !parse_num(&s, 10, '\0', &inode))
		return -EINVAL;
	/* No number can run into the next line: '\n' is neither digit nor
	 * separator. */
	if (begin > end)
		return -EINVAL;
	/* Padding, then the path; nothing (or only padding) if anonymous. */
	if (s < eol && *s != ' ')
		return -EINVAL;
	while (s < eol && *s == ' ')
		s++;
	e->begin = begin;
	e->end = end;
	e->offset = off;
	e->path = NULL;
	e->type = PROCMAP_TYPE_UNKNOWN;
	*path = s;
	return 0;
}

static const char *line_end(const char *line)
{
	const char *nl = strchr(line, '\n');

	return nl ? nl : line + strlen(line);
}

/* Check every line, so that a malformed text reaches the callback not at
 * all rather than halfway. */
static int check_text(const char *text)
{
	struct dune_procmap_entry e;
	const char *line, *eol, *path;

	for (line = text; *line; line = *eol ? eol + 1 : eol) {
		eol = line_end(line);
		if (parse_line(line, eol, &e, &path))
			return -EINVAL;
	}
	return 0;
}

/* Call @fn for each line of the checked, writable @text, until one returns
 * nonzero (returned); each path is terminated in place during its call. */
static int deliver(char *text, dune_procmap_fn fn, void *arg)
{
	struct dune_procmap_entry e;
	const char *path;
	char *line, *eol, saved;
	int r;

	for (line = text; *line; line = saved ? eol + 1 : eol) {
		eol = (char *)line_end(line);
		parse_line(line, eol, &e, &path);
		saved = *eol;
		*eol = '\0';
		e.path = (char *)path;
		e.type = path_type(path);
		r = fn(&e, arg);
		*eol = saved;
		if (r)
			return r;
	}
	return 0;
}

struct cb_box {
	dune_procmap_cb cb;
};

static int call_cb(const struct dune_procmap_entry *e, void *arg)
{
	((const struct cb_box *)arg)->cb(e);
	return 0;
}

/**
 * dune_procmap_iterate_text() - call @cb for each mapping in @text, a
 * /proc/<pid>/maps file's contents (NUL-terminated).
 *
 * The entry and its path are valid only during the call: copy what must
 * outlive it.  Returns 0, -EINVAL if any line is malformed (then @cb is not
 * called at all), or -ENOMEM.
 */
int dune_procmap_iterate_text(const char *text, dune_procmap_cb cb)
{
	char *copy;
	int ret;

	if (!text || !cb)
		return -EINVAL;
	ret = check_text(text);
	if (ret)
		return ret;
	copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	deliver(copy, call_cb, &(struct cb_box){ cb });
	free(copy);
	return 0;
}

/* The whole of /proc/self/maps, read before any callback runs: a callback
 * that maps or unmaps memory then cannot change what the loop sees. */
static char *read_maps(void)
{
	size_t len = 0, cap = 16384;
	char *buf = malloc(cap), *bigger;
	ssize_t n;
	int fd;

	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !buf)
		goto fail;
	for (;;) {
		if (cap - len < 4096) {
			bigger = realloc(buf, cap * 2);
			if (!bigger)
				goto fail;
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
fail:
	n = errno;
	if (fd >= 0)
		close(fd);
	free(buf);
	errno = (int)n;
	return NULL;
}

/**
 * dune_procmap_iterate() - call @cb for each mapping of this process.
 *
 * The entry and its path are valid only during the call.  As in the
 * original libdune there is no error return: if /proc/self/maps cannot be
 * read or parsed, this prints why and ends the process.
 */
void dune_procmap_iterate(dune_procmap_cb cb)
{
	char *text = read_maps();

	if (!text) {
		dune_printf("dune: cannot read /proc/self/maps\n");
		dune_die();
	}
	if (check_text(text)) {
		dune_printf("dune: unexpected line in /proc/self/maps\n");
		dune_die();
	}
	deliver(text, call_cb, &(struct cb_box){ cb });
	free(text);
}

/**
 * dune_procmap_scan() - dune_procmap_iterate() for libdune's own use: the
 * callback gets @arg and stops the walk by returning nonzero, and errors
 * are returned (-ENOMEM, -EINVAL for a malformed line, -errno of the
 * read, or the callback's value) instead of ending the process.
 */
int dune_procmap_scan(dune_procmap_fn fn, void *arg)
{
	char *text = read_maps();
	int r;

	if (!text)
		return errno ? -errno : -ENOMEM;
	r = check_text(text);
	if (!r)
		r = deliver(text, fn, arg);
	free(text);
	return r;
}

static void dump_entry(const struct dune_procmap_entry *e)
{
	dune_printf("0x%016lx-0x%016lx %c%c%c%c %08lx %s\n",
		    (unsigned long)e->begin, (unsigned long)e->end,
		    e->r ? 'R' : '-', e->w ? 'W' : '-', e->x ? 'X' : '-', e->p ? 'P' : 'S',
		    (unsigned long)e->offset, e->path);
}

/** dune_procmap_dump() - print the process's memory map with dune_printf. */
void dune_procmap_dump(void)
{
	dune_printf("--- Process Map Dump ---\n");
	dune_procmap_iterate(dump_entry);
}
