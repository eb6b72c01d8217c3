#!/bin/bash
# Cross-node segment tests: NODES guests (default 2) over Soft-RoCE; the
# owner (node 0) drives the cases.  --peer-lost adds the case where the
# last node drops off the network while it holds copies.  Other arguments
# go to run-vm.
set -euo pipefail
cd "$(dirname "$0")/../.."
lost=
if [[ ${1:-} == --peer-lost ]]; then
	lost=peer-lost
	shift
fi
make -s -C tests/crossnode
exec tests/vm/run-vm --nodes "${NODES:-2}" "$@" -- tests/crossnode/node.sh $lost
