/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sys.c - the system-call layer of libxpmem.
 *
 * All of open/ioctl/close/getpid go through one table so that the unit
 * tests can run the library without a kernel module.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "xpmem_internal.h"

static int sys_open(const char *path, int flags)
{
	return open(path, flags);
}

static int sys_ioctl(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg);
}

static int sys_close(int fd)
{
	return close(fd);
}

static pid_t sys_getpid(void)
{
	return getpid();
}

static const struct xpmem_sys_ops libc_ops = {
	.open = sys_open,
	.ioctl = sys_ioctl,
	.close = sys_close,
	.getpid = sys_getpid,
};

const struct xpmem_sys_ops *xpmem__sys = &libc_ops;

void xpmem__set_sys_ops(const struct xpmem_sys_ops *ops)
{
	xpmem__sys = ops ? ops : &libc_ops;
}
