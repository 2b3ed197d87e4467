// SPDX-License-Identifier: GPL-2.0
/*
 * The ring-3 boundary: what ring-3 guest code can make the host do.  Ring 3
 * may only reach the host through ring 0 (its SYSCALL goes to the ring-0
 * handler), so an instruction that exits to the hypervisor from ring 3 must
 * come back to ring 0 as the fault it raises on a CPU without one:
 *  - VMCALL and VMMCALL (either vendor's) with a write(2) or an
 *    open(O_CREAT) in their registers: #UD to ring 0, and the host runs
 *    nothing (the file stays empty, the path is never created); the process
 *    goes on when ring 0 handles the #UD, and dies with SIGILL when it
 *    does not;
 *  - a VMX instruction (VMXOFF): #UD;
 *  - port I/O that ring 0 allowed through IOPL 3: #GP(0) to ring 0, not
 *    the end of the process;
 *  - an alignment check ring 3 asked for (RFLAGS.AC): dune intercepts #AC
 *    for the host's split-lock policy, and must still deliver this one.
 * And nested ring 3: a ring-0 system-call handler runs other ring-3 code
 * with its own dune_jump_to_user (the original's wedge does), gets its
 * result, and the first ring-3 code goes on, makes more calls and returns
 * to its own caller.
 * The module's "reflected" counter tells which of them exited to the
 * hypervisor on this CPU (the others fault in the guest without an exit).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dunetest.h"

#define LEAK_FILE	"/tmp/ring3-leak"
#define CREATE_PATH	"/tmp/ring3-created"

/*
 * Ring-3 routines, in their own page so only they get PERM_U.  Each runs
 * one instruction with a system call in its registers (rax = number, rdi,
 * rsi, rdx = arguments), then hands rax back through SYSCALL 60 (exit),
 * which the ring-0 handler turns into dune_ret_from_user.  Labels mark the
 * instruction so ring 0 can check where the fault came from.
 */
extern char r3_text_start[], r3_text_end[];
extern char r3_vmcall[], r3_vmcall_insn[], r3_vmmcall[], r3_vmmcall_insn[];
extern char r3_vmxoff[], r3_vmxoff_insn[], r3_inb[], r3_inb_insn[];
extern char r3_eoi[], r3_eoi_insn[];
extern char r3_misaligned[], r3_misaligned_insn[];
extern char r3_nest[], r3_ret[];
__asm__(".pushsection .text.dune_ring3,\"ax\",@progbits\n"
	".balign 4096\n"
	".globl r3_text_start\nr3_text_start:\n"
	".globl r3_vmcall\nr3_vmcall:\n"
	"	mov %rdi, %rax\n	mov %rsi, %rdi\n	mov %rdx, %rsi\n	mov %rcx, %rdx\n"
	".globl r3_vmcall_insn\nr3_vmcall_insn:\n"
	"	vmcall\n"
	"	mov %rax, %rdi\n	mov $60, %eax\n	syscall\n	ud2\n"
	".globl r3_vmmcall\nr3_vmmcall:\n"
	"	mov %rdi, %rax\n	mov %rsi, %rdi\n	mov %rdx, %rsi\n	mov %rcx, %rdx\n"
	".globl r3_vmmcall_insn\nr3_vmmcall_insn:\n"
	"	vmmcall\n"
	"	mov %rax, %rdi\n	mov $60, %eax\n	syscall\n	ud2\n"
	".globl r3_vmxoff\nr3_vmxoff:\n"
	"	mov $0x77, %eax\n"
	".globl r3_vmxoff_insn\nr3_vmxoff_insn:\n"
	"	vmxoff\n"
	"	mov %rax, %rdi\n	mov $60, %eax\n	syscall\n	ud2\n"
	".globl r3_inb\nr3_inb:\n"
	"	mov $0x77, %eax\n"
	".globl r3_inb_insn\nr3_inb_insn:\n"
	"	inb $0x80, %al\n"
	"	mov %rax, %rdi\n	mov $60, %eax\n	syscall\n	ud2\n"
	".globl r3_eoi\nr3_eoi:\n"
	"	mov $0x80b, %ecx\n	xor %eax, %eax\n	xor %edx, %edx\n"
	".globl r3_eoi_insn\nr3_eoi_insn:\n"
	"	wrmsr\n"
	"	mov $0x77, %eax\n"
	"	mov %rax, %rdi\n	mov $60, %eax\n	syscall\n	ud2\n"
	".globl r3_misaligned\nr3_misaligned:\n"
	"	mov $0x77, %eax\n"
	".globl r3_misaligned_insn\nr3_misaligned_insn:\n"
	"	mov -15(%rsp), %rdx\n"
	"	mov %rax, %rdi\n	mov $60, %eax\n	syscall\n	ud2\n"
	/* SYS_NEST (ring 0 runs r3_ret nested), another call, exit with the
	 * first one's result; no stack used. */
	".globl r3_nest\nr3_nest:\n"
	"	mov $500, %eax\n	syscall\n"
	"	mov %rax, %rbx\n	mov $1000, %eax\n	syscall\n"
	"	mov %rbx, %rdi\n	mov $60, %eax\n	syscall\n	ud2\n"
	".globl r3_ret\nr3_ret:\n"
	"	mov $60, %eax\n	syscall\n	ud2\n"
	".balign 4096\n"
	".globl r3_text_end\nr3_text_end:\n"
	".popsection\n");

