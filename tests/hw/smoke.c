// SPDX-License-Identifier: GPL-2.0
/*
 * Smoke test: the module is loaded, /dev/dune answers DUNE_GET_INFO with
 * the backend this CPU calls for, and bad ioctl arguments get errnos.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <dune/info.h>

#include "hwtest.h"

static void check_device(void)
{
	struct stat st;

	CHECK(stat("/dev/dune", &st) == 0 && S_ISCHR(st.st_mode),
	      "/dev/dune is a character device (major %u, minor %u)",
	      major(st.st_rdev), minor(st.st_rdev));
}

static void check_info(void)
{
	const char *expect = hwtest_cpu_virt();
	struct dune_info info;
	char feats[256];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	memset(&info, 0xa5, sizeof(info));
	CHECK(dune_get_info(&info) == 0, "DUNE_GET_INFO succeeds (%s)", strerror(errno));
	dune_feature_names(info.features, feats, sizeof(feats));
	printf("# backend=%s abi=%u phys_bits=%u virt_bits=%u tlb_tags=%u cpus=%u features=%s\n",
	       dune_backend_name(info.backend), info.abi_version, info.phys_bits,
	       info.virt_bits, info.nr_tlb_tags, info.nr_cpus, feats);
	CHECK(info.abi_version == DUNE_ABI_VERSION, "ABI version %u", info.abi_version);
	CHECK(expect && !strcmp(dune_backend_name(info.backend), expect),
	      "backend %s matches the CPU (%s)", dune_backend_name(info.backend),
	      expect ? expect : "no vmx/svm in cpuinfo");
	CHECK(info.features & DUNE_FEAT_NESTED_PAGING, "nested paging reported");
	CHECK(info.features & DUNE_FEAT_NESTED_2M, "2M nested pages reported");
	CHECK(info.phys_bits >= 32 && info.phys_bits <= 52, "phys_bits %u", info.phys_bits);
	CHECK(info.virt_bits == 48 || info.virt_bits == 57, "virt_bits %u", info.virt_bits);
	CHECK((long)info.nr_cpus == ncpu, "enabled on %u of %ld online CPUs",
	      info.nr_cpus, ncpu);
	CHECK(info.live_vcpus == 0, "no live vCPUs (%u)", info.live_vcpus);
	CHECK(info.reserved0 == 0 && info.reserved[0] == 0 && info.reserved[7] == 0,
	      "reserved fields are zero");
}

static void check_bad_ioctls(void)
{
	int fd = open("/dev/dune", O_RDWR);

	CHECK(fd >= 0, "open /dev/dune");
	errno = 0;
	CHECK(ioctl(fd, DUNE_GET_INFO, NULL) == -1 && errno == EFAULT,
	      "GET_INFO with NULL -> EFAULT (%s)", strerror(errno));
	errno = 0;
	CHECK(ioctl(fd, DUNE_GET_INFO, (void *)0xffff888000000000UL) == -1 &&
	      errno == EFAULT, "GET_INFO with a kernel pointer -> EFAULT (%s)",
	      strerror(errno));
	errno = 0;
	CHECK(ioctl(fd, _IO(DUNE_IOC_MAGIC, 0x7f)) == -1 && errno == ENOTTY,
	      "unknown ioctl -> ENOTTY (%s)", strerror(errno));
	errno = 0;
	CHECK(ioctl(fd, _IOR(DUNE_IOC_MAGIC, 0x00, int), NULL) == -1 && errno == ENOTTY,
	      "GET_INFO number with the wrong size -> ENOTTY (%s)", strerror(errno));
	close(fd);
}

int main(void)
{
	check_device();
	check_info();
	check_bad_ioctls();
	return hwtest_done();
}
