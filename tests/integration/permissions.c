// SPDX-License-Identifier: GPL-2.0-only
/*
 * permissions: the mode bits are checked like a file's, with the file
 * rules for capabilities, and a caller the mode denies everything cannot
 * tell the segment from one that does not exist (ENOENT for both; a
 * caller that may read but asks for RDWR gets EACCES).
 * A (root) makes a 0600 and a 0666 segment; O (uid 1000, gid 1000) makes
 * a 0000, a 0400 and a 0060 segment.
 *  - B: setresuid(12345) after fork, before any xpmem call: get of A's
 *    0600 segment and of O's 0000 segment fails with ENOENT (RDONLY and
 *    RDWR), the 0666 one works (get, attach, read, write).
 *  - G: uid/gid 12345 with supplementary group 1000: O's 0060 segment
 *    RDWR works (writes land), O's 0000 segment ENOENT.
 *  - R1: root with all capabilities: O's 0000 and 0400 segments RDWR
 *    (CAP_DAC_OVERRIDE, as for files); its writes land in O's memory.
 *  - R2: root without CAP_DAC_OVERRIDE: CAP_DAC_READ_SEARCH still grants
 *    RDONLY (it reads R1's data); RDWR is EACCES on 0000 and 0400.
 *  - R3: root without both: ENOENT for everything of O's; its own 0600
 *    segment (A's uid) still RDWR.
 *  - U: setresuid(12345), unshare(CLONE_NEWUSER) mapping uid 0 in the
 *    namespace to 12345, so U is "root" with full capabilities in its
 *    namespace, not in the owners': still refused (ENOENT) by A's 0600
 *    and O's 0000 segments; the 0666 segment works.  Then U makes a 0000
 *    segment itself; its child C (root of U's namespace, the owner's) gets
 *    it RDWR, and after dropping CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH
 *    gets ENOENT.
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
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>

#define NPAGES	4
#define PAT	0x0ff
#define PAT_O	0x100	/* O's 0000 segment; R1 writes PAT_O + 1 */
#define PAT_G	0x060	/* O's 0060 segment; G writes PAT_G + 1 */
#define UID	12345
#define OWNER	1000

static size_t len;

/* the segments, filled in by main before the peers start */
static xpmem_segid_t s600, s666, o0000, o0400, o0060;

static void become(uid_t uid, gid_t gid, const gid_t *groups, int ngroups)
{
	CHECK(setgroups(ngroups, groups) == 0, "setgroups");
	CHECK(setresgid(gid, gid, gid) == 0, "setresgid");
	CHECK(setresuid(uid, uid, uid) == 0, "setresuid");
	CHECK(geteuid() == uid, "euid");
	/* changing uid clears "dumpable", which makes /proc/self root's */
	CHECK(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0, "PR_SET_DUMPABLE");
}

static void become_user(void)
{
	become(UID, UID, NULL, 0);
}

/* Drops capabilities (effective, permitted, inheritable); raw syscalls. */
static void drop_caps(const int *caps, int n)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];
	int i;

	CHECK(syscall(SYS_capget, &h, d) == 0, "capget");
	for (i = 0; i < n; i++) {
		__u32 bit = 1U << (caps[i] % 32);

		d[caps[i] / 32].effective &= ~bit;
		d[caps[i] / 32].permitted &= ~bit;
		d[caps[i] / 32].inheritable &= ~bit;
	}
	CHECK(syscall(SYS_capset, &h, d) == 0, "capset");
	CHECK(syscall(SYS_capget, &h, d) == 0, "capget");
	for (i = 0; i < n; i++)
		CHECK(!(d[caps[i] / 32].effective & (1U << (caps[i] % 32))),
		      "capability %d still effective", caps[i]);
}

static const int no_override[] = { CAP_DAC_OVERRIDE };
static const int no_dac[] = { CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH };

/*
 * GET segid with flags: want 0 expects success (the permit is returned,
 * or released when keep is 0), else the errno.  Failures are soft
 * (EXPECT_ERRNO style) so one run shows every wrong answer.
 */
