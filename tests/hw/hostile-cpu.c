// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile-process suite, CPU group: instructions and CPU state a guest in
 * ring 0 could use to reach the host (the cases intercept.c lacks): string
 * port I/O, the remaining MSRs, reserved CR0/CR4/CR8/XCR0 bits, debug
 * registers, descriptor tables with bogus bases, MONITOR/MWAIT, every VMX
 * and SVM instruction, APIC IPIs, double faults, stack overflow, interrupt
 * storms and an interrupts-off spin that must stay killable.  Each case
 * runs in its own Dune-mode child (hostile.h checks the host after each).
 * Optional argument: run only the cases whose name contains it.
 */
#include <stdint.h>

#include "hostile.h"

#define MSR(n)	((void *)(uintptr_t)(n))

static void do_insb(void *a)
{
	char buf[16];

	asm volatile("rep insb" : : "D"(buf), "c"(8), "d"(0x3f8) : "memory");
}
static void do_outsw(void *a)
{
	uint16_t buf[4] = { 0 };

	asm volatile("rep outsw" : : "S"(buf), "c"(4), "d"(0x1f0) : "memory");
}
static void do_insl_std(void *a)
{
	uint32_t buf[4];

	/* Backwards (DF=1) into the stack buffer. */
	asm volatile("std; rep insl; cld" : : "D"(&buf[3]), "c"(4), "d"(0xcf8) : "memory");
}
static void do_outl_dx(void *a) { asm volatile("outl %%eax, %%dx" : : "a"(0x80000000U), "d"(0xcf8)); }
static void do_inw_dx(void *a) { uint16_t v; asm volatile("inw %%dx, %0" : "=a"(v) : "d"(0xcfc)); }

static void do_rdmsr(void *a)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"((uint32_t)(uintptr_t)a));
}

static void do_wrmsr(void *a)
{
	asm volatile("wrmsr" : : "c"((uint32_t)(uintptr_t)a), "a"(0), "d"(0));
}

/* Rewrite an MSR with the value it has (the guest's own state: allowed). */
static void do_msr_same(void *a)
{
	uint32_t lo, hi, msr = (uint32_t)(uintptr_t)a;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	asm volatile("wrmsr" : : "c"(msr), "a"(lo), "d"(hi));
}

/* x2APIC ICR (SDM 10.12.9): INIT, SIPI, a fixed self-IPI. */
static void do_x2apic_icr(void *a)
{
	uint64_t icr = (uintptr_t)a;

	asm volatile("wrmsr" : : "c"(0x830), "a"((uint32_t)icr), "d"((uint32_t)(icr >> 32)));
}

static void do_self_ipi_storm(void *a)
{
	int i;

	for (i = 0; i < 100000; i++)	/* x2APIC SELF_IPI register */
		asm volatile("wrmsr" : : "c"(0x83f), "a"(0xf0), "d"(0));
}

/*
 * With posted interrupts (VMX) a ring-0 WRMSR of 0 to the x2APIC EOI
 * register no longer exits: the CPU ends the in-service vector of this
 * vCPU's virtual APIC (SDM 30.5), and nothing else.  A storm of them must
 * leave the host alone and the next real APIC access (an ICR read, which
 * still exits) must still be refused.  Without posted interrupts the
 * first write exits and is refused; the outcome is the same.
 */
static void do_eoi_storm(void *a)
{
	uint32_t lo, hi;
	int i;

	for (i = 0; i < 100000; i++)
		asm volatile("wrmsr" : : "c"(0x80b), "a"(0), "d"(0));
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x830));
}

/* A nonzero EOI value: #GP when virtualized, refused when it exits. */
static void do_eoi_nonzero(void *a)
{
	asm volatile("wrmsr" : : "c"(0x80b), "a"(1), "d"(0));
}

