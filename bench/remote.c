// SPDX-License-Identifier: GPL-2.0
/*
 * bench_remote: cross-node figures between two guests (bench/guest-cross.sh).
 *
 *   bench_remote serve PORT         the attacher (node 1): gets, attaches,
 *                                   reads and syncs as told, times it and
 *                                   prints its figures
 *   bench_remote drive ADDR PORT    the owner (node 0): makes the
 *                                   segments, tells the attacher what to
 *                                   do, and times its own invalidations
 *   bench_remote sharers PORT ADDR...
 *                                   the owner of one page that 1, 2, 4
 *                                   and 7 attachers (one per node, each
 *                                   serving) hold: times its munmap
 *                                   (bench/guest-sharers.sh)
 *
 * The two talk over a TCP connection on the virtual network, one text
 * line per request and per answer.  Figures are JSON lines (bench.h) on
 * the stdout of the node that timed them.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <xpmem.h>

#include "bench.h"
#include "../tests/common/line_sock.h"

#define PAGE 4096UL

/* Additive checksum of 64-bit words: cheap enough not to hide a fetch. */
static uint64_t wsum(const void *p, size_t n)
{
	const volatile uint64_t *w = p;
	uint64_t s = 0;
	size_t i;

	for (i = 0; i < n / 8; i++)
		s += w[i];
	return s;
}

static int sync_range(void *p, size_t n, int flags)
{
	if (xpmem_sync(p, n, flags))
		bench_die("xpmem_sync");
	return 0;
}

/* ---- the attacher ---- */

static sigjmp_buf fault_jmp;
static volatile sig_atomic_t fault_armed;	/* fault_jmp is set */

/*
 * A fault the "touch" request guards is answered; one anywhere else (a
 * stream or latency loop whose owner was fenced) ends the servant with
 * a message, never a jump to a stale buffer.
 */
static void on_fault(int sig)
{
	static const char msg[] =
		"bench_remote: SIGBUS outside a guarded access (owner fenced?)\n";

	if (!fault_armed) {
		ssize_t r = write(2, msg, sizeof(msg) - 1);

		(void)r;	/* nothing more to do if stderr is gone */
		_exit(128 + sig);
	}
	siglongjmp(fault_jmp, sig);
}

static void *attach_seg(xpmem_segid_t segid, size_t size, int flags,
			xpmem_apid_t *apid)
{
	struct xpmem_addr xa = { .offset = 0 };
	void *p;

	*apid = xpmem_get(segid, flags, XPMEM_PERMIT_MODE, NULL);
	if (*apid < 0)
		bench_die("xpmem_get");
	xa.apid = *apid;
	p = xpmem_attach(xa, size, NULL);
	if (p == (void *)-1)
		bench_die("xpmem_attach");
	return p;
}

static void detach_seg(void *p, xpmem_apid_t apid)
{
	xpmem_detach(p);
	xpmem_release(apid);
}

static void set_readahead(long ra)
{
	char v[16];

	snprintf(v, sizeof(v), "%ld", ra);
	bench_param("remote_readahead", v);
}

/*
 * Streaming read: REPS times, drop every copy (acquire, untimed), then
 * time a memcpy of the whole attachment into a local buffer.  The fetch
 * window is RA pages (module parameter remote_readahead).
 */
static int serve_stream(xpmem_segid_t segid, size_t size, int reps, long ra,
			uint64_t want)
{
	struct bench_stats st = { 0 };
	long old = bench_param("remote_readahead", NULL), f0;
	unsigned char *dst = malloc(size);
	xpmem_apid_t apid;
	unsigned char *p;
	char name[32];
	int r, ok = 1;

	if (!dst)
		bench_die("malloc");
	memset(dst, 0, size);
	set_readahead(ra);
	p = attach_seg(segid, size, XPMEM_RDONLY, &apid);
	f0 = bench_counter("remote_fetches");
	for (r = 0; r < reps; r++) {
		double t0;

		sync_range(p, size, XPMEM_SYNC_ACQUIRE);
		t0 = bench_now();
		memcpy(dst, p, size);
		bench_add(&st, (double)size / (bench_now() - t0) / 1e6);
		ok &= wsum(dst, size) == want;
	}
	snprintf(name, sizeof(name), "stream_ra%ld", ra);
	bench_emit(name, size, "MB/s", &st, "fetches_per_pass",
		   (double)(bench_counter("remote_fetches") - f0) / reps,
		   "readahead", (double)ra, BENCH_END);
	detach_seg(p, apid);
	set_readahead(old);
	free(dst);
	return ok;
}

