#!/bin/sh
# dunectl on the build host, where no module can load: `check` explains
# why (here: no VT-x/AMD-V), `info` and `stats` fail cleanly.  Then
# `check` on made-up machines (DUNECTL_SYSROOT): KVM loaded, no nested
# paging, Secure Boot with an unsigned or signed module, a device the
# caller may not open.  Also: every module parameter is documented.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(pwd)
dunectl=$build/tools/dunectl/dunectl
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dunectl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

has() {	# has FILE TEXT: the output contains TEXT (fixed string)
	grep -qF -- "$2" "$1" || { echo "# missing: $2"; sed 's/^/#   /' "$1"; return 1; }
}

run() {	# run EXPECTED-STATUS OUTFILE ARGS...: dunectl's status is as expected
	want=$1 out=$2
	shift 2
	"$dunectl" "$@" >"$out" 2>&1
	st=$?
	[ $st -eq "$want" ] || { echo "# status $st, expected $want"; sed 's/^/#   /' "$out"; }
	[ $st -eq "$want" ]
}

[ -x "$dunectl" ] || { echo "not ok - $dunectl is not built"; echo "0 passed, 1 failed"; exit 1; }

# --- this host
run 1 "$tmp/check" check
t $? "dunectl check fails on this host"
if grep -qwE 'vmx|svm' /proc/cpuinfo; then
	has "$tmp/check" "the CPU has"
	t $? "it reports the CPU's VT-x/AMD-V"
else
	has "$tmp/check" "offers neither VT-x nor AMD-V" && has "$tmp/check" "dune cannot run here"
	t $? "it explains that this CPU has no VT-x/AMD-V"
fi
DUNE_DEVICE=$tmp/none run 1 "$tmp/info" info
t $? "dunectl info fails without the module"
has "$tmp/info" "not loaded"
t $? "and says the module is not loaded"
DUNE_DEVICE=$tmp/none run 1 "$tmp/stats" stats
t $? "dunectl stats fails without the module"
has "$tmp/stats" "cannot enter Dune mode"
t $? "and says it cannot enter Dune mode"
run 2 "$tmp/u1" frobnicate
t $? "an unknown command is a usage error"
run 2 "$tmp/u2" stats --pages=many
t $? "a bad stats option is a usage error"
run 0 "$tmp/u3" --help
t $? "--help"

# --- made-up machines
fake() {	# fake DIR VENDOR FLAGS [VMX-FLAGS]: a minimal /proc and /sys
	mkdir -p "$1/proc/sys/kernel" "$1/sys/module" "$1/lib/modules/6.1.0-test/build"
	echo 6.1.0-test > "$1/proc/sys/kernel/osrelease"
	{ echo "processor	: 0"; echo "vendor_id	: $2"; echo "flags		: fpu $3 lm"
	  [ -n "${4:-}" ] && echo "vmx flags	: $4"; } > "$1/proc/cpuinfo"
	: > "$1/proc/modules"
	touch "$1/lib/modules/6.1.0-test/build/Makefile"
}
ck() {	# ck DIR EXPECTED-STATUS: dunectl check on the made-up machine DIR
	DUNECTL_SYSROOT=$1 DUNE_DEVICE=$1/dev/dune run "$2" "$1/out" check
}

m=$tmp/kvm
fake "$m" GenuineIntel "vmx ept" "vnmi ept vpid ept_ad"
printf 'kvm_intel 380928 0 - Live 0x0\nkvm 1142784 1 kvm_intel, Live 0x0\n' > "$m/proc/modules"
mkdir -p "$m/sys/module/kvm/parameters" && touch "$m/sys/module/kvm/initstate"
echo Y > "$m/sys/module/kvm/parameters/enable_virt_at_load"
ck "$m" 1
t $? "KVM loaded: check fails"
has "$m/out" "the CPU has Intel VT-x" && has "$m/out" "EPT (nested paging) present"
t $? "KVM loaded: the CPU is fine"
has "$m/out" "KVM (kvm_intel) is loaded" && has "$m/out" "sudo modprobe -r kvm_intel kvm" &&
	has "$m/out" "enable_virt_at_load=Y"
