// SPDX-License-Identifier: GPL-2.0
/*
 * bench_local: single-node figures, each next to its reference measured
 * in the same process tree in the same run (bench/guest-local.sh).
 *
 *   bench_local copy [MAX_MIB]   warm copy out of an attachment vs the
 *                                owner's own memcpy vs process_vm_readv,
 *                                4 KiB .. MAX_MIB (default 256) MiB
 *   bench_local touch MODE [MIB] xpmem_attach + first touch of every 4 KiB
 *                                of MIB (default 1024) MiB; MODE is
 *                                4k (fault_batch=1 fault_around=1: one
 *                                page per fault), batch (the module's
 *                                defaults), hugetlb (owner on 2 MiB
 *                                MAP_HUGETLB pages) or thp (owner on
 *                                transparent huge pages)
 *   bench_local touch owner [MIB] the reference of the 4 KiB modes: a fresh
 *                                process's first read of every 4 KiB of
 *                                MIB MiB of its own fresh anonymous memory
 *   bench_local cycle [KIB]      xpmem_get + xpmem_attach + xpmem_detach +
 *                                xpmem_release of a KIB (default 64) KiB
 *                                segment, next to mmap + munmap of as
 *                                much anonymous memory, in one process
 *
 * One JSON object per figure on stdout (bench.h).
 */
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xpmem.h>

#include "bench.h"

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << 26)
#endif

static void *map_anon(size_t size, int extra)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | extra, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void fill(unsigned char *p, size_t size, unsigned int seed)
{
	size_t i;

	for (i = 0; i < size; i += sizeof(uint64_t))
		*(uint64_t *)(p + i) = i * 0x9e3779b97f4a7c15ULL + seed;
}

/* Samples per size and bytes per sample (small copies are repeated). */
static int reps_for(size_t size)
{
	return size >= 64 * MIB ? 5 : 9;
}

static unsigned long loops_for(size_t size)
{
	return size >= 8 * MIB ? 1 : 8 * MIB / size;
}

static void sample_memcpy(struct bench_stats *st, void *dst, const void *src,
			  size_t size)
{
	unsigned long i, loops = loops_for(size);
	int r;

	memcpy(dst, src, size);	/* warm */
	for (r = 0; r < reps_for(size); r++) {
		double t0 = bench_now();

		for (i = 0; i < loops; i++) {
			memcpy(dst, src, size);
			bench_clobber(dst);
		}
		bench_add(st, (double)size * loops / (bench_now() - t0) / 1e6);
	}
}

static void sample_cma(struct bench_stats *st, pid_t pid, void *dst,
		       void *src, size_t size)
{
	struct iovec local = { .iov_base = dst, .iov_len = size };
	struct iovec remote = { .iov_base = src, .iov_len = size };
	unsigned long i, loops = loops_for(size);
	int r;

	/*
	 * The kernel's copy is slow under TCG (rep movsb): from 64 MiB on,
	 * 3 samples and no warm-up copy, or 256 MiB alone takes minutes.
	 */
	int reps = size >= 64 * MIB ? 3 : reps_for(size);

	for (r = size >= 64 * MIB ? 0 : -1; r < reps; r++) {	/* -1: warm */
		double t0 = bench_now();

		for (i = 0; i < loops; i++)
			if (process_vm_readv(pid, &local, 1, &remote, 1, 0) !=
			    (ssize_t)size)
				bench_die("process_vm_readv");
		if (r >= 0)
			bench_add(st, (double)size * loops /
				  (bench_now() - t0) / 1e6);
	}
}

static void xread(int fd, void *p, size_t n)
{
	if (read(fd, p, n) != (ssize_t)n)
		bench_die("pipe read");
}

static void xwrite(int fd, const void *p, size_t n)
{
	if (write(fd, p, n) != (ssize_t)n)
		bench_die("pipe write");
}

/*
 * The owner (parent) and the attacher (child) take turns per size: the
 * owner times memcpy out of its buffer, then the child times memcpy out
 * of its attachment of that buffer and process_vm_readv of it.  Each
 * copies into a destination buffer of its own, touched beforehand.
 */
