// SPDX-License-Identifier: GPL-2.0-only
/*
 * cached_ranges: the registration-cache pattern of UCX's uct/sm/xpmem and
 * libfabric, run long.  A exports its whole address space
 * (xpmem_make(0, XPMEM_MAXADDR_SIZE, XPMEM_PERMIT_MODE, 0666)) and never
 * removes it.  B gets it once and, for every buffer A names, attaches
 * the 8 MiB-aligned chunks of A's address space that cover it, keeps
 * them in a cache and reuses them for ever: never a detach, never a
 * release.  Meanwhile A rewrites, MADV_DONTNEEDs, munmaps and remaps
 * and moves its buffers inside a 128 MiB arena (16 chunks), so the
 * pages behind B's cached attachments change under it all the time.
 *
 * Every iteration: B checks every byte of every buffer (A's new data
 * through the cached attachments) and writes its mark on each buffer's
 * last page, which A checks before it changes the buffer again.  After
 * a warm-up that touches every chunk, nothing may grow: B's cache holds
 * exactly the chunks A has used, the `attachments' gauge equals that
 * number, `attached_pages' is 2048 per chunk, the `attaches' total does
 * not move, and the guest's Slab and PageTables stay within a bound;
 * `faults' keeps growing (B's stale pages really were invalidated and
 * refaulted).  At the end B exits with its attachments live (the gauges
 * must drop to 0 with A still there), then A exits without removing the
 * segment.
 *
 * Iterations: ITEST_CACHE_ITERS, else ITEST_LOOPS / 10 but at least 40
 * (the warm-up and 20 more).  About 40 ms each on the stock kernel under
 * TCG, seconds on the debug kernel on a loaded host.
 */
#include "itest.h"

#define MIB		(1024UL * 1024)
#define CHUNK		(8 * MIB)
#define NSLOT		8
#define REGION		(2 * CHUNK)		/* each slot's part of the arena */
#define ARENA		(NSLOT * REGION)
#define NCHUNK		(ARENA / CHUNK)
#define MAXLEN		(MIB / 2)
#define WARMUP		20			/* iterations until every chunk is used */
#define BMARK		0xb0b0b0b0ULL
#define MAXENT		64
/* growth allowed between the end of the warm-up and the end (kB) */
#define SLAB_SLACK_KB	2048
#define PT_SLACK_KB	256

struct slot {
	size_t off, len;	/* within the slot's region */
	uint64_t seed;
};

/* --- B: the attacher with its cache --------------------------------------- */

struct entry {
	uintptr_t base;		/* chunk address in A's address space */
	char *p;		/* its attachment in ours */
};

static struct entry cache[MAXENT];
static int nent;
static long long cache_attaches;

static char *chunk_of(xpmem_apid_t apid, uintptr_t base)
{
	int i;

	for (i = 0; i < nent; i++)
		if (cache[i].base == base)
			return cache[i].p;
	CHECK(nent < MAXENT, "cache full: %d chunks for a %lu-chunk arena",
	      nent, NCHUNK);
	cache[nent].base = base;
	cache[nent].p = it_attach(apid, (off_t)base, CHUNK);
	cache_attaches++;
	return cache[nent++].p;
}

/* Checks A's pattern over [addr, addr + len), then marks the last page. */
static void use_buffer(xpmem_apid_t apid, uintptr_t addr, size_t len,
		       uint64_t seed)
{
	size_t done = 0, mark = len - (size_t)it_page;

	while (done < len) {
		uintptr_t a = addr + done, base = a & ~(CHUNK - 1);
		size_t n = base + CHUNK - a, i;
		char *p = chunk_of(apid, base) + (a - base);
		uint64_t *w = (uint64_t *)p;

		if (n > len - done)
			n = len - done;
		for (i = 0; i < n / 8; i++) {
			size_t off = done + i * 8;

			if (off >= mark) {
				w[i] = it_pat(seed ^ BMARK, off);
				continue;
			}
			if (w[i] != it_pat(seed, off))
				FAIL("buffer %#lx+%#zx seed %#llx: word at %#zx is "
				     "%#llx, want %#llx", (unsigned long)addr, len,
				     (unsigned long long)seed, off,
				     (unsigned long long)w[i],
				     (unsigned long long)it_pat(seed, off));
		}
		done += n;
	}
}

static void peer_b(int fd, void *arg)
{
	xpmem_segid_t segid = (xpmem_segid_t)it_recv(fd);
	xpmem_apid_t apid = it_get(segid, XPMEM_RDWR);
	int j;

	(void)arg;
	for (;;) {
		if (it_recv(fd) == 0)
			break;
		for (j = 0; j < NSLOT; j++) {
			uintptr_t addr = (uintptr_t)it_recv(fd);
			size_t len = (size_t)it_recv(fd);
			uint64_t seed = it_recv(fd);

			use_buffer(apid, addr, len, seed);
		}
		it_send(fd, (uint64_t)nent);
		it_send(fd, (uint64_t)cache_attaches);
	}
	/* exit with every attachment and the apid live, as an MPI rank may */
}

