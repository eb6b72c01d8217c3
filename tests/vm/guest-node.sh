#!/bin/bash
# Runs inside each guest, chrooted into the read-only host root, started by the
# initramfs /init.  Configuration comes from run.env (written by run-vm into the
# writable log share, already sourced) and xv_node=N on the kernel command line.
# Results go to the log share: nodeN.{stage,log,out,rc,fail,dmesg,kmemleak,counters}.
set -u
{ # parsed in full before it runs: editing this file mid-run is safe
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp LC_ALL=C
L=/run/xpmem-log
# shellcheck source=/dev/null
. "$L/.run/run.env"
I=
for w in $(cat /proc/cmdline); do
	case $w in xv_node=*) I=${w#xv_node=} ;; esac
done
if [[ -z $I ]]; then
	echo "xv: no xv_node= on the kernel command line"
	exit 1
fi
N=$XV_NODES
KMEMLEAK=/sys/kernel/debug/kmemleak

up() { cut -d' ' -f1 /proc/uptime; }
log() { echo "xv: node$I $(up)s $*"; echo "$(up)s $*" >> "$L/node$I.log"; }
stage() { echo "$1" > "$L/node$I.stage"; log "stage $1"; }
failmsg() { echo "$*" >> "$L/node$I.fail"; log "FAIL: $*"; }

finish() {
	stage collect
	dmesg > "$L/node$I.dmesg" 2>&1
	stage done
	exit 0
}
fatal() { failmsg "$*"; finish; }

# Messages of level < 8 reach the serial console the host scans.
echo 8 > /proc/sys/kernel/printk
stage setup

# Built-in modules (the debug kernel has them all) are not modprobe'd:
# each modprobe there costs seconds of KASAN-instrumented exec over 9p.
{ builtin=$(< "/lib/modules/$(< /proc/sys/kernel/osrelease)/modules.builtin"); } 2> /dev/null
for m in $XV_KMODS; do
	# crc32_generic first: rdma link add fails with ENOENT without it.
	[[ -d /sys/module/$m || $builtin == *"/$m.ko"* ]] && continue
	out=$(modprobe "$m" 2>&1) || log "modprobe $m: $out (built in?)"
done
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config 2>/dev/null \
	|| log "no configfs"

addrs=($XV_NODE_ADDRS)
me=${addrs[$I]}
ip link set lo up
ip link set eth0 up || fatal "no eth0 (virtio_net missing?)"
ip addr add "$me/24" dev eth0 || fatal "cannot set $me on eth0"
if ! out=$(rdma link add rxe0 type rxe netdev eth0 2>&1); then
	fatal "rdma link add rxe0 failed: $out"
fi
log "rxe0 up on eth0 $me"

if [[ -n $XV_MODULE ]]; then
	stage insmod
	if ! out=$(insmod "$XV_MODULE" $XV_MODULE_ARGS 2>&1); then
		fatal "insmod $XV_MODULE failed: $out"
	fi
	log "insmod $XV_MODULE ok"
fi

[[ -w $KMEMLEAK ]] && echo clear > "$KMEMLEAK"

# Barrier: every peer answers ping, then every node has written ready.N.
stage barrier
deadline=$(( $(date +%s) + XV_BARRIER_TIMEOUT ))
for ((j = 0; j < N; j++)); do
	((j == I)) && continue
	until busybox ping -c 1 -W 1 "${addrs[$j]}" > /dev/null 2>&1; do
		(($(date +%s) < deadline)) || fatal "node$j (${addrs[$j]}) does not answer ping"
	done
done
touch "$L/ready.$I"
for ((j = 0; j < N; j++)); do
	until [[ -e $L/ready.$j ]]; do
		(($(date +%s) < deadline)) || fatal "node$j never became ready"
		sleep 0.2
	done
done

stage run
export XPMEM_NODE_INDEX=$I XPMEM_NODES=$N XPMEM_NODE_ADDRS=$XV_NODE_ADDRS
export XPMEM_LOGDIR=$L/node$I
export XPMEM_HOST_CTL=$L
export XPMEM_CLUSTER_KEY=$L/.run/cluster.key
log "run: $(head -c 200 <<< "${XV_CMD[*]}" | tr '\n' ' ')"
cd "$XV_REPO" || fatal "cannot cd to $XV_REPO"
# Shortly before the host's timeout would kill us, or as soon as a guest
# asks (XPMEM_HOST_CTL/stacks: a test saw a peer hang): where every task
# waits (kernel stacks), into nodeI.stacks and (blocked ones) the console.
(
	deadline=$(awk -v t="$XV_BARRIER_TIMEOUT" -v u="$(up)" \
		'BEGIN { s = t - 30; printf "%d", s < u + 10 ? u + 10 : s }')
	until [[ -e $L/stacks ]] || (($(up | cut -d. -f1) >= deadline)); do
		sleep 1
	done
	log "blocked tasks on the console, stacks into node$I.stacks"
	echo 1 > /proc/sys/kernel/sysrq
	echo w > /proc/sysrq-trigger
	# A read of a task's files may block where that task does: bounded.
	for t in /proc/[0-9]*/task/[0-9]*; do
		[[ -r $t/stack ]] || continue
		echo "== ${t#/proc/} $(timeout 2 cat "$t/comm") $(timeout 2 cat "$t/wchan")"
		timeout 2 cat "$t/stack"
	done > "$L/node$I.stacks" 2>&1
) < /dev/null > /dev/null 2>&1 &
stacks=$!
"${XV_CMD[@]}" < /dev/null > "$L/node$I.out" 2>&1
rc=$?
kill "$stacks" 2> /dev/null
cd /
echo "$rc" > "$L/node$I.rc"
log "command exited with $rc"
((rc == 0)) || failmsg "command exited with status $rc"

stage check
if [[ -n $XV_MODULE && -r /proc/xpmem/counters ]]; then
	cp /proc/xpmem/counters "$L/node$I.counters"
	while read -r name value _; do
		for g in $XV_GAUGES; do
			[[ $name == "$g" && $value != 0 ]] &&
				failmsg "leaked gauge after the command: $name = $value"
		done
	done < /proc/xpmem/counters
elif [[ -n $XV_MODULE ]]; then
	log "no /proc/xpmem/counters, gauge check skipped"
fi
if [[ -n $XV_MODULE ]]; then
	name=$(basename "$XV_MODULE" .ko)
	out=$(rmmod "$name" 2>&1) || failmsg "rmmod $name failed: $out"
fi
if [[ -w $KMEMLEAK ]]; then
	stage kmemleak
	echo scan > "$KMEMLEAK"
	sleep 5
	echo scan > "$KMEMLEAK"
	cat "$KMEMLEAK" > "$L/node$I.kmemleak"
	# One report is a block starting with "unreferenced object".  After rmmod
	# (and for __init code) xpmem's frames are not symbolised: a bare address
	# in the module area (0xffffffffc0000000 up) counts as xpmem's too.
	if awk -f "$XV_REPO/tests/vm/kmemleak-xpmem.awk" "$L/node$I.kmemleak"; then
		failmsg "kmemleak reports leaked xpmem objects (see node$I.kmemleak)"
	fi
fi
finish
exit 0
}
