// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests for the guest page tables (libdune/vm.c).  The identity
 * layout makes every GPA its own address, so the trees built in ordinary
 * memory are read back here with a walker of the test's own.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "unit_env.h"
#include "../../kmod/common/layout.h"
#include "../../libdune/vm_internal.h"

#define POOL		4096
#define MB2		(1UL << 21)
#define GB1		(1UL << 30)
#define VA0		0x100000000000UL	/* 16 TiB: 1G aligned, nothing there */
#define TBL		(PTE_P | PTE_W | PTE_U)	/* a non-leaf entry's flags */
#define PAGEREF		(UINT64(1) << 52)	/* vm.c's "owns a reference" bit */

static ptent_t *root;
static uint64_t base_free;	/* pool pages free with an empty root */

static uint64_t pool_free(void)
{
	struct dune_page_stats st;

	dune_page_stats_get(&st);
	return st.free;
}

static ptent_t *new_root(void)
{
	struct page *pg = dune_page_alloc();

	ck_assert_ptr_nonnull(pg);
	return dune_page2va(pg);
}

static void setup(void)
{
	unit_env_identity_layout();
	ck_assert_int_eq(dune_page_init(POOL), 0);
	root = new_root();
	base_free = pool_free();
}

/* The entry at @level for @va, following tables from @r; NULL if absent. */
static ptent_t *entry_at(ptent_t *r, uintptr_t va, int level)
{
	int l;

	for (l = 3; l > level; l--) {
		ptent_t e = r[PDX(l, va)];

		if (!(e & PTE_P) || (e & PTE_PS))
			return NULL;
		ck_assert_uint_eq(e & ~PTE_ADDR(e), TBL);
		ck_assert(dune_page_isfrompool(PTE_ADDR(e)));
		r = (ptent_t *)PTE_ADDR(e);
	}
	return &r[PDX(level, va)];
}

/* The test's own MMU: translate @va like the CPU would; ~0 if not present. */
static uintptr_t sw_translate(ptent_t *r, uintptr_t va, ptent_t *leaf)
{
	int l;

	for (l = 3; l >= 0; l--) {
		ptent_t e = r[PDX(l, va)];
		uintptr_t size = 1UL << PDSHIFT(l);

		if (!(e & PTE_P))
			return ~0UL;
		if (!l || (l < 3 && (e & PTE_PS))) {
			*leaf = e;
			return (PTE_ADDR(e) & ~(size - 1)) + (va & (size - 1));
		}
		r = (ptent_t *)PTE_ADDR(e);
	}
	return ~0UL;
}

/* ----------------------------------------------------------- map_phys */

START_TEST(map_phys_4k_exact_entries)
{
	uintptr_t va = VA0 + 0x12345000;

	ck_assert_int_eq(dune_vm_map_phys(root, (void *)va, PGSIZE, (void *)0x7654000,
					  PERM_R | PERM_W), 0);
	ck_assert_uint_eq(*entry_at(root, va, 0), 0x7654000 | PTE_P | PTE_W | PTE_NX);
	/* Exactly three tables were allocated and the neighbours are empty. */
	ck_assert_uint_eq(pool_free(), base_free - 3);
	ck_assert_uint_eq(*entry_at(root, va + PGSIZE, 0), 0);
	ck_assert_uint_eq(*entry_at(root, va - PGSIZE, 0), 0);
}
END_TEST

START_TEST(map_phys_2m_and_1g)
{
	ck_assert_int_eq(dune_vm_map_phys(root, (void *)(VA0 + 3 * MB2), 2 * MB2,
					  (void *)(40 * MB2), PERM_R | PERM_X | PERM_BIG), 0);
	ck_assert_uint_eq(*entry_at(root, VA0 + 3 * MB2, 1), 40 * MB2 | PTE_P | PTE_PS);
	ck_assert_uint_eq(*entry_at(root, VA0 + 4 * MB2, 1), 41 * MB2 | PTE_P | PTE_PS);
	ck_assert_uint_eq(*entry_at(root, VA0 + 5 * MB2, 1), 0);
	ck_assert_ptr_null(entry_at(root, VA0 + 3 * MB2, 0));	/* no page table */
	ck_assert_uint_eq(pool_free(), base_free - 2);

	ck_assert_int_eq(dune_vm_map_phys(root, (void *)(VA0 + 2 * GB1), GB1, (void *)(7 * GB1),
					  PERM_R | PERM_W | PERM_U | PERM_BIG_1GB), 0);
	ck_assert_uint_eq(*entry_at(root, VA0 + 2 * GB1, 2),
			  7 * GB1 | PTE_P | PTE_W | PTE_U | PTE_PS | PTE_NX);
	ck_assert_ptr_null(entry_at(root, VA0 + 2 * GB1, 1));
	ck_assert_uint_eq(pool_free(), base_free - 2);	/* PDPT shared */
}
END_TEST

START_TEST(perm_bits)
{
	static const struct {
		int perm;
		ptent_t pte;
	} cases[] = {
		{ PERM_R, PTE_P | PTE_NX },
		{ PERM_R | PERM_W | PERM_X | PERM_U, PTE_P | PTE_W | PTE_U },
		{ PERM_R | PERM_UC, PTE_P | PTE_PCD | PTE_NX },
		{ PERM_R | PERM_W | PERM_COW, PTE_P | PTE_COW | PTE_NX },
		{ PERM_R | PERM_USR1, PTE_P | PTE_NX | PTE_USR1 },
		{ PERM_R | PERM_USR2, PTE_P | PTE_NX | PTE_USR2 },
		{ PERM_R | PERM_USR3, PTE_P | PTE_NX | PTE_USR3 },
		{ PERM_NONE, PTE_NX },
		{ PERM_X, PTE_NX },	/* no R: no access at all */
		{ PERM_SCODE, PTE_P },
		{ PERM_UTEXT, PTE_P | PTE_U | PTE_W | PTE_NX },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uintptr_t va = VA0 + i * PGSIZE;

		ck_assert_int_eq(dune_vm_map_phys(root, (void *)va, PGSIZE, (void *)0x5000,
						  cases[i].perm), 0);
		ck_assert_msg(*entry_at(root, va, 0) == (0x5000 | cases[i].pte),
			      "perm %#x: pte %#lx", cases[i].perm, *entry_at(root, va, 0));
	}
}
END_TEST

