// SPDX-License-Identifier: GPL-2.0
/* The collector (gc.h): allocation, minor and major collections. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gc.h"

#define POISON	0xdeadbeefdeadbeefULL

static inline unsigned long ticks(void)
{
	unsigned int a, d;

	__asm__ __volatile__("rdtsc" : "=a"(a), "=d"(d));
	return (unsigned long)a | ((unsigned long)d << 32);
}

static struct gc_obj *cell(const struct gc *gc, size_t i)
{
	return (struct gc_obj *)(gc->arena + i * GC_CELL);
}

/* Every free cell on the free list, in address order. */
static void rebuild_free_list(struct gc *gc)
{
	struct gc_obj *head = NULL, *o;
	size_t i = gc->ncells;

	gc->nfree = 0;
	while (i--) {
		o = cell(gc, i);
		if (o->flags & GC_FREE) {
			o->left = head;
			head = o;
			gc->nfree++;
		}
	}
	gc->free_list = head;
}

int gc_init(struct gc *gc, const struct gc_dirty_ops *ops, size_t arena_len)
{
	size_t i;

	memset(gc, 0, sizeof(*gc));
	gc->ops = ops;
	gc->len = arena_len & ~(size_t)(GC_PAGE - 1);
	gc->npages = gc->len / GC_PAGE;
	gc->ncells = gc->len / GC_CELL;
	gc->dirty = calloc(gc->npages, 1);
	gc->stack = malloc(gc->ncells * sizeof(*gc->stack));
	if (!gc->dirty || !gc->stack || !gc->len) {
		gc_destroy(gc);
		return -ENOMEM;
	}
	gc->arena = ops->map(gc, gc->len);
	if (!gc->arena) {
		gc_destroy(gc);
		return -ENOMEM;
	}
	for (i = 0; i < gc->ncells; i++) {
		cell(gc, i)->flags = GC_FREE;
		cell(gc, i)->value = POISON;
	}
	rebuild_free_list(gc);
	gc->young_budget = gc->ncells / 8;
	return ops->end(gc);
}

void gc_destroy(struct gc *gc)
{
	if (gc->arena)
		gc->ops->unmap(gc);
	free(gc->dirty);
	free(gc->stack);
	gc->arena = NULL;
	gc->dirty = NULL;
	gc->stack = NULL;
}

static void push(struct gc *gc, struct gc_obj *o, bool young_only)
{
	if (!o || (o->flags & GC_MARK) || (young_only && (o->flags & GC_OLD)))
		return;
	o->flags |= GC_MARK;
	gc->stack[gc->nstack++] = o;
}

static void mark(struct gc *gc, bool young_only)
{
	struct gc_obj *o;

	while (gc->nstack) {
		o = gc->stack[--gc->nstack];
		push(gc, o->left, young_only);
		push(gc, o->right, young_only);
	}
}

/* Free the unmarked cells in scope, promote the marked ones. */
static void sweep(struct gc *gc, bool young_only)
{
	struct gc_obj *o;
	size_t i, freed = 0;

	for (i = 0; i < gc->ncells; i++) {
		o = cell(gc, i);
		if ((o->flags & GC_FREE) || (young_only && (o->flags & GC_OLD) &&
					     !(o->flags & GC_MARK)))
			continue;
		if (o->flags & GC_MARK) {
			if (!(o->flags & GC_OLD))
				gc->st.promoted++;
			o->flags = GC_OLD;
		} else {
			o->flags = GC_FREE;
			o->right = NULL;
			o->value = POISON;
			freed++;
		}
	}
	gc->st.freed += freed;
	gc->st.last_freed = freed;
	rebuild_free_list(gc);
	gc->young_allocs = 0;
}

int gc_minor(struct gc *gc)
{
	unsigned long t0 = ticks();
	size_t p, c, i;
	int r;

	r = gc->ops->begin(gc);
	if (r)
		return r;
	for (i = 0; i < GC_MAX_ROOTS; i++)
		push(gc, gc->roots[i], true);
	/* Old objects on pages written since the last collection are the
	 * only ones that can point to young objects. */
	for (p = 0; p < gc->npages; p++) {
		if (!gc->dirty[p])
			continue;
		gc->st.dirty_pages++;
		for (c = 0; c < GC_CELLS_PER_PAGE; c++) {
			struct gc_obj *o = cell(gc, p * GC_CELLS_PER_PAGE + c);

			if ((o->flags & (GC_OLD | GC_FREE)) == GC_OLD) {
				push(gc, o->left, true);
				push(gc, o->right, true);
			}
		}
	}
	mark(gc, true);
	sweep(gc, true);
	gc->st.minor++;
	r = gc->ops->end(gc);
	gc->st.gc_cycles += ticks() - t0;
	return r;
}

int gc_major(struct gc *gc)
{
	unsigned long t0 = ticks();
	size_t i;
	int r;

	r = gc->ops->begin(gc);
	if (r)
		return r;
	for (i = 0; i < GC_MAX_ROOTS; i++)
		push(gc, gc->roots[i], false);
	mark(gc, false);
	sweep(gc, false);
	gc->st.major++;
	r = gc->ops->end(gc);
	gc->st.gc_cycles += ticks() - t0;
	return r;
}

struct gc_obj *gc_alloc(struct gc *gc)
{
	struct gc_obj *o;

	if (gc->young_allocs >= gc->young_budget || !gc->free_list)
		if (gc_minor(gc))
			return NULL;
	if (!gc->free_list && gc_major(gc))
		return NULL;
	o = gc->free_list;
	if (!o)
		return NULL;
	gc->free_list = o->left;
	gc->nfree--;
	gc->young_allocs++;
	o->flags = 0;
	o->id = 0;
	o->left = NULL;
	o->right = NULL;
	o->value = 0;
	return o;
}

size_t gc_live(const struct gc *gc)
{
	return gc->ncells - gc->nfree;
}
