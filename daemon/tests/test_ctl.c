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
#include <stdlib.h>
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
	struct ctl_request r;

	(void)state;
	assert_int_equal(ctl_parse_request("status", &r), 0);
	assert_int_equal(r.cmd, CTL_STATUS);
	assert_false(r.json);
	assert_false(r.local);
	assert_int_equal(ctl_parse_request("segments json", &r), 0);
	assert_int_equal(r.cmd, CTL_SEGMENTS);
	assert_true(r.json);
	assert_false(r.local);
	assert_int_equal(ctl_parse_request("segments local", &r), 0);
	assert_true(r.local);
	assert_false(r.json);
	assert_int_equal(ctl_parse_request("segments local json", &r), 0);
	assert_true(r.local && r.json);
	assert_int_equal(ctl_parse_request("segments json local", &r), 0);
	assert_true(r.local && r.json);
	assert_int_equal(ctl_parse_request("  counters\r", &r), 0);
	assert_int_equal(r.cmd, CTL_COUNTERS);
	assert_int_equal(ctl_parse_request("", &r), -1);
	assert_int_equal(ctl_parse_request("stat", &r), -1);
	assert_int_equal(ctl_parse_request("status xml", &r), -1);
	assert_int_equal(ctl_parse_request("status json x", &r), -1);
	assert_int_equal(ctl_parse_request("status local", &r), -1);
	assert_int_equal(ctl_parse_request("segments json json", &r), -1);
	assert_int_equal(ctl_parse_request("segments local local", &r), -1);
	assert_int_equal(ctl_parse_request("segments local json x", &r), -1);
	assert_int_equal(ctl_parse_request("statusstatusstatusjson", &r), -1);
}

/* The answering node's filter: what goes on the wire. */
static void test_seg_answer_filter(void **state)
{
	struct wire_seg_reply parts[WIRE_SEGREP_MAX_PARTS];
	struct wire_seg_request rq = { .id = 7, .uid = 1000 };
	size_t np;

	(void)state;
	np = ctl_seg_answer(&rq, segs, NSEGS, parts, WIRE_SEGREP_MAX_PARTS);
	assert_int_equal(np, 1);
	assert_true(parts[0].id == 7);
	assert_int_equal(parts[0].flags, WIRE_SEGREP_LAST);
	assert_int_equal(parts[0].count, 2);
	assert_true(parts[0].rec[0].segid == 0x1001);
	assert_true(parts[0].rec[1].segid == 0x1003);
	assert_int_equal(parts[0].rec[1].remote_attachments, 2);
	/* uid 0 without ALL is root's own only, not everything. */
	rq.uid = 0;
	np = ctl_seg_answer(&rq, segs, NSEGS, parts, WIRE_SEGREP_MAX_PARTS);
	assert_int_equal(np, 1);
	assert_int_equal(parts[0].count, 1);
	assert_true(parts[0].rec[0].segid == 0x1002);
	/* ALL (root asked): everything, in order. */
	rq.flags = WIRE_SEGREQ_ALL;
	np = ctl_seg_answer(&rq, segs, NSEGS, parts, WIRE_SEGREP_MAX_PARTS);
	assert_int_equal(np, 1);
	assert_int_equal(parts[0].count, NSEGS);
	/* A user with nothing: one empty LAST part, still an answer. */
	rq.flags = 0;
	rq.uid = 65534;
	np = ctl_seg_answer(&rq, segs, NSEGS, parts, WIRE_SEGREP_MAX_PARTS);
	assert_int_equal(np, 1);
	assert_int_equal(parts[0].count, 0);
	assert_int_equal(parts[0].flags, WIRE_SEGREP_LAST);
	/* No segments file. */
	np = ctl_seg_answer(&rq, NULL, -1, parts, WIRE_SEGREP_MAX_PARTS);
	assert_int_equal(np, 1);
	assert_int_equal(parts[0].flags,
			 WIRE_SEGREP_UNAVAILABLE | WIRE_SEGREP_LAST);
	assert_int_equal(parts[0].count, 0);
}

