// SPDX-License-Identifier: GPL-2.0
/*
 * test_cluster_key.c - common/cluster_key.c: the key file format, reading
 * a key file (to its end, never more than a key), and the link key.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "cluster_key.h"

static uint8_t raw[CLUSTER_KEY_LEN];
static char hex[2 * CLUSTER_KEY_LEN + 2];	/* hex digits, "\n" */

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(0xf0 - i);
	sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
	hex[64] = '\n';
	return 0;
}

static void test_parse(void **state)
{
	uint8_t k[CLUSTER_KEY_LEN], h[sizeof(hex)];

	(void)state;
	assert_int_equal(cluster_key_parse(raw, sizeof(raw), k), 0);
	assert_memory_equal(k, raw, sizeof(raw));

	memcpy(h, hex, sizeof(h));
	memset(k, 0, sizeof(k));
	assert_int_equal(cluster_key_parse(h, 64, k), 0);
	assert_memory_equal(k, raw, sizeof(raw));
	memset(k, 0, sizeof(k));
	assert_int_equal(cluster_key_parse(h, 65, k), 0);
	assert_memory_equal(k, raw, sizeof(raw));
	/* Upper case is hex too. */
	for (size_t i = 0; i < 64; i++)
		if (h[i] >= 'a' && h[i] <= 'f')
			h[i] = (uint8_t)(h[i] - 'a' + 'A');
	memset(k, 0, sizeof(k));
	assert_int_equal(cluster_key_parse(h, 65, k), 0);
	assert_memory_equal(k, raw, sizeof(raw));

	assert_int_equal(cluster_key_parse(h, 63, k), -1);
	assert_int_equal(cluster_key_parse(h, 33, k), -1);
	assert_int_equal(cluster_key_parse(h, 31, k), -1);
	assert_int_equal(cluster_key_parse(h, 0, k), -1);
	/* Only one "\n", and only at the end. */
	h[65] = '\n';
	assert_int_equal(cluster_key_parse(h, 66, k), -1);
	h[64] = ' ';
	assert_int_equal(cluster_key_parse(h, 65, k), -1);
	h[64] = '\n';
	h[10] = 'g';
	assert_int_equal(cluster_key_parse(h, 64, k), -1);
}

/* A bad key leaves the caller's buffer as it was. */
static void test_parse_failure_writes_nothing(void **state)
{
	uint8_t k[CLUSTER_KEY_LEN], h[sizeof(hex)];

	(void)state;
	memcpy(h, hex, sizeof(h));
	h[62] = 'x';	/* the last byte: all before it decoded */
	memset(k, 0x5a, sizeof(k));
	assert_int_equal(cluster_key_parse(h, 64, k), -1);
	for (size_t i = 0; i < sizeof(k); i++)
		assert_int_equal(k[i], 0x5a);
}

/* cluster_key_read of a pipe that a child fills with @data in two parts. */
static int read_pipe(const void *data, size_t len, uint8_t key[CLUSTER_KEY_LEN])
{
	int p[2], ret, status;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		const struct timespec ts = { 0, 20 * 1000 * 1000 };
		size_t half = len / 2;

		/* The reader stops after one byte more than a key. */
		signal(SIGPIPE, SIG_IGN);
		close(p[0]);
		if (write(p[1], data, half) != (ssize_t)half)
			_exit(1);
		nanosleep(&ts, NULL);	/* the reader sees a short read */
		if (write(p[1], (const uint8_t *)data + half, len - half) !=
		    (ssize_t)(len - half) && errno != EPIPE)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	ret = cluster_key_read(p[0], key);
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return ret;
}

static void test_read(void **state)
{
	uint8_t k[CLUSTER_KEY_LEN], big[4096];

	(void)state;
	memset(k, 0, sizeof(k));
	assert_int_equal(read_pipe(hex, 65, k), 0);
	assert_memory_equal(k, raw, sizeof(raw));
	memset(k, 0, sizeof(k));
	assert_int_equal(read_pipe(hex, 64, k), 0);
	assert_memory_equal(k, raw, sizeof(raw));
	memset(k, 0, sizeof(k));
	assert_int_equal(read_pipe(raw, sizeof(raw), k), 0);
	assert_memory_equal(k, raw, sizeof(raw));

	assert_int_equal(read_pipe(hex, 0, k), -EINVAL);
	assert_int_equal(read_pipe(hex, 40, k), -EINVAL);
	/* A key followed by anything is not a key. */
	memset(big, '0', sizeof(big));
	memcpy(big, hex, 65);
	assert_int_equal(read_pipe(big, 66, k), -EINVAL);
	assert_int_equal(read_pipe(big, sizeof(big), k), -EINVAL);
	/* A raw key followed by a "\n" is 33 bytes: not one either. */
	memcpy(big, raw, sizeof(raw));
	big[32] = '\n';
	assert_int_equal(read_pipe(big, 33, k), -EINVAL);
}

static void test_read_errors(void **state)
{
	uint8_t k[CLUSTER_KEY_LEN];
	int fd;

	(void)state;
	assert_int_equal(cluster_key_read(-1, k), -EBADF);
	fd = open(".", O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	assert_int_equal(cluster_key_read(fd, k), -EISDIR);
	close(fd);
	assert_int_equal(cluster_key_load("tests/no-such-key-file", k), -ENOENT);
	assert_int_equal(cluster_key_load(".", k), -EISDIR);
	assert_non_null(strstr(cluster_key_strerror(-EINVAL), "64 hex digits"));
	assert_string_equal(cluster_key_strerror(-ENOENT), strerror(ENOENT));
}

static void test_load(void **state)
{
	char path[] = "/tmp/test_cluster_key.XXXXXX";
	uint8_t k[CLUSTER_KEY_LEN];
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, hex, 65), 65);
	close(fd);
	memset(k, 0, sizeof(k));
	assert_int_equal(cluster_key_load(path, k), 0);
	assert_memory_equal(k, raw, sizeof(raw));
	unlink(path);
}

/*
 * The derivation the kernels' peers agree on (docs/transport.md):
 * HMAC-SHA256(key = 00 01 .. 1f, "xpmem kernel link key v1"), as
 * Python's hmac module computes it.
 */
static void test_link_key(void **state)
{
	static const uint8_t want[CLUSTER_LINK_KEY_LEN] = {
		0x97, 0xfa, 0x76, 0x9a, 0x99, 0x79, 0x8a, 0xa0,
		0x72, 0x5f, 0x0f, 0xa9, 0xea, 0x75, 0x78, 0xd9,
		0xab, 0xe1, 0x32, 0x3b, 0xdc, 0x08, 0x89, 0xce,
		0x61, 0x86, 0x33, 0x74, 0x64, 0x3d, 0xdc, 0xcd,
	};
	uint8_t cluster[CLUSTER_KEY_LEN], link[CLUSTER_LINK_KEY_LEN];
	int i;

	(void)state;
	for (i = 0; i < CLUSTER_KEY_LEN; i++)
		cluster[i] = (uint8_t)i;
	assert_int_equal(cluster_link_key(cluster, link), 0);
	assert_memory_equal(link, want, sizeof(want));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_failure_writes_nothing),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_read_errors),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_link_key),
	};

	return cmocka_run_group_tests_name("cluster_key", tests, setup, NULL);
}
