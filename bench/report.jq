# bench/report.jq: turns the figures of a `make bench` run (an array of the
# JSON lines the guests printed) into table rows: each figure next to its
# reference from the same run, the ratio, the target and whether it is met.
#
# kind "hi":      ratio = figure / reference, target is a minimum (bandwidth)
# kind "speedup": ratio = reference / figure, target is a minimum (times)
# kind "lo":      ratio = figure / reference, target is a maximum (times)

def median: sort | if length == 0 then null
	elif length % 2 == 1 then .[(length - 1) / 2]
	else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def sz: if . >= 1073741824 and . % 1073741824 == 0 then "\(. / 1073741824)G"
	elif . >= 1048576 and . % 1048576 == 0 then "\(. / 1048576)M"
	elif . >= 1024 and . % 1024 == 0 then "\(. / 1024)K"
	else "\(.)B" end;
def r3: if . == null then null else (. * 1000 | round) / 1000 end;
def num: if . == null then "-" elif . >= 100 then (. | round | tostring)
	else ((. * 100 | round) / 100 | tostring) end;

. as $all
| def figs($n; $s): [$all[] | select(.name == $n and .size == $s)];
  def med($n; $s): figs($n; $s) | map(.median) | median;
  def spread($n; $s): figs($n; $s) as $f
	| if ($f | length) == 0 then "-"
	  elif ($f | length) == 1 and ($f[0].min != null) then
		"\($f[0].min | num)..\($f[0].max | num) (n=\($f[0].n))"
	  else "\($f | map(.median) | min | num)..\($f | map(.median) | max | num) (\($f | length) runs)" end;
  def row($sec; $fn; $fs; $rn; $rs; $kind; $target; $note):
	med($fn; $fs) as $v | med($rn; $rs) as $r
	| (if $v == null or $r == null or $v == 0 or $r == 0 then null
	   elif $kind == "speedup" then $r / $v else $v / $r end) as $ratio
	| select($v != null or $r != null)
	| { section: $sec,
	    figure: "\($fn) \($fs | sz)", value: ($v | r3),
	    unit: ((figs($fn; $fs) + figs($rn; $rs))[0].unit),
	    spread: spread($fn; $fs),
	    reference: "\($rn) \($rs | sz)", ref_value: ($r | r3),
	    ref_spread: spread($rn; $rs),
	    ratio: ($ratio | r3),
	    ratio_means: (if $kind == "speedup" then "reference/figure" else "figure/reference" end),
	    target: (if $target == null then null
		     elif $kind == "lo" then "<= \($target)" else ">= \($target)" end),
	    met: (if $target == null or $ratio == null then null
		  elif $kind == "lo" then $ratio <= $target else $ratio >= $target end),
	    note: $note };
  [$all[] | select(.name == "copy_memcpy") | .size] | unique as $sizes
