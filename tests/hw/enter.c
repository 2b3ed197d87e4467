// SPDX-License-Identifier: GPL-2.0
/*
 * Dune mode, first light: enter, make system calls (passed through to the
 * host), take guest page faults on new memory, and exit with a status.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <dune/dune.h>

#include "hwtest.h"

static int in_guest(void)
{
	uint16_t cs;

	asm volatile("mov %%cs, %0" : "=r"(cs));
	return (cs & 3) == 0;	/* ring 0: only possible in Dune mode */
}

int main(void)
{
	pid_t pid = getpid();
	struct dune_host_stats st;
	struct dune_stats ks;
	struct dune_info info;
	char *p;
	int r, i;

	CHECK(!in_guest(), "starts in host ring 3");
	r = dune_init_and_enter();
	if (r == -EOPNOTSUPP)
		SKIP_ALL("this module's backend cannot enter Dune mode yet");
	CHECK(r == 0, "dune_init_and_enter() = %d", r);
	if (r)
		return hwtest_done();
	CHECK(in_guest(), "now in guest ring 0");
	CHECK(syscall(SYS_getpid) == pid, "getpid passes through (%d)", pid);
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED, "mmap 1 MiB in Dune mode");
	for (i = 0; i < (1 << 20); i += 4096)
		p[i] = (char)i;
	for (i = 0; i < (1 << 20) && p[i] == (char)i; i += 4096)
		;
	CHECK(i == (1 << 20), "256 new pages written and read back");
	dune_get_host_stats(&st);
	CHECK(dune_get_stats(&ks) == 0 && ks.syscalls_kernel + st.syscalls >= 3,
	      "system calls passed through: %llu in the kernel, %llu in host mode",
	      (unsigned long long)ks.syscalls_kernel, (unsigned long long)st.syscalls);
	CHECK(dune_get_info(&info) == 0 && info.live_vcpus == 1,
	      "module reports 1 live vCPU (%u)", info.live_vcpus);
	return hwtest_done();
}
