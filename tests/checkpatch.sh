#!/bin/bash
# Kernel coding style: checkpatch.pl from Debian's linux-source tarball
# (extracted once into build/), run on every file of kernel/.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=build/checkpatch
if [[ ! -x $dir/scripts/checkpatch.pl ]]; then
	tarball=$(ls /usr/src/linux-source-*.tar.xz | sort -V | tail -n 1)
	mkdir -p "$dir"
	top=$(basename "$tarball" .tar.xz)
	tar -xJf "$tarball" -C "$dir" --strip-components=1 \
		"$top/scripts/checkpatch.pl" "$top/scripts/spelling.txt" \
		"$top/scripts/const_structs.checkpatch"
fi
fail=0
for f in kernel/*.c kernel/*.h kernel/probes/*.c; do
	if out=$("$dir/scripts/checkpatch.pl" --no-tree --quiet -f "$f"); then
		echo "ok $f"
	else
		echo "FAIL $f"
		echo "$out"
		fail=$((fail + 1))
	fi
done
n=$(ls kernel/*.c kernel/*.h kernel/probes/*.c | wc -l)
echo "$((n - fail)) passed, $fail failed"
((fail == 0))
