#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# build-openmpi.sh - rebuild Debian's Open MPI against this project's libxpmem.
#
#   tests/consumer/build-openmpi.sh [--force]
#
# As root on Debian (bookworm): enables deb-src for the release's own
# mirror (read from the existing apt sources, in a file of its own),
# installs what the build needs (dpkg-dev autoconf automake libtool flex
# libevent-dev libhwloc-dev libpmix-dev zlib1g-dev), fetches `apt-get
# source openmpi` and regenerates its build system as debian/rules does
# (./autogen.pl --force: Debian's patches touch configure.ac), installs
# libxpmem into build/consumer/xpmem-prefix and builds a minimal Open MPI
# (C only: no Fortran, OSHMEM, ROMIO, Java, UCX, OFI, PSM, verbs; Debian's
# hwloc, libevent and PMIx) into build/consumer/ompi with
# --with-xpmem=build/consumer/xpmem-prefix.  Fails unless btl/vader was
# built with its XPMEM single-copy mechanism.
#
# Cached: skipped when build/consumer/ompi/xpmem-build.stamp names the
# same source version, configure options and hash of include/xpmem*.h.
# The library itself is linked dynamically (rpath to the prefix), so it
# is reinstalled every time without rebuilding Open MPI.
#
# Environment: JOBS (make -j, default 2), NICE (default 19).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/build/consumer
xprefix=$out/xpmem-prefix
oprefix=$out/ompi
stamp=$oprefix/xpmem-build.stamp
jobs=${JOBS:-2}
nice=(nice -n "${NICE:-19}")
force=0
[[ ${1:-} == --force ]] && force=1

log() { printf 'build-openmpi: %s\n' "$*"; }
die() { printf 'build-openmpi: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "run as root (apt-get)"
. /etc/os-release
codename=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}
export DEBIAN_FRONTEND=noninteractive

