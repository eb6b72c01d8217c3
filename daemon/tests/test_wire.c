// SPDX-License-Identifier: GPL-2.0
/*
 * test_wire.c - the message codec: valid messages round-trip; truncated,
 * oversized, malformed, bad-MAC and replayed ones are rejected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "membership.h"
#include "wire.h"

static uint8_t key[WIRE_KEY_LEN];

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 13 + 1);
	return 0;
}

static size_t make_hb(uint8_t *out, uint64_t seq)
{
	struct wire_heartbeat hb = { 500, 3000, 0x1122334455667788ULL };
	struct wire_msg m = { .src = 2, .dst = 1,
			      .incarnation = 0xabcdef0123456789ULL,
			      .seq = seq };
	ssize_t n;

	wire_hb_pack(&hb, &m);
	n = wire_encode(&m, key, out, WIRE_MAX_MSG);
	assert_true(n > 0);
	return (size_t)n;
}

/* Rewrites the MAC after a deliberate change: valid MAC, bad content. */
static void reseal(uint8_t *buf, size_t len)
{
	crypto_auth(buf + len - WIRE_MAC_LEN, buf, len - WIRE_MAC_LEN, key);
}

static void test_roundtrip(void **state)
{
	uint8_t buf[WIRE_MAX_MSG];
	struct wire_heartbeat hb;
	struct wire_msg m;
	size_t n;

	(void)state;
	n = make_hb(buf, 1234567890123ULL);
	assert_int_equal(n, WIRE_HDR_LEN + WIRE_HB_LEN + WIRE_MAC_LEN);
	assert_memory_equal(buf, "XPD1", 4);
	/* Little endian on the wire whatever the host. */
	assert_int_equal(buf[8], 2);
	assert_int_equal(buf[12], 1);
	assert_int_equal(buf[16], 0x89);
	assert_int_equal(buf[23], 0xab);

	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_OK);
	assert_int_equal(m.type, WIRE_HEARTBEAT);
	assert_int_equal(m.src, 2);
	assert_int_equal(m.dst, 1);
	assert_true(m.incarnation == 0xabcdef0123456789ULL);
	assert_true(m.seq == 1234567890123ULL);
	assert_int_equal(wire_hb_unpack(&m, &hb), WIRE_OK);
	assert_int_equal(hb.heartbeat_ms, 500);
	assert_int_equal(hb.lease_ms, 3000);
	assert_true(hb.seen_incarnation == 0x1122334455667788ULL);
}

static void test_truncated(void **state)
{
	uint8_t buf[WIRE_MAX_MSG];
	struct wire_msg m;
	size_t n, len;

	(void)state;
	n = make_hb(buf, 1);
	for (len = 0; len < n; len++) {
		int err = wire_decode(buf, len, key, &m);

		assert_true(err == WIRE_ETRUNC || err == WIRE_ELEN);
		if (len < WIRE_HDR_LEN + WIRE_MAC_LEN)
			assert_int_equal(err, WIRE_ETRUNC);
	}
	/* Trailing bytes are as wrong as missing ones. */
	buf[n] = 0;
	assert_int_equal(wire_decode(buf, n + 1, key, &m), WIRE_ELEN);
}

static void test_oversized(void **state)
{
	uint8_t buf[WIRE_MAX_MSG + 64] = { 0 };
	struct wire_msg m = { .type = WIRE_HEARTBEAT, .src = 1, .dst = 2,
			      .incarnation = 1, .seq = 1 };
	size_t n;

	(void)state;
	m.payload_len = WIRE_MAX_PAYLOAD + 1;
	assert_int_equal(wire_encode(&m, key, buf, sizeof(buf)),
			 WIRE_EOVERSIZE);
	m.payload_len = WIRE_MAX_PAYLOAD;
	assert_int_equal(wire_encode(&m, key, buf, WIRE_MAX_MSG - 1),
			 WIRE_EBUF);

	n = make_hb(buf, 1);
	assert_int_equal(wire_decode(buf, WIRE_MAX_MSG + 1, key, &m),
			 WIRE_EOVERSIZE);
	/* A payload length field beyond the maximum. */
	buf[32] = 0xff;
	buf[33] = 0xff;
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_EOVERSIZE);
}

