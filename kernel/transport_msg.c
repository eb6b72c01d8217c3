// SPDX-License-Identifier: GPL-2.0
/*
 * transport_msg.c - the message layer of the RDMA transport: registered
 * send and receive buffers, the credit scheme, the send path, validation
 * of received headers and dispatch of requests to their handlers.
 *
 * Credits: each side posts XPMEM_NET_RING receives before it connects and
 * starts with as many credits as the peer announced.  A send takes one
 * credit; a receive buffer is reposted after its message was handled and
 * the repost is reported back in the credits field of the next message,
 * or in an explicit credit message once XPMEM_NET_CREDIT_BATCH reposts
 * are unreported.  Requests leave XPMEM_NET_KEEP_REQUEST credits unused
 * and replies XPMEM_NET_KEEP_REPLY, so a reply and a credit message can
 * always be sent.  Replies are consumed in the completion handler (the
 * buffer is reposted at once); requests hold theirs until the handler
 * returns.
 */
#include <crypto/algapi.h>
#include <linux/gfp.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "transport_priv.h"
#include "xpmem_trace.h"

static_assert(sizeof(struct xpmem_wire_hdr) == 32);

static void xpmem_rx_done(struct ib_cq *cq, struct ib_wc *wc);
static void xpmem_tx_done(struct ib_cq *cq, struct ib_wc *wc);
static void xpmem_credit_done(struct ib_cq *cq, struct ib_wc *wc);
static void xpmem_rx_work(struct work_struct *work);

static int xpmem_map_buf(struct xpmem_conn *conn, void *buf, size_t size,
			 enum dma_data_direction dir, u64 *dma)
{
	*dma = ib_dma_map_single(conn->dev, buf, size, dir);
	if (ib_dma_mapping_error(conn->dev, *dma))
		return -ENOMEM;
	return 0;
}

/* Allocates and maps the buffers; called once the device is known. */
int xpmem_conn_setup_bufs(struct xpmem_conn *conn)
{
	struct xpmem_txbuf *ctx = &conn->credit_tx;
	int i, ret;

	for (i = 0; i < XPMEM_NET_RING; i++) {
		struct xpmem_rxbuf *rx = &conn->rx[i];
		struct xpmem_txbuf *tx = &conn->tx[i];

		rx->buf = alloc_pages_exact(XPMEM_NET_BUF_SIZE, GFP_KERNEL);
		tx->buf = alloc_pages_exact(XPMEM_NET_BUF_SIZE, GFP_KERNEL);
		if (!rx->buf || !tx->buf)
			return -ENOMEM;
		ret = xpmem_map_buf(conn, rx->buf, XPMEM_NET_BUF_SIZE,
				    DMA_FROM_DEVICE, &rx->dma);
		if (ret)
			return ret;
		rx->mapped = true;
		ret = xpmem_map_buf(conn, tx->buf, XPMEM_NET_BUF_SIZE,
				    DMA_TO_DEVICE, &tx->dma);
		if (ret)
			return ret;
		tx->mapped = true;
	}
	ctx->buf = kzalloc(sizeof(struct xpmem_wire_hdr), GFP_KERNEL);
	if (!ctx->buf)
		return -ENOMEM;
	ret = xpmem_map_buf(conn, ctx->buf, sizeof(struct xpmem_wire_hdr),
			    DMA_TO_DEVICE, &ctx->dma);
	if (ret)
		return ret;
	ctx->mapped = true;
	return 0;
}

/*
 * Off by default: on Debian's 6.12 under QEMU's TCG, guests sending such
 * replies died within seconds in 2 of 5 runs (docs/kernels.md); stock 6.1
 * and the debug kernel ran them without a report.
 */
static bool send_pages_direct;
module_param(send_pages_direct, bool, 0644);
MODULE_PARM_DESC(send_pages_direct,
		 "Send FETCH reply pages straight from the owner's pages (scatter-gather) instead of copying them (default off)");

/* The send of @tx is over (or never happened): its pages go back. */
static void xpmem_tx_release_pages(struct xpmem_conn *conn,
				   struct xpmem_txbuf *tx)
{
	unsigned int i;

	for (i = 0; i < tx->npages; i++) {
		ib_dma_unmap_page(conn->dev, tx->page_dma[i], PAGE_SIZE,
				  DMA_TO_DEVICE);
		put_page(tx->pages[i]);
		tx->pages[i] = NULL;
	}
	tx->npages = 0;
}

/*
 * Adds @npages whole pages to the message being written in @tx, after
 * its first @len payload bytes: as scatter-gather entries that the device
 * reads from the pages when the QP takes that many, else copied into the
 * buffer.  Takes over the caller's page references (also on error).
 * Returns how many pages go straight from the page, or -EMSGSIZE (the
 * message would not fit: nothing added).
 */
