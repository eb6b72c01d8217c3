#!/bin/sh
# run.sh TEST... - runs CMocka binaries and shell tests, adds up their
# results and ends with "N passed, N failed".  A CMocka binary reports
# "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)"; a shell test ends
# with its own "N passed, N failed" line.  A test that exits non-zero
# without a counted failure (a crash) counts as one failure.
set -u
passed=0 failed=0
for t in "$@"; do
	case $t in
	*.sh) out=$(sh "$t" 2>&1); rc=$? ;;
	*) out=$("./$t" 2>&1); rc=$? ;;
	esac
	printf '%s\n' "$out"
	case $t in
	*.sh)
		line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
		p=${line%% passed*}
		f=${line#*, }; f=${f%% failed*}
		[ -n "$line" ] || { p=0 f=0; } ;;
	*)
		# stdout and stderr interleave: match anywhere in a line.
		p=$(printf '%s\n' "$out" | grep -oE '\[  PASSED  \] [0-9]+ test' | tail -n 1 | tr -cd 0-9)
		f=$(printf '%s\n' "$out" | grep -oE '\[  FAILED  \] [0-9]+ test' | tail -n 1 | tr -cd 0-9)
		p=${p:-0} f=${f:-0} ;;
	esac
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "run.sh: $t exited with status $rc"
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
