/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * device.c - the per-process handle on /dev/xpmem.
 *
 * The kernel keeps one context per open of the device and binds it to
 * the process that opened it; an fd inherited across fork() still names
 * the parent's context and the driver refuses it (EPERM).  So the handle
 * is the pair (pid that opened, fd), published as one atomic word:
 *
 *   state == 0                       nothing open yet (or open failed)
 *   state == (pid << 32) | fd        fd was opened by process pid
 *
 * The fast path is one atomic load: no system call.  Opening (first use,
 * or first use after a fork) is serialised by a mutex, so concurrent
 * first calls open the device exactly once.  A pthread_atfork() child
 * handler forgets the parent's fd in the child.  A child made by a raw
 * clone() that bypasses the handlers still holds the parent's fd, and the
 * kernel refuses it with EPERM (the context belongs to another address
 * space): xpmem__stale() then compares the pids, and the caller opens the
 * device for this process and retries (xpmem.c).
 *
 * A failed open is not remembered: a later call tries again, so a
 * program started before the module was loaded can still use it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "xpmem_uapi.h"
#include "xpmem_internal.h"

static _Atomic uint64_t dev_state;
static atomic_int dev_version;
static pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t dev_once = PTHREAD_ONCE_INIT;

static uint64_t state_make(pid_t pid, int fd)
{
	return ((uint64_t)(uint32_t)pid << 32) | (uint32_t)fd;
}

static pid_t state_pid(uint64_t s)
{
	return (pid_t)(uint32_t)(s >> 32);
}

static int state_fd(uint64_t s)
{
	return (int)(uint32_t)s;
}

/* Close whatever descriptor the state names; caller holds dev_lock. */
static void state_drop(void)
{
	uint64_t s = atomic_load_explicit(&dev_state, memory_order_relaxed);

	if (s) {
		atomic_store_explicit(&dev_state, 0, memory_order_release);
		(void)xpmem__sys->close(state_fd(s));
	}
}

static void atfork_prepare(void)
{
	pthread_mutex_lock(&dev_lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&dev_lock);
}

/*
 * In the child: the inherited fd is the parent's context.  Closing our
 * copy only drops the child's reference to the open file; the parent's
 * context stays alive in the parent.  Keeping it instead would hold the
 * parent's segments alive after the parent exits.
 */
static void atfork_child(void)
{
	state_drop();
	pthread_mutex_unlock(&dev_lock);
}

static void register_atfork(void)
{
	(void)pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* Open the device for process me; caller holds dev_lock. */
static int open_locked(pid_t me)
{
	__u32 version = 0;
	int fd, err;

	fd = xpmem__sys->open(XPMEM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;

	if (xpmem__sys->ioctl(fd, XPMEM_IOC_VERSION, &version) < 0) {
		err = errno;
		goto fail;
	}
	/* A driver with another ABI major speaks a different language. */
	if (XPMEM_ABI_VERSION_MAJOR(version) != XPMEM_ABI_MAJOR) {
		err = EPROTO;
		goto fail;
	}

	atomic_store_explicit(&dev_version, (int)version, memory_order_relaxed);
	atomic_store_explicit(&dev_state, state_make(me, fd),
			      memory_order_release);
	return fd;

fail:
	(void)xpmem__sys->close(fd);
	errno = err;
	return -1;
}

/* The open descriptor, whoever opened it; the slow path opens one. */
int xpmem__fd(void)
{
	uint64_t s = atomic_load_explicit(&dev_state, memory_order_acquire);

	if (s)
		return state_fd(s);
	return xpmem__fd_mine();
}

/*
 * After an EPERM on @fd: true if @fd was opened by another process (a raw
 * clone() child using its parent's descriptor).  The next xpmem__fd_mine()
 * then opens one for this process.
 */
int xpmem__stale(int fd)
{
	uint64_t s = atomic_load_explicit(&dev_state, memory_order_acquire);

	return s && state_fd(s) == fd && state_pid(s) != xpmem__sys->getpid();
}

/* A descriptor this very process opened (opens one if need be). */
int xpmem__fd_mine(void)
{
	pid_t me = xpmem__sys->getpid();
	uint64_t s = atomic_load_explicit(&dev_state, memory_order_acquire);
	int fd, err;

	if (s && state_pid(s) == me)
		return state_fd(s);

	(void)pthread_once(&dev_once, register_atfork);

	pthread_mutex_lock(&dev_lock);
	s = atomic_load_explicit(&dev_state, memory_order_acquire);
	if (s && state_pid(s) == me) {
		fd = state_fd(s);
	} else {
		/* Either nothing is open or the fd is a fork() inheritance. */
		state_drop();
		fd = open_locked(me);
	}
	err = errno;
	pthread_mutex_unlock(&dev_lock);
	errno = err;
	return fd;
}

int xpmem__driver_version(void)
{
	return atomic_load_explicit(&dev_version, memory_order_relaxed);
}

void xpmem__reset(void)
{
	pthread_mutex_lock(&dev_lock);
	state_drop();
	atomic_store_explicit(&dev_version, 0, memory_order_relaxed);
	pthread_mutex_unlock(&dev_lock);
}
