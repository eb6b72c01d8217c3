// SPDX-License-Identifier: GPL-2.0-only
/*
 * whole_as: Open MPI's pattern.  A exports its whole address space with
 * xpmem_make(0, XPMEM_MAXADDR_SIZE, XPMEM_PERMIT_MODE, (void *)0666); B
 * gets it and attaches 64 KiB at offset = A's buffer address.  Data
 * flows both ways; a second window at another buffer works too.
 */
#include "itest.h"

#define WIN	(64 * 1024)
#define PAT	0x0a0a
#define BPAT	0x0b0b

static void peer_b(int fd, void *arg)
{
	xpmem_segid_t segid = (xpmem_segid_t)it_recv(fd);
	uintptr_t a1 = (uintptr_t)it_recv(fd), a2 = (uintptr_t)it_recv(fd);
	xpmem_apid_t apid = it_get(segid, XPMEM_RDWR);
	char *p = it_attach(apid, (off_t)a1, WIN);
	char *q = it_attach(apid, (off_t)a2, WIN);

	(void)arg;
	CHECK_PATTERN(p, WIN, PAT, "B's window onto A's first buffer");
	CHECK_PATTERN(q, WIN, PAT + 1, "B's window onto A's second buffer");
	it_fill(p, WIN, BPAT);
	it_fill(q, WIN, BPAT + 1);
	it_send(fd, 1);
	it_expect(fd, 2);
	CHECK_PATTERN(p, WIN, PAT + 2, "B sees A's later writes");
	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_detach(q));
	CHECK_OK(xpmem_release(apid));
	it_send(fd, 3);
}

int main(void)
{
	struct it_peer b;
	xpmem_segid_t segid;
	char *buf, *buf2;

	it_init("whole_as");
	b = it_spawn(peer_b, NULL);
	buf = it_map(WIN);
	buf2 = (char *)it_map(4 * WIN) + WIN;
	it_fill(buf, WIN, PAT);
	it_fill(buf2, WIN, PAT + 1);
	segid = xpmem_make(0, XPMEM_MAXADDR_SIZE, XPMEM_PERMIT_MODE,
			   (void *)0666);
	CHECK(segid > 0, "xpmem_make(0, XPMEM_MAXADDR_SIZE, .., 0666) = %lld",
	      (long long)segid);
	it_send(b.fd, (uint64_t)segid);
	it_send(b.fd, (uint64_t)(uintptr_t)buf);
	it_send(b.fd, (uint64_t)(uintptr_t)buf2);
	it_expect(b.fd, 1);
	CHECK_PATTERN(buf, WIN, BPAT, "A sees B's writes (first window)");
	CHECK_PATTERN(buf2, WIN, BPAT + 1, "A sees B's writes (second window)");
	it_fill(buf, WIN, PAT + 2);
	it_send(b.fd, 2);
	it_expect(b.fd, 3);
	it_join(&b, "attacher B");
	CHECK_OK(xpmem_remove(segid));
	return 0;
}
