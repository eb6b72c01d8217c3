// SPDX-License-Identifier: GPL-2.0-only
/*
 * owner_mremap: B has faulted in A's segment.  A moves the buffer away
 * with mremap(MREMAP_FIXED): the segment's range is empty in A now, so
 * B must get SIGBUS (a B that still reads the moved pages through its
 * old PTEs is not following the owner's page tables).  A moves the
 * pages back to the segment's address: B sees them again, and A's later
 * writes too.
 */
#include "itest.h"

#define NPAGES	16
#define PAT	0x3a3
#define NEW	0x3b3

static void peer_b(int fd, void *arg)
{
	size_t len = NPAGES * it_page, i;
	xpmem_segid_t segid = (xpmem_segid_t)it_recv(fd);
	xpmem_apid_t apid = it_get(segid, XPMEM_RDWR);
	char *p = it_attach(apid, 0, len);

	(void)arg;
	CHECK_PATTERN(p, len, PAT, "B reads A's data");
	it_send(fd, 1);
	it_expect(fd, 2);	/* moved away */
	for (i = 0; i < NPAGES; i++) {
		enum it_page_state s = it_classify(p, i * it_page, PAT, NEW);

		CHECK(s == PG_SIGBUS, "page %zu after the owner mremapped the "
		      "buffer away: %s, want SIGBUS", i, it_state_name(s));
	}
	it_send(fd, 3);
	it_expect(fd, 4);	/* moved back */
	CHECK_PATTERN(p, len, PAT, "B reads A's data moved back in place");
	it_send(fd, 5);
	it_expect(fd, 6);	/* A wrote NEW */
	CHECK_PATTERN(p, len, NEW, "B reads A's writes after the moves");
	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_release(apid));
	it_send(fd, 7);
}

int main(void)
{
	struct it_peer b;
	xpmem_segid_t segid;
	size_t len;
	char *buf, *away, *r;

	it_init("owner_mremap");
	len = NPAGES * it_page;
	b = it_spawn(peer_b, NULL);
	buf = it_map(len);
	away = it_map(len);
	it_fill(buf, len, PAT);
	segid = it_make(buf, len, 0600);
	it_send(b.fd, (uint64_t)segid);
	it_expect(b.fd, 1);

	r = mremap(buf, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, away);
	CHECK(r == away, "mremap away");
	CHECK_PATTERN(away, len, PAT, "A's data at the new address");
	it_send(b.fd, 2);
	it_expect(b.fd, 3);

	r = mremap(away, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, buf);
	CHECK(r == buf, "mremap back");
	it_send(b.fd, 4);
	it_expect(b.fd, 5);
	it_fill(buf, len, NEW);
	it_send(b.fd, 6);
	it_expect(b.fd, 7);
	it_join(&b, "attacher B");
	CHECK_OK(xpmem_remove(segid));
	return 0;
}
