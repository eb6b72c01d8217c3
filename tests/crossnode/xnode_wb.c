/*
 * xnode_wb.c: remote writes and their release (issue 15 items 3, 4, 7).
 *
 *   wb_newest_wins       kept diffs of an invalidated page go before newer
 *                        ones: the newest value of each byte wins
 *   wb_fenced            a release after the owner's node was fenced
 *                        reports the bytes it dropped (EHOSTDOWN), once
 *   wb_owner_exit        ... after the owner exited (EIDRM)
 *   wb_mmap_lock         a thread's mmap+munmap is quick while another
 *                        thread's release or munmap of a written
 *                        attachment waits for a stopped owner VM
 *   wb_munmap_lost_counted  a bare munmap's write-back that fails (owner
 *                        stopped past net_timeout_ms) is counted in
 *                        remote_closed_wb_failed (nobody else is told)
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xnode.h"

/* The servant stores byte @v at @addr: 0, or -1 on a signal. */
static int rput(struct servant *s, uintptr_t addr, unsigned int v)
{
	return strncmp(rpc(s, "fill %" PRIxPTR " 1 %x", addr, v), "SIG", 3) ?
	       0 : -1;
}

/* The servant's xpmem_sync: 0, or the errno of a failure (-1 garbled). */
static int rsync(struct servant *s, uintptr_t addr, size_t len, int flags)
{
	int ret = 0, err = -1;

	if (sscanf(rpc(s, "sync %" PRIxPTR " %zx %x", addr, len, flags),
		   "%d %d", &ret, &err) != 2)
		return -1;
	return ret ? err : 0;
}

/*
 * Page 0: 100 = A1, 200 = C3; invalidated; 100 = B2.  Page 1: 300 = 11,
 * 400 = 22; invalidated; 300 = 33, 500 = 44; invalidated; 300 = 55.  One
 * release: every byte holds the last value written to it.
 */
static void case_wb_newest_wins(struct servant *s)
{
	size_t size = 2 * 4096;
	unsigned char *buf = owner_buffer(size, 51);
	xpmem_segid_t segid = xpmem_make(buf, size, XPMEM_PERMIT_MODE,
					 (void *)0600);
	struct remote_att ra;
	uintptr_t a;
	int ok, err;

	ok = segid > 0 && !remote_attach(s, segid, XPMEM_RDWR, 0, size, &ra);
	a = ra.addr;
	ok = ok && !rput(s, a + 100, 0xA1) && !rput(s, a + 200, 0xC3) &&
	     !rput(s, a + 4096 + 300, 0x11) && !rput(s, a + 4096 + 400, 0x22);
	madvise(buf, size, MADV_DONTNEED);
	ok = ok && !rput(s, a + 100, 0xB2) && !rput(s, a + 4096 + 300, 0x33) &&
	     !rput(s, a + 4096 + 500, 0x44);
	madvise(buf + 4096, 4096, MADV_DONTNEED);
	ok = ok && !rput(s, a + 4096 + 300, 0x55);
	err = ok ? rsync(s, a, size, XPMEM_SYNC_RELEASE) : -1;
	result(!err && buf[100] == 0xB2 && buf[200] == 0xC3 &&
	       buf[4096 + 300] == 0x55 && buf[4096 + 400] == 0x22 &&
	       buf[4096 + 500] == 0x44, "wb_newest_wins",
	       "release errno %d; owner bytes 100 %#x (B2) 200 %#x (C3), page 1: 300 %#x (55) 400 %#x (22) 500 %#x (44)",
	       err, buf[100], buf[200], buf[4096 + 300], buf[4096 + 400],
	       buf[4096 + 500]);
	if (segid > 0) {
		remote_detach(s, &ra);
		xpmem_remove(segid);
	}
	munmap(buf, size);
}

/* Polls the servant's gauge @name until it reads @want or 10 s pass. */
static long rpc_settle(struct servant *s, const char *name, long want)
{
	double t0 = now_s();
	long v;

	while ((v = rpc_counter(s, name)) != want && now_s() - t0 < 10)
		usleep(50000);
	return v;
}

/*
 * The servant writes a page, then fences the owner's node (removes and
 * re-adds it as a peer): its next release reports that the bytes were
 * dropped, the one after that has nothing to report.
 */
