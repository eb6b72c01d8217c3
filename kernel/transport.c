// SPDX-License-Identifier: GPL-2.0
/*
 * transport.c - kernel-to-kernel messaging between xpmem nodes: the peer
 * table, xpmem_net_call() and its replies, fencing, and the module glue.
 * Connections are in transport_cm.c, the message layer in transport_msg.c,
 * /proc/xpmem/peers in transport_proc.c.  The API is in transport.h.
 *
 * Lock order (outer first):
 *
 *   xpmem_net.cfg_mutex           SET_NODE, ADD_PEER, DEL_PEER, exit, /proc
 *     -> rdma_cm handler mutex    (rdma_destroy_id and rdma_lock_handler wait
 *                                  for running cm handlers)
 *       -> peer->lock -> conn->lock -> xpmem_net.lock (a leaf)
 *
 * - cm handlers never take cfg_mutex: it is held around rdma_destroy_id()
 *   of the listener, which waits for them.
 * - peer->lock and conn->lock are spinlocks, taken in process context
 *   only (cm handlers, IB_POLL_WORKQUEUE completions, work items, ioctls);
 *   QP events may come in softirq context and only queue work.  Nothing
 *   under them sleeps; ib_post_send/ib_post_recv run under conn->lock,
 *   which orders them against teardown.
 * - The call path (xpmem_net_call, xpmem_net_reply) takes no mutex and
 *   allocates nothing, so an MMU notifier's invalidate_range_start may
 *   use it: connecting happens in connect_work, teardown in destroy_work.
 *   Every sleep in it is killable and bounded by net_timeout_ms.
 *
 * Fencing: a call that times out, a lost connection that was up
 * (DISCONNECTED, DEVICE_REMOVAL, ADDR_CHANGE, a work completion error) or
 * DEL_PEER detaches the peer's connection and tears it down, completes
 * every pending call to the peer with -EHOSTDOWN and queues the fence
 * callback.  The next call connects again.
 */
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "transport_priv.h"
#include "xpmem_trace.h"

static unsigned int net_timeout_ms = 5000;
module_param(net_timeout_ms, uint, 0644);
MODULE_PARM_DESC(net_timeout_ms,
		 "Bound on every wait for a peer (ms); a peer that does not answer in time is fenced");

struct xpmem_net xpmem_net;

unsigned long xpmem_net_timeout(void)
{
	return msecs_to_jiffies(max(READ_ONCE(net_timeout_ms), 1U));
}

/* A consistent snapshot of the local identity; any pointer may be NULL. */
void xpmem_net_local(u16 *node, u64 *incarnation,
		     struct sockaddr_storage *addr)
{
	spin_lock(&xpmem_net.lock);
	if (node)
		*node = xpmem_net.node;
	if (incarnation)
		*incarnation = xpmem_net.incarnation;
	if (addr)
		memcpy(addr, &xpmem_net.addr, sizeof(*addr));
	spin_unlock(&xpmem_net.lock);
}

u16 xpmem_net_local_node(void)
{
	u16 node;

	xpmem_net_local(&node, NULL, NULL);
	return node;
}

static void xpmem_peer_release(struct kref *kref)
{
	struct xpmem_peer *peer = container_of(kref, struct xpmem_peer, kref);

	kfree_rcu(peer, rcu);
}

void xpmem_peer_put(struct xpmem_peer *peer)
{
	kref_put(&peer->kref, xpmem_peer_release);
}

struct xpmem_peer *xpmem_peer_get(u16 node)
{
	struct xpmem_peer *peer;

	rcu_read_lock();
	peer = xa_load(&xpmem_net.peers, node);
	if (peer && !kref_get_unless_zero(&peer->kref))
		peer = NULL;
	rcu_read_unlock();
	return peer;
}

/*
 * peer->lock held: detaches the current connection and fails every
 * pending call with -EHOSTDOWN.  Returns the connection for
 * xpmem_peer_fence_finish(), which must follow after the unlock.
 */
struct xpmem_conn *xpmem_peer_fence_locked(struct xpmem_peer *peer)
{
	struct xpmem_conn *old = peer->conn;
	struct xpmem_net_req *call, *tmp;

