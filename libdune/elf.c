// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * ELF helpers: parse a 64-bit x86-64 ELF image (a file or memory) with
 * libelf, iterate its program and section headers, and map a PT_LOAD
 * segment at its address.
 *
 * Images come from untrusted sources (the sandbox loads arbitrary
 * programs), so dune_elf_open*() validates every table, range and name
 * against the image's size before anything reads them: afterwards the
 * phdr/shdr copies and shdrstr can be used without further checks.
 * libelf itself clamps some out-of-range tables silently (an out-of-bounds
 * section table reads as "no sections"), so the bounds are checked here on
 * the raw header and libelf's counts must agree with ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static pthread_once_t libelf_once = PTHREAD_ONCE_INIT;
static bool libelf_ok;

static void libelf_init(void)
{
	libelf_ok = elf_version(EV_CURRENT) != EV_NONE;
}

/* Is [off, off + size) inside an image of @len bytes? (overflow-safe) */
static bool in_image(const struct dune_elf *elf, uint64_t off, uint64_t size)
{
	return off <= (uint64_t)elf->len && size <= (uint64_t)elf->len - off;
}

/* Is a table of @n entries of @entsize bytes at @off inside the image? */
static bool table_in_image(const struct dune_elf *elf, uint64_t off, uint64_t n,
			   uint64_t entsize)
{
	return n <= (uint64_t)elf->len / entsize && in_image(elf, off, n * entsize);
}

/* Only what libdune can run: ELF64, little-endian, x86-64, version 1.  The
 * identification is checked on the raw bytes before libelf sees them, so
 * libelf never has to convert (or write to) a foreign-endian image. */
static bool ident_ok(const unsigned char *ident)
{
	return memcmp(ident, ELFMAG, SELFMAG) == 0 && ident[EI_CLASS] == ELFCLASS64 &&
	       ident[EI_DATA] == ELFDATA2LSB && ident[EI_VERSION] == EV_CURRENT;
}

/* Section 0's header: it holds the counts that do not fit in the ELF header
 * (extended numbering).  The caller has checked that it is in the image. */
static Elf64_Shdr raw_shdr0(const struct dune_elf *elf)
{
	Elf64_Shdr sh;

	memcpy(&sh, elf->mem + elf->hdr.e_shoff, sizeof(sh));
	return sh;
}

/* The real section count (extended numbering included), or -ENOEXEC. */
static int64_t count_sections(const struct dune_elf *elf)
{
	const Elf64_Ehdr *h = &elf->hdr;
	uint64_t n = h->e_shnum;

	if (h->e_shoff == 0)
		return n ? -ENOEXEC : 0;
	if (h->e_shentsize != sizeof(Elf64_Shdr) ||
	    !table_in_image(elf, h->e_shoff, 1, sizeof(Elf64_Shdr)))
		return -ENOEXEC;
	if (n == 0)
		n = raw_shdr0(elf).sh_size;
	if (n == 0 || !table_in_image(elf, h->e_shoff, n, sizeof(Elf64_Shdr)))
		return -ENOEXEC;
	return n;
}

/* The real program header count (PN_XNUM included), or -ENOEXEC. */
static int64_t count_segments(const struct dune_elf *elf, uint64_t shnum)
{
	const Elf64_Ehdr *h = &elf->hdr;
	uint64_t n = h->e_phnum;

	if (n == PN_XNUM && shnum > 0)
		n = raw_shdr0(elf).sh_info;
	if (n == 0)
		return 0;
	if (h->e_phoff == 0 || h->e_phentsize != sizeof(Elf64_Phdr) ||
	    !table_in_image(elf, h->e_phoff, n, sizeof(Elf64_Phdr)))
		return -ENOEXEC;
	return n;
}

