/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kernel_if.h - what xpmemd asks of xpmem.ko: the cluster ioctls of
 * /dev/xpmem, and parsers of /proc/xpmem/{peers,segments,counters}.
 * The parsers take text, so the tests feed them strings.
 */
#ifndef XPMEMD_KERNEL_IF_H
#define XPMEMD_KERNEL_IF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

struct kif_local {
	uint32_t node;		/* 0: single-node mode, nothing else set */
	struct net_addr addr;
	uint64_t incarnation;
};

struct kif_peer {
	uint32_t node;
	struct net_addr addr;
	uint64_t incarnation;	/* of its last accepted connection, or 0 */
	char state[16];
};

struct kif_segment {
	uint64_t segid;
	int64_t pid;
	uint32_t uid;
	uint32_t gid;
	uint64_t size;
	uint32_t mode;
	uint64_t permits;
	uint64_t attachments;
	uint64_t remote_permits;
	uint64_t remote_attachments;
};

struct kif_counter {
	char name[48];
	uint64_t value;
};

/*
 * /proc/xpmem/peers: "local N addr A:P incarnation 0x.." (or "local 0
 * ...") then "node N addr A:P state S incarnation 0x.. ..." lines.
 * Fills *local and up to max peers; returns the number of peers, or -1
 * if there is no parsable "local" line.
 */
int kif_parse_peers(const char *text, struct kif_local *local,
		    struct kif_peer *peers, size_t max);

/*
 * /proc/xpmem/segments: "segid 0x.. pid P uid U gid G size S mode 0M
 * permits N attachments N remote_permits N remote_attachments N [key
 * value]...".  Unknown pairs are ignored; a line without a segid or uid
 * is skipped.  Returns the count (*out malloc'd, may be NULL for 0), or
 * -1 on allocation failure.
 */
ssize_t kif_parse_segments(const char *text, struct kif_segment **out);

/* "name value" lines; the same conventions. */
ssize_t kif_parse_counters(const char *text, struct kif_counter **out);

/* The ioctls: 0 or -errno.  fd is an open /dev/xpmem. */
int kif_open(void);
int kif_set_node(int fd, uint32_t node, const struct net_addr *a,
		 uint64_t incarnation);
int kif_add_peer(int fd, uint32_t node, const struct net_addr *a,
		 uint64_t incarnation);
int kif_del_peer(int fd, uint32_t node);

/*
 * Hands the kernel the link key that authenticates its connections,
 * derived from the cluster key (cluster_link_key, common/cluster_key.h;
 * docs/transport.md) with XPMEM_IOC_SET_KEY; it is never readable back.
 */
int kif_set_key(int fd, const uint8_t cluster[32]);

#endif /* XPMEMD_KERNEL_IF_H */