	lockdep_assert_held(&peer->lock);
	peer->conn = NULL;
	peer->conn_err = -EHOSTDOWN;
	list_for_each_entry_safe(call, tmp, &peer->calls, link) {
		list_del_init(&call->link);
		call->status = -EHOSTDOWN;
		xpmem_net_req_wake(call);
	}
	atomic_inc(&peer->fences);
	peer->fence_cb_pending++;
	return old;
}

void xpmem_peer_fence_finish(struct xpmem_peer *peer, struct xpmem_conn *old,
			     const char *why)
{
	pr_notice("xpmem: node %u fenced: %s\n", peer->node, why);
	trace_xpmem_fence(peer->node, why);
	if (old)
		xpmem_conn_kill(old);
	wake_up_all(&peer->wq);
	kref_get(&peer->kref);
	if (!queue_work(xpmem_net.wq, &peer->fence_work))
		xpmem_peer_put(peer);
}

/*
 * Fences @peer.  With @conn, only if that is still its connection (a
 * stale one is just torn down): one failure fences once.  Never sleeps.
 */
void xpmem_peer_fence(struct xpmem_peer *peer, struct xpmem_conn *conn,
		      const char *why)
{
	struct xpmem_conn *old;

	spin_lock(&peer->lock);
	if (conn && peer->conn != conn) {
		spin_unlock(&peer->lock);
		xpmem_conn_kill(conn);
		return;
	}
	old = xpmem_peer_fence_locked(peer);
	spin_unlock(&peer->lock);
	xpmem_peer_fence_finish(peer, old, why);
}

static void xpmem_peer_fence_work(struct work_struct *work)
{
	struct xpmem_peer *peer = container_of(work, struct xpmem_peer,
					       fence_work);
	void (*cb)(u16 node) = READ_ONCE(xpmem_net.fence_cb);
	unsigned int n;

	spin_lock(&peer->lock);
	n = peer->fence_cb_pending;
	peer->fence_cb_pending = 0;
	spin_unlock(&peer->lock);
	if (n && cb && !READ_ONCE(xpmem_net.exiting))
		cb(peer->node);
	xpmem_peer_put(peer);
}

static void xpmem_peer_connect_work(struct work_struct *work)
{
	struct xpmem_peer *peer = container_of(work, struct xpmem_peer,
					       connect_work);
	int ret;

	ret = xpmem_conn_start(peer);
	if (ret) {
		spin_lock(&peer->lock);
		peer->connecting = false;
		peer->conn_err = ret;
		spin_unlock(&peer->lock);
		wake_up_all(&peer->wq);
	}
	xpmem_peer_put(peer);
}

/*
 * Connection attempt settled: up, failed, or peer removed.  With
 * @pending, also wait while the peer's own connection is being
 * authenticated.
 */
static bool xpmem_peer_settled(struct xpmem_peer *peer, bool pending)
{
	struct xpmem_conn *conn;
	bool done;

	spin_lock(&peer->lock);
	conn = peer->conn;
	done = peer->removed ||
	       (conn && READ_ONCE(conn->state) == XPMEM_CONN_UP) ||
	       (!conn && !peer->connecting && !(pending && peer->npending));
	spin_unlock(&peer->lock);
	return done;
}

/*
 * Returns a referenced connection to @peer that is up, connecting on
 * demand.  Waits killably until @deadline.
 */
static int xpmem_peer_connect(struct xpmem_peer *peer, unsigned long deadline,
			      struct xpmem_conn **connp)
{
	unsigned long pend_until = jiffies + xpmem_net_timeout() / 4;
	struct xpmem_conn *conn;
	bool pending = false;
	long left, t;
	int err;

