// SPDX-License-Identifier: GPL-2.0-only
/*
 * segid_guess: another user cannot find a segment by guessing its id,
 * cannot tell "exists but not yours" from "no such segment", and the
 * admin sees who tried.
 *  - O (uid 1000) exports its whole address space 0666 (the Open MPI
 *    pattern), plus a 0600 and a 0644 segment.
 *  - X (uid 65534) is told the ids of the 0600 and 0644 segments only.
 *    0600: ENOENT for RDONLY and RDWR, exactly as for an id nobody has;
 *    0644: RDONLY works and RDWR is EACCES (X may read it, so it may
 *    learn that it exists).
 *  - X then makes OWN segments of its own to learn the id layout and
 *    sweeps the ids below them the way the old layout invited (its lowest
 *    slot minus 1 and 2, every value of the 20 random bits above the
 *    28-bit slot that has the bits set that all its own ids have set):
 *    at most 2^20 GETs or 10 s (the debug kernel does ~7k GETs/s, the
 *    stock one ~300k).  Any GET that succeeds on an id it was not given
 *    is a find: the test fails.  (The old ids were found after ~800k.)
 *  - The failed GETs are counted: /proc/xpmem/get_failures has X's uid
 *    with at least that many more, /proc/xpmem/counters get_failures
 *    grew as much, and the kernel log names uid 65534.
 */
#include "itest.h"
#include <grp.h>

#define OWNER_UID	1000
#define GUESS_UID	65534
#define NPAGES		4
#define MAX_TRIES	(1L << 20)
#define MAX_SECS	10.0
#define OLD_SLOT_BITS	28	/* the layout the sweep aims at */
#define OLD_RAND_BITS	20
#define OWN		8

static size_t len;

