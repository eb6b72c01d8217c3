/*
 * xnode_eight.c: one segment cached on many sharer nodes (the 8-node
 * stage: tests/crossnode/run.sh --eight, 8 guests, node 0 the owner and
 * 7 sharers; fewer work, e.g. 4 on the debug kernel).
 *
 *   eight_coherence_*   every sharer holds copies; after the owner's
 *                       MADV_DONTNEED each reads zeros, after the owner's
 *                       new data and an acquire the new data, after its
 *                       munmap SIGBUS (docs/data-model.md, promise 1)
 *   eight_invalidate_K  the owner's MADV_DONTNEED of one page cached on
 *                       K = 1, 2, 4, 7 sharers: every round acked, none
 *                       slower than net_timeout_ms, no node fenced; the
 *                       median of each K is printed ("# figure ..."),
 *                       and the ratio K/1 (bench's target for 7 is
 *                       1.5x; not asserted here)
 *   eight_killed_*      the last sharer's VM is frozen (SIGSTOP of its
 *                       QEMU) and killed while the owner's invalidation
 *                       waits for its ack: the invalidation returns
 *                       within about net_timeout_ms, the dead node is
 *                       fenced, the live sharers read the owner's data
 */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xpmem.h>

#include "../common/line_sock.h"
#include "xnode.h"

#define PAGE 4096UL

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Fences of every node in /proc/xpmem/peers, summed over [first, last]. */
static long fences(int first, int last)
{
	long sum = 0;
	int id;

	for (id = first; id <= last; id++)
		sum += peer_field(id, "fences");
	return sum;
}

/* Sharers whose checksum of [addr, +size) is not @want: a bit each. */
static unsigned int sums_wrong(struct servant **sv, int n,
			       const struct remote_att *ra, size_t size,
			       uint64_t want)
{
	unsigned int bad = 0;
	uint64_t sum;
	double secs;
	int i;

	for (i = 0; i < n; i++)
		if (sv[i]->fd >= 0 &&
		    (remote_sum(sv[i], ra[i].addr, size, &sum, &secs) ||
		     sum != want))
			bad |= 1U << i;
	return bad;
}

/* Sharers that, after an acquire, do not read @v in every page's word 0. */
static unsigned int checks_wrong(struct servant **sv, int n,
				 const struct remote_att *ra, size_t size,
				 uint64_t v)
{
	unsigned int bad = 0;
	int i;

	for (i = 0; i < n; i++)
		if (sv[i]->fd >= 0 &&
		    strcmp(rpc(sv[i], "check %" PRIxPTR " %zx %" PRIx64,
			       ra[i].addr, size, v), "0"))
			bad |= 1U << i;
	return bad;
}

static void owner_write(unsigned char *buf, size_t size, uint64_t v)
{
	size_t i;

	for (i = 0; i < size; i += PAGE)
		*(volatile uint64_t *)(buf + i) = v;
}

/* Each sharer attaches [0, size) of @segid; 0, or -1 with those detached. */
static int attach_all(struct servant **sv, int n, xpmem_segid_t segid,
		      size_t size, struct remote_att *ra)
{
	int i, j;

	for (i = 0; i < n; i++)
		if (remote_attach(sv[i], segid, XPMEM_RDONLY, 0, size, &ra[i])) {
			for (j = 0; j < i; j++)
				remote_detach(sv[j], &ra[j]);
			return -1;
		}
	return 0;
}

static void detach_all(struct servant **sv, int n, struct remote_att *ra)
{
	int i;

	for (i = 0; i < n; i++)
		if (sv[i]->fd >= 0)
			remote_detach(sv[i], &ra[i]);
}

/*
 * Every sharer holds copies of all 16 pages; the owner's MADV_DONTNEED,
 * new data, and munmap: each sharer sees zeros, the new data after an
 * acquire, and SIGBUS, never its old copy.
 */
