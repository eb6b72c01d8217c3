#!/bin/bash
# packaging/build-deb.sh: `make deb`.  Builds the Debian packages
# xpmem-dkms, libxpmem0, libxpmem-dev and xpmemd into build/deb/ with
# dpkg-buildpackage -b, in a copy of the tree made of the tracked files
# only (what a fresh clone has, with any uncommitted edits to them), with
# packaging/debian/ as its debian/.  The -dbgsym packages debhelper makes
# go to build/deb/dbgsym/.  Needs the Build-Depends of
# packaging/debian/control (tools/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
out=$top/build/deb
version=$(sed -n '1s/^xpmem (\([^)]*\)).*/\1/p' packaging/debian/changelog)
upstream=${version%-*}
src=$out/src/xpmem-$upstream
[[ -n $upstream ]] || { echo "build-deb: no version in packaging/debian/changelog" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$src" "$out/dbgsym"
if git -C "$top" rev-parse --git-dir > /dev/null 2>&1; then
	# Tracked files that exist (a deleted one is not an error).
	git -C "$top" ls-files -z | while IFS= read -r -d '' f; do
		[[ -e $f || -L $f ]] && printf '%s\0' "$f"
	done | tar -C "$top" --null -T - -cf - | tar -C "$src" -xf -
else
	tar -C "$top" --exclude=./build --exclude=./.git -cf - . | tar -C "$src" -xf -
fi
cp -a packaging/debian "$src/debian"

echo "build-deb: dpkg-buildpackage -b -us -uc in ${src#"$top"/}"
(cd "$src" && nice -n 19 dpkg-buildpackage -b -us -uc) > "$out/build.log" 2>&1 || {
	tail -n 40 "$out/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed, log: ${out#"$top"/}/build.log" >&2
	exit 1
}

shopt -s nullglob
for f in "$out"/src/*.deb; do
	case ${f##*/} in
	*-dbgsym_*) mv "$f" "$out/dbgsym/" ;;
	*) mv "$f" "$out/" ;;
	esac
done
mv "$out"/src/*.buildinfo "$out"/src/*.changes "$out/"

missing=0
for p in xpmem-dkms libxpmem0 libxpmem-dev xpmemd; do
	debs=("$out/${p}_${version}_"*.deb)
	if ((${#debs[@]} != 1)); then
		echo "build-deb: no ${p}_${version}_*.deb" >&2
		missing=1
	fi
done
((missing == 0)) || exit 1
echo "build-deb: wrote"
ls -l "$out"/*.deb | awk '{print "  " $5 "\t" $NF}' | sed "s|$top/||"
