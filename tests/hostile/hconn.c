// SPDX-License-Identifier: GPL-2.0
/*
 * hconn.c - the hostile peer's transport: an RC connection to an xpmem
 * kernel made with librdmacm, the version 2 or 3 handshake with any
 * identity, and messages under the kernel's credit scheme
 * (docs/transport.md): the kernel posts H_RING receives and announces
 * them in its accept; each send takes one; the kernel reports its
 * reposts in the credits field of its messages.  We post H_RING receives
 * too and report ours the same way, or in an explicit credit message.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>
#include <sodium.h>

#include "hconn.h"

#define H_TX_SIZE	(H_BUF_SIZE + H_PAGE)	/* room for oversized sends */
#define H_TX_WRID	0x100

static const char label_passive[] = "xpmem-auth-passive";
static const char label_active[] = "xpmem-auth-active";

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t h_fnv(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

static void h_mac(const uint8_t key[32], const char *label,
		  const uint8_t req[48], const uint8_t rep[48], uint8_t out[32])
{
	crypto_auth_hmacsha256_state st;

	if (sodium_init() < 0)
		abort();
	crypto_auth_hmacsha256_init(&st, key, 32);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)label,
				      strlen(label));
	crypto_auth_hmacsha256_update(&st, req, 48);
	crypto_auth_hmacsha256_update(&st, rep, 48);
	crypto_auth_hmacsha256_final(&st, out);
}

void h_ident_default(struct h_ident *id, int version, uint16_t src,
		     uint16_t dst)
{
	struct timespec ts;

	memset(id, 0, sizeof(*id));
	clock_gettime(CLOCK_REALTIME, &ts);
	id->magic = H_MAGIC;
	id->version = (uint16_t)version;
	id->ring = H_RING;
	id->src_node = src;
	id->dst_node = dst;
	id->incarnation = 0x4854494c45ULL;	/* "HOSTILE"-ish */
	/* Newer than anything the kernel saw: wall clock in ns. */
	id->gen = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Waits for one CM event (any); its copy in @ev, private data in @pd. */
static int h_cm_wait(struct hconn *hc, int ms, struct rdma_cm_event *ev,
		     uint8_t *pd, size_t *pd_len)
{
	struct rdma_cm_event *e;
	struct pollfd pfd = { .fd = hc->ech->fd, .events = POLLIN };

	if (poll(&pfd, 1, ms) <= 0)
		return -1;
	if (rdma_get_cm_event(hc->ech, &e))
		return -1;
	*ev = *e;
	*pd_len = 0;
	if (pd && e->param.conn.private_data && e->param.conn.private_data_len) {
		*pd_len = e->param.conn.private_data_len;
		if (*pd_len > 196)
			*pd_len = 196;
		memcpy(pd, e->param.conn.private_data, *pd_len);
	}
	rdma_ack_cm_event(e);
	return 0;
}

static int h_post_recv(struct hconn *hc, int i)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)(hc->mem + (size_t)i * H_BUF_SIZE),
		.length = H_BUF_SIZE,
		.lkey = hc->mr->lkey,
	};
	struct ibv_recv_wr wr = { .wr_id = (uint64_t)i, .sg_list = &sge,
				  .num_sge = 1 }, *bad;

	return ibv_post_recv(hc->qp, &wr, &bad);
}

static uint8_t *h_txbuf(struct hconn *hc, int i)
{
	return hc->mem + (size_t)H_RING * H_BUF_SIZE + (size_t)i * H_TX_SIZE;
}

/* Posts at once (no wait); -1 if no credit, no buffer or dead. */
static int h_post(struct hconn *hc, const void *msg, size_t len, int fill,
		  int keep)
{
	struct ibv_send_wr wr = { 0 }, *bad;
	struct ibv_sge sge;
	uint8_t *buf;
	int i;

	if (hc->dead || !hc->qp || hc->credits <= keep || len > H_TX_SIZE)
		return -1;
	for (i = 0; i < H_RING && hc->tx_busy[i]; i++)
		;
	if (i == H_RING)
		return -1;
	buf = h_txbuf(hc, i);
	memcpy(buf, msg, len);
	if (fill && len >= H_HDR_LEN) {
		struct h_hdr *h = (struct h_hdr *)buf;

		h->credits = htole16((uint16_t)hc->to_return);
	}
	sge.addr = (uintptr_t)buf;
	sge.length = (uint32_t)len;
	sge.lkey = hc->mr->lkey;
	wr.wr_id = H_TX_WRID + (uint64_t)i;
	wr.sg_list = &sge;
	wr.num_sge = len ? 1 : 0;
	wr.opcode = IBV_WR_SEND;
	wr.send_flags = IBV_SEND_SIGNALED;
	if (ibv_post_send(hc->qp, &wr, &bad)) {
		hc->dead = 1;
		hc->why = "post_send failed";
		return -1;
	}
	if (fill)
		hc->to_return = 0;
	hc->tx_busy[i] = 1;
	hc->credits--;
	return 0;
}