static int xpmem_tx_add_pages(struct xpmem_conn *conn,
			      struct xpmem_txbuf *tx, size_t len,
			      struct page **pages, unsigned int npages)
{
	void *dst = xpmem_tx_payload(tx) + len;
	unsigned int i;

	if (WARN_ON_ONCE(tx->npages || npages > XPMEM_NET_MAX_PAGES ||
			 len + ((size_t)npages << PAGE_SHIFT) >
			 XPMEM_NET_MAX_PAYLOAD)) {
		for (i = 0; i < npages; i++)
			put_page(pages[i]);
		return -EMSGSIZE;
	}
	if (READ_ONCE(send_pages_direct) && npages < conn->max_send_sge) {
		for (i = 0; i < npages; i++) {
			u64 dma = ib_dma_map_page(conn->dev, pages[i], 0,
						  PAGE_SIZE, DMA_TO_DEVICE);

			if (ib_dma_mapping_error(conn->dev, dma))
				break;
			tx->page_dma[i] = dma;
			tx->pages[i] = pages[i];
			tx->npages++;
		}
		if (tx->npages == npages)
			return npages;
		/* Could not map them all: send them all from the buffer. */
		for (i = 0; i < tx->npages; i++) {
			ib_dma_unmap_page(conn->dev, tx->page_dma[i], PAGE_SIZE,
					  DMA_TO_DEVICE);
			tx->pages[i] = NULL;
		}
		tx->npages = 0;
	}
	for (i = 0; i < npages; i++) {
		memcpy_from_page(dst + ((size_t)i << PAGE_SHIFT), pages[i], 0,
				 PAGE_SIZE);
		put_page(pages[i]);
	}
	return 0;
}

/* Undoes xpmem_conn_setup_bufs, however far it got. */
void xpmem_conn_free_bufs(struct xpmem_conn *conn)
{
	struct xpmem_txbuf *ctx = &conn->credit_tx;
	int i;

	for (i = 0; i < XPMEM_NET_RING; i++) {
		struct xpmem_rxbuf *rx = &conn->rx[i];
		struct xpmem_txbuf *tx = &conn->tx[i];

		/* A send never completed (its flush timed out). */
		xpmem_tx_release_pages(conn, tx);
		if (rx->mapped)
			ib_dma_unmap_single(conn->dev, rx->dma,
					    XPMEM_NET_BUF_SIZE, DMA_FROM_DEVICE);
		if (tx->mapped)
			ib_dma_unmap_single(conn->dev, tx->dma,
					    XPMEM_NET_BUF_SIZE, DMA_TO_DEVICE);
		if (rx->buf)
			free_pages_exact(rx->buf, XPMEM_NET_BUF_SIZE);
		if (tx->buf)
			free_pages_exact(tx->buf, XPMEM_NET_BUF_SIZE);
		rx->buf = NULL;
		tx->buf = NULL;
		rx->mapped = false;
		tx->mapped = false;
	}
	if (ctx->mapped)
		ib_dma_unmap_single(conn->dev, ctx->dma,
				    sizeof(struct xpmem_wire_hdr), DMA_TO_DEVICE);
	kfree(ctx->buf);
	ctx->buf = NULL;
	ctx->mapped = false;
}

/* Posts one receive; the caller holds conn->lock. */
static int xpmem_post_recv_locked(struct xpmem_conn *conn,
				  struct xpmem_rxbuf *rx)
{
	struct ib_sge sge = {
		.addr = rx->dma,
		.length = XPMEM_NET_BUF_SIZE,
		.lkey = conn->pd->local_dma_lkey,
	};
	struct ib_recv_wr wr = {
		.wr_cqe = &rx->cqe,
		.sg_list = &sge,
		.num_sge = 1,
	};
	int ret;

	lockdep_assert_held(&conn->lock);
	if (conn->state == XPMEM_CONN_DEAD)
		return -ENOTCONN;
	ib_dma_sync_single_for_device(conn->dev, rx->dma, XPMEM_NET_BUF_SIZE,
				      DMA_FROM_DEVICE);
	atomic_inc(&conn->posted);
	ret = ib_post_recv(conn->qp, &wr, NULL);
	if (ret)
		atomic_dec(&conn->posted);
	return ret;
}

