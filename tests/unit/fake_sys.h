/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fake_sys.h - a recording stand-in for the system calls of libxpmem.
 *
 * The fake plays the driver: open() hands out descriptors, ioctl()
 * records the request and a copy of the command structure, then fills
 * in the outputs the test configured or fails with the configured errno.
 * Counters are atomic so that threads may use the fake concurrently.
 */
#ifndef FAKE_SYS_H
#define FAKE_SYS_H

#include <stdatomic.h>
#include <sys/types.h>

#include "xpmem_uapi.h"

struct fake_sys {
	/* configuration */
	int open_errno;		/* open() fails with this if non-zero */
	int next_fd;		/* descriptor the next open() returns */
	unsigned int open_delay_us;	/* widen the race in open() */
	__u32 version;		/* what XPMEM_IOC_VERSION reports */
	int version_errno;	/* XPMEM_IOC_VERSION fails with this */
	int cmd_errno;		/* every other ioctl fails with this */
	__s64 segid;		/* make's output */
	__s64 apid;		/* get's output */
	__u64 attach_vaddr;	/* attach's output when asked for vaddr 0 */
	pid_t pid;		/* getpid() result; 0: the real pid */

	/* record */
	atomic_int opens;
	atomic_int ioctls;	/* all requests, VERSION included */
	atomic_int closes;
	atomic_int getpids;
	pid_t fd_pid[64];	/* who opened fd 42 + i: the context's owner */
	char open_path[64];
	int open_flags;
	int last_close_fd;
	int last_fd;		/* fd of the last ioctl */
	unsigned long last_request;
	unsigned char last_arg[64];	/* copy of the command as passed */
};

extern struct fake_sys fake;

/* Reset the fake to a working driver and install it into the library. */
void fake_install(void);
/* Put back the libc system calls. */
void fake_uninstall(void);

#endif /* FAKE_SYS_H */
