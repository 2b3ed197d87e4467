// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty-page tracking on plain Linux: after each collection the arena is
 * mprotect()ed read-only; the first write to a page raises SIGSEGV, whose
 * handler records the page and makes it writable again (the classic
 * virtual-memory write barrier).  Also the no-barrier baseline, which calls
 * every page dirty.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gc.h"

static struct gc *tracked;	/* the one arena the handler serves */
static struct sigaction old_segv;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	struct gc *gc = tracked;
	uintptr_t a = (uintptr_t)si->si_addr;

	if (gc && a - (uintptr_t)gc->arena < gc->len) {
		size_t page = (a - (uintptr_t)gc->arena) / GC_PAGE;

		gc->dirty[page] = 1;
		gc->st.barrier_faults++;
		if (mprotect(gc->arena + page * GC_PAGE, GC_PAGE, PROT_READ | PROT_WRITE) == 0)
			return;
	}
	/* Not ours: the default action, on return the access faults again. */
	sigaction(SIGSEGV, &old_segv, NULL);
}

static void *plain_map(struct gc *gc, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void *mprotect_map(struct gc *gc, size_t len)
{
	struct sigaction sa;

	if (tracked)
		return NULL;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &old_segv))
		return NULL;
	tracked = gc;
	return plain_map(gc, len);
}

static void plain_unmap(struct gc *gc)
{
	munmap(gc->arena, gc->len);
}

static void mprotect_unmap(struct gc *gc)
{
	plain_unmap(gc);
	if (tracked == gc) {
		sigaction(SIGSEGV, &old_segv, NULL);
		tracked = NULL;
	}
}

/* The dirty map is kept up to date by the handler; open the arena. */
static int mprotect_begin(struct gc *gc)
{
	return mprotect(gc->arena, gc->len, PROT_READ | PROT_WRITE) ? -errno : 0;
}

static int mprotect_end(struct gc *gc)
{
	memset(gc->dirty, 0, gc->npages);
	return mprotect(gc->arena, gc->len, PROT_READ) ? -errno : 0;
}

static int all_begin(struct gc *gc)
{
	memset(gc->dirty, 1, gc->npages);
	return 0;
}

static int all_end(struct gc *gc)
{
	return 0;
}

const struct gc_dirty_ops gc_dirty_mprotect = {
	.name = "mprotect-sigsegv",
	.map = mprotect_map,
	.unmap = mprotect_unmap,
	.begin = mprotect_begin,
	.end = mprotect_end,
};

const struct gc_dirty_ops gc_dirty_all = {
	.name = "no-barrier (all pages)",
	.map = plain_map,
	.unmap = plain_unmap,
	.begin = all_begin,
	.end = all_end,
};
