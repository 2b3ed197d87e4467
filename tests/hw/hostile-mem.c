// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile-process suite, memory group.
 *
 * Guest page tables may point anywhere: below, between and above the
 * guest-physical windows that mirror the process, at the APIC, beyond the
 * physical address width, and page-table entries may name tables outside
 * the process (page-walk references).  Reads, writes and instruction
 * fetches through them must end the process.
 *
 * Memory the process no longer owns must be unreachable at once: after
 * munmap (also from another thread, racing), mremap, MADV_DONTNEED, a file
 * truncated under a shared mapping, and fork's copy-on-write while another
 * vCPU keeps writing; a page a read mapped writable (the host had it
 * writable) loses that on mprotect and fork.  Stale nested translations are detected through a
 * second guest mapping (an alias in the guest page tables) of the same
 * guest-physical page, and through system calls, which read the host's
 * own page tables.
 * Optional argument: run only the cases whose name contains it.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>

#include "hostile.h"

#define ALIAS		((void *)0x500000000000UL)	/* nothing of the host's here */
#define ADDR_MASK	0x000ffffffffff000UL

enum gpa_target {
	G_ZERO, G_LOW, G_APIC, G_IOAPIC, G_4G, G_BELOW_MAPWIN, G_MAPWIN_HOLE,
	G_STACKWIN_HOLE, G_TOP, G_PHYS_LIMIT, G_2_51, G_SELF,
};

enum access { A_READ, A_WRITE, A_EXEC };

static char target_page[4096] __attribute__((aligned(4096)));

/* The positive control: an executable page of the process ("ret"). */
static unsigned char *exec_page(void)
{
	static unsigned char *p;

	if (!p) {
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			exit(20);
		p[0] = 0xc3;
	}
	return p;
}

static uintptr_t gpa_of(enum gpa_target t)
{
	uintptr_t map_win = dune_mmap_addr_to_pa((void *)mmap_base);
	uintptr_t stack_win = dune_stack_addr_to_pa((void *)stack_base);

	switch (t) {
	case G_ZERO:		return 0;
	case G_LOW:		return 0x1000;
	case G_APIC:		return 0xfee00000UL;
	case G_IOAPIC:		return 0xfec00000UL;
	case G_4G:		return 0x100000000UL;
	case G_BELOW_MAPWIN:	return map_win - 4096;	/* 1:1, far above anything mapped */
	case G_MAPWIN_HOLE:	return map_win;		/* 63 GiB below the mmap base */
	case G_STACKWIN_HOLE:	return stack_win;	/* 1 GiB below the stack top */
	case G_TOP:		return phys_limit - 4096;
	case G_PHYS_LIMIT:	return phys_limit;	/* beyond the physical width */
	case G_2_51:		return 1UL << 51;
	case G_SELF:		return dune_va_to_pa(exec_page());
	}
	return 0;
}

#define GPA_ARG(t, a)	((void *)(uintptr_t)((t) << 4 | (a)))

/* Map ALIAS to the target in the guest page tables, then use it. */
static void do_gpa_access(void *arg)
{
	enum gpa_target t = (uintptr_t)arg >> 4;
	enum access a = (uintptr_t)arg & 15;
	uintptr_t gpa = gpa_of(t);
	volatile unsigned char *p = ALIAS;

	if (gpa == ~0UL)
		exit(10);	/* layout not as assumed: no result */
	if (dune_vm_map_phys(pgroot, ALIAS, 4096, (void *)gpa, PERM_R | PERM_W | PERM_X))
		exit(11);
	dune_flush_tlb();
	switch (a) {
	case A_READ:
		if (p[0] == 0xc3 && t == G_SELF)
			exit(0);
		break;
	case A_WRITE:
		p[8] = 0x5a;
		if (t == G_SELF && exec_page()[8] == 0x5a)
			exit(0);
		break;
	case A_EXEC:
		((void (*)(void))ALIAS)();
		if (t == G_SELF)
			exit(0);
		break;
	}
	exit(1);	/* reached memory the process does not own */
}