void h_fill_hdr(const struct hconn *hc, struct h_hdr *h, uint16_t type,
		uint16_t flags, uint64_t seq, uint32_t len)
{
	memset(h, 0, sizeof(*h));
	h->magic = htole32(H_MAGIC);
	h->version = htole16((uint16_t)hc->version);
	h->type = htole16(type);
	h->flags = htole16(flags);
	h->src_node = htole16(hc->me);
	h->dst_node = htole16(hc->peer);
	h->len = htole32(len);
	h->seq = htole64(seq);
}

static void h_maybe_credit(struct hconn *hc)
{
	struct h_hdr h;

	if (hc->to_return < H_CREDIT_BATCH || hc->dead || !hc->up)
		return;
	h_fill_hdr(hc, &h, H_CREDIT, 0, 0, 0);
	h_post(hc, &h, sizeof(h), 1, 0);
}

/* A request of the kernel (INVALIDATE, REVOKE, PING): answered. */
static void h_answer(struct hconn *hc, const struct h_hdr *h,
		     const uint8_t *payload, uint32_t len)
{
	static uint8_t msg[H_BUF_SIZE];
	struct h_hdr *r = (struct h_hdr *)msg;
	uint32_t rlen = 8;

	if (!hc->auto_reply)
		return;
	memset(msg + H_HDR_LEN, 0, 8);
	if (le16toh(h->type) == H_PING) {
		rlen = len;
		memcpy(msg + H_HDR_LEN, payload, len);
	}
	h_fill_hdr(hc, r, le16toh(h->type), H_F_REPLY, le64toh(h->seq), rlen);
	h_post(hc, msg, H_HDR_LEN + rlen, 1, 0);
}

static void h_rx(struct hconn *hc, int i, uint32_t bytes)
{
	const uint8_t *buf = hc->mem + (size_t)i * H_BUF_SIZE;
	const struct h_hdr *h = (const struct h_hdr *)buf;
	uint32_t len;
	uint16_t type, flags;

	if (bytes < H_HDR_LEN || le32toh(h->magic) != H_MAGIC) {
		hc->rx_bad++;
		return;
	}
	hc->credits += le16toh(h->credits);
	if ((uint64_t)hc->credits > hc->max_credits_seen)
		hc->max_credits_seen = (uint64_t)hc->credits;
	len = bytes - H_HDR_LEN;
	type = le16toh(h->type);
	flags = le16toh(h->flags);
	hc->rx_msgs++;
	if (type == H_CREDIT) {
		hc->rx_credits++;
	} else if (flags & H_F_REPLY) {
		struct h_reply *r = &hc->replies[le64toh(h->seq) % H_REPLIES];

		hc->rx_replies++;
		r->seq = le64toh(h->seq);
		r->type = type;
		r->flags = flags;
		r->len = len;
		r->used = 1;
		memset(r->head, 0, sizeof(r->head));
		memcpy(r->head, buf + H_HDR_LEN,
		       len < sizeof(r->head) ? len : sizeof(r->head));
		/* costly under TCG: only when asked for; the page data
		 * after a FETCH reply's 24-byte head (protocol 4)
		 */
		r->sum = hc->want_sums && len > 24 ?
			 h_fnv(buf + H_HDR_LEN + 24, len - 24) : 0;
	} else {
		hc->rx_requests++;
		h_answer(hc, h, buf + H_HDR_LEN, len);
	}
}

static void h_wc(struct hconn *hc, const struct ibv_wc *wc)
{
	if (wc->wr_id >= H_TX_WRID) {
		hc->tx_busy[wc->wr_id - H_TX_WRID] = 0;
		if (wc->status != IBV_WC_SUCCESS && !hc->dead) {
			hc->dead = 1;
			hc->why = ibv_wc_status_str(wc->status);
		}
		return;
	}
	if (wc->status != IBV_WC_SUCCESS) {
		if (!hc->dead) {
			hc->dead = 1;
			hc->why = ibv_wc_status_str(wc->status);
		}
		return;
	}
	h_rx(hc, (int)wc->wr_id, wc->byte_len);
	if (!hc->dead && h_post_recv(hc, (int)wc->wr_id) == 0)
		hc->to_return++;
}

