# Exit 0 if a kmemleak report (blocks starting with "unreferenced object")
# has a backtrace that mentions xpmem or holds a bare, unsymbolised address in
# the x86-64 module area (a frame of an unloaded module: on the debug kernel
# everything else is built in).  Exit 1 otherwise.
function check() {
	if (blk ~ /xpmem/ || blk ~ /\] 0xffffffff[c-f][0-9a-f]+[ \t]*\n/)
		bad = 1
	blk = ""
}
/^unreferenced object/ { check() }
{ blk = blk $0 "\n" }
END { check(); exit !bad }
