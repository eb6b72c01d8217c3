// SPDX-License-Identifier: GPL-2.0-only
/*
 * fault_around: what one fault of an attachment maps, and that all of it
 * stays coherent.
 *  - around: A has the first 2 MiB of its buffer present except a hole
 *    (pages HOLE_LO..HOLE_HI never touched).  B reads every present page
 *    of those 2 MiB: one fault maps them all (fault-around over the page
 *    table), and the hole is not populated in A by it (only what A has
 *    present is mapped; A's mincore() says so).  Reads in the hole then
 *    see zeros.
 *  - coherence: pages B never read itself but that the fault-around
 *    mapped follow A: after A's MADV_DONTNEED and rewrite B reads A's
 *    new data and zeros, after A's munmap B gets SIGBUS.
 *  - low: B attaches at a fixed address below the distance between the
 *    start of A's vma and the segment (the segment starts 32 MiB into a
 *    64 MiB vma, B attaches at 16 MiB).  Reads must return A's data (the
 *    fault's window arithmetic once wrapped there: SIGBUS).
 */
#include "itest.h"

#define PMD_BYTES	(2UL << 20)
#define NPAGES		1024		/* 4 MiB: two page tables' worth */
#define HOLE_LO		100
#define HOLE_HI		200		/* exclusive */
#define DROP_LO		300		/* A drops DROP_LO..+10, rewrites 5 */
#define UNMAP_LO	400		/* A unmaps UNMAP_LO..+10 */
#define OLD		0x0fa1
#define NEW		0x0fa2

#define LOW_VMA		(64UL << 20)
#define LOW_SEG_OFF	(32UL << 20)
#define LOW_SEG		(4UL << 20)
#define LOW_ADDR	((void *)(16UL << 20))

static int in_hole(size_t i)
{
	return i >= HOLE_LO && i < HOLE_HI;
}

static enum it_page_state state_of(char *p, size_t i)
{
	return it_classify(p, i * it_page, OLD, NEW);
}

static void peer_b(int fd, void *arg)
{
	size_t len = NPAGES * it_page, i;
	xpmem_segid_t segid = (xpmem_segid_t)it_recv(fd);
	xpmem_apid_t apid = it_get(segid, XPMEM_RDONLY);
	long long f0, f1, pg0, pg1;
	enum it_page_state s;
	char *p, *q;

	(void)arg;
	/* low: a fixed attach address below the segment's offset in A's vma */
	q = mmap(LOW_ADDR, LOW_SEG, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (q != LOW_ADDR)
		FAIL("address %p is not free in B (%p)", LOW_ADDR, (void *)q);
	munmap(q, LOW_SEG);
	{
		struct xpmem_addr xa = { .apid = apid, .offset = 0 };

		q = xpmem_attach(xa, LOW_SEG, LOW_ADDR);
	}
	CHECK(q == LOW_ADDR, "attach at %p: %p", LOW_ADDR, (void *)q);
	/* a soft failure: the around part below runs either way */
	for (i = 0; i < LOW_SEG / it_page; i += 97) {
		s = it_classify(q, i * it_page, OLD, NEW);
		if (s != PG_OLD) {
			fprintf(stderr, "fault_around[%d]: FAIL %s:%d: low "
				"attachment at %p, page %zu: %s, want A's data\n",
				(int)getpid(), __FILE__, __LINE__, (void *)q, i,
				it_state_name(s));
			it_soft_failures++;
			break;
		}
	}
	CHECK_OK(xpmem_detach(q));
	CHECK_OK(xpmem_release(apid));
	it_send(fd, 0);

	segid = (xpmem_segid_t)it_recv(fd);
	apid = it_get(segid, XPMEM_RDWR);
	p = it_attach(apid, 0, len);
	/* around: every present page of the first page table, one fault */
	f0 = it_counter("faults");
	pg0 = it_counter("fault_pages");
	for (i = 0; i < PMD_BYTES / it_page; i++) {
		if (in_hole(i))
			continue;
		s = state_of(p, i);
		CHECK(s == PG_OLD, "page %zu: %s, want A's data", i,
		      it_state_name(s));
	}
	f1 = it_counter("faults");
	pg1 = it_counter("fault_pages");
	NOTE("reading the %lu present pages of 2 MiB: faults +%lld, "
	     "fault_pages +%lld", PMD_BYTES / it_page - (HOLE_HI - HOLE_LO),
	     f1 - f0, pg1 - pg0);
	CHECK(f1 - f0 <= 2, "reading the present pages of one page table "
	      "took %lld faults: no fault-around", f1 - f0);
	it_send(fd, 1);
	it_expect(fd, 2);		/* A checked its hole is not populated */
	for (i = HOLE_LO; i < HOLE_HI; i++) {
		s = state_of(p, i);
		CHECK(s == PG_ZERO, "hole page %zu: %s, want zeros", i,
		      it_state_name(s));
	}
	it_send(fd, 3);

	/* coherence of pages mapped by the fault-around only */
	it_expect(fd, 4);		/* A dropped, rewrote and unmapped */
	for (i = DROP_LO; i < DROP_LO + 10; i++) {
		s = state_of(p, i);
		CHECK(s == (i < DROP_LO + 5 ? PG_NEW : PG_ZERO),
		      "page %zu after A's MADV_DONTNEED%s: %s", i,
		      i < DROP_LO + 5 ? " and rewrite" : "", it_state_name(s));
	}
	for (i = UNMAP_LO; i < UNMAP_LO + 10; i++) {
		s = state_of(p, i);
		CHECK(s == PG_SIGBUS, "page %zu after A's munmap: %s, want "
		      "SIGBUS", i, it_state_name(s));
	}
	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_release(apid));

	it_send(fd, 5);
	fflush(NULL);
	_exit(it_result());
}

