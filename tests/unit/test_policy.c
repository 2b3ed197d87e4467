// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for dune-sandbox's policy file (apps/sandbox/policy.c): the
 * last rule of a system call wins, the longest matching path prefix wins
 * (the later one on a tie), prefixes match whole components, and a
 * malformed line is refused with its line number.  Check runs each test in
 * its own process, so each starts with no rules.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../apps/sandbox/sandbox.h"

/* Write @text to a fresh file and load it; returns policy_load()'s result. */
static int load(const char *text)
{
	char path[] = "/tmp/dune-policy-XXXXXX";
	int fd = mkstemp(path), r;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	r = policy_load(path);
	unlink(path);
	return r;
}

START_TEST(nothing_denied_by_default)
{
	ck_assert_int_eq(load("# only a comment\n\n   \n"), 0);
	ck_assert(!policy_syscall_denied("openat"));
	ck_assert(!policy_path_denied("/etc/passwd"));
	ck_assert(!policy_socket_denied());
}
END_TEST

START_TEST(syscall_last_rule_wins)
{
	ck_assert_int_eq(load("deny syscall mkdir\n"
			      "deny syscall unlink  # trailing comment\n"
			      "allow syscall unlink\n"
			      "allow syscall rmdir\n"
			      "deny syscall rmdir\n"), 0);
	ck_assert(policy_syscall_denied("mkdir"));
	ck_assert(!policy_syscall_denied("unlink"));
	ck_assert(policy_syscall_denied("rmdir"));
	/* Whole names only. */
	ck_assert(!policy_syscall_denied("mkdirat"));
	ck_assert(!policy_syscall_denied("mkdi"));
}
END_TEST

START_TEST(path_longest_prefix_wins)
{
	ck_assert_int_eq(load("deny open /home\n"
			      "allow open /home/me/pub/\n"
			      "deny open /home/me/pub/secret\n"), 0);
	ck_assert(policy_path_denied("/home"));
	ck_assert(policy_path_denied("/home/other/file"));
	ck_assert(!policy_path_denied("/home/me/pub"));
	ck_assert(!policy_path_denied("/home/me/pub/a/b"));
	ck_assert(policy_path_denied("/home/me/pub/secret"));
	ck_assert(policy_path_denied("/home/me/pub/secret/key"));
	ck_assert(!policy_path_denied("/etc/passwd"));
}
END_TEST

START_TEST(path_whole_components)
{
	ck_assert_int_eq(load("deny open /etc\n"), 0);
	ck_assert(policy_path_denied("/etc"));
	ck_assert(policy_path_denied("/etc/passwd"));
	ck_assert(!policy_path_denied("/etcetera"));
	ck_assert(!policy_path_denied("/et"));
}
END_TEST

START_TEST(path_tie_later_wins)
{
	ck_assert_int_eq(load("deny open /srv\nallow open /srv/\n"), 0);
	ck_assert(!policy_path_denied("/srv/x"));
	ck_assert_int_eq(load("deny open /srv\n"), 0);
	ck_assert(policy_path_denied("/srv/x"));
}
END_TEST

START_TEST(root_prefix)
{
	ck_assert_int_eq(load("deny open /\nallow open /tmp\n"), 0);
	ck_assert(policy_path_denied("/etc/passwd"));
	ck_assert(!policy_path_denied("/tmp/a"));
}
END_TEST

START_TEST(socket_rule)
{
	ck_assert_int_eq(load("deny socket\n"), 0);
	ck_assert(policy_socket_denied());
	ck_assert_int_eq(load("allow socket\n"), 0);
	ck_assert(!policy_socket_denied());
}
END_TEST

START_TEST(malformed_lines_refused)
{
	static const char *const bad[] = {
		"deny bogus rule\n",
		"block syscall mkdir\n",
		"deny syscall\n",
		"deny open relative/path\n",
		"deny syscall mkdir extra\n",
		"deny\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(load(bad[i]) == -EINVAL, "accepted: %s", bad[i]);
	/* A bad line stops the load: nothing after it counts. */
	ck_assert_int_eq(load("nonsense\ndeny syscall mkdir\n"), -EINVAL);
	ck_assert(!policy_syscall_denied("mkdir"));
}
END_TEST

START_TEST(missing_file)
{
	ck_assert_int_eq(policy_load("/nonexistent/dune-policy"), -ENOENT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("rules");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, nothing_denied_by_default);
	tcase_add_test(tc, syscall_last_rule_wins);
	tcase_add_test(tc, path_longest_prefix_wins);
	tcase_add_test(tc, path_whole_components);
	tcase_add_test(tc, path_tie_later_wins);
	tcase_add_test(tc, root_prefix);
	tcase_add_test(tc, socket_rule);
	tcase_add_test(tc, malformed_lines_refused);
	tcase_add_test(tc, missing_file);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
