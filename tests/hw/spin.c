// SPDX-License-Identifier: GPL-2.0
/*
 * A Dune process that keeps its vCPUs busy in guest mode until told to
 * stop, for the host-lifecycle tests: CPUs going offline and online under
 * it (hotplug-live.sh), virtualization turned off under it (virt-off.sh).
 *
 *   spin [-n THREADS] [-c] [-t SECONDS] STOPFILE
 *
 * Each thread enters Dune mode and loops until STOPFILE exists or SECONDS
 * (default 300) have passed.  With -c a round is 64 getpid() calls (one
 * hypercall each, the answer checked) and a checksum over a private page
 * it rewrote; without -c a round is pure computation, with one system call
 * (the stop check) every few million instructions.  Prints "spin: in
 * guest" once every thread runs in Dune mode and, at the end, "spin: N
 * rounds, all right" with status 0.  Status 1: a wrong result; 2: a thread
 * could not enter Dune mode.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <dune/dune.h>

#define MAX_THREADS	16

static const char *stop_file;
static int use_syscalls;
static long max_seconds = 300;
static pid_t pid;
static int nr_entered;

static long now(void)
{
	struct timespec ts;

	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static int should_stop(long deadline)
{
	return access(stop_file, F_OK) == 0 || now() >= deadline;
}

/* One round with a hypercall per getpid(); false on a wrong answer. */
static int syscall_round(uint64_t *page, uint64_t seed)
{
	uint64_t sum = 0, want = 0;
	int i;

	for (i = 0; i < 64; i++)
		if (syscall(SYS_getpid) != pid)
			return 0;
	for (i = 0; i < 512; i++) {
		page[i] = seed * 2654435761u + i;
		want += seed * 2654435761u + i;
	}
	for (i = 0; i < 512; i++)
		sum += page[i];
	return sum == want;
}

/* Computation only: the guest runs until a host interrupt takes it out. */
static int compute_round(uint64_t seed)
{
	volatile uint64_t x = seed;
	uint64_t i;

	for (i = 0; i < (1u << 22); i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	return 1;
}

static void *worker(void *arg)
{
	static uint64_t pages[MAX_THREADS][512] __attribute__((aligned(4096)));
	uintptr_t id = (uintptr_t)arg;
	long deadline, rounds = 0;

	if (dune_enter())
		return (void *)2;
	__atomic_add_fetch(&nr_entered, 1, __ATOMIC_SEQ_CST);
	deadline = now() + max_seconds;
	do {
		int ok = use_syscalls ? syscall_round(pages[id], id * 1000003 + rounds) :
					compute_round(rounds);

		if (!ok)
			return (void *)1;
		rounds++;
	} while (!should_stop(deadline));
	return (void *)(rounds << 2);
}

int main(int argc, char **argv)
{
	pthread_t t[MAX_THREADS];
	long rounds = 0;
	int i, opt, n = 1, status = 0;

	while ((opt = getopt(argc, argv, "cn:t:")) != -1) {
		switch (opt) {
		case 'c':
			use_syscalls = 1;
			break;
		case 'n':
			n = atoi(optarg);
			break;
		case 't':
			max_seconds = atol(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || n < 1 || n > MAX_THREADS)
		goto usage;
	stop_file = argv[optind];
	pid = getpid();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (dune_init(true)) {
		printf("spin: dune_init failed\n");
		return 2;
	}
	for (i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
	while (__atomic_load_n(&nr_entered, __ATOMIC_SEQ_CST) < n && access(stop_file, F_OK))
		usleep(10000);
	printf("spin: in guest (%d threads, %s)\n", n, use_syscalls ? "getpid" : "compute");
	for (i = 0; i < n; i++) {
		void *r;
		uintptr_t v;

		pthread_join(t[i], &r);
		v = (uintptr_t)r;
		if (v & 3) {
			printf("spin: thread %d: %s\n", i, (v & 3) == 2 ? "could not enter" :
			       "wrong result");
			if ((int)(v & 3) > status)
				status = v & 3;
		}
		rounds += v >> 2;
	}
	if (!status)
		printf("spin: %ld rounds, all right\n", rounds);
	return status;
usage:
	fprintf(stderr, "usage: spin [-n THREADS] [-c] [-t SECONDS] STOPFILE\n");
	return 2;
}
