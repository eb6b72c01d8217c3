// SPDX-License-Identifier: GPL-2.0-only
/*
 * bad_input: every malformed call fails with a precise errno and leaves
 * nothing behind (run-suite.sh checks the gauges afterwards, the harness
 * checks the kernel log).  First through libxpmem, then the same shapes
 * as raw ioctls on our own /dev/xpmem fd, so the kernel's own checks are
 * exercised even where the library filters first.
 *
 * Each wrong errno is reported and the case goes on (EXPECT_ERRNO).
 *
 * Unknown ids: ENOENT.  Malformed arguments: EINVAL.  Unknown ioctl:
 * ENOTTY.  Detach of something that is not an attachment: EINVAL.
 */
#include "itest.h"
#include <sys/ioctl.h>
#include <sys/random.h>

#define NPAGES	4

static int xfd;

static long long rnd63(void)
{
	uint64_t v = 0;

	CHECK(getrandom(&v, sizeof(v), 0) == sizeof(v), "getrandom");
	return (long long)(v >> 1) | 1;
}

static int raw(unsigned long req, void *cmd)
{
	return ioctl(xfd, req, cmd);
}

static void via_library(char *buf, size_t len)
{
	xpmem_segid_t segid, s2;
	xpmem_apid_t apid;
	char *p;
	struct xpmem_addr a;
	int i;
	char stackvar[64];

	/* make */
	EXPECT_ERRNO(xpmem_make(buf, 0, XPMEM_PERMIT_MODE, (void *)0600),
		    EINVAL, "make size 0");
	EXPECT_ERRNO(xpmem_make(buf + 1, it_page, XPMEM_PERMIT_MODE,
			       (void *)0600), EINVAL, "make unaligned vaddr");
	EXPECT_ERRNO(xpmem_make(buf, it_page + 1, XPMEM_PERMIT_MODE,
			       (void *)0600), EINVAL, "make unaligned size");
	EXPECT_ERRNO(xpmem_make((void *)(uintptr_t)-(uintptr_t)it_page,
			       2 * it_page, XPMEM_PERMIT_MODE, (void *)0600),
		    EINVAL, "make vaddr+size overflowing");
	EXPECT_ERRNO(xpmem_make(buf, (size_t)-2 * (size_t)it_page,
			       XPMEM_PERMIT_MODE, (void *)0600),
		    EINVAL, "make vaddr+huge size overflowing");
	EXPECT_ERRNO(xpmem_make(buf, len, 0, (void *)0600), EINVAL,
		    "make permit_type 0");
	EXPECT_ERRNO(xpmem_make(buf, len, 2, (void *)0600), EINVAL,
		    "make permit_type 2");
	EXPECT_ERRNO(xpmem_make(buf, len, XPMEM_PERMIT_MODE, (void *)01777),
		    EINVAL, "make mode with non-permission bits");

	/* unknown segids: random values, and a real id with other random bits */
	for (i = 0; i < 16; i++)
		EXPECT_ERRNO(xpmem_get(rnd63(), XPMEM_RDWR, XPMEM_PERMIT_MODE,
				      NULL), ENOENT, "get of a random segid");
	segid = it_make(buf, len, 0600);
	EXPECT_ERRNO(xpmem_get(segid ^ (1LL << XPMEM_SEGID_RAND_SHIFT),
			      XPMEM_RDWR, XPMEM_PERMIT_MODE, NULL), ENOENT,
		    "get of a real segid with one random bit flipped");
	EXPECT_ERRNO(xpmem_get(segid ^ (1LL << (XPMEM_SEGID_RAND_SHIFT +
						XPMEM_SEGID_RAND_BITS - 1)),
			      XPMEM_RDWR, XPMEM_PERMIT_MODE, NULL), ENOENT,
		    "get of a real segid with the top random bit flipped");
	EXPECT_ERRNO(xpmem_remove(rnd63()), ENOENT, "remove of a random segid");
	EXPECT_ERRNO(xpmem_get(segid, 0, XPMEM_PERMIT_MODE, NULL), EINVAL,
		    "get flags 0");
	EXPECT_ERRNO(xpmem_get(segid, XPMEM_RDONLY | XPMEM_RDWR,
			      XPMEM_PERMIT_MODE, NULL), EINVAL, "get flags 3");
	EXPECT_ERRNO(xpmem_get(segid, XPMEM_RDWR, 0, NULL), EINVAL,
		    "get permit_type 0");

	/* attach */
	apid = it_get(segid, XPMEM_RDWR);
	a.apid = apid;
	a.offset = (off_t)len + it_page;
	EXPECT_ERRNO(xpmem_attach(a, it_page, NULL), EINVAL,
		    "attach offset past the end");
	a.offset = (off_t)len;
	EXPECT_ERRNO(xpmem_attach(a, it_page, NULL), EINVAL,
		    "attach offset at the end");
	a.offset = 2 * it_page;
	EXPECT_ERRNO(xpmem_attach(a, len, NULL), EINVAL,
		    "attach offset+size past the end");
	a.offset = it_page;
	EXPECT_ERRNO(xpmem_attach(a, (size_t)-(size_t)it_page, NULL), EINVAL,
		    "attach offset+size overflowing");
	a.offset = 0;
	EXPECT_ERRNO(xpmem_attach(a, 0, NULL), EINVAL, "attach size 0");
	a.apid = rnd63();
	EXPECT_ERRNO(xpmem_attach(a, it_page, NULL), ENOENT,
		    "attach with an unknown apid");
	a.apid = apid ^ (1LL << 40);
	EXPECT_ERRNO(xpmem_attach(a, it_page, NULL), ENOENT,
		    "attach with a real apid's random bits changed");

	/* detach */
	p = it_attach(apid, 0, len);
	EXPECT_ERRNO(xpmem_detach(buf), EINVAL,
		    "detach of an ordinary mapping");
	EXPECT_ERRNO(xpmem_detach(stackvar), EINVAL, "detach of a stack address");
	EXPECT_ERRNO(xpmem_detach(NULL), EINVAL, "detach of NULL");
	CHECK_OK(xpmem_detach(p + it_page));	/* any address inside */
	EXPECT_ERRNO(xpmem_detach(p), EINVAL, "detach twice");

	/* release / remove twice */
	EXPECT_ERRNO(xpmem_release(rnd63()), ENOENT, "release of a random apid");
	CHECK_OK(xpmem_release(apid));
	EXPECT_ERRNO(xpmem_release(apid), ENOENT, "release twice");
	a.apid = apid;
	EXPECT_ERRNO(xpmem_attach(a, it_page, NULL), ENOENT,
		    "attach with a released apid");
	CHECK_OK(xpmem_remove(segid));
	EXPECT_ERRNO(xpmem_remove(segid), ENOENT, "remove twice");
	EXPECT_ERRNO(xpmem_get(segid, XPMEM_RDWR, XPMEM_PERMIT_MODE, NULL),
		    ENOENT, "get of a removed segid");

	/* ids are not reused right away: a new segment gets a new id */
	s2 = it_make(buf, len, 0600);
	CHECK(s2 != segid, "segid %#llx reused at once", (long long)segid);
	CHECK_OK(xpmem_remove(s2));
}

