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

static void test_key_parse(void **state)
{
	uint8_t raw[WIRE_KEY_LEN], k[WIRE_KEY_LEN];
	char hex[2 * WIRE_KEY_LEN + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(0xf0 - i);
	assert_int_equal(wire_key_parse(raw, sizeof(raw), k), 0);
	assert_memory_equal(k, raw, sizeof(raw));

	sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
	memset(k, 0, sizeof(k));
	assert_int_equal(wire_key_parse((uint8_t *)hex, 64, k), 0);
	assert_memory_equal(k, raw, sizeof(raw));
	hex[64] = '\n';
	assert_int_equal(wire_key_parse((uint8_t *)hex, 65, k), 0);
	assert_memory_equal(k, raw, sizeof(raw));

	assert_int_equal(wire_key_parse((uint8_t *)hex, 63, k), -1);
	assert_int_equal(wire_key_parse((uint8_t *)hex, 33, k), -1);
	hex[10] = 'g';
	assert_int_equal(wire_key_parse((uint8_t *)hex, 64, k), -1);
	assert_int_equal(wire_key_parse((uint8_t *)hex, 0, k), -1);
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
		cmocka_unit_test(test_replayed),
		cmocka_unit_test(test_next_seq),
		cmocka_unit_test(test_key_parse),
	};

	return cmocka_run_group_tests_name("wire", tests, setup, NULL);
}
