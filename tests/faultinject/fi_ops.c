// SPDX-License-Identifier: GPL-2.0-only
/*
 * fi_ops - allocation-failure injection into every xpmem call.
 *
 *   fi_ops nth                     systematic: fail the 1st, 2nd, ... allocation
 *   fi_ops random [ROUNDS [ITERS]] random: failslab/fail_page_alloc probability
 *
 * nth: for each call (open, make, get, attach, touch = the attach fault,
 * detach, release, remove, close, and get/attach/touch/detach/release from
 * a forked peer) and n = 1, 2, ...: build the state the call needs, write n
 * to /proc/thread-self/fail-nth, make the call, read fail-nth back.  0 means
 * the n-th allocation inside the call was failed; the call must then fail
 * with an errno (or the fault with SIGBUS/SIGSEGV, or succeed after a
 * retry), and once its state is torn down the gauges must be what they were
 * before.  The sweep of a call ends at the first n its allocations do not
 * reach, so every allocation site on that path is failed once.  Needs
 * failslab and fail_page_alloc with ignore-gfp-wait N (run.sh sets them).
 *
 * random: ROUNDS times, a child writes 1 to /proc/self/make-it-fail (run.sh
 * has set task-filter, probability, interval, times) and runs ITERS loops of
 * mmap/make/get/attach/touch/detach/release/remove, forking a peer that
 * attaches every fourth loop; at the end of each round the owner exits (or
 * is SIGKILLed) under injection while a peer is attached, and the peer must
 * then get SIGBUS.  Every errno and signal is counted per call.
 *
 * Exit status 0 when no outcome was wrong and the gauges returned to 0.
 */
#include "fi.h"

#include <sys/ioctl.h>

#define PG		((size_t)it_page)
#define MAX_NTH		400

/* --- nth ----------------------------------------------------------------- */

enum {
	N_OPEN, N_MAKE, N_GET, N_ATTACH, N_TOUCH, N_DETACH, N_RELEASE,
	N_REMOVE, N_CLOSE, N_PGET, N_PATTACH, N_PTOUCH, N_PDETACH, N_PRELEASE,
	N_NR
};

static const char *const nth_ops[N_NR] = {
	"open", "make", "get", "attach", "touch", "detach", "release",
	"remove", "close", "peer_get", "peer_attach", "peer_touch",
	"peer_detach", "peer_release",
};

static int nth_fd = -1;

static void nth_open(void)
{
	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	CHECK(nth_fd >= 0, "open /proc/thread-self/fail-nth");
}

static void nth_arm(int n)
{
	char b[16];
	int l = snprintf(b, sizeof(b), "%d", n);

	CHECK(pwrite(nth_fd, b, l, 0) == l, "write fail-nth %d", n);
}

/* Returns 1 if the armed failure was injected; disarms it if not. */
static int nth_fired(void)
{
	char b[16] = "";
	ssize_t l = pread(nth_fd, b, sizeof(b) - 1, 0);

	CHECK(l > 0, "read fail-nth");
	if (atoi(b) == 0)
		return 1;
	nth_arm(0);
	return 0;
}

struct nth_state {
	char *buf;		/* owner buffer */
	size_t len;
	xpmem_segid_t seg;
	xpmem_apid_t ap;
	char *att;
	int fd;			/* raw device fd (close) */
	long page;		/* page touched (peer_touch) */
};

static int raw_make(int fd, void *buf, size_t len, xpmem_segid_t *seg)
{
	struct xpmem_cmd_make c = {
		.vaddr = (uintptr_t)buf, .size = len,
		.permit_type = XPMEM_UAPI_PERMIT_MODE, .permit_mode = 0666,
	};

	if (ioctl(fd, XPMEM_IOC_MAKE, &c) < 0)
		return -1;
	*seg = c.segid;
	return 0;
}

static int raw_get(int fd, xpmem_segid_t seg)
{
	struct xpmem_cmd_get c = {
		.segid = seg, .flags = XPMEM_UAPI_RDWR,
		.permit_type = XPMEM_UAPI_PERMIT_MODE,
	};

	return ioctl(fd, XPMEM_IOC_GET, &c);
}

