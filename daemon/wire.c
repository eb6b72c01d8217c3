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

	if (in[5] != WIRE_HEARTBEAT)
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

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int wire_key_parse(const uint8_t *data, size_t len, uint8_t key[WIRE_KEY_LEN])
{
	size_t i;

	if (len == WIRE_KEY_LEN) {
		memcpy(key, data, WIRE_KEY_LEN);
		return 0;
	}
	if (len == 2 * WIRE_KEY_LEN + 1 && data[len - 1] == '\n')
		len--;
	if (len != 2 * WIRE_KEY_LEN)
		return -1;
	for (i = 0; i < WIRE_KEY_LEN; i++) {
		int hi = hexval(data[2 * i]), lo = hexval(data[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
