// SPDX-License-Identifier: GPL-2.0-only
/*
 * cow_write: an attacher's write to a page the owner shares copy-on-write
 * (issue 14, finding 6).
 *
 * A touches its buffer, forks child C (the pages become COW-shared, or
 * stay the shared zero page) and makes a segment; B attaches RDWR, reads
 * page K (the read maps it read-only) and then writes it.  The write must
 * complete within WRITE_MS, with a handful of faults and mkwrites
 * (/proc/xpmem/counters), land in A's memory and not in C's copy.
 * (The old kernel looped: millions of faults and mkwrites, the write
 * never landed.)
 *
 * Cases: A wrote its buffer and C lives (COW-shared anonymous pages);
 * A only read it (the zero page); A wrote it and C has already exited
 * (A's PTE still read-only, the page no longer shared).
 *
 * Each case is written three ways: plain stores; a locked read-modify-
 * write (__atomic_fetch_add, `lock add` on x86); an unlocked memory-operand
 * add (`addq reg, mem` on x86, a volatile increment elsewhere).  A
 * read-modify-write instruction may fault as a read first: the old kernel
 * zapped the read-only PTE on the write fault (->pfn_mkwrite), the read
 * fault mapped the still COW-shared page read-only again, and so on.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "itest.h"

#define NPAGES		16
#define HPAGE		(2UL << 20)
#define K		5		/* the page B reads then writes */
#define OLD		0xc0c
#define BPAT		0xb0b
#define WRITE_MS	3000
#define MAX_FAULTS	4		/* for one write: 0 or 1 expected */
#define MAX_MKWRITES	2

enum { WROTE_CHILD_LIVES, READ_ZERO_PAGE, WROTE_CHILD_EXITED, THP_WROTE,
       THP_READ, THP_PTES, THP_READ_PTES, NCASES };

static const char *case_name[NCASES] = {
	"A wrote, forked, child alive",
	"A read only (zero page), forked, child alive",
	"A wrote, forked, child exited",
	"A wrote a huge page, forked, child alive",
	"A read a huge page (huge zero page), forked, child alive",
	"A wrote a huge page, forked, child alive, B maps 4 KiB pages",
	"A read a huge page, forked, child alive, B maps 4 KiB pages",
};

static int is_zero_case(int c)
{
	return c == READ_ZERO_PAGE || c == THP_READ || c == THP_READ_PTES;
}

static int is_thp_case(int c)
{
	return c == THP_WROTE || c == THP_READ || c == THP_PTES ||
	       c == THP_READ_PTES;
}

enum { W_STORE, W_LOCK_ADD, W_ADD_MEM, NWAYS };

static const char *way_name[NWAYS] = {
	"plain stores", "locked add (RMW)", "add to memory (RMW)",
};

static size_t len;
static int way;				/* how B writes page K */
static uint64_t word0;			/* what B read at page K, offset 0 */
static char *cow_buf;			/* A's buffer */
static char *page_k;			/* B's view of page K */
static atomic_int written;

/* A read-modify-write that turns word 0 of page K into B's pattern */
static void rmw_word0(void)
{
	uint64_t *w = (uint64_t *)(void *)page_k;
	uint64_t d = it_pat(BPAT, 0) - word0;

	if (way == W_LOCK_ADD) {
		__atomic_fetch_add(w, d, __ATOMIC_SEQ_CST);
		return;
	}
#if defined(__x86_64__)
	__asm__ volatile("addq %1, %0" : "+m" (*w) : "r" (d) : "cc", "memory");
#else
	*(volatile uint64_t *)w += d;
#endif
}

static void *writer(void *arg)
{
	(void)arg;
	if (way != W_STORE)
		rmw_word0();	/* the first access to the page since the read */
	it_fill(page_k, (size_t)it_page, BPAT);
	atomic_store(&written, 1);
	return NULL;
}

/* A's forked child: keeps the COW copy; checks it when told */
static void cow_child(int fd, void *arg)
{
	int zero = (int)(uintptr_t)arg;

	it_expect(fd, 1);
	if (zero) {
		for (size_t i = 0; i < len; i++)
			CHECK(cow_buf[i] == 0, "child's copy byte %zu", i);
	} else {
		CHECK_PATTERN(cow_buf, len, OLD, "forked child's private copy");
	}
	it_send(fd, 2);
}