/* Touch word 0 of page pg through the attachment: write, check the owner. */
static int touch(struct nth_state *s, long pg, uint64_t v)
{
	int sig = it_probe_store(s->att + pg * PG, v);
	/* a peer has no view of the owner's buffer: read the attachment back */
	const char *check = s->buf ? s->buf : s->att;

	if (!sig && *(volatile uint64_t *)(check + pg * PG) != v)
		return -1;
	return sig;
}

static void detach_all(struct nth_state *s)
{
	if (s->att && xpmem_detach(s->att) != 0)
		FAIL("teardown detach");
	s->att = NULL;
}

static void teardown(struct nth_state *s, int own)
{
	detach_all(s);
	if (s->ap > 0 && xpmem_release(s->ap) != 0)
		FAIL("teardown release");
	s->ap = 0;
	if (own && s->seg > 0 && xpmem_remove(s->seg) != 0)
		FAIL("teardown remove");
	s->seg = 0;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (own && s->buf) {
		munmap(s->buf, s->len);
		s->buf = NULL;
	}
}

/* Builds what op needs (own segment unless peer), without injection. */
static void setup(int op, struct nth_state *s, xpmem_segid_t peer_seg,
		  size_t peer_len)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (op >= N_PGET) {
		s->seg = peer_seg;
		s->len = peer_len;
		/*
		 * A page the owner never touched, 32 pages (more than a fault
		 * batch) past the last one: the fault allocates it in the
		 * owner's mm, from this task.
		 */
		s->page = (fi->word[0]++ * 32) % (long)(peer_len / PG);
	} else {
		s->len = 4 * PG;
		s->buf = it_map(s->len);	/* left unpopulated */
		if (op >= N_GET && op != N_CLOSE)
			s->seg = it_make(s->buf, s->len, 0666);
	}
	if (op == N_CLOSE) {
		s->fd = open(XPMEM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
		CHECK(s->fd >= 0, "open device");
		CHECK(raw_make(s->fd, s->buf, s->len, &s->seg) == 0, "raw make");
		CHECK(raw_get(s->fd, s->seg) == 0, "raw get");
	}
	if ((op >= N_ATTACH && op <= N_REMOVE) || op >= N_PATTACH)
		s->ap = it_get(s->seg, XPMEM_RDWR);
	if ((op >= N_TOUCH && op <= N_REMOVE) || op >= N_PTOUCH)
		s->att = it_attach(s->ap, 0, s->len);
	if (op >= N_DETACH && op <= N_REMOVE)
		CHECK(touch(s, 0, 0x1234) == 0, "setup touch");
}