START_TEST(map_phys_errors)
{
	void *va = (void *)VA0;

	ck_assert_int_eq(dune_vm_map_phys(root, va + PGSIZE, MB2, (void *)0, PERM_R | PERM_BIG),
			 -EINVAL);
	ck_assert_int_eq(dune_vm_map_phys(root, va, MB2, (void *)PGSIZE, PERM_R | PERM_BIG),
			 -EINVAL);
	ck_assert_int_eq(dune_vm_map_phys(root, va + MB2, GB1, (void *)0, PERM_R | PERM_BIG_1GB),
			 -EINVAL);
	ck_assert_int_eq(dune_vm_map_phys(root, va, GB1, (void *)MB2, PERM_R | PERM_BIG_1GB),
			 -EINVAL);
	ck_assert_int_eq(dune_vm_map_phys(root, va, GB1, (void *)0,
					  PERM_R | PERM_BIG | PERM_BIG_1GB), -EINVAL);
	ck_assert_int_eq(dune_vm_map_phys(root, va + 8, PGSIZE, (void *)16, PERM_R), -EINVAL);
	ck_assert_int_eq(dune_vm_map_phys(root, va, PGSIZE, (void *)0, PERM_W), -EINVAL);
	ck_assert_int_eq(dune_vm_map_phys(root, (void *)-PGSIZE, 2 * PGSIZE, (void *)0, PERM_R),
			 -EINVAL);
	ck_assert_int_eq(dune_vm_map_phys(root, va, PGSIZE, (void *)(1UL << 52), PERM_R),
			 -EINVAL);
	/* Nothing was built. */
	ck_assert_uint_eq(pool_free(), base_free);
	ck_assert_uint_eq(root[PDX(3, VA0)], 0);
	ck_assert_int_eq(dune_vm_map_phys(root, va, 0, (void *)0, PERM_R), 0);
	ck_assert_uint_eq(pool_free(), base_free);
}
END_TEST

START_TEST(map_phys_unaligned_same_offset)
{
	/* 3 bytes over a page boundary: both pages, offsets kept. */
	ck_assert_int_eq(dune_vm_map_phys(root, (void *)(VA0 + 0xffe), 3, (void *)0x9ffe,
					  PERM_R), 0);
	ck_assert_uint_eq(PTE_ADDR(*entry_at(root, VA0, 0)), 0x9000);
	ck_assert_uint_eq(PTE_ADDR(*entry_at(root, VA0 + PGSIZE, 0)), 0xa000);
	ck_assert_uint_eq(*entry_at(root, VA0 + 2 * PGSIZE, 0), 0);
}
END_TEST

START_TEST(map_replaces)
{
	/* 4K pages under a later 2M mapping: their table and pages go. */
	ck_assert_int_eq(dune_vm_map_pages(root, (void *)VA0, 4 * PGSIZE, PERM_R | PERM_W), 0);
	ck_assert_uint_eq(pool_free(), base_free - 3 - 4);
	ck_assert_int_eq(dune_vm_map_phys(root, (void *)VA0, MB2, (void *)0, PERM_R | PERM_BIG), 0);
	ck_assert_uint_eq(pool_free(), base_free - 2);
	ck_assert_uint_eq(*entry_at(root, VA0, 1), PTE_P | PTE_PS | PTE_NX);
	/* A 4K mapping inside a 2M one splits it; the rest still maps. */
	ck_assert_int_eq(dune_vm_map_phys(root, (void *)(VA0 + PGSIZE), PGSIZE, (void *)0x3000000,
					  PERM_R | PERM_W), 0);
	ck_assert_uint_eq(*entry_at(root, VA0 + PGSIZE, 0), 0x3000000 | PTE_P | PTE_W | PTE_NX);
	ck_assert_uint_eq(*entry_at(root, VA0 + 2 * PGSIZE, 0), 2 * PGSIZE | PTE_P | PTE_NX);
	ck_assert_uint_eq(*entry_at(root, VA0 + MB2 - PGSIZE, 0), (MB2 - PGSIZE) | PTE_P | PTE_NX);
}
END_TEST

/* ------------------------------------------------------------- lookup */

START_TEST(lookup_modes)
{
	ptent_t *pte = NULL, *pde, *pdpte;
	void *va = (void *)(VA0 + GB1 + 5 * MB2 + 7 * PGSIZE);

	ck_assert_int_eq(dune_vm_lookup(root, va, CREATE_NONE, &pte), -ENOENT);
	ck_assert_uint_eq(pool_free(), base_free);
	ck_assert_int_eq(dune_vm_lookup(root, va, 7, &pte), -EINVAL);

	ck_assert_int_eq(dune_vm_lookup(root, va, CREATE_BIG_1GB, &pdpte), 0);
	ck_assert_uint_eq(pool_free(), base_free - 1);
	ck_assert_ptr_eq(pdpte, entry_at(root, (uintptr_t)va, 2));
	ck_assert_uint_eq(*pdpte, 0);

	ck_assert_int_eq(dune_vm_lookup(root, va, CREATE_BIG, &pde), 0);
	ck_assert_uint_eq(pool_free(), base_free - 2);
	ck_assert_ptr_eq(pde, entry_at(root, (uintptr_t)va, 1));

	ck_assert_int_eq(dune_vm_lookup(root, va, CREATE_NORMAL, &pte), 0);
	ck_assert_uint_eq(pool_free(), base_free - 3);
	ck_assert_ptr_eq(pte, entry_at(root, (uintptr_t)va, 0));
	ck_assert_uint_eq(*pte, 0);
	/* Now the tables exist, CREATE_NONE finds the (empty) slot. */
	ck_assert_int_eq(dune_vm_lookup(root, va, CREATE_NONE, &pde), 0);
	ck_assert_ptr_eq(pde, pte);
}
END_TEST

START_TEST(lookup_returns_big_leaf)
{
	ptent_t *pte;
	void *va = (void *)(VA0 + 3 * MB2 + 0x1234);

	ck_assert_int_eq(dune_vm_map_phys(root, (void *)(VA0 + 3 * MB2), MB2, (void *)MB2,
					  PERM_R | PERM_BIG), 0);
	ck_assert_int_eq(dune_vm_lookup(root, va, CREATE_NORMAL, &pte), 0);
	ck_assert_ptr_eq(pte, entry_at(root, VA0 + 3 * MB2, 1));
	ck_assert_int_eq(dune_vm_lookup(root, va, CREATE_NONE, &pte), 0);
	ck_assert_ptr_eq(pte, entry_at(root, VA0 + 3 * MB2, 1));
	ck_assert_uint_eq(pool_free(), base_free - 2);	/* nothing built below it */

	ck_assert_int_eq(dune_vm_map_phys(root, (void *)(VA0 + GB1), GB1, (void *)0,
					  PERM_R | PERM_BIG_1GB), 0);
	ck_assert_int_eq(dune_vm_lookup(root, (void *)(VA0 + GB1 + 77 * MB2), CREATE_BIG, &pte), 0);
	ck_assert_ptr_eq(pte, entry_at(root, VA0 + GB1, 2));
}
END_TEST

/* ----------------------------------------------------------- mprotect */