/* Time of one cold read of page 0 (acquire before, untimed). */
static double cold_read_us(volatile unsigned char *p, size_t drop)
{
	double t0;
	unsigned char v;

	sync_range((void *)p, drop, XPMEM_SYNC_ACQUIRE);
	t0 = bench_now();
	v = p[0];
	bench_clobber(&v);
	return (bench_now() - t0) * 1e6;
}

/*
 * Latencies on a 16-page RDWR attachment: cold fault with a 1-page and
 * a 16-page fetch window, acquire of clean copies, release with nothing
 * and with something to write back.
 */
static int serve_lat(xpmem_segid_t segid, int n)
{
	const size_t size = 16 * PAGE;
	long old = bench_param("remote_readahead", NULL), fetches;
	struct bench_stats f1 = { 0 }, f16 = { 0 }, acq1 = { 0 },
		acq16 = { 0 }, relc = { 0 }, reld1 = { 0 }, reld16 = { 0 };
	volatile unsigned char *p;
	xpmem_apid_t apid;
	size_t off;
	double t0;
	int i;

	p = attach_seg(segid, size, XPMEM_RDWR, &apid);
	set_readahead(1);
	cold_read_us(p, size);	/* warm the path */
	fetches = bench_counter("remote_fetches");
	for (i = 0; i < n; i++)
		bench_add(&f1, cold_read_us(p, PAGE));
	fetches = bench_counter("remote_fetches") - fetches;
	bench_emit("remote_fault_ra1", PAGE, "us", &f1, "fetches",
		   (double)fetches, BENCH_END);
	set_readahead(16);
	for (i = 0; i < n; i++)
		bench_add(&f16, cold_read_us(p, size));
	bench_emit("remote_fault_ra16", 16 * PAGE, "us", &f16, BENCH_END);

	for (i = 0; i < n; i++) {
		(void)p[0];
		t0 = bench_now();
		sync_range((void *)p, PAGE, XPMEM_SYNC_ACQUIRE);
		bench_add(&acq1, (bench_now() - t0) * 1e6);
	}
	bench_emit("sync_acquire_1page", PAGE, "us", &acq1, BENCH_END);
	for (i = 0; i < n; i++) {
		wsum((void *)p, size);
		t0 = bench_now();
		sync_range((void *)p, size, XPMEM_SYNC_ACQUIRE);
		bench_add(&acq16, (bench_now() - t0) * 1e6);
	}
	bench_emit("sync_acquire_16pages", size, "us", &acq16, BENCH_END);
	for (i = 0; i < n; i++) {
		(void)p[0];
		t0 = bench_now();
		sync_range((void *)p, size, XPMEM_SYNC_RELEASE);
		bench_add(&relc, (bench_now() - t0) * 1e6);
	}
	bench_emit("sync_release_clean", size, "us", &relc, BENCH_END);
	for (i = 0; i < n; i++) {
		p[8] = (unsigned char)i;	/* the twin is made here */
		t0 = bench_now();
		sync_range((void *)p, PAGE, XPMEM_SYNC_RELEASE);
		bench_add(&reld1, (bench_now() - t0) * 1e6);
	}
	bench_emit("sync_release_dirty_1page", PAGE, "us", &reld1, BENCH_END);
	for (i = 0; i < n; i++) {
		for (off = 0; off < size; off += PAGE)
			p[off + 8] = (unsigned char)i;
		t0 = bench_now();
		sync_range((void *)p, size, XPMEM_SYNC_RELEASE);
		bench_add(&reld16, (bench_now() - t0) * 1e6);
	}
	bench_emit("sync_release_dirty_16pages", size, "us", &reld16, BENCH_END);
	detach_seg((void *)p, apid);
	set_readahead(old);
	return 1;
}

static void serve_one(int fd, const char *req, xpmem_apid_t *apid, void **att)
{
	char op[16];
	uint64_t a = 0, b = 0, c = 0, d = 0, e = 0;
	volatile int sig;

	if (sscanf(req, "%15s %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64
		   " %" SCNx64, op, &a, &b, &c, &d, &e) < 1)
		op[0] = 0;
	if (!strcmp(op, "stream")) {
		line_send(fd, "%d", serve_stream((xpmem_segid_t)a, b, (int)c,
						 (long)d, e));
	} else if (!strcmp(op, "lat")) {
		line_send(fd, "%d", serve_lat((xpmem_segid_t)a, (int)b));
	} else if (!strcmp(op, "attach")) {
		*att = attach_seg((xpmem_segid_t)a, b, XPMEM_RDONLY, apid);
		line_send(fd, "1");
	} else if (!strcmp(op, "touch")) {
		/* reads the first byte of the attachment (fetching it) */
		sig = sigsetjmp(fault_jmp, 1);
		if (sig) {
			fault_armed = 0;
			line_send(fd, "SIG %d", sig);
		} else {
			int v;

			fault_armed = 1;
			v = *(volatile unsigned char *)*att;
			fault_armed = 0;
			line_send(fd, "%d", v);
		}
	} else if (!strcmp(op, "detach")) {
		detach_seg(*att, *apid);
		line_send(fd, "1");
	} else {
		line_send(fd, "? %s", op);
	}
}

