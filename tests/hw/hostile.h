/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Harness of the hostile-process suite (tests/hw/hostile-*.c,
 * ioctl-fuzz.c): every case runs in its own forked child that enters Dune
 * mode and misbehaves; the parent (never in Dune mode) checks that
 *  - the child ends with the expected signal or exit code, within a time
 *    limit (a hang is killed and fails the case);
 *  - the host kernel logged no oops, BUG, WARNING, lockup or stall;
 *  - the module's live-vCPU count is back to its baseline;
 *  - two canaries running alongside, a plain process and a Dune-mode one,
 *    keep computing the right checksum and keep making progress.
 * See docs/threat-model.md for what the suite covers.
 */
#ifndef DUNE_HOSTILE_H
#define DUNE_HOSTILE_H

#include <poll.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

#include "dunetest.h"

#define HX_SIG(s)	(0x100 | (s))	/* expected: killed by signal s */
#define HX_EXIT(n)	(0x200 | (n))	/* expected: exit(n) */

struct hostile_case {
	const char *name;
	void (*fn)(void *);
	void *arg;
	int expect;		/* HX_SIG / HX_EXIT */
	int alt;		/* another acceptable outcome, or 0 */
	int (*applies)(void);	/* NULL: always */
};

static inline double hx_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ kernel log */

static int hx_kmsg_fd = -1;

/* Start reading the kernel log from now on. */
static inline void hx_kmsg_open(void)
{
	hx_kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (hx_kmsg_fd >= 0)
		lseek(hx_kmsg_fd, 0, SEEK_END);
}

/*
 * Records logged since the last call that show the host kernel in
 * trouble; prints them and returns how many.  -1 when /dev/kmsg cannot be
 * read (then the runner's own log check is the only one).
 */
static inline int hx_kmsg_bad(void)
{
	static const char *const bad[] = {
		"WARNING:", "BUG:", "Oops", "general protection", "Call Trace",
		"soft lockup", "hard LOCKUP", "rcu_sched self-detected stall",
		"rcu: INFO:", "blocked for more than", "list_add corruption",
		"list_del corruption", "Kernel panic", "double fault",
	};
	char rec[2048];
	int n = 0;
	size_t i;

	if (hx_kmsg_fd < 0)
		return -1;
	for (;;) {
		ssize_t r = read(hx_kmsg_fd, rec, sizeof(rec) - 1);

		if (r < 0 && errno == EPIPE)	/* overwritten records: go on */
			continue;
		if (r <= 0)
			break;
		rec[r] = 0;
		if (strstr(rec, "hwtest["))	/* our own progress marks */
			continue;
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			if (strstr(rec, bad[i])) {
				printf("# host kernel: %s", rec);
				n++;
				break;
			}
		}
	}
	return n;
}

/* -------------------------------------------------------------- canaries */

#define HX_CANARY_WORDS	4096

struct hx_canary_shm {
	volatile unsigned long progress[2];	/* rounds done: plain, Dune */
	volatile int stop;
	volatile int entered;			/* the Dune canary is in */
};

static struct hx_canary_shm *hx_shm;
static pid_t hx_canary_pid[2];
static uint64_t hx_canary_expect;

static inline uint64_t hx_checksum(const uint64_t *w)
{
	uint64_t h = 1469598103934665603ULL;
	int i;

	for (i = 0; i < HX_CANARY_WORDS; i++)
		h = (h ^ w[i]) * 1099511628211ULL;
	return h;
}

static inline void hx_canary_fill(uint64_t *w)
{
	int i;

	for (i = 0; i < HX_CANARY_WORDS; i++)
		w[i] = (uint64_t)i * 0x9e3779b97f4a7c15ULL;
}

/* Recompute a known checksum until told to stop; exit 0 iff always right. */
static inline void hx_canary_run(int which)
{
	uint64_t *w = malloc(HX_CANARY_WORDS * sizeof(*w));

	if (!w)
		_exit(2);
	if (which == 1) {
		if (dune_init_and_enter())
			_exit(CHILD_NO_DUNE);
		hx_shm->entered = 1;
	}
	while (!hx_shm->stop) {
		hx_canary_fill(w);
		if (hx_checksum(w) != hx_canary_expect)
			_exit(1);
		if (which == 1 && syscall(SYS_getppid) <= 0)	/* a system call each round */
			_exit(3);
		hx_shm->progress[which]++;
	}
	_exit(0);
}

