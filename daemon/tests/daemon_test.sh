#!/bin/sh
# daemon_test.sh - xpmemd and xpmemctl end to end, natively, without the
# kernel (kernel = no): three nodes on 127.0.0.1-3 of the loopback, real
# UDP heartbeats and the real admin socket.  Checks admission, lease
# expiry after kill -9, rejoin with a new incarnation, a peer with the
# wrong key refused and counted, the segment filter by uid (as nobody
# when run as root), the cluster-wide segment listing (every node's
# fake /proc/xpmem/segments, filtered by uid on both sides, a stopped
# node not answering in time, a dead node reported), key file
# permissions and exit codes.
# Ends with "N passed, N failed".
set -u
# In a network namespace of its own when we may make one (root): then
# not even loopback traffic of the host sees the test's heartbeats.
if [ -z "${XPMEMD_TEST_NETNS:-}" ] && [ "$(id -u)" = 0 ] &&
	unshare -n true 2>/dev/null; then
	XPMEMD_TEST_NETNS=1 exec unshare -n sh -c 'ip link set lo up && exec sh "$0"' "$0"
fi
cd "$(dirname "$0")/.."
D=$PWD
T=$(mktemp -d /tmp/xpmemd-test.XXXXXX)
chmod 755 "$T"
PORT=$((20000 + $$ % 20000))
pass=0 fail=0 pids=

ok() { pass=$((pass + 1)); echo "ok    $1"; }
no() { fail=$((fail + 1)); echo "FAIL  $1"; }
check() { # check NAME CMD...: passes when CMD succeeds
	name=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$name"; else no "$name"; fi
}
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	[ -n "${XPMEMD_TEST_KEEP:-}" ] && { echo "kept $T"; return; }; rm -rf "$T"
}
trap cleanup EXIT INT TERM

# until SECONDS CMD...: retries CMD every 0.1 s
until_ok() {
	n=$(($1 * 10)); shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1; n=$((n - 1))
	done
	return 1
}
status_json() { "$D/xpmemctl" -S "$T/n$1.sock" --json status; }
# peer_state N PEER STATE: node N sees PEER in STATE
peer_state() {
	status_json "$1" | grep -q "\"node\":$2,\"host\":\"n$2\",\"address\":\"127.0.0.$2:18515\",\"state\":\"$3\""
}
peer_inc() {
	status_json "$1" | grep -o "\"node\":$2,[^}]*" | sed -n 's/.*"incarnation":"\([^"]*\)".*/\1/p'
}

"$D/xpmemd" --gen-key "$T/key" >/dev/null 2>&1
check "gen-key writes a key of mode 0600" test "$(stat -c %a "$T/key")" = 600
check "gen-key writes 64 hex digits" grep -qE '^[0-9a-f]{64}$' "$T/key"
"$D/xpmemd" --gen-key "$T/key" >/dev/null 2>&1
check "gen-key refuses to overwrite" test $? -eq 1
"$D/xpmemd" --gen-key "$T/badkey" >/dev/null 2>&1

cat > "$T/nodes.conf" <<EON
# three nodes on the loopback
1-3 n[1-3] 127.0.0.[1-3]
EON
for i in 1 2 3; do
	mkdir -p "$T/proc$i"
	cat > "$T/n$i.conf" <<EOC
node_id = $i
nodes = $T/nodes.conf
key_file = $T/key
socket = $T/n$i.sock
proc_dir = $T/proc$i
port = $PORT
heartbeat_ms = 100
lease_ms = 600
kernel = no
log_level = debug
EOC
done
sed -i "s|key_file = .*|key_file = $T/badkey|" "$T/n3.conf"
cat > "$T/proc1/segments" <<EOS
segid 0x1001 pid 10 uid 0 gid 0 size 4096 mode 0600 permits 0 attachments 0 remote_permits 0 remote_attachments 0
segid 0x1002 pid 11 uid 65534 gid 65534 size 8192 mode 0644 permits 1 attachments 2 remote_permits 0 remote_attachments 1 extra 5
EOS
chmod 644 "$T/proc1/segments"
printf 'contexts 0\nsegments 2\n' > "$T/proc1/counters"