static int cmd_serve(const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct sigaction act = { .sa_handler = on_fault };
	int lfd, fd, one = 1;
	xpmem_apid_t apid = -1;
	void *att = NULL;
	char req[256];

	sigaction(SIGBUS, &act, NULL);
	sa.sin_port = htons((uint16_t)atoi(port));
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one,
				  sizeof(one)) ||
	    bind(lfd, (void *)&sa, sizeof(sa)) || listen(lfd, 1))
		bench_die("listen");
	alarm(900);	/* never outlive a broken driver */
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		bench_die("accept");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while (!line_recv(fd, req, sizeof(req)) && strcmp(req, "quit"))
		serve_one(fd, req, &apid, &att);
	close(fd);
	close(lfd);
	return 0;
}

/* ---- the owner ---- */

static int sv = -1;
static char reply[256];

static const char *vrpc_to(int fd, const char *fmt, va_list ap)
{
	char buf[256];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (line_send(fd, "%s", buf) || line_recv(fd, reply, sizeof(reply)))
		bench_die("the attacher went away");
	return reply;
}

static __attribute__((format(printf, 1, 2))) const char *rpc(const char *fmt,
							    ...)
{
	const char *r;
	va_list ap;

	va_start(ap, fmt);
	r = vrpc_to(sv, fmt, ap);
	va_end(ap);
	return r;
}

static __attribute__((format(printf, 2, 3))) const char *
rpc_to(int fd, const char *fmt, ...)
{
	const char *r;
	va_list ap;

	va_start(ap, fmt);
	r = vrpc_to(fd, fmt, ap);
	va_end(ap);
	return r;
}

/* A TCP connection to the attacher at ADDR:PORT, tried for 2 minutes. */
static int connect_to(const char *addr, const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	double t0 = bench_now();
	int fd, one = 1;

	sa.sin_port = htons((uint16_t)atoi(port));
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		bench_die("address");
	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd >= 0 && !connect(fd, (void *)&sa, sizeof(sa)))
			break;
		if (fd >= 0)
			close(fd);
		if (bench_now() - t0 > 120)
			bench_die("the attacher does not answer");
		usleep(200000);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static unsigned char *owner_buffer(size_t size, unsigned int seed,
				   xpmem_segid_t *segid)
{
	unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t i;

	if (p == MAP_FAILED)
		bench_die("mmap");
	for (i = 0; i < size; i += 8)
		*(uint64_t *)(p + i) = i * 0x9e3779b97f4a7c15ULL + seed;
	*segid = xpmem_make(p, size, XPMEM_PERMIT_MODE, (void *)0600);
	if (*segid < 0)
		bench_die("xpmem_make");
	return p;
}

static int drive_stream(size_t size, int reps, long ra)
{
	xpmem_segid_t segid;
	unsigned char *p = owner_buffer(size, (unsigned int)ra, &segid);
	int ok = atoi(rpc("stream %llx %zx %x %lx %" PRIx64,
			  (long long)segid, size, reps, ra, wsum(p, size)));

	xpmem_remove(segid);
	munmap(p, size);
	if (!ok)
		fprintf(stderr, "bench: stream ra %ld read wrong data\n", ra);
	return ok;
}

/*
 * Invalidation round: the attacher holds a copy of the one page of a
 * segment; the owner's munmap of that page returns once the attacher
 * acknowledged the INVALIDATE.  The reference next to it is munmap of
 * the same page with no remote copy (the attacher has not read it again).
 */
static int drive_invalidate(int n)
{
	struct bench_stats inv = { 0 }, plain = { 0 };
	xpmem_segid_t segid;
	unsigned char *p = owner_buffer(PAGE, 5, &segid);
	int i, pass;

	rpc("attach %llx %lx", (long long)segid, PAGE);
	for (pass = 0; pass < 2; pass++) {
		long sent0 = bench_counter("remote_invalidates_sent");
		long acked0 = bench_counter("remote_invalidates_acked");
		long sent, acked;

		for (i = 0; i < n; i++) {
			double t0;

			p[0] = (unsigned char)(i + 1);
			if (pass == 0 && atoi(rpc("touch")) != i + 1)
				fprintf(stderr, "bench: attacher read %s, not %d\n",
					reply, i + 1);
			t0 = bench_now();
			if (munmap(p, PAGE))
				bench_die("munmap");
			bench_add(pass ? &plain : &inv,
				  (bench_now() - t0) * 1e6);
			if (mmap(p, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE |
				 MAP_ANONYMOUS | MAP_FIXED, -1, 0) != p)
				bench_die("mmap again");
		}
		sent = bench_counter("remote_invalidates_sent") - sent0;
		acked = bench_counter("remote_invalidates_acked") - acked0;
		if (pass == 0) {
			bench_emit("invalidation_munmap", PAGE, "us", &inv,
				   "invalidates_sent", (double)sent,
				   "invalidates_acked", (double)acked, BENCH_END);
		} else {
			bench_emit("munmap_no_remote_copy", PAGE, "us", &plain,
				   "invalidates_sent", (double)sent, BENCH_END);
		}
	}
	rpc("detach");
	xpmem_remove(segid);
	munmap(p, PAGE);
	return 1;
}

