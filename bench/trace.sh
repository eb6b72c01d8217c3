#!/bin/bash
# bench/trace.sh ping|invalidate [LOGDIR]: where a cross-node round trip's
# time goes.  Boots 2 guests (tests/vm/run-vm), records xpmem's
# tracepoints and the packets on eth0 with ftrace (bench/trace-guest.sh)
# and prints, per node, the median of every stage of every operation
# (bench/trace-stages.awk): "invalidate" gives the owner's invalidation
# and the attacher's remote fault, "ping" the transport's bare round
# trip.  Tracing slows every step down a little; compare stages with each
# other, not with `make bench`'s figures.
#
# Every sample goes to LOGDIR/stages.txt ("WHO STAGE MICROSECONDS", the
# host's load and the date in # lines), which bench/scale_model reads
# (docs/scaling.md).  TRACE_KERNEL picks the guests' kernel (run-vm
# --kernel; default stock).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: bench/trace.sh ping|invalidate [LOGDIR]}
case $mode in
ping | invalidate) ;;
*) echo "usage: bench/trace.sh ping|invalidate [LOGDIR]" >&2; exit 2 ;;
esac
logdir=${2:-build/bench/trace-$mode}
rm -rf "$logdir"
mkdir -p "$logdir"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date -u '+%Y-%m-%d %H:%M UTC')
tests/vm/run-vm --nodes 2 -q --kernel "${TRACE_KERNEL:-stock}" --logdir "$logdir" -- \
	bench/trace-guest.sh "$mode" | tail -n 1
load1=$(cut -d' ' -f1-3 /proc/loadavg)

stages=$logdir/stages.txt
{
	echo "# bench/trace.sh $mode, $start, guests' kernel ${TRACE_KERNEL:-stock}"
	echo "# host: $(nproc) cpus, load average before $load0, after $load1"
	for n in 0 1; do
		awk -f bench/trace-stages.awk "$logdir/node$n/trace.txt"
	done
} > "$stages"

# median WHO STAGE: "  who stage  median us  (n)" per pair, in order of
# appearance (stages are numbered, so sorting keeps them in sequence).
summary() {
	sort -k1,1 -k2,2 -k3,3g | awk '
		{ k = $1 " " $2; v[k, ++c[k]] = $3; if (!(k in seen)) { seen[k] = 1; order[++m] = k } }
		END {
			for (i = 1; i <= m; i++) {
				k = order[i]
				printf "  %-44s %9.1f us  (%d)\n", k, v[k, int((c[k] + 1) / 2)], c[k]
			}
		}'
}
for n in 0 1; do
	role=owner
	((n == 1)) && role=attacher
	[[ $mode == ping ]] && { role=answering; ((n == 1)) && role=calling; }
	echo "node$n, $role (median, samples)"
	awk -f bench/trace-stages.awk "$logdir/node$n/trace.txt" | summary
done
echo "host load average before $load0, after $load1; samples in $stages"
