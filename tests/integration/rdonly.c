// SPDX-License-Identifier: GPL-2.0-only
/*
 * rdonly: read-only access is read-only in hardware.
 *  - B gets a 0600 segment with XPMEM_RDONLY, attaches, reads A's data;
 *    a store raises SIGSEGV and A's data is unchanged.
 *  - A 0400 segment: RDONLY get works (attach + read), RDWR get fails
 *    with EACCES for its owner once CAP_DAC_OVERRIDE is gone (with it,
 *    root may write as it may write a 0400 file: see permissions).
 *  - A 0604 segment seen by uid 12345 (the "other" class, no
 *    capabilities at all): RDONLY works and is read-only, RDWR: EACCES.
 *  - A read-only source (A's buffer PROT_READ): whatever B asks for, a
 *    store by B must not change A's data (refused at get/attach, or the
 *    store faults).
 */
#include "itest.h"
#include <grp.h>
#include <linux/capability.h>
#include <sys/syscall.h>

#define NPAGES	8
#define PAT	0x600
#define PAT2	0x400
#define PAT3	0x444

/* Drops CAP_DAC_OVERRIDE from the effective and permitted sets. */
static void drop_dac_override(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	CHECK(syscall(SYS_capget, &h, d) == 0, "capget");
	d[0].effective &= ~(1U << CAP_DAC_OVERRIDE);
	d[0].permitted &= ~(1U << CAP_DAC_OVERRIDE);
	CHECK(syscall(SYS_capset, &h, d) == 0, "capset");
}

static void peer_b(int fd, void *arg)
{
	size_t len = NPAGES * it_page, i;
	xpmem_segid_t s600 = (xpmem_segid_t)it_recv(fd);
	xpmem_segid_t s400 = (xpmem_segid_t)it_recv(fd);
	xpmem_segid_t sro = (xpmem_segid_t)it_recv(fd);
	xpmem_apid_t apid;
	char *p;
	int sig;

	(void)arg;
	/* 0600, RDONLY get */
	apid = it_get(s600, XPMEM_RDONLY);
	p = it_attach(apid, 0, len);
	CHECK_PATTERN(p, len, PAT, "RDONLY view of a 0600 segment");
	for (i = 0; i < NPAGES; i++) {
		sig = it_probe_store(p + i * it_page + 8, 0xbad);
		CHECK(sig == SIGSEGV, "store to RDONLY attachment page %zu: "
		      "%s, want SIGSEGV", i, sig ? strsignal(sig) : "no fault");
	}
	CHECK_PATTERN(p, len, PAT, "RDONLY view after refused stores");
	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_release(apid));

	/* 0400: RDONLY fine, RDWR refused */
	apid = it_get(s400, XPMEM_RDONLY);
	p = it_attach(apid, 0, len);
	CHECK_PATTERN(p, len, PAT2, "RDONLY view of a 0400 segment");
	sig = it_probe_store(p, 0xbad);
	CHECK(sig == SIGSEGV, "store to RDONLY view of 0400 segment: %s",
	      sig ? strsignal(sig) : "no fault");
	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_release(apid));
	drop_dac_override();
	EXPECT_ERRNO(xpmem_get(s400, XPMEM_RDWR, XPMEM_PERMIT_MODE, NULL),
		     EACCES, "RDWR get of a 0400 segment by its owner's uid "
		     "without CAP_DAC_OVERRIDE");

	/* read-only source, RDWR get of a 0600 segment */
	errno = 0;
	apid = xpmem_get(sro, XPMEM_RDWR, XPMEM_PERMIT_MODE, NULL);
	if (apid == -1) {
		NOTE("RDWR get of a PROT_READ source refused: errno %d (%s)",
		     errno, strerror(errno));
	} else {
		struct xpmem_addr a = { .apid = apid, .offset = 0 };

		errno = 0;
		p = xpmem_attach(a, len, NULL);
		if (p == (void *)-1) {
			NOTE("RDWR attach of a PROT_READ source refused: "
			     "errno %d (%s)", errno, strerror(errno));
		} else {
			CHECK_PATTERN(p, len, PAT3, "view of PROT_READ source");
			sig = it_probe_store(p, 0xbad);
			CHECK(sig == SIGSEGV || sig == SIGBUS, "store into an "
			      "attachment of a PROT_READ source did not fault");
			CHECK_OK(xpmem_detach(p));
		}
		CHECK_OK(xpmem_release(apid));
	}
	it_send(fd, it_soft_failures ? 100 : 1);
}