static void case_wb_fenced(struct servant *s)
{
	size_t size = 4096;
	unsigned char *buf = owner_buffer(size, 53);
	xpmem_segid_t segid = xpmem_make(buf, size, XPMEM_PERMIT_MODE,
					 (void *)0600);
	struct remote_att ra;
	int ok, first = -1, second = -1, back;

	ok = segid > 0 && !remote_attach(s, segid, XPMEM_RDWR, 0, size, &ra) &&
	     !rput(s, ra.addr + 10, 0x99);
	back = ok ? atoi(rpc(s, "sh set -- $XPMEM_NODE_ADDRS; ../../tools/xpmem-node del-peer --id 1 && ../../tools/xpmem-node add-peer --id 1 --addr $1")) : -1;
	ok = ok && !back && rpc_settle(s, "remote_twins", 0) == 0;
	if (ok) {
		first = rsync(s, ra.addr, size, XPMEM_SYNC_RELEASE);
		second = rsync(s, ra.addr, size, XPMEM_SYNC_RELEASE);
	}
	result(ok && first == EHOSTDOWN && second == 0 && buf[10] != 0x99,
	       "wb_fenced",
	       "release after the fence: errno %d (want %d), the next %d (want 0), owner byte %#x",
	       first, EHOSTDOWN, second, buf[10]);
	if (segid > 0) {
		remote_detach(s, &ra);
		xpmem_remove(segid);
	}
	munmap(buf, size);
}

/* The servant writes a page; its owner exits; the release says so. */
static void case_wb_owner_exit(struct servant *s)
{
	int pfd[2], gfd[2], status, ok, first = -1, second = -1;
	xpmem_segid_t segid = -1;
	struct remote_att ra;
	pid_t pid;
	char go;

	if (pipe(pfd) || pipe(gfd))
		die("pipe");
	pid = fork();
	if (pid == 0) {		/* the owner: make, report, wait, exit */
		unsigned char *buf = owner_buffer(4096, 55);

		segid = xpmem_make(buf, 4096, XPMEM_PERMIT_MODE, (void *)0600);
		if (write(pfd[1], &segid, sizeof(segid)) != sizeof(segid) ||
		    read(gfd[0], &go, 1) != 1)
			_exit(1);
		_exit(0);
	}
	if (read(pfd[0], &segid, sizeof(segid)) != sizeof(segid))
		die("read segid");
	ok = segid > 0 &&
	     !remote_attach(s, segid, XPMEM_RDWR, 0, 4096, &ra) &&
	     !rput(s, ra.addr + 20, 0x77);
	if (write(gfd[1], "", 1) != 1 || waitpid(pid, &status, 0) != pid)
		die("owner child");
	if (ok) {
		first = rsync(s, ra.addr, 4096, XPMEM_SYNC_RELEASE);
		second = rsync(s, ra.addr, 4096, XPMEM_SYNC_RELEASE);
	}
	result(ok && first == EIDRM && second == 0, "wb_owner_exit",
	       "release after the owner exited: errno %d (want %d), the next %d (want 0)",
	       first, EIDRM, second);
	if (ok)
		remote_detach(s, &ra);
	close(pfd[0]);
	close(pfd[1]);
	close(gfd[0]);
	close(gfd[1]);
}

/*
 * Whether the servant's page at @addr holds @v in every byte, within
 * @secs seconds.
 */
static int owner_has(struct servant *s, uintptr_t addr, int v, double secs)
{
	unsigned char ref[4096];
	double t0 = now_s();
	uint64_t want, sum = 0;
	double t;

	memset(ref, v, sizeof(ref));
	want = checksum(ref, sizeof(ref));
	while (remote_sum(s, addr, sizeof(ref), &sum, &t) || sum != want) {
		if (now_s() - t0 >= secs)
			return 0;
		usleep(100000);
	}
	return 1;
}

struct wb_bg {
	void *addr;
	size_t size;
	int munmap;	/* else xpmem_sync(RELEASE) */
	int ret, err;
	double secs;
	atomic_int done;
};

static void *wb_bg_run(void *arg)
{
	struct wb_bg *b = arg;
	double t0 = now_s();

	b->ret = b->munmap ? munmap(b->addr, b->size) :
		 xpmem_sync(b->addr, b->size, XPMEM_SYNC_RELEASE);
	b->err = b->ret ? errno : 0;
	b->secs = now_s() - t0;
	atomic_store(&b->done, 1);
	return NULL;
}

/*
 * Whether @b's write-back still waits for the owner: the release has not
 * returned, or (munmap returns at once) the closed attachment's page is
 * still held (the write-back work ends by dropping it).
 */
static int still_waiting(struct wb_bg *b)
{
	return b->munmap ? counter("remote_twins") + counter("remote_copies") > 0 :
	       !atomic_load(&b->done);
}