/* The call under test: 0, -1 with errno, or a signal number (touch). */
static int do_op(int op, struct nth_state *s, int *err)
{
	struct xpmem_addr a;
	int r = 0, fd;
	xpmem_segid_t sg;
	xpmem_apid_t ap;
	void *p;

	errno = 0;
	switch (op) {
	case N_OPEN:
		fd = open(XPMEM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
		r = fd < 0 ? -1 : 0;
		*err = errno;
		if (fd >= 0)
			close(fd);
		return r;
	case N_MAKE:
		sg = xpmem_make(s->buf, s->len, XPMEM_PERMIT_MODE, (void *)0666);
		*err = errno;
		if (sg > 0)
			s->seg = sg;
		return sg > 0 ? 0 : -1;
	case N_GET:
	case N_PGET:
		ap = xpmem_get(s->seg, XPMEM_RDWR, XPMEM_PERMIT_MODE, NULL);
		*err = errno;
		if (ap > 0)
			s->ap = ap;
		return ap > 0 ? 0 : -1;
	case N_ATTACH:
	case N_PATTACH:
		a.apid = s->ap;
		a.offset = 0;
		p = xpmem_attach(a, s->len, NULL);
		*err = errno;
		if (p != (void *)-1)
			s->att = p;
		return p != (void *)-1 ? 0 : -1;
	case N_TOUCH:
	case N_PTOUCH:
		r = touch(s, s->page, 0xabc0 + s->page);
		*err = 0;
		return r < 0 ? -2 : r;
	case N_DETACH:
	case N_PDETACH:
		r = xpmem_detach(s->att);
		*err = errno;
		if (!r)
			s->att = NULL;
		return r;
	case N_RELEASE:
	case N_PRELEASE:
		r = xpmem_release(s->ap);
		*err = errno;
		if (!r)
			s->ap = 0;
		return r;
	case N_REMOVE:
		r = xpmem_remove(s->seg);
		*err = errno;
		if (!r)
			s->seg = 0;
		return r;
	case N_CLOSE:
		r = close(s->fd);
		*err = errno;
		s->fd = -1;
		s->seg = 0;	/* gone with the context */
		return r;
	}
	return 0;
}

static int gauges_equal(const long long a[5], const long long b[5])
{
	return !memcmp(a, b, 5 * sizeof(a[0]));
}

/* Sweep one call over n = 1, 2, ...; returns when n is no longer reached. */
static void nth_sweep(int op, xpmem_segid_t peer_seg, size_t peer_len)
{
	long long base[5], before[5], after[5];
	struct nth_state s;
	int n, err;

	fi_gauges_read(base);
	for (n = 1; n <= MAX_NTH; n++) {
		setup(op, &s, peer_seg, peer_len);
		fi_gauges_read(before);
		nth_arm(n);
		int r = do_op(op, &s, &err);
		int fired = nth_fired();
		fi_gauges_read(after);

		if (r == 0)
			fi_count(op, FO_OK);
		else if (r == -1)
			fi_count_errno(op, err, 0);
		else if (r == -2) {
			fi_count(op, FO_BAD);
			fi_bad("%s n=%d: data written through the attachment "
			       "is not in the owner's page", nth_ops[op], n);
		} else
			fi_count_sig(op, r);

		if (r && !fired) {
			fi_bad("%s n=%d failed (r=%d errno %d) without an "
			       "injected failure", nth_ops[op], n, r, err);
			fi->n[op][FO_BAD]++;
		}
		/* a failed make/get/attach must leave nothing behind */
		if (r == -1 && (op == N_MAKE || op == N_GET || op == N_ATTACH ||
				op == N_PGET || op == N_PATTACH || op == N_OPEN) &&
		    !gauges_equal(before, after)) {
			fi_bad("%s n=%d: failed with errno %d but the gauges "
			       "changed", nth_ops[op], n, err);
			fi->n[op][FO_BAD]++;
		}
		teardown(&s, op < N_PGET);
		fi_gauges_read(after);
		if (!gauges_equal(base, after)) {
			fi_bad("%s n=%d: gauges not back after teardown "
			       "(contexts %lld->%lld segments %lld->%lld "
			       "permits %lld->%lld attachments %lld->%lld "
			       "attached_pages %lld->%lld)", nth_ops[op], n,
			       base[0], after[0], base[1], after[1], base[2],
			       after[2], base[3], after[3], base[4], after[4]);
			fi->n[op][FO_BAD]++;
			memcpy(base, after, sizeof(base));
		}
		if (!fired)
			return;
		fi->points[op]++;
	}
	fi_bad("%s: still injecting at n=%d, sweep cut short", nth_ops[op], MAX_NTH);
}

static void nth_peer(int fd, void *arg)
{
	xpmem_segid_t seg;
	size_t len;
	int op;

	(void)arg;
	nth_open();
	/* our own open of the device, before the sweeps count the gauges */
	CHECK(xpmem_init() == 0, "xpmem_init in the peer");
	seg = (xpmem_segid_t)it_recv(fd);
	len = it_recv(fd);
	for (op = N_PGET; op < N_NR; op++)
		nth_sweep(op, seg, len);
	it_send(fd, 1);
}

static int run_nth(void)
{
	struct it_peer p;
	size_t len = 4096 * PG;
	char *buf;
	xpmem_segid_t seg;
	int op;
	long bad;

	fi_table_init(nth_ops, N_NR);
	nth_open();
	CHECK(xpmem_init() == 0, "xpmem_init");
	for (op = N_OPEN; op < N_PGET; op++)
		nth_sweep(op, 0, 0);

	buf = it_map(len);
	seg = it_make(buf, len, 0666);
	p = it_spawn(nth_peer, NULL);
	it_send(p.fd, (uint64_t)seg);
	it_send(p.fd, len);
	it_expect(p.fd, 1);
	it_join(&p, "peer");
	CHECK_OK(xpmem_remove(seg));
	munmap(buf, len);

	bad = fi_print("fail-nth: every allocation of each call failed once "
		       "(points = allocations reached)", N_NR, 1);
	return bad ? 1 : 0;
}

/* --- random ---------------------------------------------------------------- */

enum {
	R_MMAP, R_MAKE, R_GET, R_ATTACH, R_TOUCH, R_DETACH, R_RELEASE,
	R_REMOVE, R_FORK, R_PGET, R_PATTACH, R_PTOUCH, R_PDETACH, R_PRELEASE,
	R_EXIT_TOUCH, R_NR
};

static const char *const rnd_ops[R_NR] = {
	"mmap", "make", "get", "attach", "touch", "detach", "release",
	"remove", "fork", "peer_get", "peer_attach", "peer_touch",
	"peer_detach", "peer_release", "after_exit",
};

static int mif_fd = -1;

static void make_it_fail(int on)
{
	int i;

	for (i = 0; i < 1000; i++)
		if (pwrite(mif_fd, on ? "1" : "0", 1, 0) == 1)
			return;
	_exit(3);
}

/*
 * fork() with injection off: at 10-30 % per allocation a fork (hundreds of
 * allocations) never succeeds, and fork is not what is tested.  The child
 * turns injection on for itself again, through its own make-it-fail.
 */
static pid_t fork_clean(void)
{
	pid_t pid;

	make_it_fail(0);
	pid = fork();
	if (pid == 0) {
		mif_fd = open("/proc/self/make-it-fail", O_WRONLY | O_CLOEXEC);
		if (mif_fd < 0)
			_exit(4);
	}
	make_it_fail(1);
	return pid;
}

/* A peer: get, attach, read the owner's pattern, detach, release. */
static int peer_cycle(xpmem_segid_t seg, size_t len, uint64_t seed,
		      char **keep, xpmem_apid_t *keep_ap)
{
	struct xpmem_addr a;
	xpmem_apid_t ap;
	uint64_t tmp[8];
	char *p;
	int sig, ok = 0;

	ap = xpmem_get(seg, XPMEM_RDWR, XPMEM_PERMIT_MODE, NULL);
	if (ap <= 0) {
		fi_count_errno(R_PGET, errno, 0);
		return -1;
	}
	fi_count(R_PGET, FO_OK);
	a.apid = ap;
	a.offset = 0;
	p = xpmem_attach(a, len, NULL);
	if (p == (void *)-1) {
		fi_count_errno(R_PATTACH, errno, 0);
		goto release;
	}
	fi_count(R_PATTACH, FO_OK);
	sig = it_probe_copy(tmp, p, sizeof(tmp));
	if (sig) {
		fi_count_sig(R_PTOUCH, sig);
	} else if (it_verify(tmp, sizeof(tmp), seed) >= 0) {
		fi_count(R_PTOUCH, FO_BAD);
		fi_bad("peer read %#llx through the attachment, owner wrote %#llx",
		       (unsigned long long)tmp[0],
		       (unsigned long long)it_pat(seed, 0));
	} else {
		fi_count(R_PTOUCH, FO_OK);
		ok = 1;
	}
	if (keep) {
		*keep = p;
		*keep_ap = ap;
		return ok ? 0 : -1;
	}
	if (xpmem_detach(p) != 0)
		fi_count_errno(R_PDETACH, errno, 0);	/* exit cleans up */
	else
		fi_count(R_PDETACH, FO_OK);
release:
	if (xpmem_release(ap) != 0)
		fi_count_errno(R_PRELEASE, errno, 0);
	else
		fi_count(R_PRELEASE, FO_OK);
	return ok ? 0 : -1;
}

/* Fork a peer running peer_cycle(); returns its pid or -1 (counted). */
static pid_t fork_peer(xpmem_segid_t seg, size_t len, uint64_t seed)
{
	pid_t pid = fork_clean();

	if (pid < 0) {
		fi_count_errno(R_FORK, errno, 0);
		return -1;
	}
	fi_count(R_FORK, FO_OK);
	if (pid == 0) {
		peer_cycle(seg, len, seed, NULL, NULL);
		_exit(0);
	}
	return pid;
}

static void reap_peer(pid_t pid)
{
	int st = fi_wait_timeout(pid, 120000);

	if (st == -1) {
		fi_bad("peer %d did not exit within 120 s", (int)pid);
		kill(pid, SIGKILL);
		fi_wait_timeout(pid, 60000);
	} else if (st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL) {
		fi_bad("peer %d killed by signal %d", (int)pid, WTERMSIG(st));
	} else if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st)) {
		fi_bad("peer %d exited with %d", (int)pid, WEXITSTATUS(st));
	}
}

