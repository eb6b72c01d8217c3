/* SPDX-License-Identifier: GPL-2.0 */
/*
 * transport_priv.h - internals of the RDMA transport, shared by
 * transport.c (peers, calls, fencing, module glue), transport_cm.c
 * (rdma_cm connections), transport_msg.c (wire format, credits, send and
 * receive paths) and transport_proc.c (/proc/xpmem/peers).
 * The lock order is documented at the top of transport.c.
 */
#ifndef XPMEM_TRANSPORT_PRIV_H
#define XPMEM_TRANSPORT_PRIV_H

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/socket.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <rdma/ib_verbs.h>
#include <rdma/rdma_cm.h>

#include "transport.h"

/* Wire format: every field little endian, see docs/transport.md. */
#define XPMEM_WIRE_MAGIC	0x314e5058	/* "XPN1" */
#define XPMEM_WIRE_VERSION	4	/* 3: authenticated connections,
					 * 4: FETCH names the faulting page,
					 * coalesced INVALIDATE
					 */

/* Internal types, never dispatched: the handshake's last message (the
 * active side's first), and returned credits only.
 */
#define XPMEM_WIRE_AUTH		0x7e
#define XPMEM_WIRE_CREDIT	0x7f

#define XPMEM_WIRE_F_REQUEST	0x1
#define XPMEM_WIRE_F_REPLY	0x2
#define XPMEM_WIRE_F_NOHANDLER	0x4	/* reply: no handler for the type */
#define XPMEM_WIRE_F_ALL	0x7

struct xpmem_wire_hdr {
	__le32 magic;
	__le16 version;
	__le16 type;
	__le16 flags;
	__le16 src_node;
	__le16 dst_node;
	__le16 credits;		/* receive buffers reposted since last sent */
	__le32 len;		/* payload bytes after the header */
	__le32 reserved;	/* 0 */
	__le64 seq;		/* a reply carries its request's */
};

/* Private data of a connect request, an accept and a reject. */
struct xpmem_wire_conn {
	__le32 magic;
	__le16 version;
	__le16 ring;		/* receive buffers the sender posted */
	__le16 src_node;
	__le16 dst_node;
	__le32 reason;		/* reject: enum xpmem_rej_reason */
	__le64 incarnation;	/* the sender's */
	__le64 gen;		/* the sender's connection generation */
	u8 nonce[16];		/* fresh per request and per accept */
};

#define XPMEM_AUTH_MAC_LEN	32	/* HMAC-SHA256 */
#define XPMEM_AUTH_PASSIVE	"xpmem-auth-passive"
#define XPMEM_AUTH_ACTIVE	"xpmem-auth-active"

/* Private data of an accept: the acceptor's identity and mac_p. */
struct xpmem_wire_accept {
	struct xpmem_wire_conn cd;
	u8 mac[XPMEM_AUTH_MAC_LEN];
};

enum xpmem_rej_reason {
	XPMEM_REJ_NONE,
	XPMEM_REJ_VERSION,	/* bad magic or protocol version */
	XPMEM_REJ_UNKNOWN,	/* not a registered peer, or wrong address */
	XPMEM_REJ_INCARNATION,	/* not the registered incarnation */
	XPMEM_REJ_RACE,		/* both connected at once: the lower id wins */
	XPMEM_REJ_STALE,	/* older than the connection already up */
	XPMEM_REJ_NOMEM,
	XPMEM_REJ_NOKEY,	/* no link key set at the acceptor */
};

/* Unauthenticated connections a peer may have pending at once. */
#define XPMEM_AUTH_MAX_PENDING	4

/* Receive buffers posted per connection; also the send buffers. */
#define XPMEM_NET_RING		16
/* Explicit credit message once this many reposts are unreported. */
#define XPMEM_NET_CREDIT_BATCH	(XPMEM_NET_RING / 4)
/* Credits a send must leave: requests keep room for replies, replies
 * for credit messages, so credit returns can never deadlock.
 */
