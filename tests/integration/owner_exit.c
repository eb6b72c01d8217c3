// SPDX-License-Identifier: GPL-2.0-only
/*
 * owner_exit: the owner A exits while B is attached and has faulted the
 * pages in.  Once A is reaped, B's loads and stores must raise SIGBUS;
 * xpmem_detach must succeed (the attachment is B's own mapping) and
 * xpmem_release must return 0 or -1 with XPMEM_ERRNO_NOPROC / ENOENT.
 * Nothing may hang.  B is the test's main process, A its child.
 */
#include "itest.h"

#define NPAGES	16
#define PAT	0x5e5

static void owner_a(int fd, void *arg)
{
	size_t len = NPAGES * it_page;
	char *buf = it_map(len);

	(void)arg;
	it_fill(buf, len, PAT);
	it_send(fd, (uint64_t)it_make(buf, len, 0600));
	it_expect(fd, 1);
	/* exit with the segment, the buffer and the fd all still live */
	_exit(0);
}

int main(void)
{
	it_init("owner_exit");
	struct it_peer a = it_spawn(owner_a, NULL);
	size_t len = NPAGES * it_page, i;
	xpmem_segid_t segid = (xpmem_segid_t)it_recv(a.fd);
	xpmem_apid_t apid = it_get(segid, XPMEM_RDWR);
	char *p = it_attach(apid, 0, len);
	xpmem_apid_t apid2;
	int rc, e;

	CHECK_PATTERN(p, len, PAT, "B reads A's data");
	it_send(a.fd, 1);
	it_join(&a, "owner A");

	for (i = 0; i < NPAGES; i++) {
		enum it_page_state s = it_classify(p, i * it_page, PAT, PAT + 1);

		CHECK(s == PG_SIGBUS, "page %zu after owner exit: %s, want "
		      "SIGBUS", i, it_state_name(s));
	}
	CHECK(it_probe_store(p + it_page, 42) == SIGBUS,
	      "store after owner exit did not raise SIGBUS");

	/* a new get of the dead owner's segment must fail */
	errno = 0;
	apid2 = xpmem_get(segid, XPMEM_RDWR, XPMEM_PERMIT_MODE, NULL);
	e = errno;
	CHECK(apid2 == -1 && (e == ENOENT || e == XPMEM_ERRNO_NOPROC),
	      "get of a dead owner's segment = %lld errno %d, want -1 "
	      "ENOENT or XPMEM_ERRNO_NOPROC", (long long)apid2, e);

	CHECK_OK(xpmem_detach(p));
	errno = 0;
	rc = xpmem_release(apid);
	e = errno;
	CHECK(rc == 0 || (rc == -1 && (e == XPMEM_ERRNO_NOPROC || e == ENOENT)),
	      "release after owner exit = %d errno %d", rc, e);
	if (rc)
		NOTE("release after owner exit: -1 errno %d", e);
	return 0;
}
