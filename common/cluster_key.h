/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cluster_key.h - the cluster key file and the kernels' link key, shared
 * by xpmemd, xpmem-node and the hostile-peer test (C11, libsodium).
 *
 * The key file holds the cluster key: 32 raw bytes, or 64 hex digits
 * (either case) and an optional "\n"; nothing else.  The kernels'
 * connections are authenticated with the link key derived from it,
 * HMAC-SHA256(key = cluster key, msg = CLUSTER_LINK_KEY_LABEL)
 * (docs/transport.md).
 *
 * No permission policy here: who may own or read a key file is the
 * caller's decision (xpmemd refuses one readable by others, see
 * key_load in daemon/xpmemd.c).
 */
#ifndef XPMEM_CLUSTER_KEY_H
#define XPMEM_CLUSTER_KEY_H

#include <stddef.h>
#include <stdint.h>

#define CLUSTER_KEY_LEN		32
#define CLUSTER_LINK_KEY_LEN	32
#define CLUSTER_LINK_KEY_LABEL	"xpmem kernel link key v1"

/* Key file contents: 0, or -1 if @data is not a key. */
int cluster_key_parse(const uint8_t *data, size_t len,
		      uint8_t key[CLUSTER_KEY_LEN]);

/*
 * Reads @fd to its end and parses what it holds.  0; -EINVAL if that is
 * not a key (too long included); -errno of a failed read.  @key is
 * written only on success; the bytes read are wiped.
 */
int cluster_key_read(int fd, uint8_t key[CLUSTER_KEY_LEN]);

/* Opens @path read-only and cluster_key_read()s it: 0 or -errno. */
int cluster_key_load(const char *path, uint8_t key[CLUSTER_KEY_LEN]);

/* What an error of cluster_key_read or _load means, for a message. */
const char *cluster_key_strerror(int err);

/* The link key of @cluster: 0, or -1 if libsodium fails. */
int cluster_link_key(const uint8_t cluster[CLUSTER_KEY_LEN],
		     uint8_t link[CLUSTER_LINK_KEY_LEN]);

#endif /* XPMEM_CLUSTER_KEY_H */
