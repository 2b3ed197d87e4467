// SPDX-License-Identifier: GPL-2.0
/*
 * dunectl info: DUNE_GET_INFO in words, plus the module's parameters.
 */
#include <errno.h>
#include <string.h>

#include <dune/info.h>

#include "dunectl.h"

static const char *backend_long(uint32_t backend)
{
	switch (backend) {
	case DUNE_BACKEND_VMX:
		return "Intel VT-x: VMCS + EPT";
	case DUNE_BACKEND_SVM:
		return "AMD-V: VMCB + NPT";
	default:
		return "unknown";
	}
}

static void print_json(const struct dune_info *info, const char *feats, const char *params)
{
	printf("{\"device\": ");
	json_string(stdout, dune_device_path());
	printf(", \"backend\": \"%s\", \"abi_version\": %u, \"library_abi_version\": %u,"
	       " \"features\": ", dune_backend_name(info->backend), info->abi_version,
	       DUNE_ABI_VERSION);
	json_string(stdout, feats);
	printf(", \"features_mask\": %llu, \"phys_bits\": %u, \"virt_bits\": %u,"
	       " \"tlb_tags\": %u, \"cpus\": %u, \"live_vcpus\": %u, \"parameters\": ",
	       (unsigned long long)info->features, info->phys_bits, info->virt_bits,
	       info->nr_tlb_tags, info->nr_cpus, info->live_vcpus);
	json_string(stdout, params);
	printf("}\n");
}

static void print_text(const struct dune_info *info, const char *feats, const char *params)
{
	printf("device:              %s\n", dune_device_path());
	printf("backend:             %s (%s)\n", dune_backend_name(info->backend),
	       backend_long(info->backend));
	printf("ABI version:         %u (this dunectl: %u)\n", info->abi_version,
	       DUNE_ABI_VERSION);
	printf("CPU features used:   %s\n", feats[0] ? feats : "(none)");
	printf("guest-physical bits: %u\n", info->phys_bits);
	printf("linear address bits: %u\n", info->virt_bits);
	printf("TLB tags (VPID/ASID): %u\n", info->nr_tlb_tags);
	printf("CPUs enabled:        %u\n", info->nr_cpus);
	printf("live vCPUs:          %u\n", info->live_vcpus);
	printf("module parameters:   %s\n", params[0] ? params : "(none readable)");
}

int cmd_info(int argc, char **argv)
{
	struct dune_info info;
	char feats[256], params[512];
	bool json = argc > 1 && !strcmp(argv[1], "--json");

	if (argc > 2 || (argc == 2 && !json)) {
		fprintf(stderr, "usage: dunectl info [--json]\n");
		return 2;
	}
	memset(&info, 0, sizeof(info));
	if (dune_get_info(&info) && errno != EPROTO) {
		fprintf(stderr, "dunectl: %s: %s\n", dune_device_path(), device_error(errno));
		return 1;
	}
	dune_feature_names(info.features, feats, sizeof(feats));
	module_params(params, sizeof(params));
	if (json)
		print_json(&info, feats, params);
	else
		print_text(&info, feats, params);
	if (info.abi_version != DUNE_ABI_VERSION) {
		fprintf(stderr, "dunectl: %s (module %u, libdune %u): rebuild one of them\n",
			device_error(EPROTO), info.abi_version, DUNE_ABI_VERSION);
		return 1;
	}
	return 0;
}
