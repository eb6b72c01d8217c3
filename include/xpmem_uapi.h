/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * xpmem_uapi.h - the ioctl ABI between libxpmem and xpmem.ko.
 *
 * Every field is fixed-width so that 32- and 64-bit callers share one
 * layout.  The major number changes on any incompatible change; the
 * library refuses a driver whose major differs from its own.
 */
#ifndef XPMEM_UAPI_H
#define XPMEM_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define XPMEM_DEVICE_PATH	"/dev/xpmem"

#define XPMEM_ABI_MAJOR		1
#define XPMEM_ABI_MINOR		0
/* Value returned by xpmem_version(): 0x000MMmmm (major, minor). */
#define XPMEM_ABI_VERSION	((XPMEM_ABI_MAJOR << 12) | XPMEM_ABI_MINOR)
#define XPMEM_ABI_VERSION_MAJOR(v)	((v) >> 12)

/*
 * Segment id layout (always positive as a signed 64-bit value):
 *   bit  63     0
 *   bits 62..48 owner node id (0 on a node without cluster configuration)
 *   bits 47..28 random, checked on every lookup (ids are not guessable)
 *   bits 27..0  per-node slot index
 */
#define XPMEM_SEGID_NODE_SHIFT	48
#define XPMEM_SEGID_NODE_BITS	15
#define XPMEM_SEGID_RAND_SHIFT	28
#define XPMEM_SEGID_RAND_BITS	20
#define XPMEM_SEGID_SLOT_BITS	28

/* xpmem_cmd_make.permit_type */
#define XPMEM_UAPI_PERMIT_MODE	1
/* xpmem_cmd_get.flags */
#define XPMEM_UAPI_RDONLY	0x1
#define XPMEM_UAPI_RDWR		0x2

struct xpmem_cmd_make {
	__u64 vaddr;		/* in: page aligned start */
	__u64 size;		/* in: bytes, page multiple; ~0 = to the top */
	__u32 permit_type;	/* in: XPMEM_UAPI_PERMIT_MODE */
	__u32 permit_mode;	/* in: mode bits, e.g. 0600 */
	__s64 segid;		/* out */
};

struct xpmem_cmd_remove {
	__s64 segid;		/* in */
};

struct xpmem_cmd_get {
	__s64 segid;		/* in */
	__u32 flags;		/* in: XPMEM_UAPI_RDONLY or XPMEM_UAPI_RDWR */
	__u32 permit_type;	/* in: XPMEM_UAPI_PERMIT_MODE */
	__u64 permit_value;	/* in: unused for PERMIT_MODE, must be 0 */
	__s64 apid;		/* out */
};

struct xpmem_cmd_release {
	__s64 apid;		/* in */
};

struct xpmem_cmd_attach {
	__s64 apid;		/* in */
	__u64 offset;		/* in: byte offset into the segment */
	__u64 size;		/* in: bytes */
	__u64 vaddr;		/* in: requested address (MAP_FIXED) or 0; out */
	__u32 flags;		/* in: reserved, must be 0 */
	__u32 reserved;		/* must be 0 */
};

struct xpmem_cmd_detach {
	__u64 vaddr;		/* in: any address inside the attachment */
};

/*
 * Cluster control (CAP_SYS_ADMIN): the local node's identity and its
 * peers.  Set by xpmemd, or by tools/xpmem-node until the daemon runs.
 * Addresses are IPv4 (family AF_INET, 4 bytes) or IPv6 (AF_INET6, 16).
 */
#define XPMEM_MAX_NODE		((1U << XPMEM_SEGID_NODE_BITS) - 1)
#define XPMEM_DEFAULT_PORT	18515

struct xpmem_cmd_node {
	__u32 node_id;		/* 1..XPMEM_MAX_NODE; 0 = single-node mode */
	__u16 family;		/* AF_INET or AF_INET6 */
	__u16 port;		/* rdma_cm port to listen on */
	__u8 addr[16];		/* local address of the RDMA device */
	__u64 incarnation;	/* changes on every (re)start of the node */
};