static void become(uid_t uid, gid_t gid)
{
	CHECK(setgroups(0, NULL) == 0, "setgroups");
	CHECK(setresgid(gid, gid, gid) == 0, "setresgid %d", (int)gid);
	CHECK(setresuid(uid, uid, uid) == 0, "setresuid %d", (int)uid);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void owner(int fd, void *arg)
{
	char *b600, *b644, *b666;
	xpmem_segid_t s666, s600, s644;

	(void)arg;
	become(OWNER_UID, OWNER_UID);
	b666 = it_map(len);
	b600 = it_map(len);
	b644 = it_map(len);
	it_fill(b666, len, 0x666);
	it_fill(b600, len, 0x600);
	it_fill(b644, len, 0x644);
	s600 = it_make(b600, len, 0600);
	s644 = it_make(b644, len, 0644);
	s666 = xpmem_make(0, XPMEM_MAXADDR_SIZE, XPMEM_PERMIT_MODE,
			  (void *)0666);
	CHECK(s666 > 0, "whole address space 0666 make = %lld",
	      (long long)s666);
	it_send(fd, (uint64_t)s600);
	it_send(fd, (uint64_t)s644);
	it_send(fd, (uint64_t)s666);
	it_expect(fd, 1);
	CHECK_PATTERN(b666, len, 0x666, "O's data after the sweep");
	CHECK_PATTERN(b600, len, 0x600, "O's 0600 data");
	CHECK_OK(xpmem_remove(s666));
	CHECK_OK(xpmem_remove(s600));
	CHECK_OK(xpmem_remove(s644));
}

static long get_errno(xpmem_segid_t id, int flags)
{
	xpmem_apid_t a;

	errno = 0;
	a = xpmem_get(id, flags, XPMEM_PERMIT_MODE, NULL);
	if (a > 0) {
		xpmem_release(a);
		return 0;
	}
	return errno;
}

static void guesser(int fd, void *arg)
{
	xpmem_segid_t s600 = (xpmem_segid_t)it_recv(fd);
	xpmem_segid_t s644 = (xpmem_segid_t)it_recv(fd);
	xpmem_segid_t mine[OWN], id, none;
	uint64_t node_mask = ~((1ULL << (OLD_SLOT_BITS + OLD_RAND_BITS)) - 1);
	uint64_t slot_mask = (1ULL << OLD_SLOT_BITS) - 1;
	long tries = 0, fails = 0, e;
	double t0, dt;
	char *own;
	uint64_t r, rmask = (1ULL << OLD_RAND_BITS) - 1, ones = rmask;
	uint64_t slot = slot_mask;
	int d, i;

	(void)arg;
	become(GUESS_UID, GUESS_UID);

	/* an id nobody has: s600 with every random bit flipped */
	none = (xpmem_segid_t)((uint64_t)s600 ^ ~node_mask ^ 0x5a5a5aULL);
	EXPECT_ERRNO(xpmem_get(none, XPMEM_RDONLY, XPMEM_PERMIT_MODE, NULL),
		     ENOENT, "RDONLY get of an id nobody has");
	EXPECT_ERRNO(xpmem_get(s600, XPMEM_RDONLY, XPMEM_PERMIT_MODE, NULL),
		     ENOENT, "uid 65534: RDONLY get of uid 1000's 0600 segment");
	EXPECT_ERRNO(xpmem_get(s600, XPMEM_RDWR, XPMEM_PERMIT_MODE, NULL),
		     ENOENT, "uid 65534: RDWR get of uid 1000's 0600 segment");
	EXPECT_ERRNO(xpmem_get(s644, XPMEM_RDWR, XPMEM_PERMIT_MODE, NULL),
		     EACCES, "uid 65534: RDWR get of uid 1000's 0644 segment");
	CHECK(get_errno(s644, XPMEM_RDONLY) == 0,
	      "uid 65534: RDONLY get of uid 1000's 0644 segment");
	fails = 4;	/* the four expected refusals above */

	own = it_map(len);
	for (i = 0; i < OWN; i++) {
		mine[i] = it_make(own, len, 0600);
		ones &= (uint64_t)mine[i] >> OLD_SLOT_BITS;
		if (((uint64_t)mine[i] & slot_mask) < slot)
			slot = (uint64_t)mine[i] & slot_mask;
	}
	t0 = now();
	for (r = 0; r <= rmask && tries < MAX_TRIES; r++) {
		if ((r & 1023) == 0 && now() - t0 > MAX_SECS)
			break;
		if ((r & ones) != ones)
			continue;	/* a bit all of X's own ids have */
		for (d = 1; d <= 2; d++) {
			id = (xpmem_segid_t)(((uint64_t)mine[0] & node_mask) |
				(r << OLD_SLOT_BITS) | ((slot - d) & slot_mask));
			if (id <= 0 || id == s644 || id == s600)
				continue;
			for (i = 0; i < OWN && id != mine[i]; i++)
				;
			if (i < OWN)
				continue;
			tries++;
			e = get_errno(id, XPMEM_RDWR);
			if (e == 0) {
				FAIL("uid %d found segment %#llx after %ld GETs "
				     "in %.2f s", GUESS_UID, (long long)id,
				     tries, now() - t0);
			}
			CHECK(e == ENOENT, "GET of guessed id %#llx: errno %ld",
			      (long long)id, e);
			fails++;
		}
	}
	dt = now() - t0;
	NOTE("uid %d: %ld guessed ids in %.2f s (%.0f GETs/s), none found",
	     GUESS_UID, tries, dt, tries / (dt > 0 ? dt : 1));
	CHECK(tries >= 65536, "only %ld tries in %.0f s", tries, MAX_SECS);
	for (i = 0; i < OWN; i++)
		CHECK_OK(xpmem_remove(mine[i]));
	it_send(fd, (uint64_t)fails);
	if (it_soft_failures)
		_exit(1);
}

/* failed GETs of uid in /proc/xpmem/get_failures; -1 if unreadable */
static long long uid_failures(uid_t uid)
{
	FILE *f = fopen("/proc/xpmem/get_failures", "r");
	char line[128];
	unsigned int u;
	unsigned long long n;
	long long found = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%u %llu", &u, &n) == 2 && u == uid)
			found = (long long)n;
	fclose(f);
	return found;
}

/* does a kernel log record after the one at kfd's position name the uid? */
static int logged(int kfd, uid_t uid)
{
	char rec[2048], want[32];
	int hit = 0;

	snprintf(want, sizeof(want), "uid %u", (unsigned int)uid);
	for (;;) {
		ssize_t n = read(kfd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records */
		if (n <= 0)
			break;
		rec[n] = 0;
		if (strstr(rec, "xpmem") && strstr(rec, want))
			hit = 1;
	}
	return hit;
}

int main(void)
{
	struct it_peer o, x;
	struct stat st;
	long long u0, u1, c0, c1, fails;
	xpmem_segid_t s600, s644;
	int chmodded = 0, kfd;

	it_init("segid_guess");
	len = NPAGES * it_page;
	CHECK(stat(XPMEM_DEVICE_PATH, &st) == 0, "stat %s", XPMEM_DEVICE_PATH);
	if ((st.st_mode & 0006) != 0006) {
		CHECK(chmod(XPMEM_DEVICE_PATH, 0666) == 0, "chmod 0666");
		chmodded = 1;
	}
	kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kfd >= 0)
		lseek(kfd, 0, SEEK_END);
	u0 = uid_failures(GUESS_UID);
	c0 = it_counter("get_failures");

	o = it_spawn(owner, NULL);
	s600 = (xpmem_segid_t)it_recv(o.fd);
	s644 = (xpmem_segid_t)it_recv(o.fd);
	(void)it_recv(o.fd);	/* the whole address space: X is not told */

	x = it_spawn(guesser, NULL);
	it_send(x.fd, (uint64_t)s600);
	it_send(x.fd, (uint64_t)s644);
	fails = (long long)it_recv(x.fd);
	it_join(&x, "uid 65534 guesser");
	it_send(o.fd, 1);
	it_join(&o, "uid 1000 owner");
	if (chmodded)
		chmod(XPMEM_DEVICE_PATH, st.st_mode & 07777);

	u1 = uid_failures(GUESS_UID);
	c1 = it_counter("get_failures");
	CHECK(u0 >= 0 && u1 >= 0, "/proc/xpmem/get_failures unreadable");
	CHECK(u1 - u0 >= fails, "get_failures for uid %d grew by %lld, "
	      "%lld GETs failed", GUESS_UID, u1 - u0, fails);
	CHECK(c0 >= 0 && c1 - c0 >= fails, "counters get_failures %lld -> "
	      "%lld, %lld GETs failed", c0, c1, fails);
	NOTE("uid %d: %lld failed GETs counted (%lld in total)", GUESS_UID,
	     u1, c1);
	if (kfd >= 0) {
		CHECK(logged(kfd, GUESS_UID), "no kernel log line about "
		      "uid %d's failed GETs", GUESS_UID);
		close(kfd);
	}
	return 0;
}
