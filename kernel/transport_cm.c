// SPDX-License-Identifier: GPL-2.0
/*
 * transport_cm.c - RC connections between xpmem nodes, made with rdma_cm.
 *
 * Active side (the first message to a peer, from a work item because the
 * call path allocates nothing): rdma_create_id, rdma_resolve_addr from the
 * local address, rdma_resolve_route, then PD, CQ (IB_POLL_WORKQUEUE), RC
 * QP and XPMEM_NET_RING posted receives, and rdma_connect_locked with our
 * identity as private data.  Passive side: the listener bound to the local
 * address and port accepts a request only from a registered peer whose
 * node id, source address and incarnation match the peer table entry.
 *
 * Both nodes connecting at once: the connection requested by the lower
 * node id wins.  The higher node accepts the lower node's request and
 * drops its own attempt; the lower node rejects the higher node's request
 * (XPMEM_REJ_RACE) while its own is in progress.  Every connection carries
 * a generation (increasing, from the wall clock at load) in its private
 * data; a request whose generation is not newer than that of the
 * connection already up was sent before the sender knew about it and is
 * rejected as stale, a newer one means the peer lost the old connection,
 * which is then fenced and replaced.
 *
 * Teardown (destroy_work, never inside a cm handler): under the cm_id's
 * handler lock the QP is disconnected and moved to the error state, then
 * the flushes are awaited (bounded), the handlers still holding receive
 * buffers finish, and the QP, CQ, buffers, PD and cm_id are freed.
 *
 * While the port is down (a link down is when peers get fenced), nothing
 * is sent: the QP only goes to the error state, and the cm_id, whose
 * destruction sends a DREQ or REJ, is kept until the port is up again.
 * Soft-RoCE (6.1) loses the receive side of its GSI QP for good when a CM
 * message fails to go out on a down link: no connection could ever be
 * made again (measured: after a peer was removed during a link flap,
 * every later connect timed out while sends still left the node).
 */
#include <crypto/algapi.h>
#include <linux/inet.h>
#include <linux/in6.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <net/ipv6.h>
#include <rdma/ib_cm.h>

#include "transport_priv.h"

static int xpmem_cm_handler(struct rdma_cm_id *id, struct rdma_cm_event *ev);

static_assert(sizeof(struct xpmem_wire_conn) == 48);
static_assert(sizeof(struct xpmem_wire_accept) == 80);

/* Takes @conn off its peer's pending list; peer->lock held. */
static bool xpmem_conn_unpend_locked(struct xpmem_conn *conn)
{
	lockdep_assert_held(&conn->peer->lock);
	if (list_empty(&conn->pending_link))
		return false;
	list_del_init(&conn->pending_link);
	conn->peer->npending--;
	return true;
}

/* Counts and logs (rate limited) a handshake that failed. */
static void xpmem_count_auth_failure(struct xpmem_peer *peer, const char *why)
{
	atomic_inc(&peer->auth_failures);
	atomic_inc(&xpmem_net.auth_failures);
	pr_notice_ratelimited("xpmem: node %u: connection not authenticated: %s\n",
			      peer->node, why);
}

/*
 * Ends the passive @conn if it is still pending.  Taking it off the list
 * under peer->lock decides it against xpmem_conn_accepted(): a connection
 * that got up is never torn down from here.
 */
static void xpmem_pending_drop(struct xpmem_conn *conn, const char *why)
{
	struct xpmem_peer *peer = conn->peer;
	bool pending;

	spin_lock(&peer->lock);
	pending = xpmem_conn_unpend_locked(conn);
	spin_unlock(&peer->lock);
	if (!pending)
		return;
	if (!xpmem_conn_dead(conn))
		xpmem_count_auth_failure(peer, why);
	xpmem_conn_kill(conn);
}

/*
 * The handshake of @conn failed (bad MAC, wrong first message, no AUTH
 * in time): the connection goes, counted; nothing else is touched.
 */
void xpmem_conn_auth_failed(struct xpmem_conn *conn, const char *why)
{
	if (xpmem_conn_dead(conn))
		return;
	if (!conn->active) {
		xpmem_pending_drop(conn, why);
		return;
	}
	xpmem_count_auth_failure(conn->peer, why);
	xpmem_conn_lost(conn, -EKEYREJECTED, why);
}

static void xpmem_conn_auth_timeout(struct work_struct *work)
{
	struct xpmem_conn *conn = container_of(to_delayed_work(work),
					       struct xpmem_conn, auth_work);

	xpmem_pending_drop(conn, "no AUTH within net_timeout_ms");
	xpmem_conn_put(conn);
}

static void xpmem_conn_release(struct kref *kref)
{
	struct xpmem_conn *conn = container_of(kref, struct xpmem_conn, kref);

	spin_lock(&xpmem_net.lock);
	list_del(&conn->all_link);
	spin_unlock(&xpmem_net.lock);
	wake_up_all(&xpmem_net.conns_wq);
	xpmem_peer_put(conn->peer);
	kfree(conn);
}

