// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * dune_elf_load_ph() maps a segment, as the original libdune's did (its
 * sandbox relies on that): each segment at its address with its bytes,
 * the bss zeroed including the rest of the last file page, the segment's
 * protections (checked in /proc/self/maps and by writing), from the file
 * itself when the image is a file, and nothing mapped for a bad header.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "unit_env.h"

/*
 * The image, page by page: headers; text (R-X, 0x40 bytes at 0x1000);
 * data (RW-, 0x30 bytes at 0x2010, bss to 0x3840: past the file page and
 * over a whole page); a read-only segment with a bss (R--, 0x20 bytes at
 * 0x2800, bss to 0x4800 in memory at 0x5800).  Every other byte is 0xee,
 * so a file byte that should have been zeroed shows.
 */
#define IMG_SIZE	0x3000
#define TEXT_OFF	0x1000
#define TEXT_LEN	0x40
#define DATA_OFF	0x2010
#define DATA_LEN	0x30
#define DATA_MEM	0x1830
#define RO_OFF		0x2800
#define RO_VADDR	0x5800
#define RO_LEN		0x20
#define RO_MEM		0x2000
#define SPAN		0x10000		/* the reservation the image maps into */

static _Alignas(4096) unsigned char img[IMG_SIZE];
static char img_path[64];

static void set_ph(int i, uint32_t flags, uint64_t off, uint64_t vaddr, uint64_t filesz,
		   uint64_t memsz)
{
	((Elf64_Phdr *)(img + sizeof(Elf64_Ehdr)))[i] = (Elf64_Phdr){
		.p_type = PT_LOAD, .p_flags = flags, .p_offset = off, .p_vaddr = vaddr,
		.p_paddr = vaddr, .p_filesz = filesz, .p_memsz = memsz, .p_align = PGSIZE,
	};
}

static void build_img(void)
{
	Elf64_Ehdr *h = (Elf64_Ehdr *)img;
	int i;

	memset(img, 0xee, sizeof(img));
	memset(img, 0, sizeof(*h) + 3 * sizeof(Elf64_Phdr));
	memcpy(h->e_ident, ELFMAG, SELFMAG);
	h->e_ident[EI_CLASS] = ELFCLASS64;
	h->e_ident[EI_DATA] = ELFDATA2LSB;
	h->e_ident[EI_VERSION] = EV_CURRENT;
	h->e_type = ET_EXEC;
	h->e_machine = EM_X86_64;
	h->e_version = EV_CURRENT;
	h->e_entry = TEXT_OFF;
	h->e_phoff = sizeof(*h);
	h->e_ehsize = sizeof(*h);
	h->e_phentsize = sizeof(Elf64_Phdr);
	h->e_phnum = 3;
	set_ph(0, PF_R | PF_X, TEXT_OFF, TEXT_OFF, TEXT_LEN, TEXT_LEN);
	set_ph(1, PF_R | PF_W, DATA_OFF, DATA_OFF, DATA_LEN, DATA_MEM);
	set_ph(2, PF_R, RO_OFF, RO_VADDR, RO_LEN, RO_MEM);
	for (i = 0; i < TEXT_LEN; i++)
		img[TEXT_OFF + i] = 0x90 + i;
	for (i = 0; i < DATA_LEN; i++)
		img[DATA_OFF + i] = 0xd0 + i;
	for (i = 0; i < RO_LEN; i++)
		img[RO_OFF + i] = 0x10 + i;
}

static void write_img(void)
{
	int fd;

	build_img();
	strcpy(img_path, "/tmp/dune-test-elf-load-XXXXXX");
	fd = mkstemp(img_path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, img, sizeof(img)), (ssize_t)sizeof(img));
	close(fd);
}

static unsigned char *reserve(void)
{
	void *p = mmap(NULL, SPAN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	return p;
}

/* The /proc/self/maps line of the mapping holding @addr: its "rwxp"
 * into @perms and its path ("" when anonymous); false if unmapped. */
static bool maps_of(const void *addr, char perms[5], char *path, size_t pathlen)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512], p[5], name[400];
	uintptr_t b, e, a = (uintptr_t)addr;
	bool found = false;

	ck_assert_ptr_nonnull(f);
	while (!found && fgets(line, sizeof(line), f)) {
		name[0] = '\0';
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %4s %*s %*s %*s %399s",
			   &b, &e, p, name) < 3 || a < b || a >= e)
			continue;
		memcpy(perms, p, 5);
		snprintf(path, pathlen, "%s", name);
		found = true;
	}
	fclose(f);
	return found;
}

static void check_maps(const void *addr, const char *want, const char *path)
{
	char perms[5], name[400];

	ck_assert_msg(maps_of(addr, perms, name, sizeof(name)), "%p unmapped", addr);
	ck_assert_str_eq(perms, want);
	ck_assert_str_eq(name, path);
}

