// SPDX-License-Identifier: GPL-2.0-only
/*
 * race_mmap: only ATTACH's own mapping binds an attachment (issue 14,
 * finding 3).
 *
 * The file offset (vm_pgoff) of the next attachment is predictable: the
 * kernel reserves offsets first fit from a moving cursor, npages + 512
 * per attachment, aligned like the owner's address modulo 2 MiB.  With
 * 2 MiB attachments of one segment every attachment's pgoff is the first
 * one's plus 1024 times the number of attaches started since.
 *
 *  - plain mmap() of /dev/xpmem is refused: offset 0, the offset of a
 *    live attachment, its own or a forked child's (inherited fd).
 *  - two threads ATTACH and DETACH in a loop through one fd while RACERS
 *    threads mmap() that fd at the predicted offsets of the attachments
 *    in flight, for a bounded time.  Every racer mmap() must fail and
 *    every ATTACH must succeed with data right.  (The old kernel let a
 *    racer bind the pending attachment: ATTACH then failed with EINVAL
 *    and freed it under the racer's vma, a use-after-free.)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/ioctl.h>

#include "itest.h"

#define HPAGE		(2UL << 20)
#define STRIDE		1024UL		/* pgoffs per 2 MiB attachment */
#define ATTACHERS	2
#define RACERS		4
#define RUN_MS		3000
#define MAX_ROUNDS	4000		/* per attacher */
#define PAT		0x3a3

static int xfd;				/* the fd every thread shares */
static int64_t apid;
static char *buf;
static unsigned long pgoff0;		/* pgoff of the first attachment */
static atomic_ulong started;		/* attaches started after the first */
static atomic_int stop;
static atomic_long racer_tries, racer_hits, attach_fails;
static atomic_long first_bad_errno;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int raw_attach(void **addr)
{
	struct xpmem_cmd_attach at = {
		.apid = apid, .offset = 0, .size = HPAGE,
	};

	if (ioctl(xfd, XPMEM_IOC_ATTACH, &at) != 0)
		return -1;
	*addr = (void *)(uintptr_t)at.vaddr;
	return 0;
}

static int raw_detach(void *addr)
{
	struct xpmem_cmd_detach dt = { .vaddr = (uintptr_t)addr };

	return ioctl(xfd, XPMEM_IOC_DETACH, &dt);
}

/* vm_pgoff of the mapping at addr, from /proc/self/maps */
static unsigned long map_pgoff(void *addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long lo, hi, off, ret = ~0UL;

	if (!f) {
		FAIL("open /proc/self/maps");
	} else {
		char line[512];

		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "%lx-%lx %*s %lx", &lo, &hi, &off) == 3 &&
			    lo == (uintptr_t)addr) {
				ret = off / (unsigned long)it_page;
				break;
			}
		fclose(f);
	}
	CHECK(ret != ~0UL, "attachment %p not in /proc/self/maps", addr);
	return ret;
}

static void *racer(void *arg)
{
	unsigned long k = (unsigned long)(uintptr_t)arg;

	while (!atomic_load(&stop)) {
		/* the attachments in flight, and the next ones */
		unsigned long n = atomic_load(&started), i;

		for (i = 0; i < 3; i++) {
			/* attach number m = j - 1 has pgoff0 + m * STRIDE */
			unsigned long j = n + (i + k) % 3, pg;
			void *p;

			if (!j)
				continue;
			pg = pgoff0 + (j - 1) * STRIDE;
			p = mmap(NULL, HPAGE, PROT_READ, MAP_SHARED, xfd,
				 (off_t)(pg * (unsigned long)it_page));

			atomic_fetch_add(&racer_tries, 1);
			if (p != MAP_FAILED) {
				/*
				 * Bound someone else's attachment.  Report it
				 * and leave the mapping alone: unmapping it is
				 * the use-after-free on the old kernel.
				 */
				if (atomic_fetch_add(&racer_hits, 1) == 0)
					fprintf(stderr, "race_mmap: racer's "
						"plain mmap() at pgoff %#lx "
						"succeeded (%p)\n", pg, p);
				atomic_store(&stop, 1);
				return NULL;
			}
		}
	}
	return NULL;
}

static void *attacher(void *arg)
{
	uint64_t end = *(uint64_t *)arg;
	int r;

	/* at least one round, however slow the kernel */
	for (r = 0; r < MAX_ROUNDS && !atomic_load(&stop) &&
	     (!r || now_ms() < end); r++) {
		void *p;

		atomic_fetch_add(&started, 1);
		if (raw_attach(&p) != 0) {
			long e = errno;

			atomic_fetch_add(&attach_fails, 1);
			atomic_compare_exchange_strong(&first_bad_errno,
						       &(long){0}, e);
			atomic_store(&stop, 1);
			break;
		}
		CHECK(((volatile uint64_t *)p)[1] == it_pat(PAT, 8),
		      "attachment %p: wrong data", p);
		CHECK(raw_detach(p) == 0, "detach %p", p);
	}
	return NULL;
}

