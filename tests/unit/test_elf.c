// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests for libdune's ELF helpers (libdune/elf.c): a hand-built image
 * with known contents (mapping in detail: test_elf_load.c), real binaries (this test, a dynamic /bin/true, a
 * static-pie /sbin/ldconfig) checked against the raw bytes read with
 * <elf.h> alone, one corruption per error class, and a seeded mutation
 * fuzzer (DUNE_FUZZ_SEED and DUNE_FUZZ_ITERS override its defaults).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "unit_env.h"

/* ------------------------------------------------------- the mini image */

/*
 * ET_EXEC, three segments (text R-X, data RW- with 4000 bytes of bss,
 * GNU_STACK), five sections (NULL, .text, .data, .bss, .shstrtab).
 */
#define MINI_TEXT	0x100
#define MINI_TEXT_LEN	32
#define MINI_DATA	0x140
#define MINI_DATA_LEN	24
#define MINI_BSS_LEN	4000
#define MINI_STR	0x160
#define MINI_SHOFF	0x1a0
#define MINI_PHNUM	3
#define MINI_SHNUM	5
#define MINI_SIZE	(MINI_SHOFF + MINI_SHNUM * sizeof(Elf64_Shdr))

static const char mini_names[] = "\0.text\0.data\0.bss\0.shstrtab";

static _Alignas(8) unsigned char mini[MINI_SIZE];

static Elf64_Ehdr *mini_ehdr(unsigned char *img)
{
	return (Elf64_Ehdr *)img;
}

static Elf64_Phdr *mini_phdr(unsigned char *img, int i)
{
	return (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr)) + i;
}

static Elf64_Shdr *mini_shdr(unsigned char *img, int i)
{
	return (Elf64_Shdr *)(img + MINI_SHOFF) + i;
}

static void mini_section(int i, uint32_t name, uint32_t type, uint64_t flags, uint64_t addr,
			 uint64_t off, uint64_t size)
{
	*mini_shdr(mini, i) = (Elf64_Shdr){
		.sh_name = name, .sh_type = type, .sh_flags = flags, .sh_addr = addr,
		.sh_offset = off, .sh_size = size, .sh_addralign = 1,
	};
}

/* (Re)build the pristine mini image: tests corrupt it in place. */
static void build_mini(void)
{
	Elf64_Ehdr *h = mini_ehdr(mini);
	int i;

	memset(mini, 0, sizeof(mini));
	memcpy(h->e_ident, ELFMAG, SELFMAG);
	h->e_ident[EI_CLASS] = ELFCLASS64;
	h->e_ident[EI_DATA] = ELFDATA2LSB;
	h->e_ident[EI_VERSION] = EV_CURRENT;
	h->e_type = ET_EXEC;
	h->e_machine = EM_X86_64;
	h->e_version = EV_CURRENT;
	h->e_entry = 0x401100;
	h->e_phoff = sizeof(Elf64_Ehdr);
	h->e_shoff = MINI_SHOFF;
	h->e_ehsize = sizeof(Elf64_Ehdr);
	h->e_phentsize = sizeof(Elf64_Phdr);
	h->e_phnum = MINI_PHNUM;
	h->e_shentsize = sizeof(Elf64_Shdr);
	h->e_shnum = MINI_SHNUM;
	h->e_shstrndx = 4;

	*mini_phdr(mini, 0) = (Elf64_Phdr){
		.p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = MINI_TEXT,
		.p_vaddr = 0x401100, .p_paddr = 0x401100, .p_filesz = MINI_TEXT_LEN,
		.p_memsz = MINI_TEXT_LEN, .p_align = 0x1000,
	};
	*mini_phdr(mini, 1) = (Elf64_Phdr){
		.p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = MINI_DATA,
		.p_vaddr = 0x402140, .p_paddr = 0x402140, .p_filesz = MINI_DATA_LEN,
		.p_memsz = MINI_DATA_LEN + MINI_BSS_LEN, .p_align = 0x1000,
	};
	*mini_phdr(mini, 2) = (Elf64_Phdr){ .p_type = PT_GNU_STACK, .p_flags = PF_R | PF_W };

	for (i = 0; i < MINI_TEXT_LEN; i++)
		mini[MINI_TEXT + i] = 0x90 + i;
	for (i = 0; i < MINI_DATA_LEN; i++)
		mini[MINI_DATA + i] = 0xd0 + i;
	memcpy(mini + MINI_STR, mini_names, sizeof(mini_names));

	mini_section(1, 1, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 0x401100, MINI_TEXT,
		     MINI_TEXT_LEN);
	mini_section(2, 7, SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 0x402140, MINI_DATA,
		     MINI_DATA_LEN);
	mini_section(3, 13, SHT_NOBITS, SHF_ALLOC | SHF_WRITE, 0x402140 + MINI_DATA_LEN,
		     MINI_DATA + MINI_DATA_LEN, MINI_BSS_LEN);
	mini_section(4, 18, SHT_STRTAB, 0, 0, MINI_STR, sizeof(mini_names));
}

