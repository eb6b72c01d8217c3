#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# run-suite.sh - run the single-node integration cases inside a guest.
#
#   tests/vm/run-vm --nodes 1 -- tests/integration/run-suite.sh [CASE...]
#
# Runs as root with /dev/xpmem present.  The binaries must already be
# built on the host (make -C tests/integration): the guest's view of the
# tree is read-only.  Each case runs under a time limit, one after the
# other; between cases the gauges in /proc/xpmem/counters must return to
# 0 (polled for up to ITEST_SETTLE_MS, teardown is asynchronous).
# Prints "ok NAME", "FAIL NAME" or "skip NAME" per case, the case's own
# output indented with "#", and ends with exactly "N passed, N failed".
# Skips are counted apart (in the "# N skipped" line) and are not passes.
#
# Environment: ITEST_TIMEOUT (s, default 120), ITEST_SETTLE_MS (2000),
# ITEST_LOOPS (iterations of the loop case, default 1000; cached_ranges
# runs a tenth of that, at least 40; ITEST_CACHE_ITERS overrides).

here=$(cd "$(dirname "$0")" && pwd)
bin=${ITEST_BIN:-$here/bin}
counters=/proc/xpmem/counters
# the uapi header names the gauges; pages_mapped is the older name
gauges="contexts segments permits attachments attached_pages pages_mapped"
settle_ms=${ITEST_SETTLE_MS:-2000}
default_timeout=${ITEST_TIMEOUT:-120}

all_cases="share_both owner_munmap owner_mremap madv_dontneed owner_exit fork_cow
	migrate pageout hugepage rdonly permissions bad_input fork_fd
	whole_as attach_misc race_remap proc_segments loop cached_ranges
	segid_guess segid_bits race_mmap race_pmd cow_write
	link_key fault_around madv_free"

# per-case time limits (seconds) where the default does not fit
case_timeout() {
	case $1 in
	loop) echo $(( default_timeout * 5 )) ;;
	cached_ranges) echo $(( default_timeout * 3 )) ;;
	*) echo "$default_timeout" ;;
	esac
}

# prints "name=value" for each non-zero gauge; empty when all are 0
nonzero_gauges() {
	local k v out=""
	while read -r k v; do
		case " $gauges " in
		*" $k "*) [ "$v" != 0 ] && out="$out $k=$v" ;;
		esac
	done < "$counters"
	echo "${out# }"
}

# wait up to settle_ms for every gauge to read 0; prints leftovers
gauges_settle() {
	local waited=0 left
	while :; do
		left=$(nonzero_gauges)
		[ -z "$left" ] && return 0
		[ "$waited" -ge "$settle_ms" ] && break
		sleep 0.1
		waited=$((waited + 100))
	done
	echo "$left"
	return 1
}

if [ ! -e /dev/xpmem ] || [ ! -r "$counters" ]; then
	echo "run-suite: /dev/xpmem or $counters missing: is xpmem.ko loaded?" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

cases=${*:-$all_cases}
pass=0 fail=0 skip=0
failed="" skipped=""
out=$(mktemp /tmp/xpmem-itest.XXXXXX 2>/dev/null || echo /dev/shm/xpmem-itest.$$)

leaked=$(nonzero_gauges)
[ -n "$leaked" ] && echo "# warning: gauges not 0 before the first case: $leaked"

for c in $cases; do
	if [ ! -x "$bin/$c" ]; then
		echo "FAIL $c"
		echo "#   $bin/$c not built (make -C tests/integration)"
		fail=$((fail + 1)); failed="$failed $c"
		continue
	fi
	t=$(case_timeout "$c")
	start=$(date +%s.%N)
	timeout -k 5 "$t" "$bin/$c" > "$out" 2>&1
	rc=$?
	secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}')
	why=""
	case $rc in
	0) verdict=ok ;;
	77) verdict=skip ;;
	124|137) verdict=FAIL; why="timed out after ${t}s" ;;
	*) verdict=FAIL; why="exit status $rc" ;;
	esac
	if ! left=$(gauges_settle); then
		if [ -n "$leaked" ] && [ "$left" = "$leaked" ]; then
			# an earlier case's leak, already reported there
			why="${why:+$why; }gauges still at $left (leaked earlier)"
		else
			verdict=FAIL
			why="${why:+$why; }gauges not 0 ${settle_ms} ms after the case: $left"
		fi
	fi
	leaked=$left
	echo "$verdict $c"
	sed 's/^/#   /' "$out"
	[ -n "$why" ] && echo "#   $why"
	echo "#   (${secs}s)"
	case $verdict in
	ok) pass=$((pass + 1)) ;;
	skip) skip=$((skip + 1)); skipped="$skipped $c" ;;
	*) fail=$((fail + 1)); failed="$failed $c" ;;
	esac
done
rm -f "$out"

echo "# counters after the suite:"
sed 's/^/#   /' "$counters"
[ -n "$failed" ] && echo "# failed:$failed"
echo "# $skip skipped${skipped:+:$skipped}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
