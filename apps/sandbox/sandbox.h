/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dune-sandbox: an unmodified x86-64 Linux program in ring 3 of a Dune
 * process, with this monitor in ring 0 checking each of its system calls.
 */
#ifndef DUNE_SANDBOX_H
#define DUNE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dune/dune.h>

/*
 * The program's address space: everything in the two arenas is the
 * program's (reserved PROT_NONE at start, so the monitor's own allocations
 * never land there).  The monitor is a static non-PIE binary linked in the
 * hole between them (Makefile.am: -Ttext-segment=0x70000000; its startup
 * code needs addresses below 2 GiB), its brk heap above it.  A non-PIE
 * program's segments (0x400000 is usual) and brk go in the low arena,
 * everything else in the high one.  All of it lies below the layout's
 * base_limit, where guest-physical addresses equal process addresses.
 */
#define ARENA_LO	0x10000UL
#define ARENA_LO_END	0x60000000UL		/* 1.5 GiB */
#define ARENA_HI_START	0x100000000UL		/* 4 GiB */
#define ARENA_HI	0x1000000000UL		/* 64 GiB */
#define PIE_BASE	0x100000000UL		/* an ET_DYN program */
#define INTERP_BASE	0x140000000UL		/* its ELF interpreter */
#define BRK_MAX		(256UL << 20)
#define MMAP_LO		0x200000000UL
#define STACK_TOP	0xfff000000UL
#define STACK_SIZE	(8UL << 20)
#define MMAP_HI		(STACK_TOP - STACK_SIZE - 0x1000000UL)

#define PAGE_SZ		4096UL
#define PG_DOWN(x)	((uintptr_t)(x) & ~(PAGE_SZ - 1))
#define PG_UP(x)	(((uintptr_t)(x) + PAGE_SZ - 1) & ~(PAGE_SZ - 1))

/* dune_ret_from_user() codes of the monitor's own */
#define RUN_EXIT(code)	((code) & 0xff)
#define RUN_EXEC	0x1000
#define RUN_SIGNAL(sig)	(0x2000 | (sig))
#define RUN_FORK	0x1001
#define RUN_THREAD_EXIT(code)	(0x3000 | ((code) & 0xff))	/* SYS_exit: this thread */

/* ------------------------------------------------------------ memory.c */
/* Every function here takes the region lock itself; a caller that checks
 * and then copies program memory holds it across both (recursive). */
void mem_lock(void);
void mem_unlock(void);
void mem_after_fork(void);
int mem_init(void);
/* Is [addr, addr + len) all program memory with at least @prot? */
bool mem_ok(uintptr_t addr, size_t len, int prot);
/* Length of the NUL-terminated string at @addr if it lies in readable
 * program memory within @max bytes, else -1. */
long mem_strlen(uintptr_t addr, size_t max);
/* The same two for a caller that holds mem_lock() already: a system call's
 * checks run under it, and the lock's recursion costs every call. */
bool mem_ok_held(uintptr_t addr, size_t len, int prot);
long mem_strlen_held(uintptr_t addr, size_t max);
bool mem_in_arena(uintptr_t addr, size_t len);
/* Host mapping + guest page tables + region table, all in step. */
long mem_map(uintptr_t addr, size_t len, int prot, int flags, int fd, long off);
long mem_unmap(uintptr_t addr, size_t len);
long mem_protect(uintptr_t addr, size_t len, int prot);
/* Map every region in the (new) guest page tables again: after a fork. */
int mem_remap_all(void);
void mem_unmap_all(void);
/* The program's system calls of the same names. */
long sys_mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, long off);
long sys_mremap(uintptr_t old, size_t oldlen, size_t newlen, int flags, uintptr_t new_addr);
long sys_brk(uintptr_t brk);
void mem_set_brk(uintptr_t start);

/* ------------------------------------------------------------ loader.c */
struct exec_image {
	uintptr_t entry;	/* where ring 3 starts (the interpreter's, if any) */
	uintptr_t sp;
};
/* Load @path (argv/envp are monitor copies) into a fresh address space. */
int load_program(const char *path, char *const argv[], char *const envp[],
		 struct exec_image *img);

/* ------------------------------------------------------------ policy.c */
int policy_load(const char *file);
bool policy_syscall_denied(const char *name);
bool policy_path_denied(const char *abs_path);
bool policy_socket_denied(void);

