#!/bin/bash
# tests/packaging/guest.sh DEBDIR: installs, uses and purges the four
# Debian packages in a run-vm guest (stock kernel, started with
# --no-module by tests/packaging/run.sh).
#
# The guest's root is the host's, read-only over 9p, so the packages go
# into an overlay: lower = /, upper and work on a tmpfs, and the phases
# run chrooted into the merged tree with its own proc, sys, dev, run and
# tmp.  The upper directory is what the packages changed: its listing
# before `dpkg -i` and after `dpkg --purge` shows what was left behind.
#
# Every check prints "ok ..." or "FAIL ..."; the last line is
# "N passed, N failed" and the exit status is 1 if any check failed.
set -euo pipefail

KVER=$(uname -r)
GAUGES="contexts segments permits attachments attached_pages"
PKGS=(xpmem-dkms libxpmem0 libxpmem-dev xpmemd)
RES=/tmp/pkgtest/results	# inside the chroot; the outer part sets $R$RES

pass() { echo "ok    $*"; echo ok >> "$RES"; }
fail() { echo "FAIL  $*"; echo fail >> "$RES"; }
check() { # check DESCRIPTION CMD...: passes when CMD succeeds
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
t0=$SECONDS
step() { echo "--- $* ($((SECONDS - t0)) s)"; }
# Each line with the guest's uptime: the logs show where the time goes.
stamp() {
	local line
	while IFS= read -r line; do echo "$(cut -d' ' -f1 /proc/uptime)s $line"; done
}
mode_of() { stat -c %a "$1" 2>/dev/null || echo none; }

# udev re-applies its rules to the device when told the device was added.
retrigger() {
	chmod 0600 /dev/xpmem
	udevadm trigger --action=add --settle /sys/class/misc/xpmem
}

# --- phase install: in the chroot, dpkg -i and everything the packages give
phase_install() {
	local debdir=$1 debs=() p f out
	for p in "${PKGS[@]}"; do
		debs+=("$(echo "$debdir/${p}"_*.deb)")
	done
	step "preconditions"
	check "no xpmem module loaded before the test" test ! -e /sys/module/xpmem
	check "headers of the running kernel $KVER" test -e "/lib/modules/$KVER/build/Makefile"
	for p in "${PKGS[@]}"; do
		check "$p not installed before the test" bash -c "! dpkg -s $p >/dev/null 2>&1"
	done
	# What each path the packages ship looked like before: after the
	# purge it must be back to exactly that.
	for f in "${debs[@]}"; do
		dpkg-deb -c "$f" | awk '{ sub(/^\./, "", $6); if ($6 != "/" && $6 != "") print $6 }'
	done | sed 's|/$||' | sort -u > /tmp/pkgtest/shipped
	while read -r f; do
		if [[ -e $f || -L $f ]]; then echo "$f"; fi
	done < /tmp/pkgtest/shipped > /tmp/pkgtest/existed

	step "dpkg -i ${debs[*]##*/}"
	if dpkg -i "${debs[@]}" 2>&1 | stamp > /tmp/pkgtest/log/dpkg-install.log; then
		pass "dpkg -i of the four packages"
	else
		fail "dpkg -i (log below)"
		sed 's/^/  | /' /tmp/pkgtest/log/dpkg-install.log
	fi
	grep -E '[0-9]s (Building|Done|Module build|Processing triggers)' /tmp/pkgtest/log/dpkg-install.log |
		sed 's/^/  dpkg: /' || true
	for p in "${PKGS[@]}"; do
		check "$p installed" bash -c "dpkg-query -W -f '\${Status}' $p | grep -qx 'install ok installed'"
	done

	step "module"
	out=$(dkms status xpmem 2>&1 || echo "dkms status failed")
	echo "  dkms status: $out"
	check "dkms: xpmem installed for $KVER" grep -qE "^xpmem/[^,]+, $KVER, [^:]+: installed" <<< "$out"
	local ko=/lib/modules/$KVER/updates/dkms/xpmem.ko
	check "dkms put xpmem.ko into $ko" test -f "$ko"
	check "modinfo resolves xpmem to $ko (depmod ran)" test "$(modinfo -n xpmem 2>/dev/null)" = "$ko"
	check "vermagic of the built module is $KVER" \
		bash -c "modinfo -F vermagic $ko | grep -q '^$KVER '"
	check "modprobe xpmem" modprobe xpmem
	check "/sys/module/xpmem exists" test -d /sys/module/xpmem
	check "/dev/xpmem is a character device" test -c /dev/xpmem
	check "/dev/xpmem mode 0666 (devtmpfs, from the module)" test "$(mode_of /dev/xpmem)" = 666

	step "udev rule"
	local rule=/lib/udev/rules.d/56-xpmem.rules
	check "udev rule $rule installed" test -f "$rule"
	# systemd's tools ignore requests in a chroot unless told otherwise.
	export SYSTEMD_IGNORE_CHROOT=1
	/lib/systemd/systemd-udevd --daemon 2> /tmp/pkgtest/log/udevd.log
	check "systemd-udevd runs in the chroot" pgrep -x systemd-udevd
	check "it answers udevadm control --ping" udevadm control --ping
	out=$(udevadm test /sys/class/misc/xpmem 2>&1 || true)
	check "udevadm test applies 56-xpmem.rules to xpmem" \
		grep -qE "56-xpmem\.rules:[0-9]+ MODE 0?666" <<< "$out"
	# The module's uevent asks for 0666 itself (DEVMODE, from the misc
	# device's .mode), and udev uses that when no rule sets MODE: with
	# the rule moved away an add event still gives 0666.
	check "the uevent carries DEVMODE=0666" grep -qx DEVMODE=0666 /sys/class/misc/xpmem/uevent
	mv "$rule" /tmp/pkgtest/
	udevadm control --reload
	retrigger
	check "without the rule udev sets 0666 from DEVMODE" test "$(mode_of /dev/xpmem)" = 666
	mv "/tmp/pkgtest/${rule##*/}" "$rule"
	# The rule is the administrator's override point: a file of the same
	# name in /etc/udev/rules.d replaces it.
	echo 'KERNEL=="xpmem", SUBSYSTEM=="misc", MODE="0660"' > /etc/udev/rules.d/56-xpmem.rules
	udevadm control --reload
	retrigger
	check "/etc/udev/rules.d/56-xpmem.rules with MODE=0660 overrides it" test "$(mode_of /dev/xpmem)" = 660
	rm /etc/udev/rules.d/56-xpmem.rules
	udevadm control --reload
	retrigger
	check "with the packaged rule udev sets /dev/xpmem to 0666" test "$(mode_of /dev/xpmem)" = 666
	udevadm control --exit || true

	step "library and header, as a user builds against them"
	local ex=/usr/share/doc/libxpmem-dev/examples/local_share.c flags=()
	mkdir -p /tmp/pkgtest/ex
	check "example $ex installed" test -f "$ex"
	read -ra flags <<< "$(pkg-config --cflags --libs cray-xpmem)"
	check "pkg-config --cflags --libs cray-xpmem: '${flags[*]}'" test "${flags[*]}" = -lxpmem
	local other=()
	read -ra other <<< "$(pkg-config --cflags --libs xpmem)"
	check "pkg-config --cflags --libs xpmem: '${other[*]}'" test "${other[*]}" = -lxpmem
	check "cc local_share.c \$(pkg-config --cflags --libs cray-xpmem)" \
		cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -o /tmp/pkgtest/ex/local_share "$ex" "${flags[@]}"
	out=$(ldd /tmp/pkgtest/ex/local_share)
	check "it runs with the installed libxpmem.so.0" \
		grep -qE 'libxpmem\.so\.0 => (/usr)?/lib/x86_64-linux-gnu/libxpmem\.so\.0 ' <<< "$out"
	chmod 0755 /tmp/pkgtest/ex /tmp/pkgtest
	if out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups /tmp/pkgtest/ex/local_share 2>&1); then
		pass "local_share runs as user nobody"
	else
		fail "local_share as nobody: $out"
	fi
	printf '  | %s\n' "$out"
	local g v leaked=
	while read -r g v _; do
		[[ " $GAUGES " == *" $g "* && $v != 0 ]] && leaked+=" $g=$v"
	done < /proc/xpmem/counters
	check "gauges in /proc/xpmem/counters are 0 afterwards${leaked:+:$leaked}" test -z "$leaked"

	step "daemon, man pages, unit"
	check "xpmemd --help" bash -c '/usr/sbin/xpmemd --help | grep -q "^usage: xpmemd"'
	check "xpmemctl --help" bash -c '/usr/bin/xpmemctl --help | grep -q "^usage: xpmemctl"'
	for p in xpmem xpmem_make xpmem_remove xpmem_get xpmem_release xpmem_attach \
		 xpmem_detach xpmem_version xpmem_init xpmem_sync; do
		check "man -w $p: $(man -w "$p" 2>&1)" test -e "$(man -w 3 "$p" 2>/dev/null)"
	done
	for p in xpmemd xpmemctl; do
		check "man -w $p: $(man -w 8 "$p" 2>&1)" test -e "$(man -w 8 "$p" 2>/dev/null)"
	done
	check "man renders xpmem_make(3)" bash -c 'man 3 xpmem_make 2>/dev/null | grep -q xpmem_make'
	local unit=/lib/systemd/system/xpmemd.service
	check "unit $unit installed" test -f "$unit"
	check "its ExecStart is /usr/sbin/xpmemd" grep -qx 'ExecStart=/usr/sbin/xpmemd --foreground' "$unit"
	check "xpmemd.service enabled for multi-user.target" \
		test -L /etc/systemd/system/multi-user.target.wants/xpmemd.service
	if out=$(systemd-analyze verify "$unit" 2>&1); then
		pass "systemd-analyze verify xpmemd.service"
	else
		fail "systemd-analyze verify: $out"
	fi

	step "rmmod"
	check "rmmod xpmem" rmmod xpmem
	check "/dev/xpmem gone" test ! -e /dev/xpmem
	for p in "${PKGS[@]}"; do dpkg -L "$p"; done | grep -vx '/\.' | sort -u > /tmp/pkgtest/listed
}

