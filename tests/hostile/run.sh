#!/bin/bash
# The hostile-peer test (issue 14) in 2 guests: node 2 attacks node 1's
# kernel (forged identities, replays, messages before authentication,
# malformed and mutated messages of a keyed test peer) while a genuine
# attacher on node 2 keeps using a segment of node 1.  Per-case PASS/FAIL,
# then "N passed, N failed".  Options before the run-vm arguments:
#   --fuzz N     mutated messages (default 100000)
#   --seed S     their seed (default 0x5eed14; printed, for replays)
#   --only LIST  only these attacks, a comma list of unprivileged,
#                root-without-key, keyed-test-peer (the final checks of
#                the genuine attacher, the gauges and the canary always run)
set -euo pipefail
cd "$(dirname "$0")/../.."
fuzz=100000 seed=0x5eed14 only=
while [[ ${1:-} == --fuzz || ${1:-} == --seed || ${1:-} == --only ]]; do
	case $1 in
	--fuzz) fuzz=$2 ;;
	--seed) seed=$2 ;;
	--only) only=$2 ;;
	esac
	shift 2
done
for step in ${only//,/ }; do
	case $step in
	unprivileged | root-without-key | keyed-test-peer) ;;
	*) echo "run.sh: --only: no attack named '$step'" >&2; exit 2 ;;
	esac
done
make -s -C libxpmem
make -s -C tools
make -s -C tests/hostile
exec tests/vm/run-vm --nodes 2 "$@" -- tests/hostile/node.sh "$fuzz" "$seed" "$only"
