// SPDX-License-Identifier: GPL-2.0
/*
 * The ipi row (not in the paper; the original's bench/posted_ipi.c): an
 * interrupt from one thread to another running on another CPU, timed from
 * the send to the receiver's handler (both read the TSC; the emulators and
 * current CPUs keep it synchronized).  One IPI in flight at a time.
 *
 * Linux: pthread_kill(SIGUSR1) to a thread spinning in user mode.
 * Dune: dune_apic_send_ipi() (DUNE_SEND_IPI from guest ring 0) to a thread
 * spinning in the guest, whose dune_register_intr_handler() handler runs.
 * The exits counted are the sender's and the receiver's together: the
 * sender's system call (one hypercall exit) and the kick that makes the
 * receiver exit (an external-interrupt exit) are what an IPI costs here.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <dune/dune.h>
#include <libdune/local.h>

#include "bench.h"

#define IPI_VEC	0xf2

struct ipi_rx {
	volatile uint64_t count;
	volatile uint64_t tsc;
	volatile int ready;
	volatile int stop;
	volatile int snap_req, snap_done;	/* Dune: stats snapshots */
	struct dune_stats snap[2];
	int cpu;
	int err;
	pthread_t thread;
};

static struct ipi_rx rx;

/* Two CPUs of our affinity: the sender on the first, the receiver on the
 * second (both on one if there is only one). */
