// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The pure logic libdune gained for the original Dune's own applications
 * (tests/compat/original: the sandbox and the wedge): where the page pool
 * goes (va == gpa), what load_cr3() writes without PCIDs, which
 * clone-family calls dune_passthrough_syscall() refuses, and
 * dune_vm_clone() of pgroot under dune_init(true).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "unit_env.h"
#include "../../kmod/common/layout.h"

#define GIB	(UINT64(1) << 30)

/* A real process's layout: 40 physical bits, mmap area and stack high. */
static void real_layout(struct dune_layout *l, unsigned int bits)
{
	dune_layout_init(l, 0x7f0000000000ULL, 0x7ffff0000000ULL, bits);
}

START_TEST(pool_identity_places)
{
	struct dune_layout l;
	size_t len = GIB + 8 * 1024 * 1024;
	uintptr_t va;

	real_layout(&l, 40);
	/* The first place is 64 GiB, the next ones 1 GiB apart, and every
	 * one is its own guest-physical address. */
	ck_assert_uint_eq(dune_pool_identity_addr(&l, len, 0), 64 * GIB);
	ck_assert_uint_eq(dune_pool_identity_addr(&l, len, 3), 67 * GIB);
	for (unsigned int i = 0; (va = dune_pool_identity_addr(&l, len, i)); i++) {
		ck_assert_uint_eq(dune_hva_to_gpa(&l, va), va);
		ck_assert_uint_eq(dune_hva_to_gpa(&l, va + len - PGSIZE), va + len - PGSIZE);
	}
	ck_assert_uint_eq(dune_pool_identity_addr(&l, len, 16), 0);	/* tries end */
	ck_assert_uint_eq(dune_pool_identity_addr(&l, 0, 0), 0);
	ck_assert_uint_eq(dune_pool_identity_addr(&l, ~(size_t)0 - GIB, 0), 0);	/* wraps */

	/* 36 or 37 physical bits: no 1:1 part at 64 GiB. */
	real_layout(&l, 36);
	ck_assert_uint_eq(dune_pool_identity_addr(&l, len, 0), 0);
	real_layout(&l, 37);
	ck_assert_uint_eq(dune_pool_identity_addr(&l, len, 0), 0);
	ck_assert_uint_eq(dune_pool_identity_addr(&l, PGSIZE, 0), 0);
	/* 38 bits: the 1:1 part ends at 192 GiB. */
	real_layout(&l, 38);
	ck_assert_uint_eq(dune_pool_identity_addr(&l, len, 0), 64 * GIB);
	ck_assert_uint_eq(dune_pool_identity_addr(&l, 128 * GIB, 0), 64 * GIB);
	ck_assert_uint_eq(dune_pool_identity_addr(&l, 128 * GIB + 1, 0), 0);

	/* A window over the place (a process whose mmap area is low). */
	dune_layout_init(&l, 100 * GIB, 0x7ffff0000000ULL, 46);
	ck_assert(l.mmap_base < 64 * GIB + len);
	ck_assert_uint_eq(dune_pool_identity_addr(&l, len, 0), 0);
}
END_TEST

/* ASan's shadow memory covers 64 GiB and, being readable, is part of what
 * dune_init(true) would mirror: terabytes that no test pool holds. */
#ifdef __SANITIZE_ADDRESS__
#define UNDER_ASAN	1
#else
#define UNDER_ASAN	0
#endif

START_TEST(pool_is_identity_in_unit_env)
{
	/* The unit environment's layout is 1:1: the pool lands at 64 GiB
	 * (elsewhere under ASan, still at its own guest-physical address). */
	unit_env_identity_layout();
	ck_assert_int_eq(dune_page_init(512), 0);
	if (!UNDER_ASAN)
		ck_assert_uint_eq(dune_page_base_va, 64 * GIB);
	ck_assert_uint_eq(dune_page_base, dune_page_base_va);
	ck_assert_uint_eq(dune_page2pa(dune_page_alloc()), dune_page_base_va);
}
END_TEST

START_TEST(cr3_without_pcid)
{
	unsigned long root = 0x1234000UL;

	/* PCIDs on: as given. */
	ck_assert_uint_eq(dune_cr3_value(root | CR3_NOFLUSH | 5, CR4_PCIDE), root | CR3_NOFLUSH | 5);
	ck_assert_uint_eq(dune_cr3_value(root, CR4_PCIDE | 0x6f0), root);
	/* Off: bit 63 and the PCID go (the wedge's `root | CR3_NOFLUSH | id`). */
	ck_assert_uint_eq(dune_cr3_value(root | CR3_NOFLUSH | 5, 0x6f0), root);
	ck_assert_uint_eq(dune_cr3_value(root | 0xfff, 0), root);
	ck_assert_uint_eq(dune_cr3_value(root, 0), root);
	ck_assert_uint_eq(dune_cr3_value(0xfffff000UL << 12, 0), 0xfffff000UL << 12);
}
END_TEST

