// SPDX-License-Identifier: GPL-2.0
/*
 * A fork child keeps its parent's guest page tables (issue 14; the
 * original's contract, which its sandbox relies on): a child's
 * dune_enter() finds every dune_vm_* mapping the parent made, with its
 * user/supervisor and permission bits, so ring-3 code runs on in the
 * child.  The tables are private memory: after the fork, neither side
 * sees the other's table or data changes.  And keeping them widens
 * nothing: the child's nested tables map only the child's memory, so a
 * kept guest mapping of memory the child does not have (MADV_DONTFORK,
 * memory the parent mapped after the fork) ends the child with SIGSEGV,
 * and MADV_WIPEONFORK memory reads as zeros, not the parent's data.
 * Also: a grandchild keeps the child's tables; a fork from a second Dune
 * thread while a third edits the tables gets a whole copy; a fork made by
 * the ring-0 system-call handler for ring-3 code (the original sandbox's
 * way) gives a child that enters again inside the handler, on its copy of
 * the trap stack, returns to the ring-3 code with 0, and later returns
 * from its dune_jump_to_user and runs ring 3 again.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dunetest.h"

#define NPAGES		4
#define PG		4096UL
/* Pool-backed guest memory at addresses the host does not use. */
#define R_VA		((uint8_t *)0x500000000000UL)
#define USTACK_VA	((uint8_t *)0x500000100000UL)
#define N_VA		((uint8_t *)0x500000200000UL)
#define SCRATCH_VA	((uint8_t *)0x500000300000UL)
#define CHILD_VA	((uint8_t *)0x500000400000UL)
#define USTACK_SIZE	(4 * PG)
#define SECRET		0x5ec7e7

/*
 * Ring 3: r3_touch(base = rdi, pages = rsi, value = rdx) adds up the first
 * word of each page (and stores @value there when it is not 0), then hands
 * the sum back through SYSCALL 60, which ring 0 turns into the return
 * value of dune_jump_to_user.  In its own page: only it gets PERM_U.
 */
extern char r3_text_start[], r3_text_end[], r3_touch[], r3_fork[];
__asm__(".pushsection .text.dune_ring3,\"ax\",@progbits\n"
	".balign 4096\n"
	".globl r3_text_start\nr3_text_start:\n"
	".globl r3_touch\nr3_touch:\n"
	"	xor %eax, %eax\n"
	"1:	add (%rdi), %rax\n"
	"	test %rdx, %rdx\n"
	"	jz 2f\n"
	"	mov %rdx, (%rdi)\n"
	"2:	add $4096, %rdi\n"
	"	dec %rsi\n"
	"	jnz 1b\n"
	"	mov %rax, %rdi\n	mov $60, %eax\n	syscall\n	ud2\n"
	/* fork(2) through ring 0, then exit with its result. */
	".globl r3_fork\nr3_fork:\n"
	"	mov $57, %eax\n	syscall\n"
	"	mov %rax, %rdi\n	mov $60, %eax\n	syscall\n	ud2\n"
	".balign 4096\n"
	".globl r3_text_end\nr3_text_end:\n"
	".popsection\n");

static uint8_t *m_mem, *k_mem, *d_mem, *w_mem;
static volatile uintptr_t r3_fault_addr;

#define CHILD_NO_DUNE_IN_HANDLER 96

static void on_syscall(struct dune_tf *tf)
{
	long pid;

	if (tf->rax == SYS_exit)
		dune_ret_from_user((int)ARG0(tf));
	if (tf->rax == SYS_fork) {
		/* The child goes on here, in host mode, on its copy of the
		 * trap stack: it enters again and returns to ring 3. */
		pid = syscall(SYS_fork);
		if (pid == 0 && dune_enter())
			_exit(CHILD_NO_DUNE_IN_HANDLER);
		tf->rax = pid < 0 ? -errno : pid;
		return;
	}
	tf->rax = -ENOSYS;
}