static void case_eight_coherence(struct servant **sv, int n)
{
	size_t size = 16 * PAGE;
	unsigned char *buf = owner_buffer(size, 51);
	unsigned char *zeros = calloc(1, size);
	xpmem_segid_t segid = xpmem_make(buf, size, XPMEM_PERMIT_MODE,
					 (void *)0600);
	struct remote_att ra[XNODE_MAX_SERVANTS];
	long sent0, acked0, sent, acked;
	unsigned int bad;
	double t0, secs;
	int i, sigs;

	if (!zeros)
		die("calloc");
	if (segid <= 0 || attach_all(sv, n, segid, size, ra)) {
		result(0, "eight_coherence_setup", "segid %llx", (long long)segid);
		goto out;
	}
	bad = sums_wrong(sv, n, ra, size, checksum(buf, size));
	result(!bad, "eight_coherence_setup",
	       "%d sharers read all 16 pages (wrong: mask %#x)", n, bad);

	sent0 = counter("remote_invalidates_sent");
	acked0 = counter("remote_invalidates_acked");
	t0 = now_s();
	madvise(buf, size, MADV_DONTNEED);
	secs = now_s() - t0;
	sent = counter("remote_invalidates_sent") - sent0;
	acked = counter("remote_invalidates_acked") - acked0;
	result(sent >= n && acked == sent, "eight_dontneed_invalidates",
	       "%ld sent, %ld acked to %d sharers in %.1f ms", sent, acked, n,
	       secs * 1e3);
	bad = sums_wrong(sv, n, ra, size, checksum(zeros, size));
	result(!bad, "eight_dontneed_every_sharer_reads_zeros",
	       "sharers reading anything else: mask %#x", bad);

	owner_write(buf, size, 0x8e1647);
	bad = checks_wrong(sv, n, ra, size, 0x8e1647);
	result(!bad, "eight_acquire_every_sharer_reads_new_data",
	       "sharers with an old page after acquire: mask %#x", bad);

	sent0 = counter("remote_invalidates_sent");
	munmap(buf, size);
	sent = counter("remote_invalidates_sent") - sent0;
	for (i = 0, sigs = 0; i < n; i++)
		sigs += !strncmp(rpc(sv[i], "sum %" PRIxPTR " %zx", ra[i].addr,
				     size), "SIG", 3);
	result(sigs == n, "eight_munmap_every_sharer_sigbus",
	       "%d of %d sharers got SIGBUS (%ld invalidates)", sigs, n, sent);
	detach_all(sv, n, ra);
	xpmem_remove(segid);
	buf = NULL;
out:
	if (buf)
		munmap(buf, size);
	free(zeros);
}

/*
 * Invalidation time against the number of sharers: the owner's
 * MADV_DONTNEED of a page that K sharers hold (each read it since the
 * last round).  Sequential INVALIDATEs cost K round trips, parallel ones
 * about one.  Asserted: every round acked by all K, none longer than
 * net_timeout_ms, no node fenced, every read right.  Printed: medians.
 */
static void case_eight_scaling(struct servant **sv, int n)
{
	static const int ks[] = { 1, 2, 4, 7 };
	int rounds = getenv("XNODE_QUICK") ? 5 : 9;
	unsigned char *buf = owner_buffer(PAGE, 53);
	xpmem_segid_t segid = xpmem_make(buf, PAGE, XPMEM_PERMIT_MODE,
					 (void *)0600);
	double limit = net_timeout_ms() / 1000.0, med[4] = { 0 };
	struct remote_att ra[XNODE_MAX_SERVANTS];
	long fences0 = fences(2, n + 1);
	char line[256];
	size_t len = 0;
	int ki, nk = 0;

	if (segid <= 0 || attach_all(sv, n, segid, PAGE, ra)) {
		result(0, "eight_scaling_setup", "segid %llx", (long long)segid);
		munmap(buf, PAGE);
		return;
	}
	for (ki = 0; ki < 4 && ks[ki] <= n; ki++, nk++) {
		int k = ks[ki], r;
		double t[16] = { 0 }, worst = 0;
		unsigned int bad = 0;
		long sent0 = counter("remote_invalidates_sent");
		long acked0 = counter("remote_invalidates_acked"), sent, acked;
		char name[32];

		for (r = 0; r < rounds; r++) {
			double t0;

			owner_write(buf, PAGE, (uint64_t)(k * 100 + r));
			bad |= sums_wrong(sv, k, ra, PAGE, checksum(buf, PAGE));
			t0 = now_s();
			madvise(buf, PAGE, MADV_DONTNEED);
			t[r] = now_s() - t0;
			if (t[r] > worst)
				worst = t[r];
		}
		sent = counter("remote_invalidates_sent") - sent0;
		acked = counter("remote_invalidates_acked") - acked0;
		med[ki] = median(t, rounds);
		snprintf(name, sizeof(name), "eight_invalidate_%d", k);
		result(!bad && sent >= (long)k * rounds && acked == sent &&
		       worst < limit, name,
		       "%d sharer(s): median %.0f us, worst %.0f us (limit %.0f ms), %ld sent, %ld acked, wrong reads mask %#x",
		       k, med[ki] * 1e6, worst * 1e6, limit * 1e3, sent, acked,
		       bad);
		printf("# figure invalidation_sharers%d_us %.0f\n", k,
		       med[ki] * 1e6);
		len += (size_t)snprintf(line + len, sizeof(line) - len,
					"%s%d: %.0f us (%.2fx)", ki ? ", " : "",
					k, med[ki] * 1e6, med[ki] / med[0]);
	}
	result(fences(2, n + 1) == fences0, "eight_scaling_no_fence",
	       "fences of the sharer nodes %ld -> %ld", fences0,
	       fences(2, n + 1));
	/* the figures, not a verdict: the bench holds the 7/1 <= 1.5x target */
	printf("# figure invalidation_sharers_ratio %.2f (%d/1)\n",
	       med[nk - 1] / med[0], ks[nk - 1]);
	printf("# invalidation against sharers: %s\n", line);
	detach_all(sv, n, ra);
	xpmem_remove(segid);
	munmap(buf, PAGE);
}

