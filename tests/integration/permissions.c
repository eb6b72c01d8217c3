// SPDX-License-Identifier: GPL-2.0-only
/*
 * permissions: A (root) makes a 0600 and a 0666 segment.
 *  - B: setresuid(12345) after fork, before any xpmem call: get of the
 *    0600 segment fails with EACCES (RDONLY and RDWR), the 0666 one
 *    works (get, attach, read, write).
 *  - U: setresuid(12345), unshare(CLONE_NEWUSER) mapping uid 0 in the
 *    namespace to 12345, so U is "root" with full capabilities in its
 *    namespace: still refused by A's 0600 segment (A's uid is not even
 *    mapped there); the 0666 segment works.
 * /dev/xpmem is made world read-write for the duration if it is not
 * (the 0666 control proves the device itself was usable).
 */
#include "itest.h"
#include <grp.h>
#include <sched.h>

#define NPAGES	4
#define PAT	0x0ff
#define UID	12345

static size_t len;

static void become_user(void)
{
	CHECK(setgroups(0, NULL) == 0, "setgroups");
	CHECK(setresgid(UID, UID, UID) == 0, "setresgid");
	CHECK(setresuid(UID, UID, UID) == 0, "setresuid");
	CHECK(geteuid() == UID, "euid");
}

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	CHECK(fd >= 0, "open %s", path);
	n = write(fd, s, strlen(s));
	CHECK(n == (ssize_t)strlen(s), "write %s", path);
	close(fd);
}

/* the checks both B and U make */
static void try_segments(xpmem_segid_t s600, xpmem_segid_t s666,
			 const char *who)
{
	xpmem_apid_t apid;
	char *p;
	char what[128];

	snprintf(what, sizeof(what), "%s: RDWR get of root's 0600 segment", who);
	CHECK_ERRNO(xpmem_get(s600, XPMEM_RDWR, XPMEM_PERMIT_MODE, NULL),
		    EACCES, what);
	snprintf(what, sizeof(what), "%s: RDONLY get of root's 0600 segment",
		 who);
	CHECK_ERRNO(xpmem_get(s600, XPMEM_RDONLY, XPMEM_PERMIT_MODE, NULL),
		    EACCES, what);
	apid = it_get(s666, XPMEM_RDWR);
	p = it_attach(apid, 0, len);
	CHECK_PATTERN(p, len, PAT, "view of the 0666 segment");
	it_fill(p, len, PAT + 1);
	CHECK_PATTERN(p, len, PAT + 1, "own writes to the 0666 segment");
	it_fill(p, len, PAT);
	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_release(apid));
}

static void peer_b(int fd, void *arg)
{
	xpmem_segid_t s600 = (xpmem_segid_t)it_recv(fd);
	xpmem_segid_t s666 = (xpmem_segid_t)it_recv(fd);

	(void)arg;
	become_user();
	try_segments(s600, s666, "uid 12345");
	it_send(fd, 1);
}

static void peer_u(int fd, void *arg)
{
	xpmem_segid_t s600 = (xpmem_segid_t)it_recv(fd);
	xpmem_segid_t s666 = (xpmem_segid_t)it_recv(fd);
	char map[64];

	(void)arg;
	become_user();
	if (unshare(CLONE_NEWUSER) != 0) {
		NOTE("unshare(CLONE_NEWUSER): %s: user namespace part skipped",
		     strerror(errno));
		it_send(fd, 2);
		return;
	}
	snprintf(map, sizeof(map), "0 %d 1\n", UID);
	write_file("/proc/self/setgroups", "deny");
	write_file("/proc/self/uid_map", map);
	write_file("/proc/self/gid_map", map);
	CHECK(setresuid(0, 0, 0) == 0 && setresgid(0, 0, 0) == 0,
	      "become root inside the user namespace");
	CHECK(geteuid() == 0, "euid 0 in the namespace");
	try_segments(s600, s666, "ns-root (uid 12345 outside)");
	it_send(fd, 1);
}

int main(void)
{
	struct it_peer b, u;
	struct stat st;
	char *a600, *a666;
	xpmem_segid_t s600, s666;
	int chmodded = 0;
	uint64_t ures;

	it_init("permissions");
	len = NPAGES * it_page;
	CHECK(stat(XPMEM_DEVICE_PATH, &st) == 0, "stat %s", XPMEM_DEVICE_PATH);
	if ((st.st_mode & 0006) != 0006) {
		CHECK(chmod(XPMEM_DEVICE_PATH, 0666) == 0, "chmod 0666 %s",
		      XPMEM_DEVICE_PATH);
		chmodded = 1;
	}
	a600 = it_map(len);
	a666 = it_map(len);
	it_fill(a600, len, PAT);
	it_fill(a666, len, PAT);
	s600 = it_make(a600, len, 0600);
	s666 = it_make(a666, len, 0666);

	b = it_spawn(peer_b, NULL);
	it_send(b.fd, (uint64_t)s600);
	it_send(b.fd, (uint64_t)s666);
	it_expect(b.fd, 1);
	it_join(&b, "uid 12345 peer");

	u = it_spawn(peer_u, NULL);
	it_send(u.fd, (uint64_t)s600);
	it_send(u.fd, (uint64_t)s666);
	ures = it_recv(u.fd);
	it_join(&u, "user namespace peer");

	if (chmodded)
		chmod(XPMEM_DEVICE_PATH, st.st_mode & 07777);
	CHECK_PATTERN(a600, len, PAT, "A's 0600 data");
	CHECK_OK(xpmem_remove(s600));
	CHECK_OK(xpmem_remove(s666));
	if (ures == 2)
		it_skip("user namespace part (unshare failed), uid part passed");
	return 0;
}
