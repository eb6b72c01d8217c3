/*
 * xnode_fanout.c: cases of the parallel invalidation (issue 15, item 6).
 *
 *   fanout_coalesced   a node holding 4 attachments of a range gets one
 *                      INVALIDATE for it, not 4
 *   fanout_time        invalidation time: 4 attachments on one node
 *                      against 1 (and every sharer node against one: a
 *                      figure)
 *   fanout_credits     two owners, each invalidating (mprotect over 8
 *                      PUDs: one invalidation per PUD) while the other's
 *                      FETCHes fill its receive ring: neither may fence
 *                      the other (INVALIDATE has reserved credits)
 *   fanout_fair        more FETCHing threads than credits: each is served
 *                      in its turn, none times out (and fences)
 *   fanout_silent_nodes  every sharer node silent at once (tc drops its
 *                      RoCE packets): one net_timeout_ms in all
 *   fanout_stuck_owner an owner whose mmap_lock waits for a silent node
 *                      longer than an attacher's net_timeout_ms: that
 *                      attacher waits (the owner answers PINGs), no fence
 *
 * Servant requests (serve_fanout): fansparse, fanfetch, fanwait, fanmprot,
 * fanpeer.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xpmem.h>

#include "../common/line_sock.h"
#include "xnode.h"

#define GIB (1024 * MIB)
#define PAGE 4096UL

/* ---- both sides: a sparse segment, fetcher threads, mprotect ---- */

/* Sparse segments: 8 GiB (8 PUDs), 128 pages populated at each GiB. */
#define SPARSE_PUDS	8
#define SPARSE_SIZE	(SPARSE_PUDS * GIB)
#define SPARSE_PAGES	128

/* Makes a sparse segment; returns its segid, its address in *addr. */
static xpmem_segid_t sparse_make(uintptr_t *addr)
{
	unsigned char *p = mmap(NULL, SPARSE_SIZE + GIB, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				-1, 0);
	uintptr_t a;
	size_t g, i;

	if (p == MAP_FAILED)
		return -1;
	/* GiB aligned: mprotect invalidates once per PUD. */
	a = ((uintptr_t)p + GIB - 1) & ~(GIB - 1);
	for (g = 0; g < SPARSE_PUDS; g++)
		for (i = 0; i < SPARSE_PAGES; i++)
			((unsigned char *)a)[g * GIB + i * PAGE] =
				(unsigned char)(g + i);
	*addr = a;
	return xpmem_make((void *)a, SPARSE_SIZE, XPMEM_PERMIT_MODE,
			  (void *)0666);
}

/*
 * mprotect read-only and back, 3 times: the longest single call in
 * seconds (one stuck INVALIDATE makes it a whole net_timeout_ms), or -1.
 */
static double sparse_mprotect(uintptr_t addr)
{
	double max = 0;
	int i;

	for (i = 0; i < 6; i++) {
		double t0 = now_s();

		if (mprotect((void *)addr, SPARSE_SIZE,
			     i % 2 ? PROT_READ | PROT_WRITE : PROT_READ))
			return -1;
		if (now_s() - t0 > max)
			max = now_s() - t0;
	}
	return max;
}

#define FETCHERS	32
#define FETCH_SLICE	16	/* pages each thread acquires and reads */

struct fetcher {
	pthread_t th;
	uintptr_t base;		/* its slice */
	double until;
	long rounds, sigs;
};

static __thread sigjmp_buf fetch_jmp;

static void fetch_fault(int sig)
{
	siglongjmp(fetch_jmp, sig);
}

/* Acquire and read a slice of an attachment, over and over. */
static void *fetch_loop(void *arg)
{
	struct fetcher *f = arg;
	volatile unsigned long i;

	while (now_s() < f->until) {
		if (sigsetjmp(fetch_jmp, 1)) {
			f->sigs++;
			usleep(10000);
			continue;
		}
		xpmem_sync((void *)f->base, FETCH_SLICE * PAGE,
			   XPMEM_SYNC_ACQUIRE);
		for (i = 0; i < FETCH_SLICE; i++)
			(void)*(volatile unsigned char *)(f->base + i * PAGE);
		f->rounds++;
	}
	return NULL;
}

/*
 * A child process attaches @segid (a sparse segment of another node) and
 * runs FETCHERS threads for @secs, each on its own slice (spread over
 * the 8 GiB); writes "ROUNDS SIGBUS" to @fd at the end.
 */