/* ------------------------------------------------------------- helpers */

static unsigned char *read_whole(const char *path, int *len)
{
	struct stat st;
	unsigned char *buf;
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	buf = malloc(st.st_size);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pread(fd, buf, st.st_size, 0), st.st_size);
	close(fd);
	*len = st.st_size;
	return buf;
}

static int count_cb_calls;
static int count_cb_stop_at;
static int count_cb_stop_ret;
static int count_loads;

static int count_ph(struct dune_elf *elf, Elf64_Phdr *ph)
{
	count_cb_calls++;
	if (ph->p_type == PT_LOAD)
		count_loads++;
	return count_cb_calls == count_cb_stop_at ? count_cb_stop_ret : 0;
}

static int count_sh(struct dune_elf *elf, const char *name, int num, Elf64_Shdr *sh)
{
	ck_assert_int_eq(num, count_cb_calls);
	ck_assert_ptr_eq(sh, &elf->shdr[num]);
	count_cb_calls++;
	return count_cb_calls == count_cb_stop_at ? count_cb_stop_ret : 0;
}

static void count_reset(int stop_at, int ret)
{
	count_cb_calls = 0;
	count_loads = 0;
	count_cb_stop_at = stop_at;
	count_cb_stop_ret = ret;
}

/* @len bytes of PROT_NONE: a place dune_elf_load_ph may map over
 * (MAP_FIXED) without touching the test's own memory. */
static unsigned char *reserve(size_t len)
{
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	return p;
}

/* Map @ph one page into a reservation and check copy and bss. */
static void check_load(struct dune_elf *elf, Elf64_Phdr *ph)
{
	size_t len = PGADDR(PGOFF(ph->p_vaddr) + ph->p_memsz + PGMASK) + 2 * PGSIZE;
	unsigned char *res = reserve(len), *buf = res + PGSIZE + PGOFF(ph->p_vaddr);
	uint64_t i;

	ck_assert_int_eq(dune_elf_load_ph(elf, ph, (off_t)((uintptr_t)buf - ph->p_vaddr)), 0);
	ck_assert_int_eq(memcmp(buf, elf->mem + ph->p_offset, ph->p_filesz), 0);
	for (i = ph->p_filesz; i < ph->p_memsz; i++)
		ck_assert_uint_eq(buf[i], 0);
	munmap(res, len);
}

/* ------------------------------------------------------ the mini image */

static const char *const mini_section_names[MINI_SHNUM] = {
	"", ".text", ".data", ".bss", ".shstrtab",
};
static int names_seen;

static int check_name(struct dune_elf *elf, const char *name, int num, Elf64_Shdr *sh)
{
	ck_assert_str_eq(name, mini_section_names[num]);
	names_seen++;
	return 0;
}

START_TEST(mini_parses)
{
	struct dune_elf elf;
	int i;

	build_mini();
	elf.priv = &elf;
	ck_assert_int_eq(dune_elf_open_mem(&elf, mini, MINI_SIZE), 0);
	ck_assert_ptr_eq(elf.priv, &elf);	/* the caller's */
	ck_assert_int_eq(elf.fd, -1);
	ck_assert_ptr_eq(elf.mem, mini);
	ck_assert_int_eq(elf.len, MINI_SIZE);
	ck_assert_ptr_nonnull(elf.elf);
	ck_assert_int_eq(memcmp(&elf.hdr, mini, sizeof(Elf64_Ehdr)), 0);
	ck_assert_uint_eq(elf.hdr.e_entry, 0x401100);
	ck_assert_ptr_ne(elf.phdr, mini_phdr(mini, 0));	/* a copy */
	for (i = 0; i < MINI_PHNUM; i++)
		ck_assert_int_eq(memcmp(&elf.phdr[i], mini_phdr(mini, i), sizeof(Elf64_Phdr)), 0);
	for (i = 0; i < MINI_SHNUM; i++)
		ck_assert_int_eq(memcmp(&elf.shdr[i], mini_shdr(mini, i), sizeof(Elf64_Shdr)), 0);
	ck_assert_ptr_eq(elf.shdrstr, (char *)mini + MINI_STR);

	count_reset(0, 0);
	ck_assert_int_eq(dune_elf_iter_ph(&elf, count_ph), 0);
	ck_assert_int_eq(count_cb_calls, MINI_PHNUM);
	ck_assert_int_eq(count_loads, 2);
	names_seen = 0;
	ck_assert_int_eq(dune_elf_iter_sh(&elf, check_name), 0);
	ck_assert_int_eq(names_seen, MINI_SHNUM);
	ck_assert_int_eq(dune_elf_close(&elf), 0);
	ck_assert_ptr_null(elf.phdr);
	ck_assert_ptr_null(elf.elf);
}
END_TEST