/* uid 12345 against root's 0604 segment: the "other" bits are r-- */
static void peer_other(int fd, void *arg)
{
	size_t len = NPAGES * it_page;
	xpmem_segid_t s604 = (xpmem_segid_t)it_recv(fd);
	xpmem_apid_t apid;
	char *p;
	int sig;

	(void)arg;
	CHECK(setgroups(0, NULL) == 0 && setresgid(12345, 12345, 12345) == 0 &&
	      setresuid(12345, 12345, 12345) == 0, "drop to uid 12345");
	CHECK_ERRNO(xpmem_get(s604, XPMEM_RDWR, XPMEM_PERMIT_MODE, NULL),
		    EACCES, "uid 12345: RDWR get of root's 0604 segment");
	apid = it_get(s604, XPMEM_RDONLY);
	p = it_attach(apid, 0, len);
	CHECK_PATTERN(p, len, PAT, "uid 12345: RDONLY view of 0604 segment");
	sig = it_probe_store(p, 0xbad);
	CHECK(sig == SIGSEGV, "uid 12345: store to RDONLY view: %s",
	      sig ? strsignal(sig) : "no fault");
	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_release(apid));
	it_send(fd, 1);
}

int main(void)
{
	struct it_peer b, o;
	struct stat st;
	xpmem_segid_t s604;
	uint64_t bres;
	size_t len;
	char *a600, *a400, *aro;
	xpmem_segid_t s600, s400, sro;

	it_init("rdonly");
	len = NPAGES * it_page;
	b = it_spawn(peer_b, NULL);
	a600 = it_map(len);
	a400 = it_map(len);
	aro = it_map(len);
	it_fill(a600, len, PAT);
	it_fill(a400, len, PAT2);
	it_fill(aro, len, PAT3);
	CHECK(mprotect(aro, len, PROT_READ) == 0, "mprotect");
	s600 = it_make(a600, len, 0600);
	s400 = it_make(a400, len, 0400);
	sro = it_make(aro, len, 0600);
	it_send(b.fd, (uint64_t)s600);
	it_send(b.fd, (uint64_t)s400);
	it_send(b.fd, (uint64_t)sro);
	bres = it_recv(b.fd);
	it_join(&b, "attacher B");

	/* the "other" class, as an unprivileged uid */
	CHECK(stat(XPMEM_DEVICE_PATH, &st) == 0 && (st.st_mode & 0006) == 0006,
	      "%s is not world read-write (mode %o)", XPMEM_DEVICE_PATH,
	      st.st_mode & 07777);
	s604 = it_make(a600, len, 0604);
	o = it_spawn(peer_other, NULL);
	it_send(o.fd, (uint64_t)s604);
	it_expect(o.fd, 1);
	it_join(&o, "uid 12345 attacher");
	CHECK_OK(xpmem_remove(s604));
	CHECK_PATTERN(a600, len, PAT, "A's 0600 data after B's stores");
	CHECK_PATTERN(a400, len, PAT2, "A's 0400 data after B's stores");
	CHECK_PATTERN(aro, len, PAT3, "A's PROT_READ data after B's stores");
	CHECK_OK(xpmem_remove(s600));
	CHECK_OK(xpmem_remove(s400));
	CHECK_OK(xpmem_remove(sro));
	CHECK(bres == 1, "see the FAIL lines of attacher B above");
	return 0;
}
