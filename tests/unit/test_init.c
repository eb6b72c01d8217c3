/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_init.c - opening /dev/xpmem: lazily, once, from many threads at
 * once, again in a forked child, and refusing a driver of another ABI.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "xpmem.h"
#include "xpmem_uapi.h"
#include "fake_sys.h"

static int setup(void **state)
{
	(void)state;
	fake_install();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_uninstall();
	return 0;
}

static void test_init_opens_device(void **state)
{
	(void)state;
	assert_int_equal(xpmem_init(), 0);
	assert_int_equal(atomic_load(&fake.opens), 1);
	assert_string_equal(fake.open_path, "/dev/xpmem");
	assert_int_equal(fake.open_flags, O_RDWR | O_CLOEXEC);
	/* The driver's ABI was asked for right after the open. */
	assert_int_equal(atomic_load(&fake.ioctls), 1);
	assert_int_equal(fake.last_request, XPMEM_IOC_VERSION);
	assert_int_equal(fake.last_fd, 42);

	assert_int_equal(xpmem_init(), 0);
	assert_int_equal(xpmem_version(), XPMEM_ABI_VERSION);
	assert_int_equal(atomic_load(&fake.opens), 1);
	assert_int_equal(atomic_load(&fake.closes), 0);
}

/* Every call initialises by itself; init is never required. */
static void test_calls_init_lazily(void **state)
{
	(void)state;
	assert_int_equal(xpmem_remove(5), 0);
	assert_int_equal(atomic_load(&fake.opens), 1);
	assert_int_equal(fake.last_request, XPMEM_IOC_REMOVE);
	assert_int_equal(fake.last_fd, 42);
	assert_int_equal(xpmem_remove(6), 0);
	assert_int_equal(atomic_load(&fake.opens), 1);
	assert_int_equal(atomic_load(&fake.ioctls), 3);
}

static void test_version_reports_driver(void **state)
{
	(void)state;
	fake.version = (XPMEM_ABI_MAJOR << 12) | 0x7;
	assert_int_equal(xpmem_version(), (XPMEM_ABI_MAJOR << 12) | 0x7);
	assert_int_equal(XPMEM_ABI_VERSION_MAJOR(xpmem_version()),
			 XPMEM_ABI_MAJOR);
}

static void test_version_without_device(void **state)
{
	static const int errs[] = { ENOENT, ENODEV, ENXIO, EACCES };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		fake.open_errno = errs[i];
		errno = 0;
		assert_true(xpmem_version() < 0);
		assert_int_equal(errno, errs[i]);
		errno = 0;
		assert_int_equal(xpmem_init(), -1);
		assert_int_equal(errno, errs[i]);
	}
	assert_int_equal(atomic_load(&fake.ioctls), 0);
}

/* A failed open is not remembered: loading the module later works. */
static void test_open_retried_after_failure(void **state)
{
	(void)state;
	fake.open_errno = ENOENT;
	assert_int_equal(xpmem_init(), -1);
	assert_int_equal(errno, ENOENT);
	fake.open_errno = 0;
	assert_int_equal(xpmem_init(), 0);
	assert_int_equal(atomic_load(&fake.opens), 2);
	assert_int_equal(xpmem_version(), XPMEM_ABI_VERSION);
}

static void test_version_ioctl_fails(void **state)
{
	(void)state;
	fake.version_errno = ENOTTY;
	errno = 0;
	assert_true(xpmem_version() < 0);
	assert_int_equal(errno, ENOTTY);
	/* The useless descriptor was not kept. */
	assert_int_equal(atomic_load(&fake.closes), 1);
	assert_int_equal(fake.last_close_fd, 42);
	errno = 0;
	assert_int_equal(xpmem_make((void *)0x1000, 4096, XPMEM_PERMIT_MODE,
				    (void *)0600), -1);
	assert_int_equal(errno, ENOTTY);
}

static void test_driver_of_other_major_refused(void **state)
{
	(void)state;
	fake.version = (XPMEM_ABI_MAJOR + 1) << 12;
	errno = 0;
	assert_int_equal(xpmem_init(), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(atomic_load(&fake.closes), 1);
	errno = 0;
	assert_true(xpmem_version() < 0);
	assert_int_equal(errno, EPROTO);
	errno = 0;
	assert_int_equal(xpmem_get(7, XPMEM_RDWR, XPMEM_PERMIT_MODE, NULL), -1);
	assert_int_equal(errno, EPROTO);
	/* Only VERSION queries reached the driver. */
	assert_int_equal(fake.last_request, XPMEM_IOC_VERSION);

	fake.version = 0;	/* major 0 is no better */
	errno = 0;
	assert_int_equal(xpmem_init(), -1);
	assert_int_equal(errno, EPROTO);
}

/* ---- many threads, one open ---- */

#define NTHREADS 16

static pthread_barrier_t barrier;

struct thread_result {
	int rc;
	int err;
};

static void *init_thread(void *arg)
{
	struct thread_result *res = arg;

	pthread_barrier_wait(&barrier);
	res->rc = xpmem_init();
	res->err = errno;
	return NULL;
}

static void *make_thread(void *arg)
{
	struct thread_result *res = arg;

	pthread_barrier_wait(&barrier);
	res->rc = xpmem_make((void *)0x1000, 4096, XPMEM_PERMIT_MODE,
			     (void *)0600) == fake.segid ? 0 : -1;
	res->err = errno;
	return NULL;
}

static void run_threads(void *(*fn)(void *))
{
	pthread_t tid[NTHREADS];
	struct thread_result res[NTHREADS];
	int i;

	memset(res, 0xff, sizeof(res));
	assert_int_equal(pthread_barrier_init(&barrier, NULL, NTHREADS), 0);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&tid[i], NULL, fn, &res[i]), 0);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_join(tid[i], NULL), 0);
	pthread_barrier_destroy(&barrier);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(res[i].rc, 0);
}

