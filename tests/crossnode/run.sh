#!/bin/bash
# Cross-node segment tests: NODES guests (default 2) over Soft-RoCE; the
# owner (node 0) drives the cases.  Options before the run-vm arguments:
#   --peer-killed  end with the last node's VM killed by the host (2 nodes:
#                  the owner's wait stays killable; 3: bounded by the timeout)
#   --quick      skip the 64 MiB read, shorter stress (debug kernel)
#   --eight      the many-sharer cases alone (xnode_eight.c): a segment
#                cached on NODES-1 sharers (default NODES 8), no perftest
#   --only AREA  only the cases of xnode_AREA.c (fault, wb, fanout, trace)
#                and the gauge check, no perftest (development runs)
#   --trace      record the xpmem tracepoints of failures, fences and
#                invalidations in every guest: LOGDIR/nodeI/trace.txt,
#                peers.txt; a fence dumps the blocked tasks (sysrq w),
#                whose call traces then fail the run: diagnostics only
set -euo pipefail
cd "$(dirname "$0")/../.."
opts=()
while [[ ${1:-} == --peer-killed || ${1:-} == --quick || ${1:-} == --eight ||
	 ${1:-} == --only || ${1:-} == --trace ]]; do
	if [[ $1 == --only ]]; then
		[[ ${2:-} =~ ^[a-z]+$ ]] || { echo "run.sh: --only AREA" >&2; exit 2; }
		opts+=("only=$2" noperf)
		shift 2
		continue
	fi
	opts+=("${1#--}")
	[[ $1 == --eight ]] && opts+=(noperf) && : "${NODES:=8}"
	shift
done
make -s -C tests/crossnode
make -s -C tools
# Two fake NUMA nodes per guest for the migration case.
exec tests/vm/run-vm --nodes "${NODES:-2}" --append numa=fake=2 "$@" -- \
	tests/crossnode/node.sh "${opts[@]}"