START_TEST(mprotect_flags)
{
	ptent_t *pte;

	ck_assert_int_eq(dune_vm_map_phys(root, (void *)VA0, 3 * PGSIZE, (void *)0x10000,
					  PERM_R | PERM_W), 0);
	pte = entry_at(root, VA0 + PGSIZE, 0);
	*pte |= PTE_A | PTE_D;
	ck_assert_int_eq(dune_vm_mprotect(root, (void *)(VA0 + PGSIZE), PGSIZE,
					  PERM_R | PERM_X | PERM_U), 0);
	ck_assert_uint_eq(*pte, 0x11000 | PTE_P | PTE_U | PTE_A | PTE_D);
	ck_assert_uint_eq(*entry_at(root, VA0, 0), 0x10000 | PTE_P | PTE_W | PTE_NX);
	ck_assert_uint_eq(*entry_at(root, VA0 + 2 * PGSIZE, 0), 0x12000 | PTE_P | PTE_W | PTE_NX);

	/* No access, then access again: the address survives. */
	ck_assert_int_eq(dune_vm_mprotect(root, (void *)VA0, 3 * PGSIZE, PERM_NONE), 0);
	ck_assert_uint_eq(*entry_at(root, VA0, 0), 0x10000 | PTE_NX);
	ck_assert_int_eq(dune_vm_mprotect(root, (void *)VA0, 3 * PGSIZE, PERM_R | PERM_W), 0);
	ck_assert_uint_eq(*entry_at(root, VA0 + 2 * PGSIZE, 0), 0x12000 | PTE_P | PTE_W | PTE_NX);

	ck_assert_int_eq(dune_vm_mprotect(root, (void *)VA0, PGSIZE, PERM_W), -EINVAL);
	ck_assert_int_eq(dune_vm_mprotect(root, (void *)VA0, PGSIZE,
					  PERM_R | PERM_W | PERM_COW), 0);
	ck_assert_uint_eq(*entry_at(root, VA0, 0), 0x10000 | PTE_P | PTE_COW | PTE_NX);
	/* Unmapped parts are skipped, nothing is built. */
	ck_assert_int_eq(dune_vm_mprotect(root, (void *)(VA0 + GB1), GB1, PERM_R), 0);
	ck_assert_uint_eq(pool_free(), base_free - 3);
}
END_TEST

START_TEST(mprotect_splits_2m)
{
	uintptr_t va = VA0 + 4 * MB2, pa = 10 * MB2;
	ptent_t pde;
	int i;

	ck_assert_int_eq(dune_vm_map_phys(root, (void *)va, MB2, (void *)pa,
					  PERM_R | PERM_W | PERM_BIG), 0);
	/* The PAT bit moves from bit 12 to bit 7 (SDM Vol. 3A 4.9.2). */
	*entry_at(root, va, 1) |= PTE_PAT_PS;
	ck_assert_int_eq(dune_vm_mprotect(root, (void *)(va + 5 * PGSIZE), PGSIZE, PERM_R), 0);
	pde = *entry_at(root, va, 1);
	ck_assert_uint_eq(pde & (PTE_PS | TBL), TBL);
	for (i = 0; i < 512; i++) {
		ptent_t want = (pa + i * PGSIZE) | PTE_P | PTE_NX | PTE_PAT |
			      (i == 5 ? 0 : PTE_W);

		ck_assert_uint_eq(*entry_at(root, va + i * PGSIZE, 0), want);
	}
	/* Covering a whole big page keeps it big. */
	ck_assert_int_eq(dune_vm_map_phys(root, (void *)(va + MB2), MB2, (void *)pa,
					  PERM_R | PERM_BIG), 0);
	ck_assert_int_eq(dune_vm_mprotect(root, (void *)(va + MB2), MB2, PERM_R | PERM_W), 0);
	ck_assert_uint_eq(*entry_at(root, va + MB2, 1), pa | PTE_P | PTE_W | PTE_PS | PTE_NX);
}
END_TEST

START_TEST(mprotect_splits_1g)
{
	uintptr_t va = VA0 + 3 * GB1, pa = 2 * GB1, at = va + 7 * MB2 + 3 * PGSIZE;
	ptent_t leaf;

	ck_assert_int_eq(dune_vm_map_phys(root, (void *)va, GB1, (void *)pa,
					  PERM_R | PERM_X | PERM_BIG_1GB), 0);
	ck_assert_int_eq(dune_vm_mprotect(root, (void *)at, PGSIZE, PERM_R | PERM_W), 0);
	ck_assert_uint_eq(*entry_at(root, va, 2) & PTE_PS, 0);
	ck_assert_uint_eq(*entry_at(root, va, 1), pa | PTE_P | PTE_PS);
	ck_assert_uint_eq(*entry_at(root, va + 511 * MB2, 1), (pa + 511 * MB2) | PTE_P | PTE_PS);
	ck_assert_uint_eq(*entry_at(root, at, 0),
			  (pa + 7 * MB2 + 3 * PGSIZE) | PTE_P | PTE_W | PTE_NX);
	ck_assert_uint_eq(*entry_at(root, at + PGSIZE, 0), (pa + 7 * MB2 + 4 * PGSIZE) | PTE_P);
	ck_assert_uint_eq(sw_translate(root, va + 300 * MB2 + 0x4567, &leaf),
			  pa + 300 * MB2 + 0x4567);
	ck_assert_uint_eq(pool_free(), base_free - 1 - 2);	/* PDPT, new PD, new PT */
}
END_TEST

/* -------------------------------------------------------------- unmap */

START_TEST(unmap_frees_tables)
{
	ptent_t *pte;

	ck_assert_int_eq(dune_vm_map_phys(root, (void *)VA0, 2 * PGSIZE, (void *)0, PERM_R), 0);
	ck_assert_uint_eq(pool_free(), base_free - 3);
	dune_vm_unmap(root, (void *)VA0, PGSIZE);
	ck_assert_uint_eq(*entry_at(root, VA0, 0), 0);
	ck_assert_uint_eq(*entry_at(root, VA0 + PGSIZE, 0), PGSIZE | PTE_P | PTE_NX);
	ck_assert_uint_eq(pool_free(), base_free - 3);
	dune_vm_unmap(root, (void *)(VA0 + PGSIZE), PGSIZE);
	ck_assert_uint_eq(pool_free(), base_free);
	ck_assert_uint_eq(root[PDX(3, VA0)], 0);
	ck_assert_int_eq(dune_vm_lookup(root, (void *)VA0, CREATE_NONE, &pte), -ENOENT);
	dune_vm_unmap(root, (void *)VA0, 0);	/* nothing */
}
END_TEST