# --- phase purge: in the chroot
phase_purge() {
	local f out left=
	step "dpkg --purge ${PKGS[*]}"
	if dpkg --purge "${PKGS[@]}" 2>&1 | stamp > /tmp/pkgtest/log/dpkg-purge.log; then
		pass "dpkg --purge of the four packages"
	else
		fail "dpkg --purge (log below)"
		sed 's/^/  | /' /tmp/pkgtest/log/dpkg-purge.log
	fi
	for f in "${PKGS[@]}"; do
		check "$f gone from dpkg's database" bash -c "! dpkg -s $f >/dev/null 2>&1"
	done
	out=$(dkms status 2>&1 || echo "dkms status failed")
	check "dkms status is empty${out:+: $out}" test -z "$out"
	check "no /var/lib/dkms/xpmem" test ! -e /var/lib/dkms/xpmem
	check "no xpmem.ko for $KVER" bash -c "! find /lib/modules/$KVER -name 'xpmem.ko*' | grep -q ."
	check "modinfo no longer finds xpmem" bash -c '! modinfo xpmem >/dev/null 2>&1'
	check "unit no longer enabled" test ! -e /etc/systemd/system/multi-user.target.wants/xpmemd.service
	while read -r f; do
		if [[ -e $f || -L $f ]] && ! grep -qxF "$f" /tmp/pkgtest/existed; then left+=" $f"; fi
	done < <(sort -u /tmp/pkgtest/shipped /tmp/pkgtest/listed)
	check "every path the packages shipped is as before the install${left:+; left:$left}" test -z "$left"
}