static void on_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	if (tf->cs & 3) {
		r3_fault_addr = addr;
		dune_ret_from_user(-EFAULT);
	}
	dune_vm_default_pgflt_handler(addr, fec);
}

/* Ring 3 runs @rip with rdi, rsi, rdx = @p, @n, @val. */
static long run_r3(void *rip, void *p, long n, uint64_t val)
{
	struct dune_tf tf;

	memset(&tf, 0, sizeof(tf));
	tf.rip = (uintptr_t)rip;
	tf.rsp = (uintptr_t)USTACK_VA + USTACK_SIZE;
	tf.rflags = 0x2;
	tf.rdi = (uintptr_t)p;
	tf.rsi = n;
	tf.rdx = val;
	r3_fault_addr = 0;
	return dune_jump_to_user(&tf);
}

/* Ring 3 reads (and with @val writes) the first word of @n pages at @p. */
static long touch(void *p, long n, uint64_t val)
{
	return run_r3(r3_touch, p, n, val);
}

static void fill(uint8_t *p, long n, uint64_t v)
{
	for (long i = 0; i < n; i++)
		*(volatile uint64_t *)(p + i * PG) = v;
}

static void *host_pages(int advice)
{
	uint8_t *p = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (advice && madvise(p, NPAGES * PG, advice))
		return NULL;
	return p;
}

static int map_user(void *p)
{
	return dune_vm_map_phys(pgroot, p, NPAGES * PG, (void *)dune_va_to_pa(p),
				PERM_R | PERM_W | PERM_U);
}

static int setup(void)
{
	int r;

	dune_register_syscall_handler(on_syscall);
	dune_register_pgflt_handler(on_pgflt);
	m_mem = host_pages(0);
	k_mem = host_pages(0);
	d_mem = host_pages(MADV_DONTFORK);
	w_mem = host_pages(MADV_WIPEONFORK);
	if (!m_mem || !k_mem || !d_mem || !w_mem)
		return -ENOMEM;
	r = dune_vm_mprotect(pgroot, r3_text_start, r3_text_end - r3_text_start, PERM_UCODE);
	if (!r)
		r = dune_vm_map_pages(pgroot, USTACK_VA, USTACK_SIZE, PERM_R | PERM_W | PERM_U);
	if (!r)
		r = dune_vm_map_pages(pgroot, R_VA, NPAGES * PG, PERM_R | PERM_W | PERM_U);
	if (!r)
		r = map_user(m_mem);
	if (!r)
		r = map_user(d_mem);
	if (!r)
		r = map_user(w_mem);
	dune_flush_tlb();
	fill(R_VA, NPAGES, 0x11);
	fill(m_mem, NPAGES, 0x22);
	fill(k_mem, NPAGES, 0x99);
	fill(d_mem, NPAGES, SECRET);
	fill(w_mem, NPAGES, SECRET);
	return r;
}

/* The user bit of the kept entry for @va (-1: none). */
static int user_bit(void *va)
{
	ptent_t *pte;

	if (dune_vm_lookup(pgroot, va, CREATE_NONE, &pte) || !(*pte & PTE_P))
		return -1;
	return !!(*pte & PTE_U);
}

static unsigned long read_cr3(void)
{
	unsigned long v;

	__asm__ __volatile__("mov %%cr3, %0" : "=r"(v));
	return v;
}

/* In a fork child: enter, and check the tables are the kept ones. */
static void child_enter(void)
{
	struct dune_startup_stats st;
	int r = dune_enter();

	if (r) {
		printf("#   child: dune_enter() = %d\n", r);
		_exit(CHILD_NO_DUNE);
	}
	dune_get_startup_stats(&st);
	SUB(st.forked, "the child kept the parent's page tables");
	SUB(PTE_ADDR(read_cr3()) == dune_va_to_pa(pgroot), "CR3 %#lx is pgroot's", read_cr3());
}

static pid_t fork_child(void)
{
	fflush(NULL);
	return fork();
}

