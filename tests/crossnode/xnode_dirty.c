// SPDX-License-Identifier: GPL-2.0-only
/*
 * xnode_dirty.c: bytes a remote attacher released into an owner page
 * must survive reclaim of that page.  After MADV_FREE the owner's page is
 * mapped, writable and clean ("lazy free"): reclaim discards it unless it
 * was written since.  The owner's kernel writes the released bytes through
 * its own kernel mapping, which dirties nothing: it must mark the page
 * dirty, or reclaim (here MADV_PAGEOUT) loses them.
 */
#include <stdio.h>
#include <string.h>
#include <inttypes.h>
#include <sys/mman.h>

#include "xnode.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

static int all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

void cases_dirty(struct servant *s)
{
	size_t size = 4 * 4096;
	unsigned char *ctl = owner_buffer(size, 9), *buf;
	xpmem_segid_t segid;
	struct remote_att ra;
	uint64_t sum;
	double secs;
	int ok;

	/* Control: here, MADV_FREE + MADV_PAGEOUT drop an unwritten page. */
	if (madvise(ctl, size, MADV_FREE) || madvise(ctl, size, MADV_PAGEOUT) ||
	    !all_zero(ctl, size)) {
		printf("# dirty_released_survives_reclaim: skipped, MADV_FREE + "
		       "MADV_PAGEOUT drop nothing here\n");
		return;
	}
	munmap(ctl, size);

	buf = owner_buffer(size, 10);
	segid = xpmem_make(buf, size, XPMEM_PERMIT_MODE, (void *)0600);
	ok = segid > 0 && !remote_attach(s, segid, XPMEM_RDWR, 0, size, &ra) &&
	     !remote_sum(s, ra.addr, size, &sum, &secs);
	result(ok, "dirty_attach", NULL);
	if (!ok)
		return;
	madvise(buf, size, MADV_FREE);
	rpc(s, "fill %" PRIxPTR " %x %x", ra.addr + 4096 + 100, 16, 0xd7);
	rpc(s, "sync %" PRIxPTR " %x %x", ra.addr, (unsigned int)size,
	    XPMEM_SYNC_RELEASE);
	ok = buf[4096 + 100] == 0xd7;
	madvise(buf, size, MADV_PAGEOUT);
	result(ok && buf[4096 + 100] == 0xd7 && buf[4096 + 115] == 0xd7 &&
	       !all_zero(buf + 4096, 4096), "dirty_released_survives_reclaim",
	       "owner byte after the release %s, after MADV_PAGEOUT %#x (want 0xd7)",
	       ok ? "0xd7" : "wrong", buf[4096 + 100]);
	remote_detach(s, &ra);
	xpmem_remove(segid);
	munmap(buf, size);
}
