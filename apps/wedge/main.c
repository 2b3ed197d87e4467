// SPDX-License-Identifier: GPL-2.0
/*
 * wedge: sthreads on Dune (README.md).
 *   wedge test          isolation and policy checks
 *   wedge server [N]    a toy server handling each request in a fresh sthread
 *   wedge bench [ITERS] sthread create/join and call vs fork/wait and a pipe
 *                       round trip (table and JSON)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dune/dune.h>

#include "sthread.h"
#include "wedge.h"

int wedge_enter(void)
{
	int r;

	if (access("/dev/dune", F_OK)) {
		printf("skip: no /dev/dune\n");
		return 77;
	}
	r = dune_init_and_enter();
	if (r) {
		printf("not ok - dune_init_and_enter: %s\n", strerror(-r));
		return r == -EOPNOTSUPP ? 77 : 1;
	}
	r = sthread_init();
	if (r) {
		printf("not ok - sthread_init: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "test"))
		return wedge_test();
	if (argc >= 2 && !strcmp(argv[1], "server"))
		return wedge_server(argc > 2 ? atoi(argv[2]) : 100);
	if (argc >= 2 && !strcmp(argv[1], "bench"))
		return wedge_bench(argc > 2 ? atoi(argv[2]) : 2000);
	fprintf(stderr, "usage: %s test | server [N] | bench [ITERS]\n", argv[0]);
	return 2;
}
