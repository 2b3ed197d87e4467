// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * dune_init(true): ordinary process memory never reaches the program's
 * page-fault handler as a demand fault.
 *
 * The original pre-mapped 0-4 GiB and its whole mmap and stack windows,
 * read-write-execute and user, so nothing the program mapped later ever
 * faulted in the guest.  That would give ring 3 the whole process, and
 * every page rights its host mapping may not have.  Here pgroot holds what
 * /proc/self/maps showed at dune_init (vm.c, mirror_maps), and a ring-0
 * not-present fault on memory mapped later is resolved here, before the
 * program's handler: if the host maps the page readable or executable, it
 * is mapped to its mirror with the host mapping's rights (supervisor;
 * writable only if the host mapping is, no-execute unless it is
 * executable).  An address the host maps PROT_NONE or not at all, a
 * deliberate PERM_NONE leaf, a ring-3 fault, and faults while a program's
 * own page-table tree is loaded stay the program's (docs/compat.md).
 *
 * Which host mappings exist is asked of the module (DUNE_GET_VMAS; else
 * read from /proc/self/maps) and kept until the program's next call that
 * can change them (dune_map_gen), so a run of faults costs one question,
 * and faults in a PROT_NONE range the program manages itself with its
 * handler (dune-bench's appel rows) none.
 *
 * This runs in trap context, maybe on several vCPUs at once: no malloc,
 * no stdio, raw system calls, static buffers under a spinlock.  Built with
 * -mgeneral-regs-only, as trap.c.
 */
#include <fcntl.h>
#include <sys/syscall.h>

#include "internal.h"

/* A host mapping (@ok: readable or executable), or a hole or PROT_NONE
 * mapping (!@ok), as /proc/self/maps showed it at generation @gen. */
struct vma {
	uintptr_t start, end;
	unsigned long gen;
	bool ok, w, x;
};

/*
 * Bumped by the guest's SYSCALL entry (entry.S) before every call that
 * can change the process's mappings (mmap, munmap, mprotect, brk, mremap,
 * madvise, shmat, shmdt, pkey_mprotect, remap_file_pages): what was read
 * under an older generation may be stale.  Calls made in host mode, by
 * threads not in Dune mode, are not counted (docs/compat.md).
 */
unsigned long dune_map_gen __attribute__((visibility("hidden")));

/* Mappings seen by earlier faults in this generation: most faults come
 * in runs over one fresh mapping, or over a PROT_NONE range the program
 * manages itself, and need no new read of /proc/self/maps. */
#define NR_CACHED	16
static struct vma cache[NR_CACHED];
static unsigned int cache_next;
static int lock;
static char buf[4096];

/* A fork child: only the forking thread exists, and it does not hold the
 * lock (fork is never called from here).  The cache is still true at the
 * fork, but the child's first mapping calls may run in host mode. */
void dune_full_map_after_fork(void)
{
	__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
	__atomic_fetch_add(&dune_map_gen, 1, __ATOMIC_ACQ_REL);
}

static void spin_lock(void)
{
	while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
		__asm__ __volatile__("pause");
}

static void spin_unlock(void)
{
	__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
}

static const char *hex(const char *p, uintptr_t *v)
{
	uintptr_t n = 0;

	for (;; p++) {
		if (*p >= '0' && *p <= '9')
			n = n * 16 + (uintptr_t)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			n = n * 16 + (uintptr_t)(*p - 'a' + 10);
		else
			break;
	}
	*v = n;
	return p;
}

/*
 * One maps line, "start-end rwxp ...", against @addr, with @prev_end the
 * end of the previous line's mapping: true when it decides, with @v the
 * hole before this mapping or the mapping itself.
 */
static bool line_decides(const char *p, uintptr_t addr, uintptr_t *prev_end, struct vma *v)
{
	uintptr_t start, end;

	p = hex(p, &start);
	if (*p++ != '-')
		return false;
	p = hex(p, &end);
	if (*p++ != ' ')
		return false;
	if (addr < start) {
		*v = (struct vma){ .start = *prev_end, .end = start };
		return true;
	}
	*prev_end = end;
	if (addr >= end)
		return false;
	*v = (struct vma){ .start = start, .end = end, .ok = p[0] == 'r' || p[2] == 'x',
			   .w = p[1] == 'w', .x = p[2] == 'x' };
	return true;
}

/*
 * What /proc/self/maps says about @addr.  A line's head (start, end,
 * perms: at most 38 bytes) is all that is needed: a line cut at the end of
 * a chunk is decided there if its head is complete (the rest of it skipped
 * in the next chunk), else carried over.  False if the file cannot be read.
 */
#define LINE_HEAD	40
static bool read_maps(uintptr_t addr, struct vma *v)
{
	long fd = dune_raw_syscall(SYS_open, (long)"/proc/self/maps", O_RDONLY | O_CLOEXEC,
				   0, 0, 0, 0);
	long n, i, head, keep = 0;
	uintptr_t prev_end = 0;
	bool found = false, skip = false;

	if (fd < 0)
		return false;
	while (!found) {
		n = dune_raw_syscall(SYS_read, fd, (long)buf + keep,
				     (long)sizeof(buf) - 1 - keep, 0, 0, 0);
		if (n < 0)
			break;
		if (n == 0) {	/* past the last mapping */
			*v = (struct vma){ .start = prev_end, .end = ~0UL };
			found = true;
			break;
		}
		n += keep;
		buf[n] = '\0';
		for (i = 0, head = 0; i < n && !found; i++) {
			if (buf[i] != '\n')
				continue;
			if (!skip)
				found = line_decides(buf + head, addr, &prev_end, v);
			skip = false;
			head = i + 1;
		}
		keep = found ? 0 : n - head;
		if (keep >= LINE_HEAD) {
			found = !skip && line_decides(buf + head, addr, &prev_end, v);
			skip = true;
			keep = 0;
		}
		for (i = 0; i < keep; i++)
			buf[i] = buf[head + i];
	}
	dune_raw_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
	return found;
}

/*
 * What the module says about @addr (DUNE_GET_VMAS, one exit, no text):
 * the mapping holding it, or the hole before the next one (from @addr's
 * page on: where it starts is not asked).  False if the module cannot
 * tell (an older module, a seccomp filter refusing the call).
 */
static bool query_vma(uintptr_t addr, struct vma *v)
{
	struct dune_vma m;
	struct dune_vmas q = { .addr = addr, .buf = (uintptr_t)&m, .nr = 1 };

	if (dune_fd < 0 ||
	    dune_raw_syscall(SYS_ioctl, dune_fd, DUNE_GET_VMAS, (long)&q, 0, 0, 0) < 0)
		return false;
	if (!q.nr)
		*v = (struct vma){ .start = PGADDR(addr), .end = ~0UL };
	else if (addr < m.start)
		*v = (struct vma){ .start = PGADDR(addr), .end = m.start };
	else
		*v = (struct vma){ .start = m.start, .end = m.end,
				   .ok = m.flags & (DUNE_VMA_READ | DUNE_VMA_EXEC),
				   .w = m.flags & DUNE_VMA_WRITE, .x = m.flags & DUNE_VMA_EXEC };
	return true;
}

static bool lookup_host(uintptr_t addr, struct vma *v)
{
	unsigned long gen = __atomic_load_n(&dune_map_gen, __ATOMIC_ACQUIRE);
	unsigned int i;

	for (i = 0; i < NR_CACHED; i++) {
		if (cache[i].gen == gen && addr >= cache[i].start && addr < cache[i].end) {
			*v = cache[i];
			return true;
		}
	}
	if (!query_vma(addr, v) && !read_maps(addr, v))
		return false;
	v->gen = gen;
	cache[cache_next++ % NR_CACHED] = *v;
	return true;
}

#ifdef DUNE_UNIT_TEST
/* tests/unit/test_fullmap: read_maps() against the process's own maps. */
bool dune_full_map_read_maps(uintptr_t addr, uintptr_t *start, uintptr_t *end, bool *ok,
			     bool *w, bool *x)
{
	struct vma v;

	if (!read_maps(addr, &v))
		return false;
	*start = v.start;
	*end = v.end;
	*ok = v.ok;
	*w = v.w;
	*x = v.x;
	return true;
}
#endif

/*
 * A ring-0 fault on pgroot: not present, on a page the host maps
 * accessible: its mirror with the host's rights; a write to a mirror
 * mapped read-only that the host has made writable since: writable.
 */
bool dune_full_map_fault(uintptr_t addr, uint64_t fec)
{
	bool write = (fec & (FEC_P | FEC_W)) == (FEC_P | FEC_W), ok;
	struct vma v;

	if ((fec & (FEC_U | FEC_RSV)) || ((fec & FEC_P) && !write) ||
	    dune_vm_current_root() != pgroot)
		return false;
	/* A write fault on the program's own read-only page is its own. */
	if (write && !dune_vm_mirror_ro(addr, false))
		return false;
	spin_lock();
	ok = lookup_host(addr, &v) && v.ok && (v.w || !write);
	spin_unlock();
	if (!ok)
		return false;
	if (write)
		return dune_vm_mirror_ro(addr, true);
	return dune_vm_map_mirror_rights(addr, v.w, v.x) == 0;
}