static sigjmp_buf probe_env;

static void probe_segv(int sig)
{
	siglongjmp(probe_env, 1);
}

/* Does writing a byte at @p fault?  (It writes back what was there.) */
static bool write_faults(volatile unsigned char *p)
{
	struct sigaction sa = { .sa_handler = probe_segv }, old;
	bool faulted = false;

	sigaction(SIGSEGV, &sa, &old);
	if (sigsetjmp(probe_env, 1))
		faulted = true;
	else
		*p = *p;
	sigaction(SIGSEGV, &old, NULL);
	return faulted;
}

static int load_all(struct dune_elf *elf, unsigned char *base)
{
	int i, ret;

	for (i = 0; i < 3; i++) {
		ret = dune_elf_load_ph(elf, &elf->phdr[i], (off_t)(uintptr_t)base);
		if (ret)
			return ret;
	}
	return 0;
}

/* Each segment at base + p_vaddr, with its bytes and zeros; @path is what
 * maps shows for the file's pages ("" for anonymous ones). */
static void check_segments(unsigned char *base, const char *path)
{
	int i;

	for (i = 0; i < TEXT_LEN; i++)
		ck_assert_uint_eq(base[TEXT_OFF + i], 0x90 + i);
	for (i = 0; i < DATA_LEN; i++)
		ck_assert_uint_eq(base[DATA_OFF + i], 0xd0 + i);
	/* The file's 0xee after the data, in its last page, is zeroed too. */
	for (i = DATA_LEN; i < DATA_MEM; i++)
		ck_assert_uint_eq(base[DATA_OFF + i], 0);
	for (i = 0; i < RO_LEN; i++)
		ck_assert_uint_eq(base[RO_VADDR + i], 0x10 + i);
	for (i = RO_LEN; i < RO_MEM; i++)
		ck_assert_uint_eq(base[RO_VADDR + i], 0);

	check_maps(base + TEXT_OFF, "r-xp", path);
	check_maps(base + DATA_OFF, "rw-p", path);
	check_maps(base + DATA_OFF + DATA_MEM - 1, "rw-p", "");	/* bss pages */
	check_maps(base + RO_VADDR, "r--p", path);
	check_maps(base + RO_VADDR + RO_MEM - 1, "r--p", "");
	/* The pages around the segments are the reservation's, untouched. */
	check_maps(base, "---p", "");
	check_maps(base + 0x4000, "---p", "");
	check_maps(base + PGADDR(RO_VADDR + RO_MEM + PGMASK), "---p", "");

	ck_assert(write_faults(base + TEXT_OFF));
	ck_assert(write_faults(base + RO_VADDR));
	ck_assert(write_faults(base + RO_VADDR + RO_MEM - 1));
	ck_assert(!write_faults(base + DATA_OFF));
	ck_assert(!write_faults(base + DATA_OFF + DATA_MEM - 1));
}

START_TEST(file_segments_mapped_from_file)
{
	struct dune_elf elf;
	unsigned char *base = reserve();

	write_img();
	ck_assert_int_eq(dune_elf_open(&elf, img_path), 0);
	ck_assert_int_eq(load_all(&elf, base), 0);
	/* Closing the image leaves the segments: they map the file itself. */
	ck_assert_int_eq(dune_elf_close(&elf), 0);
	check_segments(base, img_path);
	unlink(img_path);
	munmap(base, SPAN);
}
END_TEST

START_TEST(mem_segments_copied)
{
	struct dune_elf elf;
	unsigned char *base = reserve();

	build_img();
	ck_assert_int_eq(dune_elf_open_mem(&elf, img, sizeof(img)), 0);
	ck_assert_int_eq(load_all(&elf, base), 0);
	ck_assert_int_eq(dune_elf_close(&elf), 0);
	check_segments(base, "");
	munmap(base, SPAN);
}
END_TEST

/* A file segment moved off its page offset cannot be mapped: copied. */
START_TEST(file_misaligned_copied)
{
	struct dune_elf elf;
	unsigned char *base = reserve();
	int i;

	write_img();
	ck_assert_int_eq(dune_elf_open(&elf, img_path), 0);
	ck_assert_int_eq(dune_elf_load_ph(&elf, &elf.phdr[1], (off_t)(uintptr_t)base + 8), 0);
	for (i = 0; i < DATA_LEN; i++)
		ck_assert_uint_eq(base[8 + DATA_OFF + i], 0xd0 + i);
	for (i = DATA_LEN; i < DATA_MEM; i++)
		ck_assert_uint_eq(base[8 + DATA_OFF + i], 0);
	check_maps(base + DATA_OFF, "rw-p", "");
	ck_assert_int_eq(dune_elf_close(&elf), 0);
	unlink(img_path);
	munmap(base, SPAN);
}
END_TEST