struct xpmem_cmd_peer {
	__u32 node_id;
	__u16 family;
	__u16 port;
	__u8 addr[16];
	__u64 incarnation;	/* 0 = accept any */
};

struct xpmem_cmd_ping {
	__u32 node_id;		/* in */
	__u32 size;		/* in: payload bytes echoed back */
	__u64 rtt_ns;		/* out: round trip time */
};

/*
 * The link key (CAP_SYS_ADMIN): 32 bytes that authenticate every
 * kernel-to-kernel connection (docs/transport.md).  xpmemd derives it
 * from the cluster key.  It can never be read back; setting it again
 * replaces it (established connections stay).  len 0 (and a zero key)
 * clears it.  Without a key no peer connection is made or accepted.
 */
#define XPMEM_LINK_KEY_LEN	32

struct xpmem_cmd_key {
	__u32 len;		/* XPMEM_LINK_KEY_LEN, or 0 to clear */
	__u32 flags;		/* must be 0 */
	__u8 key[XPMEM_LINK_KEY_LEN];
};

/* xpmem_cmd_sync.flags */
#define XPMEM_UAPI_SYNC_ACQUIRE	0x1
#define XPMEM_UAPI_SYNC_RELEASE	0x2

struct xpmem_cmd_sync {
	__u64 vaddr;		/* in: start, inside one attachment */
	__u64 size;		/* in: bytes, may extend past it: clipped */
	__u32 flags;		/* in: ACQUIRE and/or RELEASE */
	__u32 reserved;		/* must be 0 */
};

#define XPMEM_IOC_MAGIC		'X'
#define XPMEM_IOC_VERSION	_IOR(XPMEM_IOC_MAGIC, 0x00, __u32)
#define XPMEM_IOC_MAKE		_IOWR(XPMEM_IOC_MAGIC, 0x01, struct xpmem_cmd_make)
#define XPMEM_IOC_REMOVE	_IOW(XPMEM_IOC_MAGIC, 0x02, struct xpmem_cmd_remove)
#define XPMEM_IOC_GET		_IOWR(XPMEM_IOC_MAGIC, 0x03, struct xpmem_cmd_get)
#define XPMEM_IOC_RELEASE	_IOW(XPMEM_IOC_MAGIC, 0x04, struct xpmem_cmd_release)
#define XPMEM_IOC_ATTACH	_IOWR(XPMEM_IOC_MAGIC, 0x05, struct xpmem_cmd_attach)
#define XPMEM_IOC_DETACH	_IOW(XPMEM_IOC_MAGIC, 0x06, struct xpmem_cmd_detach)
#define XPMEM_IOC_SYNC		_IOW(XPMEM_IOC_MAGIC, 0x07, struct xpmem_cmd_sync)
#define XPMEM_IOC_SET_NODE	_IOW(XPMEM_IOC_MAGIC, 0x10, struct xpmem_cmd_node)
#define XPMEM_IOC_ADD_PEER	_IOW(XPMEM_IOC_MAGIC, 0x11, struct xpmem_cmd_peer)
#define XPMEM_IOC_DEL_PEER	_IOW(XPMEM_IOC_MAGIC, 0x12, struct xpmem_cmd_peer)
#define XPMEM_IOC_PING		_IOWR(XPMEM_IOC_MAGIC, 0x13, struct xpmem_cmd_ping)
#define XPMEM_IOC_SET_KEY	_IOW(XPMEM_IOC_MAGIC, 0x14, struct xpmem_cmd_key)

/*
 * Admin counters: /proc/xpmem/counters, one "name value" pair per line.
 * Gauges (must read 0 once every user of the device is gone):
 *   contexts segments permits attachments attached_pages
 * Totals since load: makes gets attaches faults fault_pages pmd_maps
 *   fault_retries invalidations zapped_attachments mkwrites nonblock_refused
 */
#define XPMEM_PROC_COUNTERS	"/proc/xpmem/counters"

#endif /* XPMEM_UAPI_H */
