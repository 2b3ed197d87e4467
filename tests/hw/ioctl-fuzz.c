// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile-process suite, /dev/dune ABI group:
 *  - every ioctl with NULL, unmapped, kernel, non-canonical and half-mapped
 *    pointers (EFAULT), wrong size bits and unknown numbers (ENOTTY),
 *    nonzero reserved fields (EINVAL);
 *  - out of order: DUNE_ENTER from a forked child on the parent's file
 *    (EBADFD), dune_enter() twice (EALREADY), calls after close (EBADF),
 *    the old file after the thread that used it execs (EBADFD);
 *  - many threads calling at once, several of them entering with random
 *    register state;
 *  - a bounded, seeded, reproducible fuzzer: random commands and arguments
 *    in this process, and DUNE_ENTER with random register state in forked
 *    children, which must end (errno or signal) and never hang;
 *  - load: Dune processes and threads entering, faulting, forking and
 *    being SIGKILLed at random times.
 *
 *   ioctl-fuzz [SEED [ITERATIONS [LOAD_SECONDS]]]
 * Defaults: a time-based seed (printed: rerun with it to reproduce), 20000
 * iterations and 10 s of load on AMD; 2000 and 10 s on Intel (Bochs is slow).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "hostile.h"

#define KADDR		((void *)0xffffffff81000000UL)
#define NONCANON	((void *)0x8000000000000000UL)

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from the printed seed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static int open_dune(void)
{
	return open("/dev/dune", O_RDWR | O_CLOEXEC);
}

static char *unmapped_page(void)
{
	char *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	munmap(p, 4096);
	return p;
}

/* A page whose next page is unmapped: a struct at its end is half-mapped. */
static char *half_mapped_end(void)
{
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	munmap(p + 4096, 4096);
	return p + 4096;
}

/* The fuzzing threads use the first four: DUNE_GET_VMAS writes where its
 * argument's buffer points, and random bytes there could be this test's
 * own memory. */
static const unsigned int cmds[] = { DUNE_GET_INFO, DUNE_ENTER, DUNE_GET_LAYOUT, DUNE_GET_STATS,
				     DUNE_GET_VMAS, DUNE_GET_PROCESS_STATS };
static const char *const cmd_names[] = { "GET_INFO", "ENTER", "GET_LAYOUT", "GET_STATS",
					 "GET_VMAS", "GET_PROCESS_STATS" };
#define NCMDS	((int)(sizeof(cmds) / sizeof(cmds[0])))

static void check_bad_pointers(int fd)
{
	void *ptrs[] = { NULL, unmapped_page(), KADDR, NONCANON, NULL };
	const char *names[] = { "NULL", "unmapped", "kernel", "non-canonical", "half-mapped" };
	size_t i, j;

	for (i = 0; i < NCMDS; i++) {
		int bad = 0;

		ptrs[4] = half_mapped_end() - _IOC_SIZE(cmds[i]) / 2;
		for (j = 0; j < 5; j++) {
			errno = 0;
			if (ioctl(fd, cmds[i], ptrs[j]) != -1 || errno != EFAULT) {
				printf("# %s with a %s pointer: errno %d\n", cmd_names[i], names[j],
				       errno);
				bad++;
			}
		}
		CHECK(!bad, "DUNE_%s with NULL/unmapped/kernel/non-canonical/half-mapped "
		      "pointers: EFAULT", cmd_names[i]);
	}
}

static void check_numbers(int fd)
{
	char buf[4096] = { 0 };
	int i, bad = 0, n = 0;

	for (i = 0; i < NCMDS; i++) {
		unsigned int c = cmds[i], size = _IOC_SIZE(c);
		unsigned int variants[] = {
			_IOC(_IOC_DIR(c), DUNE_IOC_MAGIC, _IOC_NR(c), size - 8),
			_IOC(_IOC_DIR(c), DUNE_IOC_MAGIC, _IOC_NR(c), size + 8),
			_IOC(_IOC_NONE, DUNE_IOC_MAGIC, _IOC_NR(c), 0),
			_IOC(_IOC_DIR(c) ^ _IOC_WRITE, DUNE_IOC_MAGIC, _IOC_NR(c), size),
			_IOC(_IOC_DIR(c), DUNE_IOC_MAGIC + 1, _IOC_NR(c), size),
		};
		size_t v;

		for (v = 0; v < sizeof(variants) / sizeof(variants[0]); v++, n++)
			if (ioctl(fd, variants[v], buf) != -1 || errno != ENOTTY)
				bad++;
	}
	for (i = 4; i < 256; i++, n++)
		if (ioctl(fd, _IOWR(DUNE_IOC_MAGIC, i, struct dune_config), buf) != -1 ||
		    errno != ENOTTY)
			bad++;
	CHECK(!bad, "%d wrong-size, wrong-direction, other-magic and unknown numbers: ENOTTY "
	      "(%d did not)", n, bad);
}

