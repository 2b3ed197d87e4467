// SPDX-License-Identifier: GPL-2.0
/*
 * What the numbers were measured on, and whether that machine is emulated
 * (then "cycles" are the emulator's TSC, not a real CPU's): the
 * DUNE_BENCH_EMULATED variable decides if set (Bochs may hide every other
 * sign), else the CPUID hypervisor bit, /proc/cpuinfo's "hypervisor" flag
 * and the DMI vendor strings.  Runs in host mode: CPUID exits in Dune mode.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <dune/info.h>

#include "bench.h"

static void add_reason(struct machine_info *m, const char *fmt, const char *arg)
{
	size_t n = strlen(m->emulated_how);

	if (n && n + 2 < sizeof(m->emulated_how)) {
		strcat(m->emulated_how, "; ");
		n += 2;
	}
	snprintf(m->emulated_how + n, sizeof(m->emulated_how) - n, fmt, arg);
}

/* CPUID.1:ECX[31], reserved for use by hypervisors (SDM Vol. 2A CPUID). */
static bool cpuid_hypervisor_bit(void)
{
	uint32_t a = 1, b, c = 0, d;

	__asm__ __volatile__("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return c & (1U << 31);
}

/* Reads /proc/cpuinfo: the model name, and whether "hypervisor" is a flag. */
static bool cpuinfo(struct machine_info *m)
{
	static char line[8192];
	bool hv = false;
	FILE *f = fopen("/proc/cpuinfo", "r");
	char *v;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		v = strchr(line, ':');
		if (!v)
			continue;
		v += 2;
		v[strcspn(v, "\n")] = 0;
		if (!strncmp(line, "model name", 10) && !m->cpu_model[0])
			snprintf(m->cpu_model, sizeof(m->cpu_model), "%s", v);
		if (!strncmp(line, "flags", 5) && strstr(line, " hypervisor"))
			hv = true;
	}
	fclose(f);
	return hv;
}

static bool dmi_emulator(struct machine_info *m)
{
	static const char *const files[] = { "sys_vendor", "bios_vendor", "product_name" };
	static const char *const names[] = { "QEMU", "Bochs", "KVM", "VirtualBox", "VMware",
					     "Xen", "Microsoft Corporation" };
	char path[96], val[128];
	unsigned int i, j;
	FILE *f;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "/sys/class/dmi/id/%s", files[i]);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(val, sizeof(val), f))
			val[0] = 0;
		fclose(f);
		val[strcspn(val, "\n")] = 0;
		for (j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
			if (strstr(val, names[j])) {
				snprintf(path, sizeof(path), "DMI %s \"%%s\"", files[i]);
				add_reason(m, path, val);
				return true;
			}
		}
	}
	return false;
}

void machine_detect(struct machine_info *m)
{
	const char *env = getenv("DUNE_BENCH_EMULATED");
	struct dune_info info;
	struct utsname u;
	bool hv;

	memset(m, 0, sizeof(*m));
	hv = cpuinfo(m);
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof(m->kernel), "%s", u.release);
	if (dune_get_info(&info) == 0)
		snprintf(m->backend, sizeof(m->backend), "%s", dune_backend_name(info.backend));

	if (cpuid_hypervisor_bit()) {
		m->emulated = true;
		add_reason(m, "%s", "CPUID.1:ECX hypervisor bit");
	}
	if (hv) {
		m->emulated = true;
		add_reason(m, "%s", "/proc/cpuinfo flag hypervisor");
	}
	if (dmi_emulator(m))
		m->emulated = true;
	/* The variable decides; the signs found are still listed. */
	if (env && *env) {
		m->emulated = strcmp(env, "0") != 0;
		add_reason(m, "decided by DUNE_BENCH_EMULATED=%s", env);
	} else if (!m->emulated) {
		add_reason(m, "%s", "no hypervisor bit or flag, no emulator DMI vendor, "
			   "DUNE_BENCH_EMULATED unset");
	}
}
