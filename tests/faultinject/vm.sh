#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# vm.sh - on the host: build the programs, boot a guest, run run.sh in it.
#
#   tests/faultinject/vm.sh [RUN-VM OPTIONS...]     e.g. --kernel debug --cpus 2
#
# The module must already be built for the guest's kernel
# (make kernel KVER=6.1.192-xpmem-debug); run-vm picks it up.  Extra
# environment for run.sh (FI_PROB, STORM_SECS, ...) is passed through.
# Ends with run.sh's "N passed, N failed" (prefixed by run-vm's "[node0]").
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
make -s -C "$top/libxpmem" > /dev/null
make -s -C "$here"
envs=()
for v in FI_PROB FI_ROUNDS FI_ITERS STORM_SECS STORM_WORKERS STORM_MEM FI_TIMEOUT; do
	[[ -n ${!v:-} ]] && envs+=("$v=${!v}")
done
cd "$top"
exec tests/vm/run-vm "$@" -- env "${envs[@]}" tests/faultinject/run.sh