START_TEST(unmap_part_of_big_page)
{
	ptent_t leaf;

	ck_assert_int_eq(dune_vm_map_phys(root, (void *)VA0, MB2, (void *)MB2,
					  PERM_R | PERM_BIG), 0);
	dune_vm_unmap(root, (void *)(VA0 + PGSIZE), 2 * PGSIZE);
	ck_assert_uint_eq(sw_translate(root, VA0, &leaf), MB2);
	ck_assert_uint_eq(sw_translate(root, VA0 + PGSIZE, &leaf), ~0UL);
	ck_assert_uint_eq(sw_translate(root, VA0 + 2 * PGSIZE + 5, &leaf), ~0UL);
	ck_assert_uint_eq(sw_translate(root, VA0 + 3 * PGSIZE + 5, &leaf), MB2 + 3 * PGSIZE + 5);
	ck_assert_uint_eq(pool_free(), base_free - 3);
	/* The whole range: everything goes back to the pool. */
	dune_vm_unmap(root, (void *)VA0, MB2);
	ck_assert_uint_eq(pool_free(), base_free);
}
END_TEST

START_TEST(map_pages_and_unmap)
{
	struct page *pg[8];
	int i, j;

	ck_assert_int_eq(dune_vm_map_pages(root, (void *)VA0, 8 * PGSIZE, PERM_R | PERM_W), 0);
	ck_assert_uint_eq(pool_free(), base_free - 3 - 8);
	for (i = 0; i < 8; i++) {
		ptent_t e = *entry_at(root, VA0 + i * PGSIZE, 0);

		ck_assert_uint_eq(e & ~PTE_ADDR(e), PTE_P | PTE_W | PTE_NX | PAGEREF);
		ck_assert(dune_page_isfrompool(PTE_ADDR(e)));
		pg[i] = dune_vm_lookup_page(root, (void *)(VA0 + i * PGSIZE + 9));
		ck_assert_ptr_eq(pg[i], dune_pa2page(PTE_ADDR(e)));
		ck_assert_uint_eq(pg[i]->ref, 1);
		ck_assert_uint_eq(*(uint64_t *)dune_page2va(pg[i]), 0);
		for (j = 0; j < i; j++)
			ck_assert_ptr_ne(pg[i], pg[j]);
	}
	ck_assert_int_eq(dune_vm_map_pages(root, (void *)VA0, PGSIZE, PERM_W), -EINVAL);
	ck_assert_int_eq(dune_vm_map_pages(root, (void *)VA0, MB2, PERM_R | PERM_BIG), -EINVAL);
	dune_vm_unmap(root, (void *)VA0, 8 * PGSIZE);
	ck_assert_uint_eq(pool_free(), base_free);
	for (i = 0; i < 8; i++)
		ck_assert_uint_eq(pg[i]->ref, 0);
}
END_TEST

START_TEST(insert_lookup_page_refcounts)
{
	struct page *pg = dune_page_alloc();
	void *va = (void *)(VA0 + 0x5000);

	ck_assert_int_eq(dune_vm_insert_page(root, va + 0x10, pg, PERM_R | PERM_U), 0);
	ck_assert_uint_eq(pg->ref, 2);
	ck_assert_uint_eq(*entry_at(root, (uintptr_t)va, 0),
			  dune_page2pa(pg) | PTE_P | PTE_U | PTE_NX | PAGEREF);
	ck_assert_ptr_eq(dune_vm_lookup_page(root, va), pg);
	ck_assert_uint_eq(pg->ref, 2);	/* lookup takes no reference */
	ck_assert_ptr_null(dune_vm_lookup_page(root, va + PGSIZE));
	ck_assert_ptr_null(dune_vm_lookup_page(root, (void *)(VA0 + GB1)));
	/* Inserting again at the same place keeps one reference per leaf. */
	ck_assert_int_eq(dune_vm_insert_page(root, va, pg, PERM_R), 0);
	ck_assert_uint_eq(pg->ref, 2);
	ck_assert_int_eq(dune_vm_insert_page(root, va + PGSIZE, pg, PERM_R), 0);
	ck_assert_uint_eq(pg->ref, 3);
	ck_assert_int_eq(dune_vm_insert_page(root, va, pg, PERM_R | PERM_BIG), -EINVAL);
	ck_assert_uint_eq(pg->ref, 3);
	/* map_phys takes none: not a pool page owner. */
	ck_assert_int_eq(dune_vm_map_phys(root, va + 2 * PGSIZE, PGSIZE, (void *)dune_page2pa(pg),
					  PERM_R), 0);
	ck_assert_ptr_eq(dune_vm_lookup_page(root, va + 2 * PGSIZE), pg);
	ck_assert_uint_eq(pg->ref, 3);
	dune_vm_unmap(root, va, 3 * PGSIZE);
	ck_assert_uint_eq(pg->ref, 1);
	dune_page_put(pg);
	ck_assert_uint_eq(pool_free(), base_free);
}
END_TEST

START_TEST(lookup_page_inside_big)
{
	uintptr_t pa = dune_page2pa(&pages[0]) & ~(MB2 - 1);

	/* A 2M leaf over the pool: the page is found by its offset. */
	ck_assert_int_eq(dune_vm_map_phys(root, (void *)VA0, MB2, (void *)pa,
					  PERM_R | PERM_BIG), 0);
	ck_assert_ptr_eq(dune_vm_lookup_page(root, (void *)(VA0 + dune_page_base - pa)), &pages[0]);
	ck_assert_ptr_null(dune_vm_lookup_page(root, (void *)(VA0 + GB1)));
}
END_TEST

/* ------------------------------------------------------- clone, free */

START_TEST(clone_and_free)
{
	ptent_t *copy;
	struct page *pg;
	ptent_t a, b;
	uintptr_t va;

	ck_assert_int_eq(dune_vm_map_pages(root, (void *)VA0, 2 * PGSIZE, PERM_R | PERM_W), 0);
	ck_assert_int_eq(dune_vm_map_phys(root, (void *)(VA0 + MB2), MB2, (void *)0,
					  PERM_R | PERM_BIG), 0);
	ck_assert_int_eq(dune_vm_map_phys(root, (void *)(VA0 + GB1), GB1, (void *)GB1,
					  PERM_R | PERM_W | PERM_BIG_1GB), 0);
	pg = dune_vm_lookup_page(root, (void *)VA0);
	copy = dune_vm_clone(root);
	ck_assert_ptr_nonnull(copy);
	ck_assert_ptr_ne(copy, root);
	ck_assert_uint_eq(pg->ref, 2);
	/* Same leaves, other tables. */
	for (va = VA0; va < VA0 + 2 * GB1; va += MB2 / 2) {
		ck_assert_uint_eq(sw_translate(copy, va, &a), sw_translate(root, va, &b));
		if (sw_translate(root, va, &b) != ~0UL)
			ck_assert_uint_eq(a, b);
	}
	ck_assert_ptr_ne(entry_at(copy, VA0, 0), entry_at(root, VA0, 0));
	ck_assert_uint_eq(*entry_at(copy, VA0 + GB1, 2) & PTE_PS, PTE_PS);
	dune_vm_free(copy);
	ck_assert_uint_eq(pg->ref, 1);
	dune_vm_unmap(root, (void *)VA0, 2 * GB1);
	ck_assert_uint_eq(pool_free(), base_free);
	dune_vm_free(root);
	ck_assert_uint_eq(pool_free(), base_free + 1);
}
END_TEST

