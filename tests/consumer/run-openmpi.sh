#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# run-openmpi.sh - Open MPI's XPMEM single-copy path, inside a guest.
#
#   tests/vm/run-vm --mem 2048 --cpus 2 -- tests/consumer/run-openmpi.sh
#
# Runs the MPI programs of tests/consumer/bin with the Open MPI of
# build/consumer/ompi (tests/consumer/build-openmpi.sh), one node, btl
# vader+self, and reads /proc/xpmem/counters before and after each run:
#
#   pingpong-xpmem   2 ranks, 64 KiB..16 MiB, single-copy mechanism xpmem:
#                    checksums right, and makes/gets/attaches/faults grew
#   alltoall-xpmem   4 ranks, MPI_Alltoall of 2 MiB blocks, the same
#   pingpong-none    negative control: mechanism none, checksums right,
#                    and makes/gets/attaches did not move
#
# After each run every gauge must be back to 0 (polled for 2 s).  Prints
# "ok NAME" / "FAIL NAME" with the output indented, ends with
# "N passed, N failed".  Environment: CONSUMER_ITERS (default 4),
# CONSUMER_BLOCK (alltoall block, default 2M), CONSUMER_NP (alltoall
# ranks, default 4), CONSUMER_TIMEOUT (per run, default 600 s).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
ompi=$top/build/consumer/ompi
bin=$top/tests/consumer/bin
counters=/proc/xpmem/counters
gauges="contexts segments permits attachments attached_pages"
iters=${CONSUMER_ITERS:-4}
block=${CONSUMER_BLOCK:-2M}
np=${CONSUMER_NP:-4}
tmo=${CONSUMER_TIMEOUT:-600}
pass=0 fail=0

if [[ ! -r $counters || ! -x $ompi/bin/mpirun ]]; then
	echo "run-openmpi: $counters or $ompi/bin/mpirun missing" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
# ORTE refuses the guest's default node name "(none)"
if [[ $(cat /proc/sys/kernel/hostname) == "(none)" ]]; then
	echo "xpmem-node${XPMEM_NODE_INDEX:-0}" > /proc/sys/kernel/hostname
fi
export PATH=$ompi/bin:$PATH
# the guest's root file system is the host's, read-only; /tmp is tmpfs
export TMPDIR=/tmp HOME=/tmp

snap() { # prints "name value" lines of the counters
	cat "$counters"
}
delta() { # delta FILE_BEFORE FILE_AFTER NAME
	awk -v k="$3" 'NR == FNR { if ($1 == k) b = $2; next }
		$1 == k { a = $2 } END { print a - b }' "$1" "$2"
}
gauges_zero() { # waits up to 2 s; prints the leftovers on failure
	local i k v left
	for ((i = 0; i < 20; i++)); do
		left=""
		while read -r k v; do
			[[ " $gauges " == *" $k "* && $v != 0 ]] && left+=" $k=$v"
		done < "$counters"
		[[ -z $left ]] && return 0
		sleep 0.1
	done
	echo "${left# }"
	return 1
}

# run_case NAME MECHANISM EXPECT(used|unused) NP PROGRAM ARGS...
run_case() {
	local name=$1 mech=$2 expect=$3 n=$4 why="" rc t0 secs k d left
	shift 4
	local out=/tmp/consumer-$name.out before=/tmp/consumer-$name.before after=/tmp/consumer-$name.after
	snap > "$before"
	t0=$(date +%s.%N)
	timeout -k 10 "$tmo" mpirun --allow-run-as-root --oversubscribe --bind-to none \
		-np "$n" --mca pml ob1 --mca btl vader,self \
		--mca btl_vader_single_copy_mechanism "$mech" \
		"$@" > "$out" 2>&1
	rc=$?
	secs=$(awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
	left=$(gauges_zero) || why+="; gauges not 0 after the run: $left"
	snap > "$after"
	[[ $rc == 0 ]] || why+="; mpirun exit status $rc"
	grep -q 'checksums ok' "$out" || why+="; no 'checksums ok' line"
	local line="counters:"
	for k in makes gets attaches faults fault_pages; do
		d=$(delta "$before" "$after" "$k")
		line+=" $k +$d"
		if [[ $expect == used && $k =~ ^(makes|gets|attaches|faults)$ && $d -le 0 ]]; then
			why+="; $k did not grow: the run did not go through xpmem.ko"
		fi
		if [[ $expect == unused && $k =~ ^(makes|gets|attaches)$ && $d -ne 0 ]]; then
			why+="; $k grew by $d with single-copy mechanism $mech"
		fi
	done
	if [[ -z $why ]]; then
		echo "ok $name"
		pass=$((pass + 1))
	else
		echo "FAIL $name"
		fail=$((fail + 1))
	fi
	sed 's/^/#   /' "$out"
	echo "#   $line"
	[[ -n $why ]] && echo "#   ${why#; }"
	echo "#   (${secs}s, $n ranks, single-copy mechanism $mech)"
}

run_case pingpong-xpmem xpmem used 2 "$bin/mpi_pingpong" 64K 16M "$iters"
run_case alltoall-xpmem xpmem used "$np" "$bin/mpi_alltoall" "$block" "$iters"
run_case pingpong-none none unused 2 "$bin/mpi_pingpong" 64K 16M "$iters"

echo "# counters after the runs:"
sed 's/^/#   /' "$counters"
echo "$pass passed, $fail failed"
[[ $fail == 0 ]]
