#!/bin/bash
# Runs in every guest (tests/vm/run-vm): configures and starts xpmemd
# the way an admin would (nodes.conf, key file 0600, xpmemd.conf), serves
# the test driver (tests/crossnode/xnode serve), and on node 0 drives the
# cases (drive.sh).  The daemons, not the test, tell the kernels their
# node ids and peers.
set -euo pipefail
cd "$(dirname "$0")/../.."
ctl=tests/membership/daemon-ctl.sh
$ctl configure
$ctl start
trap '$ctl stop' EXIT
tests/crossnode/xnode serve 7700 &
servant=$!
rc=0
if ((XPMEM_NODE_INDEX == 0)); then
	tests/membership/drive.sh || rc=$?
fi
wait "$servant" || true
exit $rc