START_TEST(free_drops_references)
{
	struct page *pg = dune_page_alloc();

	ck_assert_int_eq(dune_vm_insert_page(root, (void *)VA0, pg, PERM_R), 0);
	ck_assert_int_eq(dune_vm_map_pages(root, (void *)(VA0 + 5 * GB1), 3 * PGSIZE, PERM_R), 0);
	dune_vm_free(root);
	ck_assert_uint_eq(pg->ref, 1);
	dune_page_put(pg);
	ck_assert_uint_eq(pool_free(), base_free + 1);
}
END_TEST

/* -------------------------------------------------------------- COW */

START_TEST(cow_copies_and_keeps_original)
{
	struct page *pg = dune_page_alloc();
	char *mem = dune_page2va(pg);
	ptent_t *copy, *e_root, *e_copy;
	char *new;

	/* Identity layout: map the page at its own address, as in Dune. */
	strcpy(mem, "original");
	ck_assert_int_eq(dune_vm_insert_page(root, mem, pg, PERM_R | PERM_W), 0);
	dune_page_put(pg);
	copy = dune_vm_clone(root);
	ck_assert_uint_eq(pg->ref, 2);
	ck_assert_int_eq(dune_vm_mprotect(root, mem, PGSIZE, PERM_R | PERM_W | PERM_COW), 0);
	ck_assert_int_eq(dune_vm_mprotect(copy, mem, PGSIZE, PERM_R | PERM_W | PERM_COW), 0);
	e_root = entry_at(root, (uintptr_t)mem, 0);
	e_copy = entry_at(copy, (uintptr_t)mem, 0);
	ck_assert_uint_eq(*e_copy & (PTE_W | PTE_COW), PTE_COW);

	pgroot = copy;
	dune_vm_default_pgflt_handler((uintptr_t)mem + 8, FEC_P | FEC_W);
	ck_assert_uint_ne(PTE_ADDR(*e_copy), dune_page2pa(pg));
	ck_assert_uint_eq(*e_copy & ~PTE_ADDR(*e_copy), PTE_P | PTE_W | PTE_NX | PAGEREF);
	new = (char *)PTE_ADDR(*e_copy);
	ck_assert_str_eq(new, "original");
	strcpy(new, "changed");
	ck_assert_str_eq(mem, "original");
	ck_assert_uint_eq(pg->ref, 1);
	ck_assert_uint_eq(*e_root, dune_page2pa(pg) | PTE_P | PTE_COW | PTE_NX | PAGEREF);

	/* The last sharer writes in place. */
	pgroot = root;
	dune_vm_default_pgflt_handler((uintptr_t)mem, FEC_P | FEC_W);
	ck_assert_uint_eq(*e_root, dune_page2pa(pg) | PTE_P | PTE_W | PTE_NX | PAGEREF);

	dune_vm_free(copy);
	dune_vm_unmap(root, mem, PGSIZE);
	ck_assert_uint_eq(pool_free(), base_free);
}
END_TEST

/* A fault the default handler cannot resolve (a read of a present page)
 * must end the process: returning would fault again forever. */
START_TEST(unresolvable_fault_kills)
{
	struct page *pg = dune_page_alloc();
	char *mem = dune_page2va(pg);

	ck_assert_int_eq(dune_vm_insert_page(root, mem, pg, PERM_R), 0);
	pgroot = root;
	dune_vm_default_pgflt_handler((uintptr_t)mem, FEC_P);
	ck_abort_msg("the handler returned");
}
END_TEST

START_TEST(cow_of_process_memory_in_big_page)
{
	/* A 2M COW mapping of ordinary memory: the fault splits it and copies
	 * one 4K page; the memory itself is untouched. */
	char *buf = aligned_alloc(MB2, MB2);
	ptent_t leaf;

	memset(buf, 'x', MB2);
	ck_assert_int_eq(dune_vm_map_phys(root, buf, MB2, buf,
					  PERM_R | PERM_W | PERM_COW | PERM_BIG), 0);
	pgroot = root;
	dune_vm_default_pgflt_handler((uintptr_t)buf + 3 * PGSIZE + 1, FEC_P | FEC_W);
	ck_assert_uint_eq(*entry_at(root, (uintptr_t)buf, 1) & PTE_PS, 0);
	ck_assert_uint_eq(sw_translate(root, (uintptr_t)buf + 2 * PGSIZE, &leaf),
			  (uintptr_t)buf + 2 * PGSIZE);
	ck_assert_uint_eq(leaf & (PTE_W | PTE_COW), PTE_COW);
	ck_assert(dune_page_isfrompool(sw_translate(root, (uintptr_t)buf + 3 * PGSIZE, &leaf)));
	ck_assert_uint_eq(leaf & (PTE_W | PTE_COW), PTE_W);
	memset((void *)PTE_ADDR(leaf), 'y', PGSIZE);
	ck_assert_int_eq(buf[3 * PGSIZE], 'x');
	ck_assert_int_eq(*(char *)PTE_ADDR(leaf), 'y');
	free(buf);
}
END_TEST

/* ---------------------------------------------------- walks, A/D bits */

struct visit {
	int n;
	uintptr_t va[16];
	ptent_t *pte[16];
	int stop_at;
};

static int record(const void *arg, ptent_t *ptep, void *va)
{
	struct visit *v = (struct visit *)arg;

	ck_assert_int_lt(v->n, 16);
	v->va[v->n] = (uintptr_t)va;
	v->pte[v->n++] = ptep;
	return v->n == v->stop_at ? 42 : 0;
}