/* Before connecting: the peer may send as soon as it is connected. */
int xpmem_conn_post_all_recvs(struct xpmem_conn *conn)
{
	int i, ret = 0;

	for (i = 0; i < XPMEM_NET_RING; i++) {
		conn->rx[i].conn = conn;
		conn->rx[i].cqe.done = xpmem_rx_done;
		INIT_WORK(&conn->rx[i].work, xpmem_rx_work);
	}
	for (i = 0; i < XPMEM_NET_RING; i++) {
		conn->tx[i].conn = conn;
		conn->tx[i].size = XPMEM_NET_BUF_SIZE;
		conn->tx[i].cqe.done = xpmem_tx_done;
	}
	conn->credit_tx.conn = conn;
	conn->credit_tx.size = sizeof(struct xpmem_wire_hdr);
	conn->credit_tx.cqe.done = xpmem_credit_done;

	spin_lock(&conn->lock);
	for (i = 0; i < XPMEM_NET_RING; i++)
		list_add_tail(&conn->tx[i].link, &conn->tx_free);
	for (i = 0; i < XPMEM_NET_RING && !ret; i++)
		ret = xpmem_post_recv_locked(conn, &conn->rx[i]);
	spin_unlock(&conn->lock);
	return ret;
}

static void xpmem_fill_hdr(struct xpmem_wire_hdr *hdr, u16 type, u16 flags,
			   u16 dst, u64 seq, size_t len)
{
	u16 node;

	xpmem_net_local(&node, NULL, NULL);
	hdr->magic = cpu_to_le32(XPMEM_WIRE_MAGIC);
	hdr->version = cpu_to_le16(XPMEM_WIRE_VERSION);
	hdr->type = cpu_to_le16(type);
	hdr->flags = cpu_to_le16(flags);
	hdr->src_node = cpu_to_le16(node);
	hdr->dst_node = cpu_to_le16(dst);
	hdr->credits = 0;
	hdr->len = cpu_to_le32(len);
	hdr->reserved = 0;
	hdr->seq = cpu_to_le64(seq);
}

/*
 * Posts @tx, @bytes long with its pages, with the credits to return;
 * conn->lock held.  On a dead connection (or a post error) the caller
 * gives the buffer back.
 */
static int xpmem_post_send_locked(struct xpmem_conn *conn,
				  struct xpmem_txbuf *tx, size_t bytes)
{
	struct xpmem_wire_hdr *hdr = tx->buf;
	struct ib_sge sge[1 + XPMEM_NET_MAX_PAGES];
	struct ib_send_wr wr = {
		.wr_cqe = &tx->cqe,
		.sg_list = sge,
		.num_sge = 1 + tx->npages,
		.opcode = IB_WR_SEND,
		.send_flags = IB_SEND_SIGNALED,
	};
	unsigned int i;
	int ret;

	lockdep_assert_held(&conn->lock);
	if (conn->state == XPMEM_CONN_DEAD)
		return -EHOSTDOWN;
	bytes -= (size_t)tx->npages << PAGE_SHIFT;
	sge[0] = (struct ib_sge) {
		.addr = tx->dma,
		.length = bytes,
		.lkey = conn->pd->local_dma_lkey,
	};
	for (i = 0; i < tx->npages; i++)
		sge[1 + i] = (struct ib_sge) {
			.addr = tx->page_dma[i],
			.length = PAGE_SIZE,
			.lkey = conn->pd->local_dma_lkey,
		};
	hdr->credits = cpu_to_le16(conn->to_return);
	ib_dma_sync_single_for_device(conn->dev, tx->dma, bytes,
				      DMA_TO_DEVICE);
	atomic_inc(&conn->posted);
	ret = ib_post_send(conn->qp, &wr, NULL);
	if (ret) {
		atomic_dec(&conn->posted);
		return ret;
	}
	conn->to_return = 0;
	return 0;
}

/*
 * Sends an explicit credit message when enough reposts are unreported and
 * a credit is left.  Never sleeps: called from completion handlers.
 */
static void xpmem_maybe_send_credits(struct xpmem_conn *conn)
{
	struct xpmem_txbuf *ctx = &conn->credit_tx;
	int ret = 0;

	spin_lock(&conn->lock);
	if (conn->state != XPMEM_CONN_DEAD && !conn->credit_busy &&
	    conn->to_return >= XPMEM_NET_CREDIT_BATCH && conn->credits > 0) {
		xpmem_fill_hdr(ctx->buf, XPMEM_WIRE_CREDIT, 0,
			       conn->peer->node, 0, 0);
		conn->credits--;
		conn->credit_busy = true;
		ret = xpmem_post_send_locked(conn, ctx, ctx->size);
		if (ret) {
			conn->credit_busy = false;
			conn->credits++;
			xpmem_grant_locked(conn);
		}
	}
	spin_unlock(&conn->lock);
	if (ret && ret != -EHOSTDOWN)
		xpmem_conn_lost(conn, ret, "post of a credit message failed");
}

