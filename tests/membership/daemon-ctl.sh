#!/bin/bash
# The guest's xpmemd, as an admin runs it; used by node.sh and, through
# the servant's "sh" request, by the driver on node 0.
#   daemon-ctl.sh configure         /tmp/xpmem: nodes.conf, keys, xpmemd.conf
#   daemon-ctl.sh start [KEYFILE]   xpmemd in the background (log in XPMEM_LOGDIR)
#   daemon-ctl.sh kill9 | stop      SIGKILL / SIGTERM, and wait for it
#   daemon-ctl.sh state NODE        NODE's state in this daemon's view
#   daemon-ctl.sh wait-state NODE STATE SECONDS
#   daemon-ctl.sh counter NAME      a daemon message counter (bad_mac, ...)
#   daemon-ctl.sh lists NODE SEGID  the cluster-wide listing shows SEGID (hex) of NODE
# The cluster key (and a wrong one) come from $XPMEMD_KEYDIR (default
# build/membership), made on the host with xpmemd --gen-key.
set -uo pipefail
cd "$(dirname "$0")/../.."
W=/tmp/xpmem
keys=${XPMEMD_KEYDIR:-build/membership}
ctl() { daemon/xpmemctl -S "$W/xpmemd.sock" "$@"; }
me=$((${XPMEM_NODE_INDEX:-0} + 1))

case $1 in
configure)
	mkdir -p "$W"
	install -m 600 "$keys/cluster.key" "$W/cluster.key"
	[[ ! -e $keys/wrong.key ]] || install -m 600 "$keys/wrong.key" "$W/wrong.key"
	i=1
	for a in $XPMEM_NODE_ADDRS; do
		echo "$i node$((i - 1)) $a"
		i=$((i + 1))
	done > "$W/nodes.conf"
	cat > "$W/xpmemd.conf" <<CONF
nodes = $W/nodes.conf
key_file = $W/cluster.key
socket = $W/xpmemd.sock
heartbeat_ms = 500
lease_ms = 3000
CONF
	;;
start)
	daemon/xpmemd -c "$W/xpmemd.conf" -i "$me" -f ${2:+-k "$2"} \
		>> "$XPMEM_LOGDIR/xpmemd.log" 2>&1 < /dev/null &
	echo $! > "$W/xpmemd.pid"
	# up once it answers on its socket
	for _ in $(seq 100); do
		ctl status > /dev/null 2>&1 && exit 0
		kill -0 "$(cat "$W/xpmemd.pid")" 2>/dev/null || exit 1
		sleep 0.1
	done
	exit 1 ;;
kill9 | stop)
	pid=$(cat "$W/xpmemd.pid" 2>/dev/null) || exit 0
	kill "-$([[ $1 == kill9 ]] && echo KILL || echo TERM)" "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	rm -f "$W/xpmemd.pid" ;;
state)
	ctl --json status | grep -o "\"node\":$2,[^}]*" |
		sed -n 's/.*"state":"\([a-z]*\)".*/\1/p' ;;
wait-state)
	for _ in $(seq $(($4 * 10))); do
		[[ $("$0" state "$2") == "$3" ]] && exit 0
		sleep 0.1
	done
	exit 1 ;;
lists)
	# 0 listed, 1 not listed, 3 the listing itself failed
	out=$(ctl --json segments) || exit 3
	grep -q "\"node\":$2,\"segid\":\"0x$3\"" <<< "$out" ;;
counter)
	ctl --json counters | grep -o '"daemon":{[^}]*}' |
		sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p" ;;
*)
	echo "usage: $0 configure|start [KEY]|kill9|stop|state N|wait-state N S SECS|counter NAME" >&2
	exit 2 ;;
esac