START_TEST(page_walk_visits_leaves_in_order)
{
	struct visit v = { 0 };
	const uintptr_t want[] = { VA0 + PGSIZE, VA0 + 3 * PGSIZE, VA0 + 2 * MB2, VA0 + GB1,
				   VA0 + 2 * GB1 + 5 * PGSIZE };
	int i;

	/* Mapped out of order; one PERM_NONE leaf, still a mapping. */
	ck_assert_int_eq(dune_vm_map_phys(root, (void *)(VA0 + GB1), GB1, 0,
					  PERM_R | PERM_BIG_1GB), 0);
	ck_assert_int_eq(dune_vm_map_phys(root, (void *)(VA0 + 3 * PGSIZE), PGSIZE, 0,
					  PERM_NONE), 0);
	ck_assert_int_eq(dune_vm_map_phys(root, (void *)(VA0 + 2 * MB2), MB2, 0,
					  PERM_R | PERM_BIG), 0);
	ck_assert_int_eq(dune_vm_map_pages(root, (void *)(VA0 + 2 * GB1 + 5 * PGSIZE), PGSIZE,
					   PERM_R), 0);
	ck_assert_int_eq(dune_vm_map_phys(root, (void *)(VA0 + PGSIZE), PGSIZE, 0, PERM_R), 0);

	ck_assert_int_eq(dune_vm_page_walk(root, VA_START, VA_END, record, &v), 0);
	ck_assert_int_eq(v.n, 5);
	for (i = 0; i < 5; i++) {
		ck_assert_uint_eq(v.va[i], want[i]);
		ck_assert_ptr_eq(v.pte[i], entry_at(root, want[i], i == 2 ? 1 : i == 3 ? 2 : 0));
	}
	/* Inclusive bounds, and leaves that only overlap count. */
	v.n = 0;
	ck_assert_int_eq(dune_vm_page_walk(root, (void *)(VA0 + 3 * PGSIZE),
					   (void *)(VA0 + GB1), record, &v), 0);
	ck_assert_int_eq(v.n, 3);
	ck_assert_uint_eq(v.va[0], VA0 + 3 * PGSIZE);
	ck_assert_uint_eq(v.va[2], VA0 + GB1);
	v.n = 0;
	ck_assert_int_eq(dune_vm_page_walk(root, (void *)(VA0 + 2 * MB2 + 9),
					   (void *)(VA0 + 2 * MB2 + 10), record, &v), 0);
	ck_assert_int_eq(v.n, 1);
	ck_assert_uint_eq(v.va[0], VA0 + 2 * MB2);
	/* A non-zero return stops the walk and is returned. */
	v.n = 0;
	v.stop_at = 2;
	ck_assert_int_eq(dune_vm_page_walk(root, VA_START, VA_END, record, &v), 42);
	ck_assert_int_eq(v.n, 2);
	/* Empty range. */
	v.n = 0;
	ck_assert_int_eq(dune_vm_page_walk(root, (void *)(VA0 + 4 * PGSIZE),
					   (void *)(VA0 + 2 * MB2 - 1), record, &v), 0);
	ck_assert_int_eq(v.n, 0);
}
END_TEST

START_TEST(page_walk_high_half_is_canonical)
{
	struct visit v = { 0 };
	ptent_t *pte;

	ck_assert_int_eq(dune_vm_lookup(root, (void *)0xffffffffff600000UL, CREATE_NORMAL, &pte),
			 0);
	*pte = 0x1000 | PTE_P;
	ck_assert_int_eq(dune_vm_page_walk(root, VA_START, VA_END, record, &v), 0);
	ck_assert_int_eq(v.n, 1);
	ck_assert_uint_eq(v.va[0], 0xffffffffff600000UL);
	dune_vm_unmap(root, (void *)0xffffffffff600000UL, PGSIZE);
	ck_assert_uint_eq(pool_free(), base_free);
}
END_TEST

START_TEST(clear_ad_bits)
{
	ck_assert_int_eq(dune_vm_map_phys(root, (void *)VA0, 4 * PGSIZE, 0, PERM_R | PERM_W), 0);
	ck_assert_int_eq(dune_vm_map_phys(root, (void *)(VA0 + MB2), MB2, 0, PERM_R | PERM_BIG), 0);
	*entry_at(root, VA0, 0) |= PTE_A;
	*entry_at(root, VA0 + PGSIZE, 0) |= PTE_A | PTE_D;
	*entry_at(root, VA0 + 3 * PGSIZE, 0) |= PTE_D;
	*entry_at(root, VA0 + MB2, 1) |= PTE_A;

	ck_assert_int_eq(dune_vm_clear_ad(root, (void *)VA0, 2 * MB2, PTE_A), 3);
	ck_assert_uint_eq(*entry_at(root, VA0, 0) & (PTE_A | PTE_D), 0);
	ck_assert_uint_eq(*entry_at(root, VA0 + PGSIZE, 0) & (PTE_A | PTE_D), PTE_D);
	ck_assert_uint_eq(*entry_at(root, VA0 + MB2, 1), PTE_P | PTE_PS | PTE_NX);
	ck_assert_int_eq(dune_vm_clear_ad(root, (void *)VA0, 2 * MB2, PTE_A), 0);
	/* Only part of the range. */
	ck_assert_int_eq(dune_vm_clear_ad(root, (void *)(VA0 + 2 * PGSIZE), PGSIZE, PTE_D), 0);
	ck_assert_int_eq(dune_vm_clear_ad(root, (void *)VA0, 4 * PGSIZE, PTE_A | PTE_D), 2);
	ck_assert_uint_eq(*entry_at(root, VA0 + 3 * PGSIZE, 0),
			  (3 * PGSIZE) | PTE_P | PTE_W | PTE_NX);
	ck_assert_int_eq(dune_vm_clear_ad(root, (void *)VA0, PGSIZE, PTE_W), -EINVAL);
	ck_assert_int_eq(dune_vm_clear_ad(root, (void *)VA0, PGSIZE, 0), -EINVAL);
}
END_TEST

/* ------------------------------------------------------ exhaustion */

START_TEST(pool_exhaustion_no_leak)
{
	struct page *spare[2];
	ptent_t *copy;

	/* 8 pages: the root, then 3 tables and 4 pages fit, the 5th does not. */
	ck_assert_int_eq(dune_page_init(8), 0);
	root = new_root();
	base_free = pool_free();
	ck_assert_int_eq(dune_vm_map_pages(root, (void *)VA0, 5 * PGSIZE, PERM_R), -ENOMEM);
	ck_assert_uint_eq(pool_free(), base_free);
	ck_assert_uint_eq(root[PDX(3, VA0)], 0);
	ck_assert_int_eq(dune_vm_map_pages(root, (void *)VA0, 4 * PGSIZE, PERM_R), 0);
	ck_assert_uint_eq(pool_free(), 0);
	ck_assert_int_eq(dune_vm_map_phys(root, (void *)(VA0 + GB1), PGSIZE, 0, PERM_R), -ENOMEM);
	ck_assert_ptr_null(dune_vm_clone(root));
	dune_vm_unmap(root, (void *)VA0, GB1);
	ck_assert_uint_eq(pool_free(), base_free);
	/* A split needs a page too. */
	ck_assert_int_eq(dune_vm_map_phys(root, (void *)VA0, MB2, 0, PERM_R | PERM_BIG), 0);
	copy = dune_vm_clone(root);
	ck_assert_ptr_nonnull(copy);
	ck_assert_uint_eq(pool_free(), base_free - 2 - 3);
	spare[0] = dune_page_alloc();
	spare[1] = dune_page_alloc();
	ck_assert_uint_eq(pool_free(), 0);
	ck_assert_int_eq(dune_vm_mprotect(root, (void *)VA0, PGSIZE, PERM_R | PERM_W), -ENOMEM);
	ck_assert_uint_eq(*entry_at(root, VA0, 1), PTE_P | PTE_PS | PTE_NX);
	dune_page_put(spare[0]);
	dune_page_put(spare[1]);
	dune_vm_free(copy);
	dune_vm_unmap(root, (void *)VA0, MB2);
	ck_assert_uint_eq(pool_free(), base_free);
}
END_TEST

