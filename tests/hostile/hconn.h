/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hconn.h - a user-space peer that speaks the xpmem kernels' wire
 * protocol (docs/transport.md, docs/protocol.md, the handshake of
 * /work/notes/handshake.md = protocol version 3) over librdmacm and
 * libibverbs: the connection, the handshake, the message header and the
 * credit scheme.  Every field it sends can be forged: it is the hostile
 * peer's transport (tests/hostile).
 */
#ifndef HOSTILE_HCONN_H
#define HOSTILE_HCONN_H

#include <stddef.h>
#include <stdint.h>

#include <rdma/rdma_cma.h>

#define H_MAGIC		0x314e5058u	/* "XPN1" */
#define H_RING		16
#define H_MAX_PAYLOAD	(64 * 1024 + 256)
#define H_HDR_LEN	32
#define H_BUF_SIZE	(H_HDR_LEN + H_MAX_PAYLOAD)
#define H_PORT		18515
#define H_PAGE		4096
/* Our reposts reported in an explicit credit message once this many. */
#define H_CREDIT_BATCH	(H_RING / 2)

/* Message types (kernel/transport.h), internal types (transport_priv.h). */
enum {
	H_PING = 1, H_GET, H_RELEASE, H_FETCH, H_WRITEBACK, H_DROP,
	H_INVALIDATE, H_REVOKE, H_ATTACH, H_DETACH, H_NR_TYPES,
	H_AUTH = 0x7e, H_CREDIT = 0x7f,
};

#define H_F_REQUEST	0x1
#define H_F_REPLY	0x2
#define H_F_NOHANDLER	0x4

/* Reject reasons (enum xpmem_rej_reason). */
enum { H_REJ_NONE, H_REJ_VERSION, H_REJ_UNKNOWN, H_REJ_INCARNATION,
       H_REJ_RACE, H_REJ_STALE, H_REJ_NOMEM };

struct h_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint16_t flags;
	uint16_t src_node;
	uint16_t dst_node;
	uint16_t credits;
	uint32_t len;
	uint32_t reserved;
	uint64_t seq;
} __attribute__((packed));

/* The connect request's private data: 32 bytes in version 2, 48 in 3. */
struct h_conn_data {
	uint32_t magic;
	uint16_t version;
	uint16_t ring;
	uint16_t src_node;
	uint16_t dst_node;
	uint32_t reason;
	uint64_t incarnation;
	uint64_t gen;
	uint8_t nonce[16];
} __attribute__((packed));

/* What the connect request claims; everything may be forged. */
struct h_ident {
	uint32_t magic;
	uint16_t version;	/* 2 or 3 */
	uint16_t ring;
	uint16_t src_node;
	uint16_t dst_node;
	uint64_t incarnation;
	uint64_t gen;
	int fixed_nonce;	/* use @nonce, else a fresh random one */
	uint8_t nonce[16];
};

/* How the active side finishes the version 3 handshake. */
enum h_auth {
	H_AUTH_GOOD,		/* a valid mac_a (needs the key) */
	H_AUTH_SKIP,		/* no AUTH message at all */
	H_AUTH_BADMAC,		/* an AUTH with a wrong MAC */
	H_AUTH_SHORT,		/* an AUTH of 16 bytes */
	H_AUTH_GIVEN,		/* the AUTH payload in h_opts.auth_payload */
};

struct h_opts {
	const char *src_ip;	/* bind to this address */
	int reserved_port;	/* try ports 1023..600 first */
	const char *dst_ip;
	int dst_port;
	struct h_ident id;
	enum h_auth auth;
	uint8_t auth_payload[32];
	const uint8_t *link_key;	/* 32 bytes or NULL */
	int timeout_ms;
};

/* Outcome of h_connect. */
enum h_result {
	H_UP,			/* established (and AUTH sent in version 3) */
	H_REJECTED,		/* REJECTED event; reject_reason set */
	H_FAILED,		/* other failure (unreachable, timeout...) */
	H_BADREP,		/* version 3: the accept's mac_p is wrong */
};

#define H_REPLIES 64

struct h_reply {
	uint64_t seq;
	uint16_t type;
	uint16_t flags;
	uint32_t len;
	int used;
	uint8_t head[64];	/* the first bytes of the payload */
	uint64_t sum;		/* FNV-1a of the payload after 8 bytes
				 * (a FETCH reply's pages), if want_sums */
};

struct hconn {
	struct rdma_event_channel *ech;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_comp_channel *cch;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_mr *mr;
	uint8_t *mem;			/* H_RING rx then H_RING tx buffers */
	int tx_busy[H_RING];
	int version;
	uint16_t me, peer;		/* node ids on headers */
	int local_port;
	int credits;			/* sends the kernel can receive */
	int to_return;			/* our reposts not yet reported */
	int up, dead;
	int reject_reason;		/* H_REJECTED: reason, -1 = none */
	int reject_status;		/* H_REJECTED: the CM's status */
	uint64_t seq;
	uint8_t req[48], rep[80];	/* handshake, for replays */
	size_t req_len, rep_len;
	uint8_t auth_sent[32];		/* the mac_a we sent */
	int auto_reply;			/* answer the kernel's requests */
	int want_sums;			/* h_reply.sum wanted */
	uint64_t rx_msgs, rx_replies, rx_requests, rx_credits, rx_bad;
	uint64_t max_credits_seen;
	struct h_reply replies[H_REPLIES];
	const char *why;		/* of H_FAILED / death */
};

void h_ident_default(struct h_ident *id, int version, uint16_t src,
		     uint16_t dst);
enum h_result h_connect(struct hconn *hc, const struct h_opts *o);
void h_close(struct hconn *hc);

/*
 * Processes completions and CM events: returns once something was done,
 * or after @ms; 1 if the connection is dead.
 */
int h_progress(struct hconn *hc, int ms);

/*
 * Sends @len bytes at @msg (a header and payload, any content).  With
 * @fill_credits the header's credits field is set to the reposts to
 * return.  Waits up to @ms for a credit; returns 0, -1 (dead, timeout).
 */
int h_send_raw(struct hconn *hc, const void *msg, size_t len,
	       int fill_credits, int ms);
/* Builds and sends a well-formed message; returns its seq or 0. */
uint64_t h_send(struct hconn *hc, uint16_t type, uint16_t flags,
		const void *payload, size_t len, int ms);
void h_fill_hdr(const struct hconn *hc, struct h_hdr *h, uint16_t type,
		uint16_t flags, uint64_t seq, uint32_t len);
/* Waits for the reply with @seq; NULL on timeout or death. */
const struct h_reply *h_wait_reply(struct hconn *hc, uint64_t seq, int ms);
/* A request and its reply; NULL if none. */
const struct h_reply *h_call(struct hconn *hc, uint16_t type,
			     const void *payload, size_t len, int ms);
uint64_t h_fnv(const void *p, size_t n);

#endif /* HOSTILE_HCONN_H */
