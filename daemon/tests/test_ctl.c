// SPDX-License-Identifier: GPL-2.0
/*
 * test_ctl.c - the admin socket's pure parts: request parsing, the
 * SO_PEERCRED permission filter and the text/JSON replies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "ctl.h"

static const struct kif_segment segs[] = {
	{ .segid = 0x1001, .pid = 10, .uid = 1000, .gid = 100, .size = 4096,
	  .mode = 0600 },
	{ .segid = 0x1002, .pid = 11, .uid = 0, .gid = 0, .size = 8192,
	  .mode = 0666, .attachments = 3 },
	{ .segid = 0x1003, .pid = 12, .uid = 1000, .gid = 100, .size = 1,
	  .mode = 0640, .remote_attachments = 2 },
	{ .segid = 0x1004, .pid = 13, .uid = 1001, .gid = 100, .size = 2,
	  .mode = 0644 },
};
#define NSEGS (sizeof(segs) / sizeof(segs[0]))

static void test_filter(void **state)
{
	struct kif_segment out[NSEGS];

	(void)state;
	/* Root sees all, in order. */
	assert_int_equal(ctl_filter_segments(0, segs, NSEGS, out), NSEGS);
	for (size_t i = 0; i < NSEGS; i++)
		assert_true(out[i].segid == segs[i].segid);
	/* A user sees exactly their own. */
	memset(out, 0, sizeof(out));
	assert_int_equal(ctl_filter_segments(1000, segs, NSEGS, out), 2);
	assert_true(out[0].segid == 0x1001);
	assert_true(out[1].segid == 0x1003);
	assert_int_equal(ctl_filter_segments(1001, segs, NSEGS, out), 1);
	assert_true(out[0].segid == 0x1004);
	/* Mode bits do not widen the view: 0666 of root stays hidden. */
	assert_int_equal(ctl_filter_segments(65534, segs, NSEGS, out), 0);
	assert_int_equal(ctl_filter_segments(1000, segs, 0, out), 0);
}

static void test_parse_request(void **state)
{
	enum ctl_cmd cmd;
	int json;

	(void)state;
	assert_int_equal(ctl_parse_request("status", &cmd, &json), 0);
	assert_int_equal(cmd, CTL_STATUS);
	assert_false(json);
	assert_int_equal(ctl_parse_request("segments json", &cmd, &json), 0);
	assert_int_equal(cmd, CTL_SEGMENTS);
	assert_true(json);
	assert_int_equal(ctl_parse_request("  counters\r", &cmd, &json), 0);
	assert_int_equal(cmd, CTL_COUNTERS);
	assert_int_equal(ctl_parse_request("", &cmd, &json), -1);
	assert_int_equal(ctl_parse_request("stat", &cmd, &json), -1);
	assert_int_equal(ctl_parse_request("status xml", &cmd, &json), -1);
	assert_int_equal(ctl_parse_request("status json x", &cmd, &json), -1);
	assert_int_equal(ctl_parse_request("statusstatusstatusjson", &cmd,
					   &json), -1);
}

static void test_segments_output(void **state)
{
	struct kif_segment out[NSEGS];
	struct buf b;
	size_t n;

	(void)state;
	n = ctl_filter_segments(1000, segs, NSEGS, out);
	buf_init(&b);
	ctl_format_segments(&b, out, (ssize_t)n, 1);
	assert_false(buf_failed(&b));
	assert_non_null(strstr(b.data, "{\"available\":true,\"segments\":[{\"segid\":\"0x1001\",\"pid\":10,\"uid\":1000"));
	assert_non_null(strstr(b.data, "\"mode\":\"0640\""));
	assert_non_null(strstr(b.data, "\"remote_attachments\":2}]}"));
	assert_null(strstr(b.data, "0x1002"));
	buf_free(&b);

	ctl_format_segments(&b, out, (ssize_t)n, 0);
	assert_non_null(strstr(b.data, "SEGID"));
	assert_non_null(strstr(b.data, "0x0000000000001003"));
	buf_free(&b);

	/* No /proc/xpmem/segments: unavailable, not an error. */
	ctl_format_segments(&b, NULL, -1, 1);
	assert_string_equal(b.data, "{\"available\":false,\"segments\":[]}\n");
	buf_free(&b);
	ctl_format_segments(&b, NULL, -1, 0);
	assert_non_null(strstr(b.data, "unavailable"));
	buf_free(&b);
}