/* plain mmap() of the device: refused everywhere */
static void plain_mmaps(void)
{
	void *p;
	unsigned long pg;
	pid_t pid;
	int st;

	EXPECT_ERRNO(mmap(NULL, HPAGE, PROT_READ, MAP_SHARED, xfd, 0),
		     EINVAL, "plain mmap of /dev/xpmem at offset 0");
	EXPECT_ERRNO(mmap(NULL, (size_t)it_page, PROT_READ, MAP_SHARED, xfd,
			  0), EINVAL, "plain one-page mmap at offset 0");
	CHECK(raw_attach(&p) == 0, "attach");
	pg = map_pgoff(p);
	EXPECT_ERRNO(mmap(NULL, HPAGE, PROT_READ, MAP_SHARED, xfd,
			  (off_t)(pg * (unsigned long)it_page)), EINVAL,
		     "plain mmap at a live attachment's offset");
	/* the next attachment's offset, before its ATTACH */
	EXPECT_ERRNO(mmap(NULL, HPAGE, PROT_READ, MAP_SHARED, xfd,
			  (off_t)((pg + STRIDE) * (unsigned long)it_page)),
		     EINVAL, "plain mmap at the next attachment's offset");
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		void *q = mmap(NULL, HPAGE, PROT_READ, MAP_SHARED, xfd,
			 (off_t)(pg * (unsigned long)it_page));
		if (q != MAP_FAILED) {
			fprintf(stderr, "race_mmap: forked child's mmap of the "
				"inherited fd at its parent's attachment "
				"succeeded\n");
			_exit(1);
		}
		_exit(errno == EINVAL ? 0 : 2);
	}
	st = it_wait(pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "forked child mmap of the inherited fd: status %#x", st);
	CHECK(raw_detach(p) == 0, "detach");
	/* these consumed pgoffs: the next attachment tells where we are */
	CHECK(raw_attach(&p) == 0, "attach");
	pgoff0 = map_pgoff(p);
	CHECK(raw_detach(p) == 0, "detach");
}

int main(void)
{
	struct xpmem_cmd_get gt = { 0 };
	pthread_t at[ATTACHERS], rc[RACERS];
	xpmem_segid_t segid;
	uint64_t t0, end;
	long long att0;
	int i;

	it_init("race_mmap");
	buf = it_map_aligned(HPAGE, HPAGE);
	it_fill(buf, HPAGE, PAT);
	segid = it_make(buf, HPAGE, 0600);
	xfd = open(XPMEM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	CHECK(xfd >= 0, "open %s", XPMEM_DEVICE_PATH);
	gt.segid = segid;
	gt.flags = XPMEM_UAPI_RDONLY;
	gt.permit_type = XPMEM_UAPI_PERMIT_MODE;
	CHECK(ioctl(xfd, XPMEM_IOC_GET, &gt) == 0, "raw GET");
	apid = gt.apid;

	plain_mmaps();

	att0 = it_counter("attaches");
	t0 = now_ms();
	end = t0 + RUN_MS;
	for (i = 0; i < RACERS; i++)
		CHECK(pthread_create(&rc[i], NULL, racer,
				     (void *)(uintptr_t)i) == 0, "racer");
	for (i = 0; i < ATTACHERS; i++)
		CHECK(pthread_create(&at[i], NULL, attacher, &end) == 0,
		      "attacher");
	for (i = 0; i < ATTACHERS; i++)
		pthread_join(at[i], NULL);
	atomic_store(&stop, 1);
	for (i = 0; i < RACERS; i++)
		pthread_join(rc[i], NULL);
	NOTE("%lu attaches, %ld racer mmaps, %ld bound, %ld ATTACH failures, "
	     "attaches counter +%lld, %llu ms", atomic_load(&started),
	     atomic_load(&racer_tries), atomic_load(&racer_hits),
	     atomic_load(&attach_fails), it_counter("attaches") - att0,
	     (unsigned long long)(now_ms() - t0));
	if (atomic_load(&attach_fails)) {
		errno = (int)atomic_load(&first_bad_errno);
		FAIL("ATTACH failed while racers mmap()ed predicted offsets");
	}
	CHECK(atomic_load(&racer_hits) == 0,
	      "a racer's plain mmap() bound a pending attachment");
	CHECK(atomic_load(&started) > 0, "no attach ran");
	CHECK(it_counter("attaches") - att0 == (long long)atomic_load(&started),
	      "attaches counter does not match the attaches made");
	close(xfd);
	CHECK_OK(xpmem_remove(segid));
	return it_result();
}
