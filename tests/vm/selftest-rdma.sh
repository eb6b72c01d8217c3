#!/bin/bash
# Self test of the VM harness: two guests, perftest's ib_read_lat over rxe0,
# server on node 0, client on node 1.  Extra arguments go to run-vm (e.g.
# --kernel debug, --no-module).  Prints the measured latency.
set -euo pipefail
{ # parsed in full before it runs: editing this file mid-run is safe
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ITERS=${ITERS:-1000}

# Runs in each guest.
guest='
set -u
addrs=($XPMEM_NODE_ADDRS)
opts="-d rxe0 -n '"$ITERS"' -F"
if [ "$XPMEM_NODE_INDEX" = 0 ]; then
	exec timeout 300 ib_read_lat $opts
fi
for try in $(seq 1 30); do
	# The server may not be listening yet: retry the connection.
	if timeout 300 ib_read_lat $opts "${addrs[0]}" > "$XPMEM_LOGDIR/client.out" 2>&1; then
		cat "$XPMEM_LOGDIR/client.out"
		exit 0
	fi
	grep -qiE "connect|resolve" "$XPMEM_LOGDIR/client.out" || break
	sleep 1
done
cat "$XPMEM_LOGDIR/client.out"
exit 1
'
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rc=0
"$HERE/run-vm" --nodes 2 "$@" -- bash -c "$guest" | tee "$out" || rc=$?
# perftest's result line: bytes iterations t_min t_max t_typical t_avg t_stdev 99% 99.9%
lat=$(awk '$1 == "[node1]" && $2 ~ /^[0-9]+$/ && NF >= 9 { print $6 " us (typical), " $7 " us (avg), " $2 " bytes" }' "$out" | tail -n 1)
if ((rc == 0)) && [[ -n $lat ]]; then
	echo "selftest-rdma: PASS ib_read_lat over rxe0: $lat"
else
	echo "selftest-rdma: FAIL (run-vm exit $rc${lat:+, latency $lat})"
	exit 1
fi
exit 0
}
