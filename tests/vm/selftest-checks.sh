#!/bin/bash
# Proves that run-vm's checks can fail: each case boots one stock guest and
# expects run-vm to PASS or to FAIL with a given reason.  Uses a stand-in
# module (tests/vm/fixture) for the gauge and rmmod checks.
set -euo pipefail
{ # parsed in full before it runs: editing this file mid-run is safe
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# With --debug, also the kmemleak case on the debug kernel (about 5 minutes).
debug=0
[[ ${1:-} == --debug ]] && debug=1

build_fixture() { # KVER -> prints the directory holding xpmem.ko
	local dir=$REPO/build/vm/fixture-$1
	mkdir -p "$dir"
	cp "$HERE/fixture/Kbuild" "$HERE/fixture/xpmem_fixture.c" "$dir/"
	make -s -C "/lib/modules/$1/build" M="$dir" modules > "$dir/build.log" 2>&1 ||
		{ cat "$dir/build.log" >&2; exit 1; }
	echo "$dir"
}
# the kernel run-vm boots as "stock"
KVER=$(ls -1 /boot/vmlinuz-6.1.*-amd64 | sort -V | tail -n 1 | sed 's|.*/vmlinuz-||')
FIX=$(build_fixture "$KVER")

failed=0
# expect PASS|FAIL REGEX-of-the-reason -- run-vm arguments
case_() {
	local want=$1 why=$2 out rc=0
	shift 3
	out=$("$HERE/run-vm" --timeout 120 -q "$@" 2>&1) || rc=$?
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
# A report before the module loads: the run is repeated at once, not after
# the command's 30 s (the planted line makes the second try fail too).
case_ FAIL 'repeating the run once' -- --no-module --timeout 90 -- \
	sh -c 'echo "WARNING: selftest of the boot report retry" > /dev/kmsg; sleep 30'
case_ FAIL 'leaked gauge .*attachments = 2' -- --module "$FIX/xpmem.ko" --module-args leak=2 -- true
case_ FAIL 'rmmod xpmem failed' -- --module "$FIX/xpmem.ko" --module-args pin=1 -- true
case_ FAIL 'timed out after 60s in stage run' -- --no-module --timeout 60 -- sleep 600
# A guest frozen on request (stop.J) and never killed fails the run as
# soon as the others are done, not at the timeout.
case_ FAIL 'node1: stopped on request \(stop.1\) and never killed' -- --nodes 2 --no-module -- \
	sh -c '[ "$XPMEM_NODE_INDEX" = 1 ] && exec sleep 100; : > "$XPMEM_HOST_CTL/tmp-stop.1" && mv "$XPMEM_HOST_CTL/tmp-stop.1" "$XPMEM_HOST_CTL/stop.1";
	       until [ -e "$XPMEM_HOST_CTL/stopped.1" ]; do sleep 0.2; done'
if ((debug)); then
	DKVER=$(ls -1 /boot/vmlinuz-*-xpmem-debug | sort -V | tail -n 1 | sed 's|.*/vmlinuz-||')
	DFIX=$(build_fixture "$DKVER")
	case_ FAIL 'kmemleak reports leaked xpmem objects' -- --kernel debug --cpus 2 --timeout 900 \
		--module "$DFIX/xpmem.ko" --module-args leakmem=1 -- true
fi
if ((failed)); then
	echo "selftest-checks: FAIL"
	exit 1
fi
echo "selftest-checks: PASS"
exit 0
}
