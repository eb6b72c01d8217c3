#!/bin/bash
# Cross-node segment tests: NODES guests (default 2) over Soft-RoCE; the
# owner (node 0) drives the cases.  Extra arguments go to run-vm.
set -euo pipefail
cd "$(dirname "$0")/../.."
make -s -C tests/crossnode
exec tests/vm/run-vm --nodes "${NODES:-2}" "$@" -- tests/crossnode/node.sh