# Options and configuration checks.
"$D/xpmemd" --help > "$T/out" 2>&1
check "xpmemd --help exits 0" test $? -eq 0
check "xpmemd --version" sh -c "'$D/xpmemd' --version | grep -q '^xpmemd 0'"
"$D/xpmemd" --bogus >/dev/null 2>&1
check "xpmemd bad option exits 2" test $? -eq 2
"$D/xpmemd" -c "$T/n1.conf" -t > "$T/out" 2>&1
check "check-config accepts the setup" test $? -eq 0
check "check-config shows this node" grep -q "127.0.0.1:18515  (this node)" "$T/out"
printf '1 a 10.0.0.1\n1 b 10.0.0.2\n' > "$T/dup.conf"
"$D/xpmemd" -c "$T/n1.conf" -n "$T/dup.conf" -t > "$T/out" 2>&1
check "duplicate node id: exit 3" test $? -eq 3
check "duplicate node id: file and line named" grep -q "dup.conf:2: duplicate node id 1" "$T/out"
printf 'port = 1\nwhat = 2\n' > "$T/bad.conf"
"$D/xpmemd" -c "$T/bad.conf" -t > "$T/out" 2>&1
check "unknown key: exit 3 with line" sh -c "test $? -eq 3 && grep -q 'bad.conf:2: unknown key' '$T/out'"
cp "$T/key" "$T/key644"; chmod 644 "$T/key644"
"$D/xpmemd" -c "$T/n1.conf" -k "$T/key644" -t > "$T/out" 2>&1
check "group/other-readable key refused (exit 3)" test $? -eq 3
check "refusal says why" grep -q "mode 0644 is readable" "$T/out"
"$D/xpmemctl" -S "$T/none.sock" status > /dev/null 2>&1
check "xpmemctl without a daemon exits 3" test $? -eq 3
"$D/xpmemctl" frobnicate > /dev/null 2>&1
check "xpmemctl unknown command exits 2" test $? -eq 2

start() { # start N: node N in the foreground, in the background
	"$D/xpmemd" -f -c "$T/n$1.conf" >> "$T/n$1.log" 2>&1 &
	eval "pid$1=$!"
	pids="$pids $!"
}
start 1
start 2
if until_ok 5 peer_state 1 2 alive && until_ok 5 peer_state 2 1 alive; then
	ok "nodes 1 and 2 admit each other after heartbeats"
else
	no "nodes 1 and 2 admit each other after heartbeats"
fi
check "node 3 never heard: unknown" peer_state 1 3 unknown
check "node 1 hears node 2 hearing it (sees_us)" until_ok 3 sh -c \
	"'$D/xpmemctl' -S '$T/n1.sock' --json status | grep -q '\"node\":2,[^}]*\"sees_us\":true'"
"$D/xpmemctl" -S "$T/n1.sock" status > "$T/out" 2>&1
check "text status lists node 2 alive" grep -qE '^ +2 n2 +127.0.0.2:18515 +alive' "$T/out"

# A node with the wrong key: refused, counted, never admitted.
start 3
if until_ok 3 sh -c "'$D/xpmemctl' -S '$T/n1.sock' --json status | grep -q '\"node\":3,[^}]*\"bad_mac\":[1-9]'"; then
	ok "heartbeats with a bad MAC are counted per peer"
else
	no "heartbeats with a bad MAC are counted per peer"
fi
check "the wrong-key node stays unknown" peer_state 1 3 unknown
check "bad MACs are logged" grep -q "bad MAC" "$T/n1.log"
kill -9 "$pid3"

# Segments: root sees all, others their own; counters.
"$D/xpmemctl" -S "$T/n1.sock" --json --local segments > "$T/out" 2>&1
check "root sees every segment" sh -c "grep -q '0x1001' '$T/out' && grep -q '0x1002' '$T/out'"
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$D/xpmemctl" -S "$T/n1.sock" --json --local segments > "$T/out" 2>&1
	check "nobody sees only its own segment" sh -c "grep -q '0x1002' '$T/out' && ! grep -q '0x1001' '$T/out'"
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$D/xpmemctl" -S "$T/n1.sock" status > /dev/null 2>&1
	check "nobody may read the status" test $? -eq 0
