// SPDX-License-Identifier: GPL-2.0-only
/*
 * madv_dontneed: B has faulted in A's anonymous private buffer.  A drops
 * it with MADV_DONTNEED: B must now read zeros (A's current contents),
 * never the old pattern.  A then writes again and B sees that too.
 */
#include "itest.h"

#define NPAGES	16
#define OLD	0x0a1
#define NEW	0x0b2

static void peer_b(int fd, void *arg)
{
	size_t len = NPAGES * it_page, i;
	xpmem_segid_t segid = (xpmem_segid_t)it_recv(fd);
	xpmem_apid_t apid = it_get(segid, XPMEM_RDWR);
	char *p = it_attach(apid, 0, len);

	(void)arg;
	CHECK_PATTERN(p, len, OLD, "B reads A's data");
	it_send(fd, 1);
	it_expect(fd, 2);		/* A did MADV_DONTNEED */
	for (i = 0; i < NPAGES; i++) {
		enum it_page_state s = it_classify(p, i * it_page, OLD, NEW);

		CHECK(s == PG_ZERO, "page %zu after owner MADV_DONTNEED: %s, "
		      "want zeros", i, it_state_name(s));
	}
	it_send(fd, 3);
	it_expect(fd, 4);		/* A wrote NEW */
	CHECK_PATTERN(p, len, NEW, "B reads A's data written after DONTNEED");
	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_release(apid));
	it_send(fd, 5);
}

int main(void)
{
	it_init("madv_dontneed");
	struct it_peer b = it_spawn(peer_b, NULL);
	size_t len = NPAGES * it_page;
	char *buf = it_map(len);
	xpmem_segid_t segid;
	size_t i;

	it_fill(buf, len, OLD);
	segid = it_make(buf, len, 0600);
	it_send(b.fd, (uint64_t)segid);
	it_expect(b.fd, 1);
	CHECK(madvise(buf, len, MADV_DONTNEED) == 0, "madvise DONTNEED");
	/* B faults first: A's page table is empty for the range here */
	it_send(b.fd, 2);
	it_expect(b.fd, 3);
	for (i = 0; i < len; i++)
		CHECK(buf[i] == 0, "owner not zero after DONTNEED");
	it_fill(buf, len, NEW);
	it_send(b.fd, 4);
	it_expect(b.fd, 5);
	it_join(&b, "attacher B");
	CHECK_OK(xpmem_remove(segid));
	return 0;
}