/* ------------------------------------------------- random translation */

START_TEST(random_mappings_translate)
{
	struct {
		uintptr_t va, pa, size;
		int perm;
	} m[64];
	unsigned int seed = 12345;
	ptent_t leaf;
	int i, k;

	for (i = 0; i < 64; i++) {
		int kind = rand_r(&seed) % 3;

		m[i].size = kind == 2 ? GB1 : kind == 1 ? MB2 : PGSIZE * (1UL + rand_r(&seed) % 5);
		/* Each mapping has its own 1 GiB slot: no overlaps. */
		m[i].va = VA0 + i * GB1 + (kind == 2 ? 0 : (rand_r(&seed) % 255) * MB2);
		m[i].pa = ((uintptr_t)rand_r(&seed) << 30) & ((1UL << 46) - 1);
		m[i].pa += kind == 2 ? 0 : (rand_r(&seed) % 512) * (kind ? MB2 : (uintptr_t)PGSIZE);
		m[i].perm = PERM_R | (rand_r(&seed) & 1 ? PERM_W : 0) |
			    (kind == 2 ? PERM_BIG_1GB : kind == 1 ? PERM_BIG : 0);
		ck_assert_int_eq(dune_vm_map_phys(root, (void *)m[i].va, m[i].size,
						  (void *)m[i].pa, m[i].perm), 0);
	}
	for (k = 0; k < 2; k++) {
		for (i = 0; i < 64; i++) {
			uintptr_t off = ((uintptr_t)rand_r(&seed) * 4099) % m[i].size;
			bool gone = k && (i % 3 == 0);

			ck_assert_uint_eq(sw_translate(root, m[i].va + off, &leaf),
					  gone ? ~0UL : m[i].pa + off);
			if (!gone)
				ck_assert_uint_eq(!!(leaf & PTE_W), !!(m[i].perm & PERM_W));
			if (m[i].va + m[i].size < VA0 + (i + 1) * GB1)
				ck_assert_uint_eq(sw_translate(root, m[i].va + m[i].size +
							       off % PGSIZE, &leaf), ~0UL);
			if (m[i].va > VA0 + i * GB1)
				ck_assert_uint_eq(sw_translate(root, m[i].va - 1, &leaf), ~0UL);
		}
		for (i = 0; i < 64 && !k; i += 3)
			dune_vm_unmap(root, (void *)m[i].va, m[i].size);
	}
	dune_vm_unmap(root, (void *)VA0, 64 * GB1);
	ck_assert_uint_eq(pool_free(), base_free);
}
END_TEST

/* ------------------------------------------- layout, init, mirroring */

START_TEST(address_translation)
{
	struct dune_layout *l = &dune_layout_cache;
	uintptr_t va;

	dune_layout_init(l, 0x7f1234567000UL, 0x7ffd12345678UL, 40);
	va = 0x7f1200000000UL;
	ck_assert_uint_eq(dune_va_to_pa((void *)va), va - l->mmap_base + l->gpa_map_base);
	ck_assert_uint_eq(dune_mmap_addr_to_pa((void *)va), dune_va_to_pa((void *)va));
	ck_assert_uint_eq(dune_pa_to_va(dune_va_to_pa((void *)va)), va);
	ck_assert_uint_eq(dune_stack_addr_to_pa((void *)0x7ffd12345000UL),
			  dune_va_to_pa((void *)0x7ffd12345000UL));
	ck_assert_uint_eq(dune_mmap_addr_to_pa((void *)0x7ffd12345000UL), ~0UL);
	ck_assert_uint_eq(dune_stack_addr_to_pa((void *)va), ~0UL);
	ck_assert_uint_eq(dune_va_to_pa((void *)0x555555554000UL), ~0UL);
	ck_assert_uint_eq(dune_va_to_pa((void *)0x400000), 0x400000);
	ck_assert_uint_eq(dune_pa_to_va(0), 0);
	ck_assert_uint_eq(dune_pa_to_va(0x1234), 0x1234);
	ck_assert_uint_eq(dune_pa_to_va(l->phys_limit), ~0UL);
}
END_TEST

/* A range across the layout's window edges: each page at its own mirror,
 * a page without one skipped (or -EFAULT when strict), WALK_FILL keeping
 * leaves already there.  The layouts keep the pool (this process's mmap
 * area, below 128 TiB) in their 1:1 part, where libdune finds its tables. */
START_TEST(mirror_range_across_windows)
{
	struct dune_layout *l = &dune_layout_cache;
	uintptr_t lo, va, pa;
	ptent_t e;

	/* 48 physical bits: the 1:1 part covers every user address but the
	 * windows (at 32 TiB and 48 TiB).  The stack window is moved by
	 * hand right above a shorter mmap window: adjacent in the process,
	 * 1 GiB apart in guest-physical memory. */
	dune_layout_init(l, 0x200000000000UL, 0x300000000000UL, 48);
	l->map_size -= GB1;
	l->stack_base = l->mmap_base + l->map_size;
	lo = l->stack_base - 3 * PGSIZE;
	ck_assert_int_eq(dvm_mirror_range(root, lo, lo + 6 * PGSIZE, PTE_P | PTE_W, true, 0), 0);
	for (va = lo; va < lo + 6 * PGSIZE; va += PGSIZE) {
		pa = sw_translate(root, va, &e);
		ck_assert_uint_eq(pa, dune_va_to_pa((void *)va));
		ck_assert_uint_eq(e & (PTE_P | PTE_W | PTE_PS), PTE_P | PTE_W);
	}
	ck_assert_uint_ne(sw_translate(root, lo + 2 * PGSIZE, &e) + PGSIZE,
			  sw_translate(root, lo + 3 * PGSIZE, &e));
	/* The end of the 1:1 part (47 bits): the pages above have no mirror. */
	unit_env_identity_layout();
	lo = (1UL << 47) - 2 * PGSIZE;
	ck_assert_int_eq(dvm_mirror_range(root, lo, lo + 4 * PGSIZE, PTE_P, true, 0), -EFAULT);
	ck_assert_uint_eq(sw_translate(root, lo, &e), lo);
	ck_assert_uint_eq(sw_translate(root, lo + PGSIZE, &e), lo + PGSIZE);
	ck_assert_int_eq(dvm_mirror_range(root, lo, lo + 4 * PGSIZE, PTE_P, false, 0), 0);
	/* A fill keeps a leaf that is there, and adds the missing ones. */
	ck_assert_int_eq(dune_vm_map_phys(root, (void *)(VA0 + PGSIZE), PGSIZE, (void *)0x5000,
					  PERM_R), 0);
	ck_assert_int_eq(dvm_mirror_range(root, VA0, VA0 + 3 * PGSIZE, PTE_P | PTE_W, false,
					  WALK_FILL), 0);
	ck_assert_uint_eq(sw_translate(root, VA0, &e), VA0);
	ck_assert_uint_eq(sw_translate(root, VA0 + PGSIZE, &e), 0x5000);
	ck_assert_uint_eq(e & PTE_W, 0);
	ck_assert_uint_eq(sw_translate(root, VA0 + 2 * PGSIZE, &e), VA0 + 2 * PGSIZE);
}
END_TEST

