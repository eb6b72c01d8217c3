#!/bin/bash
# Runs in both guests of the cross-node bench (bench/run.sh, tests/vm/run-vm
# --nodes 2): node i gets id i+1.  First perftest on the same link (server
# on node 0, the owner; client on node 1, the attacher, which reads in the
# same direction as the attacher's fetches; then ib_send_lat 64 B, the
# two-sided round trip), then bench_remote: node 1
# serves, node 0 drives.  Figures (JSON lines) go to stdout and to
# $XPMEM_LOGDIR/bench.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
addrs=($XPMEM_NODE_ADDRS)
me=$XPMEM_NODE_INDEX
out=$XPMEM_LOGDIR/bench.jsonl
: > "$out"
emit() { tee -a "$out"; }

other=$((1 - me))
tools/xpmem-node set --id $((me + 1)) --addr "${addrs[$me]}" --key "$XPMEM_CLUSTER_KEY"
tools/xpmem-node add-peer --id $((other + 1)) --addr "${addrs[$other]}"

# perftest runs: "lat SIZE ITERS" or "bw SIZE ITERS", each on its own port.
tests=("lat 2 1000" "lat 4096 500" "lat 65536 100"
	"bw 65536 300" "bw 65536 300" "bw 65536 300"
	"bw 4096 1000" "bw 8192 600" "bw 16384 400" "bw 32768 300")
port=18600
for t in "${tests[@]}"; do
	read -r kind size iters <<< "$t"
	cmd=(timeout 120 "ib_read_$kind" -d rxe0 -F -p $port -s "$size" -n "$iters")
	[[ $kind == bw ]] && cmd+=(--report_gbits)
	port=$((port + 1))
	if ((me == 0)); then
		"${cmd[@]}" > /dev/null 2>&1 || echo "bench: ib_read_$kind server $size failed" >&2
		continue
	fi
	res=""
	for try in $(seq 30); do
		res=$("${cmd[@]}" "${addrs[0]}" 2>&1) && break
		res=""
		sleep 1
	done
	if [[ -z $res ]]; then
		echo "bench: ib_read_$kind -s $size did not run" >&2
		exit 1
	fi
	if [[ $kind == lat ]]; then
		# bytes iterations t_min t_max t_typical t_avg t_stdev 99% 99.9%
		awk -v s="$size" 'NF >= 9 && $1 == s {
			printf "{\"name\":\"ib_read_lat\",\"size\":%d,\"unit\":\"us\",\"median\":%s,\"min\":%s,\"max\":%s,\"n\":%d,\"avg\":%s,\"p99\":%s}\n",
				$1, $5, $3, $4, $2, $6, $8 }' <<< "$res" | emit
	else
		# bytes iterations BW_peak BW_average MsgRate (Gb/s: 10^9 bit/s)
		awk -v s="$size" 'NF >= 5 && $1 == s {
			printf "{\"name\":\"ib_read_bw\",\"size\":%d,\"unit\":\"MB/s\",\"median\":%.6g,\"peak\":%.6g,\"n\":%d}\n",
				$1, $4 * 125, $3 * 125, $2 }' <<< "$res" | emit
	fi
done

# perftest's two-sided round trip on the same link: ib_send_lat 64 B
# (SEND and a SEND back, like xpmem's request and reply; perftest
# reports half of the round trip, so ib_send_rtt is twice its figures).
cmd=(timeout 120 ib_send_lat -d rxe0 -F -p $port -s 64 -n 1000)
if ((me == 0)); then
	"${cmd[@]}" > /dev/null 2>&1 || echo "bench: ib_send_lat server failed" >&2
else
	res=""
	for try in $(seq 30); do
		res=$("${cmd[@]}" "${addrs[0]}" 2>&1) && break
		res=""
		sleep 1
	done
	[[ -n $res ]] || { echo "bench: ib_send_lat did not run" >&2; exit 1; }
	awk 'NF >= 9 && $1 == 64 {
		printf "{\"name\":\"ib_send_lat\",\"size\":64,\"unit\":\"us\",\"median\":%s,\"min\":%s,\"max\":%s,\"n\":%d,\"avg\":%s,\"p99\":%s}\n",
			$5, $3, $4, $2, $6, $8
		printf "{\"name\":\"ib_send_rtt\",\"size\":64,\"unit\":\"us\",\"median\":%.3f,\"min\":%.3f,\"max\":%.3f,\"n\":%d,\"avg\":%.3f,\"note\":\"2x ib_send_lat\"}\n",
			2 * $5, 2 * $3, 2 * $4, $2, 2 * $6 }' <<< "$res" | emit
fi

if ((me == 1)); then
	# The kernel transport's own round trip (PING, echoed by the owner's
	# receive worker): what every FETCH, WRITEBACK and INVALIDATE pays.
	for size in 64 4096; do
		tools/xpmem-node ping --id 1 --size $size --count 100 |
			awk -v s=$size '/rtt min/ {
				printf "{\"name\":\"xpmem_ping\",\"size\":%d,\"unit\":\"us\",\"median\":%s,\"min\":%s,\"max\":%s,\"n\":%d,\"avg\":%s}\n",
					s, $12, $10, $16, $3, $14 }' | emit
	done
	bench/bench_remote serve 7710 | emit
else
	bench/bench_remote drive "${addrs[1]}" 7710 | emit
fi
