// SPDX-License-Identifier: GPL-2.0-only
/*
 * madv_free: an attacher's write to a page the owner gave up with
 * MADV_FREE must not be lost when the kernel reclaims the page.
 *
 * MADV_FREE leaves A's pages mapped and writable but clean, as "lazy
 * free": reclaim discards a lazy-free page unless it was written since,
 * and a write through A's own PTE marks it dirty.  B's stores go through
 * B's attachment, a PTE of its own that the core never connects to A's
 * page: unless xpmem marks the page dirty when it lets B write, reclaim
 * (here forced with MADV_PAGEOUT) throws B's data away and A reads zeros.
 *
 * Control first: without B's write, MADV_FREE + MADV_PAGEOUT must really
 * drop the page in this guest (A reads zeros), else the case is skipped:
 * it could not fail.
 */
#include "itest.h"

#define NPAGES	8
#define K	3		/* the page B writes */
#define OLD	0x0f0
#define BPAT	0xb1b
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif

static size_t len;

static int all_zero(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* B: reads page K (mapping it), then writes it when A says so. */
static void peer_b(int fd, void *arg)
{
	xpmem_segid_t segid = (xpmem_segid_t)it_recv(fd);
	xpmem_apid_t apid = it_get(segid, XPMEM_RDWR);
	char *p = it_attach(apid, 0, len);
	char *page_k = p + K * it_page;

	(void)arg;
	CHECK_PATTERN(p, len, OLD, "B reads A's pages");
	it_send(fd, 1);
	it_expect(fd, 2);	/* A did MADV_FREE */
	it_fill(page_k, (size_t)it_page, BPAT);
	it_send(fd, 3);
	it_expect(fd, 4);	/* A checked */
	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_release(apid));
	it_send(fd, 5);
}

int main(void)
{
	struct it_peer b;
	xpmem_segid_t segid;
	char *buf, *ctl;

	it_init("madv_free");
	len = NPAGES * (size_t)it_page;

	/* The control: a lazy-free page nobody wrote is dropped. */
	ctl = it_map(len);
	it_fill(ctl, len, OLD);
	CHECK(madvise(ctl, len, MADV_FREE) == 0, "MADV_FREE: %s",
	      strerror(errno));
	if (madvise(ctl, len, MADV_PAGEOUT) != 0 || !all_zero(ctl, len))
		it_skip("MADV_FREE + MADV_PAGEOUT drops no page here");
	NOTE("control: MADV_FREE + MADV_PAGEOUT dropped an unwritten page");

	b = it_spawn(peer_b, NULL);
	buf = it_map(len);
	it_fill(buf, len, OLD);
	segid = it_make(buf, len, 0600);
	it_send(b.fd, (uint64_t)segid);
	it_expect(b.fd, 1);
	CHECK(madvise(buf, len, MADV_FREE) == 0, "MADV_FREE: %s",
	      strerror(errno));
	it_send(b.fd, 2);
	it_expect(b.fd, 3);	/* B wrote page K */
	CHECK(madvise(buf, len, MADV_PAGEOUT) == 0, "MADV_PAGEOUT: %s",
	      strerror(errno));
	if (all_zero(buf + K * it_page, (size_t)it_page))
		FAIL("B's write to a page A had freed with MADV_FREE was "
		     "discarded by reclaim: A reads zeros");
	CHECK_PATTERN(buf + K * it_page, (size_t)it_page, BPAT,
		      "B's write survives reclaim of A's lazy-free page");
	it_send(b.fd, 4);
	it_expect(b.fd, 5);
	CHECK_OK(xpmem_remove(segid));
	it_join(&b, "B");
	return it_result();
}
