// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for dune-sandbox's signal rules (apps/sandbox/sigrules.c):
 * when an interrupted call restarts, what rt_sigreturn may change in
 * RFLAGS, and where the signal frame goes.
 */
#include <check.h>
#include <stdlib.h>

#include "../../apps/sandbox/sigrules.h"

#define EINTR_ONLY	0
#define RESTART		1

START_TEST(restart_table)
{
	/* arch/x86/kernel/signal.c: handle_signal() with a handler,
	 * arch_do_signal_or_restart() without one. */
	static const struct { long r; bool handler, sa_restart; int want; } t[] = {
		{ -SB_ERESTARTSYS, true, false, EINTR_ONLY },
		{ -SB_ERESTARTSYS, true, true, RESTART },
		{ -SB_ERESTARTNOHAND, true, true, EINTR_ONLY },
		{ -SB_ERESTARTNOHAND, true, false, EINTR_ONLY },
		{ -SB_ERESTART_RESTARTBLOCK, true, true, EINTR_ONLY },
		{ -SB_ERESTARTNOINTR, true, false, RESTART },
		{ -SB_ERESTARTSYS, false, false, RESTART },
		{ -SB_ERESTARTNOHAND, false, false, RESTART },
		{ -SB_ERESTART_RESTARTBLOCK, false, false, RESTART },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(sb_restart_call(t[i].r, t[i].handler, t[i].sa_restart) == t[i].want,
			      "case %zu", i);
}
END_TEST

START_TEST(restart_codes)
{
	ck_assert(sb_is_restart_code(-512));
	ck_assert(sb_is_restart_code(-516));
	ck_assert(!sb_is_restart_code(-511));
	ck_assert(!sb_is_restart_code(-517));
	ck_assert(!sb_is_restart_code(-4));	/* EINTR */
	ck_assert(!sb_is_restart_code(512));
}
END_TEST

START_TEST(sigreturn_cannot_raise_privilege)
{
	const uint64_t cur = 0x202;	/* IF, the fixed bit */
	uint64_t r = sb_sigreturn_rflags(cur, ~0ULL);

	ck_assert(r & 0x200);			/* IF stays on */
	ck_assert_uint_eq(r & 0x3000, 0);	/* IOPL stays 0 */
	ck_assert_uint_eq(r & 0x4000, 0);	/* NT */
	ck_assert_uint_eq(r & 0x20000, 0);	/* VM */
	ck_assert_uint_eq(r & 0x80000, 0);	/* VIF */
	ck_assert_uint_eq(r & 0x100000, 0);	/* VIP */
	ck_assert_uint_eq(r & 0x200000, 0);	/* ID */
	/* What a program may set or clear: arithmetic flags, DF, TF, AC, RF. */
	ck_assert_uint_eq(r & 0x50dd5, 0x50dd5);
	ck_assert_uint_eq(sb_sigreturn_rflags(cur | 0x8d5, 0) & 0x50dd5, 0);
	ck_assert(sb_sigreturn_rflags(cur, 0) & 0x200);
}
END_TEST

START_TEST(frame_layout)
{
	static const uintptr_t rsps[] = { 0x7ffffff000, 0x7fffffefff, 0x7ffffff008, 0x10001 };
	uintptr_t rsp = rsps[_i], fp, sp = sb_signal_frame(rsp, 440, 512, &fp);

	ck_assert_uint_eq(fp % 64, 0);
	ck_assert(fp + 512 <= rsp - 128);	/* below the red zone */
	ck_assert(sp + 440 <= fp);		/* the frame below the image */
	ck_assert_uint_eq((sp + 8) % 16, 0);	/* as after a CALL */
	ck_assert(fp - (sp + 440) < 64 + 16 + 8);	/* and not far below */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sigrules");
	TCase *tc = tcase_create("sigrules");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, restart_table);
	tcase_add_test(tc, restart_codes);
	tcase_add_test(tc, sigreturn_cannot_raise_privilege);
	tcase_add_loop_test(tc, frame_layout, 0, 4);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