#define XPMEM_NET_KEEP_REQUEST	2
#define XPMEM_NET_KEEP_REPLY	1
/*
 * Credits only INVALIDATE (and replies, and credit messages) may use:
 * other requests leave XPMEM_NET_KEEP_REQUEST + XPMEM_NET_RESERVED.  A
 * peer's handlers that block (a FETCH waiting for the segment an
 * invalidation holds) can hold at most the other requests' share of our
 * ring, so an INVALIDATE and its ack can always be sent.  Reposts the
 * peer has not reported yet (fewer than XPMEM_NET_CREDIT_BATCH) hide
 * credits from us: the reserve covers them.
 */
#define XPMEM_NET_RESERVED	XPMEM_NET_CREDIT_BATCH
#define XPMEM_NET_KEEP_ORDINARY	(XPMEM_NET_KEEP_REQUEST + XPMEM_NET_RESERVED)
static_assert(XPMEM_NET_KEEP_ORDINARY < XPMEM_NET_RING);
/*
 * A call fences its peer once the peer was silent for net_timeout_ms; a
 * peer still heard from (it answers other calls, returns credits) only
 * makes it wait, at most this many net_timeout_ms more: on a busy link
 * the wait for a credit and a reply can outlast one timeout (32 threads
 * fetching from a loaded guest waited 4.5 s of a 5 s timeout for a credit).
 */
#define XPMEM_NET_BUSY_WAITS	3
/*
 * A peer can be silent toward us because it is stuck, not dead: its
 * handlers of our requests wait for something else (an owner waiting for
 * another node's INVALIDATE ack).  While a call waits and the peer has
 * been silent for a quarter of net_timeout_ms, the transport asks it for
 * a PING (xpmem_conn_probe()): the answer, which no handler delays,
 * proves it alive and the call waits on (as for a busy peer, up to the
 * same cap).
 * The flag marks that PING's own call: it neither probes nor waits on.
 */
#define XPMEM_NET_PROBE		0x100
#define XPMEM_NET_BUF_SIZE	(sizeof(struct xpmem_wire_hdr) + \
				 XPMEM_NET_MAX_PAYLOAD)

enum xpmem_conn_state {
	XPMEM_CONN_CONNECTING,
	XPMEM_CONN_UP,
	XPMEM_CONN_DEAD,
};

struct xpmem_conn;

struct xpmem_rxbuf {
	struct xpmem_conn *conn;
	void *buf;
	u64 dma;
	bool mapped;
	bool replied;		/* the handler answered */
	struct ib_cqe cqe;
	struct work_struct work; /* the handler */
	struct xpmem_net_rx rx;
};

struct xpmem_txbuf {
	struct xpmem_conn *conn;
	void *buf;
	u64 dma;
	size_t size;
	bool mapped;
	struct ib_cqe cqe;
	struct list_head link;	/* in conn->tx_free */
	/*
	 * Pages sent after the buffer's bytes, straight from them (the
	 * device reads them): referenced and mapped until the send completes.
	 */
	unsigned int npages;
	struct page *pages[XPMEM_NET_MAX_PAGES];
	u64 page_dma[XPMEM_NET_MAX_PAGES];
};

struct xpmem_conn {
	struct kref kref;		/* the life reference: destroy_work's */
	struct xpmem_peer *peer;	/* referenced */
	bool active;			/* we sent the connect request */
	u64 gen;			/* our generation, sent to the peer */
	u64 remote_gen;			/* the peer's, from its private data */
	u64 remote_inc;			/* the peer's incarnation, likewise */
	/*
	 * Authentication: the active side keeps the request it sent, the
	 * passive side the mac_a it expects.  authed is set once the peer
	 * proved the key; nothing is dispatched before.  A passive
	 * connection waits on peer->pending until its AUTH message.
	 */
	bool authed;
	struct xpmem_wire_conn req;
	u8 mac_a[XPMEM_AUTH_MAC_LEN];
	struct list_head pending_link;	/* in peer->pending, peer->lock */
	struct delayed_work auth_work;	/* no AUTH in time */