else
	echo "skip  segment filter as another user (needs root and setpriv)"
fi
"$D/xpmemctl" -S "$T/n2.sock" --json --local segments > "$T/out" 2>&1
check "no segments file: unavailable, exit 0" sh -c "test $? -eq 0 && grep -q '\"available\":false' '$T/out'"
"$D/xpmemctl" -S "$T/n1.sock" --json counters > "$T/out" 2>&1
check "counters: kernel and daemon" grep -q '{"kernel":{"contexts":0,"segments":2},"daemon":{"rx":[1-9]' "$T/out"

# Cluster-wide segments: node 3 now with the right key; nodes 2 and 3
# have segments of root, nobody and uid 1000 in their fake proc dirs.
cat > "$T/proc2/segments" <<EOS
segid 0x2001 pid 20 uid 0 gid 0 size 4096 mode 0600 permits 0 attachments 0 remote_permits 0 remote_attachments 0
segid 0x2002 pid 21 uid 65534 gid 65534 size 12288 mode 0640 permits 2 attachments 1 remote_permits 1 remote_attachments 3
segid 0x2003 pid 22 uid 1000 gid 1000 size 4096 mode 0600 permits 0 attachments 0 remote_permits 0 remote_attachments 0
EOS
cat > "$T/proc3/segments" <<EOS
segid 0x3001 pid 30 uid 1000 gid 1000 size 65536 mode 0600 permits 0 attachments 0 remote_permits 0 remote_attachments 0
segid 0x3002 pid 31 uid 65534 gid 65534 size 8192 mode 0666 permits 1 attachments 0 remote_permits 0 remote_attachments 0
EOS
chmod 400 "$T/proc2/segments" "$T/proc3/segments"
sed -i "s|key_file = .*|key_file = $T/key|" "$T/n3.conf"
start 3
if until_ok 5 peer_state 1 3 alive && until_ok 5 peer_state 3 1 alive &&
	until_ok 5 peer_state 2 1 alive; then
	ok "node 3 with the right key is admitted"
else
	no "node 3 with the right key is admitted"
fi
"$D/xpmemctl" -S "$T/n1.sock" segments > "$T/out" 2>&1
check "cluster segments: exit 0" test $? -eq 0
check "cluster text names the node of each record" sh -c "
	grep -qE '^ +1 n1 +0x0000000000001001 ' '$T/out' &&
	grep -qE '^ +2 n2 +0x0000000000002002 +21 +65534 ' '$T/out' &&
	grep -qE '^ +2 n2 +0x0000000000002003 ' '$T/out' &&
	grep -qE '^ +3 n3 +0x0000000000003001 +30 +1000 +1000 +65536 0600' '$T/out'"
check "cluster text: every node answered" sh -c "! grep -q 'not answering' '$T/out'"
"$D/xpmemctl" -S "$T/n1.sock" --json segments > "$T/out" 2>&1
check "cluster JSON: nodes and records" sh -c "
	grep -q '\"node\":2,\"host\":\"n2\",\"status\":\"ok\",\"answered\":true' '$T/out' &&
	grep -q '\"node\":3,\"host\":\"n3\",\"status\":\"ok\",\"answered\":true' '$T/out' &&
	grep -q '{\"node\":3,\"segid\":\"0x3002\",\"pid\":31,\"uid\":65534,\"gid\":65534,\"size\":8192,\"mode\":\"0666\",\"permits\":1' '$T/out' &&
	grep -q '{\"node\":2,\"segid\":\"0x2001\"' '$T/out' &&
	grep -q '{\"node\":1,\"segid\":\"0x1001\"' '$T/out'"
