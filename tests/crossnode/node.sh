#!/bin/bash
# Runs in every guest (tests/vm/run-vm): node i gets id i+1; node 0 owns
# the segments and drives the cases, the others serve as attachers.
# Arguments (from run.sh): peer-killed adds the case where the last node's
# VM is killed by the host; quick skips the largest read (debug kernel);
# noperf skips the perftest figures; eight runs the many-sharer cases
# alone (xnode_eight.c); only=AREA runs xnode_AREA.c's cases alone; trace
# records the tracepoints of failures, fences and invalidations into
# $XPMEM_LOGDIR/trace.txt (docs/tracing.md).
set -euo pipefail
cd "$(dirname "$0")"
addrs=($XPMEM_NODE_ADDRS)
me=$XPMEM_NODE_INDEX
peers=()
for i in "${!addrs[@]}"; do
	((i == me)) || peers+=($((i + 1)) "${addrs[$i]}")
done
# The run's cluster key (tests/vm/run-vm): no key, no peer connections.
../../tools/xpmem-node set-key --key "$XPMEM_CLUSTER_KEY"
./xnode setup $((me + 1)) "${addrs[$me]}" "${peers[@]}"

# trace: what went wrong, and when, without the per-message flood.
if [[ " $* " == *" trace "* ]]; then
	tr=/sys/kernel/tracing
	[[ -e $tr/events ]] || mount -t tracefs tracefs $tr
	echo 16384 > $tr/buffer_size_kb
	for e in fence invalidate_send invalidate_ack zap_start zap_done \
		writeback writeback_serve; do
		echo 1 > $tr/events/xpmem/xpmem_$e/enable
	done
	echo 'ret < 0' > $tr/events/xpmem/xpmem_call_done/filter
	echo 0 > $tr/events/xpmem/xpmem_fetch_serve/filter	# every FETCH served
	echo 1 > $tr/events/xpmem/xpmem_call_done/enable
	echo 1 > $tr/events/xpmem/xpmem_fetch_serve/enable
	echo 1 > $tr/events/xpmem/xpmem_invalidate_serve/enable
	# FETCH (4), INVALIDATE (6) and credit messages (0x7f) on the wire:
	# a call that never got to send (no msg_send) waited for a credit
	for e in msg_send msg_recv msg_handle; do
		echo 'type == 4 || type == 6 || type == 127' > $tr/events/xpmem/xpmem_$e/filter
		echo 1 > $tr/events/xpmem/xpmem_$e/enable
	done
	# the credits every 0.5 s; blocked tasks (console) and Soft-RoCE's
	# counters (rxe.txt) at each fence (several cases fence on purpose)
	(
		f0=
		while sleep 0.5; do
			p=$(grep '^node' /proc/xpmem/peers 2>/dev/null) || continue
			t=$(cut -d' ' -f1 /proc/uptime)
			echo "$t $p" >> "$XPMEM_LOGDIR/peers.txt"
			# Each RC QP's send and receive PSNs (qp.txt) and the
			# NIC's packets queued, sent, received (net.txt): which
			# side of a stalled connection stopped.
			rdma res show qp type RC 2>&1 | sed "s/^/$t /" >> "$XPMEM_LOGDIR/qp.txt"
			{ echo "$t $(tc -s qdisc show dev eth0 | grep -o 'backlog.*' | head -n 1)" \
				"tx/rx packets, drops" \
				$(cd /sys/class/net/eth0/statistics &&
				  cat tx_packets rx_packets tx_dropped rx_dropped)
			} >> "$XPMEM_LOGDIR/net.txt"
			f=$(echo "$p" | sed -n 's/.* fences \([0-9]*\).*/\1/p' | tr '\n' ' ')
			[[ -z $f0 ]] && f0=$f
			if [[ $f != "$f0" ]]; then
				echo w > /proc/sysrq-trigger
				# Soft-RoCE's own view: retries, sequence errors
				{ echo "$(cut -d' ' -f1 /proc/uptime) fences $f"
				  grep -H . /sys/class/infiniband/rxe0/ports/1/hw_counters/*
				} >> "$XPMEM_LOGDIR/rxe.txt"
			fi
			f0=$f
		done
	) < /dev/null > /dev/null 2>&1 &
	watcher=$!
	trap 'kill $watcher 2>/dev/null || true; cat $tr/trace > "$XPMEM_LOGDIR/trace.txt"' EXIT
fi

# The link's own figures in the same run, next to which xnode's are read:
# node 1 serves perftest, node 0 measures (port 18600, not the default).
# "noperf" skips them (a loaded host, where only the cases matter), and
# so does "quick" (the debug kernel: KASAN's figures mean nothing, and a
# 64 KiB ib_read_bw there outlived its timeout again and again).  The
# client gives up after 180 s in all.
perf="-d rxe0 -F -p 18600"
perf_end=$(($(date +%s) + 180))
if [[ " $* " == *" noperf "* || " $* " == *" quick "* ]]; then
	:
elif ((me == 1)); then
	timeout 120 ib_read_lat $perf -n 300 > /dev/null 2>&1 &&
		timeout 120 ib_read_bw $perf -s 65536 -n 200 > /dev/null 2>&1 || true
elif ((me == 0)); then
	for try in $(seq 30); do
		out=$(timeout 120 ib_read_lat $perf -n 300 "${addrs[1]}" 2>&1) && break
		(($(date +%s) < perf_end)) || break
		sleep 1
	done
	echo "$out" | awk 'NF >= 9 && $1 ~ /^[0-9]+$/ { print "# figure ib_read_lat_us " $5 }'
	for try in $(seq 30); do
		out=$(timeout 120 ib_read_bw $perf -s 65536 -n 200 "${addrs[1]}" 2>&1) && break
		(($(date +%s) < perf_end)) || break
		sleep 1
	done
	echo "$out" | awk 'NF >= 5 && $1 == 65536 { print "# figure ib_read_bw_MBps " $4 }'
fi

if ((me == 0)); then
	opts=()
	for a in "$@"; do
		case $a in
		peer-killed) opts+=(XNODE_PEER_KILLED=1) ;;
		quick) opts+=(XNODE_QUICK=1) ;;
		eight) opts+=(XNODE_EIGHT=1) ;;
		only=*) opts+=(XNODE_ONLY=${a#only=}) ;;
		trace) opts+=(XNODE_TRACE=1) ;;
		esac
	done
	env "${opts[@]}" ./xnode drive 7700 "${addrs[@]:1}"
else
	./xnode serve 7700
fi