	/* Set up under the cm_id's handler mutex, torn down in destroy_work. */
	struct rdma_cm_id *cm_id;
	struct ib_device *dev;
	struct ib_pd *pd;
	struct ib_cq *cq;
	struct ib_qp *qp;
	u32 max_send_sge;		/* the QP's: pages sent direct if enough */
	bool connected;			/* rdma_connect/accept was issued */

	spinlock_t lock;		/* everything below; posts run under it */
	enum xpmem_conn_state state;
	bool was_up;			/* losing it fences the peer */
	int credits;			/* sends the peer can receive */
	int credit_max;			/* its ring: credits never exceed it */
	int to_return;			/* reposts not yet reported */
	struct list_head tx_free;
	struct list_head tx_waiters;	/* senders in arrival order */
	int tx_held;			/* taken by senders, not yet posted */
	bool credit_busy;		/* credit_tx is posted */
	wait_queue_head_t wq;		/* credits, tx buffers, teardown */

	unsigned long heard;		/* jiffies of the last message in */
	unsigned long probing;		/* bit 0: probe_work queued or running */
	struct work_struct probe_work;	/* PINGs a silent peer */
	atomic_t posted;		/* work requests not yet completed */
	atomic_t rx_busy;		/* receive buffers held by handlers */
	struct xpmem_rxbuf rx[XPMEM_NET_RING];
	struct xpmem_txbuf tx[XPMEM_NET_RING];
	struct xpmem_txbuf credit_tx;
	struct work_struct fail_work;	/* fatal QP event */
	struct work_struct destroy_work;
	struct delayed_work id_work;	/* rdma_destroy_id once the port is up */
	unsigned int id_waits;
	struct list_head all_link;	/* in xpmem_net.conns */
};

struct xpmem_peer {
	struct kref kref;		/* the peer table holds one */
	u16 node;
	struct sockaddr_storage addr;
	u64 incarnation;		/* configured; 0 = any */
	struct rcu_head rcu;

	spinlock_t lock;		/* everything below */
	struct xpmem_conn *conn;	/* the current one, not yet killed */
	bool connecting;		/* connect_work queued */
	bool removed;			/* DEL_PEER or exit */
	int conn_err;			/* why the last attempt failed */
	u64 seen_incarnation;		/* of its last accepted connection */
	struct list_head pending;	/* passive, not yet authenticated */
	unsigned int npending;
	struct list_head calls;		/* calls waiting for their reply */
	unsigned int fence_cb_pending;
	wait_queue_head_t wq;		/* conn state changes */
	struct work_struct connect_work;
	struct work_struct fence_work;

	atomic64_t tx_msgs;
	atomic64_t tx_bytes;
	atomic64_t rx_msgs;
	atomic64_t rx_bytes;
	atomic_t timeouts;
	atomic_t fences;
	atomic_t malformed;
	atomic_t rejected;		/* connect requests we refused */
	atomic_t refused;		/* our connect requests it refused */
	atomic_t auth_failures;		/* handshakes that failed, any side */
};

struct xpmem_net {
	struct mutex cfg_mutex;		/* configuration, listener lifetime */
	spinlock_t lock;		/* identity snapshot, listen_id, conns */
	u16 node;
	u64 incarnation;
	struct sockaddr_storage addr;
	struct rdma_cm_id *listen_id;
	struct list_head conns;
	wait_queue_head_t conns_wq;	/* conns became empty */
	bool exiting;

	struct xarray peers;		/* node id -> struct xpmem_peer */
	atomic64_t seq;
	atomic64_t gen;
	xpmem_net_handler_t handlers[XPMEM_MSG_NR_TYPES];
	void (*fence_cb)(u16 node);
	struct workqueue_struct *wq;	/* handlers, connects, fence cbs */
	struct workqueue_struct *td_wq;	/* connection teardown */
	atomic_t malformed;		/* from no known connection */
	atomic_t auth_failures;		/* all peers' */
	atomic_t conn_refused;		/* connections refused here, any cause */
};

extern struct xpmem_net xpmem_net;

