#!/bin/bash
# tests/packaging/run.sh [RUN-VM OPTIONS]: the VM half of `make deb-check`.
# Boots one guest of Debian's stock kernel without the module and runs
# tests/packaging/guest.sh on the packages in build/deb/ (`make deb`):
# dpkg -i, dkms builds and installs xpmem.ko for the guest's kernel,
# modprobe, /dev/xpmem and the udev rule, an example built against the
# installed header and library, xpmemd, man pages, the unit, rmmod,
# dpkg --purge, nothing left behind.  Ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/../.."
for p in xpmem-dkms libxpmem0 libxpmem-dev xpmemd; do
	if ! compgen -G "build/deb/${p}_*.deb" > /dev/null; then
		echo "packaging: no build/deb/${p}_*.deb; run make deb first" >&2
		exit 1
	fi
done
# The guest compiles the module under TCG: dkms takes minutes there.
# Options given to this script come last and win.
exec nice -n 19 tests/vm/run-vm --kernel stock --no-module --mem 2048 --cpus 2 \
	--timeout 1500 --logdir "build/packaging/$(date +%Y%m%d-%H%M%S)-$$" "$@" \
	-- tests/packaging/guest.sh build/deb
