// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpi_pingpong: ranks 0 and 1 bounce large messages (MIN..MAX bytes,
 * doubling, ITERS round trips each).  Every message carries a pattern
 * that names its size, iteration and direction; the receiver checks its
 * checksum (and reports the first bad word).  Every fourth iteration
 * both ranks munmap and mmap their buffers anew, so the peer's cached
 * XPMEM attachment of the old address range must follow the owner's new
 * pages (Open MPI keeps attachments in a registration cache).  Buffers
 * start at an 8-byte offset that changes per iteration: not page aligned.
 *
 *   mpirun -np 2 mpi_pingpong [MIN [MAX [ITERS]]]   (default 64K 16M 4)
 *
 * Ranks other than 0 and 1 only take part in the barriers.
 */
#include "mpi_check.h"

int main(int argc, char **argv)
{
	size_t min = 64 << 10, max = 16 << 20;
	int iters = 4, rank, size;
	uint64_t *sraw, *rraw;

	MC_MPI(MPI_Init(&argc, &argv));
	MC_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
	MC_MPI(MPI_Comm_size(MPI_COMM_WORLD, &size));
	if (argc > 1)
		min = mc_parse_size(argv[1]);
	if (argc > 2)
		max = mc_parse_size(argv[2]);
	if (argc > 3)
		iters = atoi(argv[3]);
	MC_CHECK(size >= 2, "needs 2 ranks, has %d", size);
	MC_CHECK(min >= 8 && min <= max && max / 8 <= (size_t)1 << 30 && iters > 0,
		 "bad arguments: MIN %zu MAX %zu ITERS %d", min, max, iters);

	sraw = mc_map(max + 64);
	rraw = mc_map(max + 64);
	for (size_t bytes = min; bytes <= max; bytes *= 2) {
		size_t words = bytes / 8;
		double t0, t;

		MC_MPI(MPI_Barrier(MPI_COMM_WORLD));
		t0 = MPI_Wtime();
		for (int it = 0; it < iters && rank < 2; it++) {
			uint64_t seed = ((uint64_t)bytes << 20) | ((uint64_t)it << 1);
			uint64_t *s, *r;
			int peer = 1 - rank;

			if (it % 4 == 3) {
				mc_unmap(sraw, max + 64);
				mc_unmap(rraw, max + 64);
				sraw = mc_map(max + 64);
				rraw = mc_map(max + 64);
			}
			s = sraw + it % 8;
			r = rraw + it % 8;
			if (rank == 0) {
				mc_fill(s, words, seed);
				MC_MPI(MPI_Send(s, (int)words, MPI_UINT64_T, peer, it,
						MPI_COMM_WORLD));
				MC_MPI(MPI_Recv(r, (int)words, MPI_UINT64_T, peer, it,
						MPI_COMM_WORLD, MPI_STATUS_IGNORE));
				mc_verify(r, words, seed | 1, "rank 0: reply");
			} else {
				MC_MPI(MPI_Recv(r, (int)words, MPI_UINT64_T, peer, it,
						MPI_COMM_WORLD, MPI_STATUS_IGNORE));
				mc_verify(r, words, seed, "rank 1: message");
				mc_fill(s, words, seed | 1);
				MC_MPI(MPI_Send(s, (int)words, MPI_UINT64_T, peer, it,
						MPI_COMM_WORLD));
			}
		}
		t = MPI_Wtime() - t0;
		if (rank == 0)
			printf("pingpong %9zu bytes x %d: %.3f ms per round trip, %.1f MB/s, checksums ok\n",
			       bytes, iters, t / iters * 1e3,
			       2.0 * (double)bytes * iters / t / 1e6);
	}
	mc_unmap(sraw, max + 64);
	mc_unmap(rraw, max + 64);
	MC_MPI(MPI_Barrier(MPI_COMM_WORLD));
	if (rank == 0)
		printf("pingpong: %zu..%zu bytes, %d iterations each: all checksums ok\n",
		       min, max, iters);
	MC_MPI(MPI_Finalize());
	return 0;
}