/* transport.c */
struct xpmem_peer *xpmem_peer_get(u16 node);
void xpmem_peer_put(struct xpmem_peer *peer);
void xpmem_peer_fence(struct xpmem_peer *peer, struct xpmem_conn *conn,
		      const char *why);
struct xpmem_conn *xpmem_peer_fence_locked(struct xpmem_peer *peer);
void xpmem_peer_fence_finish(struct xpmem_peer *peer, struct xpmem_conn *old,
			     const char *why);
void xpmem_net_local(u16 *node, u64 *incarnation,
		     struct sockaddr_storage *addr);

/* transport_cm.c */
int xpmem_conn_start(struct xpmem_peer *peer);
void xpmem_conn_kill(struct xpmem_conn *conn);
void xpmem_conn_lost(struct xpmem_conn *conn, int err, const char *why);
void xpmem_conn_put(struct xpmem_conn *conn);
void xpmem_conn_auth_failed(struct xpmem_conn *conn, const char *why);
void xpmem_conn_accepted(struct xpmem_conn *conn);
int xpmem_listen_start(const struct sockaddr_storage *addr);
void xpmem_listen_stop(void);

/*
 * A single call (not of a batch: req.batch is NULL), whose reply may go
 * on into pages after req.reply_max bytes (xpmem_net_call_pages()).
 */
struct xpmem_net_call {
	struct xpmem_net_req req;
	struct page **reply_pages;
	unsigned int reply_npages;
};

/* transport_msg.c */
int xpmem_conn_setup_bufs(struct xpmem_conn *conn);
void xpmem_conn_free_bufs(struct xpmem_conn *conn);
int xpmem_conn_post_all_recvs(struct xpmem_conn *conn);
int xpmem_conn_send(struct xpmem_conn *conn, u16 type, u16 flags, u64 seq,
		    const void *payload, size_t len, unsigned long deadline,
		    unsigned long cap, int keep);
bool xpmem_conn_heard(struct xpmem_conn *conn, unsigned long *deadline,
		      unsigned long cap);
void xpmem_conn_probe(struct xpmem_conn *conn);
void xpmem_conn_probe_work(struct work_struct *work);
int xpmem_keep_request(u16 type);
void xpmem_grant_locked(struct xpmem_conn *conn);
int xpmem_conn_take(struct xpmem_conn *conn, int keep, unsigned long deadline,
		    unsigned long cap, bool wait, const bool *abort,
		    struct xpmem_txbuf **txp);
void xpmem_conn_untake(struct xpmem_conn *conn, struct xpmem_txbuf *tx);
int xpmem_conn_post(struct xpmem_conn *conn, struct xpmem_txbuf *tx, u16 type,
		    u16 flags, u64 seq, size_t len);

static inline void *xpmem_tx_payload(struct xpmem_txbuf *tx)
{
	return tx->buf + sizeof(struct xpmem_wire_hdr);
}
void xpmem_conn_set_up(struct xpmem_conn *conn);

/* transport_auth.c */
struct xpmem_link_key;
struct xpmem_link_key *xpmem_key_get(void);
void xpmem_key_put(struct xpmem_link_key *k);
void xpmem_key_exit(void);
int xpmem_auth_mac(struct xpmem_link_key *k, const char *label,
		   const struct xpmem_wire_conn *req,
		   const struct xpmem_wire_conn *rep,
		   u8 mac[XPMEM_AUTH_MAC_LEN]);
void xpmem_auth_no_key(void);

/* transport_proc.c */
int xpmem_net_proc_init(void);
void xpmem_net_proc_exit(void);

/*
 * A request was answered or failed (status set); peer->lock held.  A
 * batch's waiter collects each request under peer->lock before the batch
 * goes away, so waking it here is safe.
 */
static inline void xpmem_net_req_wake(struct xpmem_net_req *r)
{
	if (r->batch)
		wake_up(&r->batch->wq);
	else
		complete(&r->done);
}

static inline bool xpmem_conn_dead(struct xpmem_conn *conn)
{
	return READ_ONCE(conn->state) == XPMEM_CONN_DEAD;
}

#endif /* XPMEM_TRANSPORT_PRIV_H */
