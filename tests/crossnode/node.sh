#!/bin/bash
# Runs in every guest (tests/vm/run-vm): node i gets id i+1; node 0 owns
# the segments and drives the cases, the others serve as attachers.
# Arguments (from run.sh): peer-lost adds the case where the last node
# drops off the network; quick skips the largest read (debug kernel).
set -euo pipefail
cd "$(dirname "$0")"
addrs=($XPMEM_NODE_ADDRS)
me=$XPMEM_NODE_INDEX
peers=()
for i in "${!addrs[@]}"; do
	((i == me)) || peers+=($((i + 1)) "${addrs[$i]}")
done
./xnode setup $((me + 1)) "${addrs[$me]}" "${peers[@]}"
if ((me == 0)); then
	opts=()
	for a in "$@"; do
		case $a in
		peer-lost) opts+=(XNODE_PEER_LOST=1) ;;
		quick) opts+=(XNODE_QUICK=1) ;;
		esac
	done
	exec env "${opts[@]}" ./xnode drive 7700 "${addrs[@]:1}"
else
	exec ./xnode serve 7700
fi