static void fetch_child(xpmem_segid_t segid, double secs, int fd)
{
	struct sigaction act = { .sa_handler = fetch_fault };
	static struct fetcher f[FETCHERS];
	struct xpmem_addr xa;
	long rounds = 0, sigs = 0;
	uintptr_t base;
	int t;

	sigaction(SIGBUS, &act, NULL);
	sigaction(SIGSEGV, &act, NULL);
	xa.apid = xpmem_get(segid, XPMEM_RDONLY, XPMEM_PERMIT_MODE, NULL);
	xa.offset = 0;
	base = xa.apid < 0 ? (uintptr_t)-1 :
	       (uintptr_t)xpmem_attach(xa, SPARSE_SIZE, NULL);
	if (base == (uintptr_t)-1) {
		dprintf(fd, "-1 -1\n");
		_exit(1);
	}
	for (t = 0; t < FETCHERS; t++) {
		f[t].base = base + (size_t)(t % SPARSE_PUDS) * GIB +
			    (size_t)(t / SPARSE_PUDS) * FETCH_SLICE * PAGE;
		f[t].until = now_s() + secs;
		if (pthread_create(&f[t].th, NULL, fetch_loop, &f[t]))
			_exit(1);
	}
	for (t = 0; t < FETCHERS; t++) {
		pthread_join(f[t].th, NULL);
		rounds += f[t].rounds;
		sigs += f[t].sigs;
	}
	xpmem_detach((void *)base);
	xpmem_release(xa.apid);
	dprintf(fd, "%ld %ld\n", rounds, sigs);
	_exit(0);
}

/* Starts fetch_child; the read end of its pipe in *rfd. */
static pid_t fetch_start(xpmem_segid_t segid, double secs, int *rfd)
{
	int pfd[2];
	pid_t pid;

	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		fetch_child(segid, secs, pfd[1]);
	}
	close(pfd[1]);
	*rfd = pfd[0];
	return pid;
}

/* Waits for a fetch_child: its rounds and SIGBUS count, or -1. */
static int fetch_wait(pid_t pid, int rfd, long *rounds, long *sigs)
{
	char line[64] = "";
	ssize_t r = read(rfd, line, sizeof(line) - 1);
	int status;

	close(rfd);
	waitpid(pid, &status, 0);
	if (r <= 0 || sscanf(line, "%ld %ld", rounds, sigs) != 2)
		return -1;
	return *rounds < 0 ? -1 : 0;
}

/* ---- servant ---- */

static pid_t serve_fetch_pid = -1;
static int serve_fetch_fd = -1;

int serve_fanout(int fd, const char *op, char *req, const uint64_t arg[4])
{
	char field[32];

	(void)req;
	if (!strcmp(op, "fansparse")) {
		uintptr_t addr = 0;
		xpmem_segid_t segid = sparse_make(&addr);

		line_send(fd, "%llx %" PRIxPTR, (long long)segid, addr);
	} else if (!strcmp(op, "fanfetch")) {
		/* segid a, for b seconds, in a child: answers at once */
		serve_fetch_pid = fetch_start((xpmem_segid_t)arg[0],
					      (double)arg[1], &serve_fetch_fd);
		line_send(fd, "%d", (int)serve_fetch_pid);
	} else if (!strcmp(op, "fanwait")) {
		long rounds = -1, sigs = -1;

		if (serve_fetch_pid > 0)
			fetch_wait(serve_fetch_pid, serve_fetch_fd, &rounds,
				   &sigs);
		serve_fetch_pid = -1;
		line_send(fd, "%ld %ld", rounds, sigs);
	} else if (!strcmp(op, "fanmprot")) {
		line_send(fd, "%.6f", sparse_mprotect((uintptr_t)arg[0]));
	} else if (!strcmp(op, "fanpeer")) {
		/* node a's field of /proc/xpmem/peers */
		if (sscanf(req, "%*s %*x %31s", field) != 1)
			field[0] = 0;
		line_send(fd, "%ld", peer_field((int)arg[0], field));
	} else if (!strcmp(op, "fanunmap")) {
		/* the segment at a is done: remove b, unmap */
		xpmem_remove((xpmem_segid_t)arg[1]);
		munmap((void *)(uintptr_t)arg[0], SPARSE_SIZE);
		line_send(fd, "0");
	} else {
		return 0;
	}
	return 1;
}

/* ---- driver ---- */

#define NUMA_BALANCING "/proc/sys/kernel/numa_balancing"

/*
 * One node holds 4 attachments of the range: it gets one INVALIDATE
 * naming all 4 (protocol 4), not one per attachment; every copy is gone
 * after it (reads see the owner's new data).
 */
