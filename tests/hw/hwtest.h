/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal harness for the programs that run inside the emulated machines.
 * Each check prints one "ok"/"not ok" line; the exit status is 0 when all
 * passed, 1 otherwise, 77 (automake's SKIP) when the test does not apply.
 */
#ifndef DUNE_HWTEST_H
#define DUNE_HWTEST_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int hwtest_failed;
static int hwtest_count;

/*
 * Progress in the kernel log: in the emulated machines a test's stdout only
 * reaches the host when it ends, so a test that hangs the guest would leave
 * no trace of how far it got.  Silently does nothing where /dev/kmsg cannot
 * be written (not root, or not in a test machine).
 */
static inline void hwtest_mark(const char *fmt, ...)
{
	static int fd = -2;
	char line[256];
	va_list ap;
	int n;

	if (fd == -2)
		fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "hwtest[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (write(fd, line, strlen(line)) < 0)
		return;
}

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
		hwtest_mark("check %d %s", hwtest_count,		\
			    hwtest_failed ? "(failures so far)" : "");	\
	} while (0)

#define SKIP_ALL(...)							\
	do {								\
		printf("skip: ");					\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		exit(77);						\
	} while (0)

/*
 * A debug kernel (tools/debug-kernel): kmemleak is there.  KASAN and lockdep
 * make it several times slower, and KASAN's quarantine keeps freed slab.
 */
static inline int hwtest_debug_kernel(void)
{
	return access("/sys/kernel/debug/kmemleak", F_OK) == 0;
}

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

/*
 * The first two CPUs this process may run on (the runner can keep CPU 0
 * from the tests, tests/vm/dunevm/machines.py); returns how many there are.
 */
static inline int hwtest_two_cpus(int cpu[2])
{
	cpu_set_t set;
	int i, n = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	for (i = 0; i < CPU_SETSIZE; i++) {
		if (!CPU_ISSET(i, &set))
			continue;
		if (n < 2)
			cpu[n] = i;
		n++;
	}
	return n;
}

#endif /* DUNE_HWTEST_H */
