// SPDX-License-Identifier: GPL-2.0-only
/*
 * loop: ITEST_LOOPS (default 1000) iterations, each in a fresh child of
 * make / get / attach / touch / detach / release / remove.  Every third
 * child exits with everything still live, every third (+1) exits after
 * detaching only; the rest clean up fully.  Every tenth iteration a
 * second child attaches the first's segment and exits before the owner
 * or after it (then its reads must raise SIGBUS).  Afterwards run-suite.sh checks that every gauge is back to 0;
 * here we check that the gauges never grow without bound on the way.
 */
#include "itest.h"

#define NPAGES	4
#define GAUGE_SLACK	64

static size_t len;

static void one_round(int fd, void *arg)
{
	int mode = (int)(intptr_t)arg % 3;
	char *buf = it_map(len), *p;
	xpmem_segid_t segid;
	xpmem_apid_t apid;

	it_fill(buf, len, (uint64_t)getpid());
	segid = it_make(buf, len, 0600);
	apid = it_get(segid, XPMEM_RDWR);
	p = it_attach(apid, 0, len);
	CHECK_PATTERN(p, len, (uint64_t)getpid(), "self attachment");
	p[0] ^= 1;
	CHECK(buf[0] == p[0], "store through the attachment not visible");
	if (fd >= 0) {
		it_send(fd, (uint64_t)segid);
		it_expect(fd, 1);
	}
	if (mode == 0)
		return;				/* everything live */
	CHECK_OK(xpmem_detach(p));
	if (mode == 1)
		return;				/* permit and segment live */
	CHECK_OK(xpmem_release(apid));
	CHECK_OK(xpmem_remove(segid));
}

static void attacher(int fd, void *arg)
{
	xpmem_segid_t segid = (xpmem_segid_t)it_recv(fd);
	xpmem_apid_t apid = it_get(segid, XPMEM_RDWR);
	char *p = it_attach(apid, 0, len);
	volatile char c = p[len - 1];

	(void)c;
	(void)arg;
	it_send(fd, 1);
	if ((intptr_t)arg & 1) {
		uint64_t w;
		int sig;

		it_expect(fd, 2);	/* the owner has exited */
		sig = it_probe_copy(&w, p, sizeof(w));
		CHECK(sig == SIGBUS, "read after the owner exited: %s, want "
		      "SIGBUS", sig ? strsignal(sig) : "data");
	}
	/* exit with the attachment and the permit live */
}

int main(void)
{
	const char *env = getenv("ITEST_LOOPS");
	int loops = env ? atoi(env) : 1000, i;
	long long maxseg = 0;

	it_init("loop");
	len = NPAGES * it_page;
	for (i = 0; i < loops; i++) {
		if (i % 10 == 9) {
			struct it_peer o = it_spawn(one_round, (void *)(intptr_t)i);
			struct it_peer b = it_spawn(attacher, (void *)(intptr_t)(i / 10));

			it_send(b.fd, it_recv(o.fd));
			it_expect(b.fd, 1);
			it_send(o.fd, 1);
			it_join(&o, "owner child");
			if ((i / 10) & 1)	/* the attacher probes the dead segment */
				it_send(b.fd, 2);
			it_join(&b, "attacher child");
		} else {
			pid_t pid;
			int st;

			fflush(NULL);
			pid = fork();
			CHECK(pid >= 0, "fork");
			if (pid == 0) {
				one_round(-1, (void *)(intptr_t)i);
				_exit(0);
			}
			st = it_wait(pid);
			CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			      "iteration %d child failed (status %#x)", i, st);
		}
		long long s = it_counter("segments");

		if (s > maxseg)
			maxseg = s;
		CHECK(s < GAUGE_SLACK, "iteration %d: %lld segments live: "
		      "exited owners' segments are not being reclaimed", i, s);
	}
	NOTE("%d iterations, at most %lld segments live at once", loops,
	     maxseg);
	return 0;
}