#define USTACK_SIZE	(4 * 4096)
#define EFLAGS_IOPL3	(3UL << 12)
#define EFLAGS_AC	(1UL << 18)

static uint8_t *ustack;
static volatile long n_syscalls, n_ud, n_gp, n_ac;
static volatile uintptr_t fault_rip;
static volatile int fault_cpl, fault_err;

#define SYS_NEST	500

static long run_ring3(void *entry, uint64_t rflags, uint64_t nr, uint64_t a0, uint64_t a1,
		      uint64_t a2);

static void r3_syscall(struct dune_tf *tf)
{
	n_syscalls++;
	if (tf->rax == SYS_exit)
		dune_ret_from_user((int)ARG0(tf));
	if (tf->rax == SYS_NEST) {
		/* r3_ret exits with its rdi: 41. */
		tf->rax = run_ring3(r3_ret, 0, 41, 0, 0, 0) + 1;
		return;
	}
	tf->rax = -ENOSYS;	/* ring 3 gets nothing else from ring 0 */
}

/* #UD and #GP from ring 3: note where, step over the instruction. */
static void on_fault(struct dune_tf *tf, volatile long *count, int len)
{
	(*count)++;
	fault_rip = tf->rip;
	fault_cpl = tf->cs & 3;
	fault_err = tf->err;
	if (!(tf->cs & 3)) {
		dune_printf("ring3: fault in ring 0 at %#lx\n", (unsigned long)tf->rip);
		dune_die();
	}
	tf->rip += len;
}

static void on_ud(struct dune_tf *tf)
{
	on_fault(tf, &n_ud, 3);		/* vmcall, vmmcall, vmxoff */
}

static void on_gp(struct dune_tf *tf)
{
	on_fault(tf, &n_gp, 2);		/* in $imm8, %al; wrmsr */
}

/* #AC: ring 3 asked for alignment checks; turn them off and retry. */
static void on_ac(struct dune_tf *tf)
{
	n_ac++;
	fault_rip = tf->rip;
	fault_cpl = tf->cs & 3;
	fault_err = tf->err;
	tf->rflags &= ~EFLAGS_AC;
}

static int setup_ring3(bool handle_ud)
{
	int r;

	ustack = mmap(NULL, USTACK_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (ustack == MAP_FAILED)
		return -errno;
	r = dune_vm_mprotect(pgroot, r3_text_start, r3_text_end - r3_text_start,
			     PERM_R | PERM_X | PERM_U);
	if (!r)
		r = dune_vm_map_phys(pgroot, ustack, USTACK_SIZE, (void *)dune_va_to_pa(ustack),
				     PERM_R | PERM_W | PERM_U);
	dune_flush_tlb();
	dune_register_syscall_handler(r3_syscall);
	if (handle_ud)
		dune_register_intr_handler(T_ILLOP, on_ud);
	dune_register_intr_handler(T_GPFLT, on_gp);
	dune_register_intr_handler(T_ALIGN, on_ac);
	return r;
}

static long run_ring3(void *entry, uint64_t rflags, uint64_t nr, uint64_t a0, uint64_t a1,
		      uint64_t a2)
{
	struct dune_tf tf;

	memset(&tf, 0, sizeof(tf));
	tf.rip = (uintptr_t)entry;
	tf.rsp = (uintptr_t)ustack + USTACK_SIZE;
	tf.rflags = 0x2 | rflags;
	tf.rdi = nr;
	tf.rsi = a0;
	tf.rdx = a1;
	tf.rcx = a2;
	return dune_jump_to_user(&tf);
}

static uint64_t reflected(void)
{
	struct dune_stats st;

	return dune_get_stats(&st) ? 0 : st.reflected;
}

static off_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? -1 : sb.st_size;
}

/* The path ring 3 asks the host to create: in ring-0-only memory, which a
 * host system call would have read all the same. */
static char create_path[] = CREATE_PATH;
static const char leak[] = "LEAK from ring 3\n";

