// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A static program for the original sandbox to run (tests/hw/compat.sh):
 * its arguments, a write to stdout and an exit status must come through.
 */
#include <stdio.h>

int main(int argc, char **argv)
{
	printf("hello from ring 3:");
	for (int i = 1; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
	return 7;
}