static int cmd_copy(size_t max)
{
	int down[2], up[2];
	unsigned char *buf = map_anon(max, 0), *dst = map_anon(max, 0);
	xpmem_segid_t segid;
	pid_t owner = getpid(), child;
	size_t size;
	int status;

	if (!buf || !dst || pipe(down) || pipe(up))
		bench_die("setup");
	fill(buf, max, 1);
	memset(dst, 0, max);
	/* the child maps neither: nothing of the owner's becomes COW */
	madvise(buf, max, MADV_DONTFORK);
	madvise(dst, max, MADV_DONTFORK);
	segid = xpmem_make(buf, max, XPMEM_PERMIT_MODE, (void *)0600);
	if (segid < 0)
		bench_die("xpmem_make");

	child = fork();
	if (child < 0)
		bench_die("fork");
	if (child == 0) {
		xpmem_apid_t apid = xpmem_get(segid, XPMEM_RDONLY,
					      XPMEM_PERMIT_MODE, NULL);
		struct xpmem_addr xa = { .apid = apid, .offset = 0 };
		unsigned char *att, *cdst = map_anon(max, 0);
		char go;

		if (apid < 0 || !cdst)
			bench_die("xpmem_get");
		att = xpmem_attach(xa, max, NULL);
		if (att == (void *)-1)
			bench_die("xpmem_attach");
		memset(cdst, 0, max);
		memcpy(cdst, att, max);	/* fault the whole attachment in */
		for (size = 0; size < max; size += 4 * KIB)
			if (*(uint64_t *)(cdst + size) !=
			    size * 0x9e3779b97f4a7c15ULL + 1)
				bench_die("attachment data differs from the owner's");
		for (size = 4 * KIB; size <= max; size *= 4) {
			struct bench_stats sa = { 0 }, sc = { 0 };

			xread(down[0], &go, 1);
			sample_memcpy(&sa, cdst, att, size);
			bench_emit("copy_attach", size, "MB/s", &sa, BENCH_END);
			/* BENCH_NO_CMA: a rerun for memcpy only (bench.h) */
			if (!getenv("BENCH_NO_CMA")) {
				sample_cma(&sc, owner, cdst, buf, size);
				bench_emit("copy_cma", size, "MB/s", &sc,
					   BENCH_END);
			}
			xwrite(up[1], "d", 1);
		}
		xpmem_detach(att);
		xpmem_release(apid);
		_exit(0);
	}

	for (size = 4 * KIB; size <= max; size *= 4) {
		struct bench_stats so = { 0 };
		char done;

		sample_memcpy(&so, dst, buf, size);
		bench_emit("copy_memcpy", size, "MB/s", &so, BENCH_END);
		xwrite(down[1], "g", 1);
		xread(up[0], &done, 1);
	}
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		bench_die("attacher failed");
	xpmem_remove(segid);
	munmap(buf, max);
	munmap(dst, max);
	return 0;
}

/* The owner's buffer for a touch mode, populated; NULL if unavailable. */
static unsigned char *touch_buffer(const char *mode, size_t size)
{
	unsigned char *p = NULL;

	if (!strcmp(mode, "hugetlb")) {
		p = map_anon(size, MAP_HUGETLB | MAP_HUGE_2MB);
	} else if (!strcmp(mode, "thp")) {
		/* 2 MiB aligned, so that every PMD of it can be a THP */
		unsigned char *raw = map_anon(size + 2 * MIB, 0);
		uintptr_t a;

		if (!raw)
			return NULL;
		a = ((uintptr_t)raw + 2 * MIB - 1) & ~(uintptr_t)(2 * MIB - 1);
		p = (unsigned char *)a;
		if (madvise(p, size, MADV_HUGEPAGE))
			return NULL;
	} else {
		p = map_anon(size, 0);
		if (p)
			madvise(p, size, MADV_NOHUGEPAGE);
	}
	if (p)
		fill(p, size, 7);
	return p;
}

/*
 * One sample: a child gets a permit, and times xpmem_attach of the whole
 * buffer plus a read of one byte in every 4 KiB page.  Counter deltas
 * (faults, pmd_maps) come back with it.
 */
