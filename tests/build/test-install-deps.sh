#!/bin/sh
# tools/install-deps, the README quick start's first word: as root it
# installs (not run here), as a user it runs itself again through sudo, and
# without sudo it says to run it as root.  `id` and `sudo` are stand-ins.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
fake=$(mktemp -d)
trap 'rm -rf "$fake"' EXIT
fail=0
printf '#!/bin/sh\necho 1000\n' > "$fake/id"
printf '#!/bin/sh\necho "sudo $*"\n' > "$fake/sudo"
chmod +x "$fake/id" "$fake/sudo"

out=$(PATH="$fake:/usr/bin:/bin" "$top/tools/install-deps" 2>&1)
if [ "$out" = "sudo $top/tools/install-deps" ]; then
	echo "ok 1 - a user's run goes through sudo"
else
	echo "not ok 1 - a user's run goes through sudo (got: $out)"; fail=1
fi
rm "$fake/sudo"
out=$(PATH="$fake" "$top/tools/install-deps" 2>&1)
st=$?
if [ $st -eq 1 ] && echo "$out" | grep -q "run as root"; then
	echo "ok 2 - without sudo: exit 1, run as root"
else
	echo "not ok 2 - without sudo: exit 1, run as root (status $st: $out)"; fail=1
fi
exit $fail
