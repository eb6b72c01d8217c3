#!/bin/bash
# `make demo`: boots a 2-node virtual cluster (QEMU, Debian's kernel,
# Soft-RoCE between the nodes), loads the freshly built xpmem.ko on both,
# starts xpmemd on both as an admin would (nodes.conf, a 0600 cluster key,
# xpmemd.conf; tests/membership/daemon-ctl.sh), and once the daemons have
# admitted each other runs examples/cross_node: node A makes a segment and
# writes a message; node B attaches it by segid, prints it and its
# checksum and writes a reply that A reads after B's release.  Then the
# single-node examples on node A.  Extra arguments go to run-vm (e.g.
# --kernel debug).
set -euo pipefail
cd "$(dirname "$0")/../.."
make -s -C daemon
mkdir -p build/demo
rm -f build/demo/cluster.key
daemon/xpmemd --gen-key build/demo/cluster.key > /dev/null
exec tests/vm/run-vm --nodes 2 "$@" -- env XPMEMD_KEYDIR=build/demo bash -c '
	set -e
	addrs=($XPMEM_NODE_ADDRS)
	me=$XPMEM_NODE_INDEX other=$((1 - XPMEM_NODE_INDEX))
	ctl=tests/membership/daemon-ctl.sh
	$ctl configure
	$ctl start
	trap "$ctl stop" EXIT
	$ctl wait-state $((other + 1)) alive 60
	if [ "$me" = 0 ]; then
		echo "== xpmemd on both nodes; xpmemctl status on node A:"
		daemon/xpmemctl -S /tmp/xpmem/xpmemd.sock status
		echo "== node A (${addrs[0]}): examples/cross_node owner"
		examples/cross_node owner 7800
		echo "== node A: examples/local_share and examples/whole_as (one node)"
		examples/local_share && examples/whole_as
	else
		echo "== node B (${addrs[1]}): examples/cross_node attach ${addrs[0]}"
		examples/cross_node attach ${addrs[0]} 7800
	fi
	echo "== counters on this node"
	grep -E "^(faults|remote_fetches|remote_pages_served|remote_writebacks) " /proc/xpmem/counters'
