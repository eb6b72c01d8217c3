#!/bin/bash
# xpmemd in a 3-node virtual cluster (issue 4): membership, peers
# admitted by the daemons, daemon restart, wrong key, garbage at the
# daemon's port, link down and up, a node's VM killed mid-transfer.
# Options after run.sh go to tests/vm/run-vm (e.g. --kernel 6.12).
set -euo pipefail
cd "$(dirname "$0")/../.."
make -s -C tests/crossnode
make -s -C daemon
# The cluster key and a wrong one, read by the guests over the repo share.
keys=build/membership
mkdir -p "$keys"
rm -f "$keys/cluster.key" "$keys/wrong.key"
daemon/xpmemd --gen-key "$keys/cluster.key" > /dev/null
daemon/xpmemd --gen-key "$keys/wrong.key" > /dev/null
exec tests/vm/run-vm --nodes 3 --timeout 420 "$@" -- tests/membership/node.sh