static void test_bad_mac(void **state)
{
	uint8_t buf[WIRE_MAX_MSG], other[WIRE_KEY_LEN];
	struct wire_msg m;
	size_t n, i;
	int bit;

	(void)state;
	n = make_hb(buf, 7);
	/* Any bit flipped anywhere after the framing fields. */
	for (i = 0; i < n; i++) {
		if (i < 5 || (i >= 32 && i < 36))
			continue;	/* magic, version, length: framing */
		for (bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1 << bit);
			assert_int_equal(wire_decode(buf, n, key, &m), WIRE_EMAC);
			buf[i] ^= (uint8_t)(1 << bit);
		}
	}
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_OK);
	memcpy(other, key, sizeof(other));
	other[0] ^= 1;
	assert_int_equal(wire_decode(buf, n, other, &m), WIRE_EMAC);
}

static void test_bad_framing(void **state)
{
	uint8_t buf[WIRE_MAX_MSG];
	struct wire_msg m;
	size_t n;

	(void)state;
	n = make_hb(buf, 7);
	buf[0] = 'Y';
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_EMAGIC);
	buf[0] = 'X';
	buf[4] = 2;
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_EVERSION);
	buf[4] = 1;
	buf[32]++;	/* payload length one more than carried */
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_ELEN);
}

/* Authenticated but malformed: a cluster member with a bug. */
static void test_malformed_authentic(void **state)
{
	uint8_t buf[WIRE_MAX_MSG], save[WIRE_MAX_MSG];
	struct wire_heartbeat hb;
	struct wire_msg m;
	size_t n;

	(void)state;
	n = make_hb(save, 7);

	memcpy(buf, save, n);
	buf[5] = 99;
	reseal(buf, n);
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_ETYPE);

	memcpy(buf, save, n);
	buf[6] = 1;	/* flags */
	reseal(buf, n);
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_EFIELD);

	memcpy(buf, save, n);
	buf[36] = 1;	/* reserved */
	reseal(buf, n);
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_EFIELD);

	memcpy(buf, save, n);
	memset(buf + 8, 0, 4);	/* source node 0 */
	reseal(buf, n);
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_EFIELD);

	memcpy(buf, save, n);
	buf[14] = 1;	/* destination node 65537 */
	reseal(buf, n);
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_EFIELD);

	memcpy(buf, save, n);
	memset(buf + 16, 0, 8);	/* incarnation 0 */
	reseal(buf, n);
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_EFIELD);

	/* A heartbeat with a payload of the wrong size. */
	{
		struct wire_msg w = { .type = WIRE_HEARTBEAT, .src = 2,
				      .dst = 1, .incarnation = 5, .seq = 9,
				      .payload_len = 8 };
		ssize_t len = wire_encode(&w, key, buf, sizeof(buf));

		assert_true(len > 0);
		assert_int_equal(wire_decode(buf, (size_t)len, key, &m),
				 WIRE_EPAYLOAD);
		assert_int_equal(wire_hb_unpack(&w, &hb), WIRE_EPAYLOAD);
	}
}

/* A SEG_REPLY of count records (segids 0x100..), encoded. */
static size_t make_reply(uint8_t *out, uint32_t count, uint16_t flags)
{
	struct wire_seg_reply r = { .id = 0x1122334455667788ULL, .part = 3,
				    .flags = flags, .count = count };
	struct wire_msg m = { .src = 3, .dst = 1, .incarnation = 77,
			      .seq = 1000 };
	ssize_t n;

	for (uint32_t i = 0; i < count; i++) {
		r.rec[i].segid = 0x100 + i;
		r.rec[i].size = 1ULL << 33;
		r.rec[i].pid = 4000 + i;
		r.rec[i].uid = 1000;
		r.rec[i].gid = 100;
		r.rec[i].mode = 0640;
		r.rec[i].permits = 1;
		r.rec[i].attachments = 2;
		r.rec[i].remote_permits = 3;
		r.rec[i].remote_attachments = 0xfffffffe;
	}
	assert_int_equal(wire_segrep_pack(&r, &m), WIRE_OK);
	n = wire_encode(&m, key, out, WIRE_MAX_MSG);
	assert_true(n > 0);
	return (size_t)n;
}

