// SPDX-License-Identifier: GPL-2.0
/*
 * wire.c - encoding and authenticated decoding of daemon messages.
 *
 * Decoding checks framing first (length, magic, version, payload
 * length), then the MAC, and only then looks at what the sender
 * claims (type, node ids, payload): nothing unauthenticated is
 * interpreted.  crypto_auth_verify compares in constant time.
 */
#include <string.h>

#include <sodium.h>

#include "wire.h"

_Static_assert(crypto_auth_BYTES == WIRE_MAC_LEN, "MAC size");
_Static_assert(crypto_auth_KEYBYTES == WIRE_KEY_LEN, "key size");
_Static_assert(WIRE_SEGREP_MAX_RECS == 10, "10 segment records per part");
_Static_assert(WIRE_SEGREP_HDR_LEN + WIRE_SEGREP_MAX_RECS * WIRE_SEG_REC_LEN
	       <= WIRE_MAX_PAYLOAD, "a full part fits the payload");

/* Same limit as the kernel's segid node field. */
#define WIRE_NODE_MAX	32767u

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

ssize_t wire_encode(const struct wire_msg *m, const uint8_t key[WIRE_KEY_LEN],
		    uint8_t *out, size_t outlen)
{
	size_t len;

	if (m->payload_len > WIRE_MAX_PAYLOAD)
		return WIRE_EOVERSIZE;
	len = WIRE_HDR_LEN + m->payload_len + WIRE_MAC_LEN;
	if (outlen < len)
		return WIRE_EBUF;
	put32(out, WIRE_MAGIC);
	out[4] = WIRE_VERSION;
	out[5] = m->type;
	put16(out + 6, 0);
	put32(out + 8, m->src);
	put32(out + 12, m->dst);
	put64(out + 16, m->incarnation);
	put64(out + 24, m->seq);
	put32(out + 32, m->payload_len);
	put32(out + 36, 0);
	memcpy(out + WIRE_HDR_LEN, m->payload, m->payload_len);
	crypto_auth(out + WIRE_HDR_LEN + m->payload_len, out,
		    WIRE_HDR_LEN + m->payload_len, key);
	return (ssize_t)len;
}

int wire_decode(const uint8_t *in, size_t len,
		const uint8_t key[WIRE_KEY_LEN], struct wire_msg *m)
{
	uint32_t plen;

	if (len < WIRE_HDR_LEN + WIRE_MAC_LEN)
		return WIRE_ETRUNC;
	if (len > WIRE_MAX_MSG)
		return WIRE_EOVERSIZE;
	if (get32(in) != WIRE_MAGIC)
		return WIRE_EMAGIC;
	if (in[4] != WIRE_VERSION)
		return WIRE_EVERSION;
	plen = get32(in + 32);
	if (plen > WIRE_MAX_PAYLOAD)
		return WIRE_EOVERSIZE;
	if (WIRE_HDR_LEN + plen + WIRE_MAC_LEN != len)
		return WIRE_ELEN;
	if (crypto_auth_verify(in + WIRE_HDR_LEN + plen, in,
			       WIRE_HDR_LEN + plen, key))
		return WIRE_EMAC;

	if (in[5] != WIRE_HEARTBEAT && in[5] != WIRE_SEG_REQUEST &&
	    in[5] != WIRE_SEG_REPLY)
		return WIRE_ETYPE;
	memset(m, 0, sizeof(*m));
	m->type = in[5];
	m->src = get32(in + 8);
	m->dst = get32(in + 12);
	m->incarnation = get64(in + 16);
	m->seq = get64(in + 24);
	m->payload_len = plen;
	if (get16(in + 6) || get32(in + 36) || !m->src ||
	    m->src > WIRE_NODE_MAX || !m->dst || m->dst > WIRE_NODE_MAX ||
	    !m->incarnation)
		return WIRE_EFIELD;
	memcpy(m->payload, in + WIRE_HDR_LEN, plen);
	if (m->type == WIRE_HEARTBEAT && plen != WIRE_HB_LEN)
		return WIRE_EPAYLOAD;
	if (m->type == WIRE_SEG_REQUEST && plen != WIRE_SEGREQ_LEN)
		return WIRE_EPAYLOAD;
	if (m->type == WIRE_SEG_REPLY &&
	    (plen < WIRE_SEGREP_HDR_LEN ||
	     (plen - WIRE_SEGREP_HDR_LEN) % WIRE_SEG_REC_LEN ||
	     (plen - WIRE_SEGREP_HDR_LEN) / WIRE_SEG_REC_LEN >
	     WIRE_SEGREP_MAX_RECS))
		return WIRE_EPAYLOAD;
	return WIRE_OK;
}

void wire_hb_pack(const struct wire_heartbeat *hb, struct wire_msg *m)
{
	m->type = WIRE_HEARTBEAT;
	m->payload_len = WIRE_HB_LEN;
	put32(m->payload, hb->heartbeat_ms);
	put32(m->payload + 4, hb->lease_ms);
	put64(m->payload + 8, hb->seen_incarnation);
}

int wire_hb_unpack(const struct wire_msg *m, struct wire_heartbeat *hb)
{
	if (m->type != WIRE_HEARTBEAT || m->payload_len != WIRE_HB_LEN)
		return WIRE_EPAYLOAD;
	hb->heartbeat_ms = get32(m->payload);
	hb->lease_ms = get32(m->payload + 4);
	hb->seen_incarnation = get64(m->payload + 8);
	return WIRE_OK;
}