static void check_reserved(int fd)
{
	struct dune_config c;
	int i, bad = 0;

	for (i = 0; i < 7; i++) {
		memset(&c, 0, sizeof(c));
		if (i == 6)
			c.reserved0 = 1;
		else
			c.reserved[i] = 1ULL << (i * 10);
		c.regs.rip = 0x1000;
		if (ioctl(fd, DUNE_ENTER, &c) != -1 || errno != EINVAL)
			bad++;
	}
	CHECK(!bad, "DUNE_ENTER with a nonzero reserved field: EINVAL (%d did not)", bad);
}

/* In a child: enter via libdune, then misuse from a grandchild and twice. */
static void order_child(void *a)
{
	struct dune_config c;
	int st = -1, fd;
	pid_t pid;

	if (dune_enter() != -EALREADY)
		exit(2);
	fflush(NULL);
	pid = fork();	/* from Dune mode: the child runs in host mode */
	if (pid == 0) {
		extern int dune_fd;

		memset(&c, 0, sizeof(c));
		c.regs.rip = 0x1000;
		_exit(ioctl(dune_fd, DUNE_ENTER, &c) == -1 && errno == EBADFD ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		exit(3);
	fd = open_dune();
	if (fd < 0 || close(fd) || ioctl(fd, DUNE_GET_INFO, &c) != -1 || errno != EBADF)
		exit(4);
	exit(0);
}

static void check_order(void)
{
	struct dune_stats st;
	char buf[64];
	int fd = open_dune(), r, hung;

	memset(&st, 0xff, sizeof(st));
	r = ioctl(fd, DUNE_GET_STATS, &st);
	CHECK(r == 0 && st.entries == 0 && st.returns == 0 && st.exits[1] == 0,
	      "DUNE_GET_STATS before any DUNE_ENTER: all zero");
	close(fd);
	r = hx_run_child(order_child, NULL, 10, &hung);
	CHECK(WIFEXITED(r) && WEXITSTATUS(r) == 0,
	      "dune_enter() twice: EALREADY; DUNE_ENTER from a fork child on the parent's "
	      "file: EBADFD; after close: EBADF (%s)", describe_status(r, buf, sizeof(buf)));
	hx_check_host("order");
}

/*
 * The thread that ran a vCPU execs, keeping the file open (no CLOEXEC):
 * the same task, a new address space.  Its DUNE_ENTER on the old file
 * finds its own vCPU without the file's lock and must still refuse it.
 */
#define OLD_FD	100

static void exec_child(void *a)
{
	extern int dune_fd;

	(void)a;
	if (fcntl(dune_fd, F_DUPFD, OLD_FD) != OLD_FD)
		exit(2);
	fflush(NULL);
	execl("/proc/self/exe", "ioctl-fuzz", "--exec-old-fd", (char *)NULL);
	exit(3);
}

static int exec_image(void)
{
	struct dune_config c;
	int r;

	memset(&c, 0, sizeof(c));
	c.regs.rip = 0x1000;
	r = ioctl(OLD_FD, DUNE_ENTER, &c);
	printf("# exec'd image, DUNE_ENTER on the old file: %d (%s)\n", r,
	       r ? strerror(errno) : "entered");
	return r == -1 && errno == EBADFD ? 0 : 1;
}

static void check_exec(void)
{
	char buf[64];
	int r, hung;

	r = hx_run_child(exec_child, NULL, 10, &hung);
	CHECK(WIFEXITED(r) && WEXITSTATUS(r) == 0,
	      "the thread that ran a vCPU execs with the file open: its DUNE_ENTER there is "
	      "refused, EBADFD (%s)", describe_status(r, buf, sizeof(buf)));
	hx_check_host("exec");
}

static void random_config(struct dune_config *c)
{
	uint64_t *w = (uint64_t *)&c->regs;
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < sizeof(c->regs) / 8; i++)
		w[i] = rnd();
	switch (rnd() % 4) {	/* sometimes plausible values, to get further */
	case 0:
		c->regs.rip = (uintptr_t)&random_config + rnd() % 4096;
		c->regs.rflags = 0x2 | (rnd() & 0x3f7fd5);
		break;
	case 1:
		c->regs.rip &= 0x7fffffffffffUL;
		break;
	}
	c->cr3 = rnd() % 4 ? rnd() & 0xffffffffff000UL : rnd();
	c->fs_base = rnd() % 2 ? rnd() : 0;
	c->gs_base = rnd() % 2 ? rnd() : 0;
}

static int fuzz_fd;

struct thread_arg {
	int enter;
	uint64_t seed;
	int iters;
};

static void *hammer(void *p)
{
	struct thread_arg *a = p;
	union { struct dune_info i; struct dune_layout l; struct dune_stats s;
		struct dune_config c; } u;
	int i;

	for (i = 0; i < a->iters; i++) {
		if (a->enter) {
			rng_state = a->seed + i;	/* racy, and fine: any value */
			random_config(&u.c);
			ioctl(fuzz_fd, DUNE_ENTER, &u.c);
		} else {
			ioctl(fuzz_fd, cmds[i % 4 == 1 ? 0 : i % 4], &u);
		}
	}
	return NULL;
}

/* 16 threads on one file at once, 4 of them entering with random state. */
static void concurrent_child(void *arg)
{
	struct thread_arg a[16];
	pthread_t t[16];
	int i;

	alarm(8);
	fuzz_fd = open_dune();
	for (i = 0; i < 16; i++) {
		a[i] = (struct thread_arg){ .enter = i < 4, .seed = (uintptr_t)arg + i * 1000,
					    .iters = i < 4 ? 20 : 300 };
		pthread_create(&t[i], NULL, hammer, &a[i]);
	}
	for (i = 0; i < 16; i++)
		pthread_join(t[i], NULL);
	exit(0);
}

static void check_concurrent(uint64_t seed)
{
	char buf[64];
	int st = -1, hung;
	pid_t pid;

	hwtest_mark("case: concurrent");
	fflush(NULL);
	pid = fork();	/* not in Dune mode itself: the threads enter raw */
	if (pid == 0)
		concurrent_child((void *)(uintptr_t)seed);
	st = hx_wait(pid, 15, &hung);
	CHECK(!hung && ((WIFEXITED(st) && WEXITSTATUS(st) == 0) ||
			(WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)),
	      "16 threads calling at once, 4 entering with random state (%s)",
	      describe_status(st, buf, sizeof(buf)));
	hx_check_host("concurrent");
}

/* A child entering with random state: it must return or be killed. */
static int random_enter_child(uint64_t seed, int *ret)
{
	int pipefd[2], st, hung;
	pid_t pid;

	if (pipe(pipefd))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct dune_config c;
		int fd = open_dune();

		rng_state = seed;
		random_config(&c);
		alarm(1);
		if (ioctl(fd, DUNE_ENTER, &c))
			c.ret = 100 + errno;
		if (write(pipefd[1], &c.ret, sizeof(c.ret)) < 0)
			_exit(3);
		_exit(0);
	}
	close(pipefd[1]);
	st = hx_wait(pid, 10, &hung);
	*ret = -1;
	if (read(pipefd[0], ret, sizeof(*ret)) != sizeof(*ret))
		*ret = -1;
	close(pipefd[0]);
	return hung ? -2 : st;
}