/* ---------------------------------------------------------- syscalls.c */
void syscalls_init(void);
void sb_syscall(struct dune_tf *tf);
/* For the calls modelled in other files: pass to the host kernel, or
 * refuse with @ret and one log line saying @why. */
long sb_host(struct dune_tf *tf);
long sb_deny(uint64_t a[6], long ret, const char *why);
/* Argument @i of the call in progress becomes @copy (monitor memory) for
 * the kernel; the program's register comes back after the call. */
void sb_substitute(struct dune_tf *tf, uint64_t a[6], int i, const void *copy);

/* --------------------------------------------------------------- net.c */
long sc_socket(struct dune_tf *tf, uint64_t a[6]);
long sc_sockaddr_out(struct dune_tf *tf, uint64_t a[6]);
long sc_recvfrom(struct dune_tf *tf, uint64_t a[6]);
long sc_getsockopt(struct dune_tf *tf, uint64_t a[6]);
long sc_sendmsg(struct dune_tf *tf, uint64_t a[6]);
long sc_recvmsg(struct dune_tf *tf, uint64_t a[6]);
long sc_mmsg(struct dune_tf *tf, uint64_t a[6]);
long sc_epoll_wait(struct dune_tf *tf, uint64_t a[6]);
long sc_select(struct dune_tf *tf, uint64_t a[6]);
long sc_ppoll(struct dune_tf *tf, uint64_t a[6]);

/* ------------------------------------------------------------ signal.c */
extern uint64_t sig_actions[65][4];	/* the program's actions (kernel layout) */
extern __thread uint64_t sig_mask;	/* this thread's blocked signals */
void sig_after_fork(void);
int sig_set_action(int sig, const uint64_t act[4]);
void sig_reset_on_exec(void);
void sig_forget_pending(void);
void sig_deliver_pending(struct dune_tf *tf);
bool sig_deliver_fault(struct dune_tf *tf, int sig, int code, uintptr_t addr, int trapno);
long sig_interrupted(struct dune_tf *tf, uint64_t nr, long r);
long sc_sigreturn(struct dune_tf *tf, uint64_t a[6]);
long sc_sigsuspend(struct dune_tf *tf, uint64_t a[6]);
long sc_sigpending(struct dune_tf *tf, uint64_t a[6]);

/* The pending execve, taken by main after RUN_EXEC. */
struct pending_exec {
	char path[4096];
	char **argv;
	char **envp;
};
extern struct pending_exec pending_exec;

/* ----------------------------------------------------------- process.c */
/* A fork-like clone/fork/vfork of the program, taken by main after
 * RUN_FORK: the registers to resume in both, and the clone flags. */
struct pending_fork {
	struct dune_tf tf;
	unsigned long flags;
	uintptr_t parent_tid, child_tid;
};
extern __thread struct pending_fork pending_fork;
long sandbox_fork(void);
void note_start_fds(void);
void mark_monitor_fds(void);

/* ------------------------------------------------------------ thread.c */
extern __thread uintptr_t clear_child_tid;
long sc_clone_thread(struct dune_tf *tf, uint64_t a[6]);
long sc_set_tid_address(struct dune_tf *tf, uint64_t a[6]);
long sc_futex(struct dune_tf *tf, uint64_t a[6]);
bool thread_is_ours(long tid);
int threads_live(void);
void threads_after_fork(void);
void thread_exit_main(int code);

/* ------------------------------------------------------------- stats.c */
int stats_open(const char *path);
void stats_add_self(void);
void stats_after_fork(void);
void stats_mark_main(void);
void stats_mark_run(void);
void stats_write(int r, double init_s, double seconds);

/* -------------------------------------------------------------- main.c */
/* Run ring 3 from @tf in this thread (forks and execs included) until it
 * ends: returns a RUN_* code. */
int sb_run_from(struct dune_tf *tf);
/* End the whole process as @r (RUN_EXIT or RUN_SIGNAL) says. */
void sb_finish(int r) __attribute__((noreturn));
extern char prog_path[4096];		/* what /proc/self/exe names */
extern bool monitor_fd[1024];		/* descriptors the program may not use */
extern uint64_t n_syscalls;
void sb_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* DUNE_SANDBOX_H */