/*
 * The slowest of 5 mmap+munmap of a page by this thread, in seconds, in
 * the first of up to 5 rounds under @limit (a busy host may preempt one)
 * that ended while @b still waited; -1 if none did.  Without @b: the
 * slowest of 5, nothing waiting (the baseline).
 */
static double mmap_munmap_max(struct wb_bg *b, double limit)
{
	double worst = 0;
	int i, round = 0;

	for (i = 0; i < 5; i++) {
		double t0 = now_s();
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			die("mmap");
		munmap(p, 4096);
		if (now_s() - t0 > worst)
			worst = now_s() - t0;
		usleep(20000);
		if (i < 4 || !b)
			continue;
		if (!still_waiting(b))
			return worst < limit ? -1 : worst;
		if (worst < limit || ++round == 5)
			return worst;
		worst = 0;
		i = -1;
	}
	return worst;
}

/*
 * This node attaches a segment of the servant's (guest @index) and writes
 * to it; the servant's VM is stopped; a thread releases (then: unmaps)
 * the attachment, which waits for the owner; meanwhile this thread's
 * mmap+munmap must not wait for the network.  The written bytes reach the
 * owner once its VM runs again.
 *
 * The bounds come from this run's own figures: mmap+munmap within 50 ms
 * or 3x the slowest of 5 with nothing waiting, measured just before (a
 * debug kernel on a loaded host takes ~100 ms; a wait for the network
 * takes until the owner runs again, seconds).  The owner is stopped for
 * two host requests and the rounds; net_timeout_ms is raised for the
 * case to 3x what that costs here (at least its setting), so that a slow
 * host never turns the stop into a fence that drops the bytes (the
 * debug kernel's failure: its stop lasted 5.4 s, past the 5 s default).
 */
static void case_wb_mmap_lock(struct servant *s, int index)
{
	static const char *const what[] = { "release", "munmap" };
	unsigned long long segid = 0;
	uintptr_t obuf = 0;
	uint64_t sum0 = 0;
	long saved = net_timeout_ms();
	double base = mmap_munmap_max(NULL, 0);
	double limit = base * 3 > 0.05 ? base * 3 : 0.05;
	int i;

	const char *r = rpc(s, "make 2000 3d");

	if (sscanf(r, "%llx %" SCNx64 " %" SCNxPTR, &segid, &sum0,
		   &obuf) != 3 || (long long)segid <= 0) {
		result(0, "wb_mmap_lock_setup", "make: %s", r);
		return;
	}
	for (i = 0; i < 2; i++) {
		xpmem_apid_t apid = xpmem_get((xpmem_segid_t)segid, XPMEM_RDWR,
					      XPMEM_PERMIT_MODE, NULL);
		struct xpmem_addr xa = { .apid = apid, .offset = 0 };
		unsigned char *p = apid > 0 ? xpmem_attach(xa, 8192, NULL) :
				   (void *)-1;
		struct wb_bg b = { .addr = p, .size = 8192, .munmap = i };
		double worst = -1;
		double t0, ctl, stopped = -1;
		long timeout_ms;
		pthread_t t;
		char name[64];
		int ok, has = -1;

		snprintf(name, sizeof(name), "wb_mmap_lock_%s", what[i]);
		if (p == (void *)-1) {
			result(0, name, "attach: %s", strerror(errno));
			break;
		}
		memset(p + 4096 * i, 0x40 + i, 4096);
		t0 = now_s();
		ok = !host_ctl("stop", "stopped", index);
		ctl = now_s() - t0;
		/* the stop: this request's answer, 0.2 s, 5 rounds, the cont */
		timeout_ms = (long)(3e3 * (2 * ctl + 0.2 + 25 * (limit + 0.02)));
		if (timeout_ms < saved)
			timeout_ms = saved;
		param_set("net_timeout_ms", timeout_ms);
		if (ok && !pthread_create(&t, NULL, wb_bg_run, &b)) {
			usleep(200000);	/* the thread now waits for the owner */
			worst = mmap_munmap_max(&b, limit);
			ok = !host_ctl("cont", "conted", index);
			stopped = now_s() - t0;
			ok = !pthread_join(t, NULL) && ok;
		} else if (ok) {
			host_ctl("cont", "conted", index);
			ok = 0;
		} else {
			/* the stop may have happened unseen: never leave it */
			host_ctl("cont", "conted", index);
		}
		/*
		 * The owner's page holds the bytes: polled after munmap,
		 * whose write-back runs in the background and may take
		 * until its own timeout (a fixed 10 s failed once in CI on
		 * the debug kernel, unexplained: this rules the wait out).
		 */
		if (ok)
			has = owner_has(s, obuf + 4096 * i, 0x40 + i,
					i ? timeout_ms / 1e3 + 2 : 0);
		ok = ok && has;
		param_set("net_timeout_ms", saved);
		result(ok && worst >= 0 && worst < limit && !b.ret, name,
		       "mmap+munmap at worst %.1f ms (limit %.1f ms: 50, or 3x %.1f ms with nothing waiting) while a thread's %s (%d, errno %d, %.2f s) waited for the owner stopped %.2f s (net_timeout_ms %ld); owner has the bytes: %s",
		       worst * 1e3, limit * 1e3, base * 1e3, what[i], b.ret,
		       b.err, b.secs, stopped, timeout_ms,
		       has < 0 ? "not checked (the stop, cont or thread failed)" :
		       has ? "yes" : "no");
		if (!i || !atomic_load(&b.done))	/* else the thread unmapped it */
			xpmem_detach(p);
		xpmem_release(apid);
	}
	rpc(s, "wbremove %llx %" PRIxPTR " 2000", segid, obuf);
}