/*
 * A sender waiting for a credit and a send buffer.  Waiters are served in
 * arrival order, each as soon as what it may take (credits above its
 * @keep) is there: one that needs fewer (a reply, an INVALIDATE) passes
 * those that must leave more, but a sender never waits behind later
 * senders of its own kind.  (wake_up_all() and a race for the credit let
 * one of many FETCHing threads lose every time until it timed out and
 * fenced a peer that was answering all the others.)
 */
struct xpmem_tx_wait {
	struct list_head link;		/* in conn->tx_waiters */
	int keep;
	struct xpmem_txbuf *tx;		/* granted */
	bool done;			/* granted, or the connection died */
};

/*
 * Hands credits and buffers to the waiters in order (on a dead connection
 * ends every wait); conn->lock held.  The caller wakes conn->wq.
 */
void xpmem_grant_locked(struct xpmem_conn *conn)
{
	struct xpmem_tx_wait *w, *tmp;

	lockdep_assert_held(&conn->lock);
	list_for_each_entry_safe(w, tmp, &conn->tx_waiters, link) {
		if (conn->state == XPMEM_CONN_DEAD) {
			w->tx = NULL;
		} else if (conn->credits > w->keep &&
			   !list_empty(&conn->tx_free)) {
			w->tx = list_first_entry(&conn->tx_free,
						 struct xpmem_txbuf, link);
			list_del(&w->tx->link);
			conn->credits--;
			conn->tx_held++;
		} else {
			continue;
		}
		list_del_init(&w->link);
		WRITE_ONCE(w->done, true);
	}
}

/* Credits a request of @type leaves unused (see XPMEM_NET_RESERVED). */
int xpmem_keep_request(u16 type)
{
	return type == XPMEM_MSG_INVALIDATE ? XPMEM_NET_KEEP_REQUEST :
	       XPMEM_NET_KEEP_ORDINARY;
}

/*
 * A wait for the peer reached *@deadline: if the peer was heard from
 * within net_timeout_ms (it answers, returns credits), the wait was for a
 * busy link, not a silent peer, and *@deadline moves to net_timeout_ms
 * after the peer was last heard, never past @cap.  Returns whether it did.
 */
bool xpmem_conn_heard(struct xpmem_conn *conn, unsigned long *deadline,
		      unsigned long cap)
{
	unsigned long next = READ_ONCE(conn->heard) + xpmem_net_timeout();

	if (time_after(next, cap))
		next = cap;
	if (!time_after(next, jiffies))
		return false;
	*deadline = next;
	return true;
}

/*
 * Waits killably until @w is granted or @deadline (moved on while the peer
 * is heard from, up to @cap), in slices when @abort may cut it short
 * (another task sets it without waking conn->wq).  Returns 0 (granted),
 * -ETIMEDOUT or -EINTR (fatal signal or *@abort).
 */
static int xpmem_tx_wait_turn(struct xpmem_conn *conn, struct xpmem_tx_wait *w,
			      unsigned long deadline, unsigned long cap,
			      const bool *abort)
{
	long left, t;

	might_sleep();
	for (;;) {
		left = (long)(deadline - jiffies);
		if (left <= 0)
			left = 1;
		if (abort)
			left = min(left, (long)(HZ / 20 ?: 1));
		t = wait_event_killable_timeout(conn->wq, READ_ONCE(w->done),
						left);
		if (t < 0)
			return -EINTR;
		if (t > 0)
			return 0;
		if (abort && READ_ONCE(*abort))
			return -EINTR;
		if (time_after_eq(jiffies, deadline) &&
		    !xpmem_conn_heard(conn, &deadline, cap))
			return -ETIMEDOUT;
	}
}

/*
 * Takes a credit (leaving @keep) and a send buffer, in its turn among the
 * senders (xpmem_grant_locked()).  Without @wait: at once or -EAGAIN.
 * With it: as xpmem_tx_wait_turn() (@cap = @deadline: no extension).
 * Returns 0, -ETIMEDOUT (the caller fences), -EINTR, or -EHOSTDOWN
 * (connection dead).  Allocates nothing and takes no mutex: the call
 * path may run from an MMU notifier.
 */
int xpmem_conn_take(struct xpmem_conn *conn, int keep, unsigned long deadline,
		    unsigned long cap, bool wait, const bool *abort,
		    struct xpmem_txbuf **txp)
{
	struct xpmem_tx_wait w = { .keep = keep };
	int ret = 0;

	spin_lock(&conn->lock);
	list_add_tail(&w.link, &conn->tx_waiters);
	xpmem_grant_locked(conn);
	spin_unlock(&conn->lock);
	if (!w.done && wait)
		ret = xpmem_tx_wait_turn(conn, &w, deadline, cap, abort);
	spin_lock(&conn->lock);
	if (!w.done) {
		list_del(&w.link);
		ret = ret ?: -EAGAIN;
	}
	spin_unlock(&conn->lock);
	if (!w.done)
		return ret;
	if (!w.tx)
		return -EHOSTDOWN;
	/* Granted as the wait ended: killed or aborted gives it back. */
	if (ret == -EINTR) {
		xpmem_conn_untake(conn, w.tx);
		return ret;
	}
	*txp = w.tx;
	return 0;
}

