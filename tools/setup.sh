#!/bin/bash
# tools/setup.sh: installs everything the project needs on a Debian
# bookworm machine (as root): build tools, Debian's kernels and headers
# for the VM tests (stock 6.1, 6.12 from backports, the debug kernel from
# ../shared/debug-kernel when present), QEMU, rdma-core, CMocka, and
# what `make deb` and `make deb-check` use (debhelper, dh-dkms, dkms,
# udev, man-db), perf and bpftrace for docs/tracing.md (the guests use
# the host's).  Used by .ci/run and by the README's first command.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
	build-essential pkg-config kmod cpio
	linux-image-amd64 linux-headers-amd64 linux-source-6.1
	qemu-system-x86 busybox-static vde2 iproute2
	rdma-core ibverbs-utils perftest rdmacm-utils libibverbs-dev librdmacm-dev
	numactl libnuma-dev libcmocka-dev cppcheck libsodium-dev groff-base
	gnuplot-nox jq linux-perf bpftrace
	debhelper dh-dkms dkms udev systemd man-db
)
export DEBIAN_FRONTEND=noninteractive

# The kernel matrix (docs/kernels.md) has Debian's 6.12 from
# CODENAME-backports next to the stock 6.1.  Backports is added with the
# mirror the existing Debian sources already use (read here, not named).
. /etc/os-release
codename=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}
debian_mirror() { # URI (and Signed-By) of the source serving "$codename"
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -r $f ]] || continue
		awk -v c="$codename" '$1 == "deb" {
			i = 2; if ($2 ~ /^\[/) while ($i !~ /\]$/) i++
			if ($2 ~ /^\[/) i++
			if ($(i + 1) == c) { print $i; exit }
		}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -r $f ]] || continue
		# deb822: paragraphs of "Key: value"
		awk -v c="$codename" 'BEGIN { RS = ""; FS = "\n" } {
			uri = ""; hit = 0; deb = 0; key = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^URIs:/) { uri = $i; sub(/^URIs:[ \t]*/, "", uri); sub(/[ \t].*/, "", uri) }
				if ($i ~ /^Types:.*(^|[ \t])deb([ \t]|$)/) deb = 1
				if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == c) hit = 1 }
				if ($i ~ /^Signed-By:/) { key = $i; sub(/^Signed-By:[ \t]*/, "", key) }
			}
			if (deb && hit && uri != "") { print uri (key != "" ? " " key : ""); exit }
		}' "$f"
	done
}
if ! grep -rqs -- "$codename-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
	read -r mirror keyring < <(debian_mirror | head -n 1) || true
	[[ -n ${mirror:-} ]] || { echo "setup: no Debian source for $codename found" >&2; exit 1; }
	echo "deb${keyring:+ [signed-by=$keyring]} $mirror $codename-backports main" \
		> /etc/apt/sources.list.d/backports.list
fi
apt-get update
apt-get install -y --no-install-recommends "${packages[@]}"

# Debian's 6.12 by its versioned names: installing the linux-image-amd64
# metapackage from backports would replace the stock 6.1 one.  The version
# is the one backports' metapackage points at.
k612=$(apt-cache show "linux-image-amd64/$codename-backports" 2>/dev/null |
	sed -n 's/^Depends:.*linux-image-\(6\.12[^ ,]*-amd64\).*/\1/p' | head -n 1)
if [[ -n $k612 ]]; then
	apt-get install -y --no-install-recommends \
		"linux-image-$k612" "linux-headers-$k612"
else
	echo "setup: $codename-backports has no 6.12 kernel; the 6.12 pass will be skipped" >&2
fi

# The debug kernel (lockdep, KASAN, kmemleak) for tests/vm/run-vm --kernel debug.
debs=$(git rev-parse --show-toplevel)/../shared/debug-kernel
if compgen -G "$debs/linux-*.deb" > /dev/null; then
	dpkg -i "$debs"/linux-image-*.deb "$debs"/linux-headers-*.deb
else
	echo "setup: no debug kernel packages in $debs, skipping" >&2
fi