/* One hypercall instruction from ring 3, with write(2) and open(2). */
static void hypercall_case(void *arg)
{
	const char *insn = arg;
	bool vmcall = !strcmp(insn, "vmcall");
	char *entry = vmcall ? r3_vmcall : r3_vmmcall;
	uintptr_t at = (uintptr_t)(vmcall ? r3_vmcall_insn : r3_vmmcall_insn);
	char *ubuf;
	uint64_t x0;
	long r;
	int fd;

	SUB(setup_ring3(true) == 0, "ring-3 mappings");
	fd = open(LEAK_FILE, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	SUB(fd >= 0, "open %s", LEAK_FILE);
	ubuf = (char *)ustack;
	memcpy(ubuf, leak, sizeof(leak) - 1);

	x0 = reflected();
	r = run_ring3(entry, 0, SYS_write, fd, (uintptr_t)ubuf, sizeof(leak) - 1);
	SUB(n_ud == 1 && fault_cpl == 3 && fault_rip == at,
	    "%s write from ring 3: #UD in ring 0 at the instruction (%ld #UD, cpl %d, rip %#lx vs %#lx)",
	    insn, n_ud, fault_cpl, (unsigned long)fault_rip, (unsigned long)at);
	SUB(r == SYS_write, "no system call result in rax (%ld)", r);
	SUB(file_size(LEAK_FILE) == 0, "nothing written to %s (%ld bytes)", LEAK_FILE,
	    (long)file_size(LEAK_FILE));

	r = run_ring3(entry, 0, SYS_open, (uintptr_t)create_path, O_CREAT | O_WRONLY, 0644);
	SUB(n_ud == 2 && fault_rip == at, "%s open from ring 3: #UD in ring 0 (%ld)", insn,
	    n_ud);
	SUB(r == SYS_open && access(CREATE_PATH, F_OK) != 0,
	    "%s was not created (rax %ld)", CREATE_PATH, r);
	SUB(n_syscalls == 2, "ring 0 saw only the two exits (%ld calls)", n_syscalls);
	printf("# %s from ring 3: %lu of 2 exited to the hypervisor and were reflected\n",
	       insn, (unsigned long)(reflected() - x0));
	SUB(reflected() - x0 <= 2, "reflected counter");
	/* Ring 0's own system calls are unaffected. */
	SUB(write(fd, "ok", 2) == 2 && file_size(LEAK_FILE) == 2, "ring 0 still writes");
	close(fd);
	unlink(LEAK_FILE);
	exit(sub_failed);
}

/* No #UD handler: libdune's default must not run a ring-3 hypercall. */
static void unhandled_case(void *arg)
{
	const char *insn = arg;
	int fd;

	if (setup_ring3(false))
		exit(90);
	fd = open(LEAK_FILE, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	memcpy(ustack, leak, sizeof(leak) - 1);
	run_ring3(strcmp(insn, "vmcall") ? r3_vmmcall : r3_vmcall, 0, SYS_write, fd,
		  (uintptr_t)ustack, sizeof(leak) - 1);
	exit(91);		/* not reached: libdune ends the process */
}

static void vmx_insn_case(void *arg)
{
	long r;

	SUB(setup_ring3(true) == 0, "ring-3 mappings");
	r = run_ring3(r3_vmxoff, 0, 0, 0, 0, 0);
	SUB(r == 0x77 && n_ud == 1 && fault_rip == (uintptr_t)r3_vmxoff_insn,
	    "VMXOFF from ring 3: #UD in ring 0 (%ld #UD, rax %#lx)", n_ud, r);
	SUB(getpid() > 0, "the process goes on");
	exit(sub_failed);
}

static void io_case(void *arg)
{
	uint64_t x0;
	long r;

	SUB(setup_ring3(true) == 0, "ring-3 mappings");
	x0 = reflected();
	r = run_ring3(r3_inb, EFLAGS_IOPL3, 0, 0, 0, 0);
	SUB(n_gp == 1 && fault_cpl == 3 && fault_err == 0 &&
	    fault_rip == (uintptr_t)r3_inb_insn && r == 0x77,
	    "IN with IOPL 3 from ring 3: #GP(0) in ring 0 (%ld #GP, err %d, rax %#lx)", n_gp,
	    fault_err, r);
	SUB(reflected() - x0 == 1, "the I/O exit was reflected (%lu)",
	    (unsigned long)(reflected() - x0));
	exit(sub_failed);
}

/*
 * The x2APIC EOI write that posted interrupts let ring 0 make without an
 * exit (docs/ipi.md) is WRMSR, privileged: from ring 3 it is #GP(0) in
 * ring 0 before any exit or APIC virtualization (SDM 26.1.1), on every
 * backend.
 */
static void eoi_case(void *arg)
{
	long r;

	SUB(setup_ring3(true) == 0, "ring-3 mappings");
	r = run_ring3(r3_eoi, 0, 0, 0, 0, 0);
	SUB(n_gp == 1 && fault_cpl == 3 && fault_err == 0 &&
	    fault_rip == (uintptr_t)r3_eoi_insn && r == 0x77,
	    "x2APIC EOI (WRMSR 0x80b) from ring 3: #GP(0) in ring 0 (%ld #GP, err %d, rax %#lx)",
	    n_gp, fault_err, r);
	exit(sub_failed);
}

/* dune intercepts #AC (split locks are the host's); the guest's own
 * alignment check must still reach ring 0 as #AC(0) at the instruction. */
static void align_case(void *arg)
{
	uint64_t x0;
	long r;

	SUB(setup_ring3(true) == 0, "ring-3 mappings");
	x0 = reflected();
	r = run_ring3(r3_misaligned, EFLAGS_AC, 0, 0, 0, 0);
	if (r == 0x77 && n_ac == 0)
		exit(3);	/* QEMU's TCG does not do alignment checks */
	SUB(r == 0x77 && n_ac == 1 && fault_cpl == 3 && fault_err == 0 &&
	    fault_rip == (uintptr_t)r3_misaligned_insn,
	    "misaligned load with RFLAGS.AC in ring 3: #AC(0) in ring 0 (%ld #AC, err %d, rip %#lx)",
	    n_ac, fault_err, (unsigned long)fault_rip);
	SUB(reflected() - x0 == 1, "the #AC went through the host and back (%lu)",
	    (unsigned long)(reflected() - x0));
	exit(sub_failed);
}

static void nested_case(void *arg)
{
	long r, i;

	(void)arg;
	SUB(setup_ring3(false) == 0, "ring 3 set up");
	for (i = 0; i < 3; i++) {
		n_syscalls = 0;
		r = run_ring3(r3_nest, 0, 0, 0, 0, 0);
		SUB(r == 42 && n_syscalls == 4,
		    "round %ld: the outer ring-3 code got 41 + 1 from the nested run, made "
		    "one more call and returned it (%ld, %ld calls)", i, r, (long)n_syscalls);
	}
	/* Trap frames land where they should after the nesting. */
	SUB(run_ring3(r3_ret, 0, 7, 0, 0, 0) == 7, "a plain run afterwards");
	exit(sub_failed);
}

static void check_case(const char *name, void (*fn)(void *), void *arg, int want_sig)
{
	char buf[64];
	int st;

	hwtest_mark("case %s", name);
	st = run_in_dune_child(fn, arg);
	if (want_sig)
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == want_sig, "%s: %s", name,
		      describe_status(st, buf, sizeof(buf)));
	else
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: %s", name,
		      describe_status(st, buf, sizeof(buf)));
}