static xpmem_apid_t expect_get(xpmem_segid_t segid, int flags, int want,
			       int keep, const char *who, const char *what)
{
	xpmem_apid_t a;
	int e;

	errno = 0;
	a = xpmem_get(segid, flags, XPMEM_PERMIT_MODE, NULL);
	e = a > 0 ? 0 : errno;
	if (e != want) {
		fprintf(stderr, "%s[%d]: FAIL %s: %s get of %s: expected %s, "
			"got %s\n", it_name, (int)getpid(), who,
			flags == XPMEM_RDWR ? "RDWR" : "RDONLY", what,
			want ? strerrorname_np(want) : "success",
			e ? strerrorname_np(e) : "success");
		it_soft_failures++;
	}
	if (a > 0 && !keep) {
		CHECK_OK(xpmem_release(a));
		a = 0;
	}
	return a > 0 ? a : 0;
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

/* the 0666 segment works: get, attach, read, write */
static void use_666(void)
{
	xpmem_apid_t apid = it_get(s666, XPMEM_RDWR);
	char *p = it_attach(apid, 0, len);

	CHECK_PATTERN(p, len, PAT, "view of the 0666 segment");
	it_fill(p, len, PAT + 1);
	CHECK_PATTERN(p, len, PAT + 1, "own writes to the 0666 segment");
	it_fill(p, len, PAT);
	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_release(apid));
}

/* attach a permit, check the data, optionally write a new pattern */
static void touch(xpmem_apid_t apid, uint64_t seed, uint64_t new_seed,
		  const char *what)
{
	char *p;

	if (!apid)
		return;
	p = it_attach(apid, 0, len);
	CHECK_PATTERN(p, len, seed, what);
	if (new_seed)
		it_fill(p, len, new_seed);
	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_release(apid));
}

/* the checks both B and U make: A's 0600 and O's 0000 are invisible */
static void try_segments(const char *who)
{
	expect_get(s600, XPMEM_RDWR, ENOENT, 0, who, "root's 0600 segment");
	expect_get(s600, XPMEM_RDONLY, ENOENT, 0, who, "root's 0600 segment");
	expect_get(o0000, XPMEM_RDWR, ENOENT, 0, who, "uid 1000's 0000 segment");
	expect_get(o0000, XPMEM_RDONLY, ENOENT, 0, who,
		   "uid 1000's 0000 segment");
	use_666();
}

static void peer_done(int fd)
{
	it_send(fd, 1);
	if (it_soft_failures)
		_exit(1);
}

static void peer_b(int fd, void *arg)
{
	(void)arg;
	become_user();
	try_segments("uid 12345");
	peer_done(fd);
}

static void peer_g(int fd, void *arg)
{
	const gid_t groups[] = { OWNER };
	const char *who = "uid 12345 in group 1000";

	(void)arg;
	become(UID, UID, groups, 1);
	touch(expect_get(o0060, XPMEM_RDWR, 0, 1, who, "uid 1000's 0060 segment"),
	      PAT_G, PAT_G + 1, "group view of the 0060 segment");
	expect_get(o0000, XPMEM_RDONLY, ENOENT, 0, who, "uid 1000's 0000 segment");
	peer_done(fd);
}

static void peer_r1(int fd, void *arg)
{
	const char *who = "root";

	(void)arg;
	touch(expect_get(o0000, XPMEM_RDWR, 0, 1, who, "uid 1000's 0000 segment"),
	      PAT_O, PAT_O + 1, "root's view of a 0000 segment");
	expect_get(o0400, XPMEM_RDWR, 0, 0, who, "uid 1000's 0400 segment");
	peer_done(fd);
}

static void peer_r2(int fd, void *arg)
{
	const char *who = "root without CAP_DAC_OVERRIDE";

	(void)arg;
	drop_caps(no_override, 1);
	touch(expect_get(o0000, XPMEM_RDONLY, 0, 1, who,
			 "uid 1000's 0000 segment"),
	      PAT_O + 1, 0, "CAP_DAC_READ_SEARCH view of a 0000 segment");
	expect_get(o0000, XPMEM_RDWR, EACCES, 0, who, "uid 1000's 0000 segment");
	expect_get(o0400, XPMEM_RDWR, EACCES, 0, who, "uid 1000's 0400 segment");
	peer_done(fd);
}

static void peer_r3(int fd, void *arg)
{
	const char *who = "root without CAP_DAC_*";

	(void)arg;
	drop_caps(no_dac, 2);
	expect_get(o0000, XPMEM_RDONLY, ENOENT, 0, who, "uid 1000's 0000 segment");
	expect_get(o0000, XPMEM_RDWR, ENOENT, 0, who, "uid 1000's 0000 segment");
	expect_get(o0400, XPMEM_RDONLY, ENOENT, 0, who, "uid 1000's 0400 segment");
	expect_get(s600, XPMEM_RDWR, 0, 0, who, "root's own 0600 segment");
	peer_done(fd);
}

