// SPDX-License-Identifier: GPL-2.0-only
/*
 * fork_cow: B is attached to A's anonymous buffer and has read it.
 *  phase 1: A forks child C (the pages become COW-shared between A and
 *           C), B reads (may map the shared page), then A writes new data
 *           (COW breaks in A).  B must see A's new data, not the stale
 *           page C keeps; C still sees the old data.
 *  phase 2: A forks C2; now B writes first.  B's write must land in A's
 *           memory (A reads it) and must not leak into C2's copy.
 */
#include "itest.h"

#define NPAGES	16
#define OLD	0x111
#define NEW	0x222
#define BPAT	0x333

static size_t len;
static char *buf;

/* child of A holding the COW copy: verify `seed' when told, then exit */
static void cow_child(int fd, void *arg)
{
	uint64_t seed = (uint64_t)(uintptr_t)arg;

	it_expect(fd, 1);
	CHECK_PATTERN(buf, len, seed, "forked child's private copy");
	it_send(fd, 2);
}

static void peer_b(int fd, void *arg)
{
	xpmem_segid_t segid = (xpmem_segid_t)it_recv(fd);
	xpmem_apid_t apid = it_get(segid, XPMEM_RDWR);
	char *p = it_attach(apid, 0, len);

	(void)arg;
	CHECK_PATTERN(p, len, OLD, "B reads A's data");
	it_send(fd, 1);
	it_expect(fd, 2);		/* A has forked C */
	CHECK_PATTERN(p, len, OLD, "B reads A's data after A forked");
	it_send(fd, 3);
	it_expect(fd, 4);		/* A wrote NEW (COW broken in A) */
	CHECK_PATTERN(p, len, NEW, "B reads A's data after COW break in A");
	it_send(fd, 5);

	it_expect(fd, 6);		/* A has forked C2 */
	it_fill(p, len, BPAT);		/* B's write breaks COW for A */
	it_send(fd, 7);
	it_expect(fd, 8);
	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_release(apid));
	it_send(fd, 9);
}

int main(void)
{
	struct it_peer b, c;
	xpmem_segid_t segid;

	it_init("fork_cow");
	len = NPAGES * it_page;
	b = it_spawn(peer_b, NULL);
	buf = it_map(len);
	it_fill(buf, len, OLD);
	segid = it_make(buf, len, 0600);
	it_send(b.fd, (uint64_t)segid);
	it_expect(b.fd, 1);

	/* phase 1 */
	c = it_spawn(cow_child, (void *)(uintptr_t)OLD);
	it_send(b.fd, 2);
	it_expect(b.fd, 3);
	it_fill(buf, len, NEW);
	it_send(b.fd, 4);
	it_expect(b.fd, 5);
	it_send(c.fd, 1);
	it_expect(c.fd, 2);
	it_join(&c, "COW child C");

	/* phase 2: A's pages are NEW, shared COW with C2 */
	c = it_spawn(cow_child, (void *)(uintptr_t)NEW);
	it_send(b.fd, 6);
	it_expect(b.fd, 7);
	CHECK_PATTERN(buf, len, BPAT, "A reads B's writes made after A forked");
	it_send(c.fd, 1);
	it_expect(c.fd, 2);		/* C2 still has NEW, not B's data */
	it_join(&c, "COW child C2");
	it_send(b.fd, 8);
	it_expect(b.fd, 9);
	it_join(&b, "attacher B");
	CHECK_OK(xpmem_remove(segid));
	return 0;
}
