// SPDX-License-Identifier: GPL-2.0
/*
 * Loads a kernel module with exactly one finit_module(2) call and prints
 * the outcome, for tests/hw/cpu-refuse.sh: busybox's insmod retries a
 * failed finit_module() with init_module(), so every refusal it reports
 * made the module's init run (and log) twice.
 *
 *   modload FILE.ko
 *
 * Prints "loaded" (status 0) or "refused: NAME (message)" (status 1);
 * status 2 when the file cannot be opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *errno_name(int e)
{
	switch (e) {
	case EOPNOTSUPP:	return "EOPNOTSUPP";
	case ENODEV:		return "ENODEV";
	case EBUSY:		return "EBUSY";
	case EEXIST:		return "EEXIST";
	case ENOMEM:		return "ENOMEM";
	case EINVAL:		return "EINVAL";
	case EPERM:		return "EPERM";
	case EIO:		return "EIO";
	default:		return "other";
	}
}

int main(int argc, char **argv)
{
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: modload FILE.ko\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "modload: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	if (syscall(SYS_finit_module, fd, "", 0) == 0) {
		printf("loaded\n");
		return 0;
	}
	printf("refused: %s (%s)\n", errno_name(errno), strerror(errno));
	return 1;
}