# --- outside the chroot
snapshot() { # what the overlay's upper layer holds: "TYPE /PATH" a line
	(cd "$U" && find . -mindepth 1 -printf '%y /%P\n' | sort)
}

# Entries of the upper layer that are new after the purge, each as
# "created", "deleted" (a whiteout: the path is in the lower layer, /,
# but no longer in the merged root) or "modified" (a copy of a file of
# the lower layer).  Directories copied up because something below them
# changed are not listed.
changes() {
	local y f
	comm -13 "$T/before" "$T/after" | while read -r y f; do
		if [[ $y == c ]] && [[ ! -e $R$f && ! -L $R$f ]]; then
			echo "deleted $f"
		elif [[ ! -e $f && ! -L $f ]]; then
			echo "created $f"
		elif [[ $y != d ]]; then
			echo "modified $f"
		fi
	done
}

case ${1:-} in
--phase)
	shift
	phase=$1
	shift
	"phase_$phase" "$@"
	exit 0
	;;
esac

debdir=$(realpath "${1:?usage: guest.sh DEBDIR}")
self=$(realpath "$0")
T=/tmp/pkgtest-ovl U=/tmp/pkgtest-ovl/upper R=/tmp/pkgtest-ovl/root
modprobe overlay
mkdir -p $T
mount -t tmpfs -o size=1200m,mode=0755 pkgtest $T
mkdir -p $U $T/work $R
mount -t overlay overlay -o lowerdir=/,upperdir=$U,workdir=$T/work $R
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount --rbind /dev $R/dev
# The initramfs's devtmpfs lacks what udev would add; bash's <(...), which
# dkms uses, needs /dev/fd.
[[ -e /dev/fd ]] || ln -s /proc/self/fd /dev/fd
# A machine with the stock kernel only: dkms's postinst also builds for
# the newest installed kernel (6.12 from backports here), which would
# double the build time under TCG; tests/packaging/install-check.sh
# builds the DKMS tree for the other kernels on the host.
for k in /lib/modules/*; do
	[[ ${k##*/} == "$KVER" ]] || mount -t tmpfs -o size=1m,mode=0755 hidden "$R$k"
