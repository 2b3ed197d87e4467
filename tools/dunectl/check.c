// SPDX-License-Identifier: GPL-2.0
/*
 * dunectl check: can dune run on this machine, and if not, why, in plain
 * words.  Goes from the hardware up: CPU, firmware, KVM, Secure Boot,
 * kernel headers, module, /dev/dune.  Every line is "ok", "warn", "FAIL"
 * or "info"; exit status 1 when anything FAILed.
 */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dune/info.h>

#include "dunectl.h"

#define EFI_GLOBAL "8be4df61-93ca-11d2-aa0d-00e098032b8c"
#define MSR_IA32_FEAT_CTL	0x3a		/* SDM Vol. 3C 24.7 (23.7) */
#define MSR_VM_CR		0xc0010114	/* APM Vol. 2 15.30.1 */

static int problems;

static void say(const char *tag, const char *fmt, ...)
{
	va_list ap;

	if (!strcmp(tag, "FAIL"))
		problems++;
	printf("%-5s ", tag);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* An explanation line under the last verdict. */
static void more(const char *fmt, ...)
{
	va_list ap;

	fputs("      ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static bool real_machine(void)
{
	return !getenv("DUNECTL_SYSROOT");
}

struct cpu {
	char vendor[32];
	char flags[4096];
	char vmx_flags[2048];	/* the "vmx flags" line of Linux 5.8+ */
};

static void copy_value(const char *line, char *out, size_t len)
{
	const char *v = strchr(line, ':');
	size_t n;

	v = v ? v + 1 : line;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strcspn(v, "\n");
	snprintf(out, len, " %.*s ", (int)(n < len - 3 ? n : len - 3), v);
}

static void read_cpuinfo(struct cpu *c)
{
	static char text[1 << 17];
	char *line, *save = NULL;

	memset(c, 0, sizeof(*c));
	sys_read("/proc/cpuinfo", text, sizeof(text));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!c->vendor[0] && !strncmp(line, "vendor_id", 9))
			copy_value(line, c->vendor, sizeof(c->vendor));
		else if (!c->flags[0] && !strncmp(line, "flags", 5))
			copy_value(line, c->flags, sizeof(c->flags));
		else if (!c->vmx_flags[0] && !strncmp(line, "vmx flags", 9))
			copy_value(line, c->vmx_flags, sizeof(c->vmx_flags));
		if (!strncmp(line, "processor", 9) && c->flags[0])
			break;		/* the first CPU is enough */
	}
}

static bool has_word(const char *list, const char *word)
{
	char w[64];

	snprintf(w, sizeof(w), " %s ", word);
	return strstr(list, w) != NULL;
}

static bool read_msr(uint32_t msr, uint64_t *val)
{
	int fd = open("/dev/cpu/0/msr", O_RDONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = pread(fd, val, sizeof(*val), msr) == sizeof(*val);
	close(fd);
	return ok;
}

/* The kernel log line containing @needle, if this user may read the log. */
static bool kernel_log_find(const char *needle, char *out, size_t len)
{
	char rec[1024];
	bool found = false;
	ssize_t n;
	int fd;

	if (!real_machine())
		return false;
	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		rec[n] = '\0';
		if (strstr(rec, needle)) {
			const char *msg = strchr(rec, ';');

			snprintf(out, len, "%.*s", (int)strcspn(msg ? msg + 1 : rec, "\n"),
				 msg ? msg + 1 : rec);
			found = true;	/* keep going: the latest one wins */
		}
	}
	close(fd);
	return found;
}

/* CPUID says the CPU has it although Linux hides the flag: the firmware
 * (or the kernel command line) turned it off. */
static void explain_disabled(bool intel)
{
	char line[512];
	uint64_t v;

	say("FAIL", "the CPU has %s, but it is turned off", intel ? "VT-x" : "AMD-V");
	if (intel && read_msr(MSR_IA32_FEAT_CTL, &v))
		more("IA32_FEATURE_CONTROL = %#llx: %s", (unsigned long long)v,
		     (v & 1) && !(v & 4) ? "locked by the firmware with VMX off" :
		     "VMX allowed by the firmware (the kernel hid it)");
	if (!intel && read_msr(MSR_VM_CR, &v))
		more("VM_CR = %#llx: SVMDIS is %s", (unsigned long long)v,
		     (v & 16) ? "set (by the firmware)" : "clear");
	if (kernel_log_find("disabled by BIOS", line, sizeof(line)) ||
	    kernel_log_find("SVM disabled", line, sizeof(line)))
		more("kernel log: \"%s\"", line);
	more("Enable it in the firmware setup (\"Intel Virtualization Technology\","
	     " \"VT-x\", \"SVM Mode\" or \"AMD-V\"), then power the machine off and on.");
}

static bool cpuid_has(bool intel)
{
	unsigned int a, b, c, d;

	if (intel)
		return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 5));	/* VMX */
	return __get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 2));	/* SVM */
}