static unsigned long read_cr0(void) { unsigned long v; asm volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static unsigned long read_cr4(void) { unsigned long v; asm volatile("mov %%cr4, %0" : "=r"(v)); return v; }

static void do_cr0_bits(void *a)
{
	asm volatile("mov %0, %%cr0" : : "r"(read_cr0() | (uintptr_t)a));
}
static void do_cr0_clear(void *a)
{
	asm volatile("mov %0, %%cr0" : : "r"(read_cr0() & ~(uintptr_t)a));
}
static void do_cr4_bits(void *a)
{
	asm volatile("mov %0, %%cr4" : : "r"(read_cr4() | (uintptr_t)a));
}
static void do_cr8_write(void *a) { asm volatile("mov %0, %%cr8" : : "r"(15UL)); }
static void do_cr8_read(void *a) { unsigned long v; asm volatile("mov %%cr8, %0" : "=r"(v)); }

static void do_xsetbv(void *a)
{
	uint32_t lo, hi, which = (uint32_t)(uintptr_t)a;

	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	if (which == 0)
		hi |= 1U << 31;			/* reserved bit 63 */
	else if (which == 1)
		lo &= ~1U;			/* x87 bit must be 1 */
	asm volatile("xsetbv" : : "a"(lo), "d"(hi), "c"(which == 2 ? 1 : 0));
}
static void do_xsetbv_same(void *a)
{
	uint32_t lo, hi;

	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	asm volatile("xsetbv" : : "a"(lo), "d"(hi), "c"(0));
}

static void do_mov_dr(void *a)
{
	switch ((uintptr_t)a) {
	case 0: asm volatile("mov %0, %%dr0" : : "r"(0x401000UL)); break;
	case 1: asm volatile("mov %0, %%dr3" : : "r"(0x401000UL)); break;
	case 6: asm volatile("mov %0, %%dr6" : : "r"(0UL)); break;
	case 7: { unsigned long v; asm volatile("mov %%dr7, %0" : "=r"(v)); break; }
	}
}

struct __attribute__((packed)) dtr { uint16_t limit; uint64_t base; };

static void do_lgdt_bogus(void *a)
{
	struct dtr d = { 0xffff, (uintptr_t)a };

	/* The next segment load reads the bogus table. */
	asm volatile("lgdt %0; mov %1, %%ds" : : "m"(d), "r"(0x18) : "memory");
}
static void do_lidt_bogus(void *a)
{
	struct dtr d = { 0xfff, (uintptr_t)a };

	asm volatile("lidt %0; int3" : : "m"(d) : "memory");
}
static void do_ltr_bogus(void *a) { asm volatile("ltr %w0" : : "r"(0x1000)); }

static void do_monitor(void *a)
{
	static char line[64];

	asm volatile("monitor" : : "a"(line), "c"(0), "d"(0));
}
static void do_mwait(void *a) { asm volatile("mwait" : : "a"(0), "c"(0)); }

static void do_vmxon(void *a) { uint64_t pa = 0x1000; asm volatile("vmxon %0" : : "m"(pa)); }
static void do_vmlaunch(void *a) { asm volatile("vmlaunch"); }
static void do_vmptrld(void *a) { uint64_t pa = 0x1000; asm volatile("vmptrld %0" : : "m"(pa)); }
static void do_vmread(void *a) { unsigned long v; asm volatile("vmread %1, %0" : "=r"(v) : "r"(0x681eUL)); }
static void do_invept(void *a)
{
	struct { uint64_t eptp, zero; } d = { 0, 0 };

	asm volatile("invept %0, %1" : : "m"(d), "r"(1UL));
}
static void do_vmsave(void *a) { asm volatile("vmsave" : : "a"(0) : "memory"); }
static void do_stgi(void *a) { asm volatile("stgi"); }
static void do_invlpga(void *a) { asm volatile("invlpga" : : "a"(0), "c"(0)); }
static void do_skinit(void *a) { asm volatile("skinit" : : "a"(0)); }
static void do_getsec(void *a) { asm volatile("getsec" : : "a"(0)); }

/* #GP while the IDT cannot deliver #GP: the CPU raises #DF (SDM 6.15). */
static void do_double_fault(void *a)
{
	struct dtr idt, small;

	asm volatile("sidt %0" : "=m"(idt));
	small.base = idt.base;
	small.limit = 13 * 16 - 1;	/* vectors 0..12: #DF (8) yes, #GP (13) no */
	asm volatile("lidt %0" : : "m"(small));
	*(volatile char *)0x8000000000000000UL = 1;	/* non-canonical: #GP */
}

static int recurse(int depth)
{
	volatile char pad[4096];

	pad[0] = (char)depth;
	if (pad[0] == 0x7f && depth < 0)	/* never: keeps GCC from "proving" the loop */
		return 0;
	return recurse(depth + 1) + pad[0];
}
static void do_stack_overflow(void *a) { recurse(0); }

/* A deep but legal stack (1 MiB, below the 8 MiB limit): must just work. */
static int use_stack(int kib)
{
	volatile char pad[1024];

	pad[0] = 1;
	return kib ? use_stack(kib - 1) + pad[0] : 0;
}
static void do_deep_stack(void *a) { exit(use_stack(1024) == 1024 ? 0 : 1); }

static volatile unsigned long storm_count;
static void storm_handler(struct dune_tf *tf) { storm_count++; }

static void do_int_storm(void *a)
{
	int i;

	dune_register_intr_handler(0x80, storm_handler);
	dune_register_intr_handler(0x41, storm_handler);
	for (i = 0; i < 100000; i++) {
		asm volatile("int $0x80" ::: "memory");
		asm volatile("int $0x41" ::: "memory");
	}
	exit(storm_count == 200000 ? 0 : 1);
}

static int has_mwait(void)
{
	unsigned int a, b, c, d;

	asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	return (c >> 3) & 1;
}

static int has_osxsave(void)
{
	unsigned int a, b, c, d;

	asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	return (c >> 27) & 1;
}

/*
 * On a CPU without the other vendor's extension its instructions are #UD
 * in the guest (SIGILL); on the vendor's own CPU they exit and are refused
 * (SIGILL too).  Either way SIGILL.
 */
static const struct hostile_case cases[] = {
	{ "rep insb from the UART", do_insb, NULL, HX_SIG(SIGSEGV) },
	{ "rep outsw to the IDE port", do_outsw, NULL, HX_SIG(SIGSEGV) },
	{ "std; rep insl from PCI config", do_insl_std, NULL, HX_SIG(SIGSEGV) },
	{ "outl %dx to PCI config address", do_outl_dx, NULL, HX_SIG(SIGSEGV) },
	{ "inw %dx from PCI config data", do_inw_dx, NULL, HX_SIG(SIGSEGV) },
	{ "rdmsr EFER", do_rdmsr, MSR(0xc0000080), HX_SIG(SIGSEGV) },
	{ "rdmsr SYSENTER_ESP", do_rdmsr, MSR(0x175), HX_SIG(SIGSEGV) },
	{ "wrmsr SYSENTER_EIP", do_wrmsr, MSR(0x176), HX_SIG(SIGSEGV) },
	{ "wrmsr APIC base", do_wrmsr, MSR(0x1b), HX_SIG(SIGSEGV) },
	{ "rdmsr PAT", do_rdmsr, MSR(0x277), HX_SIG(SIGSEGV) },
	{ "rdmsr DEBUGCTL", do_rdmsr, MSR(0x1d9), HX_SIG(SIGSEGV) },
	{ "rdmsr IA32_FEATURE_CONTROL", do_rdmsr, MSR(0x3a), HX_SIG(SIGSEGV) },
	{ "rdmsr IA32_VMX_BASIC", do_rdmsr, MSR(0x480), HX_SIG(SIGSEGV) },
	{ "wrmsr IA32_VMX_PROCBASED_CTLS2", do_wrmsr, MSR(0x48b), HX_SIG(SIGSEGV) },
	{ "rdmsr VM_CR", do_rdmsr, MSR(0xc0010114), HX_SIG(SIGSEGV) },
	{ "wrmsr VM_CR", do_wrmsr, MSR(0xc0010114), HX_SIG(SIGSEGV) },
	{ "wrmsr VM_HSAVE_PA", do_wrmsr, MSR(0xc0010117), HX_SIG(SIGSEGV) },
	{ "wrmsr TSC", do_wrmsr, MSR(0x10), HX_SIG(SIGSEGV) },
	{ "wrmsr SPEC_CTRL", do_wrmsr, MSR(0x48), HX_SIG(SIGSEGV) },
	{ "wrmsr MISC_ENABLE", do_wrmsr, MSR(0x1a0), HX_SIG(SIGSEGV) },
	{ "wrmsr MTRRdefType", do_wrmsr, MSR(0x2ff), HX_SIG(SIGSEGV) },
	{ "wrmsr TSC_AUX", do_wrmsr, MSR(0xc0000103), HX_SIG(SIGSEGV) },
	{ "rdmsr nonexistent 0x12345678", do_rdmsr, MSR(0x12345678), HX_SIG(SIGSEGV) },
	{ "wrmsr nonexistent 0xc0011fff", do_wrmsr, MSR(0xc0011fff), HX_SIG(SIGSEGV) },
	{ "STAR rewritten with its value (guest state)", do_msr_same, MSR(0xc0000081),
	  HX_EXIT(0) },
	{ "LSTAR rewritten with its value (guest state)", do_msr_same, MSR(0xc0000082),
	  HX_EXIT(0) },
	{ "KERNEL_GS_BASE rewritten (guest state)", do_msr_same, MSR(0xc0000102), HX_EXIT(0) },
	{ "x2APIC ICR: INIT to all others", do_x2apic_icr, (void *)0xc4500UL, HX_SIG(SIGSEGV) },
	{ "x2APIC ICR: SIPI to all others", do_x2apic_icr, (void *)0xc4610UL, HX_SIG(SIGSEGV) },
	{ "x2APIC ICR: fixed self-IPI", do_x2apic_icr, (void *)0x440f0UL, HX_SIG(SIGSEGV) },
	{ "x2APIC self-IPI storm", do_self_ipi_storm, NULL, HX_SIG(SIGSEGV) },
	{ "x2APIC EOI storm, then an ICR read", do_eoi_storm, NULL, HX_SIG(SIGSEGV) },
	{ "x2APIC EOI write of 1", do_eoi_nonzero, NULL, HX_SIG(SIGSEGV) },
	{ "rdmsr x2APIC TPR", do_rdmsr, MSR(0x808), HX_SIG(SIGSEGV) },
	{ "rdmsr x2APIC ISR 7", do_rdmsr, MSR(0x817), HX_SIG(SIGSEGV) },
	{ "set CR0.CD (caching off)", do_cr0_bits, (void *)(1UL << 30), HX_SIG(SIGSEGV) },
	{ "set CR0 reserved bit 63", do_cr0_bits, (void *)(1UL << 63), HX_SIG(SIGSEGV) },
	/* VMX leaves CR0.WP to the guest (outside the CR0 guest/host mask): it
	 * only relaxes the guest's own page tables; the nested table still
	 * enforces the process's permissions.  SVM intercepts every CR0 write. */
	{ "clear CR0.WP", do_cr0_clear, (void *)(1UL << 16), HX_SIG(SIGSEGV), HX_EXIT(0) },
	{ "set CR4 reserved bit 63", do_cr4_bits, (void *)(1UL << 63), HX_SIG(SIGSEGV) },
	{ "set CR4.SMXE", do_cr4_bits, (void *)(1UL << 14), HX_SIG(SIGSEGV) },
	{ "set CR4.PKE", do_cr4_bits, (void *)(1UL << 22), HX_SIG(SIGSEGV) },
	{ "mov to CR8 (TPR)", do_cr8_write, NULL, HX_SIG(SIGSEGV) },
	{ "mov from CR8", do_cr8_read, NULL, HX_SIG(SIGSEGV) },
	{ "xsetbv XCR0 reserved bit 63", do_xsetbv, (void *)0, HX_SIG(SIGSEGV), 0, has_osxsave },
	{ "xsetbv XCR0 without x87", do_xsetbv, (void *)1, HX_SIG(SIGSEGV), 0, has_osxsave },
	{ "xsetbv XCR1", do_xsetbv, (void *)2, HX_SIG(SIGSEGV), 0, has_osxsave },
	{ "xsetbv with the host's XCR0 (allowed)", do_xsetbv_same, NULL, HX_EXIT(0), 0,
	  has_osxsave },
	{ "mov to DR0", do_mov_dr, (void *)0, HX_SIG(SIGSEGV) },
	{ "mov to DR3", do_mov_dr, (void *)1, HX_SIG(SIGSEGV) },
	{ "mov to DR6", do_mov_dr, (void *)6, HX_SIG(SIGSEGV) },
	{ "mov from DR7", do_mov_dr, (void *)7, HX_SIG(SIGSEGV) },
	{ "lgdt with an unmapped base, then load DS", do_lgdt_bogus,
	  (void *)0x7f0000000000UL, HX_SIG(SIGSEGV) },
	{ "lgdt with a non-canonical base", do_lgdt_bogus, (void *)0x8000000000000000UL,
	  HX_SIG(SIGSEGV) },
	{ "lidt with an unmapped base, then int3", do_lidt_bogus, (void *)0x7f0000000000UL,
	  HX_SIG(SIGSEGV) },
	{ "lidt with a kernel-half base, then int3", do_lidt_bogus,
	  (void *)0xffffffff81000000UL, HX_SIG(SIGSEGV) },
	{ "ltr with a selector past the GDT", do_ltr_bogus, NULL, HX_SIG(SIGSEGV) },
	{ "monitor", do_monitor, NULL, HX_SIG(SIGILL), 0, has_mwait },
	{ "mwait", do_mwait, NULL, HX_SIG(SIGILL), 0, has_mwait },
	{ "vmxon", do_vmxon, NULL, HX_SIG(SIGILL) },
	{ "vmlaunch", do_vmlaunch, NULL, HX_SIG(SIGILL) },
	{ "vmptrld", do_vmptrld, NULL, HX_SIG(SIGILL) },
	{ "vmread", do_vmread, NULL, HX_SIG(SIGILL) },
	{ "invept", do_invept, NULL, HX_SIG(SIGILL) },
	{ "vmsave", do_vmsave, NULL, HX_SIG(SIGILL) },
	{ "stgi", do_stgi, NULL, HX_SIG(SIGILL) },
	{ "invlpga", do_invlpga, NULL, HX_SIG(SIGILL) },
	{ "skinit", do_skinit, NULL, HX_SIG(SIGILL) },
	{ "getsec", do_getsec, NULL, HX_SIG(SIGILL) },
	{ "double fault (#GP with no #GP gate)", do_double_fault, NULL, HX_SIG(SIGSEGV) },
	{ "unbounded recursion in ring 0", do_stack_overflow, NULL, HX_SIG(SIGSEGV) },
	{ "1 MiB of stack in ring 0 (legal)", do_deep_stack, NULL, HX_EXIT(0) },
	/* Each of these interrupts runs libdune's XSAVE/XRSTOR path: on QEMU's
	 * multi-threaded TCG this used to break the canary whenever it ran on
	 * CPU 0 (an emulator defect, docs/threat-model.md; the runner keeps
	 * the tests off CPU 0 there). */
	{ "200000 software interrupts with handlers", do_int_storm, NULL, HX_EXIT(0) },
};

static void spin_irqs_off(void *a)
{
	if (a)
		asm volatile("cli; 1: pause; jmp 1b");
	asm volatile("cli; 1: jmp 1b");
}

/*
 * cli; jmp . : host interrupts still exit (they are never the guest's to
 * mask), so the host CPU is not starved and SIGKILL ends the process.
 * "Ends" includes tearing the process down: about 0.1 s of guest time on
 * the QEMU machine, 1-1.6 s on Bochs, up to 3 s when Bochs stalls.
 */
#define HX_KILL_SECONDS	5.0

static void check_spin_killable(int pause)
{
	const char *what = pause ? "cli; pause loop" : "cli; jmp .";
	char buf[64];
	double t0;
	int st = -1, progress;
	pid_t pid;

	hwtest_mark("case: %s", what);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (dune_init_and_enter())
			_exit(CHILD_NO_DUNE);
		spin_irqs_off((void *)(uintptr_t)pause);
	}
	usleep(200 * 1000);
	progress = hx_canaries_progress(HX_PROGRESS_SECONDS);
	t0 = hx_now();
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && hx_now() - t0 < HX_KILL_SECONDS,
	      "%s: SIGKILL ends it in %.3f s (%s)", what, hx_now() - t0,
	      describe_status(st, buf, sizeof(buf)));
	CHECK(progress, "%s: both canaries progress while it spins", what);
	hx_check_host(what);
}

int main(int argc, char **argv)
{
	hx_setup();
	hx_run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc > 1 ? argv[1] : NULL);
	if (argc < 2 || strstr("cli", argv[1])) {
		check_spin_killable(0);
		check_spin_killable(1);
	}
	return hx_finish();
}