static void case_fanout_coalesced(struct servant **sv, int nsv)
{
	size_t size = 16 * PAGE;
	unsigned char *buf = owner_buffer(size, 41);
	xpmem_segid_t segid = xpmem_make(buf, size, XPMEM_PERMIT_MODE,
					 (void *)0666);
	struct remote_att ra[4][4];
	long sent0, acked0, recv0[4], sent, acked, numa;
	int i, j, ok = segid > 0;
	uint64_t sum;
	double secs;

	for (i = 0; ok && i < nsv; i++)
		for (j = 0; ok && j < 4; j++)
			ok = !remote_attach(sv[i], segid, XPMEM_RDONLY, 0, size,
					    &ra[i][j]) &&
			     !remote_sum(sv[i], ra[i][j].addr, size, &sum,
					 &secs);
	result(ok, "fanout_coalesced_setup", "%d node(s), 4 attachments each",
	       nsv);
	if (!ok)
		return;
	/*
	 * NUMA balancing (the guests are NUMA: numa=fake=2) changes the
	 * owner's protections now and then, and each change invalidates:
	 * the likely cause of a 6.12 failure (0 sent here, 1 received
	 * there: one came between the snapshots).  Off for the count.
	 */
	numa = file_get(NUMA_BALANCING);
	if (numa > 0)
		file_set(NUMA_BALANCING, 0);
	for (i = 0; i < nsv; i++)
		recv0[i] = rpc_counter(sv[i], "remote_invalidates_received");
	sent0 = counter("remote_invalidates_sent");
	acked0 = counter("remote_invalidates_acked");
	madvise(buf, size, MADV_DONTNEED);
	sent = counter("remote_invalidates_sent") - sent0;
	acked = counter("remote_invalidates_acked") - acked0;
	if (numa > 0)
		file_set(NUMA_BALANCING, numa);
	result(sent == nsv && acked == sent, "fanout_one_message_per_node",
	       "%ld INVALIDATE sent, %ld acked for %d node(s) holding 4 attachments each (one per node expected)",
	       sent, acked, nsv);
	for (i = 0; i < nsv; i++) {
		long recv = rpc_counter(sv[i], "remote_invalidates_received") -
			    recv0[i];

		ok = recv == 1;
		for (j = 0; j < 4; j++)
			ok &= !remote_sum(sv[i], ra[i][j].addr, size, &sum,
					  &secs) && sum == checksum(buf, size);
		result(ok, "fanout_coalesced_all_dropped",
		       "node %d received %ld INVALIDATE, all 4 attachments read the owner's new data",
		       i + 2, recv);
		for (j = 0; j < 4; j++)
			remote_detach(sv[i], &ra[i][j]);
	}
	xpmem_remove(segid);
	munmap(buf, size);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* A segment whose copies @nsv nodes hold through @natt attachments each. */
struct inval_cfg {
	int nsv, natt;
	size_t size;
	unsigned char *buf;
	xpmem_segid_t segid;
	struct remote_att ra[4][4];
	double t[32];
};

static int inval_setup(struct inval_cfg *c, struct servant **sv)
{
	int i, j;

	c->size = 4 * PAGE;
	c->buf = owner_buffer(c->size, 43);
	c->segid = xpmem_make(c->buf, c->size, XPMEM_PERMIT_MODE,
			      (void *)0666);
	if (c->segid <= 0)
		return -1;
	for (i = 0; i < c->nsv; i++)
		for (j = 0; j < c->natt; j++)
			if (remote_attach(sv[i], c->segid, XPMEM_RDONLY, 0,
					  c->size, &c->ra[i][j]))
				return -1;
	return 0;
}

/* Every attachment reads the segment, then the owner invalidates it. */
static int inval_round(struct inval_cfg *c, struct servant **sv, int r)
{
	double secs;
	uint64_t sum;
	int i, j;

	for (i = 0; i < c->nsv; i++)
		for (j = 0; j < c->natt; j++)
			if (remote_sum(sv[i], c->ra[i][j].addr, c->size, &sum,
				       &secs) || sum != checksum(c->buf, c->size))
				return -1;
	c->buf[0] = (unsigned char)r;	/* populate again */
	c->buf[PAGE] = (unsigned char)r;
	secs = now_s();
	madvise(c->buf, c->size, MADV_DONTNEED);
	c->t[r] = now_s() - secs;
	return 0;
}

static double inval_done(struct inval_cfg *c, struct servant **sv, int rounds)
{
	int i, j;

	for (i = 0; i < c->nsv; i++)
		for (j = 0; j < c->natt; j++)
			remote_detach(sv[i], &c->ra[i][j]);
	xpmem_remove(c->segid);
	munmap(c->buf, c->size);
	qsort(c->t, (size_t)rounds, sizeof(c->t[0]), cmp_double);
	return c->t[rounds / 2];
}

/*
 * Invalidation time (median of rounds, the configurations interleaved so
 * that a change of the host's load hits them alike): one node with 1
 * attachment, one node with 4, every node with 4.  Coalesced and sent in
 * parallel, 4 attachments cost one round trip, and more sharer nodes
 * about one.
 */
static void case_fanout_time(struct servant **sv, int nsv)
{
	struct inval_cfg c[3] = { { .nsv = 1, .natt = 1 },
				  { .nsv = 1, .natt = 4 },
				  { .nsv = nsv, .natt = 4 } };
	int rounds = getenv("XNODE_QUICK") ? 9 : 15, ncfg = nsv > 1 ? 3 : 2;
	int i, r, ok = 1;
	double med[3];

	for (i = 0; ok && i < ncfg; i++)
		ok = !inval_setup(&c[i], sv);
	for (r = 0; ok && r < rounds; r++)
		for (i = 0; ok && i < ncfg; i++)
			ok = !inval_round(&c[i], sv, r);
	for (i = 0; i < ncfg; i++)
		med[i] = inval_done(&c[i], sv, ok ? rounds : 1);
	result(ok, "fanout_time_reads", "%d rounds, every read current",
	       rounds);
	if (!ok)
		return;
	printf("# figure inval_1node_1att_us %.0f\n", med[0] * 1e6);
	printf("# figure inval_1node_4att_us %.0f\n", med[1] * 1e6);
	/* one at a time would cost ~4x; a loaded host adds noise to 1x */
	result(med[1] <= 2.5 * med[0], "fanout_attachments_one_round_trip",
	       "1 node: 4 attachments %.0f us, 1 attachment %.0f us (%.2fx, at most 2.5x)",
	       med[1] * 1e6, med[0] * 1e6, med[1] / med[0]);
	if (nsv < 2)
		return;
	/*
	 * A figure, not a pass/fail: 3 TCG guests on 2 shared host cores do
	 * not process in parallel what is sent in parallel.  That the acks
	 * are awaited together is fanout_silent_nodes' check.
	 */
	printf("# figure inval_%dnodes_4att_us %.0f\n", nsv, med[2] * 1e6);
	printf("# figure inval_%dnodes_vs_1node %.2f\n", nsv, med[2] / med[1]);
}

/*
 * Every sharer node falls silent at once (its RoCE packets dropped on the
 * way out, tc): the invalidation sends to all of them before it waits,
 * so it costs one net_timeout_ms in all, not one per node (each node
 * holds 2 attachments).  Each node is fenced.  Then they speak again.
 */
static void case_fanout_silent_nodes(struct servant **sv, int nsv)
{
	size_t size = 4 * PAGE;
	unsigned char *buf = owner_buffer(size, 47);
	xpmem_segid_t segid = xpmem_make(buf, size, XPMEM_PERMIT_MODE,
					 (void *)0666);
	long saved = net_timeout_ms(), timeout_ms = 2000, fences0[4];
	struct remote_att ra[4][2];
	int i, j, ok = segid > 0, fenced = 0;
	double secs, t0;
	uint64_t sum;

	for (i = 0; ok && i < nsv; i++)
		for (j = 0; ok && j < 2; j++)
			ok = !remote_attach(sv[i], segid, XPMEM_RDONLY, 0, size,
					    &ra[i][j]) &&
			     !remote_sum(sv[i], ra[i][j].addr, size, &sum,
					 &secs);
	for (i = 0; ok && i < nsv; i++) {
		fences0[i] = peer_field(i + 2, "fences");
		ok = !strcmp(rpc(sv[i], "sh " TC_SILENT), "0");
	}
	result(ok, "fanout_silent_setup",
	       "%d nodes holding 2 attachments each, silenced with tc", nsv);
	param_set("net_timeout_ms", timeout_ms);
	t0 = now_s();
	if (ok)
		madvise(buf, size, MADV_DONTNEED);
	secs = now_s() - t0;
	param_set("net_timeout_ms", saved);
	for (i = 0; i < nsv; i++) {
		rpc(sv[i], "sh " TC_VOCAL);
		fenced += peer_field(i + 2, "fences") > fences0[i];
	}
	if (ok) {
		printf("# figure inval_%d_silent_nodes_s %.2f\n", nsv, secs);
		result(secs < 1.5 * timeout_ms / 1000.0 && fenced == nsv,
		       "fanout_silent_nodes_one_timeout",
		       "%d silent nodes: MADV_DONTNEED returned after %.2f s (net_timeout_ms %ld, at most 1.5x), %d fenced",
		       nsv, secs, timeout_ms, fenced);
	}
	for (i = 0; i < nsv; i++)
		for (j = 0; j < 2; j++)
			remote_detach(sv[i], &ra[i][j]);
	xpmem_remove(segid);
	munmap(buf, size);
	counter_settle("remote_attachments", 0, 10);
}

struct mprot_hold {
	void *addr;
	size_t size;
	double secs;
};

/* mprotect(PROT_NONE) of the whole range, then back; how long the first took. */
static void *mprotect_hold(void *arg)
{
	struct mprot_hold *m = arg;
	double t0 = now_s();

	m->secs = mprotect(m->addr, m->size, PROT_NONE) ? -1 : now_s() - t0;
	mprotect(m->addr, m->size, PROT_READ | PROT_WRITE);
	return NULL;
}

/*
 * An owner that is stuck, not dead, is not fenced: node 3 holds a copy
 * of segment A and is silenced; our mprotect of A holds our mmap_lock
 * while its INVALIDATE waits our net_timeout_ms (6 s) for node 3.  Node
 * 2, with net_timeout_ms 2 s, reads a cold page of segment B meanwhile:
 * its FETCH waits for our mmap_lock longer than its timeout.  Only our
 * PINGs are answered (no handler waits for them): node 2 must wait, not
 * fence us and SIGBUS.  Before the liveness probe it fenced us at 2 s.
 */
static void case_fanout_stuck_owner(struct servant **sv)
{
	size_t size = 4 * PAGE, bsize = 16 * PAGE;
	unsigned char *a = owner_buffer(size, 51), *b = owner_buffer(bsize, 52);
	xpmem_segid_t sa = xpmem_make(a, size, XPMEM_PERMIT_MODE, (void *)0666);
	xpmem_segid_t sb = xpmem_make(b, bsize, XPMEM_PERMIT_MODE, (void *)0666);
	long saved = net_timeout_ms(), rfences0, rfences, fences3;
	struct mprot_hold m = { .addr = a, .size = size };
	struct remote_att ra, rb;
	double secs = -1;
	uint64_t sum = 0;
	pthread_t th;
	int ok, read_ok;

	ok = sa > 0 && sb > 0 &&
	     !remote_attach(sv[1], sa, XPMEM_RDONLY, 0, size, &ra) &&
	     !remote_sum(sv[1], ra.addr, size, &sum, &secs) &&
	     !remote_attach(sv[0], sb, XPMEM_RDONLY, 0, bsize, &rb);
	rfences0 = strtol(rpc(sv[0], "fanpeer 1 fences"), NULL, 10);
	fences3 = peer_field(3, "fences");
	ok = ok && !strcmp(rpc(sv[1], "sh " TC_SILENT), "0");
	result(ok, "fanout_stuck_owner_setup",
	       "node 3 holds a copy of A and is silenced, node 2 attached B");
	if (!ok)
		goto out;
	param_set("net_timeout_ms", 6000);
	servant_param_set(sv[0], "net_timeout_ms", 2000);
	pthread_create(&th, NULL, mprotect_hold, &m);
	usleep(500000);		/* the mprotect waits for node 3 */
	read_ok = !remote_sum(sv[0], rb.addr, PAGE, &sum, &secs);
	pthread_join(th, NULL);
	servant_param_set(sv[0], "net_timeout_ms", saved);
	param_set("net_timeout_ms", saved);
	rpc(sv[1], "sh " TC_VOCAL);
	rfences = strtol(rpc(sv[0], "fanpeer 1 fences"), NULL, 10);
	result(read_ok && rfences == rfences0 && m.secs >= 4 &&
	       peer_field(3, "fences") > fences3, "fanout_stuck_owner_not_fenced",
	       "owner's mprotect waited %.2f s for silent node 3 (fenced %ld -> %ld); node 2 (net_timeout_ms 2000) read a cold page: %s after %.2f s, fences of node 1 there %ld -> %ld",
	       m.secs, fences3, peer_field(3, "fences"),
	       read_ok ? "ok" : "SIGBUS or error", secs, rfences0, rfences);
	remote_detach(sv[0], &rb);
out:
	remote_detach(sv[1], &ra);
	xpmem_remove(sa);
	xpmem_remove(sb);
	munmap(a, size);
	munmap(b, bsize);
	counter_settle("remote_attachments", 0, 10);
}

#define DELAY_INVAL "/sys/kernel/debug/xpmem/delay_invalidate_ms"

/*
 * A sharer alive but stuck: its INVALIDATE handler is held 3.5 s (the
 * debug kernel's delay_invalidate_ms) while the owner's batch waits with
 * a 2 s net_timeout_ms.  The sharer answers the batch's PINGs, so the
 * owner waits on (up to 4 timeouts) instead of fencing it; the ack then
 * lands and the sharer's next read sees the owner's new data.
 */
static void case_fanout_stuck_sharer(struct servant *s)
{
	size_t size = 4 * PAGE;
	unsigned char *buf;
	xpmem_segid_t segid;
	long saved = net_timeout_ms(), fences0 = peer_field(2, "fences");
	double secs = -1, t0, inval = -1;
	struct remote_att ra;
	uint64_t sum = 0, zeros;
	int ok;

	if (strtol(rpc(s, "file " DELAY_INVAL), NULL, 10) < 0) {
		printf("# skip fanout_stuck_sharer: no " DELAY_INVAL " on node 2 (the debug kernel has it)\n");
		return;
	}
	buf = owner_buffer(size, 53);
	segid = xpmem_make(buf, size, XPMEM_PERMIT_MODE, (void *)0600);
	ok = segid > 0 && !remote_attach(s, segid, XPMEM_RDONLY, 0, size, &ra);
	ok = ok && !remote_sum(s, ra.addr, PAGE, &sum, &secs) &&
	     sum == checksum(buf, PAGE);
	result(ok, "fanout_stuck_sharer_setup", "node 2 holds a copy of page 0");
	if (!ok)
		goto out;
	ok = !strcmp(rpc(s, "sh echo 3500 > " DELAY_INVAL), "0") &&
	     !param_set("net_timeout_ms", 2000);
	t0 = now_s();
	if (ok && !madvise(buf, PAGE, MADV_DONTNEED))
		inval = now_s() - t0;
	param_set("net_timeout_ms", saved);
	zeros = checksum((unsigned char[PAGE]){ 0 }, PAGE);
	ok = ok && inval >= 3 && !remote_sum(s, ra.addr, PAGE, &sum, &secs) &&
	     sum == zeros;
	result(ok && peer_field(2, "fences") == fences0,
	       "fanout_stuck_sharer_not_fenced",
	       "owner's MADV_DONTNEED (net_timeout_ms 2000) waited %.2f s for node 2, whose INVALIDATE handler was held 3.5 s; node 2 then read %s; fences of node 2 %ld -> %ld",
	       inval, ok ? "the owner's zeros" : "OLD DATA, SIGBUS or an error",
	       fences0, peer_field(2, "fences"));
	remote_detach(s, &ra);
out:
	rpc(s, "sh echo 0 > " DELAY_INVAL);
	if (segid > 0)
		xpmem_remove(segid);
	munmap(buf, size);
}

/*
 * This host's invalidation round trip to sv[0] (median of 5, one
 * attachment), in seconds, or -1: the scale of the bounds below.
 */
static double inval_rtt(struct servant **sv)
{
	struct inval_cfg c = { .nsv = 1, .natt = 1 };
	int r;

	if (inval_setup(&c, sv))
		return -1;
	for (r = 0; r < 5 && !inval_round(&c, sv, r); r++)
		;
	return inval_done(&c, sv, r == 5 ? 5 : 1);
}

struct mprot_arg {
	struct servant *s;
	uintptr_t addr;
	double secs;
};

static void *remote_mprotect(void *arg)
{
	struct mprot_arg *m = arg;

	m->secs = strtod(rpc(m->s, "fanmprot %" PRIxPTR, m->addr), NULL);
	return NULL;
}

/*
 * Two owners (this node and servant @s's) each hold copies of the
 * other's sparse segment through FETCHERS threads that acquire and read
 * over and over, so each one's receive ring fills with the other's
 * FETCHes.  Both mprotect their segment at once: the mprotect holds the
 * owner's mmap_lock (the FETCHes wait for it, holding receive buffers)
 * and invalidates once per PUD, one INVALIDATE to the other node each.
 * Sharing credits with FETCH, each node's INVALIDATE found the other's
 * ring full of its own blocked FETCHes: both waited net_timeout_ms and
 * fenced each other.  With reserved credits both finish at once.
 */
/* net_timeout_ms here and on the servant's node alike. */
static void both_timeout_ms(struct servant *s, long ms)
{
	param_set("net_timeout_ms", ms);
	servant_param_set(s, "net_timeout_ms", ms);
}

/*
 * One phase: both nodes' FETCHERS read the other's segment for @secs;
 * after 2 s this node mprotects its segment (6 times; the longest in
 * *@mine_secs) and, with @both, node 2 its own at the same time
 * (m->secs).  Returns 0 if both sides fetched.
 */
static int credits_phase(struct servant *s, xpmem_segid_t mine,
			 xpmem_segid_t theirs, uintptr_t addr,
			 struct mprot_arg *m, bool both, double *mine_secs,
			 long *rounds, long *rrounds)
{
	const double secs = 8;
	long sigs = -1, rsigs = -1;
	pthread_t th;
	pid_t pid;
	int rfd, ok;

	*rounds = *rrounds = -1;
	m->secs = 0;
	rpc(s, "fanfetch %llx %x", (long long)mine, (unsigned int)secs);
	pid = fetch_start(theirs, secs, &rfd);
	sleep(2);	/* both rings busy with FETCH */
	if (both)
		pthread_create(&th, NULL, remote_mprotect, m);
	*mine_secs = sparse_mprotect(addr);
	if (both)
		pthread_join(th, NULL);
	ok = fetch_wait(pid, rfd, rounds, &sigs) == 0;
	ok &= sscanf(rpc(s, "fanwait"), "%ld %ld", rrounds, &rsigs) == 2 &&
	      *rrounds >= 0;
	/* SIGBUS under invalidation is issue 15's item 2, not counted here */
	return ok && *rounds > 0 && *rrounds > 0 ? 0 : -1;
}

static void case_fanout_credits(struct servant **sv, int node)
{
	struct servant *s = sv[0];
	long fences0 = peer_field(node, "fences"), rfences0, fences, rfences;
	long rounds, rrounds, ref_rounds, ref_rrounds;
	long saved = net_timeout_ms(), timeout_ms;
	double timeout, rtt, mine_secs = -1, ref_secs = -1, bound;
	xpmem_segid_t mine, theirs = -1;
	struct mprot_arg m = { .s = s };
	uintptr_t addr;
	int ok, ref_ok;
	long ra;

	/*
	 * The timeout comes from this host's own invalidation round trip
	 * (median of 5, quiet): 10 round trips for each of the SPARSE_PUDS
	 * invalidations, or the setting if longer, and then 4x the
	 * reference phase's mprotect if longer.  Credits that never come
	 * back do not come back in any time: both would fence.
	 */
	rtt = inval_rtt(sv);
	timeout_ms = (long)(rtt * 1e3 * SPARSE_PUDS * 10);
	if (timeout_ms < saved)
		timeout_ms = saved;
	timeout = timeout_ms / 1000.0;
	both_timeout_ms(s, timeout_ms);
	rfences0 = strtol(rpc(s, "fanpeer 1 fences"), NULL, 10);
	mine = sparse_make(&addr);
	ok = mine > 0 && sscanf(rpc(s, "fansparse"), "%llx %" SCNxPTR,
				(long long *)&theirs, &m.addr) == 2 &&
	     theirs > 0;
	if (!ok) {
		result(0, "fanout_credits_setup", "segments %llx %llx",
		       (long long)mine, (long long)theirs);
		both_timeout_ms(s, saved);
		return;
	}
	/* One page per FETCH: many small requests fill the rings. */
	ra = param_get("remote_readahead");
	param_set("remote_readahead", 1);
	servant_param_set(s, "remote_readahead", 1);
	/*
	 * The reference: the same FETCH load, only this owner invalidating
	 * (node 2 serves our FETCHes and INVALIDATEs as they come): what
	 * the load alone costs an mprotect on this host and kernel.
	 */
	ref_ok = !credits_phase(s, mine, theirs, addr, &m, false, &ref_secs,
				&ref_rounds, &ref_rrounds);
	/* A wait to the timeout must stand out from that (debug: ~4 s). */
	if (4 * ref_secs > timeout) {
		timeout = 4 * ref_secs;
		both_timeout_ms(s, (long)(timeout * 1e3));
	}
	ok = !credits_phase(s, mine, theirs, addr, &m, true, &mine_secs,
			    &rounds, &rrounds);
	param_set("remote_readahead", ra);
	servant_param_set(s, "remote_readahead", ra);
	fences = peer_field(node, "fences");
	rfences = strtol(rpc(s, "fanpeer 1 fences"), NULL, 10);
	both_timeout_ms(s, saved);
	result(ok && ref_ok, "fanout_credits_fetching",
	       "FETCH rounds: here %ld, node %d %ld (reference phase: %ld, %ld)",
	       rounds, node, rrounds, ref_rounds, ref_rrounds);
	/*
	 * Blocked on each other, both would wait for the timeout (and fence,
	 * or be waited on longer as busy peers); not blocked, each mprotect
	 * costs what the load costs it: within 3x the reference, or half
	 * the timeout on a fast host (stock: ~0.2 s against 2.5 s).  The
	 * timeout is at least 4x the reference, so the bound is below it.
	 */
	bound = 3 * ref_secs > timeout / 2 ? 3 * ref_secs : timeout / 2;
	result(fences == fences0 && rfences == rfences0 && ref_secs >= 0 &&
	       mine_secs >= 0 && m.secs >= 0 && mine_secs < bound &&
	       m.secs < bound,
	       "fanout_credits_no_fence",
	       "both owners invalidating under the other's FETCHes: longest mprotect %.2f s here, %.2f s on node %d; %.2f s here with only this owner invalidating; bound %.2f s (timeout %.1f s: invalidation round trip %.1f ms here); fences of node %d here %ld -> %ld, of node 1 there %ld -> %ld",
	       mine_secs, m.secs, node, ref_secs, bound, timeout, rtt * 1e3,
	       node, fences0, fences, rfences0, rfences);
	rpc(s, "fanunmap %" PRIxPTR " %llx", m.addr, (long long)theirs);
	xpmem_remove(mine);
	munmap((void *)addr, SPARSE_SIZE);
}

/*
 * FETCHERS threads of one attacher (node 2) fetch a page at a time from
 * this owner, over and over, for 6 s, with the attacher's net_timeout_ms
 * set to @timeout_ms: more senders than credits, all waiting for the same
 * connection's.  No call may fail and the owner may not be fenced.
 */
static void fetch_storm(struct servant **sv, int node, const char *name,
			long timeout_ms, double rtt)
{
	struct servant *s = sv[0];
	long saved = net_timeout_ms(), rfences0, rfences;
	long rounds = -1, sigs = -1, ra;
	double secs = 6;
	xpmem_segid_t mine;
	uintptr_t addr;
	int ok;

	mine = sparse_make(&addr);
	if (mine <= 0 || rtt < 0) {
		result(0, name, "segment %llx, rtt %.1f ms", (long long)mine,
		       rtt * 1e3);
		return;
	}
	rfences0 = strtol(rpc(s, "fanpeer 1 fences"), NULL, 10);
	ra = param_get("remote_readahead");
	servant_param_set(s, "remote_readahead", 1);
	servant_param_set(s, "net_timeout_ms", timeout_ms);
	rpc(s, "fanfetch %llx %x", (long long)mine, (unsigned int)secs);
	ok = sscanf(rpc(s, "fanwait"), "%ld %ld", &rounds, &sigs) == 2;
	servant_param_set(s, "net_timeout_ms", saved);
	servant_param_set(s, "remote_readahead", ra);
	rfences = strtol(rpc(s, "fanpeer 1 fences"), NULL, 10);
	result(ok && rounds > 0 && sigs == 0 && rfences == rfences0, name,
	       "%d threads of node %d fetching a page at a time for %.0f s with net_timeout_ms %ld there (round trip %.1f ms): %ld rounds, %ld SIGBUS, fences of node 1 there %ld -> %ld",
	       FETCHERS, node, secs, timeout_ms, rtt * 1e3, rounds, sigs,
	       rfences0, rfences);
	xpmem_remove(mine);
	munmap((void *)addr, SPARSE_SIZE);
}

/*
 * Each sender must be served in its turn: with wake_up_all() and a race
 * for each credit, one thread lost every race until its call timed out
 * and fenced an owner that was answering all the others (seen under load
 * in fanout_credits).  A fair turn costs one round trip per 3 threads or
 * so: the timeout is 6 round trips per thread, at least 2 s (a loaded
 * host, 3 guests on 2 cores, stretched one call to 0.9 s).
 *
 * Then a timeout shorter than a turn (4 round trips, at least 0.3 s): the
 * calls outlast it waiting for credits while the owner answers the other
 * threads' all the time.  A busy peer is not a silent one: the calls wait
 * on (up to XPMEM_NET_BUSY_WAITS more timeouts) and nothing is fenced
 * (before: 32 threads of a loaded guest fenced the owner in fanout_credits
 * after waiting 4.5 s of 5 for a credit).
 */
static void case_fanout_fair(struct servant **sv, int node)
{
	double rtt = inval_rtt(sv);
	long turn_ms = (long)(rtt * 1e3 * FETCHERS * 6);
	long busy_ms = (long)(rtt * 1e3 * 4);

	fetch_storm(sv, node, "fanout_fair_credits",
		    turn_ms > 2000 ? turn_ms : 2000, rtt);
	/*
	 * Not on the debug kernel: its guests fall silent for longer than
	 * such a timeout by themselves (48 ms round trips, 36 fences in 6 s
	 * at 300 ms: silences, not a busy link).
	 */
	if (getenv("XNODE_QUICK"))
		printf("# skip fanout_busy_peer_not_fenced: on the debug kernel (see the source)\n");
	else
		fetch_storm(sv, node, "fanout_busy_peer_not_fenced",
			    busy_ms > 300 ? busy_ms : 300, rtt);
}

/*
 * Not on Debian's 6.12 for now: under these 32-thread FETCH storms its
 * guests crashed in rdma_rxe's transmit and completion paths (slab list
 * corruption, a double fault in __alloc_skb; 2026-12-07: 5 of 10 runs of
 * --only fanout, with this module and with the one before the liveness
 * probe, with virtio_net.napi_tx 0 and 1).  Whether the module (a buffer
 * reused while 6.12's rxe still refers to it) or rxe/TCG is to blame is
 * open (issue 15).  Stock 6.1 runs them; the debug 6.1 (KASAN) runs
 * fanout_fair_credits and has not reported any use after free.
 */
static int storms_unsafe(void)
{
	return kernel_is_612();
}

void cases_fanout(struct servant **sv, int nsv)
{
	case_fanout_coalesced(sv, nsv);
	case_fanout_time(sv, nsv);
	if (storms_unsafe()) {
		printf("# skip fanout_fair, fanout_credits: FETCH storms crash 6.12 guests (see the source)\n");
	} else {
		case_fanout_fair(sv, 2);
		case_fanout_credits(sv, 2);
	}
	case_fanout_stuck_sharer(sv[0]);
	if (nsv > 1) {
		case_fanout_silent_nodes(sv, nsv);
		case_fanout_stuck_owner(sv);
	}
}
