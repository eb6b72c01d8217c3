// SPDX-License-Identifier: GPL-2.0
/*
 * xnode_trace.c: xpmem's tracepoints (docs/tracing.md) fire where they
 * say, on both nodes, with the values of what happened: a remote fault
 * of a 4-page attachment (one FETCH of 4 pages, served by the owner) and
 * the owner's MADV_DONTNEED of its first page (one INVALIDATE of 1 page,
 * served by the attacher and acknowledged).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <unistd.h>

#include "xnode.h"
#include "../common/line_sock.h"

#define TRACEFS "/sys/kernel/tracing"

/* Writes @val to the tracefs file @rel (truncating: "trace" is cleared). */
static int tr_write(const char *rel, const char *val)
{
	char path[128];
	int fd, ret;

	snprintf(path, sizeof(path), TRACEFS "/%s", rel);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -1;
	ret = write(fd, val, strlen(val)) == (ssize_t)strlen(val) ? 0 : -1;
	close(fd);
	return ret;
}

/* Enables (and clears) or disables the xpmem events: 0 or -1. */
static int tr_enable(int on)
{
	if (access(TRACEFS "/events", F_OK))
		mount("tracefs", TRACEFS, "tracefs", 0, NULL);
	if (access(TRACEFS "/events/xpmem", F_OK))
		return -1;
	if (on && tr_write("trace", ""))
		return -1;
	return tr_write("events/xpmem/enable", on ? "1" : "0");
}

/* Events in the buffer whose line holds @event and @field (if not NULL). */
static int tr_count(const char *event, const char *field)
{
	FILE *f = fopen(TRACEFS "/trace", "r");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (line[0] != '#' && strstr(line, event) &&
		    (!field || strstr(line, field)))
			n++;
	fclose(f);
	return n;
}

/* Servant: "trace_on", "trace_off", "trace_count EVENT [FIELD]". */
int serve_trace(int fd, const char *op, char *req, const uint64_t arg[4])
{
	char event[128], field[128];
	int n;

	(void)arg;
	if (!strcmp(op, "trace_on") || !strcmp(op, "trace_off")) {
		line_send(fd, "%d", tr_enable(!strcmp(op, "trace_on")));
		return 1;
	}
	if (strcmp(op, "trace_count"))
		return 0;
	n = sscanf(req, "%*s %127s %127s", event, field);
	line_send(fd, "%d", n >= 1 ? tr_count(event, n == 2 ? field : NULL) :
		  -1);
	return 1;
}

static int remote_count(struct servant *s, const char *event,
			const char *field)
{
	return atoi(rpc(s, "trace_count %s %s", event, field));
}

void cases_trace(struct servant *s)
{
	size_t size = 4 * 4096;
	unsigned char *buf;
	xpmem_segid_t segid;
	struct remote_att ra;
	uint64_t sum = 0;
	double secs;
	int ok, fault, fsend, fdone, iserve, fserve, zap, isend, iack;

	/* run.sh --trace records the whole run: clearing it would lose that */
	if (getenv("XNODE_TRACE")) {
		result(1, "tracepoints_skipped", "run.sh --trace owns the buffer");
		return;
	}
	if (tr_enable(1) || atoi(rpc(s, "trace_on"))) {
		result(0, "tracepoints", "no xpmem events in " TRACEFS);
		tr_enable(0);
		return;
	}
	buf = owner_buffer(size, 11);
	segid = xpmem_make(buf, size, XPMEM_PERMIT_MODE, (void *)0600);
	ok = segid > 0 && !remote_attach(s, segid, XPMEM_RDONLY, 0, size, &ra);
	ok = ok && !remote_sum(s, ra.addr, size, &sum, &secs) &&
	     sum == checksum(buf, size);
	/* The attacher holds 4 copies: dropping page 0 invalidates 1. */
	ok = ok && !madvise(buf, 4096, MADV_DONTNEED);
	tr_enable(0);
	rpc(s, "trace_off");

	fault = remote_count(s, "xpmem_remote_fault:", "result=NOPAGE");
	fsend = remote_count(s, "xpmem_fetch_send:", "first=0 npages=4");
	fdone = remote_count(s, "xpmem_fetch_done:", "first=0 ret=4");
	iserve = remote_count(s, "xpmem_invalidate_serve:",
			      "first=0 npages=1 found=1");
	fserve = tr_count("xpmem_fetch_serve:", "first=0 npages=4 ret=4");
	zap = tr_count("xpmem_zap_start:", "start=0x0 last=0xfff");
	isend = tr_count("xpmem_invalidate_send:", "first=0 npages=1");
	iack = tr_count("xpmem_invalidate_ack:", "status=0");
	result(ok && fault >= 1 && fsend == 1 && fdone == 1 && iserve == 1 &&
	       fserve == 1 && zap == 1 && isend == 1 && iack == 1,
	       "tracepoints",
	       "attacher: remote_fault %d fetch_send %d fetch_done %d invalidate_serve %d; owner: fetch_serve %d zap_start %d invalidate_send %d invalidate_ack %d",
	       fault, fsend, fdone, iserve, fserve, zap, isend, iack);
	if (segid > 0) {
		remote_detach(s, &ra);
		xpmem_remove(segid);
	}
	munmap(buf, size);
}