static bool check_nested_paging(const struct cpu *c, bool intel)
{
	if (intel && c->vmx_flags[0] && !has_word(c->vmx_flags, "ept")) {
		say("FAIL", "VT-x has no EPT (extended page tables): dune needs them");
		more("the module refuses to load with EOPNOTSUPP; CPUs since 2008's Nehalem have EPT");
		return false;
	}
	if (!intel && !has_word(c->flags, "npt")) {
		say("FAIL", "AMD-V has no nested paging (npt flag): dune needs it");
		more("the module refuses to load with EOPNOTSUPP");
		return false;
	}
	say("ok", "%s", intel ? (c->vmx_flags[0] ? "EPT (nested paging) present" :
		"EPT presence unknown (kernel shows no \"vmx flags\")") :
	    "nested paging (npt) present");
	return true;
}

/* Returns whether the CPU can run dune at all. */
static bool check_cpu(void)
{
	struct cpu c;
	bool intel, amd;

	read_cpuinfo(&c);
	intel = has_word(c.vendor, "GenuineIntel");
	amd = has_word(c.vendor, "AuthenticAMD") || has_word(c.vendor, "HygonGenuine");
	if (has_word(c.flags, "vmx") || has_word(c.flags, "svm")) {
		intel = has_word(c.flags, "vmx");
		say("ok", "the CPU has %s (%s flag in /proc/cpuinfo)",
		    intel ? "Intel VT-x" : "AMD-V", intel ? "vmx" : "svm");
		return check_nested_paging(&c, intel);
	}
	if ((intel || amd) && real_machine() && cpuid_has(intel)) {
		explain_disabled(intel);
		return false;
	}
	say("FAIL", "this CPU offers neither VT-x nor AMD-V (no vmx or svm flag in /proc/cpuinfo)");
	if (has_word(c.flags, "hypervisor")) {
		more("This is a virtual machine, and its hypervisor does not pass VT-x/AMD-V");
		more("through. Enable nested virtualization on the host (e.g. KVM: kvm_%s",
		     amd ? "amd nested=1" : "intel nested=1");
		more("and -cpu host), or run dune on bare metal.");
	} else if (!intel && !amd) {
		more("dune needs an x86-64 CPU from Intel (VT-x with EPT) or AMD (AMD-V with NPT).");
	} else {
		more("The CPU model lacks the extension, or the kernel was booted with it");
		more("masked (check the kernel command line for clearcpuid=).");
	}
	return false;
}

static void check_kvm(bool dune_loaded)
{
	const char *vm = sys_module_loaded("kvm_intel") ? "kvm_intel" :
			 sys_module_loaded("kvm_amd") ? "kvm_amd" : NULL;
	char v[16];

	if (!sys_module_loaded("kvm")) {
		say("ok", "KVM is not loaded (dune and KVM cannot both own VT-x/AMD-V)");
		return;
	}
	if (dune_loaded) {
		say("warn", "KVM is loaded while dune is: KVM cannot run virtual machines now");
		return;
	}
	say("FAIL", "KVM (%s) is loaded: dune refuses to load next to it (EBUSY)", vm ? vm : "kvm");
	more("Only one hypervisor can own VT-x/AMD-V.");
	if (sys_exists("/sys/module/kvm") && !sys_exists("/sys/module/kvm/initstate")) {
		more("KVM is built into this kernel: dune needs a kernel with KVM as a module.");
		return;
	}
	more("Unload KVM first (stop libvirtd/QEMU virtual machines before):");
	more("  sudo modprobe -r %s kvm", vm ? vm : "kvm_intel kvm_amd");
	more("To keep it from loading at boot:");
	more("  echo 'blacklist %s' | sudo tee /etc/modprobe.d/no-kvm.conf",
	     vm ? vm : "kvm_intel");
	if (sys_read("/sys/module/kvm/parameters/enable_virt_at_load", v, sizeof(v)) > 0)
		more("(kvm.enable_virt_at_load=%s: setting it to 0 is not enough, dune needs"
		     " kvm.ko unloaded too.)", v);
}