int main(void)
{
	it_init("fault_around");
	struct it_peer b = it_spawn(peer_b, NULL);
	size_t len = NPAGES * it_page, i;
	char *buf = it_map_aligned(len, PMD_BYTES), *big;
	unsigned char vec[HOLE_HI - HOLE_LO];
	xpmem_segid_t segid, low;

	big = it_map(LOW_VMA);
	it_fill(big + LOW_SEG_OFF, LOW_SEG, OLD);
	low = it_make(big + LOW_SEG_OFF, LOW_SEG, 0600);
	it_send(b.fd, (uint64_t)low);
	it_expect(b.fd, 0);

	CHECK(madvise(buf, len, MADV_NOHUGEPAGE) == 0, "MADV_NOHUGEPAGE");
	it_fill(buf, len, OLD);		/* the pattern is per offset */
	CHECK(madvise(buf + HOLE_LO * it_page, (HOLE_HI - HOLE_LO) * it_page,
		      MADV_DONTNEED) == 0, "MADV_DONTNEED of the hole");
	segid = it_make(buf, len, 0600);
	it_send(b.fd, (uint64_t)segid);
	it_expect(b.fd, 1);
	CHECK(mincore(buf + HOLE_LO * it_page, (HOLE_HI - HOLE_LO) * it_page,
		      vec) == 0, "mincore");
	for (i = 0; i < HOLE_HI - HOLE_LO; i++)
		CHECK(!(vec[i] & 1), "A's page %zu (in the hole) was "
		      "populated by B's faults on other pages", HOLE_LO + i);
	it_send(b.fd, 2);
	it_expect(b.fd, 3);

	CHECK(madvise(buf + DROP_LO * it_page, 10 * it_page,
		      MADV_DONTNEED) == 0, "MADV_DONTNEED");
	for (i = DROP_LO; i < DROP_LO + 5; i++) {
		char *pg = buf + i * it_page;
		size_t w;

		for (w = 0; w < (size_t)it_page; w += 8)
			*(uint64_t *)(pg + w) = it_pat(NEW, i * it_page + w);
	}
	CHECK(munmap(buf + UNMAP_LO * it_page, 10 * it_page) == 0, "munmap");
	it_send(b.fd, 4);

	it_expect(b.fd, 5);
	it_join(&b, "attacher B");
	CHECK_OK(xpmem_remove(segid));
	CHECK_OK(xpmem_remove(low));
	return it_result();
}
