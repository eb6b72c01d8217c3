/* SPDX-License-Identifier: GPL-2.0 */
/*
 * wire.h - daemon-to-daemon messages (UDP, one message per datagram).
 *
 *   offset size  field
 *        0    4  magic "XPD1" (0x31445058)
 *        4    1  version (1)
 *        5    1  type
 *        6    2  flags (0)
 *        8    4  source node id
 *       12    4  destination node id
 *       16    8  incarnation of the sender
 *       24    8  sequence number (CLOCK_REALTIME ns, strictly increasing)
 *       32    4  payload length
 *       36    4  reserved (0)
 *       40    n  payload
 *     40+n   32  HMAC-SHA512-256 (crypto_auth) of bytes 0..40+n-1
 *
 * All integers little endian.  encode/decode are pure: no clock, no
 * state; replay and incarnation checks belong to membership.c.
 */
#ifndef XPMEMD_WIRE_H
#define XPMEMD_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define WIRE_MAGIC		0x31445058u
#define WIRE_VERSION		1
#define WIRE_HDR_LEN		40
#define WIRE_MAC_LEN		32
#define WIRE_KEY_LEN		32
#define WIRE_MAX_PAYLOAD	512
#define WIRE_MAX_MSG		(WIRE_HDR_LEN + WIRE_MAX_PAYLOAD + WIRE_MAC_LEN)

enum wire_type {
	WIRE_HEARTBEAT = 1,
	WIRE_SEG_REQUEST = 2,	/* "send me your segments" */
	WIRE_SEG_REPLY = 3,	/* one part of the answer */
};

/* Decode results; every failure is a distinct reason for the counters. */
enum wire_err {
	WIRE_OK = 0,
	WIRE_ETRUNC = -1,	/* shorter than header + MAC */
	WIRE_EOVERSIZE = -2,	/* longer than WIRE_MAX_MSG / payload too big */
	WIRE_EMAGIC = -3,
	WIRE_EVERSION = -4,
	WIRE_ELEN = -5,		/* payload length disagrees with datagram */
	WIRE_EMAC = -6,		/* authentication failed */
	WIRE_ETYPE = -7,	/* unknown type */
	WIRE_EFIELD = -8,	/* flags/reserved set, node id out of range */
	WIRE_EPAYLOAD = -9,	/* payload wrong for its type */
	WIRE_EBUF = -10,	/* encode: output buffer too small */
};

struct wire_msg {
	uint8_t type;
	uint32_t src;
	uint32_t dst;
	uint64_t incarnation;
	uint64_t seq;
	uint32_t payload_len;
	uint8_t payload[WIRE_MAX_PAYLOAD];
};

/*
 * HEARTBEAT payload (16 bytes): the sender's lease and interval (so a
 * misconfigured peer shows up in the status), and the incarnation the
 * sender last accepted from the destination (0 = none): the receiver
 * learns whether the peer hears it.
 */
#define WIRE_HB_LEN	16
struct wire_heartbeat {
	uint32_t heartbeat_ms;
	uint32_t lease_ms;
	uint64_t seen_incarnation;
};

/*
 * SEG_REQUEST payload (16 bytes): a request id (random, non-zero), the
 * uid of the user who asked and flags (bit 0 ALL: root asked, uid is 0;
 * no other bit).  The answering node filters too: without ALL only
 * records of that uid are sent.
 */
#define WIRE_SEGREQ_LEN		16
#define WIRE_SEGREQ_ALL		0x1u
struct wire_seg_request {
	uint64_t id;
	uint32_t uid;
	uint32_t flags;
};

/*
 * SEG_REPLY payload: request id (u64), part index (u16), flags (u16:
 * bit 0 LAST, bit 1 UNAVAILABLE = the node has no segments file, bit 2
 * TRUNCATED = more segments than WIRE_SEGREP_MAX_PARTS parts hold),
 * record count (u32), then count records of 48 bytes:
 *
 *   0 segid u64, 8 size u64, 16 pid u32, 20 uid u32, 24 gid u32,
 *   28 mode u32, 32 permits u32, 36 attachments u32,
 *   40 remote_permits u32, 44 remote_attachments u32
 *
 * (counts above 2^32-1 are sent as 2^32-1).  At most 10 records fit in
 * the 512-byte payload; an answer has at most 64 parts, the last one
 * flagged LAST.  UNAVAILABLE comes alone: part 0, LAST, no records.
 */
#define WIRE_SEGREP_HDR_LEN	16
#define WIRE_SEG_REC_LEN	48
#define WIRE_SEGREP_MAX_RECS	\
	((WIRE_MAX_PAYLOAD - WIRE_SEGREP_HDR_LEN) / WIRE_SEG_REC_LEN)
#define WIRE_SEGREP_MAX_PARTS	64
#define WIRE_SEGREP_LAST	0x1u
#define WIRE_SEGREP_UNAVAILABLE	0x2u
#define WIRE_SEGREP_TRUNCATED	0x4u
#define WIRE_SEGREP_FLAGS	0x7u

struct wire_seg_rec {
	uint64_t segid;
	uint64_t size;
	uint32_t pid, uid, gid, mode;
	uint32_t permits, attachments, remote_permits, remote_attachments;
};

struct wire_seg_reply {
	uint64_t id;
	uint16_t part;
	uint16_t flags;
	uint32_t count;
	struct wire_seg_rec rec[WIRE_SEGREP_MAX_RECS];
};

/* Bytes written to out (<= outlen), or a negative enum wire_err. */
ssize_t wire_encode(const struct wire_msg *m, const uint8_t key[WIRE_KEY_LEN],
		    uint8_t *out, size_t outlen);
/* WIRE_OK and *m filled, or a negative enum wire_err. */
int wire_decode(const uint8_t *in, size_t len,
		const uint8_t key[WIRE_KEY_LEN], struct wire_msg *m);

void wire_hb_pack(const struct wire_heartbeat *hb, struct wire_msg *m);
int wire_hb_unpack(const struct wire_msg *m, struct wire_heartbeat *hb);

/* The packers refuse what the unpackers would refuse (WIRE_EPAYLOAD). */
int wire_segreq_pack(const struct wire_seg_request *r, struct wire_msg *m);
int wire_segreq_unpack(const struct wire_msg *m, struct wire_seg_request *r);
int wire_segrep_pack(const struct wire_seg_reply *r, struct wire_msg *m);
int wire_segrep_unpack(const struct wire_msg *m, struct wire_seg_reply *r);

const char *wire_strerror(int err);

/*
 * Next sequence number: the wall clock in ns, or last + 1 if the clock
 * did not move (or went back), so it always grows and survives a
 * restart of the daemon.
 */
uint64_t wire_next_seq(uint64_t *last, uint64_t now_ns);

#endif /* XPMEMD_WIRE_H */
