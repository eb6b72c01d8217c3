/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fake_sys.h"
#include "xpmem_internal.h"

struct fake_sys fake;

/* Serialises the recording, for the tests that call from many threads. */
static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;

static int fake_open(const char *path, int flags)
{
	int fd, err;

	atomic_fetch_add(&fake.opens, 1);
	if (fake.open_delay_us)
		usleep(fake.open_delay_us);
	pthread_mutex_lock(&fake_lock);
	snprintf(fake.open_path, sizeof(fake.open_path), "%s", path);
	fake.open_flags = flags;
	fd = fake.open_errno ? -1 : fake.next_fd++;
	err = fake.open_errno;
	if (fd >= 42 && fd < 42 + 64)
		fake.fd_pid[fd - 42] = fake.pid ? fake.pid : getpid();
	pthread_mutex_unlock(&fake_lock);
	errno = err;
	return fd;
}

static int fake_ioctl_locked(int fd, unsigned long request, void *arg)
{
	size_t size = _IOC_SIZE(request);

	atomic_fetch_add(&fake.ioctls, 1);
	fake.last_fd = fd;
	fake.last_request = request;
	memset(fake.last_arg, 0, sizeof(fake.last_arg));
	memcpy(fake.last_arg, arg,
	       size < sizeof(fake.last_arg) ? size : sizeof(fake.last_arg));

	if (request == XPMEM_IOC_VERSION) {
		if (fake.version_errno) {
			errno = fake.version_errno;
			return -1;
		}
		*(__u32 *)arg = fake.version;
		return 0;
	}
	/* The driver: a context serves only the process that opened it. */
	if (fd >= 42 && fd < 42 + 64 && fake.fd_pid[fd - 42] &&
	    fake.fd_pid[fd - 42] != (fake.pid ? fake.pid : getpid())) {
		errno = EPERM;
		return -1;
	}
	if (fake.cmd_errno) {
		errno = fake.cmd_errno;
		return -1;
	}
	if (request == XPMEM_IOC_MAKE) {
		((struct xpmem_cmd_make *)arg)->segid = fake.segid;
	} else if (request == XPMEM_IOC_GET) {
		((struct xpmem_cmd_get *)arg)->apid = fake.apid;
	} else if (request == XPMEM_IOC_ATTACH) {
		struct xpmem_cmd_attach *cmd = arg;

		if (!cmd->vaddr)
			cmd->vaddr = fake.attach_vaddr;
	}
	return 0;
}

static int fake_ioctl(int fd, unsigned long request, void *arg)
{
	int rc, err;

	pthread_mutex_lock(&fake_lock);
	rc = fake_ioctl_locked(fd, request, arg);
	err = errno;
	pthread_mutex_unlock(&fake_lock);
	errno = err;
	return rc;
}

static int fake_close(int fd)
{
	atomic_fetch_add(&fake.closes, 1);
	pthread_mutex_lock(&fake_lock);
	fake.last_close_fd = fd;
	pthread_mutex_unlock(&fake_lock);
	return 0;
}

static pid_t fake_getpid(void)
{
	atomic_fetch_add(&fake.getpids, 1);
	return fake.pid ? fake.pid : getpid();
}

static const struct xpmem_sys_ops fake_ops = {
	.open = fake_open,
	.ioctl = fake_ioctl,
	.close = fake_close,
	.getpid = fake_getpid,
};

void fake_install(void)
{
	/* Forget any descriptor from a previous test through the old table. */
	xpmem__set_sys_ops(&fake_ops);
	xpmem__reset();

	memset(&fake, 0, sizeof(fake));
	fake.next_fd = 42;
	fake.version = XPMEM_ABI_VERSION;
	fake.segid = 0x0001234500000007LL;
	fake.apid = 0x0001234500000009LL;
	fake.attach_vaddr = 0x7f0000200000ULL;
	fake.last_close_fd = -1;
	fake.last_fd = -1;
}

void fake_uninstall(void)
{
	xpmem__reset();
	xpmem__set_sys_ops(NULL);
}
