#!/bin/bash
# bench/trace.sh ping|invalidate [LOGDIR]: where a cross-node round trip's
# time goes.  Boots 2 guests (tests/vm/run-vm), traces the round trips
# with ftrace (kprobes on the transport and the packets on eth0, see
# bench/trace-guest.sh) and prints, per node, the median of every stage
# (bench/trace-stages.awk).  Tracing slows every step down; compare
# stages with each other, not with `make bench`'s figures.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: bench/trace.sh ping|invalidate [LOGDIR]}
logdir=${2:-build/bench/trace-$mode}
rm -rf "$logdir"
tests/vm/run-vm --nodes 2 -q --logdir "$logdir" -- bench/trace-guest.sh "$mode" | tail -n 1
for n in 0 1; do
	echo "node$n (median, n)"
	awk -f bench/trace-stages.awk "$logdir/node$n/trace.txt" | sort -k1,1 -k2,2 -k3,3n |
		awk '{ k = $1 " " $2; v[k, ++c[k]] = $3; if (!(k in seen)) { seen[k] = 1; order[++m] = k } }
		END { for (i = 1; i <= m; i++) { k = order[i]; printf "  %-40s %6d us  (%d)\n", k, v[k, int((c[k] + 1) / 2)], c[k] } }'
done