void xpmem_conn_put(struct xpmem_conn *conn)
{
	kref_put(&conn->kref, xpmem_conn_release);
}

static void xpmem_conn_fail_work(struct work_struct *work)
{
	struct xpmem_conn *conn = container_of(work, struct xpmem_conn,
					       fail_work);

	xpmem_conn_lost(conn, -EIO, "fatal QP event");
	xpmem_conn_put(conn);
}

/* Can the CM send on @id's port now?  Unresolved ids send nothing. */
static bool xpmem_port_up(struct rdma_cm_id *id)
{
	struct ib_port_attr attr;

	if (!id->device || ib_query_port(id->device, id->port_num, &attr))
		return true;
	return attr.state == IB_PORT_ACTIVE;
}

/* The last step of teardown; waits (at most ~10 min) for the port. */
static void xpmem_conn_id_work(struct work_struct *work)
{
	struct xpmem_conn *conn = container_of(to_delayed_work(work),
					       struct xpmem_conn, id_work);

	if (!xpmem_port_up(conn->cm_id) && !READ_ONCE(xpmem_net.exiting) &&
	    ++conn->id_waits < 1200) {
		queue_delayed_work(xpmem_net.td_wq, &conn->id_work, HZ / 2);
		return;
	}
	rdma_destroy_id(conn->cm_id);
	xpmem_conn_put(conn);
}

static void xpmem_conn_destroy_work(struct work_struct *work)
{
	struct xpmem_conn *conn = container_of(work, struct xpmem_conn,
					       destroy_work);
	struct ib_qp_attr attr = { .qp_state = IB_QPS_ERR };
	struct rdma_cm_id *id = conn->cm_id;

	might_sleep();
	if (cancel_delayed_work(&conn->auth_work))
		xpmem_conn_put(conn);
	spin_lock(&conn->peer->lock);
	xpmem_conn_unpend_locked(conn);
	spin_unlock(&conn->peer->lock);
	if (id) {
		/* No cm handler runs meanwhile; later ones see DEAD. */
		rdma_lock_handler(id);
		if (conn->connected && xpmem_port_up(id))
			rdma_disconnect(id);
		if (conn->qp)
			ib_modify_qp(conn->qp, &attr, IB_QP_STATE);
		rdma_unlock_handler(id);
	}
	/* Senders between taking a buffer and posting it: never sleep. */
	wait_event(conn->wq, !READ_ONCE(conn->tx_held));
	if (conn->qp &&
	    !wait_event_timeout(conn->wq, !atomic_read(&conn->posted),
				msecs_to_jiffies(2000)))
		pr_notice("xpmem: node %u: %d work requests not flushed\n",
			  conn->peer->node, atomic_read(&conn->posted));
	/* Handlers holding receive buffers; each wait in them is bounded. */
	wait_event(conn->wq, !atomic_read(&conn->rx_busy));
	if (conn->qp)
		rdma_destroy_qp(id);
	if (conn->cq)
		ib_free_cq(conn->cq);
	if (conn->dev)
		xpmem_conn_free_bufs(conn);
	if (conn->pd)
		ib_dealloc_pd(conn->pd);
	if (id) {
		xpmem_conn_id_work(&conn->id_work.work);
		return;
	}
	xpmem_conn_put(conn);
}

static struct xpmem_conn *xpmem_conn_alloc(struct xpmem_peer *peer,
					   bool active)
{
	struct xpmem_conn *conn;

	conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn)
		return NULL;
	kref_init(&conn->kref);
	kref_get(&peer->kref);
	conn->peer = peer;
	conn->active = active;
	spin_lock_init(&conn->lock);
	conn->state = XPMEM_CONN_CONNECTING;
	INIT_LIST_HEAD(&conn->tx_free);
	INIT_LIST_HEAD(&conn->tx_waiters);
	conn->heard = jiffies;
	INIT_LIST_HEAD(&conn->pending_link);
	INIT_DELAYED_WORK(&conn->auth_work, xpmem_conn_auth_timeout);
	init_waitqueue_head(&conn->wq);
	INIT_WORK(&conn->fail_work, xpmem_conn_fail_work);
	INIT_WORK(&conn->destroy_work, xpmem_conn_destroy_work);
	INIT_WORK(&conn->probe_work, xpmem_conn_probe_work);
	INIT_DELAYED_WORK(&conn->id_work, xpmem_conn_id_work);
	spin_lock(&xpmem_net.lock);
	list_add(&conn->all_link, &xpmem_net.conns);
	spin_unlock(&xpmem_net.lock);
	return conn;
}

/*
 * Marks @conn dead and queues its teardown; idempotent.  The caller has
 * detached it from its peer (or never attached it).  Never sleeps.
 */