/* A page-table entry (@level 3 = PML4E, 1 = PDE) naming a table at @gpa. */
static void walk_outside(int level, uintptr_t gpa)
{
	ptent_t *table = pgroot;
	int l;

	if (dune_vm_map_phys(pgroot, ALIAS, 4096, (void *)dune_va_to_pa(target_page),
			     PERM_R | PERM_W))
		exit(11);
	for (l = 3; l > level; l--) {
		ptent_t e = table[PDX(l, ALIAS)];

		table = (ptent_t *)dune_pa_to_va(e & ADDR_MASK);
		if (!(e & PTE_P) || table == (ptent_t *)~0UL)
			exit(12);
	}
	table[PDX(level, ALIAS)] = gpa | PTE_P | PTE_W;
	dune_flush_tlb();
	(void)*(volatile char *)ALIAS;
	exit(1);
}

static void do_walk_pml4e_low(void *a) { walk_outside(3, 0x2000); }
static void do_walk_pml4e_apic(void *a) { walk_outside(3, 0xfee00000UL); }
static void do_walk_pde_top(void *a) { walk_outside(1, phys_limit - 8192); }
static void do_walk_pde_beyond(void *a) { walk_outside(1, phys_limit); }

static char *map_page(size_t n, unsigned char fill)
{
	char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		exit(20);
	memset(p, fill, n);
	return p;
}

/* Point ALIAS at @p's guest-physical page. */
static void alias(void *p)
{
	if (dune_vm_map_phys(pgroot, ALIAS, 4096, (void *)dune_va_to_pa(p), PERM_R | PERM_W))
		exit(11);
	dune_flush_tlb();
}

/* What the host's page tables hold at @p (a system call reads them). */
static int host_byte(const void *p)
{
	int fds[2];
	unsigned char c = 0;

	if (pipe(fds) || write(fds[1], p, 1) != 1 || read(fds[0], &c, 1) != 1)
		return -1;
	close(fds[0]);
	close(fds[1]);
	return c;
}

/* munmap, then a new page at the same place: the alias must see it. */
static void do_munmap_remap(void *a)
{
	char *p = map_page(4096, 0x5a);
	volatile unsigned char *al = ALIAS;

	alias(p);
	if (al[0] != 0x5a)
		exit(2);
	munmap(p, 4096);
	if (mmap(p, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) != p)
		exit(20);
	if (al[0] != 0)
		exit(3);	/* stale: the old, freed page */
	al[1] = 0x77;
	exit(host_byte(p + 1) == 0x77 ? 0 : 4);
}

/* munmap without a new page: the alias faults. */
static void do_munmap_alias(void *a)
{
	char *p = map_page(4096, 0x5a);
	volatile unsigned char *al = ALIAS;

	alias(p);
	if (al[0] != 0x5a)
		exit(2);
	munmap(p, 4096);
	al[0] = 1;
	exit(3);
}

static void *unmapper(void *p)
{
	usleep(20 * 1000);
	munmap(p, 1 << 16);
	return NULL;
}

/* Another thread unmaps what this vCPU keeps writing. */
static void do_munmap_race(void *a)
{
	volatile char *p = map_page(1 << 16, 1);
	pthread_t t;
	unsigned long i;

	if (pthread_create(&t, NULL, unmapper, (void *)p))
		exit(21);
	for (i = 0;; i++)
		p[(i * 4096) % (1 << 16)] = (char)i;
}

static void do_mremap_old(void *a)
{
	char *p = map_page(8192, 0x5a), *q, *to;

	/* Not p + 1 GiB: above the mmap window, reading q faulted too, and
	 * the case passed whatever the old page did. */
	to = dunetest_fresh_range(8192);
	if (to == MAP_FAILED)
		exit(4);
	alias(p);
	q = mremap(p, 8192, 8192, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	if (q == MAP_FAILED || q[0] != 0x5a || q[4096] != 0x5a || host_byte(q) != 0x5a)
		exit(2);
	(void)*(volatile char *)ALIAS;	/* the old guest-physical page */
	exit(3);
}

static void do_dontneed_alias(void *a)
{
	char *p = map_page(4096, 0x5a);
	volatile unsigned char *al = ALIAS;

	alias(p);
	if (al[0] != 0x5a || madvise(p, 4096, MADV_DONTNEED))
		exit(2);
	if (al[0] != 0)
		exit(3);
	al[2] = 9;
	exit(p[2] == 9 && host_byte(p + 2) == 9 ? 0 : 4);
}

static char *truncated_file(int *fdp)
{
	int fd = open("/tmp/hostile-trunc", O_CREAT | O_TRUNC | O_RDWR, 0600);
	char buf[8192];
	char *p;

	memset(buf, 0x5a, sizeof(buf));
	if (fd < 0 || write(fd, buf, sizeof(buf)) != sizeof(buf))
		exit(20);
	unlink("/tmp/hostile-trunc");
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED || p[4096] != 0x5a)
		exit(20);
	*fdp = fd;
	return p;
}