START_TEST(mini_loads)
{
	struct dune_elf elf;
	unsigned char *buf;

	build_mini();
	ck_assert_int_eq(dune_elf_open_mem(&elf, mini, MINI_SIZE), 0);
	check_load(&elf, &elf.phdr[0]);
	check_load(&elf, &elf.phdr[1]);
	/* The bss really is zeroed over what was there, and the data copied. */
	buf = mmap(NULL, 2 * PGSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(buf, MAP_FAILED);
	memset(buf, 0x55, 2 * PGSIZE);
	buf += 0x140;
	ck_assert_int_eq(dune_elf_load_ph(&elf, &elf.phdr[1], (off_t)((uintptr_t)buf - 0x402140)),
			 0);
	ck_assert_uint_eq(buf[0], 0xd0);
	ck_assert_uint_eq(buf[MINI_DATA_LEN - 1], 0xd0 + MINI_DATA_LEN - 1);
	ck_assert_uint_eq(buf[MINI_DATA_LEN], 0);
	ck_assert_uint_eq(buf[MINI_DATA_LEN + MINI_BSS_LEN - 1], 0);
	munmap(buf - 0x140, 2 * PGSIZE);
	ck_assert_int_eq(dune_elf_close(&elf), 0);
}
END_TEST

START_TEST(load_ph_validates_first)
{
	unsigned char buf[64];
	struct dune_elf elf;
	Elf64_Phdr ph;
	off_t off = (off_t)((uintptr_t)buf - 0x401100);

	build_mini();
	ck_assert_int_eq(dune_elf_open_mem(&elf, mini, MINI_SIZE), 0);
	memset(buf, 0xaa, sizeof(buf));
	ck_assert_int_eq(dune_elf_load_ph(&elf, &elf.phdr[2], 0), -EINVAL);	/* GNU_STACK */
	ph = elf.phdr[0];
	ph.p_memsz = ph.p_filesz - 1;
	ck_assert_int_eq(dune_elf_load_ph(&elf, &ph, off), -ENOEXEC);
	ph = elf.phdr[0];
	ph.p_offset = MINI_SIZE - 8;
	ck_assert_int_eq(dune_elf_load_ph(&elf, &ph, off), -ENOEXEC);
	ph = elf.phdr[0];
	ph.p_offset = UINT64_MAX - 4;
	ck_assert_int_eq(dune_elf_load_ph(&elf, &ph, off), -ENOEXEC);
	ph = elf.phdr[0];
	ph.p_vaddr = UINT64_MAX - 8;	/* destination wraps around */
	ck_assert_int_eq(dune_elf_load_ph(&elf, &ph, 0), -EINVAL);
	ck_assert_int_eq(dune_elf_load_ph(&elf, &elf.phdr[0], -0x401101), -EINVAL);
	ck_assert_int_eq(dune_elf_load_ph(&elf, NULL, off), -EINVAL);
	for (size_t i = 0; i < sizeof(buf); i++)
		ck_assert_uint_eq(buf[i], 0xaa);	/* nothing written */
	ck_assert_int_eq(dune_elf_close(&elf), 0);
	ck_assert_int_eq(dune_elf_load_ph(&elf, &ph, off), -EINVAL);	/* closed */
}
END_TEST

START_TEST(iter_stops_at_nonzero)
{
	struct dune_elf elf;

	build_mini();
	ck_assert_int_eq(dune_elf_open_mem(&elf, mini, MINI_SIZE), 0);
	count_reset(2, 42);
	ck_assert_int_eq(dune_elf_iter_ph(&elf, count_ph), 42);
	ck_assert_int_eq(count_cb_calls, 2);
	count_reset(1, -7);
	ck_assert_int_eq(dune_elf_iter_ph(&elf, count_ph), -7);
	ck_assert_int_eq(count_cb_calls, 1);
	count_reset(3, -EPERM);
	ck_assert_int_eq(dune_elf_iter_sh(&elf, count_sh), -EPERM);
	ck_assert_int_eq(count_cb_calls, 3);
	count_reset(MINI_SHNUM, 1);	/* the last one */
	ck_assert_int_eq(dune_elf_iter_sh(&elf, count_sh), 1);
	ck_assert_int_eq(count_cb_calls, MINI_SHNUM);
	ck_assert_int_eq(dune_elf_close(&elf), 0);
}
END_TEST

/* Counts beyond the header's fields: e_shnum 0, e_phnum PN_XNUM and
 * e_shstrndx SHN_XINDEX defer to section 0. */
START_TEST(extended_numbering)
{
	struct dune_elf elf;

	build_mini();
	mini_ehdr(mini)->e_shnum = 0;
	mini_ehdr(mini)->e_phnum = PN_XNUM;
	mini_ehdr(mini)->e_shstrndx = SHN_XINDEX;
	mini_shdr(mini, 0)->sh_size = MINI_SHNUM;
	mini_shdr(mini, 0)->sh_info = MINI_PHNUM;
	mini_shdr(mini, 0)->sh_link = 4;
	ck_assert_int_eq(dune_elf_open_mem(&elf, mini, MINI_SIZE), 0);
	count_reset(0, 0);
	ck_assert_int_eq(dune_elf_iter_ph(&elf, count_ph), 0);
	ck_assert_int_eq(count_cb_calls, MINI_PHNUM);
	names_seen = 0;
	ck_assert_int_eq(dune_elf_iter_sh(&elf, check_name), 0);
	ck_assert_int_eq(names_seen, MINI_SHNUM);
	dune_elf_close(&elf);
}
END_TEST

static int no_name(struct dune_elf *elf, const char *name, int num, Elf64_Shdr *sh)
{
	ck_assert_str_eq(name, "");
	return 0;
}

START_TEST(optional_tables)
{
	struct dune_elf elf;

	/* No section name table: names are "". */
	build_mini();
	mini_ehdr(mini)->e_shstrndx = SHN_UNDEF;
	ck_assert_int_eq(dune_elf_open_mem(&elf, mini, MINI_SIZE), 0);
	ck_assert_ptr_null(elf.shdrstr);
	ck_assert_int_eq(dune_elf_iter_sh(&elf, no_name), 0);
	dune_elf_close(&elf);

	/* No section table at all. */
	build_mini();
	mini_ehdr(mini)->e_shoff = 0;
	mini_ehdr(mini)->e_shnum = 0;
	mini_ehdr(mini)->e_shstrndx = 0;
	ck_assert_int_eq(dune_elf_open_mem(&elf, mini, MINI_SHOFF), 0);
	ck_assert_ptr_null(elf.shdr);
	count_reset(0, 0);
	ck_assert_int_eq(dune_elf_iter_sh(&elf, count_sh), 0);
	ck_assert_int_eq(count_cb_calls, 0);
	ck_assert_int_eq(dune_elf_iter_ph(&elf, count_ph), 0);
	ck_assert_int_eq(count_cb_calls, MINI_PHNUM);
	dune_elf_close(&elf);

	/* No program headers (as in a relocatable object). */
	build_mini();
	mini_ehdr(mini)->e_type = ET_REL;
	mini_ehdr(mini)->e_phoff = 0;
	mini_ehdr(mini)->e_phnum = 0;
	mini_ehdr(mini)->e_phentsize = 0;
	ck_assert_int_eq(dune_elf_open_mem(&elf, mini, MINI_SIZE), 0);
	ck_assert_ptr_null(elf.phdr);
	count_reset(0, 0);
	ck_assert_int_eq(dune_elf_iter_ph(&elf, count_ph), 0);
	ck_assert_int_eq(count_cb_calls, 0);
	dune_elf_close(&elf);
}
END_TEST

/* ------------------------------------------------------- error classes */

struct corruption {
	const char *what;
	void (*apply)(unsigned char *img, int *len);
};

#define CORRUPT(name, body)						\
	static void corrupt_##name(unsigned char *img, int *len)	\
	{								\
		Elf64_Ehdr *h = mini_ehdr(img);				\
		(void)h;						\
		body;							\
	}

CORRUPT(magic, img[EI_MAG1] = 'F')
CORRUPT(class32, img[EI_CLASS] = ELFCLASS32)
CORRUPT(class_none, img[EI_CLASS] = ELFCLASSNONE)
CORRUPT(big_endian, img[EI_DATA] = ELFDATA2MSB)
CORRUPT(ident_version, img[EI_VERSION] = 0)
CORRUPT(version, h->e_version = 2)
CORRUPT(machine, h->e_machine = EM_386)
CORRUPT(machine_aarch64, h->e_machine = EM_AARCH64)
CORRUPT(empty, *len = 0)
CORRUPT(short_header, *len = sizeof(Elf64_Ehdr) - 1)
CORRUPT(trunc_phdrs, *len = sizeof(Elf64_Ehdr) + 100)
CORRUPT(trunc_shdrs, *len = MINI_SIZE - 1)
CORRUPT(trunc_segment, { h->e_shoff = 0; h->e_shnum = 0; h->e_shstrndx = 0;
			  *len = MINI_DATA + 10; })
CORRUPT(phoff_past_end, h->e_phoff = MINI_SIZE)
CORRUPT(phoff_wraps, h->e_phoff = UINT64_MAX - 8)
CORRUPT(phoff_zero, h->e_phoff = 0)
CORRUPT(phentsize, h->e_phentsize = 32)
CORRUPT(phnum_huge, h->e_phnum = 0xfff0)
CORRUPT(shoff_past_end, h->e_shoff = MINI_SIZE - 32)
CORRUPT(shoff_wraps, h->e_shoff = UINT64_MAX - 63)
CORRUPT(shentsize, h->e_shentsize = 40)
CORRUPT(shnum_huge, h->e_shnum = 1000)
CORRUPT(shnum_no_table, h->e_shoff = 0)
CORRUPT(xnum_zero, { h->e_shnum = 0; mini_shdr(img, 0)->sh_size = 0; })
CORRUPT(xnum_huge, { h->e_shnum = 0; mini_shdr(img, 0)->sh_size = 1ULL << 60; })
CORRUPT(shstrndx_range, h->e_shstrndx = MINI_SHNUM)
CORRUPT(shstrndx_xindex, { h->e_shstrndx = SHN_XINDEX; mini_shdr(img, 0)->sh_link = 99; })
CORRUPT(shstrndx_type, h->e_shstrndx = 1)
CORRUPT(seg_past_end, mini_phdr(img, 0)->p_offset = MINI_SIZE - 16)
CORRUPT(seg_wraps, { mini_phdr(img, 1)->p_offset = UINT64_MAX - 1; })
CORRUPT(seg_filesz_wraps, { mini_phdr(img, 1)->p_filesz = UINT64_MAX;
			    mini_phdr(img, 1)->p_memsz = UINT64_MAX; })
CORRUPT(seg_note_past_end, { mini_phdr(img, 2)->p_type = PT_NOTE;
			     mini_phdr(img, 2)->p_filesz = MINI_SIZE + 1; })
CORRUPT(seg_filesz_memsz, mini_phdr(img, 1)->p_memsz = MINI_DATA_LEN - 1)
CORRUPT(seg_vaddr_wraps, mini_phdr(img, 1)->p_vaddr = UINT64_MAX - 100)
CORRUPT(sec_past_end, mini_shdr(img, 2)->sh_offset = MINI_SIZE - 4)
CORRUPT(sec_size_wraps, mini_shdr(img, 1)->sh_size = UINT64_MAX)
CORRUPT(strtab_past_end, mini_shdr(img, 4)->sh_size = MINI_SIZE)
CORRUPT(name_past_table, mini_shdr(img, 2)->sh_name = sizeof(mini_names))
CORRUPT(name_far, mini_shdr(img, 2)->sh_name = 0xfffffff0)
/* ".shstrtab" is the table's last string: shrink the table by its NUL. */
CORRUPT(name_unterminated, mini_shdr(img, 4)->sh_size = sizeof(mini_names) - 1)

static const struct corruption corruptions[] = {
#define C(name) { #name, corrupt_##name }
	C(magic), C(class32), C(class_none), C(big_endian), C(ident_version), C(version),
	C(machine), C(machine_aarch64), C(empty), C(short_header), C(trunc_phdrs),
	C(trunc_shdrs), C(trunc_segment), C(phoff_past_end), C(phoff_wraps), C(phoff_zero),
	C(phentsize), C(phnum_huge), C(shoff_past_end), C(shoff_wraps), C(shentsize),
	C(shnum_huge), C(shnum_no_table), C(xnum_zero), C(xnum_huge), C(shstrndx_range),
	C(shstrndx_xindex), C(shstrndx_type), C(seg_past_end), C(seg_wraps),
	C(seg_filesz_wraps), C(seg_note_past_end), C(seg_filesz_memsz), C(seg_vaddr_wraps),
	C(sec_past_end), C(sec_size_wraps), C(strtab_past_end), C(name_past_table),
	C(name_far), C(name_unterminated),
#undef C
};
#define NR_CORRUPTIONS ((int)(sizeof(corruptions) / sizeof(corruptions[0])))

START_TEST(error_is_enoexec)
{
	const struct corruption *c = &corruptions[_i];
	struct dune_elf elf;
	int len = MINI_SIZE, ret;

	build_mini();
	c->apply(mini, &len);
	ret = dune_elf_open_mem(&elf, mini, len);
	ck_assert_msg(ret == -ENOEXEC, "%s: %d", c->what, ret);
	/* Left closed: everything is safe on it. */
	ck_assert_ptr_null(elf.elf);
	ck_assert_ptr_null(elf.phdr);
	ck_assert_ptr_null(elf.shdr);
	ck_assert_int_eq(dune_elf_iter_ph(&elf, count_ph), -EINVAL);
	ck_assert_int_eq(dune_elf_iter_sh(&elf, count_sh), -EINVAL);
	ck_assert_int_eq(dune_elf_dump(&elf), -EINVAL);
	ck_assert_int_eq(dune_elf_close(&elf), 0);
	ck_assert_int_eq(dune_elf_close(&elf), 0);
}
END_TEST

START_TEST(open_errors)
{
	char path[] = "/tmp/dune-test-elf-XXXXXX";
	struct dune_elf elf;
	int fd;

	ck_assert_int_eq(dune_elf_open(&elf, "/nonexistent/dune/elf"), -ENOENT);
	ck_assert_int_eq(dune_elf_open(&elf, "/"), -EISDIR);
	ck_assert_int_eq(dune_elf_open(&elf, "/dev/null"), -ENOEXEC);
	ck_assert_int_eq(dune_elf_open(&elf, NULL), -EINVAL);
	ck_assert_int_eq(dune_elf_open_mem(&elf, NULL, 64), -EINVAL);
	ck_assert_int_eq(dune_elf_open_mem(&elf, mini, -1), -EINVAL);
	ck_assert_int_eq(dune_elf_open_mem(NULL, mini, 64), -EINVAL);
	ck_assert_int_eq(dune_elf_close(&elf), 0);

	/* A script, a truncated ELF file, then the whole one. */
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "#!/bin/sh\nexit 0\n", 17), 17);
	ck_assert_int_eq(dune_elf_open(&elf, path), -ENOEXEC);
	build_mini();
	ck_assert_int_eq(pwrite(fd, mini, MINI_SIZE - 1, 0), MINI_SIZE - 1);
	ck_assert_int_eq(dune_elf_open(&elf, path), -ENOEXEC);
	ck_assert_int_eq(elf.fd, -1);
	ck_assert_int_eq(pwrite(fd, mini, MINI_SIZE, 0), MINI_SIZE);
	ck_assert_int_eq(dune_elf_open(&elf, path), 0);
	ck_assert_int_ge(elf.fd, 0);
	ck_assert_int_eq(elf.len, MINI_SIZE);
	ck_assert_int_eq(memcmp(elf.mem, mini, MINI_SIZE), 0);
	check_load(&elf, &elf.phdr[1]);
	fd = elf.fd;
	ck_assert_int_eq(dune_elf_close(&elf), 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);	/* closed */
	ck_assert_int_eq(dune_elf_close(&elf), 0);
	unlink(path);
}
END_TEST

