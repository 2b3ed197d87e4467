// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Module queries that need no vCPU: device path, DUNE_GET_INFO, names.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <dune/info.h>

const char *dune_device_path(void)
{
	const char *p = getenv("DUNE_DEVICE");

	return p && *p ? p : "/dev/" DUNE_DEVICE_NAME;
}

int dune_get_info(struct dune_info *info)
{
	int fd, r, saved;

	fd = open(dune_device_path(), O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = ioctl(fd, DUNE_GET_INFO, info);
	saved = errno;
	close(fd);
	if (r < 0) {
		errno = saved;
		return -1;
	}
	if (info->abi_version != DUNE_ABI_VERSION) {
		errno = EPROTO;
		return -1;
	}
	return 0;
}

const char *dune_backend_name(uint32_t backend)
{
	switch (backend) {
	case DUNE_BACKEND_VMX:
		return "vmx";
	case DUNE_BACKEND_SVM:
		return "svm";
	default:
		return "none";
	}
}

static const struct {
	uint64_t bit;
	const char *name;
} feature_names[] = {
	{ DUNE_FEAT_NESTED_PAGING, "nested-paging" },
	{ DUNE_FEAT_TAGGED_TLB, "tagged-tlb" },
	{ DUNE_FEAT_NESTED_2M, "nested-2m" },
	{ DUNE_FEAT_NESTED_1G, "nested-1g" },
	{ DUNE_FEAT_NESTED_AD, "nested-ad" },
	{ DUNE_FEAT_NESTED_XO, "nested-xo" },
	{ DUNE_FEAT_PCID, "pcid" },
	{ DUNE_FEAT_NEXT_RIP, "next-rip" },
	{ DUNE_FEAT_XSAVE, "xsave" },
	{ DUNE_FEAT_POSTED_INTR, "posted-intr" },
};

int dune_feature_names(uint64_t features, char *buf, size_t len)
{
	size_t i, used = 0;
	uint64_t known = 0;
	int n;

	if (len)
		buf[0] = '\0';
	for (i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++) {
		known |= feature_names[i].bit;
		if (!(features & feature_names[i].bit))
			continue;
		n = snprintf(buf + (used < len ? used : len),
			     used < len ? len - used : 0, "%s%s",
			     used ? " " : "", feature_names[i].name);
		used += n;
	}
	if (features & ~known) {
		n = snprintf(buf + (used < len ? used : len),
			     used < len ? len - used : 0, "%sunknown(%#llx)",
			     used ? " " : "", (unsigned long long)(features & ~known));
		used += n;
	}
	return (int)used;
}
