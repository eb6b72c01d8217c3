#!/bin/bash
# make bench: boots QEMU guests with tests/vm/run-vm and measures xpmem
# against references taken in the same guests in the same run:
#   local  1 guest (--mem 3584, 512 huge pages reserved in the guest):
#          bench/guest-local.sh
#   cross  2 guests over Soft-RoCE: bench/guest-cross.sh
#   sharers 8 guests (1 vCPU, run-vm's small default memory): one page
#          held by 1, 2, 4 and 7 sharer nodes: bench/guest-sharers.sh
# Then writes build/bench/results.json (every figure, the table, the
# ibv_reg_mr results, the host's load), prints the table and plots
# build/bench/bandwidth.png with gnuplot.  Not a test: it fails only if a
# run fails, never because a target is missed.
#
#   bench/run.sh [local|cross|sharers|report]...
#                                (default: local cross sharers report)
#   BENCH_KERNEL=stock|6.12|...  the guests' kernel (default stock)
#   BENCH_MODULE=PATH            another xpmem.ko (default: run-vm's, the
#                                one built for that kernel)
#   BENCH_OUT=DIR                where results go (default build/bench)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-build/bench}
kernel=${BENCH_KERNEL:-stock}
module=()
[[ -n ${BENCH_MODULE:-} ]] && module=(--module "$BENCH_MODULE")
parts=("$@")
((${#parts[@]})) || parts=(local cross sharers report)
mkdir -p "$out"
for tool in jq gnuplot; do
	command -v $tool > /dev/null || { echo "bench: $tool missing (tools/setup.sh installs it)" >&2; exit 1; }
done

load() { cut -d' ' -f1-3 /proc/loadavg; }

vm() { # NAME RUN-VM-ARGS... -- COMMAND
	local name=$1 t0 rc=0
	shift
	rm -rf "$out/$name"
	echo "bench: $name: booting (load $(load))"
	t0=$(date +%s)
	echo "{\"name\":\"run_$name\",\"started\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"load_before\":\"$(load)\"," > "$out/$name.meta"
	nice -n 19 tests/vm/run-vm --kernel "$kernel" "${module[@]}" -q --logdir "$out/$name" "$@" \
		> "$out/$name.log" 2>&1 || rc=$?
	echo "\"load_after\":\"$(load)\",\"seconds\":$(($(date +%s) - t0)),\"rc\":$rc}" >> "$out/$name.meta"
	tail -n 1 "$out/$name.log"
	if ((rc)); then
		echo "bench: $name run failed, see $out/$name.log and $out/$name/" >&2
		exit 1
	fi
}

report() {
	local figs=$out/figures.json
	# every figure, tagged with its run and node
	for f in "$out"/local/node0/bench.jsonl "$out"/cross/node*/bench.jsonl \
		"$out"/sharers/node0/bench.jsonl; do
		[[ -s $f ]] || continue
		run=$(basename "$(dirname "$(dirname "$f")")")
		node=$(basename "$(dirname "$f")")
		jq -c --arg run "$run" --arg node "$node" '. + {run: $run, node: $node}' "$f"
	done | jq -s . > "$figs"
	jq -f bench/report.jq "$figs" > "$out/table.json"
	jq -n --slurpfile figs "$figs" --slurpfile table "$out/table.json" \
		--arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg host "$(nproc) cores, $(uname -r)" \
		--argjson runs "$(cat "$out"/*.meta 2>/dev/null | jq -s .)" '
		{ date: ([$runs[] | .started // empty] | sort | first // $date),
		  reported: $date, host: $host, runs: $runs,
		  table: $table[0],
		  reg_mr: [$figs[0][] | select(.name | startswith("reg_mr"))],
		  env: [$figs[0][] | select(.name | startswith("env"))],
		  figures: [$figs[0][] | select((.name | startswith("reg_mr") or startswith("env")) | not)] }' \
		> "$out/results.json"

	echo
	echo "xpmem bench, $(jq -r .date "$out/results.json"); host load: $(jq -r '[.runs[] | "\(.name) \(.load_before) -> \(.load_after), \(.seconds) s"] | join("; ")' "$out/results.json")"
	echo "(QEMU TCG guests: absolute numbers are emulator numbers; each ratio is against a reference measured in the same guest in the same run; spread = min..max of the samples)"
	echo
	jq -r '["section", "figure", "median", "spread", "reference", "ref", "ref spread", "ratio", "target", "result"],
		(.table[] | [.section, .figure, "\(.value // "-") \(.unit)", .spread, .reference,
		 "\(.ref_value // "-")", .ref_spread, "\(.ratio // "-")", (.target // "-"),
		 (if .met == null then "" elif .met then "met" else "MISSED" end)]) | @tsv' \
		"$out/results.json" | column -t -s $'\t'
	echo
	echo "ibv_reg_mr on an attachment (rxe0, loopback RC QP):"
	jq -r '.reg_mr[] | "  \(.name): " + (if .errno != null then
		(if .errno == 0 then "registered, RDMA READ returns the owner'"'"'s data: \(.rdma_read_matches == 1)"
		 else "errno \(.errno) (\(.errstr))" end) + (if .pmd_maps > 0 then ", \(.pmd_maps) PMD maps" else "" end)
		else "after the owner replaced its pages: RDMA READ returns the old data: \(.rdma_read_returns_old_data == 1), a load through the attachment the new: \(.attachment_load_returns_new_data == 1)" end)' \
		"$out/results.json"

	# plot data: size, attach, memcpy, cma, attach/memcpy without rep movsb
	jq -r '[.figures[] | select(.run == "local")] as $f
		| ($f | map(select(.name == "copy_memcpy") | .size) | unique)[] as $s
		| [$s, ("copy_attach", "copy_memcpy", "copy_cma", "copy_attach_norepmovsb", "copy_memcpy_norepmovsb") as $n
		   | ($f | map(select(.name == $n and .size == $s) | .median) | first // "NaN")] | @tsv' \
		"$out/results.json" > "$out/local.dat"
	jq -r '[.figures[] | select(.run == "cross")] as $f
		| (1, 2, 4, 8, 16) as $ra | ($ra * 4096) as $s
		| [$s, ($f | map(select(.name == "stream_ra\($ra)") | .median) | first // "NaN"),
		   ($f | map(select(.name == "ib_read_bw" and .size == $s) | .median) | sort
		    | if length == 0 then "NaN" else .[(length - 1) / 2 | floor] end)] | @tsv' \
		"$out/results.json" > "$out/cross.dat"
	# The plot needs both bandwidth runs (bench/run.sh sharers report has none).
	if [[ -s $out/local.dat ]] && awk '$2 != "NaN"' "$out/cross.dat" | grep -q .; then
		gnuplot -e "dir='$out'; when='$(jq -r .date "$out/results.json")'" bench/bandwidth.gp
		echo
		echo "bench: $out/results.json, $out/bandwidth.png"
	else
		echo
		echo "bench: $out/results.json (no plot: the local and cross runs are not both in it)"
	fi
}

for p in "${parts[@]}"; do
	case $p in
	local) vm local --mem 3584 --timeout 1800 -- bench/guest-local.sh ;;
	cross) vm cross --nodes 2 --timeout 1800 -- bench/guest-cross.sh ;;
	sharers) vm sharers --nodes 8 --timeout 1800 -- bench/guest-sharers.sh ;;
	report) report ;;
	*) echo "usage: bench/run.sh [local|cross|sharers|report]..." >&2; exit 2 ;;
	esac
done
