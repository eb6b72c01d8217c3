/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xpmem.c - the public API: thin wrappers over the xpmem.ko ioctls.
 *
 * Each call opens the device lazily (device.c), checks what is cheap to
 * check here, fills one fixed-width command structure from
 * xpmem_uapi.h and issues one ioctl.  Errors come back as -1 (or
 * (void *)-1 from xpmem_attach) with errno exactly as the kernel set it.
 */
#include <errno.h>
#include <stdint.h>

#include "xpmem.h"
#include "xpmem_uapi.h"
#include "xpmem_internal.h"

/* Mode bits accepted by XPMEM_PERMIT_MODE. */
#define XPMEM_MODE_MASK		0777u

static int fail_inval(void)
{
	errno = EINVAL;
	return -1;
}

/*
 * One ioctl on this process's device handle: 0, or -1 with errno.  EPERM
 * on a descriptor another process opened (a raw clone() child, see
 * device.c) is the kernel refusing the parent's context: open our own and
 * issue the command once more.  The command structure is unchanged by a
 * failed ioctl.
 */
static int xpmem_cmd(unsigned long request, void *cmd)
{
	int fd = xpmem__fd();

	if (fd < 0)
		return -1;
	if (xpmem__sys->ioctl(fd, request, cmd) == 0)
		return 0;
	if (errno != EPERM || !xpmem__stale(fd))
		return -1;
	fd = xpmem__fd_mine();
	if (fd < 0)
		return -1;
	return xpmem__sys->ioctl(fd, request, cmd) < 0 ? -1 : 0;
}

XPMEM_EXPORT int xpmem_init(void)
{
	return xpmem__fd() < 0 ? -1 : 0;
}

XPMEM_EXPORT int xpmem_version(void)
{
	/* The open path has already asked the driver and checked the major. */
	if (xpmem__fd() < 0)
		return -1;
	return xpmem__driver_version();
}

XPMEM_EXPORT xpmem_segid_t xpmem_make(void *vaddr, size_t size,
				      int permit_type, void *permit_value)
{
	uintptr_t mode = (uintptr_t)permit_value;
	struct xpmem_cmd_make cmd = { 0 };

	if (permit_type != XPMEM_PERMIT_MODE || (mode & ~(uintptr_t)XPMEM_MODE_MASK))
		return fail_inval();

	cmd.vaddr = (uintptr_t)vaddr;
	/* "Up to the top of the address space" is ~0 whatever size_t is. */
	cmd.size = size == XPMEM_MAXADDR_SIZE ? ~(__u64)0 : (__u64)size;
	cmd.permit_type = XPMEM_UAPI_PERMIT_MODE;
	cmd.permit_mode = (__u32)mode;
	if (xpmem_cmd(XPMEM_IOC_MAKE, &cmd) < 0)
		return -1;
	return cmd.segid;
}

XPMEM_EXPORT int xpmem_remove(xpmem_segid_t segid)
{
	struct xpmem_cmd_remove cmd = { 0 };

	if (segid <= 0)
		return fail_inval();
	cmd.segid = segid;
	return xpmem_cmd(XPMEM_IOC_REMOVE, &cmd);
}

/*
 * permit_value is ignored, as upstream does: MPICH and UCX pass NULL,
 * Open MPI passes (void *)0666.  The access check uses the mode the
 * owner gave to xpmem_make().
 */
XPMEM_EXPORT xpmem_apid_t xpmem_get(xpmem_segid_t segid, int flags,
				    int permit_type, void *permit_value)
{
	struct xpmem_cmd_get cmd = { 0 };

	(void)permit_value;
	if (segid <= 0 || permit_type != XPMEM_PERMIT_MODE)
		return fail_inval();
	if (flags == XPMEM_RDONLY)
		cmd.flags = XPMEM_UAPI_RDONLY;
	else if (flags == XPMEM_RDWR)
		cmd.flags = XPMEM_UAPI_RDWR;
	else
		return fail_inval();

	cmd.segid = segid;
	cmd.permit_type = XPMEM_UAPI_PERMIT_MODE;
	cmd.permit_value = 0;
	if (xpmem_cmd(XPMEM_IOC_GET, &cmd) < 0)
		return -1;
	return cmd.apid;
}

XPMEM_EXPORT int xpmem_release(xpmem_apid_t apid)
{
	struct xpmem_cmd_release cmd = { 0 };

	if (apid <= 0)
		return fail_inval();
	cmd.apid = apid;
	return xpmem_cmd(XPMEM_IOC_RELEASE, &cmd);
}

XPMEM_EXPORT void *xpmem_attach(struct xpmem_addr addr, size_t size,
				void *vaddr)
{
	struct xpmem_cmd_attach cmd = { 0 };
	__u64 offset = (__u64)addr.offset;

	/* The range [offset, offset + size) must not wrap. */
	if (addr.apid <= 0 || addr.offset < 0 || size == 0 ||
	    (__u64)size > ~(__u64)0 - offset) {
		errno = EINVAL;
		return (void *)-1;
	}

	cmd.apid = addr.apid;
	cmd.offset = offset;
	cmd.size = size;
	cmd.vaddr = (uintptr_t)vaddr;
	if (xpmem_cmd(XPMEM_IOC_ATTACH, &cmd) < 0)
		return (void *)-1;
	return (void *)(uintptr_t)cmd.vaddr;
}

XPMEM_EXPORT int xpmem_detach(void *vaddr)
{
	struct xpmem_cmd_detach cmd = { 0 };

	cmd.vaddr = (uintptr_t)vaddr;
	return xpmem_cmd(XPMEM_IOC_DETACH, &cmd);
}

XPMEM_EXPORT int xpmem_sync(void *vaddr, size_t size, int flags)
{
	struct xpmem_cmd_sync cmd = { 0 };

	if (flags == 0 || (flags & ~(XPMEM_SYNC_ACQUIRE | XPMEM_SYNC_RELEASE))) {
		errno = EINVAL;
		return -1;
	}
	cmd.vaddr = (uintptr_t)vaddr;
	cmd.size = size;
	cmd.flags = (uint32_t)flags;
	return xpmem_cmd(XPMEM_IOC_SYNC, &cmd);
}
