// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The process's mappings from the module (DUNE_GET_VMAS): binary, one
 * system call (one exit from the guest), no text to format or parse.
 * libdune's own walks use it and fall back to /proc/self/maps (procmap.c)
 * where the module does not offer it or the call is refused (a seccomp
 * filter).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include "internal.h"

static int kind_type(uint32_t kind)
{
	switch (kind) {
	case DUNE_VMA_ANON:
		return PROCMAP_TYPE_ANONYMOUS;
	case DUNE_VMA_FILE:
		return PROCMAP_TYPE_FILE;
	case DUNE_VMA_HEAP:
		return PROCMAP_TYPE_HEAP;
	case DUNE_VMA_STACK:
		return PROCMAP_TYPE_STACK;
	case DUNE_VMA_VDSO:
		return PROCMAP_TYPE_VDSO;
	case DUNE_VMA_VVAR:
		return PROCMAP_TYPE_VVAR;
	default:
		return PROCMAP_TYPE_UNKNOWN;
	}
}

void dune_vma_entry(const struct dune_vma *v, struct dune_procmap_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->begin = v->start;
	e->end = v->end;
	e->offset = v->offset;
	e->r = v->flags & DUNE_VMA_READ;
	e->w = v->flags & DUNE_VMA_WRITE;
	e->x = v->flags & DUNE_VMA_EXEC;
	e->p = !(v->flags & DUNE_VMA_SHARED);
	e->type = kind_type(v->kind);
}

/* Every mapping, read before any callback runs (a callback that maps or
 * unmaps memory cannot change what the loop sees); *@n of them, in a
 * malloc'd array.  0 or a negative errno. */
static int vmas_read(struct dune_vma **out, size_t *n)
{
	size_t cap = 64, len = 0;
	struct dune_vma *buf = malloc(cap * sizeof(*buf)), *bigger;
	struct dune_vmas q = { 0 };

	for (;;) {
		if (!buf)
			return -ENOMEM;
		q.buf = (uintptr_t)(buf + len);
		q.nr = (uint32_t)(cap - len);
		if (ioctl(dune_fd, DUNE_GET_VMAS, &q) < 0) {
			free(buf);
			return -errno;
		}
		len += q.nr;
		if (!q.next)
			break;
		q.addr = q.next;
		if (len == cap) {
			cap = cap * 2 > DUNE_VMAS_MAX ? cap + DUNE_VMAS_MAX : cap * 2;
			bigger = realloc(buf, cap * sizeof(*buf));
			if (!bigger)
				free(buf);
			buf = bigger;
		}
	}
	*out = buf;
	*n = len;
	return 0;
}

/**
 * dune_vmas_scan() - call @fn for each mapping of the process (no path:
 * @e->path is NULL; @e->type says heap, stack, vdso, vvar, file or
 * anonymous), until one returns nonzero, which is returned.  The vsyscall
 * page is not a mapping of the process and is not shown.  Without the
 * module's DUNE_GET_VMAS (or with it refused) it walks /proc/self/maps.
 */
int dune_vmas_scan(dune_procmap_fn fn, void *arg)
{
	struct dune_procmap_entry e;
	struct dune_vma *v = NULL;
	size_t n = 0, i;
	int r;

	r = dune_fd >= 0 ? vmas_read(&v, &n) : -EBADF;
	if (r == -ENOMEM)
		return r;
	if (r)
		return dune_procmap_scan(fn, arg);
	for (i = 0, r = 0; i < n && !r; i++) {
		dune_vma_entry(&v[i], &e);
		r = fn(&e, arg);
	}
	free(v);
	return r;
}
