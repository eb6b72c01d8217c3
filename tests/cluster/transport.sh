#!/bin/bash
# Runs in each of the two guests of tests/cluster/run.sh.  Node index i
# gets node id i+1.  Node 0 drives the cases, node 1 serves and plays the
# peer that stops answering.  Phases are ordered with marker files in the
# run's shared log directory (the parent of XPMEM_LOGDIR).
set -u
{ # parsed in full before it runs
cd "$(dirname "$0")/../.." || exit 1
T=$PWD/tools/xpmem-node
I=$XPMEM_NODE_INDEX
addrs=($XPMEM_NODE_ADDRS)
ME=$((I + 1)) OTHER=$((2 - I))
MYADDR=${addrs[$I]} OTHERADDR=${addrs[$((1 - I))]}
SHARED=$(dirname "$XPMEM_LOGDIR")
TMO=/sys/module/xpmem/parameters/net_timeout_ms
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
# The debug kernel (KASAN, lockdep under TCG) is ~100x slower.
# MARGIN: ms allowed past net_timeout_ms for starting the tool and the fence.
if [[ $(uname -r) == *debug* ]]; then N_SMALL=200 N_BIG=20 MARGIN=6000; else N_SMALL=1000 N_BIG=100 MARGIN=2500; fi

pass=0 fail=0
ok() { echo "PASS: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
mark() { touch "$SHARED/cluster.$1"; }
await() { # await MARK [SECONDS]
	local end=$(($(date +%s) + ${2:-600}))
	until [[ -e $SHARED/cluster.$1 ]]; do
		(($(date +%s) < end)) || { bad "timed out waiting for $1"; return 1; }
		sleep 0.2
	done
}
# expect_fail WHAT ERRNO-TEXT CMD...: CMD must fail and name the errno.
expect_fail() {
	local what=$1 text=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		bad "$what: succeeded: $out"
	elif grep -q "$text" <<< "$out"; then
		ok "$what: $out"
	else
		bad "$what: wrong error: $out"
	fi
}
# ping_until SECONDS: first successful ping of the other node.
ping_until() {
	local end=$(($(date +%s) + $1)) out
	while :; do
		out=$("$T" ping --id "$OTHER" 2>&1) && return 0
		(($(date +%s) < end)) || { echo "$out"; return 1; }
		sleep 0.5
	done
}
peers_line() { grep "^node $OTHER " /proc/xpmem/peers; }
field() { peers_line | awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }'; }

# --- configuration -------------------------------------------------------
expect_fail "set as non-root" "Operation not permitted" \
	"${NOBODY[@]}" "$T" set --id "$ME" --addr "$MYADDR"
expect_fail "set-key as non-root" "Operation not permitted" \
	"${NOBODY[@]}" "$T" set-key --key "$XPMEM_CLUSTER_KEY"
# The run's cluster key (tests/vm/run-vm); another one for the key cases.
(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' && echo) > /tmp/wrong.key
"$T" set-key --key "$XPMEM_CLUSTER_KEY" && ok "link key set" || bad "set-key"
if "$T" set --id "$ME" --addr "$MYADDR" && "$T" add-peer --id "$OTHER" --addr "$OTHERADDR"; then
	ok "set node $ME, peer $OTHER"
else
	bad "configuration"
fi
expect_fail "add-peer twice" "File exists" "$T" add-peer --id "$OTHER" --addr "$OTHERADDR"
expect_fail "add-peer with the local id" "File exists" "$T" add-peer --id "$ME" --addr "$OTHERADDR"
cat /proc/xpmem/peers
mark "configured.$I"
await "configured.$((1 - I))"

# Both nodes at once: one connection wins, both directions work.
if out=$("$T" ping --id "$OTHER" --count 200 2>&1); then
	ok "simultaneous first pings in both directions: $out"
else
	bad "simultaneous first pings: $out"
fi
mark "both.$I"
await "both.$((1 - I))"

if ((I == 1)); then
	# --- node 1: the peer ------------------------------------------------
	await pings-done
	ip link set eth0 down
	mark link-down
	await fence-done
	ip link set eth0 up
	mark link-up
	await auth-1
	"$T" del-peer --id "$OTHER" && ok "del-peer $OTHER" || bad "del-peer"
	mark auth-1-done
	await auth-2
	# Registered again, but pinned to an incarnation it does not have.
	"$T" add-peer --id "$OTHER" --addr "$OTHERADDR" --incarnation 12345 &&
		ok "add-peer with a wrong incarnation" || bad "add-peer pinned"
	mark auth-2-done
	await auth-3
	"$T" del-peer --id "$OTHER" && "$T" add-peer --id "$OTHER" --addr "$OTHERADDR" &&
		ok "peer registered again" || bad "re-add peer"
	mark auth-3-done
	# --- keys: node 1 takes another key ---------------------------------
	await keys-1
	"$T" set-key --key /tmp/wrong.key && ok "another link key" || bad "set-key (wrong key)"
	mark keys-1-done
	await keys-2
	# The connection goes with the peer; a new one needs the key.
	"$T" del-peer --id "$OTHER" && "$T" add-peer --id "$OTHER" --addr "$OTHERADDR" &&
		ok "peer registered again (another key)" || bad "re-add peer (another key)"
	mark keys-2-done
	await keys-3
	a0=$(field auth_failures)
	expect_fail "ping of a node that holds another key" "Key was rejected" "$T" ping --id "$OTHER"
	a1=$(field auth_failures)
	((a1 > a0)) && ok "our failed handshake counted ($a0 -> $a1)" || bad "auth_failures: $(peers_line)"
	mark keys-3-done
	await keys-4
	"$T" clear-key && ok "link key cleared" || bad "clear-key"
	expect_fail "ping without a key" "Required key not available" "$T" ping --id "$OTHER"
	grep -q "^auth .*conn_refused [1-9]" /proc/xpmem/peers &&
		ok "no-key refusals counted: $(grep '^auth ' /proc/xpmem/peers)" ||
		bad "conn_refused: $(grep '^auth ' /proc/xpmem/peers)"
	mark keys-4-done
	await keys-5
	"$T" set-key --key "$XPMEM_CLUSTER_KEY" && ok "the cluster key again" || bad "set-key (again)"
	mark keys-5-done
	await done
	cat /proc/xpmem/peers
	echo "$pass passed, $fail failed"
	((fail == 0))
	exit
fi

# --- node 0: drives ------------------------------------------------------
if out=$("$T" ping --id "$OTHER" --count "$N_SMALL" --size 64 2>&1); then
	ok "$out"; echo "median 64 B: $(sed -E 's/.*median ([0-9.]+) .*/\1/' <<< "$out") us"
else
	bad "$N_SMALL pings of 64 B: $out"
fi
if out=$("$T" ping --id "$OTHER" --count "$N_BIG" --size 65536 2>&1); then
	ok "$out"; echo "median 64 KiB: $(sed -E 's/.*median ([0-9.]+) .*/\1/' <<< "$out") us"
else
	bad "$N_BIG pings of 64 KiB: $out"
fi
if out=$("$T" ping --id "$OTHER" --count 5 --size 65792 2>&1) &&
   out0=$("$T" ping --id "$OTHER" --count 5 --size 0 2>&1); then
	ok "largest and empty payloads"
else
	bad "largest or empty payload: $out $out0"
fi
# Many callers at once: the credits bound what is in flight.
pids=()
for k in 1 2 3 4 5 6; do
	"$T" ping --id "$OTHER" --count 50 --size $((k * 9000)) > "/tmp/par.$k" 2>&1 &
	pids+=($!)
done
nok=0
for p in "${pids[@]}"; do wait "$p" && nok=$((nok + 1)); done
((nok == 6)) && ok "6 concurrent pingers" || { bad "concurrent pingers: $nok of 6"; cat /tmp/par.*; }
expect_fail "ping of an unknown node" "Host is down" "$T" ping --id 7
expect_fail "ping as non-root" "Operation not permitted" "${NOBODY[@]}" "$T" ping --id "$OTHER"
expect_fail "set while connected" "Device or resource busy" "$T" set --id "$ME" --addr "$MYADDR"
cat /proc/xpmem/peers
[[ $(field malformed) == 0 ]] && ok "no malformed messages" || bad "malformed: $(peers_line)"
mark pings-done

# --- fencing: the peer's link goes down -----------------------------------
await link-down
fences0=$(field fences)
echo 60000 > "$TMO"
"$T" ping --id "$OTHER" & pid=$!
sleep 1
t0=$(now_ms)
kill -9 "$pid"
wait "$pid"; rc=$?
dt=$(($(now_ms) - t0))
if ((rc == 137 && dt < 3000)); then
	ok "a ping waiting on a silent peer dies of SIGKILL in $dt ms"
else
	bad "SIGKILL of a waiting ping: status $rc after $dt ms"
fi
echo 3000 > "$TMO"
t0=$(now_ms)
out=$("$T" ping --id "$OTHER" 2>&1); rc=$?
dt=$(($(now_ms) - t0))
if ((rc != 0 && dt <= 3000 + MARGIN)); then
	ok "ping of a silent peer fails after $dt ms (net_timeout_ms 3000): $out"
else
	bad "ping of a silent peer: status $rc after $dt ms: $out"
fi
fences1=$(field fences)
((fences1 > fences0)) && ok "peer fenced ($fences0 -> $fences1)" || bad "not fenced: $(peers_line)"
[[ $(field timeouts) -ge 1 || $fences1 -gt $fences0 ]] || bad "no timeout counted"
cat /proc/xpmem/peers
mark fence-done
await link-up
echo 5000 > "$TMO"
if ping_until 60 > /tmp/reconnect.out; then
	ok "reconnected on demand after the fence: $(peers_line)"
else
	bad "no reconnect: $(cat /tmp/reconnect.out)"
fi

# --- authentication --------------------------------------------------------
mark auth-1
await auth-1-done
# The peer tore down the connection when it removed us; give the
# disconnect a moment, then a new connection is refused.
sleep 1
expect_fail "ping of a node that removed us" "Connection refused" "$T" ping --id "$OTHER"
mark auth-2
await auth-2-done
expect_fail "ping of a node that pins another incarnation" "Connection refused" "$T" ping --id "$OTHER"
[[ $(field refused) -ge 2 ]] && ok "refusals counted" || bad "refused: $(peers_line)"
mark auth-3
await auth-3-done
if ping_until 30 > /tmp/auth.out; then ok "accepted again"; else bad "not accepted: $(cat /tmp/auth.out)"; fi
"$T" ping --id "$OTHER" --count 20 > /dev/null 2>&1 || bad "pings after re-add"
cat /proc/xpmem/peers

# --- keys (issue 14): only a node with the key connects ---------------------
# up_state: wait (10 s at most) until the connection to the peer is up or not.
up_state() {
	local want=$1 end=$(($(date +%s) + 10)) st
	while :; do
		st=$(field state)
		[[ ($want == up && $st == up) || ($want != up && $st != up) ]] && return 0
		(($(date +%s) < end)) || return 1
		sleep 0.2
	done
}
# grows FIELD FROM: wait (15 s at most, past net_timeout_ms) until it grew.
grows() {
	local end=$(($(date +%s) + 15))
	until (($(field "$1") > $2)); do
		(($(date +%s) < end)) || return 1
		sleep 0.2
	done
}
mark keys-1
await keys-1-done
if out=$("$T" ping --id "$OTHER" --count 5 2>&1); then
	ok "the established connection stays when the peer's key changes"
else
	bad "established connection after the peer's key change: $out"
fi
mark keys-2
await keys-2-done
up_state down || bad "the connection is still up after the peer removed us"
sleep 1
f0=$(field fences) a0=$(field auth_failures)
expect_fail "ping of a node that holds another key" "Key was rejected" "$T" ping --id "$OTHER"
a1=$(field auth_failures)
((a1 > a0)) && ok "bad accept MAC counted ($a0 -> $a1)" || bad "auth_failures: $(peers_line)"
mark keys-3
await keys-3-done
# Its attempt: our pending connection never saw an AUTH.
grows auth_failures "$a1" && ok "its failed handshake counted here: $(field auth_failures)" ||
	bad "auth_failures after its attempt: $(peers_line)"
[[ $(field state) != up ]] && ok "no connection with another key" || bad "up: $(peers_line)"
r0=$(field refused)
mark keys-4
await keys-4-done
expect_fail "ping of a node without a key" "Connection refused" "$T" ping --id "$OTHER"
(($(field refused) > r0)) && ok "refusal by a keyless node counted" || bad "refused: $(peers_line)"
mark keys-5
await keys-5-done
if ping_until 30 > /tmp/keys.out; then ok "the same key: accepted again"; else bad "not accepted: $(cat /tmp/keys.out)"; fi
f1=$(field fences)
((f1 == f0)) && ok "no fence from the failed handshakes (fences $f0)" ||
	bad "fenced by failed handshakes: $f0 -> $f1"
[[ $(field malformed) == 0 ]] && ok "no malformed messages" || bad "malformed: $(peers_line)"
cat /proc/xpmem/peers

# --- connect time: removing the peer drops the connection, the next ping
# connects (its time is connect + one round trip) ------------------------
c=() r=()
for k in 1 2 3 4 5; do
	"$T" del-peer --id "$OTHER" && "$T" add-peer --id "$OTHER" --addr "$OTHERADDR" || bad "re-add $k"
	sleep 1
	first=$("$T" ping --id "$OTHER" --verbose 2>&1 | sed -nE 's/.*rtt=([0-9.]+) us/\1/p')
	rest=$("$T" ping --id "$OTHER" --count 20 2>&1 | sed -nE 's/.* median ([0-9.]+) .*/\1/p')
	[[ -n $first && -n $rest ]] || { bad "connect time $k: '$first' '$rest'"; continue; }
	c+=("$first") r+=("$rest")
done
if ((${#c[@]})); then
	echo "connect: first ping (connect + rtt) us: ${c[*]}; rtt median us: ${r[*]}"
	med=$(printf '%s\n' "${c[@]}" | sort -g | sed -n "$(((${#c[@]} + 1) / 2))p")
	echo "median connect+rtt: $med us"
	ok "connect time measured"
fi
"$T" ping --id "$OTHER" --count 5 > /dev/null 2>&1 || bad "pings after the connect-time runs"
mark done
# Connections stay up: the harness unloads the module with them live.
echo "$pass passed, $fail failed"
((fail == 0))
}
