// SPDX-License-Identifier: GPL-2.0-only
/*
 * race_pmd: PTE faults racing a huge-PMD fault in one 2 MiB chunk
 * (issue 14, finding 4).
 *
 * A's 4 MiB buffer is 2 MiB aligned, MADV_HUGEPAGE and written with
 * zeros (real transparent huge pages, not the huge zero page: checked in
 * /proc/self/smaps, skipped if the guest gives none).  B attaches it
 * RDONLY and THREADS threads touch pages spread over the same 2 MiB chunk
 * at the same moment, round after round (a fresh attachment each round,
 * so every round starts with an empty PMD), for a bounded time.  One
 * fault maps the chunk as a PMD while others are between their look at
 * the PMD and their install.
 *
 * Every byte B reads must be 0, pmd_maps must grow, and afterwards A's
 * buffer must still be all zero, byte for byte (the old kernel wrote PTE
 * values into the first 4 KiB of A's huge page: a PTE install on top of
 * the huge PMD treated the huge page as a page table).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "itest.h"

#define HPAGE		(2UL << 20)
#define LEN		(2 * HPAGE)
#define THREADS		32
#define RUN_MS		2500
#define MAX_ROUNDS	400

static char *win;			/* B's attachment of this round */
static size_t stride;			/* distance between threads' pages */
static pthread_barrier_t go, done;
static atomic_int quit;
static atomic_long nonzero;		/* nonzero qwords B read */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *toucher(void *arg)
{
	size_t k = (size_t)(uintptr_t)arg;

	for (;;) {
		const volatile uint64_t *w;
		size_t i;
		long bad = 0;

		pthread_barrier_wait(&go);
		if (atomic_load(&quit))
			return NULL;
		/* the first chunk: thread k's page, then its neighbours' */
		w = (const volatile uint64_t *)(win + k * stride);
		for (i = 0; i < (size_t)it_page / 8; i++)
			bad += w[i] != 0;
		w = (const volatile uint64_t *)(win + ((k + 1) % THREADS) *
						stride);
		bad += w[0] != 0;
		if (bad)
			atomic_fetch_add(&nonzero, bad);
		pthread_barrier_wait(&done);
	}
}

static void peer_b(int fd, void *arg)
{
	xpmem_segid_t segid = (xpmem_segid_t)it_recv(fd);
	xpmem_apid_t apid = it_get(segid, XPMEM_RDONLY);
	pthread_t t[THREADS];
	long long pmd0 = it_counter("pmd_maps"), pmd1;
	uint64_t t0;
	int rounds = 0;
	size_t i;

	(void)arg;
	stride = HPAGE / THREADS;
	CHECK(pthread_barrier_init(&go, NULL, THREADS + 1) == 0, "barrier");
	CHECK(pthread_barrier_init(&done, NULL, THREADS + 1) == 0, "barrier");
	for (i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, toucher,
				     (void *)(uintptr_t)i) == 0, "thread");
	/* at least one round, however slow the kernel (debug: seconds) */
	t0 = now_ms();
	while (!rounds || (rounds < MAX_ROUNDS && now_ms() - t0 < RUN_MS &&
			   !atomic_load(&nonzero))) {
		win = it_attach(apid, 0, LEN);
		CHECK(((uintptr_t)win & (HPAGE - 1)) == 0,
		      "attachment %p not 2 MiB aligned", (void *)win);
		pthread_barrier_wait(&go);
		pthread_barrier_wait(&done);
		/* the whole window, byte for byte */
		for (i = 0; i < LEN / 8; i++)
			if (((const volatile uint64_t *)win)[i]) {
				atomic_fetch_add(&nonzero, 1);
				NOTE("B read %#llx at window offset %#zx in round "
				     "%d", (unsigned long long)
				     ((const volatile uint64_t *)win)[i], i * 8,
				     rounds);
				break;
			}
		CHECK_OK(xpmem_detach(win));
		rounds++;
	}
	atomic_store(&quit, 1);
	pthread_barrier_wait(&go);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	pmd1 = it_counter("pmd_maps");
	NOTE("%d rounds of %d threads in %llu ms, pmd_maps +%lld, faults %lld",
	     rounds, THREADS, (unsigned long long)(now_ms() - t0), pmd1 - pmd0,
	     it_counter("faults"));
	CHECK_OK(xpmem_release(apid));
	it_send(fd, (uint64_t)atomic_load(&nonzero));
	it_send(fd, (uint64_t)(pmd1 - pmd0));
}

int main(void)
{
	struct it_peer b;
	xpmem_segid_t segid;
	uint64_t bad_b, pmds;
	size_t i, bad = 0, first = 0;
	long kb;
	char *buf;

	it_init("race_pmd");
	b = it_spawn(peer_b, NULL);
	buf = it_map_aligned(LEN, HPAGE);
	if (madvise(buf, LEN, MADV_HUGEPAGE) != 0) {
		close(b.fd);
		it_wait(b.pid);
		it_skip("MADV_HUGEPAGE: %s (no THP in this kernel?)",
			strerror(errno));
	}
	/* written, not read: real huge pages, not the huge zero page */
	for (i = 0; i < LEN; i += (size_t)it_page)
		((volatile char *)buf)[i] = 0;
	kb = it_anon_huge_kb(buf);
	NOTE("A's buffer %p: AnonHugePages %ld kB of %lu", (void *)buf, kb,
	     LEN >> 10);
	if (kb < (long)(HPAGE >> 10)) {
		close(b.fd);
		it_wait(b.pid);
		it_skip("the guest backs A's buffer with no huge page "
			"(THP disabled or no free 2 MiB block)");
	}
	segid = it_make(buf, LEN, 0600);
	it_send(b.fd, (uint64_t)segid);
	bad_b = it_recv(b.fd);
	pmds = it_recv(b.fd);
	it_join(&b, "attacher B");

	for (i = 0; i < LEN; i++)
		if (((volatile char *)buf)[i] && !bad++)
			first = i;
	if (bad)
		FAIL("A's zero-filled buffer has %zu nonzero bytes after B's "
		     "racing faults, the first at offset %#zx (qword %#llx)",
		     bad, first, (unsigned long long)
		     ((volatile uint64_t *)buf)[first / 8]);
	CHECK(bad_b == 0, "B read %llu nonzero qwords of A's zeros",
	      (unsigned long long)bad_b);
	CHECK(pmds > 0, "pmd_maps did not grow: the PMD path never ran");
	CHECK_OK(xpmem_remove(segid));
	return it_result();
}