# 1. deb-src.  Copies the binary entries that serve $codename (and its
# -updates) as deb-src entries: the same mirror and keyring, not named here.
srcfile=/etc/apt/sources.list.d/xpmem-consumer-src.sources
if ! apt-cache showsrc openmpi 2>/dev/null | grep -q '^Package: openmpi'; then
	if [[ ! -e $srcfile ]]; then
		log "enabling deb-src in $srcfile"
		{
			for f in /etc/apt/sources.list.d/*.sources; do
				[[ -r $f ]] || continue
				awk -v c="$codename" 'BEGIN { RS = ""; FS = "\n" } {
					deb = 0; hit = 0
					for (i = 1; i <= NF; i++) {
						if ($i ~ /^Types:/ && $i ~ /[ \t]deb([ \t]|$)/) deb = 1
						if ($i ~ /^Suites:/) {
							n = split($i, s, /[ \t]+/)
							for (j = 2; j <= n; j++) if (s[j] == c) hit = 1
						}
					}
					if (!deb || !hit) next
					for (i = 1; i <= NF; i++) {
						if ($i ~ /^#/) continue
						if ($i ~ /^Types:/) print "Types: deb-src"
						else print $i
					}
					print ""
				}' "$f"
			done
			for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
				[[ -r $f ]] || continue
				# one-line entries: "deb [opts] URI SUITE COMPONENTS..."
				awk -v c="$codename" '$1 == "deb" {
					i = 2
					if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
					if ($(i + 1) != c) next
					printf "Types: deb-src\nURIs: %s\nSuites: %s\nComponents:", $i, c
					for (j = i + 2; j <= NF; j++) printf " %s", $j
					printf "\n"
					if (match($0, /signed-by=[^] ]+/))
						printf "Signed-By: %s\n", substr($0, RSTART + 10, RLENGTH - 10)
					printf "\n"
				}' "$f"
			done
		} > "$srcfile.tmp"
		[[ -s $srcfile.tmp ]] || { rm -f "$srcfile.tmp"; die "no Debian source for $codename found"; }
		mv "$srcfile.tmp" "$srcfile"
	fi
	apt-get update
	apt-cache showsrc openmpi 2>/dev/null | grep -q '^Package: openmpi' ||
		die "apt-cache showsrc openmpi: no source package even with $srcfile"
fi

# 2. build dependencies of this configuration (a subset of Debian's)
need=()
for p in dpkg-dev autoconf automake libtool flex libevent-dev libhwloc-dev libpmix-dev zlib1g-dev; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
done
if ((${#need[@]})); then
	log "apt-get install ${need[*]}"
	apt-get install -y --no-install-recommends "${need[@]}"
fi

# 3. this project's library and headers into the prefix
log "installing libxpmem into $xprefix"
"${nice[@]}" make -s -C "$top/libxpmem" install PREFIX="$xprefix" DESTDIR= > /dev/null

version=$(apt-cache showsrc openmpi | sed -n 's/^Version: //p' | sort -V | tail -n 1)
upstream=${version%-*}
upstream=${upstream#*:}
confopts=(
	--prefix="$oprefix"
	--with-xpmem="$xprefix"
	--with-cray-xpmem=no
	--disable-mpi-fortran --disable-oshmem --disable-io-romio --disable-mpi-java
	--without-ucx --without-ofi --without-psm --without-psm2 --without-verbs
	--without-cuda --without-knem --without-slurm --without-tm --without-lsf
	--with-hwloc=external --with-libevent=external --with-pmix=external
	--disable-static --enable-shared
	LDFLAGS="-Wl,-rpath,$xprefix/lib"
)
want="openmpi $version
configure ${confopts[*]}
headers $(cat "$top/include/xpmem.h" "$top/include/xpmem_uapi.h" | sha256sum | cut -c1-16)"

if ((force == 0)) && [[ -x $oprefix/bin/mpirun && -r $stamp ]] && [[ $(cat "$stamp") == "$want" ]]; then
	log "cached: $oprefix (openmpi $version, same configuration and headers)"
	exit 0
fi

# 4. the source
src=$out/src
rm -rf "$src" "$oprefix"
mkdir -p "$src"
log "apt-get source openmpi ($version)"
(cd "$src" && "${nice[@]}" apt-get source openmpi="$version" > apt-source.log 2>&1) ||
	{ tail -n 20 "$src/apt-source.log" >&2; die "apt-get source failed"; }
srcdir=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name "openmpi-$upstream*" | head -n 1)
[[ -n $srcdir && -x $srcdir/configure ]] || die "no openmpi-$upstream source tree with configure in $src"

# 5. autogen (as debian/rules does), configure, build, install
t0=$(date +%s)
log "autogen.pl --force (log: $src/autogen.log)"
(cd "$srcdir" && "${nice[@]}" ./autogen.pl --force > "$src/autogen.log" 2>&1) ||
	{ tail -n 30 "$src/autogen.log" >&2; die "autogen.pl failed"; }
ta=$(date +%s)
bld=$out/ompi-build
rm -rf "$bld"
mkdir -p "$bld"
log "configure (log: $bld/configure.log)"
(cd "$bld" && "${nice[@]}" "$srcdir/configure" "${confopts[@]}" > configure.log 2>&1) ||
	{ tail -n 30 "$bld/configure.log" >&2; die "configure failed"; }
t1=$(date +%s)
grep -Eq '^#define OPAL_BTL_VADER_HAVE_XPMEM 1' "$bld/opal/include/opal_config.h" ||
	{ grep -i xpmem "$bld/configure.log" >&2 || true; die "configure did not enable XPMEM in btl/vader"; }
grep -E 'Shared memory/XPMEM' "$bld/configure.log" || true
log "make -j$jobs (log: $bld/make.log)"
(cd "$bld" && "${nice[@]}" make -j"$jobs" > make.log 2>&1) ||
	{ grep -E 'error|Error' "$bld/make.log" | tail -n 30 >&2; die "make failed"; }
t2=$(date +%s)
(cd "$bld" && "${nice[@]}" make install > install.log 2>&1) ||
	{ tail -n 30 "$bld/install.log" >&2; die "make install failed"; }
t3=$(date +%s)

# 6. the installed Open MPI must offer the mechanism and link our library
"$oprefix/bin/ompi_info" --param btl vader --level 9 > "$bld/ompi_info-vader.txt" 2>&1 ||
	{ cat "$bld/ompi_info-vader.txt" >&2; die "ompi_info failed"; }
grep -E 'btl_vader_single_copy_mechanism' "$bld/ompi_info-vader.txt" | grep -q xpmem ||
	{ grep -E 'single_copy' "$bld/ompi_info-vader.txt" >&2 || true; die "ompi_info: vader has no xpmem single-copy mechanism"; }
vader=$(find "$oprefix/lib" -name 'mca_btl_vader.so' | head -n 1)
[[ -n $vader ]] || die "no mca_btl_vader.so under $oprefix/lib"
ldd "$vader" | grep -q "$xprefix/lib/libxpmem.so.0" ||
	{ ldd "$vader" >&2; die "$vader does not load $xprefix/lib/libxpmem.so.0"; }

printf '%s\n' "$want" > "$stamp"
times="autogen $((ta - t0))s, configure $((t1 - ta))s, make $((t2 - t1))s, install $((t3 - t2))s"
echo "$times" > "$oprefix/xpmem-build.times"
log "built openmpi $version in $((t3 - t0))s ($times)"
log "$vader -> $(ldd "$vader" | grep libxpmem)"
