// SPDX-License-Identifier: GPL-2.0
/*
 * System-call passthrough in the kernel: the guest's call runs on the
 * calling thread, with the guest's registers, and the guest resumes without
 * a trip to host user mode.
 *
 * Only when nothing else has to see the call: a thread under seccomp,
 * ptrace, audit, syscall tracepoints or user dispatch gets every call
 * bounced to libdune, which makes it in host mode through the normal entry
 * path.  So do calls that need the caller's own user-mode frame (clone,
 * exec, sigreturn, ...) and, when the in-kernel handler cannot be found
 * (no kprobes), all calls.  KASLR-safe: the dispatcher is found through
 * kallsyms_lookup_name, itself found through a kprobe.
 *
 * Both are called through static calls, i.e. direct CALL/JMP instructions
 * the kernel patches in (arch_static_call_transform), never through a
 * function pointer: with kernel IBT (Debian's 6.12 on Tiger Lake and later)
 * objtool seals functions whose address vmlinux never takes, replacing
 * their ENDBR64 by a NOP, and an indirect call to one is a #CP (SDM Vol. 1
 * 18.3), a kernel BUG.  x64_sys_call and kallsyms_lookup_name are sealed;
 * a direct branch needs no ENDBR.  The sys_call_table entries of older
 * kernels are address-taken, so they keep their ENDBR.
 */
#define pr_fmt(fmt) "dune: " fmt

#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/static_call.h>
#include <linux/thread_info.h>
#include <asm/syscall.h>
#include <asm/unistd.h>

#include "syscall.h"

static char *passthrough = "kernel";
module_param(passthrough, charp, 0444);
MODULE_PARM_DESC(passthrough,
		 "where guest system calls run: kernel (default; host mode when traced or filtered) or host (always in host mode)");

/* The static calls' types: the kernel's x64_sys_call and kallsyms_lookup_name. */
typedef long (*dune_sys_call_fn)(const struct pt_regs *regs, unsigned int nr);
typedef unsigned long (*dune_lookup_fn)(const char *name);

static long dune_no_sys_call(const struct pt_regs *regs, unsigned int nr)
{
	return -ENOSYS;
}

static unsigned long dune_no_lookup(const char *name)
{
	return 0;
}

DEFINE_STATIC_CALL(dune_x64_sys_call, dune_no_sys_call);
DEFINE_STATIC_CALL(dune_kallsyms_lookup, dune_no_lookup);
static bool dune_have_sys_call;
static const sys_call_ptr_t *dune_sys_call_table;

/* Work that makes Linux look at a call before or after it runs. */
#define DUNE_SC_WORK	(SYSCALL_WORK_SECCOMP | SYSCALL_WORK_SYSCALL_TRACEPOINT | \
			 SYSCALL_WORK_SYSCALL_TRACE | SYSCALL_WORK_SYSCALL_EMU | \
			 SYSCALL_WORK_SYSCALL_AUDIT | SYSCALL_WORK_SYSCALL_USER_DISPATCH | \
			 SYSCALL_WORK_SYSCALL_EXIT_TRAP)

int dune_syscall_init(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	unsigned long addr;

	if (strcmp(passthrough, "kernel")) {
		pr_info("system calls run in host mode (passthrough=%s)\n", passthrough);
		return 0;
	}
	if (register_kprobe(&kp) < 0) {
		pr_warn("no kprobes: system calls run in host mode\n");
		return 0;
	}
	addr = (unsigned long)kp.addr;
	unregister_kprobe(&kp);
	static_call_update(dune_kallsyms_lookup, (dune_lookup_fn)addr);
	addr = static_call(dune_kallsyms_lookup)("x64_sys_call");
	if (addr) {
		static_call_update(dune_x64_sys_call, (dune_sys_call_fn)addr);
		dune_have_sys_call = true;
	} else {
		dune_sys_call_table = (void *)static_call(dune_kallsyms_lookup)("sys_call_table");
	}
	if (!dune_have_sys_call && !dune_sys_call_table)
		pr_warn("no system call dispatcher found: system calls run in host mode\n");
	return 0;
}