START_TEST(dump_prints_tables)
{
	char path[] = "/tmp/dune-test-elf-dump-XXXXXX";
	char out[8192];
	struct dune_elf elf;
	int fd = mkstemp(path), saved = dup(2);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	build_mini();
	ck_assert_int_eq(dune_elf_open_mem(&elf, mini, MINI_SIZE), 0);
	/* dune_printf writes to fd 2 */
	dup2(fd, 2);
	ck_assert_int_eq(dune_elf_dump(&elf), 0);
	dup2(saved, 2);
	n = pread(fd, out, sizeof(out) - 1, 0);
	ck_assert_int_gt(n, 0);
	out[n] = '\0';
	ck_assert_ptr_nonnull(strstr(out, ".shstrtab"));
	ck_assert_ptr_nonnull(strstr(out, "NOBITS"));
	ck_assert_ptr_nonnull(strstr(out, "LOAD"));
	ck_assert_ptr_nonnull(strstr(out, "GNU_STACK"));
	ck_assert_ptr_nonnull(strstr(out, "0x0000000000401100"));
	dune_elf_close(&elf);
	close(fd);
	close(saved);
}
END_TEST

/* ------------------------------------------------------- real binaries */

static const struct {
	const char *path;
	bool interp;	/* dynamically linked */
} binaries[] = {
	{ "/proc/self/exe", true },
	{ "/bin/true", true },
	{ "/sbin/ldconfig", false },	/* static-pie on Debian */
};

