#!/bin/sh
# --with-backend=vmx / svm build a module holding only that backend; auto
# holds both.  Checked on the symbols of the built modules.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
kdir=${KERNEL_DIR:-6.1}
pass=0
fail=0

check() {	# check BACKEND WANT-PREFIXES NOT-WANT-PREFIXES
	ko=$("$top/tools/kmod-build" "$kdir" "$1") || { fail=$((fail + 1)); return; }
	syms=$(nm "$ko" | awk '$2 ~ /^[tTdDrRbB]$/ {print $3}')
	for p in $2; do
		if echo "$syms" | grep -q "^$p"; then
			pass=$((pass + 1))
		else
			echo "FAIL: $1 module lacks ${p}* symbols"
			fail=$((fail + 1))
		fi
	done
	for p in $3; do
		if echo "$syms" | grep -q "^$p"; then
			echo "FAIL: $1 module holds ${p}* symbols:"
			echo "$syms" | grep "^$p" | head -5
			fail=$((fail + 1))
		else
			pass=$((pass + 1))
		fi
	done
	echo "$1: $(echo "$syms" | grep -c -E '^(vmx|svm)_') backend symbols"
}

check vmx "vmx_ dune_vmx_ops" "svm_ dune_svm_ops"
check svm "svm_ dune_svm_ops" "vmx_ dune_vmx_ops"
check auto "vmx_ svm_ dune_vmx_ops dune_svm_ops" ""
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
