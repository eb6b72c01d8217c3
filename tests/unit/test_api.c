/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_api.c - what each libxpmem call checks, and exactly what it asks
 * the driver (request number and command structure), and that the
 * driver's errno comes back unchanged.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "xpmem.h"
#include "xpmem_uapi.h"
#include "fake_sys.h"

#define FAIL_PTR ((void *)-1)

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

/* The command structure the last ioctl was given. */
#define LAST(type) ((const struct type *)(const void *)fake.last_arg)

/* Number of ioctls other than the open-time VERSION query. */
static int cmd_ioctls(void)
{
	return atomic_load(&fake.ioctls) - atomic_load(&fake.opens);
}

/* ---- the ABI itself: a change here breaks every installed binary ---- */

static void test_abi_request_numbers(void **state)
{
	(void)state;
	assert_int_equal(XPMEM_IOC_VERSION, 0x80045800UL);
	assert_int_equal(XPMEM_IOC_MAKE, 0xc0205801UL);
	assert_int_equal(XPMEM_IOC_REMOVE, 0x40085802UL);
	assert_int_equal(XPMEM_IOC_GET, 0xc0205803UL);
	assert_int_equal(XPMEM_IOC_RELEASE, 0x40085804UL);
	assert_int_equal(XPMEM_IOC_ATTACH, 0xc0285805UL);
	assert_int_equal(XPMEM_IOC_DETACH, 0x40085806UL);
}

static void test_abi_struct_layout(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct xpmem_cmd_make), 32);
	assert_int_equal(offsetof(struct xpmem_cmd_make, permit_mode), 20);
	assert_int_equal(offsetof(struct xpmem_cmd_make, segid), 24);
	assert_int_equal(sizeof(struct xpmem_cmd_remove), 8);
	assert_int_equal(sizeof(struct xpmem_cmd_get), 32);
	assert_int_equal(offsetof(struct xpmem_cmd_get, permit_value), 16);
	assert_int_equal(offsetof(struct xpmem_cmd_get, apid), 24);
	assert_int_equal(sizeof(struct xpmem_cmd_release), 8);
	assert_int_equal(sizeof(struct xpmem_cmd_attach), 40);
	assert_int_equal(offsetof(struct xpmem_cmd_attach, vaddr), 24);
	assert_int_equal(sizeof(struct xpmem_cmd_detach), 8);
}

static void test_public_constants(void **state)
{
	(void)state;
	assert_int_equal(XPMEM_RDONLY, 0x1);
	assert_int_equal(XPMEM_RDWR, 0x2);
	assert_int_equal(XPMEM_PERMIT_MODE, 0x1);
	assert_int_equal(XPMEM_ERRNO_NOPROC, 2004);
	assert_true(XPMEM_MAXADDR_SIZE == SIZE_MAX);
	assert_int_equal(sizeof(xpmem_segid_t), 8);
	assert_int_equal(sizeof(xpmem_apid_t), 8);
	assert_true((xpmem_segid_t)-1 < 0);
}

/* ---- xpmem_make ---- */

static void test_make_passes_command(void **state)
{
	(void)state;
	assert_int_equal(xpmem_make((void *)0x7000, 8192, XPMEM_PERMIT_MODE,
				    (void *)0600), fake.segid);
	assert_int_equal(fake.last_request, XPMEM_IOC_MAKE);
	assert_int_equal(fake.last_fd, 42);
	assert_int_equal(LAST(xpmem_cmd_make)->vaddr, 0x7000);
	assert_int_equal(LAST(xpmem_cmd_make)->size, 8192);
	assert_int_equal(LAST(xpmem_cmd_make)->permit_type,
			 XPMEM_UAPI_PERMIT_MODE);
	assert_int_equal(LAST(xpmem_cmd_make)->permit_mode, 0600);
	assert_int_equal(LAST(xpmem_cmd_make)->segid, 0);
	assert_int_equal(cmd_ioctls(), 1);
}

static void test_make_whole_address_space(void **state)
{
	(void)state;
	/* Open MPI's pattern. */
	assert_int_equal(xpmem_make(0, XPMEM_MAXADDR_SIZE, XPMEM_PERMIT_MODE,
				    (void *)0666), fake.segid);
	assert_int_equal(LAST(xpmem_cmd_make)->vaddr, 0);
	assert_true(LAST(xpmem_cmd_make)->size == UINT64_MAX);
	assert_int_equal(LAST(xpmem_cmd_make)->permit_mode, 0666);
}