/*
 * Invalidation against the number of sharer nodes: the owner's munmap of
 * one page that K attachers on K nodes each read since the last round
 * (K = 1, 2, 4, 7), 30 rounds each, as drive_invalidate does for one.
 */
static int drive_sharers(int n, char **addrs, const char *port)
{
	static const int ks[] = { 1, 2, 4, 7 };
	int fds[7], i, k, r, ok = 1;
	xpmem_segid_t segid;
	unsigned char *p = owner_buffer(PAGE, 9, &segid);

	if (n < 1 || n > 7) {
		fprintf(stderr, "bench: 1 to 7 attachers, not %d\n", n);
		return 0;
	}
	for (i = 0; i < n; i++) {
		fds[i] = connect_to(addrs[i], port);
		rpc_to(fds[i], "attach %llx %lx", (long long)segid, PAGE);
	}
	for (k = 0; k < 4 && ks[k] <= n; k++) {
		struct bench_stats st = { 0 };
		long sent0 = bench_counter("remote_invalidates_sent");
		long acked0 = bench_counter("remote_invalidates_acked");
		char name[32];

		for (r = 0; r < 30; r++) {
			double t0;

			p[0] = (unsigned char)(r + 1);
			for (i = 0; i < ks[k]; i++)
				if (atoi(rpc_to(fds[i], "touch")) != r + 1) {
					fprintf(stderr, "bench: attacher %d read %s, not %d\n",
						i, reply, r + 1);
					ok = 0;
				}
			t0 = bench_now();
			if (munmap(p, PAGE))
				bench_die("munmap");
			bench_add(&st, (bench_now() - t0) * 1e6);
			if (mmap(p, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE |
				 MAP_ANONYMOUS | MAP_FIXED, -1, 0) != p)
				bench_die("mmap again");
		}
		snprintf(name, sizeof(name), "invalidation_sharers%d", ks[k]);
		bench_emit(name, PAGE, "us", &st, "sharers", (double)ks[k],
			   "invalidates_sent", (double)(bench_counter(
				"remote_invalidates_sent") - sent0),
			   "invalidates_acked", (double)(bench_counter(
				"remote_invalidates_acked") - acked0), BENCH_END);
	}
	for (i = 0; i < n; i++) {
		rpc_to(fds[i], "detach");
		line_send(fds[i], "quit");
		close(fds[i]);
	}
	xpmem_remove(segid);
	munmap(p, PAGE);
	return ok;
}

static int cmd_drive(const char *addr, const char *port)
{
	static const long ras[] = { 1, 2, 4, 8 };
	const char *only = getenv("BENCH_ONLY");
	int ok = 1;

	/* BENCH_ONLY=invalidate: that figure alone (for tracing it). */
	if (only && strcmp(only, "invalidate")) {
		fprintf(stderr, "bench: BENCH_ONLY=%s: only invalidate is known\n",
			only);
		return 2;
	}
	sv = connect_to(addr, port);

	if (!only) {
		xpmem_segid_t segid;
		unsigned char *p = owner_buffer(16 * PAGE, 3, &segid);

		ok &= atoi(rpc("lat %llx %x", (long long)segid, 50));
		xpmem_remove(segid);
		munmap(p, 16 * PAGE);
	}
	ok &= drive_invalidate(50);
	if (!only) {
		size_t i;

		ok &= drive_stream(64 * MIB, 3, 16);
		for (i = 0; i < sizeof(ras) / sizeof(ras[0]); i++)
			ok &= drive_stream(8 * MIB, 1, ras[i]);
	}
	line_send(sv, "quit");
	close(sv);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "serve"))
		return cmd_serve(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "drive"))
		return cmd_drive(argv[2], argv[3]);
	if (argc >= 4 && !strcmp(argv[1], "sharers"))
		return drive_sharers(argc - 3, argv + 3, argv[2]) ? 0 : 1;
	fprintf(stderr, "usage: bench_remote serve PORT | drive ADDR PORT | sharers PORT ADDR...\n");
	return 2;
}
