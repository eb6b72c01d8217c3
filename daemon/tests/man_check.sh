#!/bin/sh
# man_check.sh - the daemon's man pages format without a groff warning
# (as tests/unit/man_check.sh checks the library's).  Ends with
# "N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
pass=0 fail=0
for page in man8/xpmemd.8 man8/xpmemctl.8; do
	if [ ! -f "$top/man/$page" ]; then
		echo "FAIL  no man page $page"; fail=$((fail + 1)); continue
	fi
	warn=$(cd "$top/man" && groff -man -ww -z -Tutf8 -k "$page" 2>&1 ||
	       echo "groff exit status $?")
	if [ -n "$warn" ]; then echo "FAIL  $page: $warn"; fail=$((fail + 1))
	else echo "ok    $page"; pass=$((pass + 1)); fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
