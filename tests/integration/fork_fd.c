// SPDX-License-Identifier: GPL-2.0-only
/*
 * fork_fd: A uses xpmem (so its library handle and fd are open), makes a
 * segment, gets and attaches it itself, then forks C.  C inherits the fd
 * but libxpmem must reopen the device for C: C's get/attach of A's segid
 * works and shows A's data.  C cannot remove A's segment (EPERM or
 * ENOENT) and cannot release A's apid (ENOENT, apids are per process).
 * After C exits, A's segment and attachment still work and A removes it.
 */
#include "itest.h"

#define NPAGES	8
#define PAT	0xf0f
#define CPAT	0xc0c

static size_t len;
static char *buf, *self_view;
static xpmem_segid_t segid;
static xpmem_apid_t a_apid;

static void child_c(int fd, void *arg)
{
	xpmem_apid_t apid;
	char *p;
	int e;

	(void)arg;
	apid = it_get(segid, XPMEM_RDWR);
	CHECK(apid > 0, "child get");
	p = it_attach(apid, 0, len);
	CHECK_PATTERN(p, len, PAT, "child's view of parent's segment");
	it_fill(p, len, CPAT);

	errno = 0;
	CHECK(xpmem_remove(segid) == -1, "child removed the parent's segment");
	e = errno;
	CHECK(e == EPERM || e == ENOENT, "child remove of the parent's segment: "
	      "errno %d, want EPERM or ENOENT", e);
	CHECK_ERRNO(xpmem_release(a_apid), ENOENT,
		    "child release of the parent's apid");
	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_release(apid));
	it_send(fd, 1);
	it_expect(fd, 2);
}

int main(void)
{
	struct it_peer c;

	it_init("fork_fd");
	len = NPAGES * it_page;
	buf = it_map(len);
	it_fill(buf, len, PAT);
	segid = it_make(buf, len, 0600);
	a_apid = it_get(segid, XPMEM_RDWR);
	self_view = it_attach(a_apid, 0, len);
	CHECK_PATTERN(self_view, len, PAT, "A's own attachment");

	c = it_spawn(child_c, NULL);
	it_expect(c.fd, 1);
	CHECK_PATTERN(buf, len, CPAT, "A sees the child's writes");
	it_send(c.fd, 2);
	it_join(&c, "forked child");

	CHECK_PATTERN(self_view, len, CPAT, "A's own attachment after the child");
	it_fill(buf, len, PAT);
	CHECK_PATTERN(self_view, len, PAT, "A's own attachment after rewrite");
	CHECK_OK(xpmem_detach(self_view));
	CHECK_OK(xpmem_release(a_apid));
	CHECK_OK(xpmem_remove(segid));
	return 0;
}
