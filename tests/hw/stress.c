// SPDX-License-Identifier: GPL-2.0
/*
 * Race stress: the concurrent mix the hostile suite tests one case at a
 * time.  For a fixed time, one Dune process per online CPU runs two vCPU
 * threads that keep touching memory and making system calls, while a host
 * thread of the same process changes that memory under them (munmap and
 * mmap over it, mprotect, MADV_DONTNEED, mremap, huge-page advice and partial
 * changes of a huge page), forks children that re-enter Dune mode, and vCPU
 * threads exit and are replaced.  The supervisor replaces every process that
 * ends, and SIGKILLs some of them mid-run (teardown against running vCPUs).
 *
 *   stress [SECONDS]          (default 10, or $DUNE_STRESS_SECONDS)
 *
 * Accepted ends of a process: exit 0, SIGKILL (ours) and SIGSEGV (a vCPU
 * touched memory the host thread had just unmapped: what Linux does too).
 * Anything else, a process that does not end within its limit, a leaked
 * vCPU, a stalled canary or a kernel complaint fails the run.  On the debug
 * kernels (tests/vm/README.md) the runner also fails it on any KASAN,
 * KFENCE, UBSAN, lockdep or kmemleak report logged meanwhile.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "hostile.h"

#define MAX_PROCS	16
#define AREA		(4UL << 20)	/* 2 huge pages, 2 MiB aligned inside */
#define SMALL		(64 * 4096UL)	/* munmap/mremap target */
#define LIFE_MS_MIN	200
#define LIFE_MS_SPAN	800
#define PROC_LIMIT	60.0	/* seconds a process may take to end */
#define THP_KNOB	"/sys/kernel/mm/transparent_hugepage/enabled"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

/* Shared with the supervisor: what the processes did. */
struct stress_shm {
	unsigned long ops[8];		/* per kind of host-thread change */
	unsigned long touches;		/* vCPU memory rounds */
	unsigned long vcpu_threads;	/* vCPU threads entered */
	unsigned long forks;		/* fork children that re-entered */
	unsigned long fork_fail;	/* ... that could not */
};

enum op { OP_DONTNEED, OP_MPROTECT, OP_REMAP, OP_MREMAP, OP_HUGE, OP_SPLIT, OP_FORK, OP_NOP };

static const char *const op_names[] = {
	"MADV_DONTNEED", "mprotect", "munmap+mmap", "mremap", "MADV_HUGEPAGE",
	"partial mprotect of a huge page", "fork + re-enter", "nothing",
};

static struct stress_shm *shm;

