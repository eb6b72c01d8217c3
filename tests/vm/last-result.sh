# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# last-result.sh - sourced by tests/check.sh and tests/vm/in-sequence.sh.
#
# last_result FILE: prints "P F" from the last "P passed, F failed" in FILE
# (the summary line every test runner here ends with, possibly behind a
# prefix such as run-vm's "[node0] "); prints nothing and fails when FILE
# has no such line.
last_result() {
	local line
	line=$(grep -aoE '(^|[^0-9])[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	[[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]] || return 1
	echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
}
