/*
 * pvhboot: a multiboot (v1) kernel that starts an uncompressed Linux
 * vmlinux through its PVH entry point.
 *
 * Why: Bochs has no direct kernel boot, and a Debian bzImage spends minutes
 * in Bochs decompressing itself (XZ for 6.1).  The host instead unpacks
 * the kernel once (tests/vm/dunevm/pvh.py) into a "DPVH" image: a 4 KiB
 * header (load address, sizes, PVH entry, command line) followed by the
 * kernel's memory image.  syslinux's mboot.c32 loads this program plus two
 * modules, the DPVH image and the initramfs, anywhere in RAM; we move them
 * into place without overwriting anything not yet copied, build the
 * hvm_start_info the PVH boot protocol wants (memory map, command line,
 * initramfs as module 0, RSDP) and jump to the entry in 32-bit flat
 * protected mode with paging off, as multiboot left us.
 *
 * Messages go to COM1 (the kernel console log) prefixed "pvhboot:".
 */
#include <stdint.h>
#include <stddef.h>

#define MB_MAGIC 0x1BADB002u
#define MB_FLAGS 0x00000003u            /* page-aligned modules, memory info */
#define MB_BOOT_MAGIC 0x2BADB002u
#define DPVH_MAGIC 0x48565044u          /* "DPVH" */
#define HVM_START_MAGIC 0x336ec578u
#define PAGE 4096u
#define MAX_MAP 64

__attribute__((section(".multiboot"), used, aligned(4)))
static const uint32_t mb_header[3] = { MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS) };

uint8_t pvh_stack[16384] __attribute__((aligned(16)));

void pvh_main(uint32_t magic, uint32_t mbi);

__asm__(".text\n"
	".globl _start\n"
	"_start:\n"
	"	cli\n"
	"	cld\n"
	"	movl $(pvh_stack + 16384), %esp\n"
	"	pushl %ebx\n"
	"	pushl %eax\n"
	"	call pvh_main\n"
	"1:	hlt\n"
	"	jmp 1b\n");

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr, syms[4], mmap_length, mmap_addr;
};
struct mb_module { uint32_t start, end, string, reserved; };
struct mb_mmap { uint32_t size; uint64_t addr, len; uint32_t type; } __attribute__((packed));

/* The header the host writes at the start of the DPVH image. */
struct dpvh {
	uint32_t magic, version;
	uint64_t load, filesz, memsz;   /* physical load address, image sizes */
	uint32_t entry, cmdline_len;    /* PVH entry (physical) */
	char cmdline[];                 /* NUL-terminated */
};

/* xen/include/public/arch-x86/hvm/start_info.h */
struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};
struct hvm_modlist_entry { uint64_t paddr, size, cmdline_paddr, reserved; };
struct hvm_memmap_entry { uint64_t addr, size; uint32_t type, reserved; };

static struct hvm_start_info start_info;
static struct hvm_modlist_entry modlist;
static struct hvm_memmap_entry memmap[MAX_MAP];
static char cmdline[PAGE];

extern char _end[];                     /* end of this program (linker) */

/* ---- serial output ---------------------------------------------------- */

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void serial_init(void)
{
	outb(0x3f9, 0x00);              /* no interrupts */
	outb(0x3fb, 0x80);              /* DLAB */
	outb(0x3f8, 0x01);              /* 115200 baud */
	outb(0x3f9, 0x00);
	outb(0x3fb, 0x03);              /* 8N1 */
	outb(0x3fa, 0xc7);              /* FIFO on */
	outb(0x3fc, 0x03);
}

static void putc_serial(char c)
{
	for (int i = 0; i < 100000 && !(inb(0x3fd) & 0x20); i++)
		;
	outb(0x3f8, (uint8_t)c);
}

static void puts_serial(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			putc_serial('\r');
		putc_serial(*s);
	}
}

static void puthex(uint32_t v)
{
	char buf[11] = "0x";
	for (int i = 0; i < 8; i++)
		buf[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 15];
	buf[10] = 0;
	puts_serial(buf);
}

static void fail(const char *why)
{
	puts_serial("pvhboot: error: ");
	puts_serial(why);
	puts_serial("\n");
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* ---- memory ----------------------------------------------------------- */

/* memmove with string instructions: Bochs runs "rep movs" much faster
 * than a byte loop, and the kernel image is tens of megabytes. */
static void move(uint32_t dst, uint32_t src, uint32_t n)
{
	if (dst == src || n == 0)
		return;
	if (dst < src || dst >= src + n) {
		uint32_t words = n / 4, rest = n & 3;
		__asm__ volatile("rep movsl" : "+D"(dst), "+S"(src), "+c"(words) : : "memory");
		__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(rest) : : "memory");
	} else if (((dst | src | n) & 3) == 0) {
		/* Overlapping, destination above: copy from the top down. */
		uint32_t d = dst + n - 4, s = src + n - 4, words = n / 4;
		__asm__ volatile("std; rep movsl; cld" : "+D"(d), "+S"(s), "+c"(words) : : "memory");
	} else {
		uint32_t d = dst + n - 1, s = src + n - 1;
		__asm__ volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	}
}

static void zero(uint32_t dst, uint32_t n)
{
	__asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(0) : "memory");
}

struct range { uint64_t start, end; };

static int overlaps(struct range a, struct range b)
{
	return a.start < b.end && b.start < a.end;
}

/* Highest page-aligned place for n bytes in RAM above 1 MiB and below
 * 4 GiB that overlaps none of the `busy` ranges. */