/* Splitting into parts, truncation, and reassembly on the asking side. */
static void test_seg_parts(void **state)
{
	static struct kif_segment many[25], big[WIRE_SEGREP_MAX_PARTS * 10 + 1];
	struct wire_seg_reply parts[WIRE_SEGREP_MAX_PARTS];
	struct wire_seg_request rq = { .id = 9, .flags = WIRE_SEGREQ_ALL };
	struct ctl_node_segs ns;
	size_t np, i;

	(void)state;
	for (i = 0; i < 25; i++) {
		many[i].segid = 0x100 + i;
		many[i].uid = i % 2 ? 1000 : 1001;
		many[i].pid = 5;
		many[i].attachments = 1ULL << 40;	/* saturates */
	}
	np = ctl_seg_answer(&rq, many, 25, parts, WIRE_SEGREP_MAX_PARTS);
	assert_int_equal(np, 3);
	assert_int_equal(parts[0].count, 10);
	assert_int_equal(parts[1].count, 10);
	assert_int_equal(parts[2].count, 5);
	assert_int_equal(parts[0].flags, 0);
	assert_int_equal(parts[2].part, 2);
	assert_int_equal(parts[2].flags, WIRE_SEGREP_LAST);
	assert_int_equal(parts[0].rec[0].attachments, UINT32_MAX);

	/* Out of order: LAST first; a repeated part is refused. */
	ctl_node_init(&ns, 2, "n2", CTL_NODE_WAITING);
	assert_int_equal(ctl_node_add_reply(&ns, 1, 0, &parts[2]), 0);
	assert_int_equal(ctl_node_add_reply(&ns, 1, 0, &parts[2]), -1);
	assert_int_equal(ctl_node_add_reply(&ns, 1, 0, &parts[0]), 0);
	assert_int_equal(ctl_node_add_reply(&ns, 1, 0, &parts[1]), 1);
	assert_int_equal(ns.state, CTL_NODE_OK);
	assert_int_equal(ns.n, 25);
	/* Complete: nothing more is taken. */
	assert_int_equal(ctl_node_add_reply(&ns, 1, 0, &parts[0]), -1);
	ctl_node_free(&ns);

	/* The asking side filters again: a non-root asker keeps its own. */
	ctl_node_init(&ns, 2, "n2", CTL_NODE_WAITING);
	for (i = 0; i < np; i++)
		assert_int_equal(ctl_node_add_reply(&ns, 0, 1000, &parts[i]),
				 i + 1 == np);
	assert_int_equal(ns.n, 12);
	for (i = 0; i < ns.n; i++)
		assert_int_equal(ns.v[i].uid, 1000);
	ctl_node_free(&ns);

	/* A part beyond the LAST one is refused, and vice versa. */
	ctl_node_init(&ns, 2, "n2", CTL_NODE_WAITING);
	assert_int_equal(ctl_node_add_reply(&ns, 1, 0, &parts[1]), 0);
	parts[0].flags = WIRE_SEGREP_LAST;
	assert_int_equal(ctl_node_add_reply(&ns, 1, 0, &parts[0]), -1);
	ctl_node_free(&ns);
	ctl_node_init(&ns, 2, "n2", CTL_NODE_DEAD);
	assert_int_equal(ctl_node_add_reply(&ns, 1, 0, &parts[2]), -1);
	ctl_node_free(&ns);

	/* More than 64 parts hold: truncated, flagged on the last part. */
	for (i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		big[i].segid = i + 1;
	np = ctl_seg_answer(&rq, big, sizeof(big) / sizeof(big[0]), parts,
			    WIRE_SEGREP_MAX_PARTS);
	assert_int_equal(np, WIRE_SEGREP_MAX_PARTS);
	assert_int_equal(parts[np - 1].flags,
			 WIRE_SEGREP_LAST | WIRE_SEGREP_TRUNCATED);
	assert_int_equal(parts[np - 1].count, 10);
	/* Exactly 640 fit without truncation. */
	np = ctl_seg_answer(&rq, big, WIRE_SEGREP_MAX_PARTS * 10, parts,
			    WIRE_SEGREP_MAX_PARTS);
	assert_int_equal(np, WIRE_SEGREP_MAX_PARTS);
	assert_int_equal(parts[np - 1].flags, WIRE_SEGREP_LAST);
	ctl_node_init(&ns, 3, "n3", CTL_NODE_WAITING);
	for (i = 0; i < np; i++)
		assert_int_equal(ctl_node_add_reply(&ns, 1, 0, &parts[i]),
				 i + 1 == np);
	assert_int_equal(ns.n, WIRE_SEGREP_MAX_PARTS * 10);
	ctl_node_free(&ns);
}

static void test_cluster_output(void **state)
{
	struct wire_seg_reply unavail = {
		.id = 1, .flags = WIRE_SEGREP_UNAVAILABLE | WIRE_SEGREP_LAST,
	};
	struct ctl_node_segs v[5];
	struct kif_segment *local;
	struct buf b;

	(void)state;
	local = calloc(1, sizeof(*local));
	assert_non_null(local);
	*local = segs[0];
	ctl_node_init(&v[0], 1, "n1", CTL_NODE_OK);
	v[0].v = local;
	v[0].n = v[0].cap = 1;
	ctl_node_init(&v[1], 2, "n2", CTL_NODE_WAITING);
	assert_int_equal(ctl_node_add_reply(&v[1], 1, 0, &unavail), 1);
	assert_int_equal(v[1].state, CTL_NODE_UNAVAILABLE);
	ctl_node_init(&v[2], 3, "n3", CTL_NODE_DEAD);
	ctl_node_init(&v[3], 4, "n\"4", CTL_NODE_WAITING);
	ctl_node_init(&v[4], 5, NULL, CTL_NODE_UNKNOWN);

	buf_init(&b);
	ctl_format_cluster_segments(&b, v, 5, 1);
	assert_false(buf_failed(&b));
	assert_non_null(strstr(b.data, "{\"cluster\":true,\"nodes\":[{\"node\":1,\"host\":\"n1\",\"status\":\"ok\",\"answered\":true,\"available\":true,\"truncated\":false}"));
	assert_non_null(strstr(b.data, "{\"node\":2,\"host\":\"n2\",\"status\":\"unavailable\",\"answered\":true,\"available\":false"));
	assert_non_null(strstr(b.data, "{\"node\":3,\"host\":\"n3\",\"status\":\"dead\",\"answered\":false"));
	assert_non_null(strstr(b.data, "{\"node\":4,\"host\":\"n\\\"4\",\"status\":\"no_answer\",\"answered\":false"));
	assert_non_null(strstr(b.data, "{\"node\":5,\"host\":\"?\",\"status\":\"unknown\""));
	assert_non_null(strstr(b.data, "\"segments\":[{\"node\":1,\"segid\":\"0x1001\",\"pid\":10,\"uid\":1000"));
	assert_non_null(strstr(b.data, "\"remote_attachments\":0}]}\n"));
	buf_free(&b);

	ctl_format_cluster_segments(&b, v, 5, 0);
	assert_non_null(strstr(b.data, "NODE HOST"));
	assert_non_null(strstr(b.data, "    1 n1               0x0000000000001001"));
	assert_non_null(strstr(b.data, "node 2 (n2): no /proc/xpmem/segments\n"));
	assert_non_null(strstr(b.data, "node 3 (n3): not answering (dead"));
	assert_non_null(strstr(b.data, "node 4 (n\"4): not answering in time\n"));
	assert_non_null(strstr(b.data, "node 5 (?): not answering (unknown"));
	assert_null(strstr(b.data, "node 1 (n1)"));
	buf_free(&b);
	for (size_t i = 0; i < 5; i++)
		ctl_node_free(&v[i]);
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
	assert_string_equal(b.data, "{\"kernel\":{\"segments\":3,\"faults\":12},\"daemon\":{\"rx\":5,\"tx\":0,\"bad_mac\":2,\"replayed\":0,\"stale\":0,\"malformed\":0,\"dropped\":0}}\n");
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
		cmocka_unit_test(test_seg_answer_filter),
		cmocka_unit_test(test_seg_parts),
		cmocka_unit_test(test_cluster_output),
		cmocka_unit_test(test_segments_output),
		cmocka_unit_test(test_status_output),
		cmocka_unit_test(test_counters_output),
		cmocka_unit_test(test_json_escape),
	};

	return cmocka_run_group_tests_name("ctl", tests, NULL, NULL);
}