static void fuzz(uint64_t seed, long iters, int enter_every)
{
	static char buf[8192] __attribute__((aligned(4096)));
	int fd = open_dune(), hist[16] = { 0 }, hangs = 0, bad_status = 0, in_proc = 0;
	char *half = half_mapped_end();
	long i;

	rng_state = seed;
	for (i = 0; i < iters; i++) {
		uint64_t pick = rnd();
		unsigned int cmd;
		void *arg;

		if (enter_every && i % enter_every == 0) {
			int ret, st = random_enter_child(rnd(), &ret);

			if (st == -2)
				hangs++;
			else if (!(WIFEXITED(st) || WIFSIGNALED(st)))
				bad_status++;
			hist[ret >= 0 && ret < 9 ? ret : ret >= 100 ? 9 : 10]++;
			hx_check_host("fuzz: random DUNE_ENTER");
			continue;
		}
		switch (pick % 4) {
		case 0: cmd = cmds[rnd() % 4]; break;
		case 1: cmd = _IOC(rnd() % 4, DUNE_IOC_MAGIC, rnd() % 8, rnd() % 1024); break;
		case 2: cmd = (unsigned int)rnd(); break;
		default: cmd = _IOC(_IOC_READ, DUNE_IOC_MAGIC, rnd() % 4, rnd() % 0x4000); break;
		}
		switch ((pick >> 8) % 6) {
		case 0: arg = NULL; break;
		case 1: arg = KADDR + (rnd() & 0xffffff); break;
		case 2: arg = (void *)(uintptr_t)rnd(); break;
		case 3: arg = half - rnd() % 512; break;
		default: {
			size_t j;

			for (j = 0; j < 64; j++)
				((uint64_t *)buf)[j] = rnd();
			arg = buf + rnd() % 4096;
		}
		}
		/* A readable DUNE_ENTER argument would run random code in this
		 * process: only the unreadable ones here (children get the rest). */
		if (cmd == DUNE_ENTER && arg && (uintptr_t)arg < (uintptr_t)KADDR)
			continue;
		ioctl(fd, cmd, arg);
		in_proc++;
	}
	close(fd);
	printf("# fuzz: %d in-process ioctls; random DUNE_ENTER results: ", in_proc);
	for (i = 0; i < 11; i++)
		printf("%s%ld:%d", i ? " " : "", i, hist[i]);
	printf(" (ret codes 0-8, 9 = errno, 10 = killed)\n");
	CHECK(!hangs && !bad_status,
	      "fuzz seed %#llx: %ld iterations, no hang (%d), every child ended (%d bad)",
	      (unsigned long long)seed, iters, hangs, bad_status);
}