static void test_seg_roundtrip(void **state)
{
	struct wire_seg_request rq = { .id = 42, .uid = 1000 }, rq2;
	struct wire_seg_reply r;
	uint8_t buf[WIRE_MAX_MSG];
	struct wire_msg m = { .src = 1, .dst = 2, .incarnation = 5, .seq = 6 };
	ssize_t n;

	(void)state;
	assert_int_equal(wire_segreq_pack(&rq, &m), WIRE_OK);
	n = wire_encode(&m, key, buf, sizeof(buf));
	assert_int_equal(n, WIRE_HDR_LEN + WIRE_SEGREQ_LEN + WIRE_MAC_LEN);
	assert_int_equal(buf[5], WIRE_SEG_REQUEST);
	assert_int_equal(buf[WIRE_HDR_LEN], 42);	/* little endian */
	assert_int_equal(buf[WIRE_HDR_LEN + 8], 1000 & 0xff);
	memset(&m, 0, sizeof(m));
	assert_int_equal(wire_decode(buf, (size_t)n, key, &m), WIRE_OK);
	assert_int_equal(m.type, WIRE_SEG_REQUEST);
	assert_int_equal(wire_segreq_unpack(&m, &rq2), WIRE_OK);
	assert_true(rq2.id == 42);
	assert_int_equal(rq2.uid, 1000);
	assert_int_equal(rq2.flags, 0);
	/* A heartbeat is not a request, nor the other way round. */
	assert_int_equal(wire_segrep_unpack(&m, &r), WIRE_EPAYLOAD);
	{
		struct wire_heartbeat hb;

		assert_int_equal(wire_hb_unpack(&m, &hb), WIRE_EPAYLOAD);
	}

	/* Replies of 0, 1 and the maximum number of records. */
	for (uint32_t count = 0; count <= WIRE_SEGREP_MAX_RECS; count++) {
		size_t len = make_reply(buf, count, WIRE_SEGREP_LAST);
		assert_int_equal(len, WIRE_HDR_LEN + WIRE_SEGREP_HDR_LEN +
				 count * WIRE_SEG_REC_LEN + WIRE_MAC_LEN);
		assert_int_equal(wire_decode(buf, len, key, &m), WIRE_OK);
		assert_int_equal(wire_segrep_unpack(&m, &r), WIRE_OK);
		assert_true(r.id == 0x1122334455667788ULL);
		assert_int_equal(r.part, 3);
		assert_int_equal(r.flags, WIRE_SEGREP_LAST);
		assert_int_equal(r.count, count);
		for (uint32_t i = 0; i < count; i++) {
			assert_true(r.rec[i].segid == 0x100 + i);
			assert_true(r.rec[i].size == 1ULL << 33);
			assert_int_equal(r.rec[i].pid, 4000 + i);
			assert_int_equal(r.rec[i].uid, 1000);
			assert_int_equal(r.rec[i].gid, 100);
			assert_int_equal(r.rec[i].mode, 0640);
			assert_int_equal(r.rec[i].permits, 1);
			assert_int_equal(r.rec[i].attachments, 2);
			assert_int_equal(r.rec[i].remote_permits, 3);
			assert_int_equal(r.rec[i].remote_attachments,
					 0xfffffffe);
		}
	}
	/* The maximum reply fits the payload limit exactly as documented. */
	assert_true(WIRE_SEGREP_HDR_LEN + WIRE_SEGREP_MAX_RECS *
		    WIRE_SEG_REC_LEN <= WIRE_MAX_PAYLOAD);
}