/* The peer of the owner-exit case: attached when the owner dies. */
static void exit_peer(xpmem_segid_t seg, size_t len, uint64_t seed, pid_t owner)
{
	xpmem_apid_t ap = 0;
	char *p = NULL;
	uint64_t w;
	int sig, i;

	if (peer_cycle(seg, len, seed, &p, &ap) < 0 || !p) {
		fi->flag[1] = 2;	/* could not attach: nothing to test */
		_exit(0);
	}
	fi->flag[1] = 1;
	/* wait until the owner is gone (reparented to the subreaper) */
	for (i = 0; i < 6000 && getppid() == owner; i++)
		it_msleep(10);
	sig = it_probe_copy(&w, p, sizeof(w));
	if (sig == SIGBUS) {
		fi_count(R_EXIT_TOUCH, FO_SIGBUS);
	} else if (sig) {
		fi_count_sig(R_EXIT_TOUCH, sig);
	} else {
		fi_count(R_EXIT_TOUCH, FO_BAD);
		fi_bad("peer read %#llx from an attachment after the owner "
		       "exited (want SIGBUS)", (unsigned long long)w);
	}
	if (xpmem_detach(p) != 0)
		fi_count_errno(R_PDETACH, errno, 0);
	else
		fi_count(R_PDETACH, FO_OK);
	if (xpmem_release(ap) != 0)
		fi_count_errno(R_PRELEASE, errno, 1);
	else
		fi_count(R_PRELEASE, FO_OK);
	_exit(0);
}

