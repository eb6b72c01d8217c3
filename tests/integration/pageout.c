// SPDX-License-Identifier: GPL-2.0-only
/*
 * pageout: B has faulted in A's segment; A drops the pages from memory
 * with MADV_PAGEOUT.  The pages must really go (an attachment holds no
 * long-term reference) and B must read the correct data afterwards.
 *
 * Anonymous pages cannot be paged out without swap, so the segment is a
 * MAP_SHARED mapping of: a memfd (works when the guest has swap), else a
 * read-only data file that the Makefile wrote next to this binary (clean
 * page cache pages are dropped without swap).  Each backing is first
 * tried without xpmem on a control range; if no backing can be paged out
 * in this guest, the case is skipped.
 *
 *   pageout --mkdata FILE   writes the data file (build time)
 */
#include "itest.h"
#include <libgen.h>
#include <sys/syscall.h>

#define NPAGES	32
#define PAT	0x7a7
#define NEW	0x7b7
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif

static size_t len;

/* number of resident pages of [p, p + n) */
static int resident(void *p, size_t n)
{
	unsigned char vec[NPAGES];
	size_t i;
	int r = 0;

	CHECK(n / it_page <= NPAGES, "resident range");
	CHECK(mincore(p, n, vec) == 0, "mincore");
	for (i = 0; i < n / it_page; i++)
		r += vec[i] & 1;
	return r;
}

/* touch every page, drop them, and count how many went */
static int try_pageout(char *p, size_t n)
{
	volatile char sink;
	size_t i;

	for (i = 0; i < n; i += it_page)
		sink = p[i];
	(void)sink;
	if (madvise(p, n, MADV_PAGEOUT) != 0)
		return 0;
	return (int)(n / it_page) - resident(p, n);
}

struct backing {
	const char *name;
	int fd;
	int writable;
};

static int open_memfd(struct backing *bk)
{
	int fd = (int)syscall(SYS_memfd_create, "xpmem-itest", 0);

	if (fd < 0 || ftruncate(fd, 2 * len) != 0)
		return -1;
	bk->name = "memfd";
	bk->fd = fd;
	bk->writable = 1;
	return 0;
}

static char datafile[4096];

static int open_datafile(struct backing *bk)
{
	struct stat st;
	int fd = open(datafile, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || (size_t)st.st_size < 2 * len) {
		close(fd);
		return -1;
	}
	bk->name = datafile;
	bk->fd = fd;
	bk->writable = 0;
	return 0;
}

static char *map_backing(struct backing *bk, off_t off)
{
	int prot = PROT_READ | (bk->writable ? PROT_WRITE : 0);
	char *p = mmap(NULL, len, prot, MAP_SHARED, bk->fd, off);

	CHECK(p != MAP_FAILED, "mmap %s", bk->name);
	return p;
}

/* a backing whose control range (second half) really pages out */
static int pick_backing(struct backing *bk)
{
	int (*open_fn[])(struct backing *) = { open_memfd, open_datafile };
	size_t i;

	for (i = 0; i < 2; i++) {
		char *ctl;
		int dropped;

		if (open_fn[i](bk) != 0)
			continue;
		ctl = map_backing(bk, (off_t)len);
		if (bk->writable)
			it_fill(ctl, len, PAT);
		dropped = try_pageout(ctl, len);
		munmap(ctl, len);
		NOTE("control: MADV_PAGEOUT of %s dropped %d of %d pages",
		     bk->name, dropped, NPAGES);
		if (dropped >= NPAGES / 2)
			return 0;
		close(bk->fd);
	}
	return -1;
}

static void peer_b(int fd, void *arg)
{
	xpmem_segid_t segid = (xpmem_segid_t)it_recv(fd);
	int writable = (int)it_recv(fd);
	xpmem_apid_t apid = it_get(segid, writable ? XPMEM_RDWR : XPMEM_RDONLY);
	char *p = it_attach(apid, 0, len);

	(void)arg;
	CHECK_PATTERN(p, len, PAT, "B reads A's data");
	it_send(fd, 1);
	it_expect(fd, 2);	/* paged out */
	CHECK_PATTERN(p, len, PAT, "B reads A's data after pageout");
	if (writable) {
		it_send(fd, 3);
		it_expect(fd, 4);
		CHECK_PATTERN(p, len, NEW, "B reads A's writes after pageout");
		it_fill(p, len, PAT);
	}
	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_release(apid));
	it_send(fd, 5);
}

static int mkdata(const char *path)
{
	size_t n = 2 * NPAGES * 65536;	/* enough for any page size */
	char *buf = malloc(n);
	FILE *f = fopen(path, "w");

	if (!buf || !f || (it_fill(buf, n, PAT), fwrite(buf, 1, n, f) != n) ||
	    fclose(f) != 0) {
		perror(path);
		return 1;
	}
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	struct backing bk;
	struct it_peer b;
	xpmem_segid_t segid;
	char self[4096], *buf;
	ssize_t n;
	int dropped, res;

	if (argc == 3 && strcmp(argv[1], "--mkdata") == 0)
		return mkdata(argv[2]);

	it_init("pageout");
	len = NPAGES * it_page;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	CHECK(n > 0, "readlink /proc/self/exe");
	self[n] = 0;
	snprintf(datafile, sizeof(datafile), "%s/pageout.dat", dirname(self));
	if (getenv("ITEST_PAGEOUT_DATA"))
		snprintf(datafile, sizeof(datafile), "%s",
			 getenv("ITEST_PAGEOUT_DATA"));

	if (pick_backing(&bk) != 0)
		it_skip("MADV_PAGEOUT drops nothing here (no swap for memfd, "
			"and %s not reclaimable)", datafile);
	NOTE("using %s", bk.name);

	b = it_spawn(peer_b, NULL);
	buf = map_backing(&bk, 0);
	if (bk.writable)
		it_fill(buf, len, PAT);
	CHECK_PATTERN(buf, len, PAT, "A's buffer");
	segid = it_make(buf, len, 0600);
	it_send(b.fd, (uint64_t)segid);
	it_send(b.fd, (uint64_t)bk.writable);
	it_expect(b.fd, 1);

	CHECK(madvise(buf, len, MADV_PAGEOUT) == 0, "MADV_PAGEOUT");
	res = resident(buf, len);
	dropped = NPAGES - res;
	NOTE("MADV_PAGEOUT with B attached dropped %d of %d pages", dropped,
	     NPAGES);
	CHECK(dropped >= NPAGES / 2, "only %d of %d pages could be paged out "
	      "while B is attached (control range: fine): attachment pins "
	      "pages or raises their mapcount?", dropped, NPAGES);
	it_send(b.fd, 2);
	if (bk.writable) {
		it_expect(b.fd, 3);
		it_fill(buf, len, NEW);
		it_send(b.fd, 4);
	}
	it_expect(b.fd, 5);
	it_join(&b, "attacher B");
	if (bk.writable)
		CHECK_PATTERN(buf, len, PAT, "A reads B's writes");
	CHECK_OK(xpmem_remove(segid));
	return 0;
}