static void test_seg_truncated(void **state)
{
	uint8_t buf[WIRE_MAX_MSG];
	struct wire_msg m;
	size_t n, len;

	(void)state;
	n = make_reply(buf, 4, WIRE_SEGREP_LAST);
	for (len = 0; len < n; len++) {
		int err = wire_decode(buf, len, key, &m);

		assert_true(err == WIRE_ETRUNC || err == WIRE_ELEN);
	}
	/* Cut a record short and reseal: the shape is wrong. */
	buf[32] = (uint8_t)(WIRE_SEGREP_HDR_LEN + 3 * WIRE_SEG_REC_LEN + 8);
	len = WIRE_HDR_LEN + buf[32] + WIRE_MAC_LEN;
	reseal(buf, len);
	assert_int_equal(wire_decode(buf, len, key, &m), WIRE_EPAYLOAD);
	/* Shorter than the reply header. */
	buf[32] = 8;
	len = WIRE_HDR_LEN + 8 + WIRE_MAC_LEN;
	reseal(buf, len);
	assert_int_equal(wire_decode(buf, len, key, &m), WIRE_EPAYLOAD);
}

/* Validly MACed replies whose contents lie: refused by the unpacker. */
static void test_seg_bad_fields(void **state)
{
	uint8_t buf[WIRE_MAX_MSG], save[WIRE_MAX_MSG];
	struct wire_seg_request rq;
	struct wire_seg_reply r;
	struct wire_msg m;
	size_t n;

	(void)state;
	n = make_reply(save, 2, WIRE_SEGREP_LAST);
	/* Count larger than the records carried, and smaller. */
	memcpy(buf, save, n);
	buf[WIRE_HDR_LEN + 12] = 3;
	reseal(buf, n);
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_OK);
	assert_int_equal(wire_segrep_unpack(&m, &r), WIRE_EPAYLOAD);
	buf[WIRE_HDR_LEN + 12] = 1;
	reseal(buf, n);
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_OK);
	assert_int_equal(wire_segrep_unpack(&m, &r), WIRE_EPAYLOAD);
	/* A huge count that would wrap a 32-bit size computation. */
	memcpy(buf, save, n);
	memset(buf + WIRE_HDR_LEN + 12, 0xff, 4);
	reseal(buf, n);
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_OK);
	assert_int_equal(wire_segrep_unpack(&m, &r), WIRE_EPAYLOAD);
	/* Part index out of range, unknown flag, TRUNCATED without LAST,
	 * UNAVAILABLE with records, request id 0. */
	memcpy(buf, save, n);
	buf[WIRE_HDR_LEN + 8] = WIRE_SEGREP_MAX_PARTS;
	reseal(buf, n);
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_OK);
	assert_int_equal(wire_segrep_unpack(&m, &r), WIRE_EPAYLOAD);
	memcpy(buf, save, n);
	buf[WIRE_HDR_LEN + 10] |= 0x8;
	reseal(buf, n);
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_OK);
	assert_int_equal(wire_segrep_unpack(&m, &r), WIRE_EPAYLOAD);
	memcpy(buf, save, n);
	buf[WIRE_HDR_LEN + 10] = WIRE_SEGREP_TRUNCATED;
	reseal(buf, n);
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_OK);
	assert_int_equal(wire_segrep_unpack(&m, &r), WIRE_EPAYLOAD);
	memcpy(buf, save, n);
	buf[WIRE_HDR_LEN + 10] = WIRE_SEGREP_UNAVAILABLE | WIRE_SEGREP_LAST;
	buf[WIRE_HDR_LEN + 8] = 0;
	reseal(buf, n);
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_OK);
	assert_int_equal(wire_segrep_unpack(&m, &r), WIRE_EPAYLOAD);
	memcpy(buf, save, n);
	memset(buf + WIRE_HDR_LEN, 0, 8);
	reseal(buf, n);
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_OK);
	assert_int_equal(wire_segrep_unpack(&m, &r), WIRE_EPAYLOAD);
	memcpy(buf, save, n);
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_OK);
	assert_int_equal(wire_segrep_unpack(&m, &r), WIRE_OK);

	/* The packer refuses what the unpacker would. */
	memset(&r, 0, sizeof(r));
	r.id = 1;
	r.count = WIRE_SEGREP_MAX_RECS + 1;
	assert_int_equal(wire_segrep_pack(&r, &m), WIRE_EPAYLOAD);
	r.count = 0;
	r.part = WIRE_SEGREP_MAX_PARTS;
	assert_int_equal(wire_segrep_pack(&r, &m), WIRE_EPAYLOAD);

	/* Requests: ALL only for uid 0, no unknown flags, id not 0. */
	rq.id = 1;
	rq.uid = 1000;
	rq.flags = WIRE_SEGREQ_ALL;
	assert_int_equal(wire_segreq_pack(&rq, &m), WIRE_EPAYLOAD);
	rq.uid = 0;
	assert_int_equal(wire_segreq_pack(&rq, &m), WIRE_OK);
	n = (size_t)wire_encode(&m, key, buf, sizeof(buf));
	memcpy(save, buf, n);
	buf[WIRE_HDR_LEN + 8] = 5;		/* uid 5 with ALL */
	reseal(buf, n);
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_OK);
	assert_int_equal(wire_segreq_unpack(&m, &rq), WIRE_EPAYLOAD);
	memcpy(buf, save, n);
	buf[WIRE_HDR_LEN + 12] = 2;		/* unknown flag */
	reseal(buf, n);
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_OK);
	assert_int_equal(wire_segreq_unpack(&m, &rq), WIRE_EPAYLOAD);
	memcpy(buf, save, n);
	memset(buf + WIRE_HDR_LEN, 0, 8);	/* id 0 */
	reseal(buf, n);
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_OK);
	assert_int_equal(wire_segreq_unpack(&m, &rq), WIRE_EPAYLOAD);
}

