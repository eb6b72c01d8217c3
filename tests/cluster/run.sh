#!/bin/bash
# 2-node transport tests of xpmem.ko (RDMA connections, ping, credits,
# authentication of peers, fencing on timeout, killability, unload with
# live connections).  Builds tools/xpmem-node, then boots two guests with
# tests/vm/run-vm; extra arguments go to run-vm (e.g. --kernel debug).
# The module must be built already (make kernel KVER=...).
# Last line: "N passed, N failed" (run-vm's own checks count as one test).
set -uo pipefail
cd "$(dirname "$0")/../.."
make -s -C tools || exit 1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
tests/vm/run-vm --nodes 2 "$@" -- tests/cluster/transport.sh | tee "$out"
rc=${PIPESTATUS[0]}
p=0 f=0
while read -r a b; do
	p=$((p + a)) f=$((f + b))
done < <(sed -nE 's/^\[node[0-9]+\] ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$out")
# run-vm's checks (kernel log, gauges, rmmod, kmemleak) as one more test.
if ((rc == 0)); then p=$((p + 1)); else f=$((f + 1)); fi
echo "cluster: $(grep -E '^\[node[0-9]+\] (median|rtt)' "$out" | tr '\n' ' ')"
echo "$p passed, $f failed"
((rc == 0 && f == 0))
