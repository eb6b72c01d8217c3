// SPDX-License-Identifier: GPL-2.0-only
/*
 * race_remap: the owner changes its mapping while B keeps reading.
 * A loops over generations g = 2, 3, ...: it replaces its pages (munmap +
 * MAP_FIXED mmap, or MADV_DONTNEED, or MADV_DONTNEED of a huge range, or
 * a plain overwrite), fills every word with g, and then publishes g in a
 * shared control page (release).  B reads the published generation g0
 * (acquire) and then a page of its attachment: every word must be 0
 * (fresh memory not yet filled), SIGBUS (unmapped), or >= g0.  A word
 * < g0 other than 0 is a page the owner had already given up: stale data
 * through a mapping that was not invalidated in time.  After each step A
 * also fills a fresh "decoy" buffer with generation 1: it takes the pages
 * just freed, which the allocator would otherwise hand straight back to
 * A's new mapping (hiding a missing invalidation).
 */
#include "itest.h"
#include <sched.h>

#define NPAGES	8
#define SECS	4

struct ctl {
	uint64_t gen;
	uint64_t stop;
	uint64_t reads, bus, zero;
};

static struct ctl *ctl;
static size_t len;

static void fill_gen(char *buf, uint64_t g)
{
	volatile uint64_t *w = (uint64_t *)buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = g;
}

static void peer_b(int fd, void *arg)
{
	static uint64_t tmp[65536 / 8];
	xpmem_segid_t segid = (xpmem_segid_t)it_recv(fd);
	xpmem_apid_t apid = it_get(segid, XPMEM_RDWR);
	char *p = it_attach(apid, 0, len);
	uint64_t reads = 0, bus = 0, zero = 0;
	size_t pg = 0, i, n = (size_t)it_page / 8;

	(void)arg;
	it_send(fd, 1);
	while (!__atomic_load_n(&ctl->stop, __ATOMIC_ACQUIRE)) {
		uint64_t g0 = __atomic_load_n(&ctl->gen, __ATOMIC_ACQUIRE);
		int sig = it_probe_copy(tmp, p + pg * it_page, it_page);
		reads++;
		if (sig == SIGBUS) {
			bus++;
		} else {
			CHECK(sig == 0, "read raised signal %d", sig);
			for (i = 0; i < n; i++) {
				if (tmp[i] == 0) {
					zero++;
					continue;
				}
				CHECK(tmp[i] >= g0, "stale data: page %zu word %zu "
				      "holds generation %llu, but the owner had "
				      "already published generation %llu", pg, i,
				      (unsigned long long)tmp[i],
				      (unsigned long long)g0);
			}
		}
		pg = (pg + 1) % NPAGES;
	}
	ctl->reads = reads;
	ctl->bus = bus;
	ctl->zero = zero;
	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_release(apid));
}

int main(void)
{
	struct it_peer b;
	xpmem_segid_t segid;
	struct timespec t0, t;
	uint64_t g;
	char *buf, *decoy, *old_decoy = NULL;
	int ops[4] = { 0 };

	it_init("race_remap");
	len = NPAGES * it_page;
	ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(ctl != MAP_FAILED, "mmap control page");
	ctl->gen = 1;
	b = it_spawn(peer_b, NULL);
	buf = it_map(len);
	fill_gen(buf, 1);
	segid = it_make(buf, len, 0600);
	it_send(b.fd, (uint64_t)segid);
	it_expect(b.fd, 1);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (g = 2;; g++) {
		int op = (int)(g % 4);

		switch (op) {
		case 0:
			CHECK(munmap(buf, len) == 0, "munmap");
			CHECK(mmap(buf, len, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				   -1, 0) == buf, "mmap MAP_FIXED");
			break;
		case 1:
			CHECK(madvise(buf, len, MADV_DONTNEED) == 0, "DONTNEED");
			break;
		case 2:
			CHECK(madvise(buf + it_page, it_page, MADV_DONTNEED) == 0,
			      "DONTNEED of one page");
			break;
		default:
			break;	/* in-place overwrite */
		}
		ops[op]++;
		/*
		 * Take the pages just freed (the allocator would hand them
		 * straight back to buf) and mark them with generation 1, so
		 * a stale mapping of them cannot pass for current data.
		 */
		decoy = mmap(NULL, len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(decoy != MAP_FAILED, "mmap decoy");
		fill_gen(decoy, 1);
		fill_gen(buf, g);
		__atomic_store_n(&ctl->gen, g, __ATOMIC_RELEASE);
		if (old_decoy)
			munmap(old_decoy, len);
		old_decoy = decoy;
		if (g % 64 == 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec >= SECS)
				break;
			sched_yield();
		}
	}
	__atomic_store_n(&ctl->stop, 1, __ATOMIC_RELEASE);
	it_join(&b, "reader B");
	NOTE("%llu generations (remap %d, dontneed %d, dontneed-1 %d, "
	     "overwrite %d); B: %llu page reads, %llu SIGBUS, %llu zero words",
	     (unsigned long long)g, ops[0], ops[1], ops[2], ops[3],
	     (unsigned long long)ctl->reads, (unsigned long long)ctl->bus,
	     (unsigned long long)ctl->zero);
	CHECK(ctl->reads > 100, "B read only %llu pages: no race exercised",
	      (unsigned long long)ctl->reads);
	CHECK_OK(xpmem_remove(segid));
	return 0;
}
