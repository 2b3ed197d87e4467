/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A non-moving generational mark-sweep collector over a fixed arena of
 * 32-byte cells (README.md).  Minor collections find old objects that may
 * point to young ones by the pages written since the last collection: a
 * dirty-page tracker says which.  Two trackers: the hardware dirty bits of
 * the Dune guest page tables (gc_dirty_dune), and mprotect + SIGSEGV write
 * faults on plain Linux (gc_dirty_mprotect); gc_dirty_all (every page
 * dirty, no barrier) is the baseline.
 */
#ifndef GC_GC_H
#define GC_GC_H

#include <stddef.h>
#include <stdint.h>

#define GC_PAGE		4096
#define GC_CELL		32
#define GC_CELLS_PER_PAGE (GC_PAGE / GC_CELL)
#define GC_MAX_ROOTS	64

enum {
	GC_FREE = 1,
	GC_MARK = 2,
	GC_OLD = 4,
};

struct gc_obj {
	uint32_t flags;
	uint32_t id;
	struct gc_obj *left, *right;
	uint64_t value;
};

struct gc;

struct gc_dirty_ops {
	const char *name;
	/* Map the arena (len bytes); NULL on failure. */
	void *(*map)(struct gc *gc, size_t len);
	void (*unmap)(struct gc *gc);
	/* Fill gc->dirty (one byte per page) with the pages written since the
	 * last end(), and let the collector write anywhere. */
	int (*begin)(struct gc *gc);
	/* Forget what was written; the next writes are tracked again. */
	int (*end)(struct gc *gc);
};

extern const struct gc_dirty_ops gc_dirty_dune, gc_dirty_mprotect, gc_dirty_all;

struct gc_stats {
	uint64_t minor, major;
	uint64_t freed, promoted;	/* totals */
	uint64_t last_freed;
	uint64_t dirty_pages;		/* total seen by minor collections */
	uint64_t gc_cycles;		/* in collections, tracker included */
	uint64_t barrier_faults;	/* write faults taken (mprotect tracker) */
};

struct gc {
	char *arena;
	size_t len, npages, ncells;
	const struct gc_dirty_ops *ops;
	uint8_t *dirty;
	struct gc_obj *free_list;
	size_t nfree;
	size_t young_allocs, young_budget;
	struct gc_obj *roots[GC_MAX_ROOTS];
	struct gc_obj **stack;		/* mark stack */
	size_t nstack;
	struct gc_stats st;
};

/* 0 or a negative errno. */
int gc_init(struct gc *gc, const struct gc_dirty_ops *ops, size_t arena_len);
void gc_destroy(struct gc *gc);
/* A zeroed young object, collecting when needed; NULL if the heap is full. */
struct gc_obj *gc_alloc(struct gc *gc);
int gc_minor(struct gc *gc);
int gc_major(struct gc *gc);
/* Cells not free. */
size_t gc_live(const struct gc *gc);

#endif /* GC_GC_H */
