#!/bin/bash
# The membership cases, driven from node 0 of 3 (tests/membership/node.sh).
# Every node runs xpmemd and an xnode servant (tests/crossnode/xnode.c):
# the driver talks to the servants over TCP, one line per request, and
# to the daemons through xpmemctl (daemon-ctl.sh), locally or by asking a
# servant to run it.  Ends with "N passed, N failed".
#
# Node ids are index + 1: node 0 is id 1, and so on.  Timing: heartbeat
# 500 ms, lease 3000 ms (daemon-ctl.sh configure); a failure must be
# detected within the lease plus MARGIN seconds.
set -uo pipefail
cd "$(dirname "$0")/../.."
addrs=($XPMEM_NODE_ADDRS)
dctl=tests/membership/daemon-ctl.sh
LEASE=3 MARGIN=3
MIB1=100000 MIB64=4000000	# sizes in hex, as the servants read them
pass=0 fail=0

result() { # OK NAME DETAIL
	if (($1)); then
		pass=$((pass + 1)); echo "ok $2${3:+: $3}"
	else
		fail=$((fail + 1)); echo "FAIL $2${3:+: $3}"
	fi
}
now() { date +%s.%N; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# --- the servants ------------------------------------------------------------
declare -a fd
connect() { # INDEX
	local f _
	for _ in $(seq 300); do
		if exec {f}<> "/dev/tcp/${addrs[$1]}/7700"; then
			fd[$1]=$f
			return 0
		fi 2> /dev/null
		sleep 0.2
	done
	echo "servant on node$1 does not answer" >&2
	exit 1
}
send() { echo "${*:2}" >&"${fd[$1]}"; }
recv() { read -r -t 180 R <&"${fd[$1]}" || R="<no reply>"; }
rpc() { send "$@"; recv "$1"; }
# on NODE: runs daemon-ctl.sh ARGS there; its exit status in $R
dctl_on() { local n=$1; shift; rpc "$n" sh "$dctl $*"; }
# attach NODE SEGID SIZE: get (RDWR) and attach; sets APID and ADDR
attach() {
	APID= ADDR=
	rpc "$1" get "$2" 2
	read -r APID err <<< "$R"
	[[ ${APID:0:1} != - && $err == 0 ]] || return 1
	APID=$(printf %x "$APID")	# the servants read hex
	rpc "$1" attach "$APID" 0 "$3"
	read -r ADDR err <<< "$R"
	[[ $err == 0 ]]
}
sum_on() { rpc "$1" sum "$2" "$3"; echo "${R%% *}"; }
# after an acquire: the owner's writes since the last one are visible
acquire_sum_on() { rpc "$1" sync "$2" "$3" 1; sum_on "$@"; }

# Every servant is told to quit however this script ends (an error, a
# failed connect): the guests then finish at once instead of idling
# until run-vm's timeout with nothing said.  A killed node's socket may
# be gone: no SIGPIPE.
quit_all() {
	trap '' PIPE
	for i in "${!fd[@]}"; do echo quit >&"${fd[$i]}"; done 2> /dev/null
}
trap quit_all EXIT
for i in "${!addrs[@]}"; do connect "$i"; done

# --- 1. membership: the daemons admit each other ------------------------------
t0=$(now)
ok=1
for i in "${!addrs[@]}"; do
	for j in "${!addrs[@]}"; do
		((i == j)) && continue
		if ((i == 0)); then
			$dctl wait-state $((j + 1)) alive 30 || ok=0
		else
			dctl_on "$i" wait-state $((j + 1)) alive 30
			((R == 0)) || ok=0
		fi
	done
done
result $ok membership_all_alive "every daemon sees the other two alive after $(minus "$(now)" "$t0") s"
peers=$(grep -c '^node [23] .* admits 0x[1-9a-f]' /proc/xpmem/peers)
result $((peers == 2)) membership_kernel_peers "the kernel lists $peers daemon-announced peers with their incarnations"

# --- 2. a cross-node attach through the peers the daemons announced -----------
rpc 0 make $MIB1 5
read -r SEG OWNSUM OWNADDR <<< "$R"
attach 1 "$SEG" $MIB1
ok=$?
APID1=$APID ADDR1=$ADDR
result $((ok == 0)) attach_via_daemons "node 1 attached segid $SEG of node 0"
got=$(sum_on 1 "$ADDR1" $MIB1)
result $([[ $got == "$OWNSUM" ]] && echo 1 || echo 0) read_via_daemons "1 MiB checksum $got, owner's $OWNSUM"

rpc 1 sh "$dctl lists 1 $SEG"
root_sees=$R
rpc 1 sh "runuser -u nobody -- $dctl lists 1 $SEG"
result $((root_sees == 0 && R == 1)) xpmemctl_cluster_segments \
	"root on node 1 lists node 0's segment $SEG (xpmemctl segments); nobody's listing ($R) does not"

# --- 3. another uid is refused by a 0600 permit across nodes -------------------
rpc 1 getas fffe "$SEG" 1
result $((R == 2)) permit_0600_other_uid "uid 65534 on node 1: errno $R (ENOENT is 2: a 0600 segment of another uid is invisible)"

# --- 4. kill -9 the attacher's daemon and start it again ----------------------
dctl_on 1 kill9
k=$R
dctl_on 1 start
result $((k == 0 && R == 0)) daemon_restart "node 1's xpmemd killed with SIGKILL and started again"
rpc 0 fill "$OWNADDR" $MIB1 5a	# the owner writes; node 1 acquires
OWNSUM=$(sum_on 0 "$OWNADDR" $MIB1)
got=$(acquire_sum_on 1 "$ADDR1" $MIB1)
result $([[ $got == "$OWNSUM" ]] && echo 1 || echo 0) daemon_restart_attachment_works \
	"node 1's existing attachment reads the owner's new data ($got)"
attach 1 "$SEG" $MIB1 && got=$(sum_on 1 "$ADDR" $MIB1) || got=none
result $([[ $got == "$OWNSUM" ]] && echo 1 || echo 0) daemon_restart_new_attach "new get+attach reads $got"
rpc 1 detach "$ADDR"
rpc 1 release "$APID"
dctl_on 1 wait-state 1 alive 10
result $((R == 0)) daemon_restart_membership "node 1's new daemon sees node 0 alive"

# --- 5. a daemon with the wrong key is refused and logged ---------------------
mac0=$($dctl counter bad_mac)
dctl_on 2 kill9
dctl_on 2 start /tmp/xpmem/wrong.key
$dctl wait-state 3 dead $((LEASE + MARGIN + 5))
dead=$?
mac=$($dctl counter bad_mac)
logged=$(grep -c 'claims node 3).*bad MAC' "$XPMEM_LOGDIR/xpmemd.log")
result $((dead == 0 && mac > mac0 && logged > 0)) wrong_key_refused \
	"node 3 with a wrong key: dead at node 0, bad_mac $mac0 -> $mac, $logged log lines"
dctl_on 2 kill9
dctl_on 2 start
t0=$(now)
$dctl wait-state 3 alive 20
result $(($? == 0)) wrong_key_then_right_key "node 3 readmitted after $(minus "$(now)" "$t0") s"

# --- 6. junk at node 0's daemon port -----------------------------------------
mal0=$($dctl counter malformed) mac0=$($dctl counter bad_mac)
rpc 1 udpjunk 0a4d0001 4854 bb8	# 3000 to 10.77.0.1:18516 (hex)
sent=$R
sleep 1
mal=$($dctl counter malformed) mac=$($dctl counter bad_mac)
result $((sent == 3000 && mal > mal0 && mac > mac0)) junk_counted \
	"$sent datagrams: malformed $mal0 -> $mal, bad_mac $mac0 -> $mac"
ok=1
kill -0 "$(cat /tmp/xpmem/xpmemd.pid)" || ok=0
[[ $($dctl state 2) == alive && $($dctl state 3) == alive ]] || ok=0
got=$(acquire_sum_on 1 "$ADDR1" $MIB1)
[[ $got == "$OWNSUM" ]] || ok=0
result $ok junk_daemon_serving "node 0's daemon runs, both peers alive, node 1 still reads"

# --- 7. node 1's link down for twice the lease, then up -----------------------
send 1 sh "ip link set eth0 down; sleep $((2 * LEASE)); ip link set eth0 up"
t0=$(now)
$dctl wait-state 2 dead $((LEASE + MARGIN + 2))
ok=$?
detect=$(minus "$(now)" "$t0")
recv 1
result $((ok == 0)) link_down_detected "node 0 declared node 2 dead $detect s after its link went down (lease $LEASE s)"
t0=$(now)
$dctl wait-state 2 alive 30
ok=$?
result $((ok == 0)) link_up_rejoined "node 2 alive again $(minus "$(now)" "$t0") s after its link came back"
rpc 1 sum "$ADDR1" $MIB1
result $([[ $R == SIG* ]] && echo 1 || echo 0) link_down_old_attachment_failed \
	"node 1's attachment from before: $R (fenced: SIGBUS, never stale)"
rpc 1 detach "$ADDR1"
rpc 1 release "$APID1"
ok=1
for _ in $(seq 20); do	# the RDMA connection comes back on demand
	attach 1 "$SEG" $MIB1 && break
	sleep 1
done
got=$(sum_on 1 "$ADDR" $MIB1)
result $([[ $got == "$OWNSUM" ]] && echo 1 || echo 0) link_up_new_attach "new attach after the rejoin reads $got"
rpc 1 detach "$ADDR"
rpc 1 release "$APID"

# --- 8. node 2's VM killed while node 1 streams its segment -------------------
rpc 2 make $MIB64 9
read -r SEG2 _ _ <<< "$R"
attach 1 "$SEG2" $MIB64
result $(($? == 0)) killed_owner_attach "node 1 attached 64 MiB of node 2"
ADDR2=$ADDR APID2=$APID
send 1 watch "$ADDR2" $MIB64 60
t_send=$(now)
sleep 1.5	# node 1 is fetching now (64 MiB take ~5 s)
touch "$XPMEM_HOST_CTL/kill.2"
for _ in $(seq 300); do [[ -e $XPMEM_HOST_CTL/killed.2 ]] && break; sleep 0.1; done
t_kill=$(now)
$dctl wait-state 3 dead $((LEASE + MARGIN + 5))
ok=$?
detect=$(minus "$(now)" "$t_kill")
result $((ok == 0)) killed_node_detected "node 0 declared node 3 dead $detect s after its VM was killed"
recv 1
read -r what sig secs <<< "$R"
after=$(minus "${secs:-0}" "$(minus "$t_kill" "$t_send")")
result $([[ $what == SIG ]] && le "$after" $((LEASE + MARGIN)) && echo 1 || echo 0) \
	killed_owner_sigbus "node 1's reader got signal ${sig:-none} $after s after the kill (limit lease + ${MARGIN} s)"
t0=$(now)
for _ in $(seq 100); do
	rpc 1 counter remote_copies
	((R == 0)) && break
	sleep 0.1
done
result $((R == 0)) killed_owner_state_cleaned \
	"node 1 dropped its copies of the dead node's pages $(minus "$(now)" "$t_kill") s after the kill"
rpc 1 detach "$ADDR2"
rpc 1 release "$APID2"

echo "$pass passed, $fail failed"
((fail == 0))
