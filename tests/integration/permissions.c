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
 * The guest runs tests chrooted into the host root, and the kernel
 * refuses CLONE_NEWUSER to a chrooted caller; U therefore first takes a
 * private mount namespace, climbs out of the chroot to that namespace's
 * root, creates the user namespace, and chroots back (CAP_SYS_CHROOT in
 * its own namespace is enough for that).
 * /dev/xpmem is made world read-write for the duration if it is not
 * (the 0666 control proves the device itself was usable).
 */
#include "itest.h"
#include <grp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/mount.h>

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
	/* changing uid clears "dumpable", which makes /proc/self root's */
	CHECK(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0, "PR_SET_DUMPABLE");
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

/* are we chrooted (our / is not init's /)? */
static int chrooted(void)
{
	struct stat a, b;

	if (stat("/", &a) != 0 || stat("/proc/1/root/", &b) != 0)
		return 0;
	return a.st_dev != b.st_dev || a.st_ino != b.st_ino;
}

/*
 * Leave the chroot inside a private mount namespace.  Returns an fd of
 * the old root to chroot back to, -1 when not chrooted, -2 on failure.
 */
static int leave_chroot(void)
{
	int rfd, i;

	if (!chrooted())
		return -1;
	if (unshare(CLONE_NEWNS) != 0) {
		NOTE("unshare(CLONE_NEWNS): %s", strerror(errno));
		return -2;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		NOTE("making mounts private: %s", strerror(errno));
	rfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0 || chroot("/dev") != 0 || fchdir(rfd) != 0) {
		NOTE("escaping the chroot: %s", strerror(errno));
		return -2;
	}
	for (i = 0; i < 64; i++)
		if (chdir("..") != 0)
			break;
	if (chroot(".") != 0) {
		NOTE("chroot to the namespace root: %s", strerror(errno));
		return -2;
	}
	return rfd;
}

static void peer_u(int fd, void *arg)
{
	xpmem_segid_t s600 = (xpmem_segid_t)it_recv(fd);
	xpmem_segid_t s666 = (xpmem_segid_t)it_recv(fd);
	char map[64];
	int rfd, knob = -1;

	(void)arg;
	rfd = leave_chroot();
	if (rfd == -2) {
		it_send(fd, 2);
		return;
	}
	become_user();
	if (unshare(CLONE_NEWUSER) != 0) {
		FILE *f = fopen("/proc/sys/kernel/unprivileged_userns_clone",
				"r");

		if (f) {
			if (fscanf(f, "%d", &knob) != 1)
				knob = -1;
			fclose(f);
		}
		NOTE("unshare(CLONE_NEWUSER): %s (still chrooted: %d, "
		     "unprivileged_userns_clone %d): user namespace part skipped",
		     strerror(errno), chrooted(), knob);
		it_send(fd, 2);
		return;
	}
	if (rfd >= 0)
		CHECK(fchdir(rfd) == 0 && chroot(".") == 0 && chdir("/") == 0,
		      "chroot back into the test root");
	snprintf(map, sizeof(map), "0 %d 1\n", UID);
	write_file("/proc/self/setgroups", "deny");
	write_file("/proc/self/uid_map", map);
	write_file("/proc/self/gid_map", map);
	CHECK(setresuid(0, 0, 0) == 0 && setresgid(0, 0, 0) == 0,
	      "become root inside the user namespace");
	CHECK(geteuid() == 0, "euid 0 in the namespace");
	CHECK(access(XPMEM_DEVICE_PATH, R_OK | W_OK) == 0, "access %s",
	      XPMEM_DEVICE_PATH);
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
