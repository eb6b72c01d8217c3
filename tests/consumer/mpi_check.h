/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mpi_check.h - helpers shared by the MPI consumer tests: a deterministic
 * data pattern, its verification, a checksum, and failing loudly with
 * MPI_Abort so that mpirun's exit status tells.
 */
#ifndef MPI_CHECK_H
#define MPI_CHECK_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <mpi.h>

#define MC_FAIL(...) do {						\
	int mc_rank_ = -1;						\
	MPI_Comm_rank(MPI_COMM_WORLD, &mc_rank_);			\
	fprintf(stderr, "rank %d: FAIL %s:%d: ", mc_rank_, __FILE__,	\
		__LINE__);						\
	fprintf(stderr, __VA_ARGS__);					\
	fputc('\n', stderr);						\
	fflush(NULL);							\
	MPI_Abort(MPI_COMM_WORLD, 1);					\
	exit(1);							\
} while (0)

#define MC_CHECK(cond, ...) do {					\
	if (!(cond))							\
		MC_FAIL(__VA_ARGS__);					\
} while (0)

#define MC_MPI(call) do {						\
	int mc_rc_ = (call);						\
	MC_CHECK(mc_rc_ == MPI_SUCCESS, "%s returned %d", #call, mc_rc_); \
} while (0)

/* Word i of pattern seed: a mixing function, different for every seed. */
static inline uint64_t mc_pat(uint64_t seed, size_t i)
{
	uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ULL ^ (i * 0xd1b54a32d192ed03ULL);

	x ^= x >> 32;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 29;
	return x;
}

static inline void mc_fill(uint64_t *w, size_t words, uint64_t seed)
{
	for (size_t i = 0; i < words; i++)
		w[i] = mc_pat(seed, i);
}

/* Order-sensitive checksum (Fletcher-like over 64-bit words). */
static inline uint64_t mc_sum(const uint64_t *w, size_t words)
{
	uint64_t a = 0, b = 0;

	for (size_t i = 0; i < words; i++) {
		a += w[i];
		b += a;
	}
	return a ^ (b * 0x100000001b3ULL);
}

static inline uint64_t mc_sum_pat(size_t words, uint64_t seed)
{
	uint64_t a = 0, b = 0;

	for (size_t i = 0; i < words; i++) {
		a += mc_pat(seed, i);
		b += a;
	}
	return a ^ (b * 0x100000001b3ULL);
}

/*
 * Fails unless w holds pattern seed: compares the checksum, then reports
 * the first word that differs.
 */
static inline void mc_verify(const uint64_t *w, size_t words, uint64_t seed,
			     const char *what)
{
	uint64_t got = mc_sum(w, words), want = mc_sum_pat(words, seed);

	if (got == want)
		return;
	for (size_t i = 0; i < words; i++)
		if (w[i] != mc_pat(seed, i))
			MC_FAIL("%s: checksum %#" PRIx64 " want %#" PRIx64
				"; word %zu of %zu is %#" PRIx64 " want %#" PRIx64,
				what, got, want, i, words, w[i], mc_pat(seed, i));
	MC_FAIL("%s: checksum %#" PRIx64 " want %#" PRIx64, what, got, want);
}

/*
 * Fresh anonymous pages straight from mmap (not malloc, whose free lists
 * would hand back the same pages): munmap + mmap usually returns the same
 * address, so a peer's cached attachment of that range must show the new
 * pages, never the old ones.
 */
static inline uint64_t *mc_map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	MC_CHECK(p != MAP_FAILED, "mmap %zu", bytes);
	return p;
}

static inline void mc_unmap(uint64_t *p, size_t bytes)
{
	if (p)
		MC_CHECK(munmap(p, bytes) == 0, "munmap %zu", bytes);
}

static inline size_t mc_parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	if (*end == 'K' || *end == 'k')
		v <<= 10;
	else if (*end == 'M' || *end == 'm')
		v <<= 20;
	return (size_t)v;
}

#endif /* MPI_CHECK_H */