/* Gives back a send buffer and its credit, unsent; never sleeps. */
void xpmem_conn_untake(struct xpmem_conn *conn, struct xpmem_txbuf *tx)
{
	spin_lock(&conn->lock);
	conn->tx_held--;
	list_add(&tx->link, &conn->tx_free);
	conn->credits++;
	xpmem_grant_locked(conn);
	spin_unlock(&conn->lock);
	wake_up_all(&conn->wq);
}

/*
 * Posts a taken send buffer whose payload (@len bytes at
 * xpmem_tx_payload()) is written.  Never sleeps.  Returns 0 or
 * -EHOSTDOWN (the connection is dead; lost if the post failed).
 */
int xpmem_conn_post(struct xpmem_conn *conn, struct xpmem_txbuf *tx, u16 type,
		    u16 flags, u64 seq, size_t len)
{
	int ret;

	xpmem_fill_hdr(tx->buf, type, flags, conn->peer->node, seq, len);
	spin_lock(&conn->lock);
	conn->tx_held--;
	ret = xpmem_post_send_locked(conn, tx, sizeof(struct xpmem_wire_hdr) +
				     len);
	if (ret) {
		xpmem_tx_release_pages(conn, tx);
		list_add(&tx->link, &conn->tx_free);
		conn->credits++;
		xpmem_grant_locked(conn);
	}
	spin_unlock(&conn->lock);
	wake_up_all(&conn->wq);
	if (ret == -EHOSTDOWN)
		return ret;
	if (ret) {
		xpmem_conn_lost(conn, ret, "post of a send failed");
		return -EHOSTDOWN;
	}
	atomic64_inc(&conn->peer->tx_msgs);
	atomic64_add(len, &conn->peer->tx_bytes);
	trace_xpmem_msg_send(conn->peer->node, type, flags, seq, len);
	return 0;
}

/*
 * Sends one message, waiting (killably, until @deadline) for a credit and
 * a send buffer.  Allocates nothing and takes no mutex: the call path may
 * run from an MMU notifier.  Returns 0, -ETIMEDOUT (the caller fences),
 * -EINTR, or -EHOSTDOWN (connection dead).
 */
int xpmem_conn_send(struct xpmem_conn *conn, u16 type, u16 flags, u64 seq,
		    const void *payload, size_t len, unsigned long deadline,
		    unsigned long cap, int keep)
{
	struct xpmem_txbuf *tx;
	int ret;

	might_sleep();
	if (len > XPMEM_NET_MAX_PAYLOAD)
		return -EMSGSIZE;
	ret = xpmem_conn_take(conn, keep, deadline, cap, true, NULL, &tx);
	if (ret)
		return ret;
	if (len)
		memcpy(xpmem_tx_payload(tx), payload, len);
	return xpmem_conn_post(conn, tx, type, flags, seq, len);
}

/* Connection usable (its initial credits are already set). */
void xpmem_conn_set_up(struct xpmem_conn *conn)
{
	struct xpmem_peer *peer = conn->peer;

	spin_lock(&peer->lock);
	spin_lock(&conn->lock);
	if (conn->state == XPMEM_CONN_CONNECTING) {
		conn->state = XPMEM_CONN_UP;
		conn->was_up = true;
	}
	spin_unlock(&conn->lock);
	spin_unlock(&peer->lock);
	wake_up_all(&conn->wq);
	wake_up_all(&peer->wq);
}

static void xpmem_wc_error(struct xpmem_conn *conn, struct ib_wc *wc,
			   const char *what)
{
	if (wc->status == IB_WC_WR_FLUSH_ERR || xpmem_conn_dead(conn))
		return;
	pr_notice("xpmem: node %u: %s failed: %s\n", conn->peer->node, what,
		  ib_wc_status_msg(wc->status));
	xpmem_conn_lost(conn, -EIO, "work completion error");
}

static void xpmem_tx_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct xpmem_txbuf *tx = container_of(wc->wr_cqe, struct xpmem_txbuf,
					      cqe);
	struct xpmem_conn *conn = tx->conn;

	if (wc->status != IB_WC_SUCCESS)
		xpmem_wc_error(conn, wc, "send");
	xpmem_tx_release_pages(conn, tx);
	spin_lock(&conn->lock);
	list_add(&tx->link, &conn->tx_free);
	xpmem_grant_locked(conn);
	spin_unlock(&conn->lock);
	atomic_dec(&conn->posted);
	wake_up_all(&conn->wq);
}

