// SPDX-License-Identifier: GPL-2.0
/*
 * dunectl: what the dune module runs on (info), why it cannot run here
 * (check), and what Dune mode costs in VM exits (stats).  See dunectl(8).
 */
#include <string.h>

#include "dunectl.h"

static void usage(FILE *out)
{
	fputs("usage: dunectl info [--json]\n"
	      "       dunectl check\n"
	      "       dunectl stats [--syscalls=N] [--pages=N] [--json]\n"
	      "\n"
	      "  info   the module's backend, ABI version, CPU features, live vCPUs\n"
	      "  check  whether dune can run on this machine, and if not, why\n"
	      "  stats  enter Dune mode, run a short workload, print its VM exits\n", out);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "stats"))
		return cmd_stats(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "dunectl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
