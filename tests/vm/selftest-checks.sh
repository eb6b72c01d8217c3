#!/bin/bash
# Proves that run-vm's checks can fail: each case boots one stock guest and
# expects run-vm to PASS or to FAIL with a given reason.  Uses a stand-in
# module (tests/vm/fixture) for the gauge and rmmod checks.
set -euo pipefail
{ # parsed in full before it runs: editing this file mid-run is safe
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
KVER=$(ls -1 /boot/vmlinuz-*-amd64 | sort -V | tail -n 1 | sed 's|.*/vmlinuz-||')
FIX=$REPO/build/vm/fixture-$KVER

mkdir -p "$FIX"
cp "$HERE/fixture/Kbuild" "$HERE/fixture/xpmem_fixture.c" "$FIX/"
make -s -C "/lib/modules/$KVER/build" M="$FIX" modules > "$FIX/build.log" 2>&1 ||
	{ cat "$FIX/build.log"; exit 1; }

failed=0
# expect PASS|FAIL REGEX-of-the-reason -- run-vm arguments
case_() {
	local want=$1 why=$2 out rc=0
	shift 3
	out=$("$HERE/run-vm" --kernel stock --timeout 120 -q "$@" 2>&1) || rc=$?
	if { [[ $want == PASS && $rc == 0 ]] || [[ $want == FAIL && $rc != 0 ]]; } &&
		grep -qE "$why" <<< "$out"; then
		echo "selftest-checks: ok   ($want: $why)"
	else
		echo "selftest-checks: BAD  expected $want ($why), got exit $rc:"
		sed 's/^/    /' <<< "$out"
		failed=1
	fi
}
case_ PASS 'PASS' -- --module "$FIX/xpmem.ko" -- true
case_ FAIL 'command exited with status 3' -- --no-module -- sh -c 'exit 3'
case_ FAIL 'kernel log .* matches|WARNING: selftest' -- --no-module -- \
	sh -c 'echo "WARNING: selftest of the kernel log check" > /dev/kmsg'
case_ FAIL 'leaked gauge .*attachments = 2' -- --module "$FIX/xpmem.ko" --module-args leak=2 -- true
case_ FAIL 'rmmod xpmem failed' -- --module "$FIX/xpmem.ko" --module-args pin=1 -- true
case_ FAIL 'timed out after 20s in stage run' -- --no-module --timeout 20 -- sleep 60
if ((failed)); then
	echo "selftest-checks: FAIL"
	exit 1
fi
echo "selftest-checks: PASS"
exit 0
}