static void two_cpus(int *a, int *b)
{
	cpu_set_t set;
	int i, n = 0;

	*a = *b = sched_getcpu();
	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (i = 0; i < CPU_SETSIZE && n < 2; i++) {
		if (!CPU_ISSET(i, &set))
			continue;
		if (n++ == 0)
			*a = *b = i;
		else
			*b = i;
	}
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void note_hit(void)
{
	rx.tsc = bench_tsc();
	__atomic_store_n(&rx.count, rx.count + 1, __ATOMIC_RELEASE);
}

/* Wait for the receiver's @want-th handler run; false after ~10^9 spins. */
static bool wait_count(uint64_t want)
{
	unsigned long spins = 0;

	while (__atomic_load_n(&rx.count, __ATOMIC_ACQUIRE) < want)
		if (++spins > 1000000000UL)
			return false;
	return true;
}

/* Time @n sends; @send(i) makes the i-th.  Returns the summed latency. */
static int time_sends(long n, int (*send)(void), uint64_t *sum)
{
	uint64_t base = rx.count, t;
	long i;

	*sum = 0;
	for (i = 0; i < n; i++) {
		t = bench_tsc();
		if (send())
			return -errno;
		if (!wait_count(base + i + 1))
			return -ETIMEDOUT;
		*sum += rx.tsc > t ? rx.tsc - t : 0;
	}
	return 0;
}

/* ---------------------------------------------------------------- linux */

static void on_usr1(int sig)
{
	note_hit();
}

static void *l_rx_thread(void *arg)
{
	pin(rx.cpu);
	rx.ready = 1;
	while (!rx.stop)
		__asm__ __volatile__("pause");
	return NULL;
}

static int l_send(void)
{
	int e = pthread_kill(rx.thread, SIGUSR1);

	errno = e;
	return e ? -1 : 0;
}

void l_ipi(const struct bench_params *p, struct side_result *r)
{
	struct sigaction sa;
	long n = p->ops[ROW_IPI];
	uint64_t sum;
	int me, run, e;

	memset(&rx, 0, sizeof(rx));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	two_cpus(&me, &rx.cpu);
	pin(me);
	if (pthread_create(&rx.thread, NULL, l_rx_thread, NULL)) {
		bench_fail(r, -EAGAIN, "pthread_create");
		return;
	}
	while (!rx.ready)
		sched_yield();
	time_sends(10, l_send, &sum);
	for (run = 0; run < p->runs; run++) {
		e = time_sends(n, l_send, &sum);
		if (e) {
			bench_fail(r, e, "run %d: a signal was not handled", run);
			break;
		}
		bench_record(r, run, sum, n);
	}
	rx.stop = 1;
	pthread_join(rx.thread, NULL);
	snprintf(r->note, sizeof(r->note), "CPU %d -> CPU %d", me, rx.cpu);
}

/* ----------------------------------------------------------------- dune */

static void on_ipi(struct dune_tf *tf)
{
	note_hit();
	dune_apic_eoi();
}

static void *d_rx_thread(void *arg)
{
	pin(rx.cpu);
	rx.err = dune_enter();
	if (rx.err) {
		rx.ready = 1;
		return NULL;
	}
	dune_register_intr_handler(IPI_VEC, on_ipi);
	dune_apic_init_rt_entry();
	rx.ready = 1;
	while (!rx.stop) {
		int req = rx.snap_req;

		if (req != rx.snap_done) {
			dune_get_stats(&rx.snap[req & 1]);
			__atomic_store_n(&rx.snap_done, req, __ATOMIC_RELEASE);
		}
		__asm__ __volatile__("pause");
	}
	return NULL;
}

static void rx_snapshot(int req)
{
	rx.snap_req = req;
	while (__atomic_load_n(&rx.snap_done, __ATOMIC_ACQUIRE) != req)
		__asm__ __volatile__("pause");
}

static uint32_t d_dest;

static int d_send(void)
{
	return dune_apic_send_ipi(IPI_VEC, d_dest);
}

void d_ipi(const struct bench_params *p, struct side_result *r)
{
	struct dune_stats s0, s1, c0, c1;
	long n = p->ops[ROW_IPI];
	uint64_t sum, sender = 0, receiver = 0, cost, d;
	bool err = false;
	int me, run, i, e;

	memset(&rx, 0, sizeof(rx));
	rx.snap_done = rx.snap_req = 0;
	two_cpus(&me, &rx.cpu);
	pin(me);
	if (pthread_create(&rx.thread, NULL, d_rx_thread, NULL)) {
		bench_fail(r, -EAGAIN, "pthread_create");
		return;
	}
	while (!rx.ready)
		sched_yield();
	if (rx.err) {
		bench_fail(r, rx.err, "dune_enter in the receiver");
		pthread_join(rx.thread, NULL);
		return;
	}
	d_dest = dune_apic_id_for_cpu(rx.cpu, &err);
	if (err) {
		bench_fail(r, -ESRCH, "no routing entry for CPU %d", rx.cpu);
		goto out;
	}
	/* What a pair of stats reads costs the sender (the ioctl's exit). */
	dune_get_stats(&c0);
	dune_get_stats(&c1);
	time_sends(10, d_send, &sum);
	for (run = 0; run < p->runs; run++) {
		rx_snapshot(2 * run + 2);	/* into snap[0] */
		dune_get_stats(&s0);
		e = time_sends(n, d_send, &sum);
		dune_get_stats(&s1);
		rx_snapshot(2 * run + 3);	/* into snap[1] */
		if (e) {
			bench_fail(r, e, "run %d: an IPI did not reach the handler", run);
			break;
		}
		for (i = 0; i < DUNE_STATS_MAX_EXITS; i++) {
			cost = c1.exits[i] - c0.exits[i];
			d = s1.exits[i] - s0.exits[i];
			d = d > cost ? d - cost : 0;
			sender += d;
			r->exits[i] += d;
			/* The receiver's snapshot ioctl is one hypercall. */
			d = rx.snap[1].exits[i] - rx.snap[0].exits[i];
			if (i == DUNE_EXIT_HYPERCALL && d)
				d--;
			receiver += d;
			r->exits[i] += d;
		}
		bench_record(r, run, sum, n);
	}
	r->has_exits = true;
	snprintf(r->note, sizeof(r->note), "CPU %d -> CPU %d; exits/IPI sender %.2f, receiver %.2f",
		 me, rx.cpu, (double)sender / (n * p->runs), (double)receiver / (n * p->runs));
out:
	rx.stop = 1;
	pthread_join(rx.thread, NULL);
}
