// SPDX-License-Identifier: GPL-2.0
/*
 * `wedge test`: sthreads work within their policy and every way out of it
 * (reading or writing memory not granted, privileged instructions, system
 * calls on others' memory or descriptors, raw hypercalls) ends or refuses the sthread
 * without harming the creator.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <dune/dune.h>

#include "sthread.h"
#include "wedge.h"

static char test_secret[64] = "the creator's secret";
static __thread int tls_var = 5;

struct job {
	const unsigned char *in;
	unsigned char *out;
	size_t len;
	volatile long *target;
	int fd;
};

static long sum_in(void *arg)
{
	struct job *j = arg;	/* lives in a granted tag */
	long s = 0;
	size_t i;

	for (i = 0; i < j->len; i++) {
		s += j->in[i];
		j->out[i] = j->in[i] ^ 0x5a;
	}
	return s;
}

static long peek(void *arg)
{
	return *(volatile long *)arg;
}

static long poke(void *arg)
{
	*(volatile long *)arg = 0x666;
	return 0;
}

static long do_cli(void *arg)
{
	__asm__ __volatile__("cli");
	return 0;
}

static long do_cr3(void *arg)
{
	__asm__ __volatile__("mov %0, %%cr3" : : "r"((uintptr_t)arg));
	return 0;
}

static long tls_write(void *arg)
{
	tls_var = 99;
	return tls_var;
}

static long write_job(void *arg)
{
	struct job *j = arg;

	return st_write(j->fd, j->in, j->len);
}

/* A raw hypercall with write(2) in its registers: around the monitor. */
static long vmcall_write(void *arg)
{
	struct job *j = arg;
	long r;

	__asm__ __volatile__("vmcall" : "=a"(r) : "a"((long)SYS_write), "D"((long)j->fd),
			     "S"(j->in), "d"(j->len) : "memory");
	return r;
}

static long vmmcall_write(void *arg)
{
	struct job *j = arg;
	long r;

	__asm__ __volatile__("vmmcall" : "=a"(r) : "a"((long)SYS_write), "D"((long)j->fd),
			     "S"(j->in), "d"(j->len) : "memory");
	return r;
}

static int pipe_bytes(int fd)
{
	int n = -1;

	return ioctl(fd, FIONREAD, &n) ? -1 : n;
}

static long nothing(void *arg)
{
	return (long)arg;
}

static int run1(const sc_t *sc, stcb_t cb, void *arg, long *ret, struct sthread_fault *f)
{
	sthread_t *st;
	int r = sthread_create(&st, sc, cb, arg);

	if (r)
		return r == -EFAULT ? -1000 : r;	/* creation failures are distinct */
	return sthread_join(st, ret, f);
}

