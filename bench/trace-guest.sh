#!/bin/bash
# Runs in both guests of bench/trace.sh: ftrace of cross-node round
# trips through xpmem's tracepoints (trace system xpmem, docs/tracing.md)
# and the packets on eth0.  Node 1 (the attacher) drives, node 0 (the
# owner) serves:
#   ping        node 1 pings node 0 (xpmem-node ping, 64 bytes)
#   invalidate  node 0 munmaps a page node 1 holds a copy of, which
#               node 1 faults in again before each munmap (bench_remote):
#               both the invalidation and the remote fault
# Each node's trace goes to $XPMEM_LOGDIR/trace.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=$1
addrs=($XPMEM_NODE_ADDRS)
me=$XPMEM_NODE_INDEX
other=$((1 - me))
tools/xpmem-node set --id $((me + 1)) --addr "${addrs[$me]}" --key "$XPMEM_CLUSTER_KEY"
tools/xpmem-node add-peer --id $((other + 1)) --addr "${addrs[$other]}"

T=/sys/kernel/tracing
mountpoint -q $T || mount -t tracefs tracefs $T
echo 32768 > $T/buffer_size_kb
echo > $T/trace
if [[ ! -d $T/events/xpmem ]]; then
	echo "trace-guest: no xpmem tracepoints in $T/events (module too old?)" >&2
	exit 1
fi
echo 1 > $T/events/xpmem/enable
for e in net/netif_receive_skb net/net_dev_xmit; do
	echo 1 > $T/events/$e/enable
done

ready() { touch "$XPMEM_HOST_CTL/ready.$1"; }
wait_for() { while [[ ! -e $XPMEM_HOST_CTL/$1 ]]; do sleep 0.2; done; }
case $mode in
ping)
	ready $me
	wait_for ready.$other
	if ((me == 1)); then
		tools/xpmem-node ping --id 1 --size 64 --count 20 > /dev/null || true
		echo > $T/trace
		tools/xpmem-node ping --id 1 --size 64 --count 200 | tail -n 1
		touch "$XPMEM_HOST_CTL/done"
	else
		wait_for done
	fi
	;;
invalidate)
	if ((me == 1)); then
		bench/bench_remote serve 7711
	else
		BENCH_ONLY=invalidate bench/bench_remote drive "${addrs[1]}" 7711
	fi
	;;
*)
	echo "trace-guest: unknown mode $mode" >&2
	exit 2
	;;
esac
echo 0 > $T/tracing_on
cp $T/trace "$XPMEM_LOGDIR/trace.txt"
echo 0 > $T/events/enable
