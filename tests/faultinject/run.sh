#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# run.sh - fault injection and the attach storm, inside a guest, as root:
#
#   make -C tests/faultinject
#   tests/vm/run-vm --kernel debug --cpus 2 -- tests/faultinject/run.sh
#   tests/vm/run-vm -- tests/faultinject/run.sh     # stock: storm only
#
# Tests (each one "ok NAME" or "FAIL NAME", its output indented with "#"):
#   fi-nth     fi_ops nth: the 1st, 2nd, ... allocation of every xpmem call
#              failed once (/proc/thread-self/fail-nth)
#   fi-random  fi_ops random: failslab + fail_page_alloc at FI_PROB percent,
#              aimed at the test processes only (task-filter, make-it-fail)
#   storm      fi_storm: whole-address-space segments attached both ways
#              while owners remap, fork and get SIGKILLed
#   storm-reclaim  the storm with its workers in a small memory cgroup
#              (STORM_MEM, 8M) and swap on zram: reclaim under the attachers
# After each test: the gauges of /proc/xpmem/counters back to 0, and no new
# kernel log line matching tests/vm/kernel-log-patterns.  The fault
# injection tests are skipped, with a message, on a kernel without
# /sys/kernel/debug/failslab (the stock kernel).  run-vm adds its own
# checks afterwards (kernel log, gauges, rmmod, kmemleak).
# Ends with "N passed, N failed" (skips are not passes).
#
# Environment: FI_PROB (percent, default 20), FI_ROUNDS (6), FI_ITERS (40),
# STORM_SECS (30), STORM_WORKERS (4), STORM_MEM (8M), FI_TIMEOUT (seconds
# per test, 600).

{ # parsed in full before it runs: editing this file mid-run is safe
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=$here/bin
dbg=/sys/kernel/debug
prob=${FI_PROB:-20}
rounds=${FI_ROUNDS:-6}
iters=${FI_ITERS:-40}
storm_secs=${STORM_SECS:-30}
storm_workers=${STORM_WORKERS:-4}
limit=${FI_TIMEOUT:-600}
times_big=1000000000	# "times": large, so that the injections can be counted
pass=0 fail=0 skip=0

patterns=$(grep -vE '^(#|$)' "$top/tests/vm/kernel-log-patterns")
ignore=$(grep -vE '^(#|$)' "$top/tests/vm/kernel-log-ignore" 2>/dev/null)

# new kernel log lines since mark (a line count of dmesg) that match
kernel_reports() {
	local lines
	lines=$(dmesg 2>/dev/null | tail -n +$(($1 + 1)))
	[[ -n $ignore ]] && lines=$(grep -vE -- "$ignore" <<< "$lines")
	grep -E -- "$patterns" <<< "$lines"
}

gauges() {
	awk '$1 ~ /^(contexts|segments|permits|attachments|attached_pages)$/ && $2 != 0 {
		printf "%s%s=%s", sep, $1, $2; sep = " " }' /proc/xpmem/counters
}