	for (;;) {
		spin_lock(&peer->lock);
		if (peer->removed || READ_ONCE(xpmem_net.exiting)) {
			spin_unlock(&peer->lock);
			return -EHOSTDOWN;
		}
		conn = peer->conn;
		if (conn && READ_ONCE(conn->state) == XPMEM_CONN_UP) {
			kref_get(&conn->kref);
			spin_unlock(&peer->lock);
			*connp = conn;
			return 0;
		}
		/*
		 * The peer's connection that waits for its AUTH will do,
		 * unless an impostor's: wait for it, but only so long.
		 */
		pending = !conn && !peer->connecting && peer->npending &&
			  time_before(jiffies, pend_until);
		if (!conn && !peer->connecting && !pending) {
			peer->connecting = true;
			peer->conn_err = 0;
			kref_get(&peer->kref);
			if (!queue_work(xpmem_net.wq, &peer->connect_work))
				kref_put(&peer->kref, xpmem_peer_release);
		}
		spin_unlock(&peer->lock);

		left = (long)(deadline - jiffies);
		if (left <= 0)
			return -ETIMEDOUT;
		if (pending)
			left = min(left, max((long)(pend_until - jiffies), 1L));
		t = wait_event_killable_timeout(peer->wq,
						xpmem_peer_settled(peer, pending),
						left);
		if (t < 0)
			return -EINTR;
		if (t == 0 && !pending)
			return -ETIMEDOUT;
		if (pending)
			continue;

		spin_lock(&peer->lock);
		conn = peer->conn;
		err = (!conn && !peer->connecting) ? peer->conn_err : 0;
		spin_unlock(&peer->lock);
		if (err == -EAGAIN) {
			/* Lost a connect race: the peer's request is coming. */
			if (schedule_timeout_killable(msecs_to_jiffies(20)) &&
			    fatal_signal_pending(current))
				return -EINTR;
			continue;
		}
		if (err)
			return err;
	}
}

/* A referenced connection to @peer if one is up; never connects. */
static int xpmem_peer_current(struct xpmem_peer *peer,
			      struct xpmem_conn **connp)
{
	struct xpmem_conn *conn;

	spin_lock(&peer->lock);
	conn = peer->conn;
	if (conn && READ_ONCE(conn->state) == XPMEM_CONN_UP)
		kref_get(&conn->kref);
	else
		conn = NULL;
	spin_unlock(&peer->lock);
	*connp = conn;
	return conn ? 0 : -ENOTCONN;
}

static unsigned long xpmem_probe_period(void)
{
	return max(xpmem_net_timeout() / 4, 1UL);
}

/* How long a waiter sleeps: a probe period, or less to @deadline (>= 1). */
static long xpmem_probe_slice(unsigned long deadline)
{
	unsigned long until = jiffies + xpmem_probe_period();

	if (!time_before(until, deadline))
		until = deadline;
	return max((long)(until - jiffies), 1L);
}

/*
 * The liveness probe (XPMEM_NET_PROBE): one PING to @conn's peer at a time,
 * when it was silent for a quarter of net_timeout_ms.  Its reply updates
 * conn->heard like any message; no reply fences the peer, as any call's.
 * A waiter probes every quarter: a peer that answers is heard from at
 * most half a timeout before each deadline, which then moves on.
 */
void xpmem_conn_probe(struct xpmem_conn *conn)
{
	unsigned long quiet = READ_ONCE(conn->heard) + xpmem_probe_period();

	if (time_before(jiffies, quiet) ||
	    test_and_set_bit(0, &conn->probing))
		return;
	kref_get(&conn->kref);
	if (!queue_work(xpmem_net.wq, &conn->probe_work)) {
		clear_bit(0, &conn->probing);
		xpmem_conn_put(conn);
	}
}

void xpmem_conn_probe_work(struct work_struct *work)
{
	struct xpmem_conn *conn = container_of(work, struct xpmem_conn,
					       probe_work);

	xpmem_net_call_flags(conn->peer->node, XPMEM_MSG_PING, NULL, 0, NULL,
			     0, NULL, XPMEM_NET_CONNECTED | XPMEM_NET_PROBE);
	clear_bit(0, &conn->probing);
	xpmem_conn_put(conn);
}

/*
 * A single call, its reply's destination in @c (reply, reply_max and
 * pages: xpmem_net_call_flags() and xpmem_net_call_pages()).
 */
