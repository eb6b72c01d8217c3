/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xpmem_internal.h - prototypes shared by the libxpmem sources and the
 * unit tests.  Nothing here is part of the public API: every symbol is
 * built with hidden visibility, so none of it is exported from
 * libxpmem.so.0.  The static archive (libxpmem.a) still carries the
 * xpmem__ hooks, which is how tests/unit replaces the system calls.
 */
#ifndef XPMEM_INTERNAL_H
#define XPMEM_INTERNAL_H

#include <sys/types.h>

#define XPMEM_EXPORT	__attribute__((visibility("default")))
#define XPMEM_HIDDEN	__attribute__((visibility("hidden")))

/*
 * The only system calls the library makes.  Each returns what the libc
 * call returns (-1 with errno set on failure).
 */
struct xpmem_sys_ops {
	int (*open)(const char *path, int flags);
	int (*ioctl)(int fd, unsigned long request, void *arg);
	int (*close)(int fd);
	pid_t (*getpid)(void);
};

/* sys.c: the table in force (never NULL) and the test hook. */
XPMEM_HIDDEN extern const struct xpmem_sys_ops *xpmem__sys;
/* Replace the system-call table; NULL restores the libc one. */
XPMEM_HIDDEN void xpmem__set_sys_ops(const struct xpmem_sys_ops *ops);

/* device.c: the per-process handle on /dev/xpmem. */
/*
 * Return this process's descriptor for the device, opening it (and
 * checking the driver's ABI major) on first use or after a fork.
 * Returns -1 with errno set on failure.
 */
XPMEM_HIDDEN int xpmem__fd(void);
XPMEM_HIDDEN int xpmem__fd_mine(void);
XPMEM_HIDDEN int xpmem__stale(int fd);
/* ABI version reported by the driver behind xpmem__fd(). */
XPMEM_HIDDEN int xpmem__driver_version(void);
/* Tests only: close the descriptor (through the table) and forget it. */
XPMEM_HIDDEN void xpmem__reset(void);

#endif /* XPMEM_INTERNAL_H */
