#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# run.sh - `make consumer-test`: Open MPI's XPMEM single-copy path on xpmem.ko.
#
#   tests/consumer/run.sh [run-vm options, e.g. --kernel 6.12]
#
# Builds Open MPI from Debian's source package against this project's
# libxpmem (build-openmpi.sh, cached), builds the MPI test programs, then
# boots one guest (2 vCPUs, 2 GiB) that runs run-openmpi.sh.  Everything
# runs under nice -n 19.  Ends with "N passed, N failed": the cases of
# run-openmpi.sh, plus one failure if the build or the guest failed.
# Environment: LOGDIR (default build/vm-consumer/DATE), and those of
# run-openmpi.sh (CONSUMER_ITERS ...), passed into the guest.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/vm/last-result.sh
logdir=${LOGDIR:-$top/build/vm-consumer/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$logdir"

t0=$(date +%s)
if ! nice -n 19 tests/consumer/build-openmpi.sh 2>&1 | tee "$logdir/build-openmpi.log"; then
	echo "consumer-test: Open MPI build failed (log: $logdir/build-openmpi.log)"
	echo "0 passed, 1 failed"
	exit 1
fi
t1=$(date +%s)
nice -n 19 make -s -C tests/consumer
envs=()
for v in CONSUMER_ITERS CONSUMER_BLOCK CONSUMER_NP CONSUMER_TIMEOUT; do
	[[ -n ${!v:-} ]] && envs+=("$v=${!v}")
done
rc=0
nice -n 19 tests/vm/run-vm --mem 2048 --cpus 2 --timeout 2400 --logdir "$logdir/vm" "$@" -- \
	env ${envs[@]+"${envs[@]}"} tests/consumer/run-openmpi.sh 2>&1 | tee "$logdir/run-vm.log" || rc=$?
t2=$(date +%s)
echo "consumer-test: Open MPI build/check $((t1 - t0))s, guest $((t2 - t1))s, logs $logdir"
if r=$(last_result "$logdir/vm/node0.out"); then
	read -r p f <<< "$r"
else
	p=0 f=0
fi
# a guest that failed on its own checks (kernel report, leaked gauge,
# rmmod) fails the run even when every case passed
if [[ $rc != 0 && $f == 0 ]]; then
	f=1
	echo "consumer-test: run-vm failed (see $logdir/run-vm.log)"
fi
echo "$p passed, $f failed"
[[ $f == 0 ]]