struct inval_arg {
	unsigned char *buf;
	size_t size;
	double secs;
	volatile int done;
};

static void *inval_thread(void *p)
{
	struct inval_arg *a = p;
	double t0 = now_s();

	madvise(a->buf, a->size, MADV_DONTNEED);
	a->secs = now_s() - t0;
	__atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * The last sharer's VM is frozen, the owner's MADV_DONTNEED starts (its
 * INVALIDATE to that node is not answered), and the VM is killed while
 * the owner waits: the invalidation returns within about net_timeout_ms,
 * the dead node is fenced and its attachment forgotten, and every live
 * sharer reads the owner's zeros and then, after an acquire, its new data.
 */
static void case_eight_killed(struct servant **sv, int n)
{
	size_t size = 4 * PAGE;
	unsigned char *buf = owner_buffer(size, 57);
	unsigned char zeros[4 * PAGE] = { 0 };
	xpmem_segid_t segid = xpmem_make(buf, size, XPMEM_PERMIT_MODE,
					 (void *)0600);
	long timeout_ms = net_timeout_ms(), fence0, live0, ratts;
	struct remote_att ra[XNODE_MAX_SERVANTS];
	struct inval_arg a = { .buf = buf, .size = size };
	int victim = n, in_flight, killed, i;	/* VM index; node id n + 1 */
	unsigned int bad;
	pthread_t th;

	if (n < 2 || segid <= 0 || attach_all(sv, n, segid, size, ra)) {
		result(0, "eight_killed_setup", "%d sharers", n);
		goto out;
	}
	bad = sums_wrong(sv, n, ra, size, checksum(buf, size));
	result(!bad, "eight_killed_setup",
	       "%d sharers read the segment (wrong: mask %#x)", n, bad);
	fence0 = peer_field(victim + 1, "fences");
	live0 = fences(2, victim);
	result(!host_ctl("stop", "stopped", victim), "eight_killed_vm_stopped",
	       "node%d's QEMU stopped by the host", victim);
	if (pthread_create(&th, NULL, inval_thread, &a))
		die("pthread_create");
	/* The live sharers answer in milliseconds; the frozen one never. */
	usleep(1000000);
	in_flight = !__atomic_load_n(&a.done, __ATOMIC_ACQUIRE);
	killed = !host_ctl("kill", "killed", victim);
	pthread_join(th, NULL);
	close(sv[n - 1]->fd);
	sv[n - 1]->fd = -1;
	result(killed && in_flight, "eight_killed_during_invalidation",
	       "node%d killed %s the owner's invalidation", victim,
	       in_flight ? "during" : "AFTER");
	/* the margin covers vCPUs starved by 7 other guests on 2 cores */
	result(a.secs < timeout_ms / 1000.0 + 5,
	       "eight_killed_invalidation_bounded",
	       "MADV_DONTNEED returned after %.2f s (net_timeout_ms %ld)",
	       a.secs, timeout_ms);
	for (i = 0; i < 100 && peer_field(victim + 1, "fences") <= fence0; i++)
		usleep(100000);
	ratts = counter_settle("remote_attachments", n - 1, 10);
	result(peer_field(victim + 1, "fences") > fence0 &&
	       fences(2, victim) == live0 && ratts == n - 1,
	       "eight_killed_fenced",
	       "node %d fences %ld -> %ld, the live nodes' %ld -> %ld, remote_attachments %ld (want %d)",
	       victim + 1, fence0, peer_field(victim + 1, "fences"), live0,
	       fences(2, victim), ratts, n - 1);
	bad = sums_wrong(sv, n - 1, ra, size, checksum(zeros, size));
	result(!bad, "eight_killed_live_sharers_read_zeros",
	       "live sharers reading anything else: mask %#x", bad);
	owner_write(buf, size, 0x5eed);
	bad = checks_wrong(sv, n - 1, ra, size, 0x5eed);
	result(!bad, "eight_killed_live_sharers_read_new_data",
	       "live sharers with an old page after acquire: mask %#x", bad);
	detach_all(sv, n - 1, ra);
	ratts = counter_settle("remote_attachments", 0, 10);
	result(ratts == 0, "eight_killed_given_back",
	       "remote_attachments %ld after the live sharers detached", ratts);
out:
	if (segid > 0)
		xpmem_remove(segid);
	munmap(buf, size);
}

int drive_eight(struct servant **sv, int n)
{
	double t0 = now_s();
	int i;

	printf("# %d sharer nodes\n", n);
	case_eight_coherence(sv, n);
	case_eight_scaling(sv, n);
	case_gauges(sv, n);
	case_eight_killed(sv, n);	/* last: a VM is killed */
	for (i = 0; i < n; i++)
		if (sv[i]->fd >= 0)
			line_send(sv[i]->fd, "quit");
	printf("# cases took %.1f s\n", now_s() - t0);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