/* The section name string table's index, SHN_UNDEF for none, or -ENOEXEC. */
static int64_t strtab_index(const struct dune_elf *elf, uint64_t shnum)
{
	uint64_t ndx = elf->hdr.e_shstrndx;

	if (ndx == SHN_XINDEX && shnum > 0)
		ndx = raw_shdr0(elf).sh_link;
	if (ndx != SHN_UNDEF && ndx >= shnum)
		return -ENOEXEC;
	return ndx;
}

static bool segment_ok(const struct dune_elf *elf, const Elf64_Phdr *ph)
{
	uint64_t end;

	if (!in_image(elf, ph->p_offset, ph->p_filesz))
		return false;
	/* Only these describe memory built from the file bytes; a core
	 * file's PT_NOTE, for one, has p_memsz 0. */
	if (ph->p_type != PT_LOAD && ph->p_type != PT_TLS)
		return true;
	return ph->p_filesz <= ph->p_memsz &&
	       !__builtin_add_overflow(ph->p_vaddr, ph->p_memsz, &end);
}

static int read_phdrs(struct dune_elf *elf, Elf *e, uint64_t phnum)
{
	size_t n;
	uint64_t i;

	if (elf_getphdrnum(e, &n) || n != phnum)
		return -ENOEXEC;
	if (phnum == 0)
		return 0;
	elf->phdr = calloc(phnum, sizeof(Elf64_Phdr));
	if (!elf->phdr)
		return -ENOMEM;
	for (i = 0; i < phnum; i++) {
		/* GElf_Phdr is Elf64_Phdr */
		if (!gelf_getphdr(e, i, &elf->phdr[i]) || !segment_ok(elf, &elf->phdr[i]))
			return -ENOEXEC;
	}
	return 0;
}

static bool section_ok(const struct dune_elf *elf, const Elf64_Shdr *sh)
{
	if (sh->sh_type == SHT_NOBITS || sh->sh_type == SHT_NULL)
		return true;
	return in_image(elf, sh->sh_offset, sh->sh_size);
}

static int read_shdrs(struct dune_elf *elf, Elf *e, uint64_t shnum)
{
	Elf_Scn *scn;
	size_t n;
	uint64_t i;

	if (elf_getshdrnum(e, &n) || n != shnum)
		return -ENOEXEC;
	if (shnum == 0)
		return 0;
	elf->shdr = calloc(shnum, sizeof(Elf64_Shdr));
	if (!elf->shdr)
		return -ENOMEM;
	for (i = 0; i < shnum; i++) {
		scn = elf_getscn(e, i);
		if (!scn || !gelf_getshdr(scn, &elf->shdr[i]) || !section_ok(elf, &elf->shdr[i]))
			return -ENOEXEC;
	}
	return 0;
}

/* Point shdrstr at the section name table, after checking that every
 * section's name starts inside it and ends with a NUL inside it. */
static int read_names(struct dune_elf *elf, Elf *e, uint64_t shnum)
{
	const Elf64_Shdr *tab;
	const char *str;
	int64_t ndx = strtab_index(elf, shnum);
	size_t libelf_ndx;
	uint64_t i;

	if (ndx < 0 || elf_getshdrstrndx(e, &libelf_ndx) || libelf_ndx != (uint64_t)ndx)
		return -ENOEXEC;
	if (ndx == SHN_UNDEF)
		return 0;
	tab = &elf->shdr[ndx];
	if (tab->sh_type != SHT_STRTAB)
		return -ENOEXEC;
	str = (const char *)elf->mem + tab->sh_offset;	/* in the image: section_ok() */
	for (i = 0; i < shnum; i++) {
		uint64_t name = elf->shdr[i].sh_name;

		if (name >= tab->sh_size || !memchr(str + name, '\0', tab->sh_size - name))
			return -ENOEXEC;
	}
	elf->shdrstr = (char *)str;
	return 0;
}

