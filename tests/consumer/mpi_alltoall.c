// SPDX-License-Identifier: GPL-2.0-only
/*
 * mpi_alltoall: MPI_Alltoall of BLOCK-byte blocks among all ranks, ITERS
 * times.  The block rank s sends to rank d in iteration i holds a
 * pattern named by (i, s, d); every receiver checks the checksum of every
 * block it got.  Every third iteration each rank munmaps and mmaps its
 * buffers anew.
 *
 *   mpirun -np 4 mpi_alltoall [BLOCK [ITERS]]     (default 2M 4)
 */
#include "mpi_check.h"

static uint64_t seed_of(int it, int src, int dst, int n)
{
	return 0xa11a11ULL << 32 | (uint64_t)((it * n + src) * n + dst);
}

int main(int argc, char **argv)
{
	size_t block = 2 << 20, words, all;
	int iters = 4, rank, n;
	uint64_t *sbuf = NULL, *rbuf = NULL;
	double t0, t;

	MC_MPI(MPI_Init(&argc, &argv));
	MC_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
	MC_MPI(MPI_Comm_size(MPI_COMM_WORLD, &n));
	if (argc > 1)
		block = mc_parse_size(argv[1]);
	if (argc > 2)
		iters = atoi(argv[2]);
	MC_CHECK(block >= 8 && block / 8 <= (size_t)1 << 30 && iters > 0,
		 "bad arguments: BLOCK %zu ITERS %d", block, iters);
	words = block / 8;
	all = block * (size_t)n;

	MC_MPI(MPI_Barrier(MPI_COMM_WORLD));
	t0 = MPI_Wtime();
	for (int it = 0; it < iters; it++) {
		if (it % 3 == 0) {
			mc_unmap(sbuf, all);
			mc_unmap(rbuf, all);
			sbuf = mc_map(all);
			rbuf = mc_map(all);
		}
		for (int d = 0; d < n; d++)
			mc_fill(sbuf + (size_t)d * words, words, seed_of(it, rank, d, n));
		memset(rbuf, 0, all);
		MC_MPI(MPI_Alltoall(sbuf, (int)words, MPI_UINT64_T,
				    rbuf, (int)words, MPI_UINT64_T, MPI_COMM_WORLD));
		for (int s = 0; s < n; s++) {
			char what[64];

			snprintf(what, sizeof(what), "rank %d: iteration %d, block from %d",
				 rank, it, s);
			mc_verify(rbuf + (size_t)s * words, words, seed_of(it, s, rank, n), what);
		}
	}
	t = MPI_Wtime() - t0;
	mc_unmap(sbuf, all);
	mc_unmap(rbuf, all);
	MC_MPI(MPI_Barrier(MPI_COMM_WORLD));
	if (rank == 0)
		printf("alltoall: %d ranks, %zu-byte blocks x %d iterations: %.1f ms each, all %d checksums ok on every rank\n",
		       n, block, iters, t / iters * 1e3, n * iters);
	MC_MPI(MPI_Finalize());
	return 0;
}