/*
 * A bare munmap's write-back has nobody to report a failure to: the
 * owner's VM stays stopped past net_timeout_ms (1 s for the case), the
 * write-back work times out and fences it, and the kernel counts it in
 * remote_closed_wb_failed (and logs it) for an admin.  The bytes may
 * still arrive (the WRITEBACK was sent; the owner applies it when it runs
 * again): a failure means the owner did not confirm them in time.
 */
static void case_wb_munmap_lost(struct servant *s, int index)
{
	long saved = net_timeout_ms(), lost0 = counter("remote_closed_wb_failed");
	long lost = -1, fences0 = peer_field(index + 1, "fences"), fences;
	unsigned long long segid = 0;
	xpmem_apid_t apid = -1;
	uintptr_t obuf = 0;
	uint64_t sum0 = 0;
	unsigned char *p = (void *)-1;
	int ok, has = -1;

	ok = sscanf(rpc(s, "make 1000 3e"), "%llx %" SCNx64 " %" SCNxPTR,
		    &segid, &sum0, &obuf) == 3 && (long long)segid > 0;
	if (ok)
		apid = xpmem_get((xpmem_segid_t)segid, XPMEM_RDWR,
				 XPMEM_PERMIT_MODE, NULL);
	if (apid > 0)
		p = xpmem_attach((struct xpmem_addr){ .apid = apid }, 4096,
				 NULL);
	ok = ok && p != (void *)-1;
	if (ok) {
		memset(p, 0x5a, 4096);
		ok = !host_ctl("stop", "stopped", index);
		param_set("net_timeout_ms", 1000);
		munmap(p, 4096);	/* returns at once */
		/* the write-back's WRITEBACK, then its DETACH: a timeout each */
		lost = counter_settle("remote_closed_wb_failed", lost0 + 1, 20);
		param_set("net_timeout_ms", saved);
		ok = !host_ctl("cont", "conted", index) && ok;
		has = owner_has(s, obuf, 0x5a, 0);
	}
	fences = peer_field(index + 1, "fences");
	result(ok && lost == lost0 + 1 && has >= 0 && fences > fences0,
	       "wb_munmap_lost_counted",
	       "bare munmap's write-back to an owner stopped past net_timeout_ms: remote_closed_wb_failed %ld -> %ld (want +1), fences %ld -> %ld, owner has the bytes: %s (either: unconfirmed)",
	       lost0, lost, fences0, fences,
	       has < 0 ? "?" : has ? "yes" : "no");
	if (apid > 0)
		xpmem_release(apid);
	if (segid)
		rpc(s, "wbremove %llx %" PRIxPTR " 1000", segid, obuf);
}

/* Servant requests of this file. */
int serve_wb(int fd, const char *op, char *req, const uint64_t arg[4])
{
	(void)req;
	if (strcmp(op, "wbremove"))
		return 0;
	/* removes segment a, unmaps its buffer [b, b + c) */
	send_status(fd, xpmem_remove((xpmem_segid_t)arg[0]) ||
		    munmap((void *)(uintptr_t)arg[1], arg[2]) ? -1 : 0);
	return 1;
}

void cases_wb(struct servant **sv, int n)
{
	(void)n;
	case_wb_newest_wins(sv[0]);
	case_wb_owner_exit(sv[0]);
	case_wb_mmap_lock(sv[0], 1);
	case_wb_munmap_lost(sv[0], 1);
	case_wb_fenced(sv[0]);
}
