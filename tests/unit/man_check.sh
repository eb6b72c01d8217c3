#!/bin/sh
# man_check.sh - every API function has a man page, and each page
# formats without a groff warning.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
man3="$top/man/man3"
fails=0
for fn in xpmem_init xpmem_version xpmem_make xpmem_remove xpmem_get \
	  xpmem_release xpmem_attach xpmem_detach xpmem_sync xpmem; do
	page="$man3/$fn.3"
	if [ ! -f "$page" ]; then echo "FAIL  no man page $fn.3"; fails=$((fails + 1)); continue; fi
	warn=$(cd "$top/man" && groff -man -ww -z -Tutf8 -k "man3/$fn.3" 2>&1 ||
	       echo "groff exit status $?")
	# A page that is only ".so man3/x.3" must name an existing page.
	target=$(sed -n 's/^\.so  *//p' "$page")
	if [ -n "$target" ] && [ ! -f "$top/man/$target" ]; then
		warn="$warn .so target $target missing"
	fi
	if [ -n "$warn" ]; then echo "FAIL  $fn.3: $warn"; fails=$((fails + 1))
	else echo "ok    $fn.3"; fi
done
[ "$fails" -eq 0 ] && echo "man_check: all passed" || echo "man_check: $fails FAILED"
[ "$fails" -eq 0 ]