void xpmem_conn_kill(struct xpmem_conn *conn)
{
	bool first;

	spin_lock(&conn->lock);
	first = conn->state != XPMEM_CONN_DEAD;
	conn->state = XPMEM_CONN_DEAD;
	xpmem_grant_locked(conn);	/* ends the senders' waits */
	spin_unlock(&conn->lock);
	if (!first)
		return;
	wake_up_all(&conn->wq);
	queue_work(xpmem_net.td_wq, &conn->destroy_work);
}

/*
 * @conn failed or was closed.  A connection that was up fences its peer;
 * a failed attempt only wakes the callers waiting for it with @err.
 */
void xpmem_conn_lost(struct xpmem_conn *conn, int err, const char *why)
{
	struct xpmem_peer *peer = conn->peer;
	bool pending;

	spin_lock(&peer->lock);
	if (peer->conn != conn) {
		/* Pending: the peer never proved the key.  Nothing else. */
		pending = xpmem_conn_unpend_locked(conn);
		spin_unlock(&peer->lock);
		if (pending && !xpmem_conn_dead(conn))
			xpmem_count_auth_failure(peer, why);
		xpmem_conn_kill(conn);
		return;
	}
	if (conn->was_up) {
		spin_unlock(&peer->lock);
		xpmem_peer_fence(peer, conn, why);
		return;
	}
	peer->conn = NULL;
	peer->conn_err = err;
	spin_unlock(&peer->lock);
	pr_debug("xpmem: node %u: connection attempt failed: %s (%d)\n",
		 peer->node, why, err);
	xpmem_conn_kill(conn);
	wake_up_all(&peer->wq);
}

static void xpmem_qp_event(struct ib_event *ev, void *context)
{
	struct xpmem_conn *conn = context;

	/* May run in softirq context: no locks of ours here. */
	switch (ev->event) {
	case IB_EVENT_COMM_EST:
		rdma_notify(conn->cm_id, IB_EVENT_COMM_EST);
		break;
	case IB_EVENT_QP_FATAL:
	case IB_EVENT_QP_REQ_ERR:
	case IB_EVENT_QP_ACCESS_ERR:
	case IB_EVENT_PATH_MIG_ERR:
		kref_get(&conn->kref);
		if (!queue_work(xpmem_net.wq, &conn->fail_work))
			xpmem_conn_put(conn);
		break;
	default:
		break;
	}
}

/* PD, CQ, QP, buffers and posted receives; under the handler lock. */
static int xpmem_conn_setup(struct xpmem_conn *conn)
{
	struct rdma_cm_id *id = conn->cm_id;
	struct ib_qp_init_attr attr = { };
	int ret;

	if (xpmem_conn_dead(conn))
		return -ENOTCONN;
	conn->dev = id->device;
	conn->pd = ib_alloc_pd(conn->dev, 0);
	if (IS_ERR(conn->pd)) {
		ret = PTR_ERR(conn->pd);
		conn->pd = NULL;
		return ret;
	}
	/* Sends, the credit message, receives, and one drain each. */
	conn->cq = ib_alloc_cq(conn->dev, conn, 2 * XPMEM_NET_RING + 4, 0,
			       IB_POLL_WORKQUEUE);
	if (IS_ERR(conn->cq)) {
		ret = PTR_ERR(conn->cq);
		conn->cq = NULL;
		return ret;
	}
	ret = xpmem_conn_setup_bufs(conn);
	if (ret)
		return ret;
	attr.event_handler = xpmem_qp_event;
	attr.qp_context = conn;
	attr.send_cq = conn->cq;
	attr.recv_cq = conn->cq;
	attr.cap.max_send_wr = XPMEM_NET_RING + 2;
	attr.cap.max_recv_wr = XPMEM_NET_RING + 1;
	/* The buffer and a FETCH window's pages, if the device takes them. */
	attr.cap.max_send_sge = min_t(u32, 1 + XPMEM_NET_MAX_PAGES,
				      conn->dev->attrs.max_send_sge);
	attr.cap.max_recv_sge = 1;
	attr.sq_sig_type = IB_SIGNAL_ALL_WR;
	attr.qp_type = IB_QPT_RC;
	ret = rdma_create_qp(id, conn->pd, &attr);
	if (ret)
		return ret;
	conn->qp = id->qp;
	conn->max_send_sge = attr.cap.max_send_sge;
	return xpmem_conn_post_all_recvs(conn);
}

static void xpmem_fill_conn_data(struct xpmem_wire_conn *cd, u16 dst,
				 u64 gen, u32 reason)
{
	u64 inc;
	u16 node;

	xpmem_net_local(&node, &inc, NULL);
	memset(cd, 0, sizeof(*cd));
	cd->magic = cpu_to_le32(XPMEM_WIRE_MAGIC);
	cd->version = cpu_to_le16(XPMEM_WIRE_VERSION);
	cd->ring = cpu_to_le16(XPMEM_NET_RING);
	cd->src_node = cpu_to_le16(node);
	cd->dst_node = cpu_to_le16(dst);
	cd->reason = cpu_to_le32(reason);
	cd->incarnation = cpu_to_le64(inc);
	cd->gen = cpu_to_le64(gen);
	if (!reason)
		get_random_bytes(cd->nonce, sizeof(cd->nonce));
}