static int parse(struct dune_elf *elf)
{
	int64_t shnum, phnum;
	Elf *e;
	int ret;

	if ((size_t)elf->len < sizeof(Elf64_Ehdr) || !ident_ok(elf->mem))
		return -ENOEXEC;
	pthread_once(&libelf_once, libelf_init);
	if (!libelf_ok)
		return -ENOSYS;
	e = elf_memory((char *)elf->mem, elf->len);
	if (!e)
		return -ENOEXEC;
	elf->elf = e;
	if (elf_kind(e) != ELF_K_ELF || gelf_getclass(e) != ELFCLASS64 ||
	    !gelf_getehdr(e, &elf->hdr))
		return -ENOEXEC;
	if (elf->hdr.e_machine != EM_X86_64 || elf->hdr.e_version != EV_CURRENT)
		return -ENOEXEC;
	shnum = count_sections(elf);
	if (shnum < 0)
		return shnum;
	phnum = count_segments(elf, shnum);
	if (phnum < 0)
		return phnum;
	ret = read_phdrs(elf, e, phnum);
	if (!ret)
		ret = read_shdrs(elf, e, shnum);
	if (!ret)
		ret = read_names(elf, e, shnum);
	return ret;
}

static void init_closed(struct dune_elf *elf)
{
	elf->fd = -1;
	elf->mem = NULL;
	elf->len = 0;
	memset(&elf->hdr, 0, sizeof(elf->hdr));
	elf->phdr = NULL;
	elf->shdr = NULL;
	elf->shdrstr = NULL;
	elf->elf = NULL;
}

/**
 * dune_elf_open_mem() - parse an ELF image in memory.
 * @elf: filled on success; on failure left closed (dune_elf_close is a no-op)
 * @mem: the image; it is not copied: keep it unchanged until dune_elf_close
 * @len: its size in bytes
 *
 * Returns 0, -EINVAL for bad arguments, -ENOEXEC for an image that is not
 * a well-formed x86-64 ELF64 (see dune.h), or -ENOMEM.  elf->priv is the
 * caller's and is left alone.
 */
int dune_elf_open_mem(struct dune_elf *elf, void *mem, int len)
{
	int ret;

	if (!elf)
		return -EINVAL;
	init_closed(elf);
	if (!mem || len < 0)
		return -EINVAL;
	elf->mem = mem;
	elf->len = len;
	ret = parse(elf);
	if (ret)
		dune_elf_close(elf);
	return ret;
}

/* Map the whole file: parsing and dune_elf_load_ph() then read memory.  The
 * mapping is private, so later writes to the file cannot change what was
 * validated (truncating it would still raise SIGBUS: do not do that). */
static int map_file(struct dune_elf *elf, int fd)
{
	struct stat st;
	void *mem;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr))
		return -ENOEXEC;
	if (st.st_size > INT_MAX)	/* struct dune_elf's len is an int */
		return -EFBIG;
	mem = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (mem == MAP_FAILED)
		return -errno;
	elf->mem = mem;
	elf->len = st.st_size;
	return 0;
}

/**
 * dune_elf_open() - open and parse an ELF file.
 * @elf: filled on success; on failure left closed (dune_elf_close is a no-op)
 * @path: the file
 *
 * The file stays open (elf->fd) and mapped read-only (elf->mem, elf->len)
 * until dune_elf_close.  Returns 0 or a negative errno: from open/fstat/mmap
 * (-ENOENT, -EACCES, -EISDIR, ...), -EFBIG past 2 GiB, -ENOEXEC as for
 * dune_elf_open_mem.
 */
int dune_elf_open(struct dune_elf *elf, const char *path)
{
	int ret;

	if (!elf)
		return -EINVAL;
	init_closed(elf);
	if (!path)
		return -EINVAL;
	elf->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (elf->fd < 0)
		return -errno;
	ret = map_file(elf, elf->fd);
	if (!ret)
		ret = parse(elf);
	if (ret)
		dune_elf_close(elf);
	return ret;
}

/**
 * dune_elf_close() - release what dune_elf_open*() acquired.
 *
 * Safe after a failed open and when called twice.  Always returns 0.
 */
