# gnuplot script of `make bench` (bench/run.sh): bandwidth against message
# size.  Called with dir='build/bench' (local.dat, cross.dat there).
set terminal pngcairo size 1200,520 font ",10" noenhanced
set output dir.'/bandwidth.png'
set multiplot layout 1,2 title 'xpmem bench: '.when.' (QEMU TCG guests: emulator numbers; compare curves, not absolutes)'
set logscale xy
set grid
set key bottom right box opaque
set xlabel 'message size (bytes)'
set ylabel 'MB/s (10^6 B/s), median'
set format x '%.0s%cB'
set title 'one node: warm copy of N bytes'
plot dir.'/local.dat' using 1:2 with linespoints lw 2 title 'memcpy from an attachment', \
     ''              using 1:3 with linespoints lw 2 title "owner's memcpy of its buffer", \
     ''              using 1:4 with linespoints lw 2 title 'process_vm_readv (CMA)', \
     ''              using 1:5 with linespoints dt 2 title 'attachment, glibc without rep movsb', \
     ''              using 1:6 with linespoints dt 2 title 'owner, glibc without rep movsb'
set title 'two nodes over Soft-RoCE: FETCH size vs RDMA READ size'
set xlabel 'bytes per message (FETCH window = remote_readahead x 4 KiB)'
plot dir.'/cross.dat' using 1:2 with linespoints lw 2 title 'streaming read through an attachment', \
     ''              using 1:3 with linespoints lw 2 title 'ib_read_bw'
unset multiplot