/* Linux: SIGBUS for a page past the end of the file. */
static void do_truncate(void *a)
{
	int fd;
	volatile char *p = truncated_file(&fd);

	if (ftruncate(fd, 4096))
		exit(20);
	(void)p[4096];
	exit(3);
}

/* Truncate and extend again: the page is a new one, full of zeroes. */
static void do_truncate_extend(void *a)
{
	int fd;
	volatile char *p = truncated_file(&fd);

	if (ftruncate(fd, 4096) || ftruncate(fd, 8192))
		exit(20);
	exit(p[4096] == 0 && p[0] == 0x5a ? 0 : 3);
}

static volatile unsigned long *cow_page;
static volatile int cow_stop;

static void *cow_writer(void *a)
{
	unsigned long i = 1;

	if (dune_enter())
		return (void *)1;
	while (!cow_stop)
		*cow_page = i++;
	return NULL;
}

/*
 * fork while another vCPU writes: after fork the parent's pages are
 * copy-on-write, so the writer's next write must break COW (its nested
 * entry was write-protected); the child's copy stays still.
 */
static void do_fork_cow(void *a)
{
	unsigned long v1, v2, w1, w2;
	pthread_t t;
	double t0;
	void *tr;
	int st = -1;
	pid_t pid;

	cow_page = (void *)map_page(4096, 0);
	if (pthread_create(&t, NULL, cow_writer, NULL))
		exit(21);
	while (*cow_page < 1000)
		;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		v1 = *cow_page;
		usleep(50 * 1000);
		v2 = *cow_page;
		_exit(v1 == v2 ? 0 : 1);
	}
	/* The writer goes on in the parent (polled: an emulator may not run
	 * it within any fixed short window). */
	w1 = *cow_page;
	t0 = hx_now();
	do {
		usleep(10 * 1000);
		w2 = *cow_page;
	} while (w2 == w1 && hx_now() - t0 < 5.0);
	cow_stop = 1;
	pthread_join(t, &tr);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		exit(21);
	if (tr)
		exit(22);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		exit(3);	/* the child's copy changed under it */
	exit(w2 > w1 ? 0 : 4);	/* and the writer went on in the parent */
}

/*
 * A guest read of a page the host maps writable maps it writable at once
 * (kmod/common/vm.c, vm_fault_fast()).  mprotect(PROT_READ) must take
 * that back: a write through the alias, which the guest tables allow,
 * then faults.
 */
static void do_read_then_mprotect(void *a)
{
	char *p = map_page(4096, 0x5a);	/* the host wrote it: present, writable */
	volatile unsigned char *al = ALIAS;

	alias(p);
	if (al[0] != 0x5a)
		exit(2);
	al[1] = 0x11;	/* no second fault needed, but allowed */
	if (mprotect(p, 4096, PROT_READ))
		exit(20);
	al[0] = 1;
	exit(3);
}

/*
 * The same read-mapped-writable page, then fork: the parent's next write
 * must break COW rather than go through the old writable translation
 * into the page the child now shares.
 */
static void do_read_then_fork(void *a)
{
	volatile unsigned char *p = (void *)map_page(4096, 0x5a);
	int st = -1;
	pid_t pid;

	if (p[0] != 0x5a)
		exit(2);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		usleep(100 * 1000);
		_exit(p[0] == 0x5a ? 0 : 1);
	}
	p[0] = 0x33;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		exit(21);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		exit(3);	/* the child's copy changed under it */
	exit(host_byte((const void *)p) == 0x33 ? 0 : 4);
}