static void test_concurrent_init_opens_once(void **state)
{
	(void)state;
	fake.open_delay_us = 20000;	/* hold the first opener in open() */
	run_threads(init_thread);
	assert_int_equal(atomic_load(&fake.opens), 1);
	assert_int_equal(atomic_load(&fake.closes), 0);
	assert_int_equal(atomic_load(&fake.ioctls), 1);
}

static void test_concurrent_first_calls_open_once(void **state)
{
	(void)state;
	fake.open_delay_us = 20000;
	run_threads(make_thread);
	assert_int_equal(atomic_load(&fake.opens), 1);
	/* one VERSION query, then one MAKE per thread */
	assert_int_equal(atomic_load(&fake.ioctls), 1 + NTHREADS);
	assert_int_equal(fake.last_fd, 42);
}

/* ---- fork: the child must not use the parent's context ---- */

/*
 * A pid change alone (a raw clone(), no atfork handlers) is noticed: the
 * driver refuses the parent's context with EPERM, the library opens its
 * own and retries.  Calls in one process make no getpid() at all.
 */
static void test_pid_change_reopens(void **state)
{
	(void)state;
	fake.pid = 1000;
	assert_int_equal(xpmem_init(), 0);
	assert_int_equal(fake.last_fd, 42);
	assert_int_equal(xpmem_remove(4), 0);
	assert_int_equal(atomic_load(&fake.getpids), 1);	/* the open's */

	fake.pid = 1001;
	assert_int_equal(xpmem_remove(5), 0);
	assert_int_equal(atomic_load(&fake.opens), 2);
	assert_int_equal(atomic_load(&fake.closes), 1);
	assert_int_equal(fake.last_close_fd, 42);
	assert_int_equal(fake.last_fd, 43);
	assert_int_equal(fake.last_request, XPMEM_IOC_REMOVE);

	assert_int_equal(xpmem_remove(6), 0);
	assert_int_equal(atomic_load(&fake.opens), 2);
	assert_int_equal(fake.last_fd, 43);

	/* A real EPERM of our own context is returned, not retried. */
	fake.cmd_errno = EPERM;
	errno = 0;
	assert_int_equal(xpmem_remove(7), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(atomic_load(&fake.opens), 2);
}

/* Child exit codes: which check failed. */
enum { CHILD_OK, CHILD_NO_CLOSE, CHILD_NO_REOPEN, CHILD_CALL, CHILD_FD };

static int child_checks(void)
{
	/* The atfork handler dropped our copy of the parent's fd. */
	if (atomic_load(&fake.closes) != 1 || fake.last_close_fd != 42)
		return CHILD_NO_CLOSE;
	if (xpmem_get(7, XPMEM_RDWR, XPMEM_PERMIT_MODE, NULL) != fake.apid)
		return CHILD_CALL;
	if (atomic_load(&fake.opens) != 2)
		return CHILD_NO_REOPEN;
	if (fake.last_fd != 43 || fake.last_request != XPMEM_IOC_GET)
		return CHILD_FD;
	return CHILD_OK;
}

static void test_fork_child_reopens(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	assert_int_equal(xpmem_init(), 0);
	assert_int_equal(atomic_load(&fake.opens), 1);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_checks());

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), CHILD_OK);

	/* The parent keeps its own descriptor. */
	assert_int_equal(xpmem_remove(5), 0);
	assert_int_equal(fake.last_fd, 42);
	assert_int_equal(atomic_load(&fake.opens), 1);
	assert_int_equal(atomic_load(&fake.closes), 0);
}

/* A fork before any call leaves nothing to drop in the child. */
static void test_fork_before_init(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int ok = xpmem_init() == 0 && atomic_load(&fake.opens) == 1 &&
			 atomic_load(&fake.closes) == 0;
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(atomic_load(&fake.opens), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_init_opens_device),
		T(test_calls_init_lazily),
		T(test_version_reports_driver),
		T(test_version_without_device),
		T(test_open_retried_after_failure),
		T(test_version_ioctl_fails),
		T(test_driver_of_other_major_refused),
		T(test_concurrent_init_opens_once),
		T(test_concurrent_first_calls_open_once),
		T(test_pid_change_reopens),
		T(test_fork_child_reopens),
		T(test_fork_before_init),
	};

	return cmocka_run_group_tests_name("libxpmem init", tests, NULL, NULL);
}
