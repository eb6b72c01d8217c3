// SPDX-License-Identifier: GPL-2.0-only
/*
 * segid_bits: segment ids carry at least 40 random bits drawn per
 * segment.  A makes NSEG segments (one page each) and looks at the 48
 * bits below the node field (bits 62..48, the same in every id):
 *  - ids are positive and no two are equal;
 *  - every one of the 48 bits takes both values, each in 35%..65% of
 *    the ids (a slot counter or a constant bit fails this);
 *  - consecutive ids differ in about half of the bits (mean Hamming
 *    distance 20..28 of 48), so ids are not made one from the next;
 *  - sorted, no two ids are closer than 2^20 (more than one such pair
 *    in 1024 random 48-bit ids has odds of about 1e-5).
 */
#include "itest.h"

#define NSEG		1024
#define LOW_BITS	48

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	static xpmem_segid_t ids[NSEG];
	static uint64_t low[NSEG];
	uint64_t mask = (1ULL << LOW_BITS) - 1, node;
	long ones[LOW_BITS] = { 0 }, dist = 0, close_pairs = 0;
	int i, b, bad = 0;
	char *buf;

	it_init("segid_bits");
	buf = it_map(it_page);
	for (i = 0; i < NSEG; i++) {
		ids[i] = it_make(buf, it_page, 0600);
		low[i] = (uint64_t)ids[i] & mask;
	}
	node = (uint64_t)ids[0] >> LOW_BITS;
	for (i = 0; i < NSEG; i++) {
		CHECK(ids[i] > 0, "segid %#llx not positive",
		      (long long)ids[i]);
		CHECK(((uint64_t)ids[i] >> LOW_BITS) == node,
		      "node field of %#llx differs from %#llx",
		      (long long)ids[i], (unsigned long long)node);
		for (b = 0; b < LOW_BITS; b++)
			ones[b] += (low[i] >> b) & 1;
		if (i)
			dist += __builtin_popcountll(low[i] ^ low[i - 1]);
	}
	for (b = 0; b < LOW_BITS; b++)
		if (ones[b] < NSEG * 35 / 100 || ones[b] > NSEG * 65 / 100) {
			fprintf(stderr, "bit %d is set in %ld of %d ids\n", b,
				ones[b], NSEG);
			bad++;
		}
	NOTE("first ids: %#llx %#llx %#llx %#llx", (long long)ids[0],
	     (long long)ids[1], (long long)ids[2], (long long)ids[3]);
	NOTE("mean Hamming distance of consecutive ids: %.1f of %d bits",
	     (double)dist / (NSEG - 1), LOW_BITS);
	qsort(low, NSEG, sizeof(low[0]), cmp_u64);
	for (i = 1; i < NSEG; i++) {
		CHECK(low[i] != low[i - 1], "two segments share id bits %#llx",
		      (unsigned long long)low[i]);
		if (low[i] - low[i - 1] < (1ULL << 20))
			close_pairs++;
	}
	for (i = 0; i < NSEG; i++)
		CHECK_OK(xpmem_remove(ids[i]));
	CHECK(bad == 0, "%d of the %d bits below the node field are not "
	      "random", bad, LOW_BITS);
	CHECK(dist >= 20L * (NSEG - 1) && dist <= 28L * (NSEG - 1),
	      "consecutive ids differ in %.1f bits on average",
	      (double)dist / (NSEG - 1));
	CHECK(close_pairs <= 1, "%ld pairs of ids closer than 2^20",
	      close_pairs);
	return 0;
}