/* --- A: the owner ---------------------------------------------------------- */

static char *arena;
static struct slot slots[NSLOT];
static unsigned char used[NCHUNK];

static char *buf_of(int j)
{
	return arena + (size_t)j * REGION + slots[j].off;
}

static int chunks_used(void)
{
	int c, n = 0;

	for (c = 0; c < (int)NCHUNK; c++)
		n += used[c];
	return n;
}

static void note_chunks(int j)
{
	size_t a = (size_t)(buf_of(j) - arena), c;

	for (c = a / CHUNK; c <= (a + slots[j].len - 1) / CHUNK; c++)
		used[c] = 1;
}

static void map_rw(char *p, size_t len)
{
	void *r = mmap(p, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	CHECK(r == p, "mmap MAP_FIXED %p %zu", (void *)p, len);
}

/* hands the range back to the PROT_NONE reservation (after a munmap) */
static void unmap(char *p, size_t len)
{
	void *r;

	CHECK(munmap(p, len) == 0, "munmap %p %zu", (void *)p, len);
	r = mmap(p, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
		 MAP_NORESERVE, -1, 0);
	CHECK(r == p, "re-reserve %p %zu", (void *)p, len);
}

static size_t new_off(int i, int j)
{
	return ((size_t)((i * 3 + j) % 15)) * MIB + (size_t)j * 4 * (size_t)it_page;
}

static size_t new_len(int i, int j)
{
	return MAXLEN / 4 * (size_t)(1 + (i / 4 + j) % 4) - (size_t)(j % 2) * (size_t)it_page;
}

/*
 * Checks B's mark on the last page (and A's own first word), then applies
 * this iteration's change to slot j.
 */
static void mutate(int i, int j)
{
	struct slot *s = &slots[j];
	char *p = buf_of(j);
	size_t mark = s->len - (size_t)it_page;
	uint64_t seed = ((uint64_t)(i + 1) << 8) | (uint64_t)(j + 1);

	CHECK(*(uint64_t *)p == it_pat(s->seed, 0), "slot %d: A's first word "
	      "changed", j);
	for (size_t off = mark; off < s->len; off += 8)
		CHECK(*(uint64_t *)(p + off) == it_pat(s->seed ^ BMARK, off),
		      "slot %d iteration %d: B's mark missing at %#zx", j, i, off);

	switch ((i + j) % 4) {
	case 0:		/* the same pages, new data */
		break;
	case 1:		/* new pages at the same address */
		unmap(p, s->len);
		map_rw(p, s->len);
		break;
	case 2:		/* a new place and size in the region */
		unmap(p, s->len);
		s->off = new_off(i, j);
		s->len = new_len(i, j);
		p = buf_of(j);
		map_rw(p, s->len);
		break;
	case 3:		/* dropped, refilled on the next write */
		CHECK(madvise(p, s->len, MADV_DONTNEED) == 0, "MADV_DONTNEED");
		break;
	}
	s->seed = seed;
	it_fill(p, s->len, seed);
	note_chunks(j);
}

/* Value of a /proc/meminfo line in kB, or -1. */
static long long meminfo_kb(const char *name)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128], key[64];
	long long v, found = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63[^:]: %lld", key, &v) == 2 &&
		    strcmp(key, name) == 0) {
			found = v;
			break;
		}
	fclose(f);
	return found;
}

static long long counter(const char *name)
{
	long long v = it_counter(name);

	CHECK(v >= 0, "counter %s missing from %s", name, XPMEM_PROC_COUNTERS);
	return v;
}