done
mount -t tmpfs tmpfs $R/run
mount -t tmpfs tmpfs $R/tmp
mkdir -p $R/tmp/pkgtest/log
# The logs are written straight into the run's log directory, if any, so
# that they survive a timeout.
[[ -n ${XPMEM_LOGDIR:-} ]] && mount --bind "$XPMEM_LOGDIR" $R/tmp/pkgtest/log
# man-db's trigger re-indexes every manual page after each dpkg run:
# minutes under TCG, and `man -w` does not need the index.  Debian's
# switch for it (what man-db/auto-update=false does) is this file.
rm -f $R/var/lib/man-db/auto-update
RES=$R$RES
: > "$RES"
in_root() {
	chroot $R /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C \
		DEBIAN_FRONTEND=noninteractive "$@"
}
cleanup() {
	set +e
	cp $R/tmp/pkgtest/*.log $R/var/log/dpkg.log $R/tmp/pkgtest/log/ 2> /dev/null
	in_root env SYSTEMD_IGNORE_CHROOT=1 udevadm control --exit 2> /dev/null
	umount -R $R 2> /dev/null || umount -R -l $R
	umount $T 2> /dev/null || umount -l $T
}
trap cleanup EXIT

snapshot > "$T/before"
in_root /bin/bash "$self" --phase install "$debdir" || fail "phase install stopped: status $?"
in_root /bin/bash "$self" --phase purge || fail "phase purge stopped: status $?"
snapshot > "$T/after"
changes > $R/tmp/pkgtest/changes.log
sed 's/^/  root: /' $R/tmp/pkgtest/changes.log
# Allowed: the state dpkg and the triggers of other packages keep (dpkg's
# database and log, man-db's index, the ld.so cache, debconf), the
# module signing key dkms makes on its first build (dkms's, kept for the
# next module), and the formatted copies man-db caches in
# /var/cache/man/catN/ when a page is shown (by `man 3 xpmem_make` and
# by systemd-analyze verify checking the unit's Documentation=; man-db's
# cache, dropped by its next mandb run).  Anything else created or
# deleted, or anything else named xpmem, is left behind by the packages.
left=$({
	grep -E '^(created|deleted) ' $R/tmp/pkgtest/changes.log | grep -vE \
		-e ' /var/lib/dpkg/' -e ' /var/log/' -e ' /var/cache/(man|debconf|ldconfig)/' \
		-e ' /etc/ld\.so\.cache$' -e ' /var/lib/dkms/mok\.(key|pub)$'
	grep -i xpmem $R/tmp/pkgtest/changes.log | grep -vE '^created /var/cache/man/cat[1-9]/[^/]+$'
} | sort -u || true)
check "nothing left in the root after purge${left:+: ${left//$'\n'/, }}" test -z "$left"
p=$(grep -c '^ok$' "$RES" || true) f=$(grep -c '^fail$' "$RES" || true)
echo "--- done ($((SECONDS - t0)) s)"
echo "$p passed, $f failed"
((f == 0))