static int load_each(struct dune_elf *elf, Elf64_Phdr *ph)
{
	if (ph->p_type == PT_LOAD)
		check_load(elf, ph);
	return 0;
}

static const unsigned char *raw_names;

static int check_raw_name(struct dune_elf *elf, const char *name, int num, Elf64_Shdr *sh)
{
	ck_assert_str_eq(name, (const char *)raw_names + sh->sh_name);
	return 0;
}

/* Compare @elf with what <elf.h> alone reads from @raw. */
static void check_against_raw(struct dune_elf *elf, const unsigned char *raw, int len)
{
	Elf64_Ehdr h;
	Elf64_Phdr ph;
	Elf64_Shdr sh;
	int i, loads = 0;

	memcpy(&h, raw, sizeof(h));
	ck_assert_int_eq(memcmp(&elf->hdr, &h, sizeof(h)), 0);
	ck_assert_uint_eq(h.e_machine, EM_X86_64);
	ck_assert(h.e_type == ET_EXEC || h.e_type == ET_DYN);
	for (i = 0; i < h.e_phnum; i++) {
		memcpy(&ph, raw + h.e_phoff + i * sizeof(ph), sizeof(ph));
		ck_assert_int_eq(memcmp(&elf->phdr[i], &ph, sizeof(ph)), 0);
		loads += ph.p_type == PT_LOAD;
	}
	ck_assert_int_ge(loads, 1);
	for (i = 0; i < h.e_shnum; i++) {
		memcpy(&sh, raw + h.e_shoff + i * sizeof(sh), sizeof(sh));
		ck_assert_int_eq(memcmp(&elf->shdr[i], &sh, sizeof(sh)), 0);
	}
	memcpy(&sh, raw + h.e_shoff + h.e_shstrndx * sizeof(sh), sizeof(sh));
	raw_names = raw + sh.sh_offset;
	ck_assert_int_eq(dune_elf_iter_sh(elf, check_raw_name), 0);

	count_reset(0, 0);
	ck_assert_int_eq(dune_elf_iter_ph(elf, count_ph), 0);
	ck_assert_int_eq(count_cb_calls, h.e_phnum);
	ck_assert_int_eq(count_loads, loads);
	ck_assert_int_eq(dune_elf_iter_ph(elf, load_each), 0);
	(void)len;
}