static void test_make_mode_bounds(void **state)
{
	(void)state;
	assert_int_equal(xpmem_make((void *)0x1000, 4096, XPMEM_PERMIT_MODE,
				    (void *)0777), fake.segid);
	assert_int_equal(LAST(xpmem_cmd_make)->permit_mode, 0777);
	assert_int_equal(xpmem_make((void *)0x1000, 4096, XPMEM_PERMIT_MODE,
				    NULL), fake.segid);
	assert_int_equal(LAST(xpmem_cmd_make)->permit_mode, 0);
}

static void test_make_invalid_arguments(void **state)
{
	static const uintptr_t bad_modes[] = {
		01000, 04777, 0x10000, (uintptr_t)1 << 40, UINTPTR_MAX
	};
	static const int bad_types[] = { 0, 2, -1, INT_MAX };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
		errno = 0;
		assert_int_equal(xpmem_make((void *)0x1000, 4096,
					    XPMEM_PERMIT_MODE,
					    (void *)bad_modes[i]), -1);
		assert_int_equal(errno, EINVAL);
	}
	for (i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
		errno = 0;
		assert_int_equal(xpmem_make((void *)0x1000, 4096, bad_types[i],
					    (void *)0600), -1);
		assert_int_equal(errno, EINVAL);
	}
	/* Rejected in the library: the driver was never asked. */
	assert_int_equal(cmd_ioctls(), 0);
}

/* Alignment and size are the driver's call: passed through unchanged. */
static void test_make_unaligned_goes_to_kernel(void **state)
{
	(void)state;
	fake.cmd_errno = EINVAL;
	errno = 0;
	assert_int_equal(xpmem_make((void *)0x1001, 100, XPMEM_PERMIT_MODE,
				    (void *)0600), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(cmd_ioctls(), 1);
	assert_int_equal(LAST(xpmem_cmd_make)->vaddr, 0x1001);
	assert_int_equal(LAST(xpmem_cmd_make)->size, 100);
}

/* ---- xpmem_remove ---- */

static void test_remove_passes_command(void **state)
{
	(void)state;
	assert_int_equal(xpmem_remove(0x0001234500000007LL), 0);
	assert_int_equal(fake.last_request, XPMEM_IOC_REMOVE);
	assert_int_equal(LAST(xpmem_cmd_remove)->segid, 0x0001234500000007LL);
}

static void test_remove_invalid_segid(void **state)
{
	static const xpmem_segid_t bad[] = { 0, -1, LLONG_MIN };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_int_equal(xpmem_remove(bad[i]), -1);
		assert_int_equal(errno, EINVAL);
	}
	assert_int_equal(cmd_ioctls(), 0);
}

/* ---- xpmem_get ---- */

static void test_get_passes_command(void **state)
{
	(void)state;
	assert_int_equal(xpmem_get(77, XPMEM_RDWR, XPMEM_PERMIT_MODE, NULL),
			 fake.apid);
	assert_int_equal(fake.last_request, XPMEM_IOC_GET);
	assert_int_equal(LAST(xpmem_cmd_get)->segid, 77);
	assert_int_equal(LAST(xpmem_cmd_get)->flags, XPMEM_UAPI_RDWR);
	assert_int_equal(LAST(xpmem_cmd_get)->permit_type,
			 XPMEM_UAPI_PERMIT_MODE);
	assert_int_equal(LAST(xpmem_cmd_get)->permit_value, 0);
	assert_int_equal(LAST(xpmem_cmd_get)->apid, 0);

	assert_int_equal(xpmem_get(78, XPMEM_RDONLY, XPMEM_PERMIT_MODE, NULL),
			 fake.apid);
	assert_int_equal(LAST(xpmem_cmd_get)->segid, 78);
	assert_int_equal(LAST(xpmem_cmd_get)->flags, XPMEM_UAPI_RDONLY);
}

/* Open MPI passes (void *)0666; it is ignored, as upstream does. */
static void test_get_ignores_permit_value(void **state)
{
	(void)state;
	assert_int_equal(xpmem_get(77, XPMEM_RDWR, XPMEM_PERMIT_MODE,
				   (void *)0666), fake.apid);
	assert_int_equal(LAST(xpmem_cmd_get)->permit_value, 0);
}