/*
 * The QP's ack timeout, 4.096 us << net_ack_timeout: how long a lost
 * packet that no later one reveals (the tail of a burst, a lone request)
 * waits for its retransmission.  rdma_cm's default on RoCE is 19 (2.1 s):
 * two such losses and a peer is fenced at net_timeout_ms.  Seven retries
 * then bound the silence a connection survives: 8.6 s at 18 (1.07 s).
 */
static unsigned int net_ack_timeout = 18;
module_param(net_ack_timeout, uint, 0644);
MODULE_PARM_DESC(net_ack_timeout,
		 "QP ack timeout of new connections, 4.096 us << N (8-24; 0: the fabric's default)");

static void xpmem_set_ack_timeout(struct rdma_cm_id *id)
{
	unsigned int t = READ_ONCE(net_ack_timeout);

	if (t)
		rdma_set_ack_timeout(id, clamp(t, 8U, 24U));
}

static void xpmem_conn_param(struct rdma_conn_param *param, const void *data,
			     u8 len)
{
	memset(param, 0, sizeof(*param));
	param->private_data = data;
	param->private_data_len = len;
	param->retry_count = 7;
	param->rnr_retry_count = 7;
}

static int xpmem_cm_route_resolved(struct xpmem_conn *conn)
{
	struct rdma_conn_param param;
	struct xpmem_wire_conn cd;
	int ret;

	ret = xpmem_conn_setup(conn);
	if (ret)
		return ret;
	xpmem_fill_conn_data(&cd, conn->peer->node, conn->gen, 0);
	memcpy(&conn->req, &cd, sizeof(cd));	/* for the MACs */
	xpmem_conn_param(&param, &cd, sizeof(cd));
	conn->connected = true;
	return rdma_connect_locked(conn->cm_id, &param);
}

/* Checks the identity in private data against the peer table entry. */
static enum xpmem_rej_reason
xpmem_check_conn_data(struct xpmem_peer *peer, const void *data, u8 len)
{
	const struct xpmem_wire_conn *cd = data;
	u16 node;

	xpmem_net_local(&node, NULL, NULL);
	if (!cd || len < sizeof(*cd) ||
	    le32_to_cpu(cd->magic) != XPMEM_WIRE_MAGIC ||
	    le16_to_cpu(cd->version) != XPMEM_WIRE_VERSION ||
	    !le16_to_cpu(cd->ring))
		return XPMEM_REJ_VERSION;
	if (le16_to_cpu(cd->src_node) != peer->node ||
	    le16_to_cpu(cd->dst_node) != node)
		return XPMEM_REJ_UNKNOWN;
	if (peer->incarnation &&
	    le64_to_cpu(cd->incarnation) != peer->incarnation)
		return XPMEM_REJ_INCARNATION;
	return XPMEM_REJ_NONE;
}

/*
 * The active side's half of the handshake: checks mac_p of the accept,
 * sends AUTH (its first message) and only then counts as up.  The passive
 * side waits for that AUTH (xpmem_conn_accepted).
 */
static int xpmem_cm_established(struct xpmem_conn *conn,
				struct rdma_cm_event *ev)
{
	const struct xpmem_wire_accept *acc = ev->param.conn.private_data;
	const struct xpmem_wire_conn *cd = &acc->cd;
	struct xpmem_peer *peer = conn->peer;
	u8 mac[XPMEM_AUTH_MAC_LEN];
	struct xpmem_link_key *k;
	unsigned long deadline;
	int ret;

	might_sleep();
	if (!conn->active)
		return 0;
	if (!acc || ev->param.conn.private_data_len < sizeof(*acc) ||
	    xpmem_check_conn_data(peer, cd, sizeof(*cd))) {
		pr_notice_ratelimited("xpmem: node %u: bad accept data\n",
				      peer->node);
		return -EPROTO;
	}
	k = xpmem_key_get();
	if (!k) {
		xpmem_auth_no_key();
		return -ENOKEY;
	}
	ret = xpmem_auth_mac(k, XPMEM_AUTH_PASSIVE, &conn->req, cd, mac);
	if (!ret && crypto_memneq(mac, acc->mac, sizeof(mac))) {
		xpmem_key_put(k);
		memzero_explicit(mac, sizeof(mac));
		xpmem_count_auth_failure(peer, "bad MAC in the accept");
		return -EKEYREJECTED;
	}
	if (!ret)
		ret = xpmem_auth_mac(k, XPMEM_AUTH_ACTIVE, &conn->req, cd, mac);
	xpmem_key_put(k);
	if (ret)
		return ret;