static int has_interp(struct dune_elf *elf, Elf64_Phdr *ph)
{
	return ph->p_type == PT_INTERP;
}

START_TEST(real_binary)
{
	struct dune_elf elf, melf;
	unsigned char *raw;
	int len;

	raw = read_whole(binaries[_i].path, &len);
	ck_assert_int_eq(dune_elf_open(&elf, binaries[_i].path), 0);
	ck_assert_int_eq(elf.len, len);
	ck_assert_int_eq(memcmp(elf.mem, raw, len), 0);
	check_against_raw(&elf, raw, len);
	ck_assert_int_eq(dune_elf_iter_ph(&elf, has_interp), binaries[_i].interp);

	/* The same from memory. */
	ck_assert_int_eq(dune_elf_open_mem(&melf, raw, len), 0);
	check_against_raw(&melf, raw, len);
	ck_assert_int_eq(dune_elf_close(&melf), 0);
	ck_assert_int_eq(dune_elf_close(&elf), 0);
	free(raw);
}
END_TEST

/* ---------------------------------------------------------------- fuzz */

/* xorshift64*: the same sequence for a seed everywhere. */
static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint64_t rng_below(uint64_t n)
{
	return n ? rng() % n : 0;
}

struct undo {
	int off;
	unsigned char old;
};