static inline int hx_canaries_start(void)
{
	uint64_t w[HX_CANARY_WORDS];
	double t0;
	int i;

	hx_shm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (hx_shm == MAP_FAILED)
		return -1;
	hx_canary_fill(w);
	hx_canary_expect = hx_checksum(w);
	for (i = 0; i < 2; i++) {
		fflush(NULL);
		hx_canary_pid[i] = fork();
		if (hx_canary_pid[i] == 0)
			hx_canary_run(i);
		if (hx_canary_pid[i] < 0)
			return -1;
	}
	for (t0 = hx_now(); !hx_shm->entered && hx_now() - t0 < 30;)
		usleep(1000);
	return hx_shm->entered ? 0 : -1;
}

/*
 * Both canaries advance within @seconds (the host CPUs are not starved),
 * looked at every 50 ms.  The bound is generous because the emulated
 * machines stall as a whole now and then (Bochs: up to a few seconds of
 * guest time, with or without dune), which a short fixed window mistook
 * for starvation.
 */
#define HX_PROGRESS_SECONDS	5.0

static inline int hx_canaries_progress(double seconds)
{
	unsigned long a = hx_shm->progress[0], b = hx_shm->progress[1];
	double t0 = hx_now();

	do {
		usleep(50 * 1000);
		if (hx_shm->progress[0] > a && hx_shm->progress[1] > b)
			return 1;
	} while (hx_now() - t0 < seconds);
	return 0;
}

static inline void hx_canaries_stop(void)
{
	unsigned long rounds[2] = { hx_shm->progress[0], hx_shm->progress[1] };
	char buf[64];
	int i, st;

	hx_shm->stop = 1;
	for (i = 0; i < 2; i++) {
		st = -1;
		waitpid(hx_canary_pid[i], &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "%s canary: %lu rounds, checksum always right (%s)",
		      i ? "Dune-mode" : "plain", rounds[i], describe_status(st, buf, sizeof(buf)));
	}
}

/* ----------------------------------------------------------------- cases */

static unsigned int hx_baseline;

static inline unsigned int hx_live_vcpus(void)
{
	struct dune_info info;

	return dune_get_info(&info) == 0 ? info.live_vcpus : ~0U;
}

/* Set up canaries and the baseline; skip if this machine has no Dune mode. */
static inline void hx_setup(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	require_dune_mode_in_child();
	hx_kmsg_open();
	if (hx_canaries_start()) {
		printf("not ok - canaries did not start\n");
		exit(1);
	}
	hx_baseline = hx_live_vcpus();
}

static inline int hx_outcome_ok(int st, int want)
{
	if (!want)
		return 0;
	if (want & 0x100)
		return WIFSIGNALED(st) && WTERMSIG(st) == (want & 0xff);
	return WIFEXITED(st) && WEXITSTATUS(st) == (want & 0xff);
}

static inline const char *hx_outcome_name(int want, char *buf, size_t len)
{
	if (want & 0x100)
		snprintf(buf, len, "%s", strsignal(want & 0xff));
	else
		snprintf(buf, len, "exit %d", want & 0xff);
	return buf;
}

/*
 * Wait for @pid up to @limit seconds; then SIGKILL it.  Returns the wait
 * status; *hung says whether it had to be killed.
 */
static inline int hx_wait(pid_t pid, double limit, int *hung)
{
	double t0 = hx_now();
	int st = -1;

	*hung = 0;
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (hx_now() - t0 > limit) {
			*hung = 1;
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		usleep(2000);
	}
	return st;
}

/* Fork a Dune-mode child running fn(arg); its wait status (-1: no fork). */
static inline int hx_run_child(void (*fn)(void *), void *arg, double limit, int *hung)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (dune_init_and_enter())
			_exit(CHILD_NO_DUNE);
		fn(arg);
		_exit(0);
	}
	if (pid < 0)
		return -1;
	return hx_wait(pid, limit, hung);
}