int wedge_test(void)
{
	tag_t tin, tout, tjob, tother;
	struct sthread_fault f;
	struct job *j;
	sc_t sc;
	long ret = -1, sum = 0;
	int fds[2], i, r, ok;
	sthread_t *st;
	char buf[64];

	if (pipe(fds))
		return 1;
	r = wedge_enter();
	if (r)
		return r;
	CHECK(tag_new(&tin, 8192) == 0 && tag_new(&tout, 4096) == 0 &&
	      tag_new(&tjob, 4096) == 0 && tag_new(&tother, 4096) == 0, "tags");
	for (i = 0; i < 4096; i++) {
		((unsigned char *)tin.base)[i] = i * 7;
		sum += (unsigned char)(i * 7);
	}
	strcpy((char *)tother.base, "another tag's data");
	j = tjob.base;
	j->in = tin.base;
	j->out = tout.base;
	j->len = 4096;
	j->fd = fds[1];

	sc_init(&sc);
	sc_mem_add(&sc, &tin, PROT_READ);
	sc_mem_add(&sc, &tout, PROT_READ | PROT_WRITE);
	sc_mem_add(&sc, &tjob, PROT_READ);
	r = run1(&sc, sum_in, j, &ret, &f);
	ok = r == 0 && ret == sum;
	for (i = 0; i < 4096 && ok; i++)
		ok = ((unsigned char *)tout.base)[i] == (((unsigned char)(i * 7)) ^ 0x5a);
	CHECK(ok, "a legit sthread reads its input tag, writes its output tag: %d, sum %ld/%ld",
	      r, ret, sum);

	r = run1(&sc, peek, test_secret, &ret, &f);
	CHECK(r == -EFAULT && f.kind == STHREAD_FAULT && f.addr == (uintptr_t)test_secret &&
	      (f.fec & FEC_U), "reading the creator's global faults at its address: %d at %#lx",
	      r, (unsigned long)f.addr);
	r = run1(&sc, peek, tother.base, &ret, &f);
	CHECK(r == -EFAULT && f.addr == (uintptr_t)tother.base,
	      "reading a tag not in the policy faults: %d at %#lx", r, (unsigned long)f.addr);
	r = run1(&sc, poke, tin.base, &ret, &f);
	CHECK(r == -EFAULT && (f.fec & FEC_W) && *(long *)tin.base != 0x666,
	      "writing a read-only tag faults and changes nothing: %d fec %#lx", r,
	      (unsigned long)f.fec);
	r = run1(&sc, poke, (void *)sum_in, &ret, &f);
	CHECK(r == -EFAULT && (f.fec & FEC_W), "writing program code faults: %d", r);
	r = run1(&sc, poke, tout.base, &ret, &f);
	CHECK(r == 0 && *(long *)tout.base == 0x666, "writing the granted tag works: %d", r);
	r = run1(&sc, peek, (void *)dune_page_base_va, &ret, &f);
	CHECK(r == -EFAULT, "the page-table pool is out of reach: %d", r);
	r = run1(&sc, do_cli, NULL, &ret, &f);
	CHECK(r == -EPERM && f.kind == STHREAD_TRAP && f.vector == T_GPFLT,
	      "cli ends the sthread with #GP: %d vector %d", r, f.vector);
	r = run1(&sc, do_cr3, (void *)dune_va_to_pa(pgroot), &ret, &f);
	CHECK(r == -EPERM && f.vector == T_GPFLT, "loading CR3 from an sthread is #GP: %d", r);
	r = run1(&sc, tls_write, NULL, &ret, &f);
	CHECK(r == 0 && ret == 99 && tls_var == 5,
	      "an sthread's TLS writes stay private: %d, %ld, creator sees %d", r, ret, tls_var);

	/* a raw hypercall from ring 3 is #UD, never a host system call */
	r = run1(&sc, vmcall_write, j, &ret, &f);
	CHECK(r == -EPERM && f.kind == STHREAD_TRAP && f.vector == T_ILLOP &&
	      pipe_bytes(fds[0]) == 0,
	      "a raw VMCALL write ends the sthread with #UD, nothing written: %d vector %d, %d bytes",
	      r, f.vector, pipe_bytes(fds[0]));
	r = run1(&sc, vmmcall_write, j, &ret, &f);
	CHECK(r == -EPERM && f.kind == STHREAD_TRAP && f.vector == T_ILLOP &&
	      pipe_bytes(fds[0]) == 0,
	      "a raw VMMCALL write ends the sthread with #UD, nothing written: %d vector %d, %d bytes",
	      r, f.vector, pipe_bytes(fds[0]));

	/* system calls: only granted descriptors, only its own memory */
	r = run1(&sc, write_job, j, &ret, &f);
	CHECK(r == 0 && ret == -EPERM, "write(2) on a descriptor not granted: %ld", ret);
	sc_fd_add(&sc, fds[1], PROT_WRITE);
	j->len = 16;
	r = run1(&sc, write_job, j, &ret, &f);
	CHECK(r == 0 && ret == 16 && read(fds[0], buf, 16) == 16 && !memcmp(buf, tin.base, 16),
	      "write(2) of a granted buffer to a granted descriptor: %ld", ret);
	j->in = (const unsigned char *)test_secret;
	r = run1(&sc, write_job, j, &ret, &f);
	CHECK(r == 0 && ret == -EPERM, "write(2) of the creator's secret is refused: %ld", ret);
	j->in = (unsigned char *)tin.base + 4096 - 8;
	r = run1(&sc, write_job, j, &ret, &f);
	CHECK(r == 0 && ret == 16, "a buffer across two granted pages: %ld", ret);
	j->in = (unsigned char *)tin.base + 8192 - 8;
	r = run1(&sc, write_job, j, &ret, &f);
	CHECK(r == 0 && ret == -EPERM, "a buffer running off the granted tag is refused: %ld",
	      ret);

	/* a long-lived sthread, called again and again */
	r = sthread_create(&st, &sc, nothing, (void *)1);
	for (i = 0; i < 1000 && r == 0; i++)
		if (sthread_call(st, nothing, (void *)(long)i, &ret, NULL) || ret != i)
			r = -1;
	CHECK(r == 0, "1000 calls into one sthread: %d", r);
	r = sthread_call(st, peek, test_secret, &ret, &f);
	CHECK(r == -EFAULT && sthread_call(st, nothing, NULL, &ret, NULL) == -ESRCH &&
	      sthread_join(st, &ret, &f) == -EFAULT, "a fault ends the long-lived sthread too");
	for (i = 0; i < 300; i++)
		if (run1(&sc, nothing, (void *)(long)i, &ret, &f) || ret != i)
			break;
	CHECK(i == 300, "300 sthreads created and joined: %d", i);
	CHECK(strcmp(test_secret, "the creator's secret") == 0, "the creator is unharmed");
	return hwtest_done();
}