static void h_cm_events(struct hconn *hc)
{
	struct rdma_cm_event *e;

	while (!rdma_get_cm_event(hc->ech, &e)) {
		switch (e->event) {
		case RDMA_CM_EVENT_DISCONNECTED:
		case RDMA_CM_EVENT_DEVICE_REMOVAL:
		case RDMA_CM_EVENT_CONNECT_ERROR:
		case RDMA_CM_EVENT_TIMEWAIT_EXIT:
			if (!hc->dead) {
				hc->dead = 1;
				hc->why = rdma_event_str(e->event);
			}
			break;
		default:
			break;
		}
		rdma_ack_cm_event(e);
	}
}

int h_progress(struct hconn *hc, int ms)
{
	long long deadline = now_ms() + ms;
	struct ibv_wc wc[16];
	int i;

	if (!hc->cq)
		return 1;
	for (;;) {
		int n = ibv_poll_cq(hc->cq, 16, wc);
		for (i = 0; i < n; i++)
			h_wc(hc, &wc[i]);
		if (n > 0)
			h_maybe_credit(hc);
		h_cm_events(hc);
		if (hc->dead)
			return 1;
		/* some work done: the caller looks at what changed */
		if (n > 0 || now_ms() >= deadline)
			return 0;
		if (ibv_req_notify_cq(hc->cq, 0))
			return hc->dead;
		n = ibv_poll_cq(hc->cq, 16, wc);
		for (i = 0; i < n; i++)
			h_wc(hc, &wc[i]);
		if (n > 0) {
			h_maybe_credit(hc);
			return hc->dead;
		}
		{
			struct pollfd pfd[2] = {
				{ .fd = hc->cch->fd, .events = POLLIN },
				{ .fd = hc->ech->fd, .events = POLLIN },
			};
			long long left = deadline - now_ms();
			struct ibv_cq *cq;
			void *ctx;

			if (left < 0)
				left = 0;
			if (poll(pfd, 2, (int)left) > 0 && (pfd[0].revents & POLLIN) &&
			    !ibv_get_cq_event(hc->cch, &cq, &ctx))
				ibv_ack_cq_events(cq, 1);
		}
	}
}

int h_send_raw(struct hconn *hc, const void *msg, size_t len, int fill, int ms)
{
	long long deadline = now_ms() + ms;

	for (;;) {
		if (!h_post(hc, msg, len, fill, 1))
			return 0;
		if (hc->dead || now_ms() >= deadline)
			return -1;
		h_progress(hc, 10);
	}
}

uint64_t h_send(struct hconn *hc, uint16_t type, uint16_t flags,
		const void *payload, size_t len, int ms)
{
	static uint8_t msg[H_TX_SIZE];
	uint64_t seq = ++hc->seq;

	if (len > H_TX_SIZE - H_HDR_LEN)
		return 0;
	h_fill_hdr(hc, (struct h_hdr *)msg, type, flags, seq, (uint32_t)len);
	if (len)
		memcpy(msg + H_HDR_LEN, payload, len);
	hc->replies[seq % H_REPLIES].used = 0;
	return h_send_raw(hc, msg, H_HDR_LEN + len, 1, ms) ? 0 : seq;
}

const struct h_reply *h_wait_reply(struct hconn *hc, uint64_t seq, int ms)
{
	long long deadline = now_ms() + ms;
	const struct h_reply *r = &hc->replies[seq % H_REPLIES];

	for (;;) {
		if (r->used && r->seq == seq)
			return r;
		if (hc->dead || now_ms() >= deadline)
			return NULL;
		h_progress(hc, 20);
	}
}

const struct h_reply *h_call(struct hconn *hc, uint16_t type,
			     const void *payload, size_t len, int ms)
{
	uint64_t seq = h_send(hc, type, H_F_REQUEST, payload, len, ms);

	return seq ? h_wait_reply(hc, seq, ms) : NULL;
}

