/* SPDX-License-Identifier: GPL-2.0 */
/*
 * transport.h - kernel-to-kernel messaging between xpmem nodes over RDMA.
 *
 * One RC connection per peer pair (rdma_cm), established on demand.
 * Messages are two-sided sends of at most XPMEM_NET_MAX_PAYLOAD bytes
 * under a bounded credit scheme.  A request waits for its reply killably
 * and at most net_timeout_ms; a peer that does not answer in time is
 * fenced: its connection is torn down, every call to it fails with
 * -EHOSTDOWN and the fence callback runs.
 *
 * Handlers run in process context on a WQ_MEM_RECLAIM workqueue and may
 * sleep, allocate with GFP_KERNEL and send (including xpmem_net_call to
 * other nodes).  The payload is valid until the handler returns.
 */
#ifndef XPMEM_TRANSPORT_H
#define XPMEM_TRANSPORT_H

#include <linux/types.h>

#include "xpmem_uapi.h"

#define XPMEM_NET_MAX_PAYLOAD	(64 * 1024 + 256)

/* Message types; a reply carries the type of its request. */
enum xpmem_msg_type {
	XPMEM_MSG_PING = 1,
	XPMEM_MSG_GET,		/* remote xpmem_get */
	XPMEM_MSG_RELEASE,	/* remote xpmem_release */
	XPMEM_MSG_FETCH,	/* page contents for a remote fault */
	XPMEM_MSG_WRITEBACK,	/* diffs of remote writes at release */
	XPMEM_MSG_DROP,		/* remote copies dropped voluntarily */
	XPMEM_MSG_INVALIDATE,	/* owner -> copy holder */
	XPMEM_MSG_REVOKE,	/* owner -> attacher: segment/permit gone */
	XPMEM_MSG_ATTACH,	/* remote xpmem_attach: start tracking copies */
	XPMEM_MSG_DETACH,	/* remote detach: stop tracking copies */
	XPMEM_MSG_NR_TYPES,
};

struct xpmem_net_rx {
	u16 src_node;		/* sender's node id */
	u16 type;
	u32 len;		/* payload bytes */
	const void *payload;
	/* opaque, for xpmem_net_reply() */
	u64 seq;
	void *conn;
};

typedef void (*xpmem_net_handler_t)(struct xpmem_net_rx *rx);

int xpmem_net_init(void);
void xpmem_net_exit(void);

/* Control interface (ioctls in control.c). */
int xpmem_net_set_local(const struct xpmem_cmd_node *node);
int xpmem_net_add_peer(const struct xpmem_cmd_peer *peer);
int xpmem_net_del_peer(u32 node_id);
int xpmem_net_set_key(const u8 *key);	/* XPMEM_LINK_KEY_LEN; NULL clears */
u16 xpmem_net_local_node(void);		/* 0 = single-node mode */

void xpmem_net_register(enum xpmem_msg_type type, xpmem_net_handler_t fn);
void xpmem_net_set_fence_cb(void (*cb)(u16 node));

/*
 * Sends a request and sleeps (killable, bounded) until the reply.  The
 * reply payload is copied to @reply (at most @reply_max bytes) and its
 * length stored in @reply_len.  Returns 0, -EHOSTDOWN (peer fenced or
 * unknown), -ETIMEDOUT (then the peer has been fenced), -EINTR (fatal
 * signal), -EMSGSIZE, -ENOMEM; also -ECONNREFUSED (the peer refused our
 * connection), -ENOKEY (no link key set here), -EKEYREJECTED (the peer
 * failed the handshake: another key), -EHOSTUNREACH or -ECONNRESET (connecting failed) and
 * -EOPNOTSUPP (no handler for @type at the peer).  Allocates nothing and
 * takes no mutex: MMU notifier callbacks may call it.  The fence
 * callback runs asynchronously, on the transport's workqueue.
 */
int xpmem_net_call_flags(u16 node, enum xpmem_msg_type type,
			 const void *req, size_t req_len, void *reply,
			 size_t reply_max, size_t *reply_len,
			 unsigned int flags);

/*
 * Only over a connection that is up now, else -ENOTCONN at once: for
 * messages about state that a lost connection has already fenced (a
 * node's copies of our pages), so a dead node costs no connect attempt.
 */
#define XPMEM_NET_CONNECTED	0x1

static inline int xpmem_net_call(u16 node, enum xpmem_msg_type type,
				 const void *req, size_t req_len, void *reply,
				 size_t reply_max, size_t *reply_len)
{
	return xpmem_net_call_flags(node, type, req, req_len, reply,
				    reply_max, reply_len, 0);
}

/* Fences @node now, as a timeout would; never sleeps. */
void xpmem_net_fence_node(u16 node, const char *why);

/* Answers the request @rx from inside its handler. */
int xpmem_net_reply(struct xpmem_net_rx *rx, const void *payload, size_t len);

#endif /* XPMEM_TRANSPORT_H */
