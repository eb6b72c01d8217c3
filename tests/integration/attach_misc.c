// SPDX-License-Identifier: GPL-2.0-only
/*
 * attach_misc: object lifetimes in either order.
 *  - attach, release, then detach: the attachment stays a mapping until
 *    detached (reads after release: data or SIGBUS, never stale), and
 *    detach succeeds.
 *  - attach, detach, then release: both succeed.
 *  - the same segment attached twice (same apid, and a second apid):
 *    distinct addresses, a store through one shows through the other and
 *    in the owner.
 *  - remove while attached: attachments go dead (SIGBUS), detach and
 *    release still succeed.
 */
#include "itest.h"

#define NPAGES	8
#define PAT	0xa11
#define P2	0xa22

static size_t len;

static void peer_b(int fd, void *arg)
{
	xpmem_segid_t segid = (xpmem_segid_t)it_recv(fd);
	xpmem_apid_t apid, apid2;
	char *p, *q, *r;
	size_t i;

	(void)arg;
	/* detach after release */
	apid = it_get(segid, XPMEM_RDWR);
	p = it_attach(apid, 0, len);
	CHECK_PATTERN(p, len, PAT, "B's view");
	CHECK_OK(xpmem_release(apid));
	for (i = 0; i < NPAGES; i++) {
		enum it_page_state s = it_classify(p, i * it_page, PAT, P2);

		CHECK(s == PG_OLD || s == PG_SIGBUS, "page %zu after release "
		      "before detach: %s", i, it_state_name(s));
	}
	CHECK_OK(xpmem_detach(p));

	/* release after detach */
	apid = it_get(segid, XPMEM_RDONLY);
	p = it_attach(apid, it_page, len - it_page);
	{
		char *want = it_map(len);

		it_fill(want, len, PAT);
		CHECK(memcmp(p, want + it_page, len - it_page) == 0,
		      "RDONLY attachment at offset one page: wrong data");
		munmap(want, len);
	}
	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_release(apid));

	/* twice through one apid, once more through another */
	apid = it_get(segid, XPMEM_RDWR);
	apid2 = it_get(segid, XPMEM_RDWR);
	CHECK(apid != apid2, "two gets returned the same apid");
	p = it_attach(apid, 0, len);
	q = it_attach(apid, 0, len);
	r = it_attach(apid2, 0, len);
	CHECK(p != q && q != r && p != r, "attachments share an address");
	it_fill(p, len, P2);
	CHECK_PATTERN(q, len, P2, "second attachment sees the first's stores");
	CHECK_PATTERN(r, len, P2, "third attachment sees the first's stores");
	it_send(fd, 1);
	it_expect(fd, 2);	/* A wrote PAT again */
	CHECK_PATTERN(p, len, PAT, "first attachment sees A's stores");
	CHECK_PATTERN(r, len, PAT, "third attachment sees A's stores");
	CHECK_OK(xpmem_detach(q));
	CHECK_PATTERN(p, len, PAT, "first attachment after detaching the second");
	CHECK_OK(xpmem_release(apid2));		/* r stays mapped until detach */
	it_send(fd, 3);
	it_expect(fd, 4);	/* A removed the segment */
	for (i = 0; i < NPAGES; i++) {
		enum it_page_state s = it_classify(p, i * it_page, PAT, P2);

		CHECK(s == PG_SIGBUS, "page %zu after the owner removed the "
		      "segment: %s, want SIGBUS", i, it_state_name(s));
	}
	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_detach(r));
	CHECK_OK(xpmem_release(apid));
	CHECK_ERRNO(xpmem_get(segid, XPMEM_RDWR, XPMEM_PERMIT_MODE, NULL),
		    ENOENT, "get of a removed segment");
	it_send(fd, 5);
}

int main(void)
{
	struct it_peer b;
	xpmem_segid_t segid;
	char *buf;

	it_init("attach_misc");
	len = NPAGES * it_page;
	b = it_spawn(peer_b, NULL);
	buf = it_map(len);
	it_fill(buf, len, PAT);
	segid = it_make(buf, len, 0600);
	it_send(b.fd, (uint64_t)segid);
	it_expect(b.fd, 1);
	CHECK_PATTERN(buf, len, P2, "A sees B's stores");
	it_fill(buf, len, PAT);
	it_send(b.fd, 2);
	it_expect(b.fd, 3);
	CHECK_OK(xpmem_remove(segid));
	it_send(b.fd, 4);
	it_expect(b.fd, 5);
	it_join(&b, "attacher B");
	CHECK_PATTERN(buf, len, PAT, "A's data at the end");
	return 0;
}