	spin_lock(&peer->lock);
	peer->seen_incarnation = le64_to_cpu(cd->incarnation);
	conn->remote_gen = le64_to_cpu(cd->gen);
	spin_unlock(&peer->lock);
	spin_lock(&conn->lock);
	conn->credits = min_t(int, le16_to_cpu(cd->ring), XPMEM_NET_RING);
	conn->credit_max = conn->credits;
	spin_unlock(&conn->lock);
	WRITE_ONCE(conn->authed, true);
	deadline = jiffies + xpmem_net_timeout();
	ret = xpmem_conn_send(conn, XPMEM_WIRE_AUTH, 0, 0, mac, sizeof(mac),
			      deadline, deadline, 0);
	memzero_explicit(mac, sizeof(mac));
	if (ret)
		return ret;
	xpmem_conn_set_up(conn);
	return 0;
}

static int xpmem_rej_errno(struct rdma_cm_id *id, struct rdma_cm_event *ev)
{
	const struct xpmem_wire_conn *cd;
	u8 len = 0;

	cd = rdma_consumer_reject_data(id, ev, &len);
	if (!cd || len < sizeof(*cd) ||
	    le32_to_cpu(cd->magic) != XPMEM_WIRE_MAGIC)
		return -ECONNREFUSED;
	switch (le32_to_cpu(cd->reason)) {
	case XPMEM_REJ_RACE:
	case XPMEM_REJ_STALE:
		return -EAGAIN;		/* the peer's connection will do */
	case XPMEM_REJ_NOMEM:
		return -ENOMEM;
	default:
		return -ECONNREFUSED;
	}
}

static void xpmem_reject(struct rdma_cm_id *id, u16 dst, u32 reason)
{
	struct xpmem_wire_conn cd;

	xpmem_fill_conn_data(&cd, dst, 0, reason);
	rdma_reject(id, &cd, sizeof(cd), IB_CM_REJ_CONSUMER_DEFINED);
}

static bool xpmem_same_ip(const struct sockaddr_storage *a,
			  const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (b->sa_family == AF_INET6)
		return ipv6_addr_equal(&((const struct sockaddr_in6 *)a)->sin6_addr,
				       &((const struct sockaddr_in6 *)b)->sin6_addr);
	return false;
}

/*
 * Decides, under peer->lock, whether a connect request from @peer with
 * @inc and @gen replaces the current connection; returns the reject
 * reason or NONE with *old set to the connection to drop (if any).
 * At the request (!@authed) only the answer counts: nothing is dropped
 * before the requester proved the key; with @authed it is final.
 */
static enum xpmem_rej_reason xpmem_admit(struct xpmem_peer *peer, u64 inc,
					 u64 gen, bool authed,
					 struct xpmem_conn **old)
{
	struct xpmem_conn *cur = peer->conn;
	u16 node;

	lockdep_assert_held(&peer->lock);
	xpmem_net_local(&node, NULL, NULL);
	*old = NULL;
	if (peer->removed || READ_ONCE(xpmem_net.exiting))
		return XPMEM_REJ_UNKNOWN;
	if (!cur)
		return XPMEM_REJ_NONE;
	if (peer->seen_incarnation && inc != peer->seen_incarnation) {
		*old = cur;		/* the peer restarted */
		return XPMEM_REJ_NONE;
	}
	if (cur->active && READ_ONCE(cur->state) == XPMEM_CONN_CONNECTING) {
		/* An authenticated one beats our attempt, whoever is lower. */
		if (node < peer->node && !authed)
			return XPMEM_REJ_RACE;
		*old = cur;
		return XPMEM_REJ_NONE;
	}
	if (gen <= cur->remote_gen)
		return XPMEM_REJ_STALE;
	*old = cur;
	return XPMEM_REJ_NONE;
}

/* The source port of a request: only CAP_NET_BIND_SERVICE binds < 1024. */
static bool xpmem_reserved_port(const struct sockaddr *src)
{
	u16 port = 0;

	if (src->sa_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)src)->sin_port);
	else if (src->sa_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)src)->sin6_port);
	return port && port < 1024;
}

/*
 * @conn (passive) proved the key with its AUTH message: only now may it
 * replace (and fence) the connection that is up.  Runs in the receive
 * completion handler, before anything after the AUTH is dispatched.
 */
void xpmem_conn_accepted(struct xpmem_conn *conn)
{
	struct xpmem_peer *peer = conn->peer;
	enum xpmem_rej_reason why;
	struct xpmem_conn *old;
	bool fence_old;

	spin_lock(&peer->lock);
	if (!xpmem_conn_unpend_locked(conn) || xpmem_conn_dead(conn)) {
		/* Dropped meanwhile (the pending limit, the peer removed). */
		spin_unlock(&peer->lock);
		xpmem_conn_kill(conn);
		return;
	}
	why = xpmem_admit(peer, conn->remote_inc, conn->remote_gen, true, &old);
	if (why) {
		spin_unlock(&peer->lock);
		pr_debug("xpmem: node %u: authenticated connection superseded (%d)\n",
			 peer->node, why);
		xpmem_conn_kill(conn);
		return;
	}
	fence_old = old && old->was_up;
	peer->seen_incarnation = conn->remote_inc;
	if (fence_old)
		xpmem_peer_fence_locked(peer);
	WRITE_ONCE(conn->authed, true);
	peer->conn = conn;
	spin_unlock(&peer->lock);
	if (fence_old)
		xpmem_peer_fence_finish(peer, old, "peer reconnected");
	else if (old)
		xpmem_conn_kill(old);
	if (cancel_delayed_work(&conn->auth_work))
		xpmem_conn_put(conn);
	xpmem_conn_set_up(conn);
}