/* Calls that use or rewrite the caller's user-mode frame, or end it. */
static bool needs_host_frame(unsigned long nr)
{
	switch (nr) {
	case __NR_clone: case __NR_clone3: case __NR_fork: case __NR_vfork:
	case __NR_execve: case __NR_execveat: case __NR_exit: case __NR_exit_group:
	case __NR_rt_sigreturn: case __NR_sigaltstack: case __NR_arch_prctl:
	case __NR_iopl: case __NR_ioperm: case __NR_modify_ldt:
	case __NR_restart_syscall:
#ifdef __NR_uretprobe
	case __NR_uretprobe:
#endif
#ifdef __NR_map_shadow_stack
	case __NR_map_shadow_stack:
#endif
		return true;
	}
	return false;
}

/**
 * dune_syscall_ends_process - will the system call the guest handed to
 * libdune (DUNE_RET_SYSCALL) end the calling process for sure?
 * @nr:		its number.
 *
 * exit_group, or exit (the caller checks that no other task uses the mm),
 * with nothing that could see the call and stop or change it (seccomp,
 * ptrace, user dispatch: DUNE_SC_WORK).  libdune makes the call next.
 */
bool dune_syscall_ends_process(unsigned long nr)
{
	if (nr != __NR_exit_group && nr != __NR_exit)
		return false;
	return !(READ_ONCE(current_thread_info()->syscall_work) & DUNE_SC_WORK);
}

static bool is_restart(long r)
{
	return r == -ERESTARTSYS || r == -ERESTARTNOINTR || r == -ERESTARTNOHAND ||
	       r == -ERESTART_RESTARTBLOCK;
}

/**
 * dune_syscall_in_kernel - try to run the guest's system call here.
 * @vcpu:	its registers hold the call (rax = number, SysV syscall args).
 * @restart_code: set for DUNE_SC_RESTART: the -ERESTART* value the DUNE_ENTER
 *		ioctl must return so Linux's signal code decides between
 *		restarting (the guest re-executes the hypercall) and EINTR.
 */
enum dune_sc dune_syscall_in_kernel(struct dune_vcpu *vcpu, long *restart_code)
{
	struct dune_regs *g = &vcpu->regs;
	struct pt_regs regs = {
		.di = g->rdi, .si = g->rsi, .dx = g->rdx, .r10 = g->r10,
		.r8 = g->r8, .r9 = g->r9, .orig_ax = g->rax, .ax = -ENOSYS,
		.ip = g->rip, .sp = g->rsp, .flags = g->rflags,
		.cs = __USER_CS, .ss = __USER_DS,
	};
	unsigned long nr = g->rax;
	long r;

	if (!dune_have_sys_call && !dune_sys_call_table)
		return DUNE_SC_HOST;
	if (nr >= __NR_syscalls || needs_host_frame(nr))
		return DUNE_SC_HOST;
	if (READ_ONCE(current_thread_info()->syscall_work) & DUNE_SC_WORK)
		return DUNE_SC_HOST;

	if (dune_have_sys_call)
		r = static_call(dune_x64_sys_call)(&regs, nr);
	else
		r = dune_sys_call_table[array_index_nospec(nr, __NR_syscalls)](&regs);

	if (is_restart(r)) {
		/*
		 * A restart block (interrupted nanosleep) would restart the
		 * ioctl as restart_syscall: report EINTR instead.
		 */
		if (r == -ERESTART_RESTARTBLOCK) {
			g->rax = -EINTR;
			return DUNE_SC_DONE;
		}
		*restart_code = r;
		return DUNE_SC_RESTART;
	}
	g->rax = r;
	return DUNE_SC_DONE;
}