/* Payload sizes of the wrong type, framing intact, MAC valid. */
static void test_seg_wrong_sizes(void **state)
{
	static const struct {
		uint8_t type;
		uint32_t len;
		int err;
	} cases[] = {
		{ WIRE_SEG_REQUEST, 0, WIRE_EPAYLOAD },
		{ WIRE_SEG_REQUEST, WIRE_SEGREQ_LEN - 1, WIRE_EPAYLOAD },
		{ WIRE_SEG_REQUEST, WIRE_SEGREQ_LEN + 1, WIRE_EPAYLOAD },
		{ WIRE_SEG_REQUEST, WIRE_HB_LEN, WIRE_OK },	/* both 16 */
		{ WIRE_SEG_REPLY, 0, WIRE_EPAYLOAD },
		{ WIRE_SEG_REPLY, WIRE_SEGREP_HDR_LEN - 1, WIRE_EPAYLOAD },
		{ WIRE_SEG_REPLY, WIRE_SEGREP_HDR_LEN + 1, WIRE_EPAYLOAD },
		{ WIRE_SEG_REPLY, WIRE_SEGREP_HDR_LEN + WIRE_SEG_REC_LEN - 1,
		  WIRE_EPAYLOAD },
		{ WIRE_SEG_REPLY, WIRE_SEGREP_HDR_LEN + WIRE_SEG_REC_LEN,
		  WIRE_OK },
		{ WIRE_SEG_REPLY, WIRE_MAX_PAYLOAD, WIRE_EPAYLOAD },
		{ WIRE_HEARTBEAT, WIRE_SEGREP_HDR_LEN + WIRE_SEG_REC_LEN,
		  WIRE_EPAYLOAD },
	};
	uint8_t buf[WIRE_MAX_MSG];
	struct wire_msg m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct wire_msg w = { .type = cases[i].type, .src = 2,
				      .dst = 1, .incarnation = 5, .seq = 9,
				      .payload_len = cases[i].len };
		ssize_t len = wire_encode(&w, key, buf, sizeof(buf));

		assert_true(len > 0);
		assert_int_equal(wire_decode(buf, (size_t)len, key, &m),
				 cases[i].err);
	}
	/* 11 records do not fit: the encoder refuses the payload. */
	{
		struct wire_msg w = { .type = WIRE_SEG_REPLY, .src = 2, .dst = 1,
				      .incarnation = 5, .seq = 9,
				      .payload_len = WIRE_SEGREP_HDR_LEN + 11 *
						     WIRE_SEG_REC_LEN };

		assert_int_equal(wire_encode(&w, key, buf, sizeof(buf)),
				 WIRE_EOVERSIZE);
	}
}

