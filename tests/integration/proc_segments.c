// SPDX-License-Identifier: GPL-2.0-only
/*
 * proc_segments: /proc/xpmem/segments, the admin's (and xpmemd's) list of
 * live segments.
 *  - it is mode 0400 and a user other than root cannot open it;
 *  - a segment's line names its owner pid, uid, gid, size and mode, and
 *    counts its permits and attachments as they come and go;
 *  - a removed segment's line is gone.
 */
#include "itest.h"

#define NPAGES	4

struct seg_line {
	long long pid, uid, gid, size, permits, attachments;
	unsigned long long mode;
};

/* Reads the line of @segid; 1 if found, 0 if not. */
static int read_line(xpmem_segid_t segid, struct seg_line *out)
{
	FILE *f = fopen("/proc/xpmem/segments", "r");
	char line[512], want[32];
	int found = 0;

	if (!f) {
		FAIL("open /proc/xpmem/segments");
		return 0;	/* not reached; for the analysers */
	}
	snprintf(want, sizeof(want), "segid %#llx ", (long long)segid);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, want, strlen(want)))
			continue;
		CHECK(sscanf(line + strlen(want),
			     "pid %lld uid %lld gid %lld size %lld mode %llo permits %lld attachments %lld",
			     &out->pid, &out->uid, &out->gid, &out->size,
			     &out->mode, &out->permits, &out->attachments) == 7,
		      "cannot parse: %s", line);
		found++;
	}
	fclose(f);
	CHECK(found <= 1, "segid %#llx listed %d times", (long long)segid,
	      found);
	return found;
}

int main(void)
{
	size_t len;
	struct seg_line l;
	struct stat st;
	xpmem_segid_t segid;
	xpmem_apid_t a1, a2;
	char *buf, *p;
	pid_t pid;

	it_init("proc_segments");
	len = NPAGES * it_page;

	CHECK_OK(stat("/proc/xpmem/segments", &st));
	CHECK((st.st_mode & 0777) == 0400, "mode %o, want 0400",
	      (unsigned int)(st.st_mode & 0777));
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {	/* an ordinary user must not see other users' ids */
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(open("/proc/xpmem/segments", O_RDONLY) < 0 &&
		      errno == EACCES ? 0 : 1);
	}
	CHECK(it_wait(pid) == 0, "uid 65534 could open /proc/xpmem/segments");

	buf = it_map(len);
	it_fill(buf, len, 7);
	segid = it_make(buf, len, 0640);
	CHECK(read_line(segid, &l), "segid %#llx not listed", (long long)segid);
	CHECK(l.pid == getpid() && l.uid == geteuid() && l.gid == getegid(),
	      "owner pid %lld uid %lld gid %lld", l.pid, l.uid, l.gid);
	CHECK(l.size == (long long)len && l.mode == 0640,
	      "size %lld mode %llo", l.size, l.mode);
	CHECK(l.permits == 0 && l.attachments == 0, "permits %lld attachments %lld",
	      l.permits, l.attachments);

	a1 = it_get(segid, XPMEM_RDWR);
	a2 = it_get(segid, XPMEM_RDONLY);
	p = it_attach(a1, 0, len);
	CHECK_PATTERN(p, len, 7, "attachment");
	CHECK(read_line(segid, &l) && l.permits == 2 && l.attachments == 1,
	      "with 2 permits and 1 attachment: permits %lld attachments %lld",
	      l.permits, l.attachments);

	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_release(a2));
	CHECK(read_line(segid, &l) && l.permits == 1 && l.attachments == 0,
	      "after detach and one release: permits %lld attachments %lld",
	      l.permits, l.attachments);
	CHECK_OK(xpmem_release(a1));
	CHECK_OK(xpmem_remove(segid));
	CHECK(!read_line(segid, &l), "removed segment still listed");
	return 0;
}
