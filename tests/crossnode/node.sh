#!/bin/bash
# Runs in every guest (tests/vm/run-vm): node i gets id i+1; node 0 owns
# the segments and drives the cases, the others serve as attachers.
# XNODE_PEER_LOST=1 (from run.sh --peer-lost) adds the case where the
# last node drops off the network.
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
	exec env ${1:+XNODE_PEER_LOST=1} ./xnode drive 7700 "${addrs[@]:1}"
else
	exec ./xnode serve 7700
fi
