// SPDX-License-Identifier: GPL-2.0
/*
 * dune-gc (README.md):
 *   dune-gc test        collector correctness and exact dirty sets, with the
 *                       mprotect tracker on plain Linux, then the dirty-bit
 *                       tracker in Dune mode
 *   dune-gc bench [N]   an allocation-heavy tree workload (N mutations) under
 *                       each tracker: collection time and barrier overhead,
 *                       table and JSON
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <dune/dune.h>

#include "../common/emulated.h"
#include "gc.h"
#include "hwtest.h"

static uint64_t hash(uint32_t id)
{
	uint64_t x = id * 0x9e3779b97f4a7c15ULL;

	return x ^ (x >> 29);
}

/* Allocate a full tree of @depth into *slot, linking each node as soon as
 * it exists so that collections during the build keep it. */
static int build(struct gc *gc, struct gc_obj **slot, int depth, uint32_t *id)
{
	struct gc_obj *o;
	int r;

	if (!depth)
		return 0;
	o = gc_alloc(gc);
	if (!o)
		return -ENOMEM;
	o->id = (*id)++;
	o->value = hash(o->id);
	*slot = o;
	r = build(gc, &o->left, depth - 1, id);
	return r ? r : build(gc, &o->right, depth - 1, id);
}

/* Nodes reachable from @o, or -1 if one is freed or corrupt. */
static long verify(const struct gc_obj *o)
{
	long l, r;

	if (!o)
		return 0;
	if ((o->flags & GC_FREE) || o->value != hash(o->id))
		return -1;
	l = verify(o->left);
	r = verify(o->right);
	return l < 0 || r < 0 ? -1 : 1 + l + r;
}

/* Write to @wr pages, read @rd pages, and compare the tracker's set. */
static bool dirty_exact(struct gc *gc, const int *wr, int nwr, const int *rd, int nrd)
{
	size_t p;
	int i, n = 0;
	bool ok = true;

	for (i = 0; i < nwr; i++)
		((struct gc_obj *)(gc->arena + wr[i] * GC_PAGE + 64))->id = 7;
	for (i = 0; i < nrd; i++)
		(void)*(volatile uint64_t *)(gc->arena + rd[i] * GC_PAGE + 128);
	if (gc->ops->begin(gc))
		return false;
	for (p = 0; p < gc->npages; p++) {
		bool want = false;

		for (i = 0; i < nwr; i++)
			want |= (size_t)wr[i] == p;
		if (!!gc->dirty[p] != want) {
			if (ok)
				printf("#   page %zu: dirty %d, expected %d\n", p,
				       gc->dirty[p], want);
			ok = false;
		}
		n += gc->dirty[p] != 0;
	}
	printf("#   %d dirty pages found\n", n);
	return gc->ops->end(gc) == 0 && ok;
}