int main(void)
{
	const char *env = getenv("ITEST_CACHE_ITERS");
	const char *loops = getenv("ITEST_LOOPS");
	int iters = env ? atoi(env) : (loops ? atoi(loops) : 1000) / 10;
	long long att0, faults_w = 0, faults_end, slab_w = 0, pt_w = 0, slab_max = 0,
		  pt_max = 0, slab = -1, pt = -1, ents = 0, pages_per_chunk;
	xpmem_segid_t segid;
	struct it_peer b;
	char *raw;
	int i, j, waited;
	struct timespec t0, t1;

	it_init("cached_ranges");
	if (!env && iters < WARMUP + 20)
		iters = WARMUP + 20;
	CHECK(iters > WARMUP, "ITEST_CACHE_ITERS=%d: needs more than %d", iters, WARMUP);
	pages_per_chunk = (long long)(CHUNK / (size_t)it_page);
	CHECK(counter("attachments") == 0, "attachments gauge not 0 at the start");
	att0 = counter("attaches");

	/* a PROT_NONE reservation, CHUNK aligned */
	raw = mmap(NULL, ARENA + CHUNK, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(raw != MAP_FAILED, "reserve %lu", ARENA + CHUNK);
	arena = (char *)(((uintptr_t)raw + CHUNK - 1) & ~(CHUNK - 1));
	for (j = 0; j < NSLOT; j++) {
		slots[j].off = ((size_t)(j * 7 % 15)) * MIB;
		slots[j].len = MAXLEN / 2;
		slots[j].seed = (uint64_t)j + 1;
		map_rw(buf_of(j), slots[j].len);
		it_fill(buf_of(j), slots[j].len, slots[j].seed);
		note_chunks(j);
	}

	segid = xpmem_make(0, XPMEM_MAXADDR_SIZE, XPMEM_PERMIT_MODE, (void *)0666);
	CHECK(segid > 0, "xpmem_make(0, XPMEM_MAXADDR_SIZE, .., 0666) = %lld",
	      (long long)segid);
	b = it_spawn(peer_b, NULL);
	it_send(b.fd, (uint64_t)segid);
	clock_gettime(CLOCK_MONOTONIC, &t0);

	for (i = 0; i < iters; i++) {
		long long b_attaches;

		if (i > 0)
			for (j = 0; j < NSLOT; j++)
				mutate(i, j);
		it_send(b.fd, 1);
		for (j = 0; j < NSLOT; j++) {
			it_send(b.fd, (uint64_t)(uintptr_t)buf_of(j));
			it_send(b.fd, (uint64_t)slots[j].len);
			it_send(b.fd, slots[j].seed);
		}
		ents = (long long)it_recv(b.fd);
		b_attaches = (long long)it_recv(b.fd);

		/* B's cache is exactly the chunks A has used, attached once */
		CHECK(ents == chunks_used(), "iteration %d: B caches %lld chunks, A "
		      "has used %d", i, ents, chunks_used());
		CHECK(b_attaches == ents, "iteration %d: B attached %lld times for "
		      "%lld chunks", i, b_attaches, ents);
		CHECK(counter("attachments") == ents, "iteration %d: attachments "
		      "gauge %lld, B holds %lld", i, counter("attachments"), ents);
		CHECK(counter("attached_pages") == ents * pages_per_chunk,
		      "iteration %d: attached_pages %lld, want %lld", i,
		      counter("attached_pages"), ents * pages_per_chunk);
		CHECK(counter("attaches") - att0 == ents, "iteration %d: %lld "
		      "attaches since the start for %lld chunks", i,
		      counter("attaches") - att0, ents);

		slab = meminfo_kb("Slab");
		pt = meminfo_kb("PageTables");
		if (i == WARMUP) {
			CHECK(ents == (long long)NCHUNK, "after the warm-up B caches "
			      "%lld chunks, want all %lu", ents, NCHUNK);
			faults_w = counter("faults");
			clock_gettime(CLOCK_MONOTONIC, &t1);
			NOTE("warm-up done: %d iterations in %.1f s, %lld chunks cached",
			     WARMUP, (double)(t1.tv_sec - t0.tv_sec) +
			     (t1.tv_nsec - t0.tv_nsec) / 1e9, ents);
			slab_w = slab_max = slab;
			pt_w = pt_max = pt;
		} else if (i > WARMUP) {
			if (slab > slab_max)
				slab_max = slab;
			if (pt > pt_max)
				pt_max = pt;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	faults_end = counter("faults");
	NOTE("%d iterations in %.1f s: %lld chunks (%lld MiB) attached once and "
	     "reused; attachments %lld, attached_pages %lld throughout",
	     iters, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	     ents, ents * (long long)(CHUNK / MIB), ents, ents * pages_per_chunk);
	NOTE("after the warm-up (%d iterations): faults +%lld, invalidations %lld in "
	     "all; Slab %lld kB -> max %lld, last %lld; PageTables %lld kB -> max "
	     "%lld, last %lld", WARMUP, faults_end - faults_w,
	     counter("invalidations"), slab_w, slab_max, slab, pt_w, pt_max, pt);
	CHECK(faults_end > faults_w, "no faults after the warm-up: B's stale "
	      "pages were never invalidated and refaulted");
	CHECK(slab_w < 0 || slab_max - slab_w <= SLAB_SLACK_KB, "Slab grew by %lld kB "
	      "after the warm-up (allowed %d)", slab_max - slab_w, SLAB_SLACK_KB);
	CHECK(pt_w < 0 || pt_max - pt_w <= PT_SLACK_KB, "PageTables grew by %lld kB "
	      "after the warm-up (allowed %d)", pt_max - pt_w, PT_SLACK_KB);

	/* B leaves with everything attached: its attachments go with it */
	it_send(b.fd, 0);
	it_join(&b, "attacher B");
	for (waited = 0; counter("attachments") || counter("attached_pages"); waited += 50) {
		CHECK(waited < 2000, "2 s after B exited: attachments %lld, "
		      "attached_pages %lld", counter("attachments"),
		      counter("attached_pages"));
		it_msleep(50);
	}
	CHECK(counter("segments") >= 1, "A's segment gone while A lives");
	/* and A exits without xpmem_remove: run-suite.sh checks the gauges */
	return 0;
}