static const struct hostile_case cases[] = {
	{ "GPA control: alias of own page, read", do_gpa_access, GPA_ARG(G_SELF, A_READ),
	  HX_EXIT(0) },
	{ "GPA control: alias of own page, write", do_gpa_access, GPA_ARG(G_SELF, A_WRITE),
	  HX_EXIT(0) },
	{ "GPA control: alias of own page, execute", do_gpa_access, GPA_ARG(G_SELF, A_EXEC),
	  HX_EXIT(0) },
	{ "GPA 0, read", do_gpa_access, GPA_ARG(G_ZERO, A_READ), HX_SIG(SIGSEGV) },
	{ "GPA 0, write", do_gpa_access, GPA_ARG(G_ZERO, A_WRITE), HX_SIG(SIGSEGV) },
	{ "GPA 0x1000, execute", do_gpa_access, GPA_ARG(G_LOW, A_EXEC), HX_SIG(SIGSEGV) },
	{ "GPA 0xfee00000 (xAPIC), read", do_gpa_access, GPA_ARG(G_APIC, A_READ),
	  HX_SIG(SIGSEGV) },
	{ "GPA 0xfee00000 (xAPIC ICR), write", do_gpa_access, GPA_ARG(G_APIC, A_WRITE),
	  HX_SIG(SIGSEGV) },
	{ "GPA 0xfec00000 (IOAPIC), write", do_gpa_access, GPA_ARG(G_IOAPIC, A_WRITE),
	  HX_SIG(SIGSEGV) },
	{ "GPA 4 GiB (between), write", do_gpa_access, GPA_ARG(G_4G, A_WRITE), HX_SIG(SIGSEGV) },
	{ "GPA just below the mmap window, read", do_gpa_access,
	  GPA_ARG(G_BELOW_MAPWIN, A_READ), HX_SIG(SIGSEGV) },
	{ "GPA in a hole of the mmap window, write", do_gpa_access,
	  GPA_ARG(G_MAPWIN_HOLE, A_WRITE), HX_SIG(SIGSEGV) },
	{ "GPA in a hole of the stack window, execute", do_gpa_access,
	  GPA_ARG(G_STACKWIN_HOLE, A_EXEC), HX_SIG(SIGSEGV) },
	{ "GPA top page of the physical width, write", do_gpa_access, GPA_ARG(G_TOP, A_WRITE),
	  HX_SIG(SIGSEGV) },
	{ "GPA = phys_limit (beyond the width), read", do_gpa_access,
	  GPA_ARG(G_PHYS_LIMIT, A_READ), HX_SIG(SIGSEGV) },
	{ "GPA = phys_limit (beyond the width), write", do_gpa_access,
	  GPA_ARG(G_PHYS_LIMIT, A_WRITE), HX_SIG(SIGSEGV) },
	{ "GPA 2^51, execute", do_gpa_access, GPA_ARG(G_2_51, A_EXEC), HX_SIG(SIGSEGV) },
	{ "PML4E naming a table at GPA 0x2000", do_walk_pml4e_low, NULL, HX_SIG(SIGSEGV) },
	{ "PML4E naming a table at the xAPIC", do_walk_pml4e_apic, NULL, HX_SIG(SIGSEGV) },
	{ "PDE naming a table at the top of the width", do_walk_pde_top, NULL,
	  HX_SIG(SIGSEGV) },
	{ "PDE naming a table beyond the width", do_walk_pde_beyond, NULL, HX_SIG(SIGSEGV) },
	{ "munmap + new page: the alias sees the new page", do_munmap_remap, NULL, HX_EXIT(0) },
	{ "munmap: the alias faults", do_munmap_alias, NULL, HX_SIG(SIGSEGV) },
	{ "munmap from another thread while this vCPU writes", do_munmap_race, NULL,
	  HX_SIG(SIGSEGV) },
	{ "mremap: the old guest-physical page faults", do_mremap_old, NULL, HX_SIG(SIGSEGV) },
	{ "MADV_DONTNEED: the alias sees a fresh zero page", do_dontneed_alias, NULL,
	  HX_EXIT(0) },
	{ "file truncated under a shared mapping", do_truncate, NULL, HX_SIG(SIGBUS),
	  HX_SIG(SIGSEGV) },
	{ "file truncated and extended: a new zero page", do_truncate_extend, NULL, HX_EXIT(0) },
	{ "fork while another vCPU writes: COW holds", do_fork_cow, NULL, HX_EXIT(0) },
	{ "read maps a host-writable page writable; mprotect(PROT_READ) revokes it",
	  do_read_then_mprotect, NULL, HX_SIG(SIGSEGV) },
	{ "read maps a host-writable page writable; fork, the parent's write breaks COW",
	  do_read_then_fork, NULL, HX_EXIT(0) },
};

int main(int argc, char **argv)
{
	hx_setup();
	hx_run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc > 1 ? argv[1] : NULL);
	return hx_finish();
}