static int xpmem_net_call_do(u16 node, struct xpmem_net_call *c,
			     const void *req, size_t req_len,
			     size_t *reply_len, unsigned int flags)
{
	unsigned long timeout = xpmem_net_timeout();
	unsigned long deadline = jiffies + timeout;
	unsigned long cap = deadline + XPMEM_NET_BUSY_WAITS * timeout;
	struct xpmem_net_req *call = &c->req;
	enum xpmem_msg_type type = call->type;
	struct xpmem_conn *conn = NULL;
	bool probe = !(flags & XPMEM_NET_PROBE);
	struct xpmem_peer *peer;
	long t;
	int ret;

	might_sleep();
	if (type < XPMEM_MSG_PING || type >= XPMEM_MSG_NR_TYPES)
		return -EINVAL;
	if (req_len > XPMEM_NET_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (!node || node == xpmem_net_local_node())
		return -EHOSTDOWN;
	peer = xpmem_peer_get(node);
	if (!peer)
		return -EHOSTDOWN;

	trace_xpmem_call_start(node, type, req_len);
	if (flags & XPMEM_NET_CONNECTED)
		ret = xpmem_peer_current(peer, &conn);
	else
		ret = xpmem_peer_connect(peer, deadline, &conn);
	if (ret)
		goto out;

	INIT_LIST_HEAD(&call->link);
	init_completion(&call->done);
	call->conn = conn;
	call->seq = atomic64_inc_return(&xpmem_net.seq);
	call->status = -EINPROGRESS;
	spin_lock(&peer->lock);
	if (peer->conn != conn) {
		spin_unlock(&peer->lock);
		ret = -EHOSTDOWN;
		goto out;
	}
	list_add_tail(&call->link, &peer->calls);
	spin_unlock(&peer->lock);

	if (!probe)
		cap = deadline;
	ret = xpmem_conn_send(conn, type, XPMEM_WIRE_F_REQUEST, call->seq, req,
			      req_len, deadline, cap, xpmem_keep_request(type));
	while (!ret) {
		/* Every quarter of a timeout: is a silent peer still alive? */
		t = probe ? xpmem_probe_slice(deadline) :
			    max((long)(deadline - jiffies), 1L);
		t = wait_for_completion_killable_timeout(&call->done, t);
		if (t) {
			ret = t < 0 ? -EINTR : 0;
			break;
		}
		if (time_before(jiffies, deadline)) {
			xpmem_conn_probe(conn);
			continue;
		}
		if (!xpmem_conn_heard(conn, &deadline, cap)) {
			ret = -ETIMEDOUT;
			break;
		}
		/* a busy or stuck peer, not a silent one: wait on */
	}
	spin_lock(&peer->lock);
	if (!list_empty(&call->link))
		list_del_init(&call->link);	/* not answered */
	else
		ret = call->status;		/* answered or fenced */
	spin_unlock(&peer->lock);
	if (!ret && reply_len)
		*reply_len = call->reply_len;
out:
	if (ret == -ETIMEDOUT) {
		atomic_inc(&peer->timeouts);
		xpmem_peer_fence(peer, conn, "no answer within net_timeout_ms");
	}
	if (conn)
		xpmem_conn_put(conn);
	xpmem_peer_put(peer);
	trace_xpmem_call_done(node, type, ret, ret ? 0 : call->reply_len);
	return ret;
}

int xpmem_net_call_flags(u16 node, enum xpmem_msg_type type,
			 const void *req, size_t req_len, void *reply,
			 size_t reply_max, size_t *reply_len,
			 unsigned int flags)
{
	struct xpmem_net_call c = {
		.req = { .type = type, .reply = reply,
			 .reply_max = reply ? reply_max : 0 },
	};

	return xpmem_net_call_do(node, &c, req, req_len, reply_len, flags);
}
EXPORT_SYMBOL_GPL(xpmem_net_call_flags);

int xpmem_net_call_pages(u16 node, enum xpmem_msg_type type,
			 const void *req, size_t req_len, void *reply,
			 size_t reply_max, struct page **pages,
			 unsigned int npages, size_t *reply_len)
{
	struct xpmem_net_call c = {
		.req = { .type = type, .reply = reply,
			 .reply_max = reply ? reply_max : 0 },
		.reply_pages = pages,
		.reply_npages = pages ? npages : 0,
	};

	return xpmem_net_call_do(node, &c, req, req_len, reply_len, 0);
}
EXPORT_SYMBOL_GPL(xpmem_net_call_pages);

/* ---- batches: requests in flight together (transport.h) ---- */

void xpmem_net_batch_init(struct xpmem_net_batch *b)
{
	init_waitqueue_head(&b->wq);
	b->deadline = jiffies + xpmem_net_timeout();
	b->cap = b->deadline + XPMEM_NET_BUSY_WAITS * xpmem_net_timeout();
	b->abort = false;
}
EXPORT_SYMBOL_GPL(xpmem_net_batch_init);

static void xpmem_net_req_put(struct xpmem_net_req *r)
{
	if (r->conn)
		xpmem_conn_put(r->conn);
	if (r->peer)
		xpmem_peer_put(r->peer);
	r->conn = NULL;
	r->peer = NULL;
}

int xpmem_net_batch_open(struct xpmem_net_batch *b, struct xpmem_net_req *r,
			 u16 node, enum xpmem_msg_type type, void *reply,
			 size_t reply_max, bool wait, void **payload)
{
	int ret;

	memset(r, 0, sizeof(*r));
	INIT_LIST_HEAD(&r->link);
	r->batch = b;
	r->type = type;
	r->node = node;
	r->reply = reply;
	r->reply_max = reply ? reply_max : 0;
	r->status = -EINVAL;
	if (type <= XPMEM_MSG_PING || type >= XPMEM_MSG_NR_TYPES)
		return -EINVAL;
	if (READ_ONCE(b->abort))
		return -EINTR;
	r->status = -EHOSTDOWN;
	if (!node || node == xpmem_net_local_node())
		return -EHOSTDOWN;
	r->peer = xpmem_peer_get(node);
	if (!r->peer)
		return -EHOSTDOWN;
	ret = xpmem_peer_current(r->peer, &r->conn);
	if (!ret)
		ret = xpmem_conn_take(r->conn, xpmem_keep_request(type),
				      b->deadline, b->cap, wait, &b->abort,
				      &r->tx);
	if (ret == -ETIMEDOUT) {
		atomic_inc(&r->peer->timeouts);
		xpmem_peer_fence(r->peer, r->conn,
				 "no credit within net_timeout_ms");
	}
	if (ret) {
		r->status = ret;
		xpmem_net_req_put(r);
		return ret;
	}
	*payload = xpmem_tx_payload(r->tx);
	return 0;
}
EXPORT_SYMBOL_GPL(xpmem_net_batch_open);

void xpmem_net_batch_cancel(struct xpmem_net_req *r)
{
	if (r->tx)
		xpmem_conn_untake(r->conn, r->tx);
	r->tx = NULL;
	r->status = -ECANCELED;
	xpmem_net_req_put(r);
}
EXPORT_SYMBOL_GPL(xpmem_net_batch_cancel);

void xpmem_net_batch_post(struct xpmem_net_req *r, size_t len)
{
	struct xpmem_peer *peer = r->peer;
	struct xpmem_txbuf *tx = r->tx;
	int ret;

	r->tx = NULL;
	r->seq = atomic64_inc_return(&xpmem_net.seq);
	r->status = -EINPROGRESS;
	spin_lock(&peer->lock);
	if (peer->conn != r->conn) {
		r->status = -EHOSTDOWN;		/* fenced since it was opened */
	} else {
		r->status = -EINPROGRESS;
		list_add_tail(&r->link, &peer->calls);
	}
	spin_unlock(&peer->lock);
	if (r->status != -EINPROGRESS) {
		xpmem_conn_untake(r->conn, tx);
		return;
	}
	ret = xpmem_conn_post(r->conn, tx, r->type, XPMEM_WIRE_F_REQUEST,
			      r->seq, min_t(size_t, len, XPMEM_NET_MAX_PAYLOAD));
	if (!ret)
		return;
	spin_lock(&peer->lock);
	if (!list_empty(&r->link)) {
		list_del_init(&r->link);
		r->status = ret;
	}
	spin_unlock(&peer->lock);
}
EXPORT_SYMBOL_GPL(xpmem_net_batch_post);

/* How many of @rs are done; with @any, whether one of them is. */
static bool xpmem_batch_settled(struct xpmem_net_batch *b,
				struct xpmem_net_req **rs, unsigned int n,
				bool any)
{
	unsigned int i, done = 0, posted = 0;

	if (READ_ONCE(b->abort))
		return true;
	for (i = 0; i < n; i++) {
		if (!rs[i])
			continue;
		posted++;
		done += xpmem_net_req_done(rs[i]);
	}
	return any ? done > 0 || !posted : done == posted;
}

/*
 * At the batch's deadline: the nodes that have not answered but were heard
 * from within net_timeout_ms are busy, not silent, and are waited for on
 * (the deadline moves, never past the cap); the others are fenced now.
 * Returns whether any is waited for.
 */
static bool xpmem_batch_extend(struct xpmem_net_batch *b,
			       struct xpmem_net_req **rs, unsigned int n)
{
	unsigned long next = b->deadline, dl;
	struct xpmem_net_req *r;
	bool busy = false;
	unsigned int i;

	for (i = 0; i < n; i++) {
		r = rs[i];
		if (!r || xpmem_net_req_done(r))
			continue;
		dl = b->deadline;
		if (xpmem_conn_heard(r->conn, &dl, b->cap)) {
			busy = true;
			if (time_after(dl, next))
				next = dl;
			continue;
		}
		atomic_inc(&r->peer->timeouts);
		xpmem_peer_fence(r->peer, r->conn,
				 "no answer within net_timeout_ms");
	}
	b->deadline = next;
	return busy;
}

unsigned int xpmem_net_batch_wait(struct xpmem_net_batch *b,
				  struct xpmem_net_req **rs, unsigned int n,
				  bool any)
{
	struct xpmem_net_req *r;
	unsigned int i, done = 0;
	bool killed = false;
	long left;

	might_sleep();
	for (;;) {
		/* Every quarter of a timeout: are the silent nodes alive? */
		left = wait_event_killable_timeout(b->wq,
				xpmem_batch_settled(b, rs, n, any),
				xpmem_probe_slice(b->deadline));
		if (left < 0 || READ_ONCE(b->abort)) {
			killed = true;
			break;
		}
		if (left > 0)
			break;
		if (time_before(jiffies, b->deadline)) {
			for (i = 0; i < n; i++)
				if (rs[i] && !xpmem_net_req_done(rs[i]))
					xpmem_conn_probe(rs[i]->conn);
			continue;
		}
		if (!xpmem_batch_extend(b, rs, n))
			break;
	}
	for (i = 0; i < n; i++) {
		r = rs[i];
		if (!r)
			continue;
		/*
		 * Aborted or a fatal signal: fencing completes every request
		 * to the node (a connection replaced since was fenced already).
		 */
		if (!xpmem_net_req_done(r) && killed)
			xpmem_peer_fence(r->peer, r->conn,
					 "invalidating task killed");
		done += xpmem_net_req_done(r);
	}
	return done;
}
EXPORT_SYMBOL_GPL(xpmem_net_batch_wait);

int xpmem_net_batch_finish(struct xpmem_net_req *r)
{
	struct xpmem_peer *peer = r->peer;
	int ret;

	if (!peer)		/* never posted */
		return r->status;
	/* Also orders us after the completer's wake of the batch. */
	spin_lock(&peer->lock);
	if (!list_empty(&r->link)) {
		list_del_init(&r->link);
		r->status = -ETIMEDOUT;
	}
	ret = r->status;
	spin_unlock(&peer->lock);
	xpmem_net_req_put(r);
	return ret;
}
EXPORT_SYMBOL_GPL(xpmem_net_batch_finish);

void xpmem_net_batch_abort(struct xpmem_net_batch *b)
{
	WRITE_ONCE(b->abort, true);
	wake_up(&b->wq);
}
EXPORT_SYMBOL_GPL(xpmem_net_batch_abort);

void xpmem_net_fence_node(u16 node, const char *why)
{
	struct xpmem_peer *peer = xpmem_peer_get(node);

	if (!peer)
		return;
	xpmem_peer_fence(peer, NULL, why);
	xpmem_peer_put(peer);
}

void xpmem_net_register(enum xpmem_msg_type type, xpmem_net_handler_t fn)
{
	if (WARN_ON(type <= XPMEM_MSG_PING || type >= XPMEM_MSG_NR_TYPES))
		return;
	WRITE_ONCE(xpmem_net.handlers[type], fn);
}

void xpmem_net_set_fence_cb(void (*cb)(u16 node))
{
	WRITE_ONCE(xpmem_net.fence_cb, cb);
}

static bool xpmem_any_conn(void)
{
	struct xpmem_peer *peer;
	unsigned long i;
	bool busy = false;

	lockdep_assert_held(&xpmem_net.cfg_mutex);
	xa_for_each(&xpmem_net.peers, i, peer) {
		spin_lock(&peer->lock);
		busy |= peer->conn || peer->connecting || peer->npending;
		spin_unlock(&peer->lock);
	}
	return busy;
}

static void xpmem_sockaddr(struct sockaddr_storage *ss, u16 family,
			   const u8 *addr, u16 port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		memcpy(&in->sin_addr, addr, 4);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		memcpy(&in6->sin6_addr, addr, 16);
	}
}