static void test_seg_bad_mac(void **state)
{
	uint8_t buf[WIRE_MAX_MSG], other[WIRE_KEY_LEN];
	struct wire_msg m;
	size_t n, i;

	(void)state;
	n = make_reply(buf, WIRE_SEGREP_MAX_RECS, WIRE_SEGREP_LAST);
	for (i = 0; i < n; i++) {
		if (i < 5 || (i >= 32 && i < 36))
			continue;
		buf[i] ^= 0x40;
		assert_int_equal(wire_decode(buf, n, key, &m), WIRE_EMAC);
		buf[i] ^= 0x40;
	}
	memcpy(other, key, sizeof(other));
	other[31] ^= 0x80;
	assert_int_equal(wire_decode(buf, n, other, &m), WIRE_EMAC);
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_OK);
}

/* Decoding is pure; the second copy of a message dies in membership. */
static void test_replayed(void **state)
{
	uint32_t nodes[] = { 1, 2 };
	struct mb_action acts[MB_MAX_ACTIONS];
	uint8_t buf[WIRE_MAX_MSG], old[WIRE_MAX_MSG];
	struct membership mb;
	struct wire_msg m;
	size_t n, nold, na;
	uint64_t wall = 1000000000000ULL;

	(void)state;
	assert_int_equal(mb_init(&mb, 1, nodes, 2, 3000, 0), 0);
	nold = make_hb(old, wall);
	n = make_hb(buf, wall + 1);

	assert_int_equal(wire_decode(old, nold, key, &m), WIRE_OK);
	assert_int_equal(mb_heartbeat(&mb, m.src, m.dst, m.incarnation, m.seq,
				      10, wall, acts, &na), MB_ACCEPT);
	assert_int_equal(wire_decode(old, nold, key, &m), WIRE_OK);
	assert_int_equal(mb_heartbeat(&mb, m.src, m.dst, m.incarnation, m.seq,
				      20, wall, acts, &na), MB_REPLAY);
	assert_int_equal(na, 0);
	assert_int_equal(wire_decode(buf, n, key, &m), WIRE_OK);
	assert_int_equal(mb_heartbeat(&mb, m.src, m.dst, m.incarnation, m.seq,
				      30, wall, acts, &na), MB_ACCEPT);
	/* The older one again, after a newer one. */
	assert_int_equal(wire_decode(old, nold, key, &m), WIRE_OK);
	assert_int_equal(mb_heartbeat(&mb, m.src, m.dst, m.incarnation, m.seq,
				      40, wall, acts, &na), MB_REPLAY);
	assert_int_equal(mb_peer(&mb, 2)->c.replayed, 2);
	assert_int_equal(mb_peer(&mb, 2)->c.rx, 2);
	mb_free(&mb);
}

static void test_next_seq(void **state)
{
	uint64_t last = 0;

	(void)state;
	assert_true(wire_next_seq(&last, 1000) == 1000);
	/* The clock did not move, or went back: still strictly growing. */
	assert_true(wire_next_seq(&last, 1000) == 1001);
	assert_true(wire_next_seq(&last, 500) == 1002);
	assert_true(wire_next_seq(&last, 5000) == 5000);
	/* A restarted daemon starts from the clock, above what it sent. */
	last = 0;
	assert_true(wire_next_seq(&last, 6000) > 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_bad_mac),
		cmocka_unit_test(test_bad_framing),
		cmocka_unit_test(test_malformed_authentic),
		cmocka_unit_test(test_seg_roundtrip),
		cmocka_unit_test(test_seg_truncated),
		cmocka_unit_test(test_seg_bad_fields),
		cmocka_unit_test(test_seg_wrong_sizes),
		cmocka_unit_test(test_seg_bad_mac),
		cmocka_unit_test(test_replayed),
		cmocka_unit_test(test_next_seq),
	};

	return cmocka_run_group_tests_name("wire", tests, setup, NULL);
}
