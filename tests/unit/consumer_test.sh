#!/bin/sh
# consumer_test.sh - install libxpmem into a staging DESTDIR, build a
# consumer with `pkg-config --cflags --libs` for both cray-xpmem and
# xpmem, run it, check the exported symbols and the soname, and check
# that uninstall removes every file install created.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
CC=${CC:-cc}
prefix=/opt/xpmem-test
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

ok()   { echo "ok    $*"; }
fail() { echo "FAIL  $*"; fails=$((fails + 1)); }

make -s -C "$top/libxpmem" install DESTDIR="$tmp/root" PREFIX="$prefix" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; echo "FAIL  make install"; exit 1; }
ok "make install DESTDIR=... PREFIX=$prefix"

libdir="$tmp/root$prefix/lib"
for f in include/xpmem.h include/xpmem_uapi.h lib/libxpmem.so.0.1.0 \
	 lib/libxpmem.a lib/pkgconfig/xpmem.pc lib/pkgconfig/cray-xpmem.pc \
	 share/man/man3/xpmem_make.3 share/man/man3/xpmem_init.3; do
	if [ -f "$tmp/root$prefix/$f" ]; then ok "installed $f"; else fail "missing $f"; fi
done
for l in libxpmem.so.0 libxpmem.so; do
	if [ -L "$libdir/$l" ] && [ -e "$libdir/$l" ]; then ok "symlink $l -> $(readlink "$libdir/$l")"
	else fail "symlink $l"; fi
done

# The .pc files carry the PREFIX; the sysroot maps them into the staging tree.
export PKG_CONFIG_PATH="$libdir/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$tmp/root"
export PKG_CONFIG_LIBDIR="$libdir/pkgconfig"
for pc in cray-xpmem xpmem; do
	if ! flags=$(pkg-config --cflags --libs "$pc"); then
		fail "pkg-config $pc"; continue
	fi
	pcfile="$libdir/pkgconfig/$pc.pc"
	grep -qx "Name: $pc" "$pcfile" && ok "$pc.pc Name: $pc" || fail "$pc.pc Name"
	grep -qx "prefix=$prefix" "$pcfile" && ok "$pc.pc prefix=$prefix" || fail "$pc.pc prefix"
	# shellcheck disable=SC2086
	if "$CC" -Wall -Werror -o "$tmp/consumer-$pc" "$here/consumer.c" $flags; then
		ok "consumer links with pkg-config $pc: $flags"
	else
		fail "consumer link with pkg-config $pc"; continue
	fi
	if out=$(LD_LIBRARY_PATH="$libdir" "$tmp/consumer-$pc"); then
		ok "consumer runs: $out"
	else
		fail "consumer-$pc exited $?"
	fi
	needed=$(readelf -d "$tmp/consumer-$pc" | sed -n 's/.*(NEEDED).*\[\(libxpmem[^]]*\)\].*/\1/p')
	[ "$needed" = libxpmem.so.0 ] && ok "consumer NEEDED $needed" || fail "consumer NEEDED '$needed'"
done

# Plain -lxpmem, static archive too.
if "$CC" -o "$tmp/consumer-l" "$here/consumer.c" -I"$tmp/root$prefix/include" -L"$libdir" -lxpmem &&
   LD_LIBRARY_PATH="$libdir" "$tmp/consumer-l" >/dev/null; then ok "consumer with -lxpmem"
else fail "consumer with -lxpmem"; fi
if "$CC" -o "$tmp/consumer-a" "$here/consumer.c" -I"$tmp/root$prefix/include" "$libdir/libxpmem.a" -pthread &&
   "$tmp/consumer-a" >/dev/null; then ok "consumer with libxpmem.a"
else fail "consumer with libxpmem.a"; fi

soname=$(readelf -d "$libdir/libxpmem.so.0" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[ "$soname" = libxpmem.so.0 ] && ok "SONAME $soname" || fail "SONAME '$soname'"

# Exactly the API is exported: nothing internal leaks.
expected="xpmem_attach xpmem_detach xpmem_get xpmem_init xpmem_make xpmem_release xpmem_remove xpmem_sync xpmem_version"
exported=$(nm -D --defined-only "$libdir/libxpmem.so.0" | awk '{print $3}' | sort | tr '\n' ' ' | sed 's/ $//')
if [ "$exported" = "$expected" ]; then ok "exported: $exported"
else fail "exported symbols: '$exported', expected '$expected'"; fi

make -s -C "$top/libxpmem" uninstall DESTDIR="$tmp/root" PREFIX="$prefix" >/dev/null
left=$(find "$tmp/root" ! -type d | sed "s|$tmp/root||")
[ -z "$left" ] && ok "uninstall removed every file" || fail "left after uninstall: $left"

if [ "$fails" -ne 0 ]; then echo "consumer_test: $fails FAILED"; exit 1; fi
echo "consumer_test: all passed"
