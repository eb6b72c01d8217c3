/* SPDX-License-Identifier: GPL-2.0 */
/*
 * wire.h - payloads of the cross-node segment protocol (docs/protocol.md).
 * Little-endian, fixed width, no implicit padding.  Every reply starts
 * with a status: 0 or a negative errno.
 *
 * Identities: uid and gid travel as ids of the initial user namespace;
 * the cluster is assumed to share one uid/gid space (as NFS and Slurm
 * assume).  The owner checks them against the segment's mode.
 */
#ifndef XPMEM_WIRE_H
#define XPMEM_WIRE_H

#include <linux/build_bug.h>
#include <linux/types.h>

struct xpmem_wire_status {
	__le32 status;
	__le32 reserved;
};

/* GET: attacher -> owner */
struct xpmem_wire_get {
	__le64 segid;
	__le32 flags;		/* XPMEM_UAPI_RDONLY / _RDWR */
	__le32 uid;
	__le32 gid;
	__le32 reserved;
};

struct xpmem_wire_get_reply {
	__le32 status;
	__le32 reserved;
	__le64 rap_id;		/* owner's handle of the remote permit */
	__le64 size;		/* segment size in bytes */
};

/* RELEASE: attacher -> owner */
struct xpmem_wire_release {
	__le64 rap_id;
};

/* ATTACH: attacher -> owner; the owner starts tracking copies */
struct xpmem_wire_attach {
	__le64 rap_id;
	__le64 offset;		/* page aligned, bytes */
	__le64 npages;
	__le64 client_id;	/* attacher's handle, named in INVALIDATE */
};

struct xpmem_wire_attach_reply {
	__le32 status;
	__le32 reserved;
	__le64 ratt_id;		/* owner's handle of the remote attachment */
};

/* DETACH: attacher -> owner */
struct xpmem_wire_detach {
	__le64 ratt_id;
};

/*
 * FETCH: attacher -> owner: page contents, recorded as copies.  The
 * request names the faulting page and a window around it; the owner
 * resolves the faulting page (its failure alone is the status) and sends
 * the run of pages around it that are present in the same VMA of its
 * own (same protections), the faulting page always among them.
 */
struct xpmem_wire_fetch {
	__le64 ratt_id;
	__le64 first;		/* the window's first page in the attachment */
	__le32 npages;		/* the window, 1..XPMEM_FETCH_MAX_PAGES */
	__le32 fault;		/* the faulting page, counted from first */
};

struct xpmem_wire_fetch_reply {
	__le32 status;
	__le32 npages;		/* pages of data that follow */
	__le64 first;		/* the page index of the first of them */
	__le32 writable;	/* bit i: the owner may write page first + i */
	__le32 reserved;
	/* u8 data[npages][PAGE_SIZE] */
};

/*
 * INVALIDATE: owner -> attacher: drop copies, then reply.  One message
 * per attacher node per invalidated range: the node's attachments of the
 * range coalesced as entries (version 4; version 3 named one
 * attachment).  The message is exactly the header and nentries entries,
 * 1 <= nentries <= XPMEM_INVAL_MAX_ENTRIES; the reply's status is 0 once
 * every entry's copies are gone (entries naming attachments that are
 * gone need nothing), -EINVAL and nothing dropped for a malformed one.
 */
struct xpmem_wire_invalidate {
	__le32 nentries;
	__le32 reserved;	/* 0 */
	/* struct xpmem_wire_inval_entry entries[nentries] */
};

struct xpmem_wire_inval_entry {
	__le64 client_id;
	__le64 first;		/* page index within the attachment */
	__le64 npages;
};

/* REVOKE: owner -> attacher: the permit or segment is gone */
struct xpmem_wire_revoke {
	__le64 client_id;
};

/*
 * WRITEBACK: attacher -> owner at release: for each page the attacher
 * changed since it copied it, the changed bytes (diff against its twin)
 * as runs.  As many pages as fit go in one message.  Disjoint bytes
 * written by the owner and by attachers all survive.
 */
struct xpmem_wire_writeback {
	__le64 ratt_id;
	__le32 npages;		/* struct xpmem_wire_wb_page entries follow */
	__le32 reserved;
};

struct xpmem_wire_wb_page {
	__le64 page;		/* page index within the attachment */
	__le32 nruns;
	__le32 len;		/* bytes of runs after this header */
	/* struct xpmem_wire_run runs[nruns], each followed by len bytes */
};

struct xpmem_wire_run {
	__le16 offset;		/* within the page */
	__le16 len;
};

#define XPMEM_FETCH_MAX_PAGES	16
/* The reply's writable bitmap has a bit per page of a window. */
static_assert(XPMEM_FETCH_MAX_PAGES <= 32);

/* Entries of one INVALIDATE: what fits XPMEM_NET_MAX_PAYLOAD (2741). */
#define XPMEM_INVAL_MAX_ENTRIES						\
	((XPMEM_NET_MAX_PAYLOAD - sizeof(struct xpmem_wire_invalidate)) / \
	 sizeof(struct xpmem_wire_inval_entry))

#endif /* XPMEM_WIRE_H */