/* One round, in a child: loops under injection, then the owner exits. */
static void round_child(int round, int iters)
{
	size_t len = 8 * PG;
	uint64_t seed;
	int i;

	alarm(300);
	mif_fd = open("/proc/self/make-it-fail", O_WRONLY | O_CLOEXEC);
	if (mif_fd < 0)
		_exit(4);
	make_it_fail(1);
	for (i = 0; i < iters; i++) {
		xpmem_segid_t seg;
		xpmem_apid_t ap;
		struct xpmem_addr a;
		char *buf, *p;
		pid_t peer = -1;
		int sig;

		seed = (uint64_t)round << 32 | i;
		buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (buf == MAP_FAILED) {
			fi_count_errno(R_MMAP, errno, 0);
			continue;
		}
		fi_count(R_MMAP, FO_OK);
		seg = xpmem_make(buf, len, XPMEM_PERMIT_MODE, (void *)0666);
		if (seg <= 0) {
			fi_count_errno(R_MAKE, errno, 0);
			goto unmap;
		}
		fi_count(R_MAKE, FO_OK);
		ap = xpmem_get(seg, XPMEM_RDWR, XPMEM_PERMIT_MODE, NULL);
		if (ap <= 0) {
			fi_count_errno(R_GET, errno, 0);
			goto remove;
		}
		fi_count(R_GET, FO_OK);
		a.apid = ap;
		a.offset = 0;
		p = xpmem_attach(a, len, NULL);
		if (p == (void *)-1) {
			fi_count_errno(R_ATTACH, errno, 0);
			goto release;
		}
		fi_count(R_ATTACH, FO_OK);
		/* write the pattern through the attachment, check the owner */
		{
			uint64_t pat[8];
			size_t k;

			for (k = 0; k < 8; k++)
				pat[k] = it_pat(seed, k * 8);
			sig = it_probe_copy(p, pat, sizeof(pat));
		}
		if (sig)
			fi_count_sig(R_TOUCH, sig);
		else if (it_verify(buf, 64, seed) >= 0) {
			fi_count(R_TOUCH, FO_BAD);
			fi_bad("owner sees %#llx, wrote %#llx through its attachment",
			       (unsigned long long)*(uint64_t *)buf,
			       (unsigned long long)it_pat(seed, 0));
		} else {
			fi_count(R_TOUCH, FO_OK);
		}
		if (!sig && i % 4 == 0)
			peer = fork_peer(seg, len, seed);
		if (peer > 0)
			reap_peer(peer);
		if (xpmem_detach(p) != 0)
			fi_count_errno(R_DETACH, errno, 0);
		else
			fi_count(R_DETACH, FO_OK);
release:
		if (xpmem_release(ap) != 0)
			fi_count_errno(R_RELEASE, errno, 0);
		else
			fi_count(R_RELEASE, FO_OK);
remove:
		if (xpmem_remove(seg) != 0)
			fi_count_errno(R_REMOVE, errno, 0);
		else
			fi_count(R_REMOVE, FO_OK);
unmap:
		munmap(buf, len);
	}

	/* owner exit with a peer attached, still under injection */
	for (i = 0; i < 20; i++) {
		char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		xpmem_segid_t seg;
		pid_t peer;
		size_t k;

		if (buf == MAP_FAILED)
			continue;
		seed = (uint64_t)round << 32 | 0xffff;
		for (k = 0; k < 8; k++)
			((volatile uint64_t *)buf)[k] = it_pat(seed, k * 8);
		seg = xpmem_make(buf, len, XPMEM_PERMIT_MODE, (void *)0666);
		if (seg <= 0) {
			munmap(buf, len);
			continue;
		}
		fi->flag[1] = 0;
		peer = fork_clean();
		if (peer < 0) {
			xpmem_remove(seg);
			munmap(buf, len);
			continue;
		}
		if (peer == 0)
			exit_peer(seg, len, seed, getppid());
		while (!fi->flag[1])
			it_msleep(5);
		if (fi->flag[1] != 1) {
			reap_peer(peer);
			xpmem_remove(seg);
			munmap(buf, len);
			continue;
		}
		fi->flag[0] = 1;	/* parent: exit or kill me now */
		if (round & 1)
			_exit(0);	/* exit with segment and peer alive */
		for (;;)
			pause();	/* SIGKILLed by the parent */
	}
	fi->flag[0] = 2;	/* no peer could attach this round */
	_exit(0);
}