/* Live vCPUs, after waiting up to @secs for them to come down to @want. */
static inline unsigned int hx_wait_live(unsigned int want, double secs)
{
	unsigned int live = hx_live_vcpus();

	for (double t0 = hx_now(); live != want && hx_now() - t0 < secs;) {
		usleep(10000);
		live = hx_live_vcpus();
	}
	return live;
}

/* The per-case host checks: no kernel complaint, no vCPU left behind. */
static inline void hx_check_host(const char *name)
{
	/* The child's file is released before waitpid returns; allow a
	 * moment anyway for a grandchild that is still exiting. */
	unsigned int live = hx_wait_live(hx_baseline, 2);
	int bad;

	bad = hx_kmsg_bad();
	if (live != hx_baseline || bad > 0)
		CHECK(0, "%s: host intact (live vCPUs %u, baseline %u; %d kernel complaints)",
		      name, live, hx_baseline, bad);
}

/*
 * Seconds a case may take before it counts as hung: 10, three times that on
 * a debug kernel (kmemleak present: KASAN and lockdep make every nested
 * fault and exit several times slower; unbounded recursion in ring 0, which
 * faults in 8 MiB of stack page by page, took over 10 s on 6.1-debug).
 */
static inline double hx_case_limit(void)
{
	static double limit;

	if (!limit)
		limit = hwtest_debug_kernel() ? 30.0 : 10.0;
	return limit;
}

static inline void hx_run_cases(const struct hostile_case *c, size_t n, const char *filter)
{
	char buf[64], want[48], alt[48];
	size_t i;

	for (i = 0; i < n; i++) {
		int st, hung;

		if (filter && !strstr(c[i].name, filter))
			continue;
		if (c[i].applies && !c[i].applies()) {
			CHECK(1, "%s # SKIP not applicable here (see the case)", c[i].name);
			continue;
		}
		hwtest_mark("case: %s", c[i].name);
		st = hx_run_child(c[i].fn, c[i].arg, hx_case_limit(), &hung);
		CHECK(!hung && (hx_outcome_ok(st, c[i].expect) || hx_outcome_ok(st, c[i].alt)),
		      "%s: %s%s%s (got %s%s)", c[i].name,
		      hx_outcome_name(c[i].expect, want, sizeof(want)), c[i].alt ? " or " : "",
		      c[i].alt ? hx_outcome_name(c[i].alt, alt, sizeof(alt)) : "",
		      describe_status(st, buf, sizeof(buf)), hung ? ", hung: killed" : "");
		hx_check_host(c[i].name);
	}
}

/* End of a program: canaries, baseline, log; returns the exit status. */
static inline int hx_finish(void)
{
	unsigned int live;
	int bad;

	CHECK(hx_canaries_progress(HX_PROGRESS_SECONDS), "both canaries still make progress");
	hx_canaries_stop();
	/* As in hx_check_host: a grandchild of a killed load process (it
	 * holds the /dev/dune file) may still be exiting; on Bochs under
	 * load that takes a moment.  A leaked vCPU stays past the wait. */
	live = hx_wait_live(hx_baseline - 1, 5);
	bad = hx_kmsg_bad();
	CHECK(live == hx_baseline - 1, "no vCPU left behind (%u live, %u before the canary)",
	      live, hx_baseline - 1);
	CHECK(bad <= 0, "host kernel log clean (%d complaints%s)", bad,
	      bad < 0 ? ": /dev/kmsg unreadable" : "");
	return hwtest_done();
}

/* The vendor's hypercall instruction is what the module answers. */
static inline int hx_is_svm(void)
{
	struct dune_info info;

	return dune_get_info(&info) == 0 && info.backend == DUNE_BACKEND_SVM;
}

static inline int hx_is_vmx(void)
{
	struct dune_info info;

	return dune_get_info(&info) == 0 && info.backend == DUNE_BACKEND_VMX;
}

#endif /* DUNE_HOSTILE_H */