static void peer_b(int fd, void *arg)
{
	int r;

	(void)arg;
	for (r = 0; r < NCASES * NWAYS; r++) {
		int c = r / NWAYS;
		xpmem_segid_t segid = (xpmem_segid_t)it_recv(fd);
		size_t blen = (size_t)it_recv(fd);
		xpmem_apid_t apid = it_get(segid, XPMEM_RDWR);
		/* from page 1: B's window cannot hold A's huge page as a PMD */
		size_t off = c == THP_PTES || c == THP_READ_PTES ?
			     (size_t)it_page : 0;
		char *p = it_attach(apid, (off_t)off, blen - off);
		long long f0, m0, f1, m1;
		pthread_t t;
		uint64_t waited = 0;
		volatile uint64_t sink;

		page_k = p + K * it_page - off;
		if (is_zero_case(c))
			CHECK(((volatile uint64_t *)page_k)[3] == 0,
			      "B reads A's zero page");
		else
			CHECK(((volatile uint64_t *)page_k)[3] ==
			      it_pat(OLD, K * it_page + 24),
			      "B reads A's data");
		sink = ((volatile uint64_t *)page_k)[0];
		word0 = sink;
		way = r % NWAYS;
		f0 = it_counter("faults");
		m0 = it_counter("mkwrites");
		atomic_store(&written, 0);
		CHECK(pthread_create(&t, NULL, writer, NULL) == 0, "thread");
		while (!atomic_load(&written) && waited < WRITE_MS) {
			it_msleep(10);
			waited += 10;
		}
		f1 = it_counter("faults");
		m1 = it_counter("mkwrites");
		NOTE("%s, %s: B's write %s after %llu ms: faults +%lld, "
		     "mkwrites +%lld", case_name[c], way_name[way],
		     atomic_load(&written) ? "done" : "NOT done",
		     (unsigned long long)waited, f1 - f0, m1 - m0);
		/* a stuck writer is killed with us: exit_group */
		CHECK(atomic_load(&written), "%s, %s: B's write to a page it "
		      "had read did not complete in %d ms", case_name[c],
		      way_name[way], WRITE_MS);
		pthread_join(t, NULL);
		CHECK(f1 - f0 <= MAX_FAULTS && m1 - m0 <= MAX_MKWRITES,
		      "%s, %s: one write took %lld faults and %lld mkwrites",
		      case_name[c], way_name[way], f1 - f0, m1 - m0);
		CHECK_PATTERN(page_k, (size_t)it_page, BPAT, "B's own write");
		it_send(fd, 1);
		it_expect(fd, 2);
		CHECK_OK(xpmem_detach(p));
		CHECK_OK(xpmem_release(apid));
		it_send(fd, 3);
	}
}

int main(void)
{
	struct it_peer b, c;
	int r;

	it_init("cow_write");
	b = it_spawn(peer_b, NULL);
	for (r = 0; r < NCASES * NWAYS; r++) {
		int k = r / NWAYS;
		xpmem_segid_t segid;
		char *want;
		size_t i;

		if (is_thp_case(k)) {
			len = HPAGE;
			cow_buf = it_map_aligned(len, HPAGE);
			if (madvise(cow_buf, len, MADV_HUGEPAGE) != 0)
				NOTE("MADV_HUGEPAGE: %s", strerror(errno));
		} else {
			len = NPAGES * (size_t)it_page;
			cow_buf = it_map(len);
		}
		if (is_zero_case(k)) {
			volatile uint64_t sink = 0;

			for (i = 0; i < len; i += (size_t)it_page)
				sink += ((volatile char *)cow_buf)[i];
			(void)sink;
		} else {
			it_fill(cow_buf, len, OLD);
		}
		if (k == WROTE_CHILD_EXITED) {
			fflush(NULL);
			c.pid = fork();
			CHECK(c.pid >= 0, "fork");
			if (c.pid == 0)
				_exit(0);
			it_wait(c.pid);
			c.fd = -1;
		} else {
			c = it_spawn(cow_child,
				     (void *)(uintptr_t)is_zero_case(k));
		}
		segid = it_make(cow_buf, len, 0600);
		it_send(b.fd, (uint64_t)segid);
		it_send(b.fd, (uint64_t)len);
		it_expect(b.fd, 1);	/* B wrote page K */

		want = it_map(len);
		if (!is_zero_case(k))
			it_fill(want, len, OLD);
		it_fill(want + K * it_page, (size_t)it_page, BPAT);
		for (i = 0; i < len; i += (size_t)it_page)
			CHECK(memcmp(cow_buf + i, want + i, (size_t)it_page) == 0,
			      "%s, %s: A's page %zu after B wrote page %d: %s",
			      case_name[k], way_name[r % NWAYS],
			      i / (size_t)it_page, K,
			      i == K * (size_t)it_page ? "B's write is missing"
						       : "changed");
		munmap(want, len);
		if (c.fd >= 0) {
			it_send(c.fd, 1);
			it_expect(c.fd, 2);
			it_join(&c, "A's forked child");
		}
		it_send(b.fd, 2);
		it_expect(b.fd, 3);
		CHECK_OK(xpmem_remove(segid));
		munmap(cow_buf, len);
	}
	it_join(&b, "attacher B");
	return it_result();
}