struct fuzz_img {
	unsigned char *buf;
	int len;
	uint64_t regions[4][2];		/* ehdr, phdrs, shdrs, names: [off, len) */
	struct undo undo[64];
	int nundo;
};

static void poke(struct fuzz_img *f, uint64_t off, unsigned char v)
{
	if (off >= (uint64_t)f->len || f->nundo == 64)
		return;
	f->undo[f->nundo++] = (struct undo){ off, f->buf[off] };
	f->buf[off] = v;
}

static const uint64_t interesting[] = {
	0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000,
	0xffffffff, 0x100000000ULL, UINT64_MAX, UINT64_MAX - 1, INT64_MAX,
	PN_XNUM, SHN_XINDEX, SHN_UNDEF,
};

/* One mutation; header tables are hit far more often than code bytes. */
static void mutate(struct fuzz_img *f, int *len)
{
	uint64_t *r = f->regions[rng_below(4)];
	uint64_t off = r[0] + rng_below(r[1] ? r[1] : 1), v;
	int i, width;

	switch (rng_below(6)) {
	case 0:		/* a bit anywhere */
		off = rng_below(f->len);
		poke(f, off, f->buf[off] ^ (1u << rng_below(8)));
		break;
	case 1:		/* a random byte in a table */
		poke(f, off, rng());
		break;
	case 2:		/* an interesting value over an aligned field */
		width = 1 << rng_below(4);
		off &= ~(uint64_t)(width - 1);
		v = interesting[rng_below(sizeof(interesting) / sizeof(interesting[0]))];
		if (rng_below(2))
			v = rng_below(2) ? f->len + rng_below(64) - 32 : v + rng_below(3) - 1;
		for (i = 0; i < width; i++)
			poke(f, off + i, v >> (8 * i));
		break;
	case 3:		/* truncate, often right around a table */
		*len = rng_below(2) ? rng_below(f->len) : r[0] + r[1] - rng_below(8);
		if (*len < 0 || *len > f->len)
			*len = f->len;
		break;
	default:	/* a few bits in the ELF header */
		poke(f, rng_below(sizeof(Elf64_Ehdr)), rng());
		break;
	}
}

/* Every load lands at the same page-aligned place (each replaces the
 * last): FUZZ_DST bytes plus the segment's page offset and a guard.  Small,
 * because every load now faults its pages in (test_elf_load.c covers big
 * segments). */
#define FUZZ_DST	(1 << 13)
#define FUZZ_RES	(FUZZ_DST + 3 * PGSIZE)
static unsigned char *fuzz_res;
static unsigned long fuzz_checksum;
static unsigned long fuzz_parsed;

/* Mapping costs a fault per page (60 us each in some VMs): one parsed
 * image in 8 is loaded. */
static int fuzz_ph(struct dune_elf *elf, Elf64_Phdr *ph)
{
	uintptr_t dst = (uintptr_t)fuzz_res + PGSIZE;

	fuzz_checksum += ph->p_type + ph->p_offset + ph->p_filesz + ph->p_memsz + ph->p_vaddr;
	if (ph->p_type != PT_LOAD || ph->p_memsz > FUZZ_DST || fuzz_parsed % 8)
		return 0;
	ck_assert_int_eq(dune_elf_load_ph(elf, ph, (off_t)(dst - PGADDR(ph->p_vaddr))), 0);
	return 0;
}