static void xpmem_credit_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct xpmem_txbuf *ctx = container_of(wc->wr_cqe, struct xpmem_txbuf,
					       cqe);
	struct xpmem_conn *conn = ctx->conn;

	if (wc->status != IB_WC_SUCCESS)
		xpmem_wc_error(conn, wc, "credit send");
	spin_lock(&conn->lock);
	conn->credit_busy = false;
	spin_unlock(&conn->lock);
	atomic_dec(&conn->posted);
	wake_up_all(&conn->wq);
	xpmem_maybe_send_credits(conn);
}

/* Gives the receive buffer back to the device and reports the repost. */
static void xpmem_repost(struct xpmem_conn *conn, struct xpmem_rxbuf *rx)
{
	int ret;

	spin_lock(&conn->lock);
	ret = xpmem_post_recv_locked(conn, rx);
	if (!ret)
		conn->to_return++;
	spin_unlock(&conn->lock);
	if (ret && ret != -ENOTCONN)
		xpmem_conn_lost(conn, ret, "repost of a receive failed");
	else if (!ret)
		xpmem_maybe_send_credits(conn);
}

/* Checks a received header; returns its payload length or -EPROTO. */
static int xpmem_check_hdr(struct xpmem_conn *conn,
			   const struct xpmem_wire_hdr *hdr, u32 bytes)
{
	u16 type, flags, node;
	u32 len;

	if (bytes < sizeof(*hdr))
		return -EPROTO;
	len = le32_to_cpu(hdr->len);
	type = le16_to_cpu(hdr->type);
	flags = le16_to_cpu(hdr->flags);
	xpmem_net_local(&node, NULL, NULL);
	if (le32_to_cpu(hdr->magic) != XPMEM_WIRE_MAGIC ||
	    le16_to_cpu(hdr->version) != XPMEM_WIRE_VERSION ||
	    len > XPMEM_NET_MAX_PAYLOAD || len != bytes - sizeof(*hdr) ||
	    le16_to_cpu(hdr->src_node) != conn->peer->node ||
	    le16_to_cpu(hdr->dst_node) != node || hdr->reserved ||
	    (flags & ~XPMEM_WIRE_F_ALL))
		return -EPROTO;
	if (type == XPMEM_WIRE_CREDIT)
		return flags || len ? -EPROTO : 0;
	if (type == XPMEM_WIRE_AUTH)
		return flags || len != XPMEM_AUTH_MAC_LEN || hdr->seq ?
		       -EPROTO : len;
	if (type < XPMEM_MSG_PING || type >= XPMEM_MSG_NR_TYPES)
		return -EPROTO;
	if (flags == XPMEM_WIRE_F_REQUEST || flags == XPMEM_WIRE_F_REPLY)
		return len;
	if (flags == (XPMEM_WIRE_F_REPLY | XPMEM_WIRE_F_NOHANDLER) && !len)
		return 0;
	return -EPROTO;
}

/*
 * Copies a reply of @len bytes to where @r wants it: the first reply_max
 * bytes to r->reply, the rest (a single call's) to its pages.  Returns 0
 * or -EMSGSIZE (too long: nothing copied).
 */
static int xpmem_reply_copy(struct xpmem_net_req *r, const void *src,
			    size_t len)
{
	struct xpmem_net_call *call = container_of(r, struct xpmem_net_call,
						   req);
	unsigned int npages = r->batch ? 0 : call->reply_npages, i;
	size_t done = min(len, r->reply_max), n;

	if (len > r->reply_max + ((size_t)npages << PAGE_SHIFT))
		return -EMSGSIZE;
	if (done)
		memcpy(r->reply, src, done);
	for (i = 0; done < len; i++, done += n) {
		n = min_t(size_t, len - done, PAGE_SIZE);
		memcpy_to_page(call->reply_pages[i], 0, src + done, n);
	}
	return 0;
}

/* A reply: completes the waiting call with that sequence number. */
static void xpmem_complete_call(struct xpmem_conn *conn,
				const struct xpmem_wire_hdr *hdr, u32 len)
{
	struct xpmem_peer *peer = conn->peer;
	u64 seq = le64_to_cpu(hdr->seq);
	u16 flags = le16_to_cpu(hdr->flags);
	struct xpmem_net_req *call;

	spin_lock(&peer->lock);
	list_for_each_entry(call, &peer->calls, link) {
		if (call->seq != seq || call->conn != conn)
			continue;
		list_del_init(&call->link);
		if (flags & XPMEM_WIRE_F_NOHANDLER) {
			call->status = -EOPNOTSUPP;
		} else {
			call->status = xpmem_reply_copy(call, hdr + 1, len);
			call->reply_len = len;
		}
		xpmem_net_req_wake(call);
		break;
	}
	spin_unlock(&peer->lock);
}