static int marker;

START_TEST(init_mirrors_process)
{
	uint64_t pool_done = 0;
	int on_stack = 1;
	ptent_t *pte, e;
	char *late;

	setenv("DUNE_PAGE_POOL_MB", "16", 1);
	ck_assert_int_eq(dune_vm_init(&pool_done), 0);
	ck_assert(pool_done != 0);
	ck_assert_uint_eq(num_pages, 4096);
	ck_assert(dune_page_isfrompool(dune_va_to_pa(pgroot)));
	ck_assert_uint_eq(phys_limit, 1UL << 47);

	/* Stack and data: supervisor, writable, not executable. */
	ck_assert_int_eq(dune_vm_lookup(pgroot, &on_stack, CREATE_NONE, &pte), 0);
	ck_assert_uint_eq(*pte, PGADDR(&on_stack) | PTE_P | PTE_W | PTE_NX);
	ck_assert_int_eq(dune_vm_lookup(pgroot, &marker, CREATE_NONE, &pte), 0);
	ck_assert_uint_eq(*pte, PGADDR(&marker) | PTE_P | PTE_W | PTE_NX);
	/* Code: executable, read-only. */
	ck_assert_int_eq(dune_vm_lookup(pgroot, (void *)dune_vm_init, CREATE_NONE, &pte), 0);
	ck_assert_uint_eq(*pte, PGADDR(dune_vm_init) | PTE_P);
	/* The whole pool, the page tables themselves included, in 2 MiB
	 * pages (the pool is 2 MiB aligned). */
	ck_assert_uint_eq(dune_page_base_va & BIG_PGMASK, 0);
	ck_assert_int_eq(dune_vm_lookup(pgroot, pgroot, CREATE_NONE, &pte), 0);
	ck_assert_uint_eq(*pte, BIG_PGADDR(pgroot) | PTE_P | PTE_W | PTE_PS | PTE_NX);
	ck_assert_int_eq(dune_vm_lookup(pgroot, (void *)(dune_page_base_va + 4095 * PGSIZE),
					CREATE_NONE, &pte), 0);
	ck_assert_uint_eq(PTE_ADDR(*pte), BIG_PGADDR(dune_page_base + 4095 * PGSIZE));
	ck_assert(*pte & PTE_PS);

	/* Memory mapped later: demand paging. */
	late = mmap(NULL, 3 * PGSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(dune_vm_lookup(pgroot, late, CREATE_NONE, &pte) != 0 || *pte == 0);
	ck_assert_int_eq(dune_vm_map_mirror((uintptr_t)late + 5), 0);
	ck_assert_int_eq(dune_vm_lookup(pgroot, late, CREATE_NONE, &pte), 0);
	ck_assert_uint_eq(*pte, (uintptr_t)late | PTE_P | PTE_W);
	e = *pte;
	ck_assert_int_eq(dune_vm_map_mirror((uintptr_t)late), 0);	/* present: as is */
	ck_assert_uint_eq(*pte, e);
	ck_assert_int_eq(dune_vm_map_mirror(1UL << 47), -EFAULT);
	ck_assert_int_eq(dune_vm_mprotect(pgroot, late, PGSIZE, PERM_NONE), 0);
	ck_assert_int_eq(dune_vm_map_mirror((uintptr_t)late), -EEXIST);

	ck_assert_int_eq(dune_vm_map_mirror_range(late + PGSIZE + 100, PGSIZE), 0);
	ck_assert_int_eq(dune_vm_lookup(pgroot, late + 2 * PGSIZE, CREATE_NONE, &pte), 0);
	ck_assert_uint_eq(*pte, ((uintptr_t)late + 2 * PGSIZE) | PTE_P | PTE_W | PTE_NX);
	ck_assert_int_eq(dune_vm_map_mirror_range((void *)((1UL << 47) - PGSIZE), 2 * PGSIZE),
			 -EFAULT);
}
END_TEST

static Suite *vm_suite(void)
{
	Suite *s = suite_create("vm");
	TCase *tc = tcase_create("tables");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, map_phys_4k_exact_entries);
	tcase_add_test(tc, map_phys_2m_and_1g);
	tcase_add_test(tc, perm_bits);
	tcase_add_test(tc, map_phys_errors);
	tcase_add_test(tc, map_phys_unaligned_same_offset);
	tcase_add_test(tc, map_replaces);
	tcase_add_test(tc, lookup_modes);
	tcase_add_test(tc, lookup_returns_big_leaf);
	tcase_add_test(tc, mprotect_flags);
	tcase_add_test(tc, mprotect_splits_2m);
	tcase_add_test(tc, mprotect_splits_1g);
	tcase_add_test(tc, unmap_frees_tables);
	tcase_add_test(tc, unmap_part_of_big_page);
	tcase_add_test(tc, map_pages_and_unmap);
	tcase_add_test(tc, insert_lookup_page_refcounts);
	tcase_add_test(tc, lookup_page_inside_big);
	tcase_add_test(tc, clone_and_free);
	tcase_add_test(tc, free_drops_references);
	tcase_add_test(tc, cow_copies_and_keeps_original);
	tcase_add_test_raise_signal(tc, unresolvable_fault_kills, SIGSEGV);
	tcase_add_test(tc, cow_of_process_memory_in_big_page);
	tcase_add_test(tc, page_walk_visits_leaves_in_order);
	tcase_add_test(tc, page_walk_high_half_is_canonical);
	tcase_add_test(tc, clear_ad_bits);
	tcase_add_test(tc, pool_exhaustion_no_leak);
	tcase_add_test(tc, random_mappings_translate);
	tcase_add_test(tc, address_translation);
	tcase_add_test(tc, mirror_range_across_windows);
#ifndef __SANITIZE_ADDRESS__
	/* It mirrors every mapping: under ASan, terabytes of shadow memory. */
	tcase_add_test(tc, init_mirrors_process);
#endif
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(vm_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
