#!/bin/sh
# dune-bench's kvm-exit method (bench/kvm.c) on the build host, where the
# dune module cannot load: with /dev/kvm usable, --kvm-save measures a KVM
# guest's getpid hypercall (it checks that the guest got the pid) and
# writes its runs, and a main run reports them (--kvm-from); a bad file
# fails cleanly.  Without /dev/kvm only the skip and the bad file are
# checked.  In the emulated machines bench-quick.sh runs the real phase.
set -u
build=$(pwd)
bench=$build/bench/dune-bench
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-kvm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

[ -x "$bench" ] || { echo "not ok - $bench is not built"; echo "0 passed, 1 failed"; exit 1; }

if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	"$bench" --quick --kvm-save="$tmp/kvm.txt" > "$tmp/save.out" 2>&1
	t $? "--kvm-save measures a KVM guest's exit to user space ($(cat "$tmp/save.out"))"
	head -n 1 "$tmp/kvm.txt" | grep -q '^dune-bench-kvm 3 300$'
	t $? "the saved file holds 3 runs of 300 calls"
	"$bench" --quick --rows=syscall --kvm-from="$tmp/kvm.txt" > "$tmp/main.out" 2>&1
	grep -q '^ +kvm-exit  *300  *[0-9.]* .*KVM loaded, before dune' "$tmp/main.out"
	t $? "--kvm-from reports them under the syscall row"
else
	"$bench" --quick --rows=syscall > "$tmp/main.out" 2>&1
	grep -q 'kvm-exit .*skipped: no KVM here' "$tmp/main.out"
	t $? "without /dev/kvm the method is skipped, with the reason"
fi
echo "dune-bench-kvm 2 x" > "$tmp/bad.txt"
"$bench" --quick --rows=syscall --kvm-from="$tmp/bad.txt" > "$tmp/bad.out" 2>&1
grep -q 'Linux kvm-exit: .*bad.txt: not a --kvm-save file' "$tmp/bad.out" &&
	grep -q '^syscall  .* 300 ' "$tmp/bad.out"
t $? "a bad --kvm-from file fails the method, with the reason, not the row"
"$bench" --quick --rows=syscall --kvm-from="$tmp/none.txt" > "$tmp/none.out" 2>&1
grep -q 'kvm-exit .*skipped: no KVM run was saved' "$tmp/none.out"
t $? "a missing --kvm-from file is a skip"
finish
