/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal harness for the programs that run inside the emulated machines.
 * Each check prints one "ok"/"not ok" line; the exit status is 0 when all
 * passed, 1 otherwise, 77 (automake's SKIP) when the test does not apply.
 */
#ifndef DUNE_HWTEST_H
#define DUNE_HWTEST_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hwtest_failed;
static int hwtest_count;

#define CHECK(cond, ...)						\
	do {								\
		hwtest_count++;						\
		if (cond) {						\
			printf("ok %d - ", hwtest_count);		\
		} else {						\
			hwtest_failed++;				\
			printf("not ok %d - %s:%d: ", hwtest_count,	\
			       __FILE__, __LINE__);			\
		}							\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		fflush(stdout);						\
	} while (0)

#define SKIP_ALL(...)							\
	do {								\
		printf("skip: ");					\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		exit(77);						\
	} while (0)

static inline int hwtest_done(void)
{
	printf("%d passed, %d failed\n", hwtest_count - hwtest_failed, hwtest_failed);
	return hwtest_failed ? 1 : 0;
}

/* Returns "vmx", "svm" or NULL: what /proc/cpuinfo says this CPU has. */
static inline const char *hwtest_cpu_virt(void)
{
	static char line[8192];
	const char *found = NULL;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return NULL;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5))
			continue;
		if (strstr(line, " vmx"))
			found = "vmx";
		else if (strstr(line, " svm"))
			found = "svm";
	}
	fclose(f);
	return found;
}

#endif /* DUNE_HWTEST_H */
