#!/bin/bash
# Runs in both guests (tests/vm/run-vm, from run.sh): node index 0 is node 1,
# the attacked node: it registers node 2 and the test peer 3 (at node 2's
# address) and serves the agent (segments, counters, kernel log).  Node 2
# runs a genuine attacher of a node 1 segment in the background and the
# attacks: as uid 65534, as root without the key, as the keyed test peer.
# Arguments: the mutated messages, the seed, the attacks to run (a comma
# list of step names; empty: all; "final" always runs) (run.sh)
set -uo pipefail
cd "$(dirname "$0")"
addrs=($XPMEM_NODE_ADDRS)
me=$XPMEM_NODE_INDEX
fuzz=${1:-100000}
seed=${2:-0x5eed14}
only=${3:-}
port=7710
xnode=../../tools/xpmem-node
# The run's cluster key (tests/vm/run-vm makes one per run, readable by
# root only); without it (an older run-vm), a fixed one.
key=${XPMEM_CLUSTER_KEY:-}
if [[ -z $key ]]; then
	key=/tmp/hostile-cluster.key
	(umask 077 && echo 6b1e5c0a7f3d29e48b10c6a5d2f7e9318c4b6a0d5e2f7c1a9b3e8d4f6a2c0e57 > $key)
fi

# The link key (protocol 3); a module without keys (protocol 2) says so.
setkey() {
	./hostile setkey "$key"
	case $? in
	0) echo "node $((me + 1)): link key set" ;;
	3) ;;
	*) echo "node $((me + 1)): setting the key failed"; exit 1 ;;
	esac
}

# A guest that ran other tests first (tests/vm/in-sequence.sh --together)
# has their peers: forget them, so that this node's identity can be set
# again (EBUSY while a connection is still being torn down).
for id in $(awk '$1 == "node" { print $2 }' /proc/xpmem/peers); do
	$xnode del-peer --id "$id" || exit 1
done
node_set() {
	local try
	for try in $(seq 50); do
		$xnode set "$@" 2> /dev/null && return 0
		sleep 0.2
	done
	$xnode set "$@"
}

if ((me == 0)); then
	# Not NUMA balancing's hinting faults: each invalidates the agent's
	# whole range, the test segment with it, whose INVALIDATE the test
	# peer never acks, and the genuine attacher's FETCHes wait behind
	# it (guests booted with numa=fake=2, as tests/crossnode's).
	[[ -w /proc/sys/kernel/numa_balancing ]] && echo 0 > /proc/sys/kernel/numa_balancing
	node_set --id 1 --addr "${addrs[0]}" || exit 1
	$xnode add-peer --id 2 --addr "${addrs[1]}" || exit 1
	# the keyed test peer: another id, from node 2's address
	$xnode add-peer --id 3 --addr "${addrs[1]}" || exit 1
	setkey
	exec ./hostile agent $port
fi

node_set --id 2 --addr "${addrs[1]}" || exit 1
$xnode add-peer --id 1 --addr "${addrs[0]}" || exit 1
setkey
# the "wrong address" of the forged-id cases
ip addr add 10.77.0.3/24 dev eth0 || exit 1

status=/tmp/hostile-genuine.status
./hostile genuine "${addrs[0]}" $port $status &
gpid=$!
for ((i = 0; i < 600; i++)); do
	[[ -s $status ]] && read -r rounds _ < $status && ((rounds >= 3)) && break
	sleep 0.1
done

total_p=0 total_f=0
step() { # NAME CMD...: runs one attack, adds its "N passed, N failed"
	local name=$1 out p f t0=$(date +%s)
	shift
	echo "=== $name"
	out=$("$@" 2>&1)
	echo "$out"
	echo "--- $name: $(($(date +%s) - t0)) s"
	if [[ $(grep -aoE '[0-9]+ passed, [0-9]+ failed' <<< "$out" | tail -n 1) =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
		p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
	else
		p=0 f=1
		echo "FAIL $name: no result (exit status $?)"
	fi
	total_p=$((total_p + p)) total_f=$((total_f + f))
}
wanted() { [[ -z $only || ",$only," == *",$1,"* ]]; }
start=$(date +%s)
wanted unprivileged && step unprivileged setpriv --reuid=65534 --regid=65534 \
	--clear-groups ./hostile attack --as unpriv "${addrs[0]}" $port
wanted root-without-key && step root-without-key ./hostile attack --as nokey \
	"${addrs[0]}" $port
wanted keyed-test-peer && step keyed-test-peer ./hostile attack --as keyed \
	--key "$key" --fuzz "$fuzz" --seed "$seed" "${addrs[0]}" $port
kill -TERM $gpid
wait $gpid
step final ./hostile final "${addrs[0]}" $port $status
echo "hostile: $(($(date +%s) - start)) s of attacks"
echo "$total_p passed, $total_f failed"
((total_f == 0))