static void suite(const struct gc_dirty_ops *ops, bool exact)
{
	static const int w1[] = { 1, 7, 100, 255 }, r1[] = { 3, 50 };
	static const int w2[] = { 0, 2, 254 }, r2[] = { 1, 7 };
	struct gc gc;
	struct gc_obj *x, *junk;
	uint32_t id = 1;
	uint64_t dirty0;
	long n;
	int i, r;

	r = gc_init(&gc, ops, 256 * GC_PAGE);
	CHECK(r == 0, "[%s] arena of 256 pages: %d", ops->name, r);
	if (r)
		return;
	if (exact) {
		CHECK(dirty_exact(&gc, w1, 4, r1, 2),
		      "[%s] dirty set is exactly pages 1 7 100 255", ops->name);
		CHECK(dirty_exact(&gc, w2, 3, r2, 2),
		      "[%s] after a reset, exactly pages 0 2 254", ops->name);
	}
	gc.young_budget = 512;	/* several minor collections in what follows */

	r = build(&gc, &gc.roots[0], 12, &id);
	n = verify(gc.roots[0]);
	CHECK(r == 0 && n == 4095 && gc.st.minor > 0,
	      "[%s] 4095-node tree built across %lu minor collections, intact: %ld",
	      ops->name, (unsigned long)gc.st.minor, n);
	gc_major(&gc);
	CHECK(gc.st.last_freed == 0 && gc_live(&gc) == 4095,
	      "[%s] major collection: nothing freed, %zu live", ops->name, gc_live(&gc));
	gc.roots[0]->left = NULL;
	gc_major(&gc);
	n = verify(gc.roots[0]);
	CHECK(gc.st.last_freed == 2047 && gc_live(&gc) == 2048 && n == 2048,
	      "[%s] detached subtree: exactly 2047 freed, %zu live, survivors intact (%ld)",
	      ops->name, gc_live(&gc), n);

	/* An old leaf gets a young chain: only its page's dirtiness finds it. */
	for (x = gc.roots[0]; x->right; x = x->right)
		;
	gc_major(&gc);
	dirty0 = gc.st.dirty_pages;
	for (i = 0, r = 0; i < 100 && !r; i++) {
		struct gc_obj *o = gc_alloc(&gc);

		if (!o)
			r = -ENOMEM;
		else {
			o->id = id++;
			o->value = hash(o->id);
			o->left = x->left;
			x->left = o;
		}
	}
	for (i = 0; i < 50; i++) {
		junk = gc_alloc(&gc);
		if (junk)
			junk->value = 1;
	}
	gc_minor(&gc);
	n = verify(gc.roots[0]);
	CHECK(r == 0 && gc.st.last_freed == 50 && n == 2148,
	      "[%s] minor: 50 young garbage freed, the young chain under an old node kept "
	      "(%lu freed, %ld reachable, %lu dirty pages scanned)", ops->name,
	      (unsigned long)gc.st.last_freed, n, (unsigned long)(gc.st.dirty_pages - dirty0));
	for (i = 0; i < 20000; i++) {
		junk = gc_alloc(&gc);
		if (!junk)
			break;
		junk->value = 0x5555;
	}
	n = verify(gc.roots[0]);
	CHECK(i == 20000 && n == 2148, "[%s] 20000 more allocations (%lu minor collections) "
	      "reused only free cells: tree intact (%ld)", ops->name,
	      (unsigned long)gc.st.minor, n);
	gc_major(&gc);
	CHECK(gc_live(&gc) == 2148, "[%s] final major: %zu live", ops->name, gc_live(&gc));
	gc_destroy(&gc);
}