/* Fields are validated by control.c. */
int xpmem_net_set_local(const struct xpmem_cmd_node *cmd)
{
	struct sockaddr_storage addr;
	int ret = 0;

	might_sleep();
	xpmem_sockaddr(&addr, cmd->family, cmd->addr, cmd->port);
	mutex_lock(&xpmem_net.cfg_mutex);
	if (xpmem_any_conn()) {
		ret = -EBUSY;
		goto out;
	}
	if (cmd->node_id && xa_load(&xpmem_net.peers, cmd->node_id)) {
		ret = -EEXIST;		/* that id is a peer's */
		goto out;
	}
	xpmem_listen_stop();
	spin_lock(&xpmem_net.lock);
	xpmem_net.node = 0;
	spin_unlock(&xpmem_net.lock);
	if (!cmd->node_id)
		goto out;
	ret = xpmem_listen_start(&addr);
	if (ret)
		goto out;
	spin_lock(&xpmem_net.lock);
	xpmem_net.node = cmd->node_id;
	xpmem_net.incarnation = cmd->incarnation ? cmd->incarnation :
				ktime_get_real_ns();
	memcpy(&xpmem_net.addr, &addr, sizeof(addr));
	spin_unlock(&xpmem_net.lock);
	pr_info("xpmem: node %u listening on %pISpc\n", cmd->node_id, &addr);
out:
	mutex_unlock(&xpmem_net.cfg_mutex);
	return ret;
}

