// SPDX-License-Identifier: GPL-2.0
/*
 * test_kernel_if.c - parsers of /proc/xpmem/{peers,segments,counters}:
 * the formats the kernel prints, and tolerance of what it may add.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "kernel_if.h"

static void test_peers(void **state)
{
	struct kif_peer p[4];
	struct kif_local l;
	char a[64];
	const char *text =
		"local 1 addr 10.77.0.1:18515 incarnation 0x18eb78185b3fb078\n"
		"node 2 addr 10.77.0.2:18515 state up incarnation 0x18eb7818f98814b3 tx_msgs 1810 tx_bytes 16422160 rx_msgs 1810 rx_bytes 16422160 credits 15 unreturned 1 timeouts 0 fences 0 malformed 0 rejected 0 refused 0\n"
		"node 3 addr [fd00::3]:18515 state down incarnation 0 tx_msgs 0 new_field 7\n";

	(void)state;
	assert_int_equal(kif_parse_peers(text, &l, p, 4), 2);
	assert_int_equal(l.node, 1);
	assert_true(l.incarnation == 0x18eb78185b3fb078ULL);
	net_addr_format(&l.addr, a, sizeof(a));
	assert_string_equal(a, "10.77.0.1:18515");
	assert_int_equal(p[0].node, 2);
	assert_true(p[0].incarnation == 0x18eb7818f98814b3ULL);
	assert_string_equal(p[0].state, "up");
	assert_int_equal(p[1].node, 3);
	assert_int_equal(p[1].addr.family, AF_INET6);
	assert_true(p[1].incarnation == 0);
	assert_string_equal(p[1].state, "down");
	/* Only as many as there is room for. */
	assert_int_equal(kif_parse_peers(text, &l, p, 1), 1);
}

static void test_peers_single_node(void **state)
{
	struct kif_peer p[4];
	struct kif_local l;

	(void)state;
	assert_int_equal(kif_parse_peers("local 0 (single-node mode)\n", &l, p,
					 4), 0);
	assert_int_equal(l.node, 0);
	assert_int_equal(kif_parse_peers("", &l, p, 4), -1);
	assert_int_equal(kif_parse_peers("garbage\nnode x\n", &l, p, 4), -1);
}

static void test_segments(void **state)
{
	struct kif_segment *v;
	const char *text =
		"segid 0x1000000012345 pid 4242 uid 1000 gid 100 size 2097152 mode 0600 permits 2 attachments 3 remote_permits 4 remote_attachments 5\n"
		"segid 0x2 pid 1 uid 0 gid 0 size 4096 mode 0666 permits 0 attachments 0 remote_permits 0 remote_attachments 0 future_key 9 another x\n"
		"segid 0x3 pid 1 gid 0 size 4096\n"	/* no uid: skipped */
		"something else entirely\n"
		"\n"
		"segid zz uid 0\n";			/* bad segid: skipped */
	ssize_t n;

	(void)state;
	n = kif_parse_segments(text, &v);
	assert_int_equal(n, 2);
	assert_true(v[0].segid == 0x1000000012345ULL);
	assert_int_equal(v[0].pid, 4242);
	assert_int_equal(v[0].uid, 1000);
	assert_int_equal(v[0].gid, 100);
	assert_true(v[0].size == 2097152);
	assert_int_equal(v[0].mode, 0600);
	assert_int_equal(v[0].permits, 2);
	assert_int_equal(v[0].attachments, 3);
	assert_int_equal(v[0].remote_permits, 4);
	assert_int_equal(v[0].remote_attachments, 5);
	assert_true(v[1].segid == 2);
	assert_int_equal(v[1].mode, 0666);
	free(v);

	assert_int_equal(kif_parse_segments("", &v), 0);
	free(v);
}

static void test_counters(void **state)
{
	struct kif_counter *v;
	ssize_t n;

	(void)state;
	n = kif_parse_counters("contexts 0\nsegments 3\nbad line\nfaults 123456789012\n",
			       &v);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].name, "contexts");
	assert_string_equal(v[1].name, "segments");
	assert_int_equal(v[1].value, 3);
	assert_true(v[2].value == 123456789012ULL);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peers),
		cmocka_unit_test(test_peers_single_node),
		cmocka_unit_test(test_segments),
		cmocka_unit_test(test_counters),
	};

	return cmocka_run_group_tests_name("kernel_if", tests, NULL, NULL);
}
