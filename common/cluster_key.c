// SPDX-License-Identifier: GPL-2.0
/*
 * cluster_key.c - the cluster key file format and the link key
 * derivation (cluster_key.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cluster_key.h"

_Static_assert(crypto_auth_hmacsha256_KEYBYTES == CLUSTER_KEY_LEN,
	       "the cluster key is the HMAC key");
_Static_assert(crypto_auth_hmacsha256_BYTES == CLUSTER_LINK_KEY_LEN,
	       "the link key is the HMAC");

/* The longest file that may be a key: 64 hex digits and "\n". */
#define CLUSTER_KEY_FILE_MAX	(2 * CLUSTER_KEY_LEN + 1)

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int cluster_key_parse(const uint8_t *data, size_t len,
		      uint8_t key[CLUSTER_KEY_LEN])
{
	uint8_t k[CLUSTER_KEY_LEN];
	size_t i;

	if (len == CLUSTER_KEY_LEN) {
		memcpy(key, data, CLUSTER_KEY_LEN);
		return 0;
	}
	if (len == 2 * CLUSTER_KEY_LEN + 1 && data[len - 1] == '\n')
		len--;
	if (len != 2 * CLUSTER_KEY_LEN)
		return -1;
	for (i = 0; i < CLUSTER_KEY_LEN; i++) {
		int hi = hexval(data[2 * i]), lo = hexval(data[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			sodium_memzero(k, sizeof(k));
			return -1;
		}
		k[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(key, k, CLUSTER_KEY_LEN);
	sodium_memzero(k, sizeof(k));
	return 0;
}

int cluster_key_read(int fd, uint8_t key[CLUSTER_KEY_LEN])
{
	/* One byte more than a key file may have, to see a longer one. */
	uint8_t data[CLUSTER_KEY_FILE_MAX + 1];
	size_t len = 0;
	int ret = 0;

	while (len < sizeof(data)) {
		ssize_t n = read(fd, data + len, sizeof(data) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	/* More than a key file may have is len == sizeof(data): no key. */
	if (!ret && cluster_key_parse(data, len, key))
		ret = -EINVAL;
	sodium_memzero(data, sizeof(data));
	return ret;
}

int cluster_key_load(const char *path, uint8_t key[CLUSTER_KEY_LEN])
{
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	ret = cluster_key_read(fd, key);
	close(fd);
	return ret;
}

const char *cluster_key_strerror(int err)
{
	if (err == -EINVAL)
		return "not a key: expected 32 raw bytes or 64 hex digits (and an optional newline)";
	return strerror(-err);
}

int cluster_link_key(const uint8_t cluster[CLUSTER_KEY_LEN],
		     uint8_t link[CLUSTER_LINK_KEY_LEN])
{
	static const char label[] = CLUSTER_LINK_KEY_LABEL;

	if (sodium_init() < 0)
		return -1;
	return crypto_auth_hmacsha256(link, (const unsigned char *)label,
				      sizeof(label) - 1, cluster) ? -1 : 0;
}
