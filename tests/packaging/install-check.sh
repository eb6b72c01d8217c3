#!/bin/bash
# tests/packaging/install-check.sh: make install / uninstall, install-dkms
# and install-module into staging DESTDIRs, and the DKMS tree built by dkms
# itself for each kernel of the matrix that is installed, on the host
# (nothing is loaded).  Ends with "N passed, N failed".
#
# dkms runs in a private mount namespace with a tmpfs over /var/lib/dkms,
# so the host's dkms state (and its module signing key) stays untouched;
# nothing is installed into /lib/modules.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
np=0 nf=0
pass() { echo "ok    $*"; np=$((np + 1)); }
fail() { echo "FAIL  $*"; nf=$((nf + 1)); }
check() { # check DESCRIPTION CMD...
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
files_in() { (cd "$1" && find . ! -type d -printf '/%P\n' | sort); }
mk() { nice -n 19 make -s --no-print-directory "$@" > "$tmp/make.log" 2>&1 || { cat "$tmp/make.log"; return 1; }; }

# --- one version everywhere
v_top=$(sed -n 's/^VERSION := //p' Makefile)
v_lib=$(sed -n 's/^VERSION  *:= //p' libxpmem/Makefile)
v_daemon=$(sed -n 's/^VERSION  *:= //p' daemon/Makefile)
v_deb=$(sed -n '1s/^xpmem (\([^)-]*\)-[^)]*).*/\1/p' packaging/debian/changelog)
v_mod=$(sed -n 's/^MODULE_VERSION("\([^"]*\)").*/\1/p' kernel/main.c)
check "one version: Makefile $v_top, libxpmem $v_lib, daemon $v_daemon, debian/changelog $v_deb, MODULE_VERSION $v_mod" \
	test -n "$v_top" -a "$v_top" = "$v_lib" -a "$v_top" = "$v_daemon" -a "$v_top" = "$v_deb" -a "$v_top" = "$v_mod"

# --- make install PREFIX=/usr: exactly these files
expected() { # expected PREFIX UDEVRULESDIR
	local p=$1 f
	for f in include/xpmem.h include/xpmem_uapi.h lib/libxpmem.so lib/libxpmem.so.0 \
		 "lib/libxpmem.so.$v_top" lib/libxpmem.a lib/pkgconfig/xpmem.pc \
		 lib/pkgconfig/cray-xpmem.pc sbin/xpmemd bin/xpmemctl \
		 lib/systemd/system/xpmemd.service share/doc/xpmemd/examples/nodes.conf.example \
		 share/doc/xpmemd/examples/xpmemd.conf.example; do
		echo "$p/$f"
	done
	for f in man/man3/*.3 man/man8/*.8; do echo "$p/share/$f"; done
	echo "$2/56-xpmem.rules"
}
for prefix in /usr /opt/xpmem; do
	d=$tmp/inst$prefix
	if mk install DESTDIR="$d" PREFIX="$prefix"; then
		pass "make install DESTDIR=... PREFIX=$prefix"
	else
		fail "make install PREFIX=$prefix"
		continue
	fi
	expected "$prefix" "$prefix/lib/udev/rules.d" | sort > "$tmp/want"
	files_in "$d" > "$tmp/got"
	check "PREFIX=$prefix: exactly the expected $(wc -l < "$tmp/want") files$(comm -3 "$tmp/want" "$tmp/got" | tr -s ' \t\n' ' ')" \
		cmp -s "$tmp/want" "$tmp/got"
	check "PREFIX=$prefix: unit runs $prefix/sbin/xpmemd" \
		grep -qx "ExecStart=$prefix/sbin/xpmemd --foreground" "$d$prefix/lib/systemd/system/xpmemd.service"
	check "PREFIX=$prefix: cray-xpmem.pc has prefix=$prefix" \
		grep -qx "prefix=$prefix" "$d$prefix/lib/pkgconfig/cray-xpmem.pc"
	check "PREFIX=$prefix: the udev rule is the repository's" \
		cmp -s packaging/56-xpmem.rules "$d$prefix/lib/udev/rules.d/56-xpmem.rules"
	mk uninstall DESTDIR="$d" PREFIX="$prefix" || fail "make uninstall PREFIX=$prefix"
	left=$(files_in "$d" | tr '\n' ' ')
	check "make uninstall PREFIX=$prefix removes every file${left:+; left: $left}" test -z "$left"
done

# Debian's places, as packaging/debian/rules passes them.
d=$tmp/deb
mk install DESTDIR="$d" PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu \
	UNITDIR=/lib/systemd/system UDEVRULESDIR=/lib/udev/rules.d || fail "make install, Debian's directories"
for f in /usr/lib/x86_64-linux-gnu/libxpmem.so.0 /usr/lib/x86_64-linux-gnu/pkgconfig/xpmem.pc \
	 /lib/systemd/system/xpmemd.service /lib/udev/rules.d/56-xpmem.rules; do
	check "LIBDIR, UNITDIR, UDEVRULESDIR honoured: $f" test -e "$d$f"
done
mk uninstall DESTDIR="$d" PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu \
	UNITDIR=/lib/systemd/system UDEVRULESDIR=/lib/udev/rules.d || fail "make uninstall, Debian's directories"
left=$(files_in "$d" | tr '\n' ' ')
check "make uninstall with Debian's directories removes every file${left:+; left: $left}" test -z "$left"

# --- make install-dkms: the DKMS source tree
d=$tmp/dkms-src
src=$d/usr/src/xpmem-$v_top
mk install-dkms DESTDIR="$d" || fail "make install-dkms"
check "dkms.conf has PACKAGE_VERSION=\"$v_top\"" grep -qx "PACKAGE_VERSION=\"$v_top\"" "$src/dkms.conf"
missing=
for f in kernel/Kbuild kernel/*.c kernel/*.h kernel/probes/*.c include/xpmem_uapi.h; do
	cmp -s "$f" "$src/$f" || missing+=" $f"
done
check "the tree holds Kbuild, every kernel source, probe and the uapi header${missing:+; missing:$missing}" \
	test -z "$missing"

# dkms builds it, as the xpmem-dkms package has it do, for each kernel of
# the matrix (docs/kernels.md) whose headers are installed.
newest() { find /lib/modules -mindepth 1 -maxdepth 1 -printf "%f\n" | grep -E "$1" | sort -V | tail -n 1; }
kernels=$(newest '^6\.1\.[0-9]+-[0-9]+-amd64$'; newest '^6\.12[.-].*-amd64$')
cat > "$tmp/dkms.sh" << 'EOF'
set -euo pipefail
src=$1 ver=$2 fake=$3
shift 3
mount -t tmpfs dkms-test /var/lib/dkms
dk() { dkms "$@" --sourcetree "$src"; }
dk add -m xpmem -v "$ver" > /dev/null
for k in "$@"; do
	if nice -n 19 dkms build -m xpmem -v "$ver" -k "$k" --sourcetree "$src" > "$src/../build-$k.log" 2>&1; then
		# Debian compresses the modules of newer kernels (xpmem.ko.xz).
		ko=$(echo "/var/lib/dkms/xpmem/$ver/$k/x86_64/module/xpmem.ko"*)
		if [[ -f $ko ]] && modinfo -F vermagic "$ko" | grep -q "^$k "; then
			echo "built $k"
		else
			echo "no module for $k"
		fi
	else
		echo "failed $k"
		tail -n 20 "/var/lib/dkms/xpmem/$ver/build/make.log" 2>/dev/null || true
	fi
done
# A kernel without HMM: BUILD_EXCLUSIVE_CONFIG makes dkms skip it (77).
rc=0
dkms build -m xpmem -v "$ver" -k 6.1.0-0-nohmm --kernelsourcedir "$fake" \
	--sourcetree "$src" > /dev/null 2>&1 || rc=$?
echo "excluded $rc"
EOF
if [[ -z $kernels ]]; then
	fail "no stock or 6.12 kernel headers in /lib/modules for dkms"
elif ! command -v dkms > /dev/null; then
	fail "dkms is not installed (tools/setup.sh)"
else
	mkdir -p "$tmp/fake"
	grep -v '^CONFIG_HMM_MIRROR=' "/lib/modules/$(head -n 1 <<< "$kernels")/build/.config" > "$tmp/fake/.config"
	# shellcheck disable=SC2086
	out=$(unshare -m bash "$tmp/dkms.sh" "$d/usr/src" "$v_top" "$tmp/fake" $kernels 2>&1) || true
	for k in $kernels; do
		check "dkms build for $k gives xpmem.ko with vermagic $k" grep -qx "built $k" <<< "$out"
	done
	check "dkms skips (77) a kernel without CONFIG_HMM_MIRROR" grep -qx "excluded 77" <<< "$out"
	grep -vE '^(built|excluded) ' <<< "$out" | sed 's/^/  | /' || true
fi
mk uninstall-dkms DESTDIR="$d" || fail "make uninstall-dkms"
left=$(files_in "$d" | { grep -v '/build-.*\.log$' || true; } | tr '\n' ' ')
check "make uninstall-dkms removes the tree${left:+; left: $left}" test ! -e "$src" -a -z "$left"

# --- make install-module: the built module for KVER
d=$tmp/mod
if mk install-module DESTDIR="$d"; then
	ko=$(cd "$d" && echo lib/modules/*/updates/xpmem.ko)
	kver=${ko#lib/modules/}
	kver=${kver%%/*}
	check "make install-module puts xpmem.ko into /lib/modules/$kver/updates" test -f "$d/$ko"
	check "... the one built for $kver" cmp -s "$d/$ko" "build/kernel-$kver/xpmem.ko"
	mk uninstall-module DESTDIR="$d" || fail "make uninstall-module"
	left=$(files_in "$d" | tr '\n' ' ')
	check "make uninstall-module removes it${left:+; left: $left}" test -z "$left"
else
	fail "make install-module DESTDIR=..."
fi

echo "$np passed, $nf failed"
((nf == 0))
