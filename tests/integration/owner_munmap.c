// SPDX-License-Identifier: GPL-2.0-only
/*
 * owner_munmap: B has faulted in every page of A's segment.  A munmaps
 * the buffer: every access by B must raise SIGBUS (never the old data).
 * A then maps fresh memory at the same address (MAP_FIXED) with a new
 * pattern: B must see the new pattern or SIGBUS, never the old one.
 */
#include "itest.h"

#define NPAGES	16
#define OLD	0x01d
#define NEW	0x3e3

static void peer_b(int fd, void *arg)
{
	size_t len = NPAGES * it_page, i;
	xpmem_segid_t segid = (xpmem_segid_t)it_recv(fd);
	xpmem_apid_t apid = it_get(segid, XPMEM_RDWR);
	char *p = it_attach(apid, 0, len);
	int nnew = 0, nbus = 0;

	(void)arg;
	CHECK_PATTERN(p, len, OLD, "B reads A's data before munmap");
	it_send(fd, 1);

	it_expect(fd, 2);	/* A has munmapped */
	for (i = 0; i < NPAGES; i++) {
		enum it_page_state s = it_classify(p, i * it_page, OLD, NEW);

		CHECK(s == PG_SIGBUS, "page %zu after owner munmap: %s, "
		      "want SIGBUS", i, it_state_name(s));
	}
	/* writes must not land anywhere either */
	CHECK(it_probe_store(p, 0xdead) == SIGBUS,
	      "store after owner munmap did not raise SIGBUS");
	it_send(fd, 3);

	it_expect(fd, 4);	/* A has mapped new memory at the same place */
	for (i = 0; i < NPAGES; i++) {
		enum it_page_state s = it_classify(p, i * it_page, OLD, NEW);

		CHECK(s == PG_SIGBUS || s == PG_NEW, "page %zu after owner "
		      "remapped: %s, want new data or SIGBUS", i,
		      it_state_name(s));
		nnew += s == PG_NEW;
		nbus += s == PG_SIGBUS;
	}
	NOTE("after MAP_FIXED remap B saw %d pages of new data, %d SIGBUS",
	     nnew, nbus);
	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_release(apid));
	it_send(fd, 5);
}

int main(void)
{
	it_init("owner_munmap");
	struct it_peer b = it_spawn(peer_b, NULL);
	size_t len = NPAGES * it_page;
	char *buf = it_map(len), *again;
	xpmem_segid_t segid;

	it_fill(buf, len, OLD);
	segid = it_make(buf, len, 0600);
	it_send(b.fd, (uint64_t)segid);
	it_expect(b.fd, 1);

	CHECK(munmap(buf, len) == 0, "munmap");
	it_send(b.fd, 2);
	it_expect(b.fd, 3);

	again = mmap(buf, len, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(again == buf, "mmap MAP_FIXED at %p", (void *)buf);
	it_fill(buf, len, NEW);
	it_send(b.fd, 4);
	it_expect(b.fd, 5);
	it_join(&b, "attacher B");
	CHECK_OK(xpmem_remove(segid));
	return 0;
}