static void test_status_output(void **state)
{
	uint32_t ids[] = { 1, 2, 3 };
	struct node_list nodes = { 0 };
	struct mb_action acts[MB_MAX_ACTIONS];
	struct membership mb;
	struct ctl_status s = { 0 };
	struct buf b;
	size_t na;
	char err[CFG_ERR_MAX];

	(void)state;
	assert_int_equal(nodes_parse("1-3 n[1-3] 10.1.0.[1-3]\n", "n", 18515,
				     &nodes, err, sizeof(err)), 0);
	assert_int_equal(mb_init(&mb, 1, ids, 3, 3000, 0), 0);
	assert_int_equal(mb_heartbeat(&mb, 2, 1, 0xabc, 5, 1000, 0, acts, &na),
			 MB_ACCEPT);
	mb_kernel_done(&mb, &acts[0], 1);
	mb_peer(&mb, 2)->sees_us = 0x77;
	mb_peer(&mb, 2)->c.tx = 4;
	mb_count_bad(&mb, 3, 1);
	s.self = 1;
	s.host = "n1";
	s.addr = nodes.v[0].addr;
	s.incarnation = 0x77;
	s.port = 18516;
	s.heartbeat_ms = 500;
	s.lease_ms = 3000;
	s.kernel = 1;
	s.nodes = &nodes;
	s.mb = &mb;
	s.now_ms = 1250;

	buf_init(&b);
	ctl_format_status(&b, &s, 1);
	assert_non_null(strstr(b.data, "{\"node\":1,\"host\":\"n1\",\"address\":\"10.1.0.1:18515\",\"incarnation\":\"0x77\""));
	assert_non_null(strstr(b.data, "{\"node\":2,\"host\":\"n2\",\"address\":\"10.1.0.2:18515\",\"state\":\"alive\",\"incarnation\":\"0xabc\",\"last_heard_ms\":250,\"in_kernel\":true,\"sees_us\":true,\"counters\":{\"rx\":1,\"tx\":4,\"bad_mac\":0"));
	assert_non_null(strstr(b.data, "{\"node\":3,\"host\":\"n3\",\"address\":\"10.1.0.3:18515\",\"state\":\"unknown\",\"incarnation\":\"0x0\",\"last_heard_ms\":null,\"in_kernel\":false,\"sees_us\":false,\"counters\":{\"rx\":0,\"tx\":0,\"bad_mac\":1"));
	assert_non_null(strstr(b.data, "\"totals\":{\"rx\":1,\"tx\":0,\"bad_mac\":1"));
	buf_free(&b);

	ctl_format_status(&b, &s, 0);
	assert_non_null(strstr(b.data, "node 1 (n1) 10.1.0.1:18515 incarnation 0x77"));
	assert_non_null(strstr(b.data, "alive"));
	assert_non_null(strstr(b.data, "unknown"));
	assert_non_null(strstr(b.data, "total"));
	buf_free(&b);
	mb_free(&mb);
	nodes_free(&nodes);
}

static void test_counters_output(void **state)
{
	struct kif_counter k[] = { { "segments", 3 }, { "faults", 12 } };
	struct mb_counters d = { .rx = 5, .bad_mac = 2 };
	struct buf b;

	(void)state;
	buf_init(&b);
	ctl_format_counters(&b, k, 2, &d, 1);
	assert_string_equal(b.data, "{\"kernel\":{\"segments\":3,\"faults\":12},\"daemon\":{\"rx\":5,\"tx\":0,\"bad_mac\":2,\"replayed\":0,\"stale\":0,\"malformed\":0}}\n");
	buf_free(&b);
	ctl_format_counters(&b, NULL, -1, &d, 1);
	assert_non_null(strstr(b.data, "{\"kernel\":null,"));
	buf_free(&b);
	ctl_format_counters(&b, k, 2, &d, 0);
	assert_non_null(strstr(b.data, "faults                   12\n"));
	assert_non_null(strstr(b.data, "xpmemd_bad_mac           2\n"));
	buf_free(&b);
}

static void test_json_escape(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b);
	buf_json_str(&b, "a\"b\\c\n\x01");
	assert_string_equal(b.data, "\"a\\\"b\\\\c\\u000a\\u0001\"");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_parse_request),
		cmocka_unit_test(test_segments_output),
		cmocka_unit_test(test_status_output),
		cmocka_unit_test(test_counters_output),
		cmocka_unit_test(test_json_escape),
	};

	return cmocka_run_group_tests_name("ctl", tests, NULL, NULL);
}