static int segreq_ok(const struct wire_seg_request *r)
{
	if (!r->id || r->flags & ~WIRE_SEGREQ_ALL)
		return 0;
	/* ALL is root's: it never comes with another uid. */
	return !(r->flags & WIRE_SEGREQ_ALL) || r->uid == 0;
}

int wire_segreq_pack(const struct wire_seg_request *r, struct wire_msg *m)
{
	if (!segreq_ok(r))
		return WIRE_EPAYLOAD;
	m->type = WIRE_SEG_REQUEST;
	m->payload_len = WIRE_SEGREQ_LEN;
	put64(m->payload, r->id);
	put32(m->payload + 8, r->uid);
	put32(m->payload + 12, r->flags);
	return WIRE_OK;
}

int wire_segreq_unpack(const struct wire_msg *m, struct wire_seg_request *r)
{
	if (m->type != WIRE_SEG_REQUEST || m->payload_len != WIRE_SEGREQ_LEN)
		return WIRE_EPAYLOAD;
	r->id = get64(m->payload);
	r->uid = get32(m->payload + 8);
	r->flags = get32(m->payload + 12);
	return segreq_ok(r) ? WIRE_OK : WIRE_EPAYLOAD;
}

static int segrep_ok(const struct wire_seg_reply *r)
{
	if (!r->id || r->count > WIRE_SEGREP_MAX_RECS ||
	    r->part >= WIRE_SEGREP_MAX_PARTS || r->flags & ~WIRE_SEGREP_FLAGS)
		return 0;
	if (r->flags & WIRE_SEGREP_TRUNCATED && !(r->flags & WIRE_SEGREP_LAST))
		return 0;
	if (r->flags & WIRE_SEGREP_UNAVAILABLE &&
	    (r->flags != (WIRE_SEGREP_UNAVAILABLE | WIRE_SEGREP_LAST) ||
	     r->part || r->count))
		return 0;
	return 1;
}

int wire_segrep_pack(const struct wire_seg_reply *r, struct wire_msg *m)
{
	uint32_t i;

	if (!segrep_ok(r))
		return WIRE_EPAYLOAD;
	m->type = WIRE_SEG_REPLY;
	m->payload_len = WIRE_SEGREP_HDR_LEN + r->count * WIRE_SEG_REC_LEN;
	put64(m->payload, r->id);
	put16(m->payload + 8, r->part);
	put16(m->payload + 10, r->flags);
	put32(m->payload + 12, r->count);
	for (i = 0; i < r->count; i++) {
		const struct wire_seg_rec *s = &r->rec[i];
		uint8_t *p = m->payload + WIRE_SEGREP_HDR_LEN +
			     i * WIRE_SEG_REC_LEN;

		put64(p, s->segid);
		put64(p + 8, s->size);
		put32(p + 16, s->pid);
		put32(p + 20, s->uid);
		put32(p + 24, s->gid);
		put32(p + 28, s->mode);
		put32(p + 32, s->permits);
		put32(p + 36, s->attachments);
		put32(p + 40, s->remote_permits);
		put32(p + 44, s->remote_attachments);
	}
	return WIRE_OK;
}

int wire_segrep_unpack(const struct wire_msg *m, struct wire_seg_reply *r)
{
	uint32_t i;

	if (m->type != WIRE_SEG_REPLY || m->payload_len < WIRE_SEGREP_HDR_LEN ||
	    m->payload_len > WIRE_MAX_PAYLOAD)
		return WIRE_EPAYLOAD;
	r->id = get64(m->payload);
	r->part = get16(m->payload + 8);
	r->flags = get16(m->payload + 10);
	r->count = get32(m->payload + 12);
	/* The count must say exactly what the length carries. */
	if ((uint64_t)WIRE_SEGREP_HDR_LEN +
	    (uint64_t)r->count * WIRE_SEG_REC_LEN != m->payload_len ||
	    !segrep_ok(r))
		return WIRE_EPAYLOAD;
	for (i = 0; i < r->count; i++) {
		struct wire_seg_rec *s = &r->rec[i];
		const uint8_t *p = m->payload + WIRE_SEGREP_HDR_LEN +
				   i * WIRE_SEG_REC_LEN;

		s->segid = get64(p);
		s->size = get64(p + 8);
		s->pid = get32(p + 16);
		s->uid = get32(p + 20);
		s->gid = get32(p + 24);
		s->mode = get32(p + 28);
		s->permits = get32(p + 32);
		s->attachments = get32(p + 36);
		s->remote_permits = get32(p + 40);
		s->remote_attachments = get32(p + 44);
	}
	return WIRE_OK;
}

const char *wire_strerror(int err)
{
	switch (err) {
	case WIRE_OK:
		return "ok";
	case WIRE_ETRUNC:
		return "truncated";
	case WIRE_EOVERSIZE:
		return "oversized";
	case WIRE_EMAGIC:
		return "bad magic";
	case WIRE_EVERSION:
		return "unsupported version";
	case WIRE_ELEN:
		return "length mismatch";
	case WIRE_EMAC:
		return "bad MAC";
	case WIRE_ETYPE:
		return "unknown type";
	case WIRE_EFIELD:
		return "bad header field";
	case WIRE_EPAYLOAD:
		return "bad payload";
	case WIRE_EBUF:
		return "buffer too small";
	default:
		return "unknown error";
	}
}

uint64_t wire_next_seq(uint64_t *last, uint64_t now_ns)
{
	*last = now_ns > *last ? now_ns : *last + 1;
	return *last;
}