int xpmem_net_add_peer(const struct xpmem_cmd_peer *cmd)
{
	struct xpmem_peer *peer;
	int ret;

	might_sleep();
	peer = kzalloc(sizeof(*peer), GFP_KERNEL);
	if (!peer)
		return -ENOMEM;
	kref_init(&peer->kref);
	peer->node = cmd->node_id;
	xpmem_sockaddr(&peer->addr, cmd->family, cmd->addr, cmd->port);
	peer->incarnation = cmd->incarnation;
	spin_lock_init(&peer->lock);
	INIT_LIST_HEAD(&peer->calls);
	INIT_LIST_HEAD(&peer->pending);
	init_waitqueue_head(&peer->wq);
	INIT_WORK(&peer->connect_work, xpmem_peer_connect_work);
	INIT_WORK(&peer->fence_work, xpmem_peer_fence_work);

	mutex_lock(&xpmem_net.cfg_mutex);
	if (cmd->node_id == xpmem_net_local_node())
		ret = -EEXIST;
	else
		ret = xa_insert(&xpmem_net.peers, cmd->node_id, peer,
				GFP_KERNEL);
	mutex_unlock(&xpmem_net.cfg_mutex);
	if (ret) {
		kfree(peer);
		return ret == -EBUSY ? -EEXIST : ret;
	}
	return 0;
}