/* Whether an uncompressed module file carries an appended signature. */
static int module_signed(const char *path)
{
	static const char magic[] = "~Module signature appended~\n";
	char tail[sizeof(magic) - 1], p[512];
	int fd = open(sys_path(path, p, sizeof(p)), O_RDONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return -1;
	ok = lseek(fd, -(off_t)sizeof(tail), SEEK_END) >= 0 &&
	     read(fd, tail, sizeof(tail)) == (ssize_t)sizeof(tail);
	close(fd);
	return ok && !memcmp(tail, magic, sizeof(tail));
}

/* The installed dune.ko of the running kernel, or NULL. */
static const char *installed_module(void)
{
	static const char *const dirs[] = { "extra", "updates/dkms", "updates", "kernel/extra" };
	static const char *const exts[] = { "", ".xz", ".zst", ".gz" };
	static char path[256];
	size_t i, j;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		for (j = 0; j < sizeof(exts) / sizeof(exts[0]); j++) {
			snprintf(path, sizeof(path), "/lib/modules/%s/%s/dune.ko%s",
				 sys_release(), dirs[i], exts[j]);
			if (sys_exists(path))
				return path;
		}
	return NULL;
}

static void explain_signing(void)
{
	more("Sign it with a Machine Owner Key (see README, \"Secure Boot\"):");
	more("  openssl req -new -x509 -newkey rsa:2048 -nodes -days 36500 -outform DER \\");
	more("    -keyout MOK.priv -out MOK.der -subj \"/CN=dune module signing/\"");
	more("  sudo mokutil --import MOK.der      # then reboot and enroll it");
	more("  /lib/modules/%s/build/scripts/sign-file sha256 MOK.priv MOK.der dune.ko",
	     sys_release());
	more("DKMS signs with its own key (/var/lib/dkms/mok.pub): enroll that one instead.");
}

static void check_secure_boot(bool dune_loaded)
{
	char v[64];
	const char *ko;
	long n;
	int sig;

	if (!sys_exists("/sys/firmware/efi")) {
		say("ok", "no Secure Boot (the machine did not boot through UEFI)");
		return;
	}
	n = sys_read("/sys/firmware/efi/efivars/SecureBoot-" EFI_GLOBAL, v, sizeof(v));
	if (n < 5 || v[4] != 1) {
		say("ok", "Secure Boot is %s", n < 5 ? "not reported (treated as off)" : "off");
		return;
	}
	if (sys_read("/sys/kernel/security/lockdown", v, sizeof(v)) > 0)
		say("info", "Secure Boot is on; kernel lockdown: %s", v);
	if (dune_loaded) {
		say("ok", "Secure Boot is on and dune is loaded, so its signature was accepted");
		return;
	}
	ko = installed_module();
	sig = ko ? module_signed(ko) : -1;
	if (sig == 1) {
		say("ok", "Secure Boot is on and %s is signed (its key must be enrolled)", ko);
		return;
	}
	if (ko && sig < 0) {
		say("warn", "Secure Boot is on: the kernel loads only modules signed by an enrolled"
		    " key; cannot tell whether the compressed %s is signed", ko);
		return;
	}
	say("FAIL", "Secure Boot is on: the kernel loads only signed modules, and %s",
	    ko ? "the installed dune.ko is not signed" : "no installed dune.ko was found");
	explain_signing();
}

static void check_headers(bool have_module)
{
	char p[256];

	snprintf(p, sizeof(p), "/lib/modules/%s/build/Makefile", sys_release());
	if (sys_exists(p)) {
		say("ok", "kernel headers for %s are installed (to build dune.ko, DKMS)",
		    sys_release());
		return;
	}
	say(have_module ? "warn" : "FAIL", "no kernel headers for %s (/lib/modules/%s/build)",
	    sys_release(), sys_release());
	more("dune.ko is built against them%s: sudo apt install linux-headers-%s",
	     have_module ? " (and DKMS rebuilds it with them after a kernel upgrade)" : "",
	     sys_release());
}

static bool check_module(bool *installed)
{
	const char *ko = installed_module();

	*installed = ko != NULL;
	if (sys_module_loaded("dune")) {
		say("ok", "the dune module is loaded");
		return true;
	}
	if (ko) {
		say("FAIL", "the dune module is installed (%s) but not loaded", ko);
		more("Load it: sudo modprobe dune   (its reason for refusing goes to dmesg)");
	} else {
		say("FAIL", "the dune module is not loaded, and not installed for %s",
		    sys_release());
		more("Build and install it: ./configure && make && sudo make install");
		more("(or with DKMS), then: sudo modprobe dune");
	}
	return false;
}

static bool in_group(gid_t gid)
{
	gid_t groups[256];
	int i, n = getgroups(256, groups);

	if (getegid() == gid)
		return true;
	for (i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/* The name of group @gid from /etc/group (no NSS: dunectl is also linked
 * statically), or NULL. */
static const char *group_name(gid_t gid, char *name, size_t len)
{
	char line[1024];
	unsigned int g;
	FILE *f = fopen("/etc/group", "re");
	bool found = false;

	if (!f)
		return NULL;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*[^:]:%*[^:]:%u:", &g) == 1 && g == gid &&
			snprintf(name, len, "%.*s", (int)strcspn(line, ":"), line) > 0;
	fclose(f);
	return found ? name : NULL;
}

static void explain_access(const char *dev)
{
	const char *gr;
	char name[64];
	struct stat st;

	if (stat(dev, &st))
		return;
	gr = group_name(st.st_gid, name, sizeof(name));
	more("%s is mode %03o, group %s.", dev, st.st_mode & 0777, gr ? gr : "?");
	if (st.st_gid == 0 || !gr) {
		more("Install the udev rule (60-dune.rules, `make install` puts it in");
		more("/etc/udev/rules.d) so a \"dune\" group may open it, then reload the module.");
	} else if (!in_group(st.st_gid)) {
		more("Join that group and log in again: sudo usermod -aG %s $USER", gr);
	}
}

static void check_device(bool loaded)
{
	const char *dev = dune_device_path();
	struct dune_info info;
	int fd;

	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && !loaded)
			return;		/* already explained */
		say("FAIL", "cannot open %s: %s", dev, strerror(errno));
		if (errno == EACCES || errno == EPERM)
			explain_access(dev);
		else if (errno == ENOENT)
			more("The module is loaded but the device node is missing: is devtmpfs mounted?");
		return;
	}
	close(fd);
	if (dune_get_info(&info)) {
		say("FAIL", "%s does not answer DUNE_GET_INFO: %s", dev, device_error(errno));
		return;
	}
	say("ok", "%s works: %s backend, ABI %u, %u CPUs, %u live vCPUs", dev,
	    dune_backend_name(info.backend), info.abi_version, info.nr_cpus, info.live_vcpus);
}

int cmd_check(int argc, char **argv)
{
	bool loaded, installed;
	char line[512];

	if (argc > 1) {
		fprintf(stderr, "usage: dunectl check\n");
		return 2;
	}
	printf("dunectl check: can dune run on this machine (kernel %s)?\n", sys_release());
	check_cpu();
	loaded = sys_module_loaded("dune");
	check_kvm(loaded);
	check_secure_boot(loaded);
	loaded = check_module(&installed);
	check_headers(installed || loaded);
	check_device(loaded);
	if (!loaded && kernel_log_find("dune: ", line, sizeof(line)))
		say("info", "the module's last kernel log line: \"%s\"", line);
	if (problems)
		printf("dune cannot run here: %d problem%s above.\n", problems,
		       problems > 1 ? "s" : "");
	else
		printf("dune can run here.\n");
	fflush(stdout);
	return problems ? 1 : 0;
}
