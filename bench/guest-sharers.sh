#!/bin/bash
# Runs in every guest of the many-sharer bench (bench/run.sh sharers,
# tests/vm/run-vm --nodes 8): node i gets id i+1.  Node 0 owns one page
# that the other nodes attach; it first measures its own transport round
# trip to node 1 (xpmem_ping 64 B, the same direction as an INVALIDATE:
# the owner calls, a sharer answers) and to 2, 4 and 7 nodes at once
# (xpmem-node ping with several --id), then times its munmap with 1, 2, 4
# and 7 sharers holding the page (bench_remote sharers).  Figures (JSON
# lines) go to stdout and to $XPMEM_LOGDIR/bench.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
addrs=($XPMEM_NODE_ADDRS)
me=$XPMEM_NODE_INDEX
out=$XPMEM_LOGDIR/bench.jsonl
: > "$out"
emit() { tee -a "$out"; }

tools/xpmem-node set --id $((me + 1)) --addr "${addrs[$me]}" --key "$XPMEM_CLUSTER_KEY"
for i in "${!addrs[@]}"; do
	((i == me)) || tools/xpmem-node add-peer --id $((i + 1)) --addr "${addrs[$i]}"
done

if ((me == 0)); then
	# Named apart from the 2-node run's xpmem_ping: each ratio of this
	# run is against a reference of this run (bench/report.jq).
	tools/xpmem-node ping --id 2 --size 64 --count 100 |
		awk '/rtt min/ {
			printf "{\"name\":\"sharers_xpmem_ping\",\"size\":64,\"unit\":\"us\",\"median\":%s,\"min\":%s,\"max\":%s,\"n\":%d,\"avg\":%s}\n",
				$12, $10, $16, $3, $14 }' | emit
	# The transport's own fan-out: 2, 4 and 7 sharers pinged at once, a
	# round ending at the last reply: the floor of an invalidation
	# those sharers must all ack, under this host's vCPU contention.
	for k in 2 4 7; do
		ids=()
		for ((j = 2; j <= k + 1; j++)); do ids+=(--id "$j"); done
		tools/xpmem-node ping "${ids[@]}" --size 64 --count 50 |
			awk -v k="$k" '/at once/ {
				for (i = 1; i < NF; i++) v[$i] = $(i + 1)
				printf "{\"name\":\"sharers_ping_fanout%d\",\"size\":64,\"unit\":\"us\",\"median\":%s,\"min\":%s,\"max\":%s,\"n\":%d,\"avg\":%s,\"nodes\":%d}\n",
					k, v["median"], v["min"], v["max"], v["once:"], v["avg"], k }' | emit
	done
	bench/bench_remote sharers 7711 "${addrs[@]:1}" | emit
else
	bench/bench_remote serve 7711 | emit
fi
