// SPDX-License-Identifier: GPL-2.0-only
/*
 * share_both: A exports a 0600 buffer, B (forked) gets it RDWR and
 * attaches.  For several rounds each side writes a fresh pattern and the
 * other side must see it, with a socket handshake between the steps.
 */
#include "itest.h"

#define NPAGES	16
#define ROUNDS	8

static void peer_b(int fd, void *arg)
{
	size_t len = NPAGES * it_page;
	xpmem_segid_t segid = (xpmem_segid_t)it_recv(fd);
	xpmem_apid_t apid = it_get(segid, XPMEM_RDWR);
	char *p = it_attach(apid, 0, len);
	int r;

	(void)arg;
	for (r = 0; r < ROUNDS; r++) {
		it_expect(fd, 100 + r);		/* A wrote pattern 2r+1 */
		CHECK_PATTERN(p, len, 2 * r + 1, "B reads A's data");
		it_fill(p, len, 2 * r + 2);
		it_send(fd, 200 + r);
	}
	it_expect(fd, 999);
	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_release(apid));
	it_send(fd, 1000);
}

int main(void)
{
	it_init("share_both");
	struct it_peer b = it_spawn(peer_b, NULL);
	size_t len = NPAGES * it_page;
	/* mapped after the fork: no COW sharing with B */
	char *buf = it_map(len);
	xpmem_segid_t segid;
	int r;

	it_fill(buf, len, 77);
	segid = it_make(buf, len, 0600);
	it_send(b.fd, (uint64_t)segid);
	for (r = 0; r < ROUNDS; r++) {
		it_fill(buf, len, 2 * r + 1);
		it_send(b.fd, 100 + r);
		it_expect(b.fd, 200 + r);
		CHECK_PATTERN(buf, len, 2 * r + 2, "A reads B's data");
	}
	it_send(b.fd, 999);
	it_expect(b.fd, 1000);
	it_join(&b, "attacher B");
	CHECK_OK(xpmem_remove(segid));
	return 0;
}
