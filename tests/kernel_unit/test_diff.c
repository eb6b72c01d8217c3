// SPDX-License-Identifier: GPL-2.0
/*
 * The write-back diff codec (kernel/diff.c) in user space: what the
 * attacher encodes, the owner's check accepts and its apply turns the old
 * page into the new one; malformed entries from a buggy peer are refused
 * whole.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "diff.h"

#define PG ((size_t)PAGE_SIZE)

static u8 out[3 * XPMEM_DIFF_MAX] __attribute__((aligned(8)));

static void fill_random(u8 *p, size_t n, unsigned int *seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (u8)rand_r(seed);
}

/* make, check, apply: the old page becomes the new one. */
static void roundtrip(const u8 *old, const u8 *now, u64 idx)
{
	u8 page[PAGE_SIZE];
	const struct xpmem_wire_wb_page *pg = (const void *)out;
	size_t len = xpmem_diff_make(idx, now, old, out);

	if (!memcmp(old, now, PG)) {
		assert_int_equal(len, 0);
		return;
	}
	assert_true(len > sizeof(*pg) && len <= XPMEM_DIFF_MAX);
	assert_int_equal(le64_to_cpu(pg->page), idx);
	assert_int_equal(le32_to_cpu(pg->len), len - sizeof(*pg));
	assert_int_equal(xpmem_diff_check(pg, len, 1, idx + 1), 0);
	/* the page index must lie inside the attachment */
	assert_int_equal(xpmem_diff_check(pg, len, 1, idx), -EINVAL);
	memcpy(page, old, PG);
	xpmem_diff_apply(page, pg + 1, le32_to_cpu(pg->nruns));
	assert_memory_equal(page, now, PG);
}

static void test_random_changes(void **state)
{
	u8 old[PAGE_SIZE], now[PAGE_SIZE];
	unsigned int seed = 14, round;

	(void)state;
	for (round = 0; round < 2000; round++) {
		unsigned int k, nchanges = rand_r(&seed) % 40;

		fill_random(old, PG, &seed);
		memcpy(now, old, PG);
		for (k = 0; k < nchanges; k++) {
			size_t off = rand_r(&seed) % PG;
			size_t n = 1 + rand_r(&seed) % (k % 3 ? 8 : 600);

			if (n > PG - off)
				n = PG - off;
			while (n--)	/* a changed byte differs */
				now[off + n] = (u8)(old[off + n] + 1 +
						    rand_r(&seed) % 255);
		}
		roundtrip(old, now, rand_r(&seed) % 1000);
	}
}

static void test_edges(void **state)
{
	u8 old[PAGE_SIZE] = { 0 }, now[PAGE_SIZE] = { 0 };

	(void)state;
	roundtrip(old, now, 0);		/* nothing changed: no entry */
	now[0] = 1;			/* the first byte */
	roundtrip(old, now, 0);
	now[0] = 0;
	now[PG - 1] = 1;		/* the last byte */
	roundtrip(old, now, 7);
	memset(now, 0xff, PG);		/* the whole page: one run */
	roundtrip(old, now, 3);
	assert_int_equal(le32_to_cpu(((struct xpmem_wire_wb_page *)out)->nruns),
			 1);
}

/* Every other byte changed: the largest entry, exactly XPMEM_DIFF_MAX. */
static void test_worst_case(void **state)
{
	u8 old[PAGE_SIZE] = { 0 }, now[PAGE_SIZE] = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < PG; i += 2)
		now[i] = 0x5a;
	assert_int_equal(xpmem_diff_make(1, now, old, out), XPMEM_DIFF_MAX);
	roundtrip(old, now, 1);
}