/* ----------------------------------------------------------------- load */

static void *load_thread(void *a)
{
	volatile char *p;
	int i;

	if (dune_enter())
		return NULL;
	for (i = 0;; i++) {
		p = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
		if (p != MAP_FAILED) {
			p[(i * 4096) % (1 << 16)] = 1;
			munmap((void *)p, 1 << 16);
		}
		syscall(SYS_getppid);
	}
	return NULL;
}

/* One load worker: threads, faults, forks, sometimes a hostile act. */
static void load_worker(uint64_t seed)
{
	pthread_t t;
	int i, st;

	rng_state = seed;
	if (dune_init_and_enter())
		_exit(CHILD_NO_DUNE);
	for (i = 0; i < 2; i++)
		pthread_create(&t, NULL, load_thread, NULL);
	for (i = 0; i < 200; i++) {
		switch (rnd() % 8) {
		case 0: {
			pid_t pid = fork();

			if (pid == 0)
				_exit(dune_init_and_enter() ? 1 : 0);
			waitpid(pid, &st, 0);
			break;
		}
		case 1:
			if (rnd() % 8 == 0)
				asm volatile("outb %%al, $0x80" : : "a"(0));	/* dies */
			break;
		case 2:
			if (rnd() % 16 == 0)
				_exit(0);
			break;
		default: {
			char *p = malloc(1 << 20);

			if (p)
				memset(p, 1, 1 << 20);
			free(p);
		}
		}
	}
	_exit(0);
}

static void check_load(uint64_t seed, double seconds)
{
	pid_t pids[6] = { 0 };
	int i, st, started = 0, killed = 0, bad = 0;
	double t0 = hx_now();
	char buf[64];

	hwtest_mark("case: load");
	rng_state = seed;
	while (hx_now() - t0 < seconds) {
		for (i = 0; i < 6; i++) {
			if (pids[i] && waitpid(pids[i], &st, WNOHANG) == pids[i]) {
				if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0) &&
				    !(WIFSIGNALED(st) && (WTERMSIG(st) == SIGKILL ||
							 WTERMSIG(st) == SIGSEGV))) {
					printf("# load worker: %s\n",
					       describe_status(st, buf, sizeof(buf)));
					bad++;
				}
				pids[i] = 0;
			}
			if (!pids[i]) {
				uint64_t s = rnd();

				fflush(NULL);
				pids[i] = fork();
				if (pids[i] == 0)
					load_worker(s);
				started++;
			}
		}
		usleep(10000 + rnd() % 100000);
		i = rnd() % 6;
		if (pids[i] && kill(pids[i], SIGKILL) == 0)
			killed++;
	}
	for (i = 0; i < 6; i++) {
		if (!pids[i])
			continue;
		kill(pids[i], SIGKILL);
		waitpid(pids[i], &st, 0);
	}
	CHECK(!bad, "load for %.0f s: %d Dune processes (2 extra threads each, forks, faults), "
	      "%d SIGKILLed at random; every one ended by exit 0, SIGSEGV or SIGKILL",
	      seconds, started, killed);
	CHECK(hx_canaries_progress(HX_PROGRESS_SECONDS), "load: canaries still make progress");
	hx_check_host("load");
}

int main(int argc, char **argv)
{
	uint64_t seed;
	int svm = hwtest_cpu_virt() && !strcmp(hwtest_cpu_virt(), "svm");
	long iters = argc > 2 ? atol(argv[2]) : svm ? 20000 : 2000;
	double load = argc > 3 ? atof(argv[3]) : 10;
	int fd;

	if (argc > 1 && !strcmp(argv[1], "--exec-old-fd"))
		return exec_image();
	seed = argc > 1 ? strtoull(argv[1], NULL, 0) : (uint64_t)time(NULL) ^ getpid();
	printf("# seed %#llx (reproduce: ioctl-fuzz %#llx %ld %.0f)\n", (unsigned long long)seed,
	       (unsigned long long)seed, iters, load);
	hx_setup();
	fd = open_dune();
	check_bad_pointers(fd);
	check_numbers(fd);
	check_reserved(fd);
	close(fd);
	check_order();
	check_exec();
	check_concurrent(seed);
	fuzz(seed, iters, 100);
	check_load(seed, load);
	return hx_finish();
}
