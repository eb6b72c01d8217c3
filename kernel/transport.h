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

#include <linux/completion.h>
#include <linux/errno.h>
#include <linux/list.h>
#include <linux/types.h>
#include <linux/wait.h>

#include "xpmem_uapi.h"

struct page;

#define XPMEM_NET_MAX_PAYLOAD	(64 * 1024 + 256)
/* Whole pages a message may carry besides its bytes (a FETCH window). */
#define XPMEM_NET_MAX_PAGES	16

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
unsigned long xpmem_net_timeout(void);	/* net_timeout_ms in jiffies */

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
 * As xpmem_net_call(), but the reply lands in two places: its first
 * @reply_max bytes in @reply, the rest in @pages, page by page (at most
 * @npages of them; a longer reply is -EMSGSIZE).  The bytes are copied
 * once, from the receive buffer to their page.  *@reply_len is the whole
 * reply's length.
 */
int xpmem_net_call_pages(u16 node, enum xpmem_msg_type type,
			 const void *req, size_t req_len, void *reply,
			 size_t reply_max, struct page **pages,
			 unsigned int npages, size_t *reply_len);

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

/*
 * Requests in flight together (the owner's INVALIDATE fan-out): each is
 * opened (a credit and a send buffer of its node's connection taken),
 * its payload written straight into the send buffer, posted without
 * waiting, and all are awaited together with one deadline.  Everything
 * is the caller's memory (its stack or preallocated): the transport
 * allocates nothing, so the notifier's zap worker, which reclaim may wait
 * for, may use it.  A batch only uses connections that are up (as
 * XPMEM_NET_CONNECTED): it never connects.
 *
 * A request that is not answered by the deadline, or when the batch is
 * aborted, has its node fenced (as a timed-out xpmem_net_call), so one
 * silent node costs the batch one net_timeout_ms however many requests
 * it holds, and the others are awaited in parallel.  As for a call, a
 * node heard from within net_timeout_ms (busy, or stuck but answering
 * the PINGs sent while it is silent) is waited for on, up to the cap.
 */
struct xpmem_net_batch {
	wait_queue_head_t wq;	/* a request answered or fenced; abort */
	unsigned long deadline;	/* jiffies, shared by every wait */
	unsigned long cap;	/* the latest it moves to for busy nodes */
	bool abort;		/* fence whoever has not answered, now */
};

struct xpmem_peer;
struct xpmem_conn;
struct xpmem_txbuf;

/* One request (of a batch, or of xpmem_net_call): the transport's fields. */
struct xpmem_net_req {
	struct list_head link;		/* in peer->calls, under peer->lock */
	struct xpmem_peer *peer;	/* referenced while open or posted */
	struct xpmem_conn *conn;	/* likewise */
	struct xpmem_txbuf *tx;		/* open: taken, not yet posted */
	struct xpmem_net_batch *batch;	/* NULL: a single call, @done */
	struct completion done;
	u64 seq;
	u16 type;
	u16 node;
	void *reply;
	size_t reply_max;
	size_t reply_len;
	int status;			/* -EINPROGRESS until answered */
};

/* Starts a batch: its deadline is now + net_timeout_ms. */
void xpmem_net_batch_init(struct xpmem_net_batch *b);

/*
 * Opens request @r of type @type to @node: takes a credit and a send
 * buffer, and returns in *@payload where to write up to
 * XPMEM_NET_MAX_PAYLOAD bytes of it.  With @wait it waits (until the
 * batch's deadline or abort) for a credit, without at once returns
 * -EAGAIN when there is none.  Also -ENOTCONN (no connection up: the
 * node has been fenced already), -EHOSTDOWN, -ETIMEDOUT (no credit by the
 * deadline: the node has been fenced), -EINTR (the batch was aborted:
 * the caller fences) and -EINVAL.  An open request must be posted or
 * cancelled before the caller sleeps.  The reply (at most @reply_max
 * bytes) goes to @reply.
 */
int xpmem_net_batch_open(struct xpmem_net_batch *b, struct xpmem_net_req *r,
			 u16 node, enum xpmem_msg_type type, void *reply,
			 size_t reply_max, bool wait, void **payload);
/* Sends an open request with @len bytes of payload; never sleeps. */
void xpmem_net_batch_post(struct xpmem_net_req *r, size_t len);
/* Gives back an open request unsent; never sleeps. */
void xpmem_net_batch_cancel(struct xpmem_net_req *r);
/*
 * Waits for the posted requests @rs[0..@n) (NULL entries are skipped):
 * for all of them, or with @any until one is answered.  At the deadline
 * or on abort, the nodes of those not answered are fenced (so all are
 * done when it returns).  Returns the number done.  Each one done must
 * then be collected with xpmem_net_batch_finish().
 */
unsigned int xpmem_net_batch_wait(struct xpmem_net_batch *b,
				  struct xpmem_net_req **rs, unsigned int n,
				  bool any);
/* Is @r answered (or failed)?  Then xpmem_net_batch_finish() returns at once. */
static inline bool xpmem_net_req_done(const struct xpmem_net_req *r)
{
	return READ_ONCE(r->status) != -EINPROGRESS;
}
/*
 * Collects a posted request that is done: 0 (answered; its reply length
 * in r->reply_len) or an errno (-EHOSTDOWN: its node was fenced,
 * -ETIMEDOUT, -EOPNOTSUPP, -EMSGSIZE).  Drops the request's references.
 */
int xpmem_net_batch_finish(struct xpmem_net_req *r);
/* From another task: stop waiting, fence whoever has not answered. */
void xpmem_net_batch_abort(struct xpmem_net_batch *b);

/* Fences @node now, as a timeout would; never sleeps. */
void xpmem_net_fence_node(u16 node, const char *why);

/* Answers the request @rx from inside its handler. */
int xpmem_net_reply(struct xpmem_net_rx *rx, const void *payload, size_t len);

/*
 * Answers @rx with @payload followed by the contents of @pages (at most
 * XPMEM_NET_MAX_PAGES), which the device sends straight from the pages
 * when the connection's QP takes enough scatter-gather entries (else
 * they are copied into the send buffer).  The caller's reference on
 * each page passes to the transport, which drops it once the send is
 * complete (or failed): the pages are held only for the send.  Returns
 * the number of pages sent straight from them, or an errno as
 * xpmem_net_reply().
 */
int xpmem_net_reply_pages(struct xpmem_net_rx *rx, const void *payload,
			  size_t len, struct page **pages, unsigned int npages);

#endif /* XPMEM_TRANSPORT_H */