START_TEST(passthrough_clone_rules)
{
	/* What a child would run on the ring-3 stack or share memory with. */
	ck_assert(dune_passthrough_refused(SYS_clone3, 0, 0));
	ck_assert(dune_passthrough_refused(SYS_vfork, 0, 0));
	ck_assert(dune_passthrough_refused(SYS_clone, 0x3d0f00, 0x7f0000001000UL));	/* pthread */
	ck_assert(dune_passthrough_refused(SYS_clone, DUNE_CLONE_VM, 0));
	ck_assert(dune_passthrough_refused(SYS_clone, 17, 0x1000));	/* own stack */
	/* fork-like and everything else: through. */
	ck_assert(!dune_passthrough_refused(SYS_clone, 0x1200011, 0));	/* glibc fork */
	ck_assert(!dune_passthrough_refused(SYS_fork, 0, 0));
	ck_assert(!dune_passthrough_refused(SYS_getpid, DUNE_CLONE_VM, 1));
	ck_assert(!dune_passthrough_refused(SYS_write, 1, 2));
}
END_TEST

START_TEST(clone_fills_under_map_full)
{
	uint64_t pool_done;
	ptent_t *copy, *pte, mark;
	char *late, *ro, *gone;

	unit_env_identity_layout();
	setenv("DUNE_PAGE_POOL_MB", "16", 1);
	ck_assert_int_eq(dune_vm_init(&pool_done), 0);
	late = mmap(NULL, 2 * PGSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro = mmap(NULL, PGSIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	gone = mmap(NULL, PGSIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(late != MAP_FAILED && ro != MAP_FAILED && gone != MAP_FAILED);
	/* The program's own leaf on the first page must survive the fill. */
	ck_assert_int_eq(dune_vm_map_phys(pgroot, late, PGSIZE, (void *)dune_va_to_pa(late),
					  PERM_R | PERM_U), 0);
	ck_assert_int_eq(dune_vm_lookup(pgroot, late, CREATE_NONE, &pte), 0);
	mark = *pte;

	/* Without map_full: a plain copy, nothing added. */
	dune_map_full = false;
	copy = dune_vm_clone(pgroot);
	ck_assert_ptr_nonnull(copy);
	ck_assert(dune_vm_lookup(copy, late + PGSIZE, CREATE_NONE, &pte) != 0 || !*pte);
	dune_vm_free(copy);

	dune_map_full = true;
	copy = dune_vm_clone(pgroot);
	ck_assert_ptr_nonnull(copy);
	ck_assert_int_eq(dune_vm_lookup(copy, late, CREATE_NONE, &pte), 0);
	ck_assert_uint_eq(*pte, mark);
	ck_assert_int_eq(dune_vm_lookup(copy, late + PGSIZE, CREATE_NONE, &pte), 0);
	ck_assert_uint_eq(*pte, ((uintptr_t)late + PGSIZE) | PTE_P | PTE_W | PTE_NX);
	ck_assert_int_eq(dune_vm_lookup(copy, ro, CREATE_NONE, &pte), 0);
	ck_assert_uint_eq(*pte, (uintptr_t)ro | PTE_P | PTE_NX);
	ck_assert(dune_vm_lookup(copy, gone, CREATE_NONE, &pte) != 0 || !*pte);
	/* pgroot itself got them too, as the original's pre-mapping had. */
	ck_assert_int_eq(dune_vm_lookup(pgroot, late + PGSIZE, CREATE_NONE, &pte), 0);
	ck_assert(*pte & PTE_P);
	dune_vm_free(copy);
	dune_map_full = false;
}
END_TEST

int main(void)
{
	Suite *s = suite_create("compat");
	TCase *tc = tcase_create("original apps");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, pool_identity_places);
	tcase_add_test(tc, pool_is_identity_in_unit_env);
	tcase_add_test(tc, cr3_without_pcid);
	tcase_add_test(tc, passthrough_clone_rules);
	if (!UNDER_ASAN)	/* the shadow memory would be mirrored too */
		tcase_add_test(tc, clone_fills_under_map_full);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
