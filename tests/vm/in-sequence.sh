#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# in-sequence.sh - run several test programs one after the other in one
# guest, and add up their results:
#
#   tests/vm/run-vm -- tests/vm/in-sequence.sh "CMD ARGS..." "CMD ARGS..."
#
# Why: a debug-kernel guest takes two to three minutes to boot under TCG,
# so the debug pass runs many tests per boot.  Each CMD is a shell word
# list (split on blanks, no quoting inside); its output is passed through
# with a "== CMD" header.  Each CMD should end with "N passed, N failed";
# one that prints no such line counts as one test (passed when it exits
# 0).  All CMDs run even when one fails.  Ends with the sum, exactly
# "N passed, N failed", and exits non-zero when anything failed.
#
#   tests/vm/run-vm --nodes N -- tests/vm/in-sequence.sh --together CMD...
#
# runs multi-node tests one after the other in one boot: every guest
# runs the same CMDs, and no guest starts CMD k+1 before every guest has
# finished CMD k (a barrier of files in XPMEM_HOST_CTL, the log share).

. "$(dirname "$0")/last-result.sh"
together=0
if [[ ${1:-} == --together ]]; then
	together=1
	shift
fi

# step_barrier K: wait until every guest has finished command K.
step_barrier() {
	local j deadline=$(($(date +%s) + 3600))
	: > "$XPMEM_HOST_CTL/step.$1.$XPMEM_NODE_INDEX" || return 1
	for ((j = 0; j < XPMEM_NODES; j++)); do
		until [[ -e $XPMEM_HOST_CTL/step.$1.$j ]]; do
			(($(date +%s) < deadline)) || return 1
			sleep 0.5
		done
	done
}

pass=0 fail=0 bad=0 k=0
for cmd in "$@"; do
	if ((together && k++ > 0)) && ! step_barrier $k; then
		echo "== $cmd: not run (the guests did not all finish the last command)"
		fail=$((fail + 1)) bad=1
		continue
	fi
	echo "== $cmd"
	out=$(mktemp /tmp/in-sequence.XXXXXX)
	start=$(date +%s)
	# shellcheck disable=SC2086	# CMD is a word list on purpose
	$cmd 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	if read -r p f < <(last_result "$out"); then
		:
	elif ((rc == 0)); then
		p=1 f=0
	else
		p=0 f=1
	fi
	rm -f "$out"
	((rc != 0 && f == 0)) && f=1	# failed outside its counted tests
	echo "== $cmd: $p passed, $f failed, exit $rc, $(($(date +%s) - start)) s"
	pass=$((pass + p)) fail=$((fail + f))
	((rc != 0)) && bad=1
done
echo "$pass passed, $fail failed"
((fail == 0 && bad == 0))
