#!/bin/bash
# Runs in the single guest of the local bench (bench/run.sh): copy
# bandwidths, attach + first touch of 1 GiB, ibv_reg_mr on attachments.
# Figures (JSON lines) go to stdout and to $XPMEM_LOGDIR/bench.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$XPMEM_LOGDIR/bench.jsonl
: > "$out"
emit() { tee -a "$out"; }
copy_mib=${BENCH_COPY_MIB:-256}
touch_mib=${BENCH_TOUCH_MIB:-1024}

# 2 MiB pages for the hugetlb case, reserved first (before memory fragments).
hp=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
echo $((touch_mib / 2)) > $hp
printf '{"name":"env_local","kernel":"%s","thp":"%s","hugepages_reserved":%d,"mem_kb":%d,"fault_batch":%d,"cpus":%d}\n' \
	"$(uname -r)" "$(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled)" \
	"$(cat $hp)" "$(awk '/MemTotal/ { print $2 }' /proc/meminfo)" \
	"$(cat /sys/module/xpmem/parameters/fault_batch)" "$(nproc)" | emit

bench/bench_local copy "$copy_mib" | emit
# The memcpy figures again with glibc kept off `rep movsb` (which QEMU TCG
# emulates slowly; the kernel's copy for process_vm_readv uses it too, and
# no tunable changes that one, so CMA is not repeated).
GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=1099511627776 BENCH_TAG=norepmovsb BENCH_NO_CMA=1 \
	bench/bench_local copy "$copy_mib" | emit

for mode in owner 4k batch thp hugetlb; do
	bench/bench_local touch $mode "$touch_mib" | emit
done
echo 0 > $hp
bench/bench_local cycle 64 | emit

bench/bench_mr | emit