int dune_elf_close(struct dune_elf *elf)
{
	if (!elf)
		return 0;
	free(elf->phdr);
	free(elf->shdr);
	if (elf->elf)
		elf_end(elf->elf);
	/* fd >= 0: the image is our mapping of the file, not the caller's. */
	if (elf->fd >= 0) {
		if (elf->mem)
			munmap(elf->mem, elf->len);
		close(elf->fd);
	}
	init_closed(elf);
	return 0;
}

/**
 * dune_elf_iter_ph() - call @cb for each program header, in order.
 *
 * Returns 0, the first non-zero return of @cb (iteration stops there), or
 * -EINVAL if @elf is not open.
 */
int dune_elf_iter_ph(struct dune_elf *elf, dune_elf_phcb cb)
{
	size_t i, n;
	int ret;

	if (!elf || !elf->elf || !cb)
		return -EINVAL;
	/* The count may exceed e_phnum (PN_XNUM); open checked it. */
	if (elf_getphdrnum(elf->elf, &n))
		return -ENOEXEC;
	for (i = 0; i < n; i++) {
		ret = cb(elf, &elf->phdr[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * dune_elf_iter_sh() - call @cb for each section header, in order, with
 * its name ("" when the image has no section name table).
 *
 * Returns 0, the first non-zero return of @cb (iteration stops there), or
 * -EINVAL if @elf is not open.
 */
int dune_elf_iter_sh(struct dune_elf *elf, dune_elf_shcb cb)
{
	size_t i, n;
	int ret;

	if (!elf || !elf->elf || !cb)
		return -EINVAL;
	if (elf_getshdrnum(elf->elf, &n))
		return -ENOEXEC;
	for (i = 0; i < n; i++) {
		const char *name = elf->shdrstr ? elf->shdrstr + elf->shdr[i].sh_name : "";

		ret = cb(elf, name, i, &elf->shdr[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* The segment's PF_* flags as mmap protections. */
static int seg_prot(uint32_t flags)
{
	return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) |
	       (flags & PF_X ? PROT_EXEC : 0);
}

/* Anonymous pages over [start, end), the file bytes copied in at @dst,
 * then @prot: for an image in memory, or a file whose segment does not
 * sit at the same page offset as in the file (so it cannot be mapped). */
static int map_seg_copy(struct dune_elf *elf, const Elf64_Phdr *ph, uintptr_t dst,
			uintptr_t start, uintptr_t end, int prot)
{
	void *p = mmap((void *)start, end - start, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	int ret;

	if (p == MAP_FAILED)
		return -errno;
	memcpy((void *)dst, elf->mem + ph->p_offset, ph->p_filesz);
	if (mprotect(p, end - start, prot)) {
		ret = -errno;
		munmap(p, end - start);
		return ret;
	}
	return 0;
}

/* The file's pages over [start, PGUP(dst + p_filesz)), the bytes past
 * p_filesz in the last one zeroed when the segment has a bss, then
 * anonymous zero pages up to @end, as the kernel's ELF loader does. */
static int map_seg_file(struct dune_elf *elf, const Elf64_Phdr *ph, uintptr_t dst,
			uintptr_t start, uintptr_t end, int prot)
{
	uintptr_t fend = dst + ph->p_filesz, fpage_end = start;
	bool bss_in_page = ph->p_memsz > ph->p_filesz && PGOFF(fend);
	int fprot = bss_in_page ? prot | PROT_WRITE : prot, ret;
	void *p;

	if (ph->p_filesz) {
		fpage_end = PGADDR(fend + PGMASK);
		p = mmap((void *)start, fpage_end - start, fprot, MAP_PRIVATE | MAP_FIXED,
			 elf->fd, PGADDR(ph->p_offset));
		if (p == MAP_FAILED)
			return -errno;
		if (bss_in_page)
			memset((void *)fend, 0, fpage_end - fend);
		if (fprot != prot && mprotect(p, fpage_end - start, prot))
			goto fail;
	}
	if (end > fpage_end &&
	    mmap((void *)fpage_end, end - fpage_end, prot,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		goto fail;
	return 0;
fail:
	ret = -errno;
	munmap((void *)start, end - start);
	return ret;
}

/**
 * dune_elf_load_ph() - map a PT_LOAD segment, as the original libdune did.
 * @elf: the open image the segment belongs to
 * @phdr: the segment (one of elf->phdr, or a copy)
 * @off: added to p_vaddr (modulo 2^64) to give the segment's address
 *
 * Maps the pages of [p_vaddr + @off, + p_memsz) with MAP_FIXED (whatever
 * was there is replaced) and the segment's protections: p_filesz bytes
 * from the image, zeros after them.  From a file (dune_elf_open) whose
 * segment keeps its page offset, the file itself is mapped privately, as
 * the original did; otherwise (dune_elf_open_mem, or a misaligned @off)
 * the bytes are copied into anonymous memory, where the original failed.
 * As with any mmap, the last file page keeps the file's bytes past
 * p_filesz when the segment has no bss.
 *
 * Everything is checked before anything is mapped.  Returns 0 (also for
 * p_memsz 0: nothing to map), -EINVAL (not open, not PT_LOAD, address
 * range wraps around or overlaps the image itself), -ENOEXEC (file range
 * outside the image, p_filesz > p_memsz), or mmap's error (-ENOMEM, ...),
 * after which nothing of the segment is left mapped.
 */
int dune_elf_load_ph(struct dune_elf *elf, Elf64_Phdr *phdr, off_t off)
{
	uintptr_t dst, end, start, img = (uintptr_t)(elf ? elf->mem : NULL);

	if (!elf || !elf->mem || !phdr || phdr->p_type != PT_LOAD)
		return -EINVAL;
	if (phdr->p_filesz > phdr->p_memsz || !in_image(elf, phdr->p_offset, phdr->p_filesz))
		return -ENOEXEC;
	/* Modular, so that off = address - p_vaddr works for any p_vaddr. */
	dst = (uintptr_t)phdr->p_vaddr + (uintptr_t)off;
	if (__builtin_add_overflow(dst, phdr->p_memsz, &end) || end > UINTPTR_MAX - PGMASK)
		return -EINVAL;
	if (!phdr->p_memsz)
		return 0;
	start = PGADDR(dst);
	end = PGADDR(end + PGMASK);
	/* Mapping over the image would pull the bytes from under the copy
	 * (and under dune_elf_close's munmap). */
	if (start < img + (uintptr_t)elf->len && img < end)
		return -EINVAL;
	if (elf->fd >= 0 && PGOFF(dst) == PGOFF(phdr->p_offset))
		return map_seg_file(elf, phdr, dst, start, end, seg_prot(phdr->p_flags));
	return map_seg_copy(elf, phdr, dst, start, end, seg_prot(phdr->p_flags));
}

/* ----------------------------------------------------------------- dump */

static const char *const sh_types[] = {
	"NULL", "PROGBITS", "SYMTAB", "STRTAB", "RELA", "HASH", "DYNAMIC", "NOTE",
	"NOBITS", "REL", "SHLIB", "DYNSYM", "", "", "INIT_ARRAY", "FINI_ARRAY",
	"PREINIT_ARRAY", "GROUP", "SYMTAB_SHNDX",
};

static const char *const ph_types[] = {
	"NULL", "LOAD", "DYNAMIC", "INTERP", "NOTE", "SHLIB", "PHDR", "TLS",
};

/* A table entry's name, "UNKNOWN" past the table or for a hole in it. */
static const char *table_name(const char *const *names, size_t n, uint32_t type)
{
	return type < n && names[type][0] ? names[type] : "UNKNOWN";
}

static const char *ph_type_name(uint32_t type)
{
	switch (type) {
	case PT_GNU_EH_FRAME:
		return "GNU_EH_FRAME";
	case PT_GNU_STACK:
		return "GNU_STACK";
	case PT_GNU_RELRO:
		return "GNU_RELRO";
	case PT_GNU_PROPERTY:
		return "GNU_PROPERTY";
	}
	return table_name(ph_types, sizeof(ph_types) / sizeof(ph_types[0]), type);
}

static int dump_sh(struct dune_elf *elf, const char *name, int num, Elf64_Shdr *sh)
{
	const char *type = table_name(sh_types, sizeof(sh_types) / sizeof(sh_types[0]),
				      sh->sh_type);

	dune_printf("  [%2d] %-16s %-16s %016" PRIx64 " %08" PRIx64 "\n", num, name,
		    type, sh->sh_addr, sh->sh_offset);
	dune_printf("       %016" PRIx64 " %016" PRIx64 " %c%c%c%c%c %4u %4u %5" PRIu64 "\n",
		    sh->sh_size, sh->sh_entsize,
		    sh->sh_flags & SHF_WRITE ? 'W' : ' ',
		    sh->sh_flags & SHF_ALLOC ? 'A' : ' ',
		    sh->sh_flags & SHF_EXECINSTR ? 'X' : ' ',
		    sh->sh_flags & SHF_MERGE ? 'M' : ' ',
		    sh->sh_flags & SHF_STRINGS ? 'S' : ' ',
		    sh->sh_link, sh->sh_info, sh->sh_addralign);
	return 0;
}

static int dump_ph(struct dune_elf *elf, Elf64_Phdr *ph)
{
	dune_printf("  %-14s 0x%016" PRIx64 " 0x%016" PRIx64 " 0x%016" PRIx64 "\n",
		    ph_type_name(ph->p_type),
		    ph->p_offset, ph->p_vaddr, ph->p_paddr);
	dune_printf("  %-14s 0x%016" PRIx64 " 0x%016" PRIx64 "  %c%c%c  0x%" PRIx64 "\n",
		    "", ph->p_filesz, ph->p_memsz,
		    ph->p_flags & PF_R ? 'R' : ' ',
		    ph->p_flags & PF_W ? 'W' : ' ',
		    ph->p_flags & PF_X ? 'X' : ' ',
		    ph->p_align);
	return 0;
}

static void dump_ehdr(const Elf64_Ehdr *h)
{
	dune_printf("ELF Header:\n");
	dune_printf("  Type: %u  Machine: %u  Version: %u  Flags: %#x\n",
		    h->e_type, h->e_machine, h->e_version, h->e_flags);
	dune_printf("  Entry: 0x%016" PRIx64 "\n", h->e_entry);
	dune_printf("  Program headers: %u at %#" PRIx64 ", %u bytes each\n",
		    h->e_phnum, h->e_phoff, h->e_phentsize);
	dune_printf("  Section headers: %u at %#" PRIx64 ", %u bytes each, names in %u\n",
		    h->e_shnum, h->e_shoff, h->e_shentsize, h->e_shstrndx);
}

/**
 * dune_elf_dump() - print the ELF header, section headers and program
 * headers (readelf-like) with dune_printf.  Returns 0 or -EINVAL.
 */
int dune_elf_dump(struct dune_elf *elf)
{
	int ret;

	if (!elf || !elf->elf)
		return -EINVAL;
	dune_printf("--- ELF Dump ---\n");
	dump_ehdr(&elf->hdr);
	dune_printf("Section Headers:\n");
	dune_printf("  [Nr] %-16s %-16s %-16s %s\n", "Name", "Type", "Address", "Offset");
	dune_printf("       %-16s %-16s %s %s %s  %s\n",
		    "Size", "EntSize", "Flags", "Link", "Info", "Align");
	ret = dune_elf_iter_sh(elf, dump_sh);
	if (ret)
		return ret;
	dune_printf("Program Headers:\n");
	dune_printf("  %-14s %-18s %-18s %s\n", "Type", "Offset", "VirtAddr", "PhysAddr");
	dune_printf("  %-14s %-18s %-18s %s  %s\n", "", "FileSiz", "MemSiz", "Flags", "Align");
	return dune_elf_iter_ph(elf, dump_ph);
}
