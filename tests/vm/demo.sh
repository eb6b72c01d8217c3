#!/bin/bash
# `make demo`: boots a QEMU guest of Debian's kernel, loads the freshly
# built xpmem.ko and runs the examples: two processes share a buffer, then
# the Open MPI pattern (whole address space segment).  Extra arguments go
# to run-vm (e.g. --kernel debug).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec tests/vm/run-vm --nodes 1 "$@" -- sh -c '
	set -e
	echo "== examples/local_share: parent exports a buffer, child attaches it"
	examples/local_share
	echo "== examples/whole_as: the whole address space as one segment"
	examples/whole_as
	echo "== /proc/xpmem/counters"
	cat /proc/xpmem/counters'