t $? "KVM loaded: says KVM holds VT-x and how to unload it"
has "$m/out" "not loaded, and not installed for 6.1.0-test"
t $? "KVM loaded: the module is neither loaded nor installed"

m=$tmp/nonpt
fake "$m" AuthenticAMD "svm"
ck "$m" 1
has "$m/out" "AMD-V has no nested paging"
t $? "AMD-V without nested paging is explained"

m=$tmp/noept
fake "$m" GenuineIntel "vmx" "vnmi vpid"
ck "$m" 1
has "$m/out" "VT-x has no EPT"
t $? "VT-x without EPT is explained"

m=$tmp/sb
fake "$m" AuthenticAMD "svm npt"
mkdir -p "$m/sys/firmware/efi/efivars" "$m/sys/kernel/security" "$m/lib/modules/6.1.0-test/extra"
efivar=SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c
printf '\006\000\000\000\001' > "$m/sys/firmware/efi/efivars/$efivar"
echo "none [integrity] confidentiality" > "$m/sys/kernel/security/lockdown"
printf 'ELF' > "$m/lib/modules/6.1.0-test/extra/dune.ko"
ck "$m" 1
has "$m/out" "Secure Boot is on: the kernel loads only signed modules, and the installed" &&
	has "$m/out" "dune.ko is not signed" &&
	has "$m/out" "mokutil --import" && has "$m/out" "scripts/sign-file"
t $? "Secure Boot with an unsigned module: explained, with the signing steps"
has "$m/out" "is installed (/lib/modules/6.1.0-test/extra/dune.ko) but not loaded" &&
	has "$m/out" "sudo modprobe dune"
t $? "an installed module that is not loaded: says to modprobe it"
printf '~Module signature appended~\n' >> "$m/lib/modules/6.1.0-test/extra/dune.ko"
ck "$m" 1
has "$m/out" "ok    Secure Boot is on and /lib/modules/6.1.0-test/extra/dune.ko is signed"
t $? "Secure Boot with a signed module is fine"

m=$tmp/loaded
fake "$m" GenuineIntel "vmx ept" "ept vpid"
echo "dune 200704 0 - Live 0x0" > "$m/proc/modules"
mkdir -p "$m/sys/module/dune/parameters" "$m/dev" && touch "$m/sys/module/dune/initstate"
rm -r "$m/lib/modules/6.1.0-test/build"
ck "$m" 1
has "$m/out" "ok    the dune module is loaded" && has "$m/out" "cannot open $m/dev/dune"
t $? "module loaded without its device: explained"
has "$m/out" "warn  no kernel headers for 6.1.0-test" &&
	has "$m/out" "apt install linux-headers-6.1.0-test"
t $? "missing kernel headers: a warning when the module is there"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	: > "$m/dev/dune" && chmod -R a+rX "$tmp" && chmod 0660 "$m/dev/dune"
	DUNECTL_SYSROOT=$m DUNE_DEVICE=$m/dev/dune setpriv --reuid=65534 --regid=65534 \
		--clear-groups "$dunectl" check >"$m/out" 2>&1
	has "$m/out" "Permission denied" && has "$m/out" "is mode 660, group root" &&
		has "$m/out" "udev rule"
	t $? "a device the caller may not open: explains the group and the udev rule"
fi

# --- the module's parameters are all documented (modinfo dune)
params=$(grep -rhoE 'module_param(_named)?\([a-z_0-9]+' "$top/kmod" | sed 's/.*(//' | sort -u)
ko=$build/dune.ko
for p in $params; do
	if [ -f "$ko" ]; then
		modinfo -F parm "$ko" | grep -q "^$p:.\{8,\}"
	else
		grep -rq "MODULE_PARM_DESC($p," "$top/kmod"
	fi
	t $? "module parameter $p has a MODULE_PARM_DESC"
done
grep -q '^KERNEL=="dune", SUBSYSTEM=="misc", GROUP="dune", MODE="0660"$' \
	"$top/tools/udev/60-dune.rules"
t $? "the udev rule gives /dev/dune to group dune"
finish
