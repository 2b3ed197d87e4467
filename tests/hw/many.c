// SPDX-License-Identifier: GPL-2.0
/*
 * Many Dune processes at once: 8 processes x 4 threads, each thread in
 * Dune mode running a loop of system calls and first-touch page faults
 * (with a checksum of what it wrote), for a fixed amount of work.  All
 * must finish with the right results, the module's live-vCPU count must
 * return to where it was, and the kernel must log no warning.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "dunetest.h"

#define NPROC		8
#define NTHREAD		4
#define ROUNDS		40
#define PAGES		16	/* new pages touched per round */
#define SYSCALLS	50	/* system calls per round */

static void *worker(void *arg)
{
	uintptr_t id = (uintptr_t)arg, bad = 0;
	int round, i;

	if (dune_enter())
		return (void *)1;
	for (round = 0; round < ROUNDS; round++) {
		uint64_t *mem = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uint64_t sum = 0, want = 0;

		if (mem == MAP_FAILED)
			return (void *)2;
		for (i = 0; i < PAGES; i++) {
			mem[i * 512] = id * 1000003 + round * 31 + i;
			want += id * 1000003 + round * 31 + i;
		}
		for (i = 0; i < SYSCALLS; i++)
			if (syscall(SYS_gettid) <= 0)
				bad++;
		for (i = 0; i < PAGES; i++)
			sum += mem[i * 512];
		if (sum != want)
			bad++;
		munmap(mem, PAGES * 4096);
	}
	return (void *)bad;
}

static int process_main(int n)
{
	pthread_t t[NTHREAD];
	void *r;
	int i, bad = 0;

	if (dune_init(true))
		return 10;
	for (i = 0; i < NTHREAD; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(n * NTHREAD + i));
	for (i = 0; i < NTHREAD; i++) {
		pthread_join(t[i], &r);
		bad += r != NULL;
	}
	return bad;
}

static char klog[1 << 20];

/* The kernel log (SYSLOG_ACTION_READ_ALL); its length or -1. */
static int klog_read(void)
{
	int n = klogctl(3, klog, sizeof(klog) - 1);

	if (n >= 0)
		klog[n] = 0;
	return n;
}

/* The kernel log past offset @from has no warning or oops. */
static int klog_clean(int from)
{
	int n = klog_read();
	const char *p;

	if (n < 0)
		return -1;
	p = klog + (from < n ? from : n);
	return !strstr(p, "WARNING:") && !strstr(p, "BUG:") && !strstr(p, "Oops");
}

int main(void)
{
	struct dune_info before, after;
	int i, st, ok = 0, from;
	pid_t pid[NPROC];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (dune_get_info(&before))
		SKIP_ALL("no /dev/dune");
	from = klog_read();
	for (i = 0; i < NPROC; i++) {
		pid[i] = fork();
		if (pid[i] == 0)
			_exit(process_main(i));
	}
	for (i = 0; i < NPROC; i++)
		if (waitpid(pid[i], &st, 0) == pid[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
	CHECK(ok == NPROC, "%d of %d processes x %d threads finished with the right results",
	      ok, NPROC, NTHREAD);
	CHECK(dune_get_info(&after) == 0 && after.live_vcpus == before.live_vcpus,
	      "live vCPUs back to %u (%u)", before.live_vcpus, after.live_vcpus);
	CHECK(klog_clean(from) == 1, "no kernel warning");
	return hwtest_done();
}