/* Refuses a request the listener cannot even attribute to a conn. */
static int xpmem_refuse(struct rdma_cm_id *id, struct xpmem_peer *peer,
			u16 node, u32 reason)
{
	atomic_inc(&xpmem_net.conn_refused);
	if (peer) {
		atomic_inc(&peer->rejected);
		xpmem_peer_put(peer);
	}
	xpmem_reject(id, node, reason);
	return 1;	/* rdma_cm destroys the id */
}

/*
 * A connect request.  It may come from anyone who can reach the port:
 * everything here touches only the requester.  A request that passes the
 * checks becomes a pending connection, accepted with our nonce and mac_p;
 * it replaces nothing until its AUTH message proves the key.
 */
static int xpmem_cm_connect_request(struct rdma_cm_id *id,
				    struct rdma_cm_event *ev)
{
	const struct xpmem_wire_conn *cd = ev->param.conn.private_data;
	u8 len = ev->param.conn.private_data_len;
	struct sockaddr *src = (struct sockaddr *)&id->route.addr.dst_addr;
	struct xpmem_conn *conn, *old, *drop = NULL;
	struct xpmem_wire_accept acc;
	struct rdma_conn_param param;
	struct xpmem_link_key *k;
	enum xpmem_rej_reason why;
	struct xpmem_peer *peer;
	u16 node = 0;
	u64 inc, gen;
	int ret;

	might_sleep();
	if (cd && len >= sizeof(*cd))
		node = le16_to_cpu(cd->src_node);
	peer = node ? xpmem_peer_get(node) : NULL;
	if (!peer || !xpmem_same_ip(&peer->addr, src)) {
		pr_notice_ratelimited("xpmem: connect request from %pISc claiming node %u refused: not a registered peer\n",
				      src, node);
		return xpmem_refuse(id, peer, node, XPMEM_REJ_UNKNOWN);
	}
	if (!xpmem_reserved_port(src)) {
		pr_notice_ratelimited("xpmem: connect request from node %u (%pISpc) refused: unprivileged source port\n",
				      node, src);
		return xpmem_refuse(id, peer, node, XPMEM_REJ_UNKNOWN);
	}
	why = xpmem_check_conn_data(peer, cd, len);
	if (why) {
		pr_notice_ratelimited("xpmem: connect request from node %u (%pISc) refused: %s\n",
				      node, src, why == XPMEM_REJ_VERSION ?
				      "protocol version" :
				      why == XPMEM_REJ_INCARNATION ?
				      "incarnation" : "identity");
		return xpmem_refuse(id, peer, node, why);
	}
	k = xpmem_key_get();
	if (!k) {
		xpmem_auth_no_key();
		atomic_inc(&peer->rejected);
		xpmem_peer_put(peer);
		xpmem_reject(id, node, XPMEM_REJ_NOKEY);
		return 1;
	}
	inc = le64_to_cpu(cd->incarnation);
	gen = le64_to_cpu(cd->gen);

	/* Refusing a racing or stale request only concerns the requester. */
	spin_lock(&peer->lock);
	why = xpmem_admit(peer, inc, gen, false, &old);
	spin_unlock(&peer->lock);
	if (why) {
		if (why == XPMEM_REJ_RACE || why == XPMEM_REJ_STALE)
			pr_debug("xpmem: node %u: %s connect request refused\n",
				 node, why == XPMEM_REJ_RACE ? "racing" :
				 "stale");
		goto reject;
	}
	conn = xpmem_conn_alloc(peer, false);
	if (!conn) {
		why = XPMEM_REJ_NOMEM;
		goto reject;
	}
	conn->cm_id = id;
	conn->remote_gen = gen;
	conn->remote_inc = inc;
	conn->credits = min_t(int, le16_to_cpu(cd->ring), XPMEM_NET_RING);
	conn->credit_max = conn->credits;
	conn->gen = atomic64_inc_return(&xpmem_net.gen);
	xpmem_fill_conn_data(&acc.cd, node, conn->gen, 0);
	ret = xpmem_auth_mac(k, XPMEM_AUTH_PASSIVE, cd, &acc.cd, acc.mac);
	if (!ret)
		ret = xpmem_auth_mac(k, XPMEM_AUTH_ACTIVE, cd, &acc.cd,
				     conn->mac_a);
	if (ret) {
		conn->cm_id = NULL;
		xpmem_conn_put(conn);
		why = XPMEM_REJ_NOMEM;
		goto reject;
	}
	xpmem_key_put(k);
	k = NULL;