static void via_ioctl(char *buf, size_t len)
{
	struct xpmem_cmd_make mk;
	struct xpmem_cmd_get gt;
	struct xpmem_cmd_attach at;
	struct xpmem_cmd_detach dt;
	struct xpmem_cmd_release rl;
	struct xpmem_cmd_remove rm;
	__u32 ver = 0;

	xfd = open(XPMEM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	CHECK(xfd >= 0, "open %s", XPMEM_DEVICE_PATH);
	CHECK(raw(XPMEM_IOC_VERSION, &ver) == 0 && ver == XPMEM_ABI_VERSION,
	      "raw VERSION = %#x", ver);
	EXPECT_ERRNO(raw(_IO(XPMEM_IOC_MAGIC, 0x7f), NULL), ENOTTY,
		    "unknown ioctl");

#define MK(v, s, t, m) (mk = (struct xpmem_cmd_make){ .vaddr = (v),	\
	.size = (s), .permit_type = (t), .permit_mode = (m) }, &mk)
	EXPECT_ERRNO(raw(XPMEM_IOC_MAKE, MK((uintptr_t)buf, 0, 1, 0600)),
		    EINVAL, "raw make size 0");
	EXPECT_ERRNO(raw(XPMEM_IOC_MAKE, MK((uintptr_t)buf, len, 0, 0600)),
		    EINVAL, "raw make permit_type 0");
	EXPECT_ERRNO(raw(XPMEM_IOC_MAKE, MK((uintptr_t)buf, len, 7, 0600)),
		    EINVAL, "raw make permit_type 7");
	EXPECT_ERRNO(raw(XPMEM_IOC_MAKE, MK((uintptr_t)buf, len, 1, 010000)),
		    EINVAL, "raw make mode 010000");
	EXPECT_ERRNO(raw(XPMEM_IOC_MAKE, MK((uintptr_t)buf + 8, len, 1, 0600)),
		    EINVAL, "raw make unaligned vaddr");
	EXPECT_ERRNO(raw(XPMEM_IOC_MAKE, MK(-(__u64)it_page, 2 * it_page, 1,
					   0600)),
		    EINVAL, "raw make vaddr+size overflowing");
	EXPECT_ERRNO(raw(XPMEM_IOC_MAKE, MK((uintptr_t)buf,
					   ~(__u64)0 - (__u64)it_page + 1,
					   1, 0600)),
		    EINVAL, "raw make size ~0 - page + 1 (not MAXADDR)");
	EXPECT_ERRNO(raw(XPMEM_IOC_MAKE, MK(1ULL << 62, it_page, 1, 0600)),
		    EINVAL, "raw make of a non-user address");

	CHECK(raw(XPMEM_IOC_MAKE, MK((uintptr_t)buf, len, 1, 0600)) == 0,
	      "raw make");
	CHECK(mk.segid > 0, "raw make segid %lld", (long long)mk.segid);