# run_test NAME CMD...: time limit, gauges, kernel log
run_test() {
	local name=$1 mark rc start left reports out
	shift
	mark=$(dmesg 2>/dev/null | wc -l)
	start=$(date +%s)
	out=$(timeout --signal=KILL "$limit" "$@" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/# /'
	local ok=1 why=""
	if ((rc == 137)); then
		ok=0 why="killed after ${limit}s (hang?)"
	elif ((rc != 0)); then
		ok=0 why="exit status $rc"
	fi
	for _ in $(seq 50); do
		left=$(gauges)
		[[ -z $left ]] && break
		sleep 0.2
	done
	[[ -n $left ]] && { ok=0; why="$why; gauges not 0: $left"; }
	reports=$(kernel_reports "$mark")
	if [[ -n $reports ]]; then
		ok=0 why="$why; kernel log:"
		echo "# --- kernel log of $name (first 200 lines from the first report) ---"
		dmesg | tail -n +$((mark + 1)) |
			awk -v pat="$patterns" 'BEGIN { n = split(pat, p, "\n") }
			{ for (i = 1; i <= n && !on; i++) if ($0 ~ p[i]) on = 1 }
			on && c++ < 200' | sed 's/^/# /'
	fi
	if ((ok)); then
		echo "ok $name ($(($(date +%s) - start)) s)"
		pass=$((pass + 1))
	else
		echo "FAIL $name ($(($(date +%s) - start)) s): ${why#; }"
		[[ -n $reports ]] && head -n 5 <<< "$reports" | sed 's/^/#   /'
		fail=$((fail + 1))
	fi
}

set_attr() {	# set_attr DIR FILE VALUE
	if ! echo "$3" > "$dbg/$1/$2" 2>/dev/null; then
		echo "# cannot write $3 to $dbg/$1/$2"
		return 1
	fi
}

setup_fault_attrs() {	# setup_fault_attrs PROBABILITY
	local f ok=0
	for f in failslab fail_page_alloc; do
		set_attr $f task-filter Y &&
		set_attr $f probability "$1" &&
		set_attr $f interval 1 &&
		set_attr $f times "$times_big" &&
		set_attr $f space 0 &&
		set_attr $f verbose 0 &&
		set_attr $f ignore-gfp-wait N || ok=1
	done
	set_attr fail_page_alloc min-order 0 &&
	set_attr fail_page_alloc ignore-gfp-highmem N || ok=1
	return $ok
}

injected() {	# failures injected since setup_fault_attrs, per facility
	local f out=""
	for f in failslab fail_page_alloc; do
		out="$out $f=$((times_big - $(cat "$dbg/$f/times")))"
	done
	echo "${out# }"
}

faults_off() {
	local f
	for f in failslab fail_page_alloc; do
		echo 0 > "$dbg/$f/probability" 2>/dev/null
		echo -1 > "$dbg/$f/times" 2>/dev/null
	done
}

if [[ ! -e /dev/xpmem || ! -r /proc/xpmem/counters ]]; then
	echo "faultinject: /dev/xpmem or /proc/xpmem/counters missing: is xpmem.ko loaded?"
	echo "0 passed, 1 failed"
	exit 1
fi
if [[ ! -x $bin/fi_ops || ! -x $bin/fi_storm ]]; then
	echo "faultinject: $bin/fi_ops or fi_storm missing: run make -C tests/faultinject on the host"
	echo "0 passed, 1 failed"
	exit 1
fi
mountpoint -q "$dbg" || mount -t debugfs debugfs "$dbg" 2>/dev/null
echo "# kernel $(uname -r), $(nproc) cpus, gauges before: $(gauges)"

if [[ -d $dbg/failslab && -d $dbg/fail_page_alloc && -e /proc/self/make-it-fail ]]; then
	trap faults_off EXIT
	if setup_fault_attrs 0; then
		run_test fi-nth "$bin/fi_ops" nth
		echo "# injected: $(injected)"
	else
		echo "FAIL fi-nth: cannot configure fault injection"
		fail=$((fail + 1))
	fi
	if setup_fault_attrs "$prob"; then
		echo "# failslab and fail_page_alloc: probability $prob%, interval 1," \
			"task-filter Y, ignore-gfp-wait N, min-order 0"
		run_test fi-random "$bin/fi_ops" random "$rounds" "$iters"
		echo "# injected: $(injected)"
	else
		echo "FAIL fi-random: cannot configure fault injection"
		fail=$((fail + 1))
	fi
	faults_off
else
	echo "skip fi-nth fi-random: this kernel ($(uname -r)) has no $dbg/failslab" \
		"or fail_page_alloc (needs CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC," \
		"CONFIG_FAULT_INJECTION_DEBUG_FS: boot --kernel debug)"
	skip=$((skip + 2))
fi

run_test storm "$bin/fi_storm" "$storm_secs" "$storm_workers"

# The storm again with the workers in a small memory cgroup and zram swap:
# reclaim unmaps their pages (notifier from reclaim), attachers swap them in.
storm_cg=/sys/fs/cgroup/xpmem-storm
reclaim_setup() {
	local out
	if ! grep -q zram0 /proc/swaps; then
		[[ -e /sys/block/zram0 ]] || modprobe zram num_devices=1 2>/dev/null
		[[ -e /sys/block/zram0 ]] || { echo "no zram"; return 1; }
		echo 256M > /sys/block/zram0/disksize 2>/dev/null
		out=$(mkswap /dev/zram0 2>&1 && swapon /dev/zram0 2>&1) ||
			{ echo "swap on zram0: $out"; return 1; }
	fi
	mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup ||
		{ echo "cannot mount cgroup2"; return 1; }
	echo +memory > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
	mkdir -p "$storm_cg" && echo "${STORM_MEM:-8M}" > "$storm_cg/memory.max" ||
		{ echo "no memory controller"; return 1; }
}
if why=$(reclaim_setup); then
	echo "# storm-reclaim: workers in $storm_cg, memory.max $(cat "$storm_cg/memory.max"), swap on zram0"
	swaps() { awk '$1 == "pswpin" { i = $2 } $1 == "pswpout" { o = $2 } END { print i, o }' /proc/vmstat; }
	read -r in0 out0 <<< "$(swaps)"
	run_test storm-reclaim env STORM_CGROUP="$storm_cg" "$bin/fi_storm" \
		"$storm_secs" "$storm_workers"
	read -r in1 out1 <<< "$(swaps)"
	echo "# pages swapped during storm-reclaim: out $((out1 - out0)), in $((in1 - in0))"
	rmdir "$storm_cg" 2>/dev/null
	swapoff /dev/zram0 2>/dev/null
else
	echo "skip storm-reclaim: $why"
	skip=$((skip + 1))
fi

echo "# $skip skipped"
echo "$pass passed, $fail failed"
((fail == 0))
exit
}