static int wait_status(pid_t pid)
{
	int st = -1;

	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

static void xwrite(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		_exit(98);
}

static void xread(int fd)
{
	char c;

	if (read(fd, &c, 1) != 1)
		_exit(97);
}

/* ---------------------------------------------------------------- cases */

/* The grandchild of main: the child's tables, with the child's changes. */
static void grandchild(void)
{
	child_enter();
	SUB(touch(R_VA, NPAGES, 0) == NPAGES * 0x44, "grandchild: ring 3 reads the child's data in R");
	SUB(touch(m_mem, 1, 0) == -EFAULT, "grandchild: the child's unmap of M is kept");
	exit(sub_failed);
}

/* The child: the parent's ring-3 mappings work; each side's changes after
 * the fork stay on that side. */
static void child_main(int from_parent, int to_parent)
{
	long v;

	child_enter();
	SUB(user_bit(R_VA) == 1 && user_bit(m_mem) == 1 && user_bit(r3_touch) == 1,
	    "user bits kept (R %d, M %d, code %d)", user_bit(R_VA), user_bit(m_mem),
	    user_bit(r3_touch));
	SUB(user_bit(k_mem) != 1, "supervisor page stays supervisor");
	v = touch(R_VA, NPAGES, 0);
	SUB(v == NPAGES * 0x11, "ring 3 reads pool pages R: %#lx", v);
	v = touch(m_mem, NPAGES, 0);
	SUB(v == NPAGES * 0x22, "ring 3 reads process memory M: %#lx", v);
	v = touch(k_mem, 1, 0);
	SUB(v == -EFAULT && r3_fault_addr == (uintptr_t)k_mem,
	    "ring 3 faults on the supervisor page (%ld at %#lx)", v, (unsigned long)r3_fault_addr);
	xwrite(to_parent, 'a');
	xread(from_parent);		/* the parent changed its side */
	v = touch(R_VA, NPAGES, 0);
	SUB(v == NPAGES * 0x11, "parent's unmap of R not seen: %#lx", v);
	v = touch(m_mem, NPAGES, 0);
	SUB(v == NPAGES * 0x22, "parent's writes to M not seen: %#lx", v);
	v = touch(N_VA, 1, 0);
	SUB(v == -EFAULT, "parent's new mapping N not seen: %ld", v);
	/* The child's own changes. */
	v = touch(R_VA, NPAGES, 0x44);
	SUB(v == NPAGES * 0x11, "ring 3 writes R: %#lx", v);
	dune_vm_unmap(pgroot, m_mem, NPAGES * PG);
	dune_flush_tlb();
	SUB(dune_vm_map_pages(pgroot, CHILD_VA, PG, PERM_R | PERM_W | PERM_U) == 0,
	    "child maps a pool page");
	SUB(touch(CHILD_VA, 1, 0x55) == 0, "ring 3 uses the child's new page");
	{
		pid_t g = fork_child();
		int st;

		if (g == 0)
			grandchild();
		st = wait_status(g);
		SUB(WIFEXITED(st) && WEXITSTATUS(st) == 0, "grandchild status %#x", st);
	}
	xwrite(to_parent, 'b');
	xread(from_parent);		/* the parent checked its side */
	exit(sub_failed);
}

static void case_isolation(void)
{
	int p2c[2], c2p[2], st;
	char buf[64];
	pid_t pid;
	long v;

	if (pipe(p2c) || pipe(c2p)) {
		CHECK(0, "pipes");
		return;
	}
	pid = fork_child();
	if (pid == 0)
		child_main(p2c[0], c2p[1]);
	CHECK(pid > 0, "fork in Dune mode");
	xread(c2p[0]);
	/* The parent's changes after the fork. */
	dune_vm_unmap(pgroot, R_VA, NPAGES * PG);
	dune_flush_tlb();
	fill(m_mem, NPAGES, 0x33);
	CHECK(dune_vm_map_pages(pgroot, N_VA, PG, PERM_R | PERM_W | PERM_U) == 0,
	      "parent maps N after the fork");
	xwrite(p2c[1], 'x');
	xread(c2p[0]);		/* the child made its changes */
	v = touch(m_mem, NPAGES, 0);
	CHECK(v == NPAGES * 0x33, "child's unmap of M not seen by the parent: %#lx", v);
	v = touch(R_VA, 1, 0);
	CHECK(v == -EFAULT, "the parent's own unmap of R holds: %ld", v);
	CHECK(touch(N_VA, 1, 0) == 0, "parent's N usable from ring 3");
	CHECK(user_bit(CHILD_VA) == -1, "child's new mapping not in the parent's tables");
	xwrite(p2c[1], 'y');
	st = wait_status(pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "child: parent's ring-3 mappings kept, changes private both ways, grandchild (%s)",
	      describe_status(st, buf, sizeof(buf)));
	close(p2c[0]);
	close(p2c[1]);
	close(c2p[0]);
	close(c2p[1]);
}

/* Hostile: a kept guest mapping of memory the child does not have. */
static void hostile_child(uint8_t *mem, bool ring3)
{
	child_enter();
	SUB(user_bit(mem) == 1, "the kept entry is user and present");
	fflush(NULL);
	if (sub_failed)
		exit(sub_failed);
	if (ring3)
		touch(mem, 1, 0);
	else
		(void)*(volatile uint64_t *)mem;
	exit(0);	/* reached memory the process does not have */
}

static void case_hostile(void)
{
	int fds[2], st;
	char buf[64];
	pid_t pid;
	uint8_t *late = NULL;

	pid = fork_child();
	if (pid == 0)
		hostile_child(d_mem, true);
	st = wait_status(pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	      "MADV_DONTFORK memory through the kept user mapping: ring 3 ends the child (%s)",
	      describe_status(st, buf, sizeof(buf)));
	pid = fork_child();
	if (pid == 0)
		hostile_child(d_mem, false);
	st = wait_status(pid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	      "... and ring 0 too (%s)", describe_status(st, buf, sizeof(buf)));
	CHECK(*(volatile uint64_t *)d_mem == SECRET, "the parent's DONTFORK data intact");

	/* WIPEONFORK: the child's memory there is zero, not the parent's. */
	pid = fork_child();
	if (pid == 0) {
		long v;

		child_enter();
		v = touch(w_mem, NPAGES, 0);
		SUB(v == 0, "ring 3 reads zeros in WIPEONFORK memory: %#lx", v);
		exit(sub_failed);
	}
	st = wait_status(pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "WIPEONFORK memory: the child sees zeros (%s)",
	      describe_status(st, buf, sizeof(buf)));

	/* Memory the parent maps after the fork, mapped by the child at the
	 * parent's address: still not the parent's. */
	if (pipe(fds)) {
		CHECK(0, "pipe");
		return;
	}
	pid = fork_child();
	if (pid == 0) {
		uint8_t *addr;

		child_enter();
		if (read(fds[0], &addr, sizeof(addr)) != sizeof(addr))
			_exit(97);
		SUB(map_user(addr) == 0, "child maps the parent's new address");
		dune_flush_tlb();
		fflush(NULL);
		if (sub_failed)
			exit(sub_failed);
		touch(addr, 1, 0);
		exit(0);
	}
	late = host_pages(0);
	if (late)
		fill(late, NPAGES, SECRET);
	if (write(fds[1], &late, sizeof(late)) != sizeof(late))
		CHECK(0, "pipe write");
	st = wait_status(pid);
	CHECK(late && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
	      "the parent's post-fork memory at its address: the child dies (%s)",
	      describe_status(st, buf, sizeof(buf)));
	close(fds[0]);
	close(fds[1]);
}

/* A second Dune thread forks while a third keeps editing the tables. */
static volatile int stop_editor;

static void *editor(void *arg)
{
	(void)arg;
	if (dune_enter())
		return (void *)1;
	while (!__atomic_load_n(&stop_editor, __ATOMIC_ACQUIRE)) {
		if (dune_vm_map_pages(pgroot, SCRATCH_VA, 16 * PG, PERM_R | PERM_W | PERM_U))
			return (void *)2;
		dune_vm_unmap(pgroot, SCRATCH_VA, 16 * PG);
	}
	return NULL;
}

static void *forker(void *arg)
{
	int *status = arg;

	if (dune_enter())
		return (void *)1;
	for (int i = 0; i < 3; i++) {
		pid_t pid = fork_child();

		if (pid == 0) {
			child_enter();
			SUB(touch(m_mem, NPAGES, 0) == NPAGES * 0x33, "ring 3 reads M");
			SUB(dune_vm_map_pages(pgroot, CHILD_VA, PG, PERM_R | PERM_W | PERM_U) == 0,
			    "the child's pool allocates");
			SUB(touch(CHILD_VA, 1, 0x66) == 0, "ring 3 uses it");
			exit(sub_failed);
		}
		status[i] = wait_status(pid);
	}
	return NULL;
}

static void case_threads(void)
{
	pthread_t ed, fk;
	int status[3] = { -1, -1, -1 };
	void *er = NULL, *fr = NULL;
	bool ok = true;

	if (pthread_create(&ed, NULL, editor, NULL)) {
		CHECK(0, "editor thread");
		return;
	}
	if (pthread_create(&fk, NULL, forker, status) == 0)
		pthread_join(fk, &fr);
	__atomic_store_n(&stop_editor, 1, __ATOMIC_RELEASE);
	pthread_join(ed, &er);
	for (int i = 0; i < 3; i++)
		ok = ok && WIFEXITED(status[i]) && WEXITSTATUS(status[i]) == 0;
	CHECK(!er && !fr && ok,
	      "forks from a second Dune thread while a third edits the tables: "
	      "children run ring 3 (threads %p %p, status %#x %#x %#x)",
	      er, fr, status[0], status[1], status[2]);
}

/* fork(2) from ring 3, made by the ring-0 handler; twice, so the second
 * runs from the trap stack position the first left. */
static void case_handler_fork(void)
{
	char buf[64];
	long pid;
	int st;

	for (int i = 0; i < 2; i++) {
		fflush(NULL);
		pid = run_r3(r3_fork, NULL, 0, 0);
		if (pid == 0) {
			/* The child: back from the first dune_jump_to_user. */
			SUB(touch(m_mem, NPAGES, 0) == NPAGES * 0x33, "child: ring 3 again");
			SUB(touch(k_mem, 1, 0) == -EFAULT, "child: a ring-3 fault reaches ring 0");
			SUB(touch(m_mem, NPAGES, 0) == NPAGES * 0x33, "child: and ring 3 after it");
			exit(sub_failed);
		}
		st = wait_status(pid);
		CHECK(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "fork by the ring-0 handler for ring 3 (%d): the child enters again in the "
		      "handler, returns to ring 3 with 0 and from dune_jump_to_user (%s)", i,
		      describe_status(st, buf, sizeof(buf)));
	}
	CHECK(touch(m_mem, NPAGES, 0) == NPAGES * 0x33, "parent: ring 3 after the forks");
}

int main(void)
{
	long v;

	setvbuf(stdout, NULL, _IOLBF, 0);
	require_dune_mode();
	CHECK(setup() == 0, "parent: ring-3 code, stack, pool pages and process memory mapped user");
	v = touch(R_VA, NPAGES, 0);
	CHECK(v == NPAGES * 0x11, "parent: ring 3 reads R (%#lx)", v);
	v = touch(k_mem, 1, 0);
	CHECK(v == -EFAULT, "parent: ring 3 cannot touch a supervisor page (%ld)", v);
	case_isolation();
	case_hostile();
	case_threads();
	case_handler_fork();
	return hwtest_done();
}
