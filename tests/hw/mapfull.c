// SPDX-License-Identifier: GPL-2.0
/*
 * dune_init(map_full): with true, as in the original libdune, a program's
 * page-fault handler never sees demand faults on ordinary process memory:
 * 1 MiB of fresh mmap memory, 1 MiB of malloc memory (brk and mmap), and
 * a read-only mapping (mapped read-only in the guest too: no more rights
 * than the host's); memory the host maps PROT_NONE and a ring-3 fault
 * still reach it.  With false, the handler sees the demand faults, as
 * before (one per page of fresh memory).
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dunetest.h"

#define MIB		(1 << 20)
#define PAGES		(MIB / 4096)

static volatile long n_handler;
static uint8_t *volatile none_base;	/* read by the handler */
static volatile long n_none;

static void count_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	n_handler++;
	/* The program's own use of an address range the host keeps
	 * PROT_NONE (as dune-bench's page-fault row): a pool page. */
	if (none_base && addr - (uintptr_t)none_base < 4096 && !(fec & FEC_P)) {
		n_none++;
		if (dune_vm_map_pages(pgroot, none_base, 4096, PERM_R | PERM_W))
			dune_die();
		return;
	}
	dune_vm_default_pgflt_handler(addr, fec);
}

static void touch(volatile uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += 4096)
		p[i] = (uint8_t)i;
}

/* In a fresh child: init with @full, enter, touch; exit 0 if all held. */
static void child(bool full)
{
	volatile uint8_t *fresh, *heap, *big, *ro;
	long after_mmap, after_malloc, after_ro;
	ptent_t *pte;
	bool ro_guest;
	int r, sum = 0, i;

	mallopt(M_MMAP_THRESHOLD, 4 * MIB);	/* small blocks from brk */
	r = dune_init(full);
	if (!r)
		r = dune_enter();
	if (r)
		_exit(CHILD_NO_DUNE);
	dune_register_pgflt_handler(count_pgflt);

	fresh = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	touch(fresh, MIB);
	after_mmap = n_handler;

	heap = malloc(MIB);		/* brk */
	big = malloc(8 * MIB);		/* mmap */
	touch(heap, MIB);
	touch(big, 8 * MIB);
	after_malloc = n_handler - after_mmap;

	ro = mmap(NULL, 4 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (i = 0; i < 4; i++)
		sum += ro[i * 4096];
	after_ro = n_handler - after_mmap - after_malloc;
	ro_guest = dune_vm_lookup(pgroot, (void *)ro, CREATE_NONE, &pte) == 0 &&
		   (*pte & PTE_P) && !(*pte & PTE_W);

	none_base = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	((volatile uint8_t *)none_base)[8] = 1;

	printf("map_full=%d: handler calls: %ld for 1 MiB mmap, %ld for 9 MiB malloc, "
	       "%ld for 4 read-only pages, %ld for the PROT_NONE page\n",
	       full, after_mmap, after_malloc, after_ro, n_none);
	if (full)
		exit(after_mmap == 0 && after_malloc == 0 && after_ro == 0 && ro_guest &&
		     n_none == 1 && sum == 0 ? 0 : 1);
	exit(after_mmap >= PAGES && after_malloc >= 8 * PAGES && after_ro == 4 &&
	     n_none == 1 && sum == 0 ? 0 : 1);
}

/* An mprotect that makes touched read-only memory writable: the write
 * reaches neither the handler nor a SIGSEGV. */
static void child_upgrade(void)
{
	volatile uint8_t *p;

	if (dune_init(true) || dune_enter())
		_exit(CHILD_NO_DUNE);
	dune_register_pgflt_handler(count_pgflt);
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	(void)p[0];
	if (mprotect((void *)p, 4096, PROT_READ | PROT_WRITE))
		exit(2);
	p[0] = 7;
	exit(n_handler == 0 && p[0] == 7 ? 0 : 1);
}

static int run(void (*fn)(bool), bool arg, void (*fn0)(void))
{
	int status = -1;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (fn)
			fn(arg);
		else
			fn0();
		_exit(3);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static void check(const char *what, int st)
{
	char buf[64];

	if (WIFEXITED(st) && WEXITSTATUS(st) == CHILD_NO_DUNE)
		SKIP_ALL("cannot enter Dune mode here");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s (%s)", what,
	      describe_status(st, buf, sizeof(buf)));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	check("map_full=true: no demand fault on ordinary memory reaches the handler; "
	      "read-only stays read-only; PROT_NONE still does", run(child, true, NULL));
	check("map_full=false: the handler sees every demand fault, as before",
	      run(child, false, NULL));
	check("map_full=true: memory made writable after its first touch is writable",
	      run(NULL, false, child_upgrade));
	return hwtest_done();
}
