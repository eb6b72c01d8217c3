// SPDX-License-Identifier: GPL-2.0-only
/*
 * hugepage: A's 8 MiB buffer is 2 MiB aligned, MADV_HUGEPAGE, touched
 * (THP-backed; checked in /proc/self/smaps).  B attaches 4 MiB at the
 * 2 MiB-aligned offset 2 MiB and reads: data must be right both ways
 * and /proc/xpmem/counters pmd_maps must grow (huge pages are mapped as
 * huge pages, not 4 KiB at a time).  Skipped if the guest gives A no
 * transparent huge pages at all.  Then A drops one 4 KiB page inside a
 * huge page of B's window (the THP is split): B must read zeros there
 * and its own data everywhere else.
 */
#include "itest.h"

#define HPAGE	(2UL << 20)
#define LEN	(4 * HPAGE)
#define OFF	HPAGE
#define ALEN	(2 * HPAGE)
#define SPLIT_OFF	(OFF + 5 * 4096 + 64 * 4096)
#define PAT	0x4a4
#define BPAT	0x4b4

static void peer_b(int fd, void *arg)
{
	xpmem_segid_t segid = (xpmem_segid_t)it_recv(fd);
	xpmem_apid_t apid = it_get(segid, XPMEM_RDWR);
	char *p = it_attach(apid, OFF, ALEN);
	long long before = (long long)it_recv(fd), after, faults0, faults1;
	char *expect;

	(void)arg;
	NOTE("B's attachment at %p (%s2 MiB aligned)", (void *)p,
	     ((uintptr_t)p & (HPAGE - 1)) ? "NOT " : "");
	faults0 = it_counter("faults");
	/* compare with A's pattern at the same offset of A's buffer */
	expect = it_map(ALEN);
	{
		char *whole = it_map(LEN);

		it_fill(whole, LEN, PAT);
		memcpy(expect, whole + OFF, ALEN);
		munmap(whole, LEN);
	}
	CHECK(memcmp(p, expect, ALEN) == 0, "B's view of A's huge pages "
	      "differs from A's data");
	after = it_counter("pmd_maps");
	faults1 = it_counter("faults");
	NOTE("pmd_maps %lld -> %lld, faults %lld -> %lld", before, after,
	     faults0, faults1);
	it_fill(p, ALEN, BPAT);
	it_send(fd, (uint64_t)(after - before));
	it_expect(fd, 2);
	/* A dropped one 4 KiB page in the middle of a huge page (split) */
	{
		size_t i, hole = SPLIT_OFF - OFF;

		for (i = 0; i < ALEN; i += it_page) {
			enum it_page_state s = it_classify(p, i, BPAT, 0);

			if (i == hole)
				CHECK(s == PG_ZERO, "page at window offset %#zx, "
				      "dropped by the owner inside a huge page: "
				      "%s, want zeros", i, it_state_name(s));
			else
				CHECK(s == PG_OLD, "page at window offset %#zx "
				      "after the owner split the huge page: %s, "
				      "want B's data", i, it_state_name(s));
		}
	}
	it_send(fd, 4);
	it_expect(fd, 5);
	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_release(apid));
	it_send(fd, 3);
}

int main(void)
{
	struct it_peer b;
	xpmem_segid_t segid;
	long long before, pmd_delta;
	long kb;
	char *buf;

	it_init("hugepage");
	before = it_counter("pmd_maps");
	CHECK(before >= 0, "no pmd_maps line in %s", XPMEM_PROC_COUNTERS);
	b = it_spawn(peer_b, NULL);
	buf = it_map_aligned(LEN, HPAGE);
	if (madvise(buf, LEN, MADV_HUGEPAGE) != 0)
		it_skip("MADV_HUGEPAGE: %s (no THP in this kernel?)",
			strerror(errno));
	it_fill(buf, LEN, PAT);
	kb = it_anon_huge_kb(buf);
	NOTE("A's buffer %p: AnonHugePages %ld kB of %lu", (void *)buf, kb,
	     LEN >> 10);
	if (kb <= 0) {
		/* let B finish cleanly before skipping */
		close(b.fd);
		it_wait(b.pid);
		it_skip("the guest backs A's buffer with no huge page "
			"(THP disabled or no free 2 MiB block)");
	}
	segid = it_make(buf, LEN, 0600);
	it_send(b.fd, (uint64_t)segid);
	it_send(b.fd, (uint64_t)before);
	pmd_delta = (long long)it_recv(b.fd);
	{
		char *whole = it_map(LEN);

		it_fill(whole, LEN, PAT);
		/* B filled pattern BPAT relative to its own start */
		CHECK(it_verify(buf + OFF, ALEN, BPAT) < 0,
		      "A does not see B's writes through huge pages");
		CHECK(memcmp(buf, whole, OFF) == 0,
		      "A's data before B's window was changed");
		CHECK(memcmp(buf + OFF + ALEN, whole + OFF + ALEN,
			     LEN - OFF - ALEN) == 0,
		      "A's data after B's window was changed");
		munmap(whole, LEN);
	}
	/* split: drop one 4 KiB page inside the first huge page of B's window */
	CHECK(madvise(buf + SPLIT_OFF, it_page, MADV_DONTNEED) == 0,
	      "MADV_DONTNEED of one page inside a huge page");
	it_send(b.fd, 2);
	it_expect(b.fd, 4);
	it_send(b.fd, 5);
	it_expect(b.fd, 3);
	it_join(&b, "attacher B");
	CHECK_OK(xpmem_remove(segid));
	CHECK(pmd_delta > 0, "B read %lu MiB of THP-backed memory (A has %ld "
	      "kB AnonHugePages) at a 2 MiB aligned offset, but pmd_maps did "
	      "not increase (delta %lld): huge pages mapped 4 KiB at a time",
	      ALEN >> 20, kb, pmd_delta);
	return 0;
}
