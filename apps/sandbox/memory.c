// SPDX-License-Identifier: GPL-2.0
/*
 * The program's memory: a table of its regions, kept in step with the host
 * mappings and with the guest page tables (where only these regions carry
 * PERM_U, so ring 3 can touch nothing else).  Every pointer a system call
 * hands to the kernel is checked against this table.
 *
 * The program's threads are the monitor's: one recursive lock covers the
 * table, the host mappings and the guest page-table edits, so a check
 * never sees a half-changed table, and a caller that checks and then
 * copies program memory (syscalls.c, signal.c) holds it across both: no
 * sibling thread unmaps the memory in between.  Other vCPUs may keep a
 * stale guest TLB entry for a page changed here; the host mapping changes
 * with it (the module's mirror follows the host's page tables), so such an
 * entry reaches no more than the program's own arenas.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "sandbox.h"

#define MAX_REGIONS	4096

struct region {
	uintptr_t start, end;
	int prot;
};

static pthread_mutex_t lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static struct region regions[MAX_REGIONS];
static int n_regions;
static uintptr_t brk_start, brk_cur, brk_mapped;

void mem_lock(void)
{
	pthread_mutex_lock(&lock);
}

void mem_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

/* A fork child: the lock may be held by a thread the child does not have
 * (sandbox_fork holds it across the fork, so the table is whole). */
void mem_after_fork(void)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&lock, &a);
	pthread_mutexattr_destroy(&a);
}

#define RESERVE_FLAGS	(MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED)