#define GT(f, t, v) (gt = (struct xpmem_cmd_get){ .segid = mk.segid,	\
	.flags = (f), .permit_type = (t), .permit_value = (v) }, &gt)
	EXPECT_ERRNO(raw(XPMEM_IOC_GET, GT(0, 1, 0)), EINVAL, "raw get flags 0");
	EXPECT_ERRNO(raw(XPMEM_IOC_GET, GT(4, 1, 0)), EINVAL, "raw get flags 4");
	EXPECT_ERRNO(raw(XPMEM_IOC_GET, GT(3, 1, 0)), EINVAL, "raw get flags 3");
	EXPECT_ERRNO(raw(XPMEM_IOC_GET, GT(2, 0, 0)), EINVAL,
		    "raw get permit_type 0");
	EXPECT_ERRNO(raw(XPMEM_IOC_GET, GT(2, 1, 0666)), EINVAL,
		    "raw get permit_value != 0 (uapi: must be 0)");
	gt.segid = -5;
	EXPECT_ERRNO(raw(XPMEM_IOC_GET, (gt.flags = 2, gt.permit_value = 0,
					gt.permit_type = 1, &gt)), ENOENT,
		    "raw get negative segid");
	CHECK(raw(XPMEM_IOC_GET, GT(2, 1, 0)) == 0 && gt.apid > 0, "raw get");

#define AT(o, s, f, r) (at = (struct xpmem_cmd_attach){ .apid = gt.apid, \
	.offset = (o), .size = (s), .flags = (f), .reserved = (r) }, &at)
	EXPECT_ERRNO(raw(XPMEM_IOC_ATTACH, AT(0, len, 1, 0)), EINVAL,
		    "raw attach flags != 0");
	EXPECT_ERRNO(raw(XPMEM_IOC_ATTACH, AT(0, len, 0, 1)), EINVAL,
		    "raw attach reserved != 0");
	EXPECT_ERRNO(raw(XPMEM_IOC_ATTACH, AT(it_page, ~(__u64)0, 0, 0)),
		    EINVAL, "raw attach offset+size overflowing");
	EXPECT_ERRNO(raw(XPMEM_IOC_ATTACH, AT(~(__u64)0 - it_page + 1,
					     it_page, 0, 0)),
		    EINVAL, "raw attach huge offset");
	EXPECT_ERRNO(raw(XPMEM_IOC_ATTACH, AT(0, 0, 0, 0)), EINVAL,
		    "raw attach size 0");
	EXPECT_ERRNO(raw(XPMEM_IOC_ATTACH, AT(len, it_page, 0, 0)), EINVAL,
		    "raw attach offset at the end");
	CHECK(raw(XPMEM_IOC_ATTACH, AT(0, len, 0, 0)) == 0 && at.vaddr,
	      "raw attach");
	CHECK(it_verify((void *)(uintptr_t)at.vaddr, len, 0xbad1) < 0,
	      "raw attachment data");

	dt.vaddr = (uintptr_t)buf;
	EXPECT_ERRNO(raw(XPMEM_IOC_DETACH, &dt), EINVAL,
		    "raw detach of an ordinary mapping");
	dt.vaddr = at.vaddr;
	CHECK(raw(XPMEM_IOC_DETACH, &dt) == 0, "raw detach");
	EXPECT_ERRNO(raw(XPMEM_IOC_DETACH, &dt), EINVAL, "raw detach twice");
	rl.apid = gt.apid;
	CHECK(raw(XPMEM_IOC_RELEASE, &rl) == 0, "raw release");
	EXPECT_ERRNO(raw(XPMEM_IOC_RELEASE, &rl), ENOENT, "raw release twice");
	rm.segid = mk.segid;
	CHECK(raw(XPMEM_IOC_REMOVE, &rm) == 0, "raw remove");
	EXPECT_ERRNO(raw(XPMEM_IOC_REMOVE, &rm), ENOENT, "raw remove twice");
	rm.segid = 0;
	EXPECT_ERRNO(raw(XPMEM_IOC_REMOVE, &rm), ENOENT, "raw remove segid 0");
	close(xfd);
}

int main(void)
{
	size_t len;
	char *buf;

	it_init("bad_input");
	len = NPAGES * it_page;
	buf = it_map(len);
	it_fill(buf, len, 0xbad1);
	via_library(buf, len);
	via_ioctl(buf, len);
	CHECK_PATTERN(buf, len, 0xbad1, "A's buffer after all of it");
	return it_result();
}