int main(void)
{
	static const char *const insns[] = { "vmcall", "vmmcall" };
	char name[160];
	size_t i;
	int st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	require_dune_mode();
	unlink(LEAK_FILE);
	unlink(CREATE_PATH);
	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name),
			 "ring-3 %s with write/open: #UD to ring 0, no host system call",
			 insns[i]);
		check_case(name, hypercall_case, (void *)insns[i], 0);
		snprintf(name, sizeof(name),
			 "ring-3 %s without a #UD handler: SIGILL, nothing written", insns[i]);
		check_case(name, unhandled_case, (void *)insns[i], SIGILL);
		CHECK(file_size(LEAK_FILE) <= 0 && access(CREATE_PATH, F_OK) != 0,
		      "after the unhandled %s: %s empty (%ld), %s absent", insns[i], LEAK_FILE,
		      (long)file_size(LEAK_FILE), CREATE_PATH);
		unlink(LEAK_FILE);
	}
	check_case("ring-3 VMXOFF: #UD to ring 0", vmx_insn_case, NULL, 0);
	check_case("ring-3 port I/O under IOPL 3: #GP(0) to ring 0", io_case, NULL, 0);
	check_case("ring-3 x2APIC EOI write: #GP(0) to ring 0", eoi_case, NULL, 0);
	check_case("dune_jump_to_user from a ring-0 handler (nested), three times",
		   nested_case, NULL, 0);
	st = run_in_dune_child(align_case, NULL);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
		printf("# this CPU does not raise #AC for alignment (an emulator)\n");
	CHECK(WIFEXITED(st) && (WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 3),
	      "ring-3 alignment check: #AC(0) to ring 0 (where the CPU checks alignment): %s",
	      describe_status(st, name, sizeof(name)));
	return hwtest_done();
}