/* Removes @peer from the table: fenced, its connection torn down. */
static void xpmem_peer_remove(struct xpmem_peer *peer)
{
	struct xpmem_conn *old, *p;

	spin_lock(&peer->lock);
	peer->removed = true;
	old = xpmem_peer_fence_locked(peer);
	/* Unauthenticated connections just go. */
	while (!list_empty(&peer->pending)) {
		p = list_first_entry(&peer->pending, struct xpmem_conn,
				     pending_link);
		list_del_init(&p->pending_link);
		peer->npending--;
		kref_get(&p->kref);
		spin_unlock(&peer->lock);
		xpmem_conn_kill(p);
		xpmem_conn_put(p);
		spin_lock(&peer->lock);
	}
	spin_unlock(&peer->lock);
	xpmem_peer_fence_finish(peer, old, "removed from the peer table");
	xpmem_peer_put(peer);
}

int xpmem_net_del_peer(u32 node_id)
{
	struct xpmem_peer *peer;

	might_sleep();
	mutex_lock(&xpmem_net.cfg_mutex);
	peer = xa_erase(&xpmem_net.peers, node_id);
	mutex_unlock(&xpmem_net.cfg_mutex);
	if (!peer)
		return -ENOENT;
	xpmem_peer_remove(peer);
	return 0;
}

