// SPDX-License-Identifier: GPL-2.0
/*
 * Dune mode basics, from issue 3's list: ordinary library and system-call
 * use after dune_enter() (hello), privileged instructions in guest ring 0
 * (privileged), touching 256 MiB (scale, with exits per page reported) and
 * 200 processes entering and leaving in sequence (repeat).
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>

#include "dunetest.h"

static void check_hello(void)
{
	char buf[32] = "";
	int fds[2], sv[2], fd, ok;
	struct timespec ts = { 0 };
	size_t i, n = 64UL << 20;
	unsigned char *big;

	fd = open("/tmp/dune-basics", O_CREAT | O_TRUNC | O_RDWR, 0600);
	ok = fd >= 0 && write(fd, "hello", 5) == 5 && lseek(fd, 0, SEEK_SET) == 0 &&
	     read(fd, buf, sizeof(buf)) == 5 && !memcmp(buf, "hello", 5) && close(fd) == 0;
	CHECK(ok, "open/write/lseek/read/close a file");
	unlink("/tmp/dune-basics");
	ok = pipe(fds) == 0 && write(fds[1], "p", 1) == 1 && read(fds[0], buf, 1) == 1 &&
	     buf[0] == 'p';
	CHECK(ok, "pipe");
	ok = socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 && write(sv[0], "s", 1) == 1 &&
	     read(sv[1], buf, 1) == 1 && buf[0] == 's';
	CHECK(ok, "socketpair");
	big = malloc(n);
	for (i = 0; big && i < n; i += 4096)
		big[i] = (unsigned char)i;
	for (i = 0; big && i < n && big[i] == (unsigned char)i; i += 4096)
		;
	CHECK(big && i >= n, "malloc(64 MiB), every page written and read back");
	free(big);
	CHECK(clock_gettime(CLOCK_MONOTONIC, &ts) == 0 && (ts.tv_sec || ts.tv_nsec),
	      "clock_gettime (vDSO) = %ld.%09ld", (long)ts.tv_sec, ts.tv_nsec);
	CHECK(syscall(SYS_getpid) == getpid(), "getpid");
}

static void check_privileged(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idt, gdt;
	volatile int *p = malloc(sizeof(int));
	unsigned long cr3, cr3_after;

	asm volatile("mov %%cr3, %0" : "=r"(cr3));
	CHECK(cr3 != 0, "read CR3 in guest ring 0 (%#lx)", cr3);
	asm volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
	asm volatile("mov %%cr3, %0" : "=r"(cr3_after));
	*p = 5;
	CHECK(cr3_after == cr3 && *p == 5, "reload CR3 (flushes the guest TLB) and keep running");
	asm volatile("invlpg (%0)" : : "r"(p) : "memory");
	CHECK(*p == 5, "invlpg a page and touch it again");
	asm volatile("sidt %0" : "=m"(idt));
	asm volatile("sgdt %0" : "=m"(gdt));
	CHECK(idt.limit >= 32 * 16 - 1 && idt.base != 0, "guest IDT: base %#lx limit %u",
	      (unsigned long)idt.base, idt.limit);
	CHECK(gdt.limit >= 5 * 8 - 1 && gdt.base != 0, "guest GDT: base %#lx limit %u",
	      (unsigned long)gdt.base, gdt.limit);
	free((void *)p);
}

static void do_int3(void *a)
{
	(void)a;
	asm volatile("int3");
}

static void check_scale(void)
{
	struct dune_stats a, b;
	size_t i, n = 256UL << 20, pages = n / 4096;
	unsigned char *m = mmap(NULL, n, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t faults;

	if (m == MAP_FAILED) {
		CHECK(0, "mmap 256 MiB");
		return;
	}
	dune_get_stats(&a);
	for (i = 0; i < n; i += 4096)
		m[i] = 1;
	dune_get_stats(&b);
	faults = b.exits[DUNE_EXIT_NESTED_FAULT] - a.exits[DUNE_EXIT_NESTED_FAULT];
	/* One exit per 4K page at most, plus the guest page-table pages. */
	CHECK(faults >= pages / 512 && faults <= pages + pages / 8,
	      "touch 256 MiB: %llu nested-page exits for %zu pages (%.3f per page)",
	      (unsigned long long)faults, pages, (double)faults / pages);
	munmap(m, n);
}

static long meminfo_kb(const char *key)
{
	char line[128];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = atol(line + strlen(key) + 1);
	if (f)
		fclose(f);
	return v;
}

static long mem_kb(int with_slab)
{
	long avail = meminfo_kb("MemAvailable"), slab = meminfo_kb("SUnreclaim");

	if (!with_slab)
		return avail;
	return avail < 0 || slab < 0 ? -1 : avail + slab;
}

static void check_repeat(void)
{
	struct dune_info info;
	long before, after;
	int i, bad = 0, slab_by_kmemleak;

	/* On a kernel with kmemleak (the debug kernels), KASAN's quarantine
	 * keeps freed slab objects for a while (4.7 MB after 200 processes on
	 * 6.1-debug): count pages only, and leave slab leaks to kmemleak, which
	 * the runner scans after each test. */
	slab_by_kmemleak = hwtest_debug_kernel();
	before = mem_kb(slab_by_kmemleak);
	for (i = 0; i < 200; i++) {
		int st = run_in_dune_child(noop_fn, NULL);

		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad++;
	}
	after = mem_kb(slab_by_kmemleak);
	CHECK(bad == 0, "200 processes entered and exited in sequence (%d failed)", bad);
	CHECK(dune_get_info(&info) == 0 && info.live_vcpus == 1,
	      "only this process's vCPU is live afterwards (%u)", info.live_vcpus);
	/* Each vCPU holds several pages plus nested tables: a leak of even one
	 * page per process shows as 800 KiB; allow noise from the page cache. */
	CHECK(before > 0 && after > 0 && before - after < 4096,
	      "MemAvailable%s before %ld kB, after %ld kB",
	      slab_by_kmemleak ? " + SUnreclaim (slab: kmemleak)" : "", before, after);
}

int main(void)
{
	char buf[64];
	int st;

	require_dune_mode_in_child();
	st = run_in_dune_child(do_int3, NULL);
	require_dune_mode();
	check_hello();
	check_privileged();
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTRAP,
	      "an unhandled #BP in the guest ends the process with SIGTRAP: %s",
	      describe_status(st, buf, sizeof(buf)));
	check_scale();
	check_repeat();
	return hwtest_done();
}
