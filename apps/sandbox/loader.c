// SPDX-License-Identifier: GPL-2.0
/*
 * Loading a program as execve(2) would: its PT_LOAD segments (at PIE_BASE
 * for a position-independent one), its ELF interpreter (at INTERP_BASE),
 * and a stack with argv, envp and the auxiliary vector.  No vDSO is
 * offered (no AT_SYSINFO_EHDR), so the C library makes real system calls
 * for the time, and the monitor sees them.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "sandbox.h"

struct elf_info {
	uintptr_t bias, entry, phdr, lo, hi;
	int phnum;
	char interp[256];
};

static int seg_prot(uint32_t flags)
{
	return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) |
	       (flags & PF_X ? PROT_EXEC : 0);
}

static int read_at(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	return n == (ssize_t)len ? 0 : -ENOEXEC;
}

/* A segment as copied bytes in anonymous memory (its file offset and
 * address disagree within a page, so it cannot be mapped). */
static int copy_segment(int fd, const Elf64_Phdr *ph, uintptr_t s, uintptr_t e, int prot,
			uintptr_t va)
{
	long r = mem_map(s, e - s, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (r < 0)
		return r;
	if (read_at(fd, (void *)va, ph->p_filesz, ph->p_offset))
		return -ENOEXEC;
	return mem_protect(s, e - s, prot);
}

/*
 * One PT_LOAD segment as execve(2) maps it (binfmt_elf's elf_map): its
 * file pages privately from @fd, so the program faults in only what it
 * touches, from the page cache (copying the whole image into fresh pages
 * cost a static 780 KiB program about 1.5M instructions on the intel
 * machine: a nested fault and a page copy per page); the rest of its last
 * file page zeroed and anonymous pages for the rest of its memory (bss).
 * A page it shares with the previous segment gets both segments' rights.
 */
static int load_segment(int fd, const Elf64_Phdr *ph, uintptr_t bias, uintptr_t *prev_end,
			int *prev_prot)
{
	uintptr_t va = ph->p_vaddr + bias, s = PG_DOWN(va), e = PG_UP(va + ph->p_memsz);
	/* No file bytes: anonymous from its first page of its own (the
	 * program's writes of its bss zero a page shared with the previous
	 * segment; a fresh page here would wipe that segment's bytes). */
	uintptr_t fend = va + ph->p_filesz, fpg = ph->p_filesz ? PG_UP(fend) : PG_UP(va);
	int prot = seg_prot(ph->p_flags), wprot = prot | PROT_WRITE;
	bool tail = ph->p_filesz && ph->p_memsz > ph->p_filesz && fend & (PAGE_SZ - 1);
	long r = 0;

	if ((va ^ ph->p_offset) & (PAGE_SZ - 1)) {
		r = copy_segment(fd, ph, s, e, prot, va);
	} else {
		if (ph->p_filesz)
			r = mem_map(s, fpg - s, tail ? wprot : prot, MAP_PRIVATE, fd,
				    PG_DOWN(ph->p_offset));
		if (r >= 0 && tail) {
			memset((void *)fend, 0, fpg - fend);
			r = mem_protect(s, fpg - s, prot);
		}
		if (!ph->p_filesz && s < va && *prev_end <= s)
			fpg = s;	/* its first page is its own after all */
		if (r >= 0 && e > fpg)
			r = mem_map(fpg, e - fpg, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	if (r >= 0 && *prev_end > s)
		r = mem_protect(s, PAGE_SZ, prot | *prev_prot);
	*prev_end = e;
	*prev_prot = prot;
	return r < 0 ? (int)r : 0;
}

/* Map and fill @fd's PT_LOAD segments; @dyn_base for ET_DYN. */
static int load_elf(int fd, uintptr_t dyn_base, struct elf_info *ei)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[64];
	uintptr_t lo = ~0UL, hi = 0, prev_end = 0;
	int i, r, prev_prot = 0;

	memset(ei, 0, sizeof(*ei));
	if (read_at(fd, &eh, sizeof(eh), 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) || eh.e_phentsize != sizeof(ph[0]) ||
	    !eh.e_phnum || eh.e_phnum > 64 ||
	    read_at(fd, ph, eh.e_phnum * sizeof(ph[0]), eh.e_phoff))
		return -ENOEXEC;
	ei->bias = eh.e_type == ET_DYN ? dyn_base : 0;
	for (i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_INTERP) {
			if (ph[i].p_filesz >= sizeof(ei->interp) ||
			    read_at(fd, ei->interp, ph[i].p_filesz, ph[i].p_offset))
				return -ENOEXEC;
			ei->interp[ph[i].p_filesz] = 0;
		}
		if (ph[i].p_type == PT_PHDR)
			ei->phdr = ph[i].p_vaddr;
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_filesz > ph[i].p_memsz || ph[i].p_vaddr + ph[i].p_memsz < ph[i].p_vaddr)
			return -ENOEXEC;
		if (ph[i].p_vaddr < lo)
			lo = ph[i].p_vaddr;
		if (ph[i].p_vaddr + ph[i].p_memsz > hi)
			hi = ph[i].p_vaddr + ph[i].p_memsz;
		if (!ei->phdr && ph[i].p_offset == 0)
			ei->phdr = ph[i].p_vaddr + eh.e_phoff;
	}
	if (hi <= lo)
		return -ENOEXEC;
	ei->lo = PG_DOWN(lo + ei->bias);
	ei->hi = PG_UP(hi + ei->bias);
	if (!mem_in_arena(ei->lo, ei->hi - ei->lo))
		return -ENOMEM;	/* it would overlap the monitor */
	for (i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		r = load_segment(fd, &ph[i], ei->bias, &prev_end, &prev_prot);
		if (r)
			return r;
	}
	ei->entry = eh.e_entry + ei->bias;
	ei->phdr += ei->bias;
	ei->phnum = eh.e_phnum;
	return 0;
}