/* The memory of one process, changed by its host thread. */
static char *area;			/* AREA bytes, 2 MiB aligned */
static char *volatile small;		/* SMALL bytes, moved by mremap */
static volatile int stop;

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A vCPU: write and read the memory, a system call per round. */
static void *vcpu_thread(void *arg)
{
	uint64_t seed = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;
	unsigned long rounds;

	if (dune_enter())
		return NULL;
	__atomic_fetch_add(&shm->vcpu_threads, 1, __ATOMIC_RELAXED);
	/* Each thread lives for a while, then exits and is replaced. */
	for (rounds = 0; rounds < 2000 + rnd(&seed) % 4000 && !stop; rounds++) {
		volatile char *a = area + rnd(&seed) % AREA;
		volatile char *s = small + rnd(&seed) % SMALL;

		*a = (char)rounds;
		(void)*a;
		*s = (char)rounds;
		if (rounds % 16 == 0)
			syscall(SYS_getppid);
		__atomic_fetch_add(&shm->touches, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* A fork child of a Dune process re-enters and touches the copied memory. */
static void fork_child(void)
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (dune_enter())
			_exit(CHILD_NO_DUNE);
		for (unsigned long i = 0; i < AREA; i += 4096 * 16)
			area[i]++;
		_exit(0);
	}
	if (pid < 0)
		return;
	if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		__atomic_fetch_add(&shm->forks, 1, __ATOMIC_RELAXED);
	else
		__atomic_fetch_add(&shm->fork_fail, 1, __ATOMIC_RELAXED);
}

/* One change of the memory under the vCPUs. */
static void host_op(enum op op, uint64_t *seed)
{
	size_t off = (rnd(seed) % (AREA / 4096 - 16)) * 4096;
	char *s = small, *n;

	switch (op) {
	case OP_DONTNEED:
		madvise(area + off, (1 + rnd(seed) % 16) * 4096, MADV_DONTNEED);
		break;
	case OP_MPROTECT:
		/* Adds and removes exec: the vCPUs' reads and writes stay
		 * legal, the host still changes the protection. */
		mprotect(area + off, 16 * 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
		mprotect(area + off, 16 * 4096, PROT_READ | PROT_WRITE);
		break;
	case OP_REMAP:
		/* A window with no mapping: a vCPU there ends with SIGSEGV. */
		munmap(s + 4096, 4096);
		mmap(s + 4096, 4096, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		break;
	case OP_MREMAP:
		/* Move to a fresh place and back: same as above for the window. */
		n = mmap(NULL, SMALL, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (n == MAP_FAILED)
			break;
		n = mremap(s, SMALL, SMALL, MREMAP_MAYMOVE | MREMAP_FIXED, n);
		if (n != MAP_FAILED)
			small = n;
		break;
	case OP_HUGE: {
		static const int advice[] = { MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_COLLAPSE };

		madvise(area, AREA, advice[rnd(seed) % 3]);
		break;
	}
	case OP_SPLIT:
		/* One page of a (possibly) huge page changes: split. */
		mprotect(area + off, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
		madvise(area + off + 4096, 4096, MADV_DONTNEED);
		mprotect(area + off, 4096, PROT_READ | PROT_WRITE);
		break;
	case OP_FORK:
		fork_child();
		break;
	case OP_NOP:
		sched_yield();
		break;
	}
	__atomic_fetch_add(&shm->ops[op], 1, __ATOMIC_RELAXED);
}

/* Host-thread changes a process makes before it may leave: its life is
 * counted in work, not only in time (a debug kernel enters 10x slower). */
#define MIN_OPS		20
#define FORK_AT		5	/* the op that forks, in half of the processes */

static volatile unsigned long ops_done;

/* A host thread (never entered): changes the memory, keeps two vCPUs up. */
static void *host_thread(void *arg)
{
	uint64_t seed = (uintptr_t)arg | 1;
	int forker = (seed >> 2) & 1;
	pthread_t v[2];
	unsigned long n;
	int i;

	for (i = 0; i < 2; i++)
		pthread_create(&v[i], NULL, vcpu_thread, (void *)(uintptr_t)(seed + i));
	for (n = 1; !stop; n++) {
		uint64_t r = rnd(&seed) % 100;
		/* Mostly cheap changes; rarely a fork or an unmapped window. */
		enum op op = r < 30 ? OP_DONTNEED : r < 50 ? OP_MPROTECT :
			     r < 65 ? OP_SPLIT : r < 75 ? OP_HUGE : r < 78 ? OP_REMAP :
			     r < 81 ? OP_MREMAP : r < 84 ? OP_FORK : OP_NOP;

		host_op(n == FORK_AT && forker ? OP_FORK : op, &seed);
		ops_done = n;
		/* Replace a vCPU thread that ended. */
		for (i = 0; i < 2 && n % 8 == 0; i++) {
			if (pthread_tryjoin_np(v[i], NULL) == 0)
				pthread_create(&v[i], NULL, vcpu_thread,
					       (void *)(uintptr_t)(seed + n + i));
		}
		usleep(rnd(&seed) % 500);
	}
	return NULL;
}

/* One stress process: enters, runs its threads for a while, exits. */
static void stress_process(uint64_t seed)
{
	pthread_t h;
	char *raw;
	double end;

	if (dune_init_and_enter())
		_exit(CHILD_NO_DUNE);
	raw = mmap(NULL, AREA + (2UL << 20), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	small = mmap(NULL, SMALL, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED || small == MAP_FAILED)
		_exit(20);
	area = (char *)(((uintptr_t)raw + (2UL << 20) - 1) & ~((2UL << 20) - 1));
	madvise(area, AREA, MADV_HUGEPAGE);
	if (pthread_create(&h, NULL, host_thread, (void *)(uintptr_t)seed))
		_exit(21);
	end = hx_now() + (LIFE_MS_MIN + rnd(&seed) % LIFE_MS_SPAN) / 1000.0;
	while (hx_now() < end || ops_done < MIN_OPS)
		usleep(10000);
	/* Half of them leave with exit_group while the vCPUs run. */
	if (seed & 2)
		_exit(0);
	stop = 1;
	pthread_join(h, NULL);
	_exit(0);
}

struct proc {
	pid_t pid;
	double start;
	int killed;
};

struct tally {
	unsigned long started, exited, killed, segv;
	unsigned long huge_kb;		/* most AnonHugePages seen */
	int bad, hung;
};

/* Account for a process that ended; returns 0 if its end is acceptable. */
static int reap(struct proc *p, int st, struct tally *t)
{
	char buf[64];

	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		t->exited++;
	} else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && p->killed) {
		t->killed++;
	} else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV) {
		t->segv++;
	} else {
		printf("# process %d ended with %s\n", p->pid, describe_status(st, buf, sizeof(buf)));
		t->bad++;
		return -1;
	}
	return 0;
}

static pid_t spawn(uint64_t seed)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0)
		stress_process(seed);
	return pid;
}

/* AnonHugePages in kB: whether the huge-page paths were raced at all. */
static unsigned long anon_huge_kb(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	unsigned long kb = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/*
 * Start another process?  For @secs, and past it (up to ten times) until
 * the mix has happened at all: processes replaced, vCPU threads, forks.
 */
static int want_more(int n, double secs, double elapsed, const struct tally *t)
{
	if (elapsed < secs)
		return 1;
	return elapsed < 10 * secs &&
	       (t->started < (unsigned long)n * 2 || shm->vcpu_threads < t->started ||
		shm->forks == 0);
}

/* Keep @n processes running for @secs; kill some of them mid-run. */
static void supervise(int n, double secs, struct tally *t)
{
	struct proc p[MAX_PROCS] = { 0 };
	uint64_t seed = 0x5eed;
	double t0 = hx_now(), last_progress = t0;
	int i, st, running;

	do {
		running = 0;
		for (i = 0; i < n; i++) {
			if (p[i].pid > 0 && waitpid(p[i].pid, &st, WNOHANG) == p[i].pid) {
				reap(&p[i], st, t);
				p[i].pid = 0;
			}
			if (p[i].pid > 0 && hx_now() - p[i].start > PROC_LIMIT) {
				printf("# process %d did not end in %.0f s: killed\n",
				       p[i].pid, PROC_LIMIT);
				kill(p[i].pid, SIGKILL);
				waitpid(p[i].pid, &st, 0);
				p[i].pid = 0;
				t->hung++;
			}
			if (p[i].pid == 0 && want_more(n, secs, hx_now() - t0, t)) {
				p[i] = (struct proc){ spawn(rnd(&seed)), hx_now(), 0 };
				if (p[i].pid > 0)
					t->started++;
			}
			if (p[i].pid > 0 && !p[i].killed && rnd(&seed) % 400 == 0) {
				kill(p[i].pid, SIGKILL);
				p[i].killed = 1;
			}
			running += p[i].pid > 0;
		}
		if (hx_now() - last_progress > 5) {
			printf("# %.0f s: %lu processes started, %lu vCPU threads, %lu fork children\n",
			       hx_now() - t0, t->started, shm->vcpu_threads, shm->forks);
			last_progress = hx_now();
		}
		if (anon_huge_kb() > t->huge_kb)
			t->huge_kb = anon_huge_kb();
		usleep(5000);
	} while (running);
}

/*
 * The machines boot with THP off (tests/vm/README.md): "madvise" for the
 * run, so the huge-page advice above gives huge pages; @saved gets the old
 * mode ("" if the knob is absent).
 */
static void thp_madvise(char *saved, size_t len)
{
	char buf[128] = "", *s, *e;
	int fd = open(THP_KNOB, O_RDWR);
	ssize_t n;

	saved[0] = 0;
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	s = n > 0 ? strchr(buf, '[') : NULL;
	e = s ? strchr(s, ']') : NULL;
	if (s && e && (size_t)(e - s) < len) {
		memcpy(saved, s + 1, e - s - 1);
		saved[e - s - 1] = 0;
	}
	if (pwrite(fd, "madvise", 7, 0) != 7)
		saved[0] = 0;
	close(fd);
}

static void thp_restore(const char *saved)
{
	int fd = saved[0] ? open(THP_KNOB, O_WRONLY) : -1;

	if (fd >= 0 && pwrite(fd, saved, strlen(saved), 0) < 0)
		printf("# could not restore THP mode %s\n", saved);
	if (fd >= 0)
		close(fd);
}

int main(int argc, char **argv)
{
	const char *env = getenv("DUNE_STRESS_SECONDS");
	double secs = argc > 1 ? atof(argv[1]) : env ? atof(env) : 10;
	int n = (int)sysconf(_SC_NPROCESSORS_ONLN), i;
	struct tally t = { 0 };
	unsigned long changes = 0;
	char thp[32];

	hx_setup();
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		SKIP_ALL("no shared memory");
	if (n < 2)
		n = 2;
	if (n > MAX_PROCS)
		n = MAX_PROCS;
	printf("# %d processes at a time for %.0f s\n", n, secs);
	hwtest_mark("stress: %d processes, %.0f s", n, secs);
	thp_madvise(thp, sizeof(thp));
	supervise(n, secs, &t);
	thp_restore(thp);

	for (i = 0; i < OP_NOP; i++) {
		printf("# %-32s %lu\n", op_names[i], shm->ops[i]);
		changes += shm->ops[i];
	}
	printf("# processes: %lu started, %lu exited, %lu killed by us, %lu SIGSEGV\n",
	       t.started, t.exited, t.killed, t.segv);
	printf("# at most %lu kB of anonymous huge pages at once\n", t.huge_kb);
	CHECK(t.bad == 0 && t.hung == 0, "every process ended as allowed (%d otherwise, %d hung)",
	      t.bad, t.hung);
	CHECK(t.started >= (unsigned long)n * 2 && t.exited + t.killed > 0,
	      "processes came and went (%lu started)", t.started);
	CHECK(shm->vcpu_threads >= t.started && shm->touches > 0,
	      "vCPU threads entered and ran (%lu threads, %lu memory rounds)",
	      shm->vcpu_threads, shm->touches);
	CHECK(changes > 0 && shm->ops[OP_DONTNEED] > 0 && shm->ops[OP_SPLIT] > 0,
	      "memory changed under running vCPUs (%lu changes)", changes);
	CHECK(shm->forks > 0 && shm->fork_fail == 0,
	      "fork children re-entered Dune mode (%lu, %lu failed)", shm->forks, shm->fork_fail);
	return hx_finish();
}