	spin_lock(&peer->lock);
	if (peer->removed || READ_ONCE(xpmem_net.exiting)) {
		spin_unlock(&peer->lock);
		conn->cm_id = NULL;
		xpmem_conn_put(conn);
		why = XPMEM_REJ_UNKNOWN;
		goto reject;
	}
	list_add_tail(&conn->pending_link, &peer->pending);
	if (++peer->npending > XPMEM_AUTH_MAX_PENDING) {
		/* The oldest goes: nobody can hold the slots. */
		drop = list_first_entry(&peer->pending, struct xpmem_conn,
					pending_link);
		xpmem_conn_unpend_locked(drop);
		kref_get(&drop->kref);
	}
	spin_unlock(&peer->lock);
	if (drop) {
		if (!xpmem_conn_dead(drop))
			xpmem_count_auth_failure(peer,
						 "too many unauthenticated connections");
		xpmem_conn_kill(drop);
		xpmem_conn_put(drop);
	}
	id->context = conn;

	xpmem_set_ack_timeout(id);
	ret = xpmem_conn_setup(conn);
	if (!ret) {
		xpmem_conn_param(&param, &acc, sizeof(acc));
		conn->connected = true;
		kref_get(&conn->kref);
		if (!queue_delayed_work(xpmem_net.wq, &conn->auth_work,
					xpmem_net_timeout()))
			xpmem_conn_put(conn);
		ret = rdma_accept(id, &param);
	}
	memzero_explicit(&acc, sizeof(acc));
	if (ret) {
		pr_notice("xpmem: node %u: accept failed (%d)\n", node, ret);
		spin_lock(&peer->lock);
		xpmem_conn_unpend_locked(conn);	/* not a handshake failure */
		spin_unlock(&peer->lock);
		xpmem_reject(id, node, XPMEM_REJ_NOMEM);
		xpmem_conn_lost(conn, ret, "accept failed");
	}
	xpmem_peer_put(peer);
	return 0;

reject:
	xpmem_key_put(k);
	atomic_inc(&peer->rejected);
	atomic_inc(&xpmem_net.conn_refused);
	xpmem_peer_put(peer);
	xpmem_reject(id, node, why);
	return 1;
}

/* Events of the listener (its context is NULL). */
static int xpmem_cm_listener_event(struct rdma_cm_id *id,
				   struct rdma_cm_event *ev)
{
	int ret = 0;

	if (ev->event != RDMA_CM_EVENT_DEVICE_REMOVAL)
		return 0;
	pr_notice("xpmem: RDMA device removed: no longer listening\n");
	spin_lock(&xpmem_net.lock);
	if (xpmem_net.listen_id == id) {
		xpmem_net.listen_id = NULL;
		ret = 1;	/* rdma_cm destroys it */
	}
	spin_unlock(&xpmem_net.lock);
	return ret;
}

static int xpmem_cm_handler(struct rdma_cm_id *id, struct rdma_cm_event *ev)
{
	struct xpmem_conn *conn = id->context;
	int ret = 0;

	if (ev->event == RDMA_CM_EVENT_CONNECT_REQUEST)
		return xpmem_cm_connect_request(id, ev);
	if (!conn)
		return xpmem_cm_listener_event(id, ev);
	if (xpmem_conn_dead(conn))
		return 0;

	switch (ev->event) {
	case RDMA_CM_EVENT_ADDR_RESOLVED:
		ret = rdma_resolve_route(id, jiffies_to_msecs(xpmem_net_timeout()));
		if (ret)
			xpmem_conn_lost(conn, ret, "route resolution");
		break;
	case RDMA_CM_EVENT_ROUTE_RESOLVED:
		ret = xpmem_cm_route_resolved(conn);
		if (ret)
			xpmem_conn_lost(conn, ret, "connect");
		break;
	case RDMA_CM_EVENT_ESTABLISHED:
		ret = xpmem_cm_established(conn, ev);
		if (ret)
			xpmem_conn_lost(conn, ret, "bad accept");
		break;
	case RDMA_CM_EVENT_ADDR_ERROR:
	case RDMA_CM_EVENT_ROUTE_ERROR:
	case RDMA_CM_EVENT_UNREACHABLE:
		xpmem_conn_lost(conn, -EHOSTUNREACH, rdma_event_msg(ev->event));
		break;
	case RDMA_CM_EVENT_REJECTED:
		ret = xpmem_rej_errno(id, ev);
		if (ret != -EAGAIN) {
			atomic_inc(&conn->peer->refused);
			pr_notice("xpmem: node %u refused our connection: %s\n",
				  conn->peer->node, rdma_reject_msg(id, ev->status));
		}
		xpmem_conn_lost(conn, ret, "rejected");
		break;
	case RDMA_CM_EVENT_CONNECT_ERROR:
	case RDMA_CM_EVENT_DISCONNECTED:
	case RDMA_CM_EVENT_DEVICE_REMOVAL:
	case RDMA_CM_EVENT_ADDR_CHANGE:
		xpmem_conn_lost(conn, -ECONNRESET, rdma_event_msg(ev->event));
		break;
	default:
		break;
	}
	return 0;
}