static int load_image(const char *path, char *const argv[], char *const envp[],
		      struct exec_image *img, int depth);

static uintptr_t push_bytes(uintptr_t *sp, const void *p, size_t n)
{
	*sp -= n;
	memcpy((void *)*sp, p, n);
	return *sp;
}

static int count(char *const v[])
{
	int n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* The initial stack as the kernel builds it (System V x86-64 ABI 3.4.1). */
static int build_stack(char *const argv[], char *const envp[], const struct elf_info *ei,
		       uintptr_t interp_base, const char *execfn, struct exec_image *img)
{
	uintptr_t sp = STACK_TOP, *vec, execfn_p, rand_p, plat_p;
	int argc = count(argv), envc = count(envp), i, n = 0;
	size_t need = 0;
	uint8_t rnd[16];
	long r;

	for (i = 0; i < argc; i++)
		need += strlen(argv[i]) + 1;
	for (i = 0; i < envc; i++)
		need += strlen(envp[i]) + 1;
	if (need > STACK_SIZE / 4)
		return -E2BIG;
	r = mem_map(STACK_TOP - STACK_SIZE, STACK_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r < 0)
		return r;
	uintptr_t *strs = calloc(argc + envc + 1, sizeof(*strs));

	if (!strs)
		return -ENOMEM;
	execfn_p = push_bytes(&sp, execfn, strlen(execfn) + 1);
	plat_p = push_bytes(&sp, "x86_64", 7);
	for (i = 0; i < argc; i++)
		strs[i] = push_bytes(&sp, argv[i], strlen(argv[i]) + 1);
	for (i = 0; i < envc; i++)
		strs[argc + i] = push_bytes(&sp, envp[i], strlen(envp[i]) + 1);
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		memset(rnd, 0x5a, sizeof(rnd));
	rand_p = push_bytes(&sp, rnd, sizeof(rnd));
	sp &= ~15UL;
	/* argc, argv[], NULL, envp[], NULL, auxv pairs: 16-byte aligned at argc. */
	n = 1 + argc + 1 + envc + 1 + 2 * 20;
	sp -= n * 8;
	sp &= ~15UL;
	vec = (uintptr_t *)sp;
	*vec++ = argc;
	for (i = 0; i < argc; i++)
		*vec++ = strs[i];
	*vec++ = 0;
	for (i = 0; i < envc; i++)
		*vec++ = strs[argc + i];
	*vec++ = 0;
#define AUX(k, v) do { *vec++ = (k); *vec++ = (v); } while (0)
	AUX(AT_PHDR, ei->phdr);
	AUX(AT_PHENT, sizeof(Elf64_Phdr));
	AUX(AT_PHNUM, ei->phnum);
	AUX(AT_PAGESZ, PAGE_SZ);
	AUX(AT_BASE, interp_base);
	AUX(AT_FLAGS, 0);
	AUX(AT_ENTRY, ei->entry);
	AUX(AT_UID, getuid());
	AUX(AT_EUID, geteuid());
	AUX(AT_GID, getgid());
	AUX(AT_EGID, getegid());
	AUX(AT_SECURE, 0);
	AUX(AT_RANDOM, rand_p);
	AUX(AT_HWCAP, getauxval(AT_HWCAP));
	AUX(AT_HWCAP2, getauxval(AT_HWCAP2));
	AUX(AT_CLKTCK, getauxval(AT_CLKTCK));
	AUX(AT_PLATFORM, plat_p);
	AUX(AT_EXECFN, execfn_p);
	AUX(AT_NULL, 0);
#undef AUX
	free(strs);
	img->sp = sp;
	return 0;
}

/*
 * A "#!INTERP [ARG]" script: run INTERP [ARG] PATH ARGV[1..] instead, as
 * the kernel does (one level, like binfmt_script's usual use).
 */
static int load_script(int fd, const char *path, char *const argv[], char *const envp[],
		       struct exec_image *img, int depth)
{
	char line[256], *interp, *arg, *argv2[4096];
	ssize_t n = pread(fd, line, sizeof(line) - 1, 0);
	int i, j = 0;

	close(fd);
	if (n < 3 || depth > 1)
		return -ENOEXEC;
	line[n] = 0;
	line[strcspn(line, "\n")] = 0;
	interp = line + 2 + strspn(line + 2, " \t");
	arg = interp + strcspn(interp, " \t");
	if (*arg) {
		*arg++ = 0;
		arg += strspn(arg, " \t");
		arg[strcspn(arg, " \t")] = 0;
	}
	if (!*interp)
		return -ENOEXEC;
	argv2[j++] = interp;
	if (*arg)
		argv2[j++] = arg;
	argv2[j++] = (char *)path;
	for (i = 1; argv[0] && argv[i] && j < 4095; i++)
		argv2[j++] = argv[i];
	argv2[j] = NULL;
	return load_image(interp, argv2, envp, img, depth + 1);
}

static int load_image(const char *path, char *const argv[], char *const envp[],
		      struct exec_image *img, int depth)
{
	struct elf_info ei, ii;
	uintptr_t interp_base = 0;
	char magic[2];
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, magic, 2, 0) == 2 && magic[0] == '#' && magic[1] == '!')
		return load_script(fd, path, argv, envp, img, depth);
	if (path != prog_path)
		snprintf(prog_path, sizeof(prog_path), "%s", path);
	mem_unmap_all();
	r = load_elf(fd, PIE_BASE, &ei);
	close(fd);
	if (r)
		return r;
	img->entry = ei.entry;
	if (ei.interp[0]) {
		fd = open(ei.interp, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		r = load_elf(fd, INTERP_BASE, &ii);
		close(fd);
		if (r)
			return r;
		if (ii.lo < ei.hi + BRK_MAX && ei.lo < ii.hi)
			return -ENOMEM;
		interp_base = ii.lo;
		img->entry = ii.entry;
	}
	mem_set_brk(ei.hi);
	return build_stack(argv, envp, &ei, interp_base, path, img);
}

int load_program(const char *path, char *const argv[], char *const envp[],
		 struct exec_image *img)
{
	char copy[4096];

	snprintf(copy, sizeof(copy), "%s", path);
	return load_image(copy, argv, envp, img, 0);
}