static void test_get_invalid_arguments(void **state)
{
	static const int bad_flags[] = {
		0, XPMEM_RDONLY | XPMEM_RDWR, 4, -1, XPMEM_RDWR | 0x100
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++) {
		errno = 0;
		assert_int_equal(xpmem_get(77, bad_flags[i], XPMEM_PERMIT_MODE,
					   NULL), -1);
		assert_int_equal(errno, EINVAL);
	}
	errno = 0;
	assert_int_equal(xpmem_get(77, XPMEM_RDWR, 0, NULL), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(xpmem_get(77, XPMEM_RDWR, 2, NULL), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(xpmem_get(0, XPMEM_RDWR, XPMEM_PERMIT_MODE, NULL), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(xpmem_get(-5, XPMEM_RDWR, XPMEM_PERMIT_MODE, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(cmd_ioctls(), 0);
}

/* ---- xpmem_release ---- */

static void test_release_passes_command(void **state)
{
	(void)state;
	assert_int_equal(xpmem_release(0x0001234500000009LL), 0);
	assert_int_equal(fake.last_request, XPMEM_IOC_RELEASE);
	assert_int_equal(LAST(xpmem_cmd_release)->apid, 0x0001234500000009LL);
}

static void test_release_invalid_apid(void **state)
{
	(void)state;
	errno = 0;
	assert_int_equal(xpmem_release(0), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(xpmem_release(-1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(cmd_ioctls(), 0);
}

/* ---- xpmem_attach ---- */

static void test_attach_passes_command(void **state)
{
	struct xpmem_addr addr = { .apid = 9, .offset = 0x3000 };

	(void)state;
	assert_ptr_equal(xpmem_attach(addr, 0x2000, NULL),
			 (void *)(uintptr_t)fake.attach_vaddr);
	assert_int_equal(fake.last_request, XPMEM_IOC_ATTACH);
	assert_int_equal(LAST(xpmem_cmd_attach)->apid, 9);
	assert_int_equal(LAST(xpmem_cmd_attach)->offset, 0x3000);
	assert_int_equal(LAST(xpmem_cmd_attach)->size, 0x2000);
	assert_int_equal(LAST(xpmem_cmd_attach)->vaddr, 0);
	assert_int_equal(LAST(xpmem_cmd_attach)->flags, 0);
	assert_int_equal(LAST(xpmem_cmd_attach)->reserved, 0);
}

static void test_attach_at_fixed_address(void **state)
{
	struct xpmem_addr addr = { .apid = 9, .offset = 0 };

	(void)state;
	assert_ptr_equal(xpmem_attach(addr, 4096, (void *)0x600000000000),
			 (void *)0x600000000000);
	assert_int_equal(LAST(xpmem_cmd_attach)->vaddr, 0x600000000000);
}

/* Open MPI attaches at the peer's virtual address as the offset. */
static void test_attach_large_offset(void **state)
{
	struct xpmem_addr addr = { .apid = 9, .offset = 0x7ffff7a00000LL };

	(void)state;
	assert_ptr_not_equal(xpmem_attach(addr, 1 << 20, NULL), FAIL_PTR);
	assert_int_equal(LAST(xpmem_cmd_attach)->offset, 0x7ffff7a00000ULL);
}

static void test_attach_invalid_arguments(void **state)
{
	struct xpmem_addr neg = { .apid = 9, .offset = -4096 };
	struct xpmem_addr good = { .apid = 9, .offset = 4096 };
	struct xpmem_addr noapid = { .apid = 0, .offset = 0 };
	struct xpmem_addr badapid = { .apid = -3, .offset = 0 };

	(void)state;
	errno = 0;
	assert_ptr_equal(xpmem_attach(neg, 4096, NULL), FAIL_PTR);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_ptr_equal(xpmem_attach(good, 0, NULL), FAIL_PTR);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_ptr_equal(xpmem_attach(good, SIZE_MAX, NULL), FAIL_PTR);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_ptr_equal(xpmem_attach(noapid, 4096, NULL), FAIL_PTR);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_ptr_equal(xpmem_attach(badapid, 4096, NULL), FAIL_PTR);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(cmd_ioctls(), 0);
}

/* ---- xpmem_detach ---- */

static void test_detach_passes_command(void **state)
{
	(void)state;
	assert_int_equal(xpmem_detach((void *)0x7f0000201234), 0);
	assert_int_equal(fake.last_request, XPMEM_IOC_DETACH);
	assert_int_equal(LAST(xpmem_cmd_detach)->vaddr, 0x7f0000201234);
}

static void test_sync_passes_command(void **state)
{
	(void)state;
	assert_int_equal(xpmem_sync((void *)0x7f0000203000, 8192,
				    XPMEM_SYNC_ACQUIRE | XPMEM_SYNC_RELEASE), 0);
	assert_int_equal(fake.last_request, XPMEM_IOC_SYNC);
	assert_int_equal(LAST(xpmem_cmd_sync)->vaddr, 0x7f0000203000);
	assert_int_equal(LAST(xpmem_cmd_sync)->size, 8192);
	assert_int_equal(LAST(xpmem_cmd_sync)->flags,
			 XPMEM_UAPI_SYNC_ACQUIRE | XPMEM_UAPI_SYNC_RELEASE);
	assert_int_equal(LAST(xpmem_cmd_sync)->reserved, 0);
}

static void test_sync_invalid_flags(void **state)
{
	static const int bad[] = { 0, 4, 0x100, -1 };
	size_t i;

	(void)state;
	fake.last_request = 0;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_int_equal(xpmem_sync((void *)0x1000, 4096, bad[i]), -1);
		assert_int_equal(errno, EINVAL);
	}
	assert_int_equal(fake.last_request, 0);
}

/* ---- errno from the driver comes back unchanged, from every call ---- */

static void test_kernel_errno_unchanged(void **state)
{
	static const int errs[] = {
		EINVAL, EFAULT, ENOENT, EACCES, EPERM, ENOMEM, ENODEV,
		EBUSY, EINTR, EAGAIN, ENXIO, EHOSTUNREACH, ETIMEDOUT,
		XPMEM_ERRNO_NOPROC
	};
	struct xpmem_addr addr = { .apid = 9, .offset = 0 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		fake.cmd_errno = errs[i];

		errno = 0;
		assert_int_equal(xpmem_make((void *)0x1000, 4096,
					    XPMEM_PERMIT_MODE, (void *)0600), -1);
		assert_int_equal(errno, errs[i]);
		errno = 0;
		assert_int_equal(xpmem_remove(7), -1);
		assert_int_equal(errno, errs[i]);
		errno = 0;
		assert_int_equal(xpmem_get(7, XPMEM_RDWR, XPMEM_PERMIT_MODE,
					   NULL), -1);
		assert_int_equal(errno, errs[i]);
		errno = 0;
		assert_int_equal(xpmem_release(9), -1);
		assert_int_equal(errno, errs[i]);
		errno = 0;
		assert_ptr_equal(xpmem_attach(addr, 4096, NULL), FAIL_PTR);
		assert_int_equal(errno, errs[i]);
		errno = 0;
		assert_int_equal(xpmem_detach((void *)0x1000), -1);
		assert_int_equal(errno, errs[i]);
	}
	/* Each failed call still reached the driver exactly once. */
	assert_int_equal(cmd_ioctls(), 6 * (int)(sizeof(errs) / sizeof(errs[0])));
}

/* ---- with no device every call fails cleanly with open()'s errno ---- */

static void test_calls_without_device(void **state)
{
	static const int errs[] = { ENOENT, ENODEV, ENXIO, EACCES, EPERM };
	struct xpmem_addr addr = { .apid = 9, .offset = 0 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		fake.open_errno = errs[i];
		errno = 0;
		assert_int_equal(xpmem_make((void *)0x1000, 4096,
					    XPMEM_PERMIT_MODE, (void *)0600), -1);
		assert_int_equal(errno, errs[i]);
		errno = 0;
		assert_int_equal(xpmem_get(7, XPMEM_RDWR, XPMEM_PERMIT_MODE,
					   NULL), -1);
		assert_int_equal(errno, errs[i]);
		errno = 0;
		assert_ptr_equal(xpmem_attach(addr, 4096, NULL), FAIL_PTR);
		assert_int_equal(errno, errs[i]);
		errno = 0;
		assert_int_equal(xpmem_detach((void *)0x1000), -1);
		assert_int_equal(errno, errs[i]);
		errno = 0;
		assert_int_equal(xpmem_remove(7), -1);
		assert_int_equal(errno, errs[i]);
		errno = 0;
		assert_int_equal(xpmem_release(9), -1);
		assert_int_equal(errno, errs[i]);
	}
	assert_int_equal(atomic_load(&fake.ioctls), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_abi_request_numbers),
		T(test_abi_struct_layout),
		T(test_public_constants),
		T(test_make_passes_command),
		T(test_make_whole_address_space),
		T(test_make_mode_bounds),
		T(test_make_invalid_arguments),
		T(test_make_unaligned_goes_to_kernel),
		T(test_remove_passes_command),
		T(test_remove_invalid_segid),
		T(test_get_passes_command),
		T(test_get_ignores_permit_value),
		T(test_get_invalid_arguments),
		T(test_release_passes_command),
		T(test_release_invalid_apid),
		T(test_attach_passes_command),
		T(test_attach_at_fixed_address),
		T(test_attach_large_offset),
		T(test_attach_invalid_arguments),
		T(test_detach_passes_command),
		T(test_sync_passes_command),
		T(test_sync_invalid_flags),
		T(test_kernel_errno_unchanged),
		T(test_calls_without_device),
	};

	return cmocka_run_group_tests_name("libxpmem api", tests, NULL, NULL);
}