static int fuzz_sh(struct dune_elf *elf, const char *name, int num, Elf64_Shdr *sh)
{
	fuzz_checksum += strlen(name) + sh->sh_type + sh->sh_offset + sh->sh_size;
	/* In bounds, but for NOBITS and NULL (section 0's size can be a count):
	 * touch both ends. */
	if (sh->sh_type != SHT_NOBITS && sh->sh_type != SHT_NULL && sh->sh_size) {
		fuzz_checksum += elf->mem[sh->sh_offset];
		fuzz_checksum += elf->mem[sh->sh_offset + sh->sh_size - 1];
	}
	return 0;
}

static void fuzz_setup(struct fuzz_img *f, unsigned char *buf, int len)
{
	Elf64_Ehdr h;
	Elf64_Shdr names;

	memcpy(&h, buf, sizeof(h));
	memcpy(&names, buf + h.e_shoff + h.e_shstrndx * sizeof(names), sizeof(names));
	*f = (struct fuzz_img){
		.buf = buf, .len = len,
		.regions = {
			{ 0, sizeof(h) },
			{ h.e_phoff, h.e_phnum * sizeof(Elf64_Phdr) },
			{ h.e_shoff, h.e_shnum * sizeof(Elf64_Shdr) },
			{ names.sh_offset, names.sh_size },
		},
	};
}

/* Mutate, parse, use, undo.  Returns 1 if the image parsed. */
static int fuzz_one(struct fuzz_img *f)
{
	struct dune_elf elf;
	int len = f->len, nmut = 1 + rng_below(4), ret, i;

	f->nundo = 0;
	for (i = 0; i < nmut; i++)
		mutate(f, &len);
	ret = dune_elf_open_mem(&elf, f->buf, len);
	if (ret == 0) {
		fuzz_parsed++;
		ck_assert_int_eq(dune_elf_iter_ph(&elf, fuzz_ph), 0);
		ck_assert_int_eq(dune_elf_iter_sh(&elf, fuzz_sh), 0);
	} else {
		ck_assert_msg(ret == -ENOEXEC, "open_mem: %d", ret);
	}
	ck_assert_int_eq(dune_elf_close(&elf), 0);
	while (f->nundo) {
		f->nundo--;
		f->buf[f->undo[f->nundo].off] = f->undo[f->nundo].old;
	}
	return ret == 0;
}

static uint64_t env_or(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : dflt;
}

/*
 * Three images in turn: the mini one, this test's own binary, /bin/true.
 * A seed replays the same run for the same binaries (a rebuilt test binary
 * is a different input).
 */
START_TEST(fuzz)
{
	uint64_t seed = env_or("DUNE_FUZZ_SEED", 0xd0e5eed5a1adULL);
	uint64_t iters = env_or("DUNE_FUZZ_ITERS", 100000), i, parsed = 0;
	struct fuzz_img imgs[3];
	unsigned char *self, *tru, *copy;
	int self_len, tru_len;
	struct timespec t0, t1;

	rng_state = seed ? seed : 1;
	fuzz_res = reserve(FUZZ_RES);
	printf("elf fuzz: seed %#" PRIx64 ", %" PRIu64 " iterations\n", seed, iters);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	build_mini();
	/* A malloc'd copy of the mini image, so that tools see its bounds. */
	copy = malloc(MINI_SIZE);
	memcpy(copy, mini, MINI_SIZE);
	self = read_whole("/proc/self/exe", &self_len);
	tru = read_whole("/bin/true", &tru_len);
	fuzz_setup(&imgs[0], copy, MINI_SIZE);
	fuzz_setup(&imgs[1], self, self_len);
	fuzz_setup(&imgs[2], tru, tru_len);
	for (i = 0; i < iters; i++)
		parsed += fuzz_one(&imgs[i % 3]);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("elf fuzz: %" PRIu64 " parsed, %" PRIu64 " rejected with -ENOEXEC, %.1f s\n",
	       parsed, iters - parsed,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	/* Both outcomes must be exercised, or the mutations are useless. */
	ck_assert_uint_gt(parsed, iters / 20);
	ck_assert_uint_gt(iters - parsed, iters / 20);
	/* The undo log restored every image. */
	ck_assert_int_eq(memcmp(copy, mini, MINI_SIZE), 0);
	free(copy);
	free(self);
	free(tru);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("elf");
	TCase *tc = tcase_create("parse");
	TCase *tf = tcase_create("fuzz");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, mini_parses);
	tcase_add_test(tc, mini_loads);
	tcase_add_test(tc, load_ph_validates_first);
	tcase_add_test(tc, iter_stops_at_nonzero);
	tcase_add_test(tc, extended_numbering);
	tcase_add_test(tc, optional_tables);
	tcase_add_loop_test(tc, error_is_enoexec, 0, NR_CORRUPTIONS);
	tcase_add_test(tc, open_errors);
	tcase_add_test(tc, dump_prints_tables);
	tcase_add_loop_test(tc, real_binary, 0, sizeof(binaries) / sizeof(binaries[0]));
	suite_add_tcase(s, tc);
	tcase_add_test(tf, fuzz);
	tcase_set_timeout(tf, 120);	/* ~1 s normally; much longer under valgrind */
	suite_add_tcase(s, tf);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