/* A tracker blind to writes: the control showing the checks can fail. */
static void *blind_map(struct gc *gc, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void blind_unmap(struct gc *gc)
{
	munmap(gc->arena, gc->len);
}

static int blind_begin(struct gc *gc)
{
	memset(gc->dirty, 0, gc->npages);
	return 0;
}

static int blind_end(struct gc *gc)
{
	return 0;
}

static const struct gc_dirty_ops blind = {
	.name = "blind", .map = blind_map, .unmap = blind_unmap,
	.begin = blind_begin, .end = blind_end,
};

static void control(void)
{
	struct gc gc;
	struct gc_obj *x, *o;
	uint32_t id = 1;
	long n = -2;
	int i;

	if (gc_init(&gc, &blind, 64 * GC_PAGE) == 0) {
		build(&gc, &gc.roots[0], 8, &id);
		gc_major(&gc);
		for (x = gc.roots[0]; x->right; x = x->right)
			;
		for (i = 0; i < 10; i++) {
			o = gc_alloc(&gc);
			o->id = id++;
			o->value = hash(o->id);
			o->left = x->left;
			x->left = o;
		}
		gc_minor(&gc);
		n = verify(gc.roots[0]);
		gc_destroy(&gc);
	}
	CHECK(n == -1, "control: with a tracker blind to writes the minor collection frees the "
	      "young chain under an old node, and verify() sees it (%ld)", n);
}

/* ---------------------------------------------------------- benchmark */

struct run {
	const char *mode, *tracker;
	double total, gc, mutator;
	uint64_t minor, major, dirty_pages, faults;
	bool ok;
};

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static void workload(const struct gc_dirty_ops *ops, int mutations, struct run *out)
{
	struct gc gc;
	uint32_t id = 1;
	unsigned long t0;
	int i, d;

	memset(out, 0, sizeof(*out));
	out->tracker = ops->name;
	rnd_state = 12345;
	if (gc_init(&gc, ops, 1024 * GC_PAGE))
		return;
	gc.young_budget = 2048;
	t0 = dune_get_ticks();
	if (build(&gc, &gc.roots[0], 13, &id))
		goto done;
	for (i = 0; i < mutations; i++) {
		struct gc_obj *o = gc.roots[0];
		struct gc_obj **slot = NULL;

		for (d = 0; d < 12 && o; d++) {
			slot = rnd() & 1 ? &o->left : &o->right;
			if (!*slot)
				break;
			o = *slot;
		}
		o->value = hash(o->id);		/* a plain write */
		if (rnd() % 2 == 0) {
			*slot = NULL;		/* the old subtree becomes garbage */
			if (build(&gc, slot, 4, &id))
				goto done;
		}
	}
	out->total = (double)(dune_get_ticks() - t0);
	out->gc = (double)gc.st.gc_cycles;
	gc_major(&gc);
	out->ok = verify(gc.roots[0]) == (long)gc_live(&gc);
done:
	out->mutator = out->total - out->gc;
	out->minor = gc.st.minor;
	out->major = gc.st.major;
	out->dirty_pages = gc.st.dirty_pages;
	out->faults = gc.st.barrier_faults;
	gc_destroy(&gc);
}

static int bench(int mutations)
{
	struct run r[4];
	bool emu = emulated(), ok = true, same;
	int i, e;

	workload(&gc_dirty_all, mutations, &r[0]);
	workload(&gc_dirty_mprotect, mutations, &r[1]);
	r[0].mode = r[1].mode = "linux";
	e = dune_init_and_enter();
	if (e) {
		printf("not ok - dune_init_and_enter: %d\n", e);
		return e == -EOPNOTSUPP ? 77 : 1;
	}
	workload(&gc_dirty_all, mutations, &r[2]);
	workload(&gc_dirty_dune, mutations, &r[3]);
	r[2].mode = r[3].mode = "dune";
	printf("# %d mutations of a 8191-node tree in a 1024-page arena, a minor collection "
	       "every 2048 allocations; cycles%s\n", mutations,
	       emu ? " (EMULATED machine: not hardware costs)" : "");
	printf("# %-6s %-24s %12s %12s %12s %6s %6s %8s %8s %14s\n", "mode", "tracker", "total",
	       "gc", "mutator", "minor", "major", "dirty/gc", "faults", "barrier cost");
	for (i = 0; i < 4; i++) {
		double base = r[i & ~1].mutator;

		ok &= r[i].ok;
		printf("# %-6s %-24s %12.0f %12.0f %12.0f %6lu %6lu %8.1f %8lu %14.0f%s\n",
		       r[i].mode, r[i].tracker, r[i].total, r[i].gc, r[i].mutator,
		       (unsigned long)r[i].minor, (unsigned long)r[i].major,
		       r[i].minor ? (double)r[i].dirty_pages / r[i].minor : 0.0,
		       (unsigned long)r[i].faults, r[i].mutator - base, r[i].ok ? "" : "  WRONG");
	}
	/* The workload is deterministic: both trackers must see the same pages. */
	same = r[1].dirty_pages == r[3].dirty_pages && r[1].minor == r[3].minor;
	printf("# dirty pages found by mprotect and by D bits: %lu and %lu (%s)\n",
	       (unsigned long)r[1].dirty_pages, (unsigned long)r[3].dirty_pages,
	       same ? "same" : "DIFFERENT");
	printf("{\"gc_bench\": {\"emulated\": %s, \"mutations\": %d, \"trackers_agree\": %s, "
	       "\"runs\": [", emu ? "true" : "false", mutations, same ? "true" : "false");
	for (i = 0; i < 4; i++)
		printf("%s{\"mode\": \"%s\", \"tracker\": \"%s\", \"total_cycles\": %.0f, "
		       "\"gc_cycles\": %.0f, \"mutator_cycles\": %.0f, "
		       "\"barrier_overhead_cycles\": %.0f, \"minor\": %lu, \"major\": %lu, "
		       "\"dirty_pages\": %lu, \"write_faults\": %lu, \"correct\": %s}",
		       i ? ", " : "", r[i].mode, r[i].tracker, r[i].total, r[i].gc,
		       r[i].mutator, r[i].mutator - r[i & ~1].mutator, (unsigned long)r[i].minor,
		       (unsigned long)r[i].major, (unsigned long)r[i].dirty_pages,
		       (unsigned long)r[i].faults, r[i].ok ? "true" : "false");
	printf("]}}\n");
	return ok && same ? 0 : 1;
}

int main(int argc, char **argv)
{
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "bench"))
		return bench(argc > 2 ? atoi(argv[2]) : 20000);
	if (argc < 2 || strcmp(argv[1], "test")) {
		fprintf(stderr, "usage: %s test | bench [MUTATIONS]\n", argv[0]);
		return 2;
	}
	suite(&gc_dirty_mprotect, true);
	suite(&gc_dirty_all, false);
	control();
	if (access("/dev/dune", F_OK)) {
		printf("# no /dev/dune: the dirty-bit tracker is not tested\n");
		return hwtest_done() ? 1 : 77;
	}
	r = dune_init_and_enter();
	CHECK(r == 0, "dune_init_and_enter: %d", r);
	if (!r)
		suite(&gc_dirty_dune, true);
	return hwtest_done();
}