int xpmem_net_init(void)
{
	int ret;

	mutex_init(&xpmem_net.cfg_mutex);
	spin_lock_init(&xpmem_net.lock);
	INIT_LIST_HEAD(&xpmem_net.conns);
	init_waitqueue_head(&xpmem_net.conns_wq);
	xa_init(&xpmem_net.peers);
	atomic64_set(&xpmem_net.seq, get_random_u32());
	/* Generations grow across reloads: see transport_cm.c. */
	atomic64_set(&xpmem_net.gen, ktime_get_real_ns());
	xpmem_net.wq = alloc_workqueue("xpmem_net", WQ_MEM_RECLAIM, 0);
	xpmem_net.td_wq = alloc_workqueue("xpmem_net_td", WQ_MEM_RECLAIM, 0);
	if (!xpmem_net.wq || !xpmem_net.td_wq) {
		ret = -ENOMEM;
		goto err;
	}
	ret = xpmem_net_proc_init();
	if (ret)
		goto err;
	return 0;
err:
	if (xpmem_net.wq)
		destroy_workqueue(xpmem_net.wq);
	if (xpmem_net.td_wq)
		destroy_workqueue(xpmem_net.td_wq);
	return ret;
}

static bool xpmem_no_conns(void)
{
	bool empty;

	spin_lock(&xpmem_net.lock);
	empty = list_empty(&xpmem_net.conns);
	spin_unlock(&xpmem_net.lock);
	return empty;
}

void xpmem_net_exit(void)
{
	struct xpmem_peer *peer;
	unsigned long i;

	mutex_lock(&xpmem_net.cfg_mutex);
	WRITE_ONCE(xpmem_net.exiting, true);
	xpmem_listen_stop();
	mutex_unlock(&xpmem_net.cfg_mutex);
	/* Connect works attach nothing once exiting is set. */
	flush_workqueue(xpmem_net.wq);
	mutex_lock(&xpmem_net.cfg_mutex);
	xa_for_each(&xpmem_net.peers, i, peer) {
		xa_erase(&xpmem_net.peers, i);
		xpmem_peer_remove(peer);
	}
	mutex_unlock(&xpmem_net.cfg_mutex);
	flush_workqueue(xpmem_net.wq);
	wait_event(xpmem_net.conns_wq, xpmem_no_conns());
	xpmem_net_proc_exit();
	xpmem_key_exit();
	destroy_workqueue(xpmem_net.td_wq);
	destroy_workqueue(xpmem_net.wq);
	xa_destroy(&xpmem_net.peers);
	/* Peers are freed with kfree_rcu. */
	rcu_barrier();
}