"$D/xpmemctl" -S "$T/n1.sock" --local segments > "$T/out" 2>&1
check "--local lists this node only" sh -c "grep -q '0x0000000000001001' '$T/out' && ! grep -q '0x000000000000[23]00' '$T/out'"
"$D/xpmemctl" -S "$T/n1.sock" --local status > /dev/null 2>&1
check "--local with status: usage error" test $? -eq 2
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$D/xpmemctl" -S "$T/n1.sock" --json segments > "$T/out" 2>&1
	check "nobody sees its own segments on every node" sh -c "
		grep -q '\"node\":1,\"segid\":\"0x1002\"' '$T/out' &&
		grep -q '\"node\":2,\"segid\":\"0x2002\"' '$T/out' &&
		grep -q '\"node\":3,\"segid\":\"0x3002\"' '$T/out'"
	check "nobody sees no one else's segment on any node" sh -c "
		! grep -qE '0x(1001|2001|2003|3001)' '$T/out'"
	setpriv --reuid=1000 --regid=1000 --clear-groups \
		"$D/xpmemctl" -S "$T/n1.sock" segments > "$T/out" 2>&1
	check "uid 1000 sees its segments on nodes 2 and 3 only" sh -c "
		grep -q '0x0000000000002003' '$T/out' &&
		grep -q '0x0000000000003001' '$T/out' &&
		! grep -qE '0x000000000000(1001|1002|2001|2002|3002)' '$T/out'"
else
	echo "skip  cluster segment filter as another user (needs root and setpriv)"
fi
# A node that is alive but does not answer: reported after the deadline.
kill -STOP "$pid3"
t0=$(date +%s%N)
"$D/xpmemctl" -S "$T/n1.sock" segments > "$T/out" 2>&1
rc=$?
t1=$(date +%s%N)
check "a silent node does not hang the listing" sh -c "test $rc -eq 0 && test $(( (t1 - t0) / 1000000 )) -lt 3000"
check "the silent node is reported as not answering in time" grep -q 'node 3 (n3): not answering in time' "$T/out"
check "the others are listed meanwhile" sh -c "grep -qE '^ +2 n2 +0x0000000000002001' '$T/out' && grep -qE '^ +1 n1 ' '$T/out'"
kill -9 "$pid3"
kill -CONT "$pid3" 2>/dev/null
check "killed node 3 declared dead" until_ok 4 peer_state 1 3 dead
"$D/xpmemctl" -S "$T/n1.sock" segments > "$T/out" 2>&1
check "a dead node is reported as not answering" grep -q 'node 3 (n3): not answering (dead' "$T/out"
"$D/xpmemctl" -S "$T/n1.sock" --json segments > "$T/out" 2>&1
check "JSON: the dead node, answered false, no records of it" sh -c "
	grep -q '\"node\":3,\"host\":\"n3\",\"status\":\"dead\",\"answered\":false' '$T/out' &&
	! grep -q '\"node\":3,\"segid\"' '$T/out' &&
	grep -q '\"node\":2,\"segid\":\"0x2002\"' '$T/out'"

# kill -9 node 2: node 1 declares it dead after the lease.
inc_before=$(peer_inc 1 2)
kill -9 "$pid2"
check "killed node declared dead after its lease" until_ok 4 peer_state 1 2 dead
grep -q "node 2: lease expired" "$T/n1.log"
check "lease expiry is logged" test $? -eq 0
# Restarted without a kernel it has a new incarnation: readmitted.
start 2
check "restarted node rejoins" until_ok 5 peer_state 1 2 alive
inc_after=$(peer_inc 1 2)
check "with a new incarnation" sh -c "test -n '$inc_before' && test -n '$inc_after' && test '$inc_before' != '$inc_after'"

# A second daemon on the same socket refuses to start.
"$D/xpmemd" -f -c "$T/n1.conf" > "$T/out" 2>&1
check "second daemon on one node refused (exit 1)" test $? -eq 1

# SIGTERM: clean exit, socket removed.
kill -TERM "$pid1"
wait "$pid1"
check "SIGTERM exits 0" test $? -eq 0
check "socket removed on exit" test ! -e "$T/n1.sock"
kill -TERM "$pid2"
wait "$pid2"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