static int h_setup(struct hconn *hc)
{
	struct ibv_qp_init_attr qa = { 0 };
	size_t size = (size_t)H_RING * (H_BUF_SIZE + H_TX_SIZE);
	int i;

	hc->pd = ibv_alloc_pd(hc->id->verbs);
	hc->cch = hc->pd ? ibv_create_comp_channel(hc->id->verbs) : NULL;
	if (!hc->cch)
		return -1;
	fcntl(hc->cch->fd, F_SETFL, fcntl(hc->cch->fd, F_GETFL) | O_NONBLOCK);
	hc->cq = ibv_create_cq(hc->id->verbs, 2 * H_RING + 4, hc, hc->cch, 0);
	if (!hc->cq)
		return -1;
	qa.send_cq = hc->cq;
	qa.recv_cq = hc->cq;
	qa.cap.max_send_wr = H_RING + 2;
	qa.cap.max_recv_wr = H_RING + 1;
	qa.cap.max_send_sge = 1;
	qa.cap.max_recv_sge = 1;
	qa.qp_type = IBV_QPT_RC;
	qa.sq_sig_all = 1;
	if (rdma_create_qp(hc->id, hc->pd, &qa))
		return -1;
	hc->qp = hc->id->qp;
	hc->mem = aligned_alloc(4096, size);
	if (!hc->mem)
		return -1;
	memset(hc->mem, 0, size);
	hc->mr = ibv_reg_mr(hc->pd, hc->mem, size, IBV_ACCESS_LOCAL_WRITE);
	if (!hc->mr)
		return -1;
	for (i = 0; i < H_RING; i++)
		if (h_post_recv(hc, i))
			return -1;
	return 0;
}

static int h_bind(struct hconn *hc, const struct h_opts *o)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };

	if (inet_pton(AF_INET, o->src_ip, &sa.sin_addr) != 1)
		return -1;
	if (o->reserved_port) {
		for (int p = 1023; p >= 600; p--) {
			sa.sin_port = htons((uint16_t)p);
			if (!rdma_bind_addr(hc->id, (struct sockaddr *)&sa)) {
				hc->local_port = p;
				return 0;
			}
			if (errno != EADDRINUSE)
				break;	/* EACCES: not privileged */
		}
	}
	sa.sin_port = 0;
	if (rdma_bind_addr(hc->id, (struct sockaddr *)&sa))
		return -1;
	hc->local_port = ntohs(rdma_get_src_port(hc->id));
	return 0;
}

static enum h_result h_fail(struct hconn *hc, const char *why)
{
	hc->why = why;
	hc->dead = 1;
	return H_FAILED;
}

/* Version 3, on ESTABLISHED: checks mac_p, sends the AUTH message. */
static enum h_result h_auth(struct hconn *hc, const struct h_opts *o)
{
	uint8_t msg[H_HDR_LEN + 32], mac[32];
	uint32_t len = 32;

	if (o->link_key) {
		h_mac(o->link_key, label_passive, hc->req, hc->rep, mac);
		if (hc->rep_len < 80 ||
		    sodium_memcmp(mac, hc->rep + 48, 32) != 0)
			return H_BADREP;
	}
	switch (o->auth) {
	case H_AUTH_SKIP:
		return H_UP;
	case H_AUTH_GOOD:
		if (!o->link_key)
			return h_fail(hc, "no key for a good AUTH");
		h_mac(o->link_key, label_active, hc->req, hc->rep, mac);
		break;
	case H_AUTH_BADMAC:
		randombytes_buf(mac, sizeof(mac));
		break;
	case H_AUTH_SHORT:
		randombytes_buf(mac, sizeof(mac));
		len = 16;
		break;
	case H_AUTH_GIVEN:
		memcpy(mac, o->auth_payload, 32);
		break;
	}
	memcpy(hc->auth_sent, mac, 32);
	h_fill_hdr(hc, (struct h_hdr *)msg, H_AUTH, 0, 0, len);
	memcpy(msg + H_HDR_LEN, mac, 32);
	if (h_post(hc, msg, H_HDR_LEN + len, 1, 0))
		return h_fail(hc, "AUTH not sent");
	return H_UP;
}