static int touch_once(xpmem_segid_t segid, size_t size, double *secs,
		      long *faults, long *pmds, uint64_t *sum)
{
	int fd[2], status;
	pid_t pid;
	struct {
		double secs;
		long faults, pmds;
		uint64_t sum;
	} r;

	if (pipe(fd))
		bench_die("pipe");
	pid = fork();
	if (pid < 0)
		bench_die("fork");
	if (pid == 0) {
		xpmem_apid_t apid = xpmem_get(segid, XPMEM_RDONLY,
					      XPMEM_PERMIT_MODE, NULL);
		struct xpmem_addr xa = { .apid = apid, .offset = 0 };
		volatile unsigned char *att;
		long f0 = bench_counter("faults"), p0 = bench_counter("pmd_maps");
		size_t i;
		double t0;

		if (apid < 0)
			bench_die("xpmem_get");
		r.sum = 0;
		t0 = bench_now();
		att = xpmem_attach(xa, size, NULL);
		if (att == (void *)-1)
			bench_die("xpmem_attach");
		for (i = 0; i < size; i += 4 * KIB)
			r.sum += att[i + (i >> 12) % 64 * 8];
		r.secs = bench_now() - t0;
		r.faults = bench_counter("faults") - f0;
		r.pmds = bench_counter("pmd_maps") - p0;
		xpmem_detach((void *)att);
		xpmem_release(apid);
		xwrite(fd[1], &r, sizeof(r));
		_exit(0);
	}
	close(fd[1]);
	xread(fd[0], &r, sizeof(r));
	close(fd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -1;
	*secs = r.secs;
	*faults = r.faults;
	*pmds = r.pmds;
	*sum = r.sum;
	return 0;
}

/*
 * The reference of the 4 KiB touch figures: a fresh child maps @size of
 * anonymous memory (4 KiB pages) and reads one byte of every page, the
 * same bytes as touch_once(), timed from before its mmap.  Every read
 * is a fault that maps the zero page: the core's cheapest fault.
 */
static int cmd_touch_owner(size_t size)
{
	struct bench_stats st = { 0 };
	int r;

	for (r = 0; r < 3; r++) {
		int fd[2], status;
		double secs;
		pid_t pid;

		if (pipe(fd))
			bench_die("pipe");
		pid = fork();
		if (pid < 0)
			bench_die("fork");
		if (pid == 0) {
			volatile unsigned char *p;
			uint64_t sum = 0;
			double t0 = bench_now();
			size_t i;

			p = map_anon(size, 0);
			if (!p || madvise((void *)p, size, MADV_NOHUGEPAGE))
				bench_die("mmap");
			for (i = 0; i < size; i += 4 * KIB)
				sum += p[i + (i >> 12) % 64 * 8];
			secs = bench_now() - t0;
			if (sum)
				bench_die("fresh memory is not zero");
			xwrite(fd[1], &secs, sizeof(secs));
			_exit(0);
		}
		close(fd[1]);
		xread(fd[0], &secs, sizeof(secs));
		close(fd[0]);
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			bench_die("owner touch");
		bench_add(&st, secs * 1e3);
	}
	bench_emit("touch_owner", size, "ms", &st, BENCH_END);
	return 0;
}

/*
 * The life of an attachment that is used once, as MPI libraries without
 * an attachment cache do per message: xpmem_get, xpmem_attach,
 * xpmem_detach, xpmem_release, nothing touched.  The reference is the
 * same process's mmap + munmap of as much anonymous memory (an attach is
 * an mmap of the device, a detach an munmap).  Reported next to them:
 * get + release alone, attach + detach alone (one permit held), and
 * mmap + munmap (MAP_SHARED) of a memfd: a file mapping, as an
 * attachment is, which never merges with its neighbours.  Samples of
 * the kinds alternate.
 */
#define CYCLE_LOOPS	200

enum { CYC_XPMEM, CYC_MMAP, CYC_GETREL, CYC_ATTDET, CYC_SHMEM, CYC_N };

/* CYCLE_LOOPS of one kind of cycle; returns microseconds per cycle. */
static double cycle_loops(int kind, xpmem_segid_t segid, xpmem_apid_t held,
			  int memfd, size_t size)
{
	double t0 = bench_now();
	int i;

	for (i = 0; i < CYCLE_LOOPS; i++) {
		xpmem_apid_t apid = held;
		void *p;

		switch (kind) {
		case CYC_MMAP:
			p = mmap(NULL, size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED || munmap(p, size))
				bench_die("mmap/munmap");
			continue;
		case CYC_SHMEM:
			p = mmap(NULL, size, PROT_READ | PROT_WRITE,
				 MAP_SHARED, memfd, 0);
			if (p == MAP_FAILED || munmap(p, size))
				bench_die("mmap/munmap");
			continue;
		case CYC_XPMEM:
		case CYC_GETREL:
			apid = xpmem_get(segid, XPMEM_RDWR, XPMEM_PERMIT_MODE,
					 NULL);
			if (apid < 0)
				bench_die("xpmem_get");
			break;
		}
		if (kind != CYC_GETREL) {
			struct xpmem_addr xa = { .apid = apid, .offset = 0 };

			p = xpmem_attach(xa, size, NULL);
			if (p == (void *)-1 || xpmem_detach(p))
				bench_die("xpmem_attach/detach");
		}
		if (kind != CYC_ATTDET && xpmem_release(apid))
			bench_die("xpmem_release");
	}
	return (bench_now() - t0) * 1e6 / CYCLE_LOOPS;
}

static void cycle_child(xpmem_segid_t segid, size_t size)
{
	static const char *const names[CYC_N] = {
		"cycle_xpmem", "cycle_mmap", "cycle_get_release",
		"cycle_attach_detach", "cycle_mmap_memfd",
	};
	struct bench_stats st[CYC_N] = { 0 };
	xpmem_apid_t held = xpmem_get(segid, XPMEM_RDWR, XPMEM_PERMIT_MODE,
				      NULL);
	int memfd = memfd_create("cycle", MFD_CLOEXEC);
	int r, k;

	if (held < 0)
		bench_die("xpmem_get");
	if (memfd < 0 || ftruncate(memfd, (off_t)size))
		bench_die("memfd");
	for (r = -1; r < 15; r++)	/* -1: warm-up */
		for (k = 0; k < CYC_N; k++) {
			double us = cycle_loops(k, segid, held, memfd, size);

			if (r >= 0)
				bench_add(&st[k], us);
		}
	for (k = 0; k < CYC_N; k++)
		bench_emit(names[k], size, "us", &st[k], BENCH_END);
	xpmem_release(held);
	close(memfd);
}

/* The owner (parent) makes the segment; a child attaches, as MPI does. */
static int cmd_cycle(size_t size)
{
	unsigned char *buf = map_anon(size, 0);
	xpmem_segid_t segid;
	int status;
	pid_t pid;

	if (!buf)
		bench_die("mmap");
	fill(buf, size, 3);
	madvise(buf, size, MADV_DONTFORK);
	segid = xpmem_make(buf, size, XPMEM_PERMIT_MODE, (void *)0600);
	if (segid < 0)
		bench_die("xpmem_make");
	pid = fork();
	if (pid < 0)
		bench_die("fork");
	if (pid == 0) {
		cycle_child(segid, size);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		bench_die("cycle child");
	xpmem_remove(segid);
	munmap(buf, size);
	return 0;
}

/* Puts back the module parameters that cmd_touch() changed (> 0). */
static void restore_params(long batch, long around)
{
	char val[32];

	if (batch > 0) {
		snprintf(val, sizeof(val), "%ld", batch);
		bench_param("fault_batch", val);
	}
	if (around > 0) {
		snprintf(val, sizeof(val), "%ld", around);
		bench_param("fault_around", val);
	}
}

static int cmd_touch(const char *mode, size_t size)
{
	struct bench_stats st = { 0 };
	unsigned char *buf;
	long batch = -1, around = -1, faults = 0, pmds = 0;
	uint64_t want = 0, sum;
	xpmem_segid_t segid;
	char name[64];
	size_t i;
	int r;

	if (!strcmp(mode, "4k")) {
		batch = bench_param("fault_batch", "1");
		around = bench_param("fault_around", "1");	/* -1: none */
	}
	buf = touch_buffer(mode, size);
	if (!buf) {
		fprintf(stderr, "bench: no %s buffer of %zu MiB: %s\n", mode,
			size / MIB, strerror(errno));
		restore_params(batch, around);
		return 3;
	}
	for (i = 0; i < size; i += 4 * KIB)
		want += buf[i + (i >> 12) % 64 * 8];
	segid = xpmem_make(buf, size, XPMEM_PERMIT_MODE, (void *)0600);
	if (segid < 0)
		bench_die("xpmem_make");
	for (r = 0; r < 3; r++) {
		double secs;

		if (touch_once(segid, size, &secs, &faults, &pmds, &sum) ||
		    sum != want)
			bench_die("attach and touch (or wrong data)");
		bench_add(&st, secs * 1e3);
	}
	snprintf(name, sizeof(name), "touch_%s", mode);
	bench_emit(name, size, "ms", &st, "faults", (double)faults,
		   "pmd_maps", (double)pmds, "fault_batch",
		   (double)bench_param("fault_batch", NULL), "fault_around",
		   (double)bench_param("fault_around", NULL), BENCH_END);
	restore_params(batch, around);
	xpmem_remove(segid);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "copy"))
		return cmd_copy((argc > 2 ? strtoul(argv[2], NULL, 0) : 256) *
				MIB);
	if (argc >= 3 && !strcmp(argv[1], "touch") && !strcmp(argv[2], "owner"))
		return cmd_touch_owner((argc > 3 ? strtoul(argv[3], NULL, 0) :
					1024) * MIB);
	if (argc >= 2 && !strcmp(argv[1], "cycle"))
		return cmd_cycle((argc > 2 ? strtoul(argv[2], NULL, 0) : 64) *
				 KIB);
	if (argc >= 3 && !strcmp(argv[1], "touch"))
		return cmd_touch(argv[2], (argc > 3 ? strtoul(argv[3], NULL, 0) :
					   1024) * MIB);
	fprintf(stderr, "usage: bench_local copy [MAX_MIB] | touch 4k|batch|hugetlb|thp|owner [MIB] | cycle [KIB]\n");
	return 2;
}
