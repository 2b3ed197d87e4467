// SPDX-License-Identifier: GPL-2.0
/*
 * The policy file: one rule per line, `#` starts a comment.
 *	allow|deny syscall NAME
 *	allow|deny open PATH-PREFIX
 *	deny socket			(allow socket undoes it)
 * Everything not denied is allowed.  For a system call, its last rule
 * wins; for a path, the longest matching prefix (the later rule on a tie).
 * A prefix matches whole components: /etc matches /etc and /etc/passwd,
 * not /etcetera.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox.h"

#define MAX_RULES	256

struct rule {
	bool deny;
	char *arg;
	size_t len;
};

static struct rule sys_rules[MAX_RULES], path_rules[MAX_RULES];
static int n_sys, n_path;
static bool socket_denied;

static int add_rule(struct rule *r, int *n, bool deny, const char *arg)
{
	size_t len = strlen(arg);

	if (*n >= MAX_RULES)
		return -ENOSPC;
	while (len > 1 && arg[len - 1] == '/')
		len--;
	r[*n].deny = deny;
	r[*n].arg = strndup(arg, len);
	r[*n].len = len;
	if (!r[*n].arg)
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int parse_line(char *line, const char *file, int lineno)
{
	char *words[4];
	int n = 0, r;
	bool deny;

	line[strcspn(line, "#\n")] = 0;
	for (char *w = strtok(line, " \t"); w; w = strtok(NULL, " \t")) {
		if (n == 4)
			break;
		words[n++] = w;
	}
	if (!n)
		return 0;
	if (!strcmp(words[0], "allow"))
		deny = false;
	else if (!strcmp(words[0], "deny"))
		deny = true;
	else
		goto bad;
	if (n == 2 && !strcmp(words[1], "socket")) {
		socket_denied = deny;
		return 0;
	}
	if (n != 3)
		goto bad;
	if (!strcmp(words[1], "syscall"))
		r = add_rule(sys_rules, &n_sys, deny, words[2]);
	else if (!strcmp(words[1], "open") && words[2][0] == '/')
		r = add_rule(path_rules, &n_path, deny, words[2]);
	else
		goto bad;
	if (r)
		fprintf(stderr, "dune-sandbox: %s:%d: %s\n", file, lineno, strerror(-r));
	return r;
bad:
	fprintf(stderr, "dune-sandbox: %s:%d: expected `allow|deny syscall NAME`, "
		"`allow|deny open /PATH-PREFIX` or `deny socket`\n", file, lineno);
	return -EINVAL;
}

int policy_load(const char *file)
{
	FILE *f = fopen(file, "re");
	char line[4096];
	int lineno = 0, r = 0;

	if (!f) {
		r = -errno;
		fprintf(stderr, "dune-sandbox: %s: %s\n", file, strerror(errno));
		return r;
	}
	while (!r && fgets(line, sizeof(line), f))
		r = parse_line(line, file, ++lineno);
	fclose(f);
	return r;
}

bool policy_syscall_denied(const char *name)
{
	for (int i = n_sys - 1; i >= 0; i--)
		if (!strcmp(sys_rules[i].arg, name))
			return sys_rules[i].deny;
	return false;
}

static bool prefix_match(const struct rule *r, const char *path)
{
	if (strncmp(path, r->arg, r->len))
		return false;
	return r->len == 1 || path[r->len] == 0 || path[r->len] == '/';
}

bool policy_path_denied(const char *path)
{
	const struct rule *best = NULL;

	for (int i = 0; i < n_path; i++)
		if (prefix_match(&path_rules[i], path) && (!best || path_rules[i].len >= best->len))
			best = &path_rules[i];
	return best && best->deny;
}

bool policy_socket_denied(void)
{
	return socket_denied;
}