enum h_result h_connect(struct hconn *hc, const struct h_opts *o)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct rdma_conn_param param = { 0 };
	struct h_conn_data cd = { 0 };
	struct rdma_cm_event ev;
	uint8_t pd[196];
	size_t pd_len;
	int ms = o->timeout_ms ? o->timeout_ms : 3000;

	memset(hc, 0, sizeof(*hc));
	hc->reject_reason = -1;
	hc->auto_reply = 1;
	hc->version = o->id.version;
	hc->me = o->id.src_node;
	hc->peer = o->id.dst_node;
	hc->ech = rdma_create_event_channel();
	if (!hc->ech || rdma_create_id(hc->ech, &hc->id, hc, RDMA_PS_TCP))
		return h_fail(hc, "rdma_create_id");
	if (h_bind(hc, o))
		return h_fail(hc, "rdma_bind_addr");
	dst.sin_port = htons((uint16_t)(o->dst_port ? o->dst_port : H_PORT));
	if (inet_pton(AF_INET, o->dst_ip, &dst.sin_addr) != 1)
		return h_fail(hc, "bad destination");
	if (rdma_resolve_addr(hc->id, NULL, (struct sockaddr *)&dst, ms) ||
	    h_cm_wait(hc, ms, &ev, NULL, &pd_len) ||
	    ev.event != RDMA_CM_EVENT_ADDR_RESOLVED)
		return h_fail(hc, "address resolution");
	if (rdma_resolve_route(hc->id, ms) ||
	    h_cm_wait(hc, ms, &ev, NULL, &pd_len) ||
	    ev.event != RDMA_CM_EVENT_ROUTE_RESOLVED)
		return h_fail(hc, "route resolution");
	if (h_setup(hc))
		return h_fail(hc, "QP setup");

	cd.magic = htole32(o->id.magic);
	cd.version = htole16(o->id.version);
	cd.ring = htole16(o->id.ring);
	cd.src_node = htole16(o->id.src_node);
	cd.dst_node = htole16(o->id.dst_node);
	cd.incarnation = htole64(o->id.incarnation);
	cd.gen = htole64(o->id.gen);
	if (o->id.fixed_nonce)
		memcpy(cd.nonce, o->id.nonce, 16);
	else if (getrandom(cd.nonce, 16, 0) != 16)
		return h_fail(hc, "getrandom");
	hc->req_len = o->id.version >= 3 ? 48 : 32;
	memcpy(hc->req, &cd, hc->req_len);
	param.private_data = hc->req;
	param.private_data_len = (uint8_t)hc->req_len;
	param.retry_count = 7;
	param.rnr_retry_count = 7;
	if (rdma_connect(hc->id, &param))
		return h_fail(hc, "rdma_connect");
	if (h_cm_wait(hc, ms, &ev, pd, &pd_len))
		return h_fail(hc, "no answer to the connect request");
	fcntl(hc->ech->fd, F_SETFL, fcntl(hc->ech->fd, F_GETFL) | O_NONBLOCK);
	if (ev.event == RDMA_CM_EVENT_REJECTED) {
		const struct h_conn_data *r = (const void *)pd;

		hc->reject_status = ev.status;
		if (pd_len >= 32 && le32toh(r->magic) == H_MAGIC)
			hc->reject_reason = (int)le32toh(r->reason);
		hc->dead = 1;
		hc->why = "rejected";
		return H_REJECTED;
	}
	if (ev.event != RDMA_CM_EVENT_ESTABLISHED)
		return h_fail(hc, rdma_event_str(ev.event));
	hc->rep_len = pd_len < sizeof(hc->rep) ? pd_len : sizeof(hc->rep);
	memcpy(hc->rep, pd, hc->rep_len);
	{
		const struct h_conn_data *r = (const void *)pd;
		int ring = pd_len >= 32 ? le16toh(r->ring) : 0;

		hc->credits = ring < H_RING ? ring : H_RING;
	}
	hc->up = 1;
	if (hc->version >= 3)
		return h_auth(hc, o);
	return H_UP;
}

void h_close(struct hconn *hc)
{
	struct rdma_cm_event ev;
	size_t pd_len;

	if (hc->id && hc->up) {
		rdma_disconnect(hc->id);
		/* the DISCONNECTED event, briefly */
		fcntl(hc->ech->fd, F_SETFL,
		      fcntl(hc->ech->fd, F_GETFL) & ~O_NONBLOCK);
		while (!h_cm_wait(hc, 200, &ev, NULL, &pd_len) &&
		       ev.event != RDMA_CM_EVENT_DISCONNECTED)
			;
	}
	if (hc->qp)
		rdma_destroy_qp(hc->id);
	if (hc->mr)
		ibv_dereg_mr(hc->mr);
	if (hc->cq)
		ibv_destroy_cq(hc->cq);
	if (hc->cch)
		ibv_destroy_comp_channel(hc->cch);
	if (hc->pd)
		ibv_dealloc_pd(hc->pd);
	if (hc->id)
		rdma_destroy_id(hc->id);
	if (hc->ech)
		rdma_destroy_event_channel(hc->ech);
	free(hc->mem);
	memset(hc, 0, sizeof(*hc));
}
