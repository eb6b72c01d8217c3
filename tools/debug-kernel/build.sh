#!/bin/bash
# build.sh - build the xpmem debug kernel (lockdep, KASAN, kmemleak, atomic
# sleep checks, fault injection) as Debian packages from Debian's
# linux-source-6.1, the same kind of kernel as ../shared/debug-kernel/.
#
#   tools/debug-kernel/build.sh [--config-only] [--jobs N] [--out DIR] [--source TARBALL]
#   make debug-kernel                  # the same, from the top level
#
# Steps:
#   1. extract the tarball (default /usr/src/linux-source-6.1.tar.xz, from
#      `apt-get install linux-source-6.1`) into OUT (default build/debug-kernel/)
#   2. make defconfig kvm_guest.config
#   3. merge tools/debug-kernel/xpmem-debug.config (merge_config.sh -m),
#      make olddefconfig
#   4. check that every option of the fragment ended up with the value the
#      fragment gives (Kconfig drops options whose dependencies are unmet
#      without a word; this step makes that an error)
#   5. make bindeb-pkg: OUT/linux-image-VER-xpmem-debug_*.deb and
#      OUT/linux-headers-VER-xpmem-debug_*.deb (about an hour on 2 cores)
#
# --config-only stops after step 4 (a minute or two): it proves the fragment
# is complete for this source.  Install the result on the host with
# `dpkg -i OUT/linux-image-*.deb OUT/linux-headers-*.deb`; the host never
# boots it, tests/vm/run-vm --kernel debug does.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
fragment=$here/xpmem-debug.config
source_tar=/usr/src/linux-source-6.1.tar.xz
out=$top/build/debug-kernel
jobs=$(nproc)
config_only=0

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
	exit "${1:-2}"
}

while (($#)); do
	case $1 in
	--config-only) config_only=1; shift ;;
	--jobs) jobs=${2:?--jobs takes a number}; shift 2 ;;
	--out) out=${2:?--out takes a directory}; shift 2 ;;
	--source) source_tar=${2:?--source takes a tarball}; shift 2 ;;
	-h|--help) usage 0 ;;
	*) echo "build.sh: unknown argument $1" >&2; usage ;;
	esac
done

say() { printf 'debug-kernel: %s\n' "$*"; }
die() { printf 'debug-kernel: error: %s\n' "$*" >&2; exit 1; }

# Tools per step: the config step needs a compiler, flex and bison; the
# package build needs the rest (names of Debian packages in brackets).
need=(tar:tar xz:xz-utils gcc:gcc make:make flex:flex bison:bison)
((config_only)) || need+=(bc:bc rsync:rsync kmod:kmod cpio:cpio
	dpkg-buildpackage:dpkg-dev)
missing=()
for t in "${need[@]}"; do
	command -v "${t%%:*}" > /dev/null || missing+=("${t#*:}")
done
if ((!config_only)); then
	for h in libelf.h:libelf-dev openssl/opensslv.h:libssl-dev; do
		echo "#include <${h%%:*}>" | gcc -E -x c - > /dev/null 2>&1 ||
			missing+=("${h#*:}")
	done
fi
((${#missing[@]} == 0)) ||
	die "missing tools; as root: apt-get install ${missing[*]}"
[[ -r $source_tar ]] ||
	die "$source_tar not found; as root: apt-get install linux-source-6.1"

# 1. extract (once per tarball: a stamp records which one)
mkdir -p "$out"
tree=$out/$(basename "$source_tar" .tar.xz)
stamp=$tree/.xpmem-extracted
if [[ ! -f $stamp || $(cat "$stamp") != "$(stat -c '%s %Y' "$source_tar")" ]]; then
	say "extracting $source_tar into $out"
	rm -rf "$tree"
	tar -xJf "$source_tar" -C "$out"
	[[ -d $tree ]] || die "the tarball did not unpack into $tree"
	stat -c '%s %Y' "$source_tar" > "$stamp"
fi
cd "$tree"

# 2.-3. configure: always from scratch, so the result depends only on the
# source and the fragment
say "configuring $(make -s kernelversion) in $tree"
rm -f .config
make -s defconfig kvm_guest.config > /dev/null
scripts/kconfig/merge_config.sh -m .config "$fragment" > merge.log ||
	die "merge_config.sh failed (see $tree/merge.log)"
make -s olddefconfig

# 4. every line of the fragment must have survived
bad=0
while IFS= read -r line; do
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
		opt=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
	elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
		opt=${BASH_REMATCH[1]} want=n
	else
		continue
	fi
	got=$(grep -E "^$opt=|^# $opt is not set$" .config | head -n 1 || true)
	case $got in
	"$opt="*) got=${got#"$opt="} ;;
	*) got=n ;;
	esac
	if [[ $got != "$want" ]]; then
		say "MISSING $opt: wanted $want, got $got"
		bad=$((bad + 1))
	fi
done < "$fragment"
nopts=$(grep -cE '^CONFIG_|^# CONFIG_.* is not set$' "$fragment")
((bad == 0)) || die "$bad of $nopts fragment options did not end up set (dependencies?)"
say "all $nopts fragment options set in $tree/.config"

# kernelrelease reads LOCALVERSION only after a build: take it from .config
kver=$(make -s kernelversion)$(sed -n 's/^CONFIG_LOCALVERSION="\(.*\)"$/\1/p' .config)
cp .config "$out/config-$kver"
if ((config_only)); then
	say "config only: $out/config-$kver"
	exit 0
fi

# 5. packages (KDEB_PKGVERSION as in ../shared/debug-kernel/)
say "building $kver with $jobs jobs (about an hour on 2 cores)"
make -j"$jobs" bindeb-pkg KDEB_PKGVERSION="$(make -s kernelversion)-1xpmemdebug"
say "done:"
ls -1 "$out"/linux-image-"$kver"_*.deb "$out"/linux-headers-"$kver"_*.deb
say "install with: dpkg -i $out/linux-image-${kver}_*.deb $out/linux-headers-${kver}_*.deb"