/*
 * Takes the credits a message returns.  The peer can return at most what
 * our sends used (credit_max - credits): more is a broken peer, and
 * believing it would let us overrun its receive ring (and overflow the
 * count).  Returns false, taking nothing, for such a message.
 */
static bool xpmem_take_credits(struct xpmem_conn *conn,
			       const struct xpmem_wire_hdr *hdr)
{
	int n = le16_to_cpu(hdr->credits);
	bool ok;

	spin_lock(&conn->lock);
	ok = n <= conn->credit_max - conn->credits;
	if (ok) {
		conn->credits += n;
		xpmem_grant_locked(conn);
	}
	spin_unlock(&conn->lock);
	return ok;
}

/*
 * The first message on a connection whose peer has not proved the key:
 * on the passive side it must be a valid AUTH, which admits the
 * connection; anything else (and anything on an active connection before
 * its accept was checked) ends it.  Nothing is dispatched.
 */
static void xpmem_auth_rx(struct xpmem_conn *conn, struct xpmem_rxbuf *rx,
			  const struct xpmem_wire_hdr *hdr, int len)
{
	if (conn->active || len != XPMEM_AUTH_MAC_LEN ||
	    le16_to_cpu(hdr->type) != XPMEM_WIRE_AUTH) {
		xpmem_conn_auth_failed(conn, "a message before authentication");
		return;
	}
	if (crypto_memneq(hdr + 1, conn->mac_a, XPMEM_AUTH_MAC_LEN)) {
		xpmem_conn_auth_failed(conn, "bad MAC in AUTH");
		return;
	}
	if (!xpmem_take_credits(conn, hdr)) {
		xpmem_conn_auth_failed(conn, "AUTH returns credits never used");
		return;
	}
	atomic64_inc(&conn->peer->rx_msgs);
	atomic64_add(len, &conn->peer->rx_bytes);
	xpmem_conn_accepted(conn);
	xpmem_repost(conn, rx);
}

static void xpmem_rx_done(struct ib_cq *cq, struct ib_wc *wc)
{
	struct xpmem_rxbuf *rx = container_of(wc->wr_cqe, struct xpmem_rxbuf,
					      cqe);
	struct xpmem_conn *conn = rx->conn;
	struct xpmem_peer *peer = conn->peer;
	struct xpmem_wire_hdr *hdr = rx->buf;
	int len;

	atomic_dec(&conn->posted);
	if (wc->status != IB_WC_SUCCESS) {
		xpmem_wc_error(conn, wc, "receive");
		wake_up_all(&conn->wq);
		return;
	}
	if (xpmem_conn_dead(conn)) {
		wake_up_all(&conn->wq);
		return;
	}
	ib_dma_sync_single_for_cpu(conn->dev, rx->dma, wc->byte_len,
				   DMA_FROM_DEVICE);
	len = xpmem_check_hdr(conn, hdr, wc->byte_len);
	if (!READ_ONCE(conn->authed)) {
		xpmem_auth_rx(conn, rx, hdr, len);
		return;
	}
	if (len >= 0 && le16_to_cpu(hdr->type) == XPMEM_WIRE_AUTH)
		len = -EPROTO;		/* only the first message */
	if (len >= 0 && !xpmem_take_credits(conn, hdr))
		len = -EPROTO;
	if (len < 0) {
		atomic_inc(&peer->malformed);
		pr_notice_ratelimited("xpmem: node %u: malformed message dropped (%u bytes)\n",
				      peer->node, wc->byte_len);
		xpmem_repost(conn, rx);
		return;
	}
	/* A message from the peer proves the connection is established. */
	if (READ_ONCE(conn->state) == XPMEM_CONN_CONNECTING)
		xpmem_conn_set_up(conn);
	WRITE_ONCE(conn->heard, jiffies);
	wake_up_all(&conn->wq);
	atomic64_inc(&peer->rx_msgs);
	atomic64_add(len, &peer->rx_bytes);
	trace_xpmem_msg_recv(peer->node, le16_to_cpu(hdr->type),
			     le16_to_cpu(hdr->flags), le64_to_cpu(hdr->seq), len);

	if (le16_to_cpu(hdr->type) == XPMEM_WIRE_CREDIT) {
		xpmem_repost(conn, rx);
		return;
	}
	if (le16_to_cpu(hdr->flags) & XPMEM_WIRE_F_REPLY) {
		xpmem_complete_call(conn, hdr, len);
		xpmem_repost(conn, rx);
		return;
	}
	/*
	 * A request: its handler runs in process context and reposts the
	 * buffer only when it returns, which may be long (a FETCH waiting
	 * for the owner's mmap_lock).  Credits it returned may be the first
	 * since ours ran out: report our reposts now, or the peer's reply
	 * (the ack that the owner holding that lock waits for) may find its
	 * credits hidden here and both wait until they fence each other.
	 */
	xpmem_maybe_send_credits(conn);
	rx->replied = false;
	rx->rx.src_node = peer->node;
	rx->rx.type = le16_to_cpu(hdr->type);
	rx->rx.len = len;
	rx->rx.payload = hdr + 1;
	rx->rx.seq = le64_to_cpu(hdr->seq);
	rx->rx.conn = conn;
	atomic_inc(&conn->rx_busy);
	kref_get(&conn->kref);
	queue_work(xpmem_net.wq, &rx->work);
}