/* Loading replaces what was there, as mmap(MAP_FIXED) does. */
START_TEST(replaces_existing_memory)
{
	struct dune_elf elf;
	unsigned char *base = mmap(NULL, SPAN, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(base, MAP_FAILED);
	memset(base, 0x55, SPAN);
	build_img();
	ck_assert_int_eq(dune_elf_open_mem(&elf, img, sizeof(img)), 0);
	ck_assert_int_eq(dune_elf_load_ph(&elf, &elf.phdr[1], (off_t)(uintptr_t)base), 0);
	ck_assert_uint_eq(base[DATA_OFF - 1], 0);	/* same page, before the segment */
	ck_assert_uint_eq(base[DATA_OFF], 0xd0);
	ck_assert_uint_eq(base[DATA_OFF + DATA_MEM], 0);	/* same page, after */
	ck_assert_uint_eq(base[DATA_OFF - 0x11], 0x55);	/* the page before: untouched */
	ck_assert_uint_eq(base[0x4000], 0x55);		/* the page after */
	ck_assert_int_eq(dune_elf_close(&elf), 0);
	munmap(base, SPAN);
}
END_TEST

/* Is any page of [p, p + len) mapped? */
static bool any_mapped(const unsigned char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += PGSIZE)
		if (msync((void *)(p + i), PGSIZE, MS_ASYNC) == 0 || errno != ENOMEM)
			return true;
	return false;
}

START_TEST(bad_phdrs_map_nothing)
{
	struct dune_elf elf;
	unsigned char *hole;
	off_t off;
	Elf64_Phdr ph;

	write_img();
	ck_assert_int_eq(dune_elf_open(&elf, img_path), 0);
	/*
	 * A hole nothing else maps into while this (single) thread runs;
	 * made after dune_elf_open(), whose own mapping could land in it.
	 */
	hole = reserve();
	off = (off_t)(uintptr_t)hole;
	munmap(hole, SPAN);

	ph = elf.phdr[1];
	ph.p_type = PT_DYNAMIC;
	ck_assert_int_eq(dune_elf_load_ph(&elf, &ph, off), -EINVAL);
	ph = elf.phdr[1];
	ph.p_filesz = ph.p_memsz + 1;
	ck_assert_int_eq(dune_elf_load_ph(&elf, &ph, off), -ENOEXEC);
	ph = elf.phdr[1];
	ph.p_offset = IMG_SIZE - 8;	/* file range past the end */
	ck_assert_int_eq(dune_elf_load_ph(&elf, &ph, off), -ENOEXEC);
	ph = elf.phdr[1];
	ph.p_offset = UINT64_MAX - 4;
	ck_assert_int_eq(dune_elf_load_ph(&elf, &ph, off), -ENOEXEC);
	ph = elf.phdr[1];
	ph.p_memsz = UINT64_MAX - ph.p_vaddr;	/* wraps around */
	ck_assert_int_eq(dune_elf_load_ph(&elf, &ph, off), -EINVAL);
	ck_assert_int_eq(dune_elf_load_ph(&elf, NULL, off), -EINVAL);
	ck_assert_int_eq(dune_elf_load_ph(NULL, &elf.phdr[1], off), -EINVAL);
	ph = elf.phdr[1];
	ph.p_memsz = ph.p_filesz = 0;	/* nothing to map */
	ck_assert_int_eq(dune_elf_load_ph(&elf, &ph, off), 0);
	ck_assert(!any_mapped(hole, SPAN));

	/* Over the image itself: refused, the image intact. */
	ck_assert_int_eq(dune_elf_load_ph(&elf, &elf.phdr[1],
					  (off_t)((uintptr_t)elf.mem + 0x1000 - DATA_OFF)),
			 -EINVAL);
	ck_assert_uint_eq(elf.mem[DATA_OFF], 0xd0);
	/* Past the end of the address space: mmap's error, nothing mapped. */
	ph = elf.phdr[1];
	ck_assert_int_lt(dune_elf_load_ph(&elf, &ph, (off_t)(1ULL << 62)), 0);
	ck_assert_int_eq(dune_elf_close(&elf), 0);
	ck_assert_int_eq(dune_elf_load_ph(&elf, &ph, off), -EINVAL);	/* closed */
	ck_assert(!any_mapped(hole, SPAN));
	unlink(img_path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("elf_load");
	TCase *tc = tcase_create("map");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, file_segments_mapped_from_file);
	tcase_add_test(tc, mem_segments_copied);
	tcase_add_test(tc, file_misaligned_copied);
	tcase_add_test(tc, replaces_existing_memory);
	tcase_add_test(tc, bad_phdrs_map_nothing);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