static int reserve(uintptr_t lo, uintptr_t hi)
{
	void *p = mmap((void *)lo, hi - lo, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	if (p != (void *)lo) {
		munmap(p, hi - lo);
		return -EEXIST;
	}
	/* The 1:1 part of guest-physical memory, for dune_vm_map_phys(). */
	return dune_va_to_pa((void *)(hi - 1)) == hi - 1 ? 0 : -ERANGE;
}

/* Reserve both arenas; fails if the monitor has anything there. */
int mem_init(void)
{
	int r = reserve(ARENA_LO, ARENA_LO_END);

	return r ? r : reserve(ARENA_HI_START, ARENA_HI);
}

bool mem_in_arena(uintptr_t addr, size_t len)
{
	if (addr >= ARENA_LO && addr < ARENA_LO_END)
		return len <= ARENA_LO_END - addr;
	return addr >= ARENA_HI_START && addr < ARENA_HI && len <= ARENA_HI - addr;
}

/* Index of the first region whose end is above @addr. */
static int find(uintptr_t addr)
{
	int lo = 0, hi = n_regions;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (regions[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool mem_ok_held(uintptr_t addr, size_t len, int prot)
{
	uintptr_t end = addr + len;
	int i;

	if (end < addr)
		return false;
	if (!len)
		return true;
	for (i = find(addr); addr < end; i++) {
		if (i >= n_regions || regions[i].start > addr ||
		    (regions[i].prot & prot) != prot)
			return false;
		addr = regions[i].end;
	}
	return true;
}

long mem_strlen_held(uintptr_t addr, size_t max)
{
	uintptr_t p = addr;
	int i;

	for (i = find(addr); i < n_regions && regions[i].start <= p; i++) {
		size_t n = regions[i].end - p;
		const char *z;

		if (!(regions[i].prot & PROT_READ))
			return -1;
		if (n > max - (p - addr))
			n = max - (p - addr);
		z = memchr((const void *)p, 0, n);
		if (z)
			return z - (const char *)addr;
		p += n;
		if (p - addr >= max)
			return -1;
	}
	return -1;
}

/* Set [start, end) to @prot in the table (-1: remove).  Regions are
 * sorted and disjoint; static scratch (handlers run on a 64 KiB stack). */
static int table_set(uintptr_t start, uintptr_t end, int prot)
{
	static struct region tmp[MAX_REGIONS];
	int i, n = 0;

	if (n_regions + 2 > MAX_REGIONS)
		return -ENOMEM;
	for (i = 0; i < n_regions && regions[i].start < start; i++) {
		tmp[n] = regions[i];
		if (tmp[n].end > start)
			tmp[n].end = start;
		n++;
	}
	if (prot >= 0)
		tmp[n++] = (struct region){ start, end, prot };
	for (i = 0; i < n_regions; i++) {
		struct region r = regions[i];

		if (r.end <= end)
			continue;
		if (r.start < end)
			r.start = end;
		tmp[n++] = r;
	}
	memcpy(regions, tmp, n * sizeof(tmp[0]));
	n_regions = n;
	return 0;
}

#define BIG_SZ	(2UL << 20)

/* [start, start + len) 1:1 with @perm: 2M guest pages where aligned. */
static int pt_map(uintptr_t start, size_t len, int perm)
{
	uintptr_t end = start + len, lo = (start + BIG_SZ - 1) & ~(BIG_SZ - 1);
	uintptr_t hi = end & ~(BIG_SZ - 1);
	int r;

	if (lo >= hi)	/* no whole 2M inside */
		return dune_vm_map_phys(pgroot, (void *)start, len,
					(void *)dune_va_to_pa((void *)start), perm);
	r = dune_vm_map_phys(pgroot, (void *)lo, hi - lo, (void *)dune_va_to_pa((void *)lo),
			     perm | PERM_BIG);
	if (!r && start < lo)
		r = dune_vm_map_phys(pgroot, (void *)start, lo - start,
				     (void *)dune_va_to_pa((void *)start), perm);
	if (!r && hi < end)
		r = dune_vm_map_phys(pgroot, (void *)hi, end - hi,
				     (void *)dune_va_to_pa((void *)hi), perm);
	return r;
}

/*
 * Ring 3's view: PERM_U with the region's rights, or nothing.  The guest
 * maps the arenas 1:1 (mem_init), so a big mapping takes 2M guest pages
 * (one entry for 512 4K ones: an 8 MiB stack cost about 250000
 * instructions of every start on the intel machine in 4K entries); the
 * nested tables still map what the host has, at 4K or 2M (the module).
 * Changing part of a 2M guest page later splits it (libdune).
 */
static int pt_set(uintptr_t start, size_t len, int prot)
{
	int perm = PERM_U, r = 0;

	if (prot & PROT_READ)
		perm |= PERM_R;
	if (prot & PROT_WRITE)
		perm |= PERM_W | PERM_R;
	if (prot & PROT_EXEC)
		perm |= PERM_X | PERM_R;
	dune_vm_unmap(pgroot, (void *)start, len);
	if (prot != PROT_NONE)
		r = pt_map(start, len, perm);
	dune_flush_tlb();
	return r;
}

static long mem_map_unlocked(uintptr_t addr, size_t len, int prot, int flags, int fd, long off)
{
	void *p;
	int r;

	len = PG_UP(len);
	if (!mem_in_arena(addr, len) || addr & (PAGE_SZ - 1))
		return -EPERM;
	flags &= ~(MAP_FIXED_NOREPLACE | MAP_GROWSDOWN);
	p = mmap((void *)addr, len, prot, flags | MAP_FIXED, fd, off);
	if (p == MAP_FAILED)
		return -errno;
	r = table_set(addr, addr + len, prot);
	if (!r)
		r = pt_set(addr, len, prot);
	if (r) {
		mem_unmap(addr, len);
		return r;
	}
	return addr;
}

static long mem_unmap_unlocked(uintptr_t addr, size_t len)
{
	len = PG_UP(len);
	if (!mem_in_arena(addr, len) || addr & (PAGE_SZ - 1))
		return -EINVAL;
	/* Back to the arena's reservation, never a hole. */
	if (mmap((void *)addr, len, PROT_NONE, RESERVE_FLAGS, -1, 0) == MAP_FAILED)
		return -errno;
	table_set(addr, addr + len, -1);
	pt_set(addr, len, PROT_NONE);
	return 0;
}

static long mem_protect_unlocked(uintptr_t addr, size_t len, int prot)
{
	int r;

	len = PG_UP(len);
	if (addr & (PAGE_SZ - 1) || prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	if (!mem_ok(addr, len, PROT_NONE))
		return -ENOMEM;
	if (mprotect((void *)addr, len, prot))
		return -errno;
	r = table_set(addr, addr + len, prot);
	return r ? r : pt_set(addr, len, prot);
}

static int mem_remap_all_unlocked(void)
{
	for (int i = 0; i < n_regions; i++) {
		int r = pt_set(regions[i].start, regions[i].end - regions[i].start,
			       regions[i].prot);

		if (r)
			return r;
	}
	return 0;
}

static void mem_unmap_all_unlocked(void)
{
	while (n_regions)
		mem_unmap(regions[0].start, regions[0].end - regions[0].start);
	brk_start = brk_cur = brk_mapped = 0;
}

/* First gap of @len bytes in [lo, hi), or 0. */
static uintptr_t find_gap(size_t len, uintptr_t lo, uintptr_t hi)
{
	uintptr_t a = lo;
	int i;

	for (i = find(lo); i < n_regions && regions[i].start < hi; i++) {
		if (regions[i].start >= a && regions[i].start - a >= len)
			return a;
		if (regions[i].end > a)
			a = regions[i].end;
	}
	return a < hi && hi - a >= len ? a : 0;
}

static bool range_free(uintptr_t addr, size_t len)
{
	int i = find(addr);

	return i >= n_regions || regions[i].start >= addr + len;
}

#define MMAP_OK_FLAGS	(MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_NORESERVE | \
			 MAP_POPULATE | MAP_STACK | MAP_DENYWRITE | MAP_FIXED_NOREPLACE | \
			 MAP_GROWSDOWN | MAP_EXECUTABLE | MAP_SHARED_VALIDATE)

static long sys_mmap_unlocked(uintptr_t addr, size_t len, int prot, int flags, int fd, long off)
{
	struct stat st;

	if (!len || len > ARENA_HI || flags & ~MMAP_OK_FLAGS ||
	    prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC) || off & (PAGE_SZ - 1))
		return -EINVAL;
	len = PG_UP(len);
	if (!(flags & MAP_ANONYMOUS)) {
		if (fd < 0 || fd >= 1024 || monitor_fd[fd])
			return -EBADF;
		/* Files only: no device memory (e.g. /dev/dune) in ring 3. */
		if (fstat(fd, &st))
			return -errno;
		if (!S_ISREG(st.st_mode))
			return -EACCES;
	} else {
		fd = -1;
		off = 0;
	}
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (addr & (PAGE_SZ - 1))
			return -EINVAL;
		if (!mem_in_arena(addr, len)) {
			sb_log("denied mmap(%#lx, %#zx, MAP_FIXED) outside the program's memory\n",
			       (unsigned long)addr, len);
			return -EPERM;
		}
		if (flags & MAP_FIXED_NOREPLACE && !(flags & MAP_FIXED) && !range_free(addr, len))
			return -EEXIST;
	} else if (!(addr && !(addr & (PAGE_SZ - 1)) && mem_in_arena(addr, len) &&
		     addr >= MMAP_LO && addr + len <= MMAP_HI && range_free(addr, len))) {
		addr = find_gap(len, MMAP_LO, MMAP_HI);
		if (!addr)
			return -ENOMEM;
	}
	return mem_map(addr, len, prot, flags, fd, off);
}

static int region_prot(uintptr_t addr)
{
	int i = find(addr);

	return i < n_regions && regions[i].start <= addr ? regions[i].prot : -1;
}

static long sys_mremap_unlocked(uintptr_t old, size_t oldlen, size_t newlen, int flags, uintptr_t new_addr)
{
	uintptr_t to;
	int prot;
	void *p;

	if (old & (PAGE_SZ - 1) || !newlen || flags & ~MREMAP_MAYMOVE)
		return -EINVAL;
	oldlen = PG_UP(oldlen);
	newlen = PG_UP(newlen);
	if (!mem_ok(old, oldlen, PROT_NONE))
		return -EFAULT;
	prot = region_prot(old);
	if (!mem_ok(old, oldlen, prot))
		return -EFAULT;	/* several protections: not modelled */
	if (newlen <= oldlen) {
		if (newlen < oldlen)
			mem_unmap(old + newlen, oldlen - newlen);
		return old;
	}
	if (!(flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	to = find_gap(newlen, MMAP_LO, MMAP_HI);
	if (!to)
		return -ENOMEM;
	p = mremap((void *)old, oldlen, newlen, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)to);
	if (p == MAP_FAILED)
		return -errno;
	/* The old range is a hole now: give it back to the reservation. */
	mmap((void *)old, oldlen, PROT_NONE, RESERVE_FLAGS, -1, 0);
	table_set(old, old + oldlen, -1);
	pt_set(old, oldlen, PROT_NONE);
	if (table_set(to, to + newlen, prot) || pt_set(to, newlen, prot)) {
		mem_unmap(to, newlen);
		return -ENOMEM;
	}
	return to;
}

static void mem_set_brk_unlocked(uintptr_t start)
{
	brk_start = brk_cur = brk_mapped = PG_UP(start);
}

static long sys_brk_unlocked(uintptr_t brk)
{
	uintptr_t want = PG_UP(brk);

	if (brk < brk_start || brk > brk_start + BRK_MAX)
		return brk_cur;
	if (want > brk_mapped) {
		if (!range_free(brk_mapped, want - brk_mapped) ||
		    mem_map(brk_mapped, want - brk_mapped, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) < 0)
			return brk_cur;
	} else if (want < brk_mapped) {
		mem_unmap(want, brk_mapped - want);
	}
	brk_mapped = want;
	brk_cur = brk;
	return brk_cur;
}

/* ---------------------------------------- the same, under the lock */

bool mem_ok(uintptr_t addr, size_t len, int prot)
{
	bool r;

	pthread_mutex_lock(&lock);
	r = mem_ok_held(addr, len, prot);
	pthread_mutex_unlock(&lock);
	return r;
}

long mem_strlen(uintptr_t addr, size_t max)
{
	long r;

	pthread_mutex_lock(&lock);
	r = mem_strlen_held(addr, max);
	pthread_mutex_unlock(&lock);
	return r;
}

long mem_map(uintptr_t addr, size_t len, int prot, int flags, int fd, long off)
{
	long r;

	pthread_mutex_lock(&lock);
	r = mem_map_unlocked(addr, len, prot, flags, fd, off);
	pthread_mutex_unlock(&lock);
	return r;
}

long mem_unmap(uintptr_t addr, size_t len)
{
	long r;

	pthread_mutex_lock(&lock);
	r = mem_unmap_unlocked(addr, len);
	pthread_mutex_unlock(&lock);
	return r;
}

long mem_protect(uintptr_t addr, size_t len, int prot)
{
	long r;

	pthread_mutex_lock(&lock);
	r = mem_protect_unlocked(addr, len, prot);
	pthread_mutex_unlock(&lock);
	return r;
}

int mem_remap_all(void)
{
	int r;

	pthread_mutex_lock(&lock);
	r = mem_remap_all_unlocked();
	pthread_mutex_unlock(&lock);
	return r;
}

void mem_unmap_all(void)
{
	pthread_mutex_lock(&lock);
	mem_unmap_all_unlocked();
	pthread_mutex_unlock(&lock);
}

long sys_mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, long off)
{
	long r;

	pthread_mutex_lock(&lock);
	r = sys_mmap_unlocked(addr, len, prot, flags, fd, off);
	pthread_mutex_unlock(&lock);
	return r;
}

long sys_mremap(uintptr_t old, size_t oldlen, size_t newlen, int flags, uintptr_t new_addr)
{
	long r;

	pthread_mutex_lock(&lock);
	r = sys_mremap_unlocked(old, oldlen, newlen, flags, new_addr);
	pthread_mutex_unlock(&lock);
	return r;
}

void mem_set_brk(uintptr_t start)
{
	pthread_mutex_lock(&lock);
	mem_set_brk_unlocked(start);
	pthread_mutex_unlock(&lock);
}

long sys_brk(uintptr_t brk)
{
	long r;

	pthread_mutex_lock(&lock);
	r = sys_brk_unlocked(brk);
	pthread_mutex_unlock(&lock);
	return r;
}