/*
 * Sends the reply to @rx: @payload, then @pages (their references taken
 * over).  Returns the number of pages sent straight from them, or an
 * errno.
 */
static int xpmem_send_reply(struct xpmem_rxbuf *rx, u16 flags,
			    const void *payload, size_t len,
			    struct page **pages, unsigned int npages)
{
	struct xpmem_conn *conn = rx->conn;
	unsigned long deadline = jiffies + xpmem_net_timeout();
	struct xpmem_txbuf *tx;
	int ret, direct;
	unsigned int i;

	rx->replied = true;
	ret = xpmem_conn_take(conn, XPMEM_NET_KEEP_REPLY, deadline, deadline,
			      true, NULL, &tx);
	if (ret) {
		for (i = 0; i < npages; i++)
			put_page(pages[i]);
	} else {
		if (len)
			memcpy(xpmem_tx_payload(tx), payload, len);
		direct = xpmem_tx_add_pages(conn, tx, len, pages, npages);
		if (direct < 0) {
			/* xpmem_rx_work() still answers: an empty reply. */
			xpmem_conn_untake(conn, tx);
			rx->replied = false;
			return direct;
		}
		len += (size_t)npages << PAGE_SHIFT;
		ret = xpmem_conn_post(conn, tx, rx->rx.type,
				      XPMEM_WIRE_F_REPLY | flags, rx->rx.seq,
				      len);
		if (!ret)
			ret = direct;
	}
	if (ret == -ETIMEDOUT) {
		atomic_inc(&conn->peer->timeouts);
		xpmem_peer_fence(conn->peer, conn, "no credit for a reply");
	}
	return ret;
}

static void xpmem_rx_work(struct work_struct *work)
{
	struct xpmem_rxbuf *rx = container_of(work, struct xpmem_rxbuf, work);
	struct xpmem_conn *conn = rx->conn;
	xpmem_net_handler_t fn = NULL;

	trace_xpmem_msg_handle(rx->rx.src_node, rx->rx.type,
			       XPMEM_WIRE_F_REQUEST, rx->rx.seq, rx->rx.len);
	if (rx->rx.type == XPMEM_MSG_PING) {
		xpmem_net_reply(&rx->rx, rx->rx.payload, rx->rx.len);
	} else {
		fn = READ_ONCE(xpmem_net.handlers[rx->rx.type]);
		if (fn)
			fn(&rx->rx);
	}
	/* Every request is answered: its caller must not time out. */
	if (!rx->replied)
		xpmem_send_reply(rx, fn || rx->rx.type == XPMEM_MSG_PING ? 0 :
				 XPMEM_WIRE_F_NOHANDLER, NULL, 0, NULL, 0);
	xpmem_repost(conn, rx);
	if (atomic_dec_and_test(&conn->rx_busy))
		wake_up_all(&conn->wq);
	xpmem_conn_put(conn);
}

int xpmem_net_reply(struct xpmem_net_rx *rxm, const void *payload, size_t len)
{
	struct xpmem_rxbuf *rx = container_of(rxm, struct xpmem_rxbuf, rx);

	might_sleep();
	if (rx->replied)
		return -EINVAL;
	if (len > XPMEM_NET_MAX_PAYLOAD)
		return -EMSGSIZE;
	return xpmem_send_reply(rx, 0, payload, len, NULL, 0);
}

int xpmem_net_reply_pages(struct xpmem_net_rx *rxm, const void *payload,
			  size_t len, struct page **pages, unsigned int npages)
{
	struct xpmem_rxbuf *rx = container_of(rxm, struct xpmem_rxbuf, rx);
	unsigned int i;

	might_sleep();
	if (rx->replied || npages > XPMEM_NET_MAX_PAGES ||
	    len + ((size_t)npages << PAGE_SHIFT) > XPMEM_NET_MAX_PAYLOAD) {
		for (i = 0; i < npages; i++)
			put_page(pages[i]);
		return rx->replied ? -EINVAL : -EMSGSIZE;
	}
	return xpmem_send_reply(rx, 0, payload, len, pages, npages);
}