static uint32_t find_free(uint32_t n, const struct range *busy, int nbusy, int nmap)
{
	uint64_t best = 0;
	for (int i = 0; i < nmap; i++) {
		if (memmap[i].type != 1)
			continue;
		uint64_t lo = memmap[i].addr, hi = memmap[i].addr + memmap[i].size;
		if (hi > 0xfffff000u)
			hi = 0xfffff000u;
		/* Candidate tops: the region's top and every obstacle's start. */
		for (int j = -1; j < nbusy; j++) {
			uint64_t top = j < 0 ? hi : busy[j].start;
			if (top > hi || top < lo + n)
				continue;
			uint64_t start = (top - n) & ~(uint64_t)(PAGE - 1);
			struct range r = { start, start + n };
			int ok = start >= lo && start >= 0x100000;
			for (int k = 0; ok && k < nbusy; k++)
				ok = !overlaps(r, busy[k]);
			if (ok && start > best)
				best = start;
		}
	}
	return (uint32_t)best;
}

/* ---- boot information ------------------------------------------------- */

static int copy_memmap(const struct mb_info *mbi)
{
	int n = 0;
	if (mbi->flags & (1u << 6)) {
		uint32_t p = mbi->mmap_addr, end = p + mbi->mmap_length;
		while (p < end && n < MAX_MAP) {
			const struct mb_mmap *e = (const struct mb_mmap *)p;
			memmap[n].addr = e->addr;
			memmap[n].size = e->len;
			memmap[n].type = e->type;
			n++;
			p += e->size + 4;
		}
	} else if (mbi->flags & 1u) {
		memmap[0] = (struct hvm_memmap_entry){ 0, mbi->mem_lower * 1024ull, 1, 0 };
		memmap[1] = (struct hvm_memmap_entry){ 0x100000, mbi->mem_upper * 1024ull, 1, 0 };
		n = 2;
	}
	return n;
}

static int rsdp_ok(const uint8_t *p)
{
	static const char sig[8] = "RSD PTR ";
	uint8_t sum = 0;
	for (int i = 0; i < 8; i++)
		if (p[i] != (uint8_t)sig[i])
			return 0;
	for (int i = 0; i < 20; i++)
		sum += p[i];
	return sum == 0;
}

/* ACPI 1.0 says: first KiB of the EBDA, or 0xE0000-0xFFFFF, 16-aligned. */
static uint32_t find_rsdp(void)
{
	uint32_t ebda = (uint32_t)*(volatile uint16_t *)0x40e << 4;
	if (ebda >= 0x80000 && ebda < 0xa0000)
		for (uint32_t p = ebda; p < ebda + 1024; p += 16)
			if (rsdp_ok((const uint8_t *)p))
				return p;
	for (uint32_t p = 0xe0000; p < 0x100000; p += 16)
		if (rsdp_ok((const uint8_t *)p))
			return p;
	return 0;
}

void pvh_main(uint32_t magic, uint32_t mbi_addr)
{
	const struct mb_info *mbi = (const struct mb_info *)mbi_addr;
	serial_init();
	if (magic != MB_BOOT_MAGIC)
		fail("not started by a multiboot loader");
	if (!(mbi->flags & (1u << 3)) || mbi->mods_count < 2)
		fail("need two modules: the DPVH kernel image and the initramfs");

	/* Everything the loader handed us is copied before anything moves. */
	const struct mb_module *mods = (const struct mb_module *)mbi->mods_addr;
	struct mb_module kmod = mods[0], imod = mods[1];
	if (((const struct dpvh *)imod.start)->magic == DPVH_MAGIC) {
		kmod = mods[1];
		imod = mods[0];
	}
	const struct dpvh *hdr = (const struct dpvh *)kmod.start;
	if (hdr->magic != DPVH_MAGIC || hdr->version != 1)
		fail("first module is not a DPVH image");
	if (hdr->cmdline_len >= sizeof(cmdline))
		fail("command line too long");
	move((uint32_t)cmdline, (uint32_t)hdr->cmdline, hdr->cmdline_len + 1);
	uint32_t load = (uint32_t)hdr->load, filesz = (uint32_t)hdr->filesz;
	uint32_t memsz = (uint32_t)hdr->memsz, entry = hdr->entry;
	uint32_t image = kmod.start + PAGE;
	int nmap = copy_memmap(mbi);
	if (nmap == 0)
		fail("the loader gave no memory map");

	/* The initramfs goes where neither the kernel nor its image are. */
	uint32_t isize = imod.end - imod.start;
	struct range busy[3] = {
		{ load, (uint64_t)load + memsz },
		{ kmod.start, kmod.end },
		{ 0, (uint32_t)_end },          /* us, the BIOS area, low memory */
	};
	uint32_t initrd = find_free(isize, busy, 3, nmap);
	if (!initrd)
		fail("no room for the initramfs");
	move(initrd, imod.start, isize);
	move(load, image, filesz);
	zero(load + filesz, memsz - filesz);

	modlist = (struct hvm_modlist_entry){ initrd, isize, 0, 0 };
	start_info = (struct hvm_start_info){
		.magic = HVM_START_MAGIC, .version = 1, .nr_modules = 1,
		.modlist_paddr = (uint32_t)&modlist, .cmdline_paddr = (uint32_t)cmdline,
		.rsdp_paddr = find_rsdp(), .memmap_paddr = (uint32_t)memmap,
		.memmap_entries = (uint32_t)nmap,
	};
	puts_serial("pvhboot: kernel at ");
	puthex(load);
	puts_serial(", entry ");
	puthex(entry);
	puts_serial(", initramfs at ");
	puthex(initrd);
	puts_serial("\n");
	__asm__ volatile("jmp *%0" : : "r"(entry), "b"(&start_info), "a"(0) : "memory");
	for (;;)
		;
}