| [ ($sizes[] as $s | row("local"; "copy_attach"; $s; "copy_memcpy"; $s; "hi"; 0.95; "warm copy out of an attachment vs the owner's memcpy")),
    ($sizes[] as $s | row("local"; "copy_attach"; $s; "copy_cma"; $s; "hi";
	(if $s >= 65536 then 2 else null end); "vs process_vm_readv of the same bytes")),
    ($sizes[] as $s | row("local-norepmovsb"; "copy_attach_norepmovsb"; $s; "copy_memcpy_norepmovsb"; $s; "hi"; null; "glibc memcpy without rep movsb")),
    ($sizes[] as $s | row("local-norepmovsb"; "copy_attach_norepmovsb"; $s; "copy_cma"; $s; "hi";
	(if $s >= 65536 then 2 else null end); "the attachment copied without rep movsb vs process_vm_readv (whose kernel copy is rep movsb, no tunable)")),
    row("local"; "touch_hugetlb"; 1073741824; "touch_4k"; 1073741824; "speedup"; 5; "attach + first touch, owner on 2 MiB hugetlb pages vs fault_batch=1"),
    row("local"; "touch_thp"; 1073741824; "touch_4k"; 1073741824; "speedup"; 5; "attach + first touch, owner on THP vs fault_batch=1"),
    row("local"; "touch_batch"; 1073741824; "touch_4k"; 1073741824; "speedup"; null; "default fault_batch vs fault_batch=1"),
    row("local"; "touch_batch"; 1073741824; "touch_owner"; 1073741824; "lo"; 0.35; "attach + first read of every 4 KiB page vs a process's first read of its own fresh memory"),
    row("local"; "cycle_xpmem"; 65536; "cycle_mmap"; 65536; "lo"; 1.2; "xpmem_get + attach + detach + release vs mmap + munmap"),
    row("cross"; "stream_ra16"; 67108864; "ib_read_bw"; 65536; "hi"; 0.8; "64 MiB streaming read, 16-page FETCH (64 KiB) vs ib_read_bw -s 64K"),
    ([1, 2, 4, 8][] as $ra | row("cross"; "stream_ra\($ra)"; 8388608; "ib_read_bw"; ($ra * 4096); "hi"; null; "remote_readahead=\($ra)")),
    row("cross"; "remote_fault_ra1"; 4096; "ib_read_lat"; 4096; "lo"; 1.5; "cold fault, 1-page fetch vs RDMA READ of 4 KiB"),
    row("cross"; "remote_fault_ra1"; 4096; "ib_read_lat"; 2; "lo"; 1.5; "cold fault, 1-page fetch vs RDMA READ of 2 B"),
    row("cross"; "remote_fault_ra16"; 65536; "ib_read_lat"; 65536; "lo"; 1.5; "cold fault, 16-page fetch (default) vs RDMA READ of 64 KiB"),
    row("cross"; "invalidation_munmap"; 4096; "ib_read_lat"; 2; "lo"; 2; "owner munmap of a page cached remotely"),
    row("cross"; "munmap_no_remote_copy"; 4096; "ib_read_lat"; 2; "lo"; null; "the same munmap, nothing cached remotely"),
    row("cross"; "sync_acquire_1page"; 4096; "ib_read_lat"; 2; "lo"; null; "xpmem_sync(ACQUIRE), 1 clean copy"),
    row("cross"; "sync_acquire_16pages"; 65536; "ib_read_lat"; 2; "lo"; null; "xpmem_sync(ACQUIRE), 16 clean copies"),
    row("cross"; "sync_release_clean"; 65536; "ib_read_lat"; 2; "lo"; null; "xpmem_sync(RELEASE), nothing written"),
    row("cross"; "sync_release_dirty_1page"; 4096; "ib_read_lat"; 2; "lo"; null; "xpmem_sync(RELEASE), 1 page written"),
    row("cross"; "sync_release_dirty_16pages"; 65536; "ib_read_lat"; 2; "lo"; null; "xpmem_sync(RELEASE), 16 pages written"),
    row("cross"; "xpmem_ping"; 64; "ib_read_lat"; 2; "lo"; null; "kernel transport round trip (PING)"),
    row("cross"; "xpmem_ping"; 4096; "ib_read_lat"; 4096; "lo"; null; "kernel transport round trip (PING)"),
    row("cross"; "xpmem_ping"; 64; "ib_send_rtt"; 64; "lo"; 1.3; "the transport's round trip vs perftest's two-sided one (2x ib_send_lat)"),
    row("cross"; "ib_send_rtt"; 64; "ib_read_lat"; 2; "lo"; null; "perftest two-sided round trip vs one-sided READ"),
    row("cross"; "invalidation_munmap"; 4096; "xpmem_ping"; 64; "lo"; 1.3; "invalidation round (1 sharer) vs the transport's floor"),
    row("cross"; "remote_fault_ra1"; 4096; "xpmem_ping"; 64; "lo"; null; "cold 1-page fault vs the transport's floor"),
    row("cross"; "remote_fault_ra1"; 4096; "xpmem_ping"; 4096; "lo"; null; "cold 1-page fault vs a 4 KiB round trip"),
    row("sharers"; "invalidation_sharers1"; 4096; "sharers_xpmem_ping"; 64; "lo"; 1.3; "8 guests: munmap of a page 1 sharer node holds vs the owner's PING"),
    ([2, 4, 7][] as $k | row("sharers"; "invalidation_sharers\($k)"; 4096; "invalidation_sharers1"; 4096; "lo";
	(if $k == 7 then 1.5 else null end); "the same page held by \($k) sharer nodes vs 1")),
    ([2, 4, 7][] as $k | row("sharers"; "invalidation_sharers\($k)"; 4096; "sharers_ping_fanout\($k)"; 64; "lo"; 1.3;
	"\($k) sharer nodes vs PINGs of \($k) nodes at once (the transport's fan-out on these guests)"))
  ]