/*
 * Binds @id to the local address and a reserved port (1023 down to
 * XPMEM_PORT_LOW): the acceptor refuses requests from other ports, which
 * only CAP_NET_BIND_SERVICE may bind in rdma_cm's port space.
 */
#define XPMEM_PORT_LOW	512
static int xpmem_bind_reserved(struct rdma_cm_id *id,
			       struct sockaddr_storage *src)
{
	int port, ret = -EADDRNOTAVAIL;

	/* Several connections (to different peers) may share a port. */
	rdma_set_reuseaddr(id, 1);
	for (port = 1023; port >= XPMEM_PORT_LOW; port--) {
		if (src->ss_family == AF_INET)
			((struct sockaddr_in *)src)->sin_port = htons(port);
		else
			((struct sockaddr_in6 *)src)->sin6_port = htons(port);
		ret = rdma_bind_addr(id, (struct sockaddr *)src);
		if (ret != -EADDRINUSE && ret != -EADDRNOTAVAIL)
			break;
	}
	if (ret)
		pr_notice_ratelimited("xpmem: no reserved source port (%d)\n",
				      ret);
	return ret;
}

/*
 * Starts a connection to @peer (connect_work).  Returns an error only if
 * nothing was attached to the peer; later failures arrive through
 * xpmem_conn_lost().
 */
int xpmem_conn_start(struct xpmem_peer *peer)
{
	struct sockaddr_storage src, dst;
	struct xpmem_link_key *k;
	struct xpmem_conn *conn;
	struct rdma_cm_id *id;
	u16 node;
	int ret;

	might_sleep();
	xpmem_net_local(&node, NULL, &src);
	if (!node)
		return -EHOSTDOWN;
	k = xpmem_key_get();
	if (!k) {
		xpmem_auth_no_key();
		return -ENOKEY;
	}
	xpmem_key_put(k);
	conn = xpmem_conn_alloc(peer, true);
	if (!conn)
		return -ENOMEM;
	id = rdma_create_id(&init_net, xpmem_cm_handler, conn, RDMA_PS_TCP,
			    IB_QPT_RC);
	if (IS_ERR(id)) {
		xpmem_conn_put(conn);
		return PTR_ERR(id);
	}
	conn->cm_id = id;
	/* before the route: on RoCE it also sets the packet lifetime */
	xpmem_set_ack_timeout(id);

	spin_lock(&peer->lock);
	peer->connecting = false;
	if (peer->conn || peer->removed || READ_ONCE(xpmem_net.exiting)) {
		/* A passive connection came first, or the peer is gone. */
		spin_unlock(&peer->lock);
		xpmem_conn_kill(conn);
		wake_up_all(&peer->wq);
		return 0;
	}
	conn->gen = atomic64_inc_return(&xpmem_net.gen);
	peer->conn = conn;
	spin_unlock(&peer->lock);

	memcpy(&dst, &peer->addr, sizeof(dst));
	ret = xpmem_bind_reserved(id, &src);
	if (!ret)
		ret = rdma_resolve_addr(id, (struct sockaddr *)&src,
					(struct sockaddr *)&dst,
					jiffies_to_msecs(xpmem_net_timeout()));
	if (ret)
		xpmem_conn_lost(conn, ret, "address resolution");
	return 0;
}

/* Listens on @addr (address and port); cfg_mutex held. */
int xpmem_listen_start(const struct sockaddr_storage *addr)
{
	struct sockaddr_storage a;
	struct rdma_cm_id *id;
	int ret;

	lockdep_assert_held(&xpmem_net.cfg_mutex);
	id = rdma_create_id(&init_net, xpmem_cm_handler, NULL, RDMA_PS_TCP,
			    IB_QPT_RC);
	if (IS_ERR(id))
		return PTR_ERR(id);
	memcpy(&a, addr, sizeof(a));
	ret = rdma_bind_addr(id, (struct sockaddr *)&a);
	if (!ret)
		ret = rdma_listen(id, 64);
	if (ret) {
		rdma_destroy_id(id);
		return ret;
	}
	spin_lock(&xpmem_net.lock);
	xpmem_net.listen_id = id;
	spin_unlock(&xpmem_net.lock);
	return 0;
}

/* cfg_mutex held; waits for running connect request handlers. */
void xpmem_listen_stop(void)
{
	struct rdma_cm_id *id;

	lockdep_assert_held(&xpmem_net.cfg_mutex);
	spin_lock(&xpmem_net.lock);
	id = xpmem_net.listen_id;
	xpmem_net.listen_id = NULL;
	spin_unlock(&xpmem_net.lock);
	if (id)
		rdma_destroy_id(id);
}