static int run_random(int rounds, int iters)
{
	int r, st, fail = 0;
	long bad;
	pid_t pid;

	fi_table_init(rnd_ops, R_NR);
	CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "subreaper");
	for (r = 0; r < rounds; r++) {
		fi->flag[0] = 0;
		fflush(NULL);
		pid = fork();
		CHECK(pid >= 0, "fork");
		if (pid == 0)
			round_child(r, iters);
		while (!fi->flag[0]) {	/* until it asks, or dies (not reaped) */
			siginfo_t si = { 0 };

			if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
			    si.si_pid == pid)
				break;
			it_msleep(20);
		}
		if (fi->flag[0] == 1 && !(r & 1))
			kill(pid, SIGKILL);
		st = fi_wait_timeout(pid, 300000);
		if (st == -1) {
			printf("  round %d: owner %d stuck (state %c)\n", r,
			       (int)pid, fi_proc_state(pid));
			fi_dump_stack(pid);
			kill(pid, SIGKILL);
			fail++;
		} else if (st >= 0 && WIFSIGNALED(st) &&
			   !(WTERMSIG(st) == SIGKILL && !(r & 1))) {
			printf("  round %d: owner killed by signal %d\n", r,
			       WTERMSIG(st));
			fail++;
		} else if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st)) {
			printf("  round %d: owner exited with %d\n", r,
			       WEXITSTATUS(st));
			fail++;
		}
		/* the orphaned peer comes to us */
		while ((pid = waitpid(-1, &st, 0)) > 0)
			if (WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL) {
				printf("  round %d: peer %d killed by signal %d\n",
				       r, (int)pid, WTERMSIG(st));
				fail++;
			}
	}
	bad = fi_print("random injection (failslab + fail_page_alloc, "
		       "make-it-fail): outcomes per call", R_NR, 0);
	if (fi_gauges_settle(10000, 1))	/* our own context */
		fail++;
	return bad || fail ? 1 : 0;
}

int main(int argc, char **argv)
{
	it_init("fi_ops");
	if (argc >= 2 && !strcmp(argv[1], "nth"))
		return run_nth();
	if (argc >= 2 && !strcmp(argv[1], "random"))
		return run_random(argc > 2 ? atoi(argv[2]) : 6,
				  argc > 3 ? atoi(argv[3]) : 40);
	fprintf(stderr, "usage: fi_ops nth | random [ROUNDS [ITERS]]\n");
	return 2;
}