/* Three entries back to back, as one WRITEBACK carries them. */
static void test_several_pages(void **state)
{
	u8 old[PAGE_SIZE] = { 0 }, now[PAGE_SIZE] = { 0 };
	size_t len = 0;
	u64 idx;

	(void)state;
	for (idx = 0; idx < 3; idx++) {	/* 9, 10, 11 bytes long */
		memset(now, 0, PG);
		memset(now + 100 * idx + 5, (int)idx + 1, idx + 1);
		len += xpmem_diff_make(idx, now, old, out + len);
	}
	assert_int_equal(xpmem_diff_check(out, len, 3, 3), 0);
	/* a count that does not match the bytes */
	assert_int_equal(xpmem_diff_check(out, len, 2, 3), -EINVAL);
	assert_int_equal(xpmem_diff_check(out, len, 4, 3), -EINVAL);
	/* read back in order, each entry at whatever byte it starts */
	{
		const void *pos = out;
		struct xpmem_diff_entry e;
		u8 page[PAGE_SIZE];

		for (idx = 0; idx < 3; idx++) {
			memset(page, 0, PG);
			xpmem_diff_next(&pos, &e);
			assert_int_equal(e.page, idx);
			assert_int_equal(e.nruns, 1);
			xpmem_diff_apply(page, e.runs, e.nruns);
			assert_int_equal(page[100 * idx + 5], idx + 1);
		}
		assert_ptr_equal(pos, out + len);
	}
}

/* One entry with one run of 4 bytes at offset 16, then a mutation. */
static size_t one_run(void)
{
	u8 old[PAGE_SIZE] = { 0 }, now[PAGE_SIZE] = { 0 };

	memset(now + 16, 0x77, 4);
	return xpmem_diff_make(0, now, old, out);
}

static struct xpmem_wire_run *first_run(void)
{
	return (void *)(out + sizeof(struct xpmem_wire_wb_page));
}

static void test_malformed(void **state)
{
	struct xpmem_wire_wb_page *pg = (void *)out;
	size_t len;

	(void)state;
	len = one_run();
	assert_int_equal(xpmem_diff_check(pg, len, 1, 1), 0);
	/* truncated anywhere */
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(xpmem_diff_check(pg, cut, 1, 1), -EINVAL);
	/* a byte left over */
	assert_int_equal(xpmem_diff_check(pg, len + 1, 1, 1), -EINVAL);

	first_run()->len = cpu_to_le16(0);		/* an empty run */
	assert_int_equal(xpmem_diff_check(pg, len, 1, 1), -EINVAL);

	len = one_run();
	first_run()->offset = cpu_to_le16(PG - 2);	/* past the page */
	assert_int_equal(xpmem_diff_check(pg, len, 1, 1), -EINVAL);
	first_run()->offset = cpu_to_le16(0xffff);
	assert_int_equal(xpmem_diff_check(pg, len, 1, 1), -EINVAL);

	len = one_run();
	first_run()->len = cpu_to_le16(5);		/* more than sent */
	assert_int_equal(xpmem_diff_check(pg, len, 1, 1), -EINVAL);

	len = one_run();
	pg->nruns = cpu_to_le32(2);			/* a run missing */
	assert_int_equal(xpmem_diff_check(pg, len, 1, 1), -EINVAL);
	pg->nruns = cpu_to_le32(0xffffffff);
	assert_int_equal(xpmem_diff_check(pg, len, 1, 1), -EINVAL);

	len = one_run();
	pg->len = cpu_to_le32(0xffffffff);		/* runs' length */
	assert_int_equal(xpmem_diff_check(pg, len, 1, 1), -EINVAL);
	pg->len = cpu_to_le32(3);
	assert_int_equal(xpmem_diff_check(pg, len, 1, 1), -EINVAL);

	len = one_run();
	pg->page = cpu_to_le64(~0ULL);			/* page index */
	assert_int_equal(xpmem_diff_check(pg, len, 1, ~0ULL), -EINVAL);
}

/* Random bytes as entries: refused, or (rarely) well-formed by chance. */
static void test_fuzz_check(void **state)
{
	unsigned int seed = 7, round, accepted = 0;

	(void)state;
	for (round = 0; round < 20000; round++) {
		size_t len = rand_r(&seed) % 64;

		fill_random(out, len, &seed);
		if (!xpmem_diff_check(out, len, 1 + round % 3, 1ULL << 40))
			accepted++;
	}
	/* the shape constraints leave almost nothing */
	assert_true(accepted < 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_changes),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_worst_case),
		cmocka_unit_test(test_several_pages),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_fuzz_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