/* O: uid 1000 makes 0000, 0400 and 0060 segments; checks writes at the end */
static void peer_o(int fd, void *arg)
{
	char *b0000 = it_map(len), *b0400 = it_map(len), *b0060 = it_map(len);
	xpmem_segid_t s0000, s0400, s0060;

	(void)arg;
	become(OWNER, OWNER, NULL, 0);
	it_fill(b0000, len, PAT_O);
	it_fill(b0400, len, PAT_O);
	it_fill(b0060, len, PAT_G);
	s0000 = it_make(b0000, len, 0);
	s0400 = it_make(b0400, len, 0400);
	s0060 = it_make(b0060, len, 0060);
	it_send(fd, (uint64_t)s0000);
	it_send(fd, (uint64_t)s0400);
	it_send(fd, (uint64_t)s0060);
	it_expect(fd, 2);
	CHECK_PATTERN(b0000, len, PAT_O + 1, "root's writes in O's 0000 segment");
	CHECK_PATTERN(b0400, len, PAT_O, "O's 0400 data");
	CHECK_PATTERN(b0060, len, PAT_G + 1, "group writes in O's 0060 segment");
	CHECK_OK(xpmem_remove(s0000));
	CHECK_OK(xpmem_remove(s0400));
	CHECK_OK(xpmem_remove(s0060));
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

/* C: root of U's namespace, where U's 0000 segment was made */
static void peer_c(int fd, void *arg)
{
	xpmem_segid_t own = *(xpmem_segid_t *)arg;
	const char *who = "ns-root of the owner's namespace";

	touch(expect_get(own, XPMEM_RDWR, 0, 1, who, "U's 0000 segment"),
	      PAT + 2, PAT + 3, "ns-root's view of U's 0000 segment");
	drop_caps(no_dac, 2);
	expect_get(own, XPMEM_RDONLY, ENOENT, 0,
		   "ns-root without CAP_DAC_*", "U's 0000 segment");
	peer_done(fd);
}

static void peer_u(int fd, void *arg)
{
	struct it_peer c;
	xpmem_segid_t own;
	char map[64], *buf;
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
	try_segments("ns-root (uid 12345 outside)");

	buf = it_map(len);
	it_fill(buf, len, PAT + 2);
	own = it_make(buf, len, 0);
	c = it_spawn(peer_c, &own);
	it_expect(c.fd, 1);
	it_join(&c, "ns-root child");
	CHECK_PATTERN(buf, len, PAT + 3, "ns-root's writes in U's segment");
	CHECK_OK(xpmem_remove(own));
	peer_done(fd);
}

/* runs one peer to its end; a failed peer is counted, the next still runs */
static void run_peer(void (*fn)(int, void *), const char *what)
{
	struct it_peer p = it_spawn(fn, NULL);
	int st = it_wait(p.pid);

	close(p.fd);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "%s: FAIL %s (status %#x)\n", it_name, what, st);
		it_soft_failures++;
	}
}

int main(void)
{
	struct it_peer o, u;
	struct stat st;
	char *a600, *a666;
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

	o = it_spawn(peer_o, NULL);
	o0000 = (xpmem_segid_t)it_recv(o.fd);
	o0400 = (xpmem_segid_t)it_recv(o.fd);
	o0060 = (xpmem_segid_t)it_recv(o.fd);

	run_peer(peer_b, "uid 12345 peer");
	run_peer(peer_g, "uid 12345 in group 1000 peer");
	run_peer(peer_r1, "root peer");
	run_peer(peer_r2, "root without CAP_DAC_OVERRIDE peer");
	run_peer(peer_r3, "root without CAP_DAC_* peer");

	u = it_spawn(peer_u, NULL);
	ures = it_recv(u.fd);
	it_join(&u, "user namespace peer");

	it_send(o.fd, 2);
	it_join(&o, "uid 1000 owner");
	if (chmodded)
		chmod(XPMEM_DEVICE_PATH, st.st_mode & 07777);
	CHECK_PATTERN(a600, len, PAT, "A's 0600 data");
	CHECK_OK(xpmem_remove(s600));
	CHECK_OK(xpmem_remove(s666));
	if (ures == 2 && !it_soft_failures)
		it_skip("user namespace part (unshare failed), the rest passed");
	return it_result();
}
