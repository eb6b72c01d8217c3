// SPDX-License-Identifier: GPL-2.0
/*
 * test_config.c - nodes.conf and xpmemd.conf: valid files, host ranges,
 * and every error naming its file and line.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"

static char err[CFG_ERR_MAX];

static void assert_ip(const struct net_addr *a, const char *ip,
		      uint16_t port)
{
	char s[64];

	assert_int_equal(a->port, port);
	assert_non_null(inet_ntop(a->family, a->addr, s, sizeof(s)));
	assert_string_equal(s, ip);
}

static void test_nodes_plain(void **state)
{
	struct node_list l;
	const char *text =
		"# the cluster\n"
		"\n"
		"1 alpha 10.0.0.1\n"
		"2\tbeta  10.0.0.2:19000   # its own port\n"
		"3 gamma fd00::3\n"
		"4 delta [fd00::4]:19001\n";

	(void)state;
	assert_int_equal(nodes_parse(text, "nodes.conf", 18515, &l, err,
				     sizeof(err)), 0);
	assert_int_equal(l.n, 4);
	assert_int_equal(l.v[0].id, 1);
	assert_string_equal(l.v[0].host, "alpha");
	assert_int_equal(l.v[0].addr.family, AF_INET);
	assert_ip(&l.v[0].addr, "10.0.0.1", 18515);
	assert_int_equal(l.v[0].line, 3);
	assert_ip(&l.v[1].addr, "10.0.0.2", 19000);
	assert_int_equal(l.v[2].addr.family, AF_INET6);
	assert_ip(&l.v[2].addr, "fd00::3", 18515);
	assert_ip(&l.v[3].addr, "fd00::4", 19001);
	assert_ptr_equal(nodes_find(&l, 2), &l.v[1]);
	assert_ptr_equal(nodes_find_host(&l, "delta"), &l.v[3]);
	assert_null(nodes_find(&l, 5));
	nodes_free(&l);
}

static void test_nodes_range(void **state)
{
	struct node_list l;
	char a[64];

	(void)state;
	assert_int_equal(nodes_parse("1-4 node[01-04] 10.77.0.[1-4]\n"
				     "10-11 big[9-10].lab 10.[8-9].0.1:7000\n",
				     "n", 18515, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 6);
	for (int i = 0; i < 4; i++) {
		char host[32], ip[32];

		snprintf(host, sizeof(host), "node%02d", i + 1);
		snprintf(ip, sizeof(ip), "10.77.0.%d", i + 1);
		assert_int_equal(l.v[i].id, (uint32_t)i + 1);
		assert_string_equal(l.v[i].host, host);
		assert_ip(&l.v[i].addr, ip, 18515);
		assert_int_equal(l.v[i].line, 1);
	}
	/* No padding without a leading zero. */
	assert_string_equal(l.v[4].host, "big9.lab");
	assert_string_equal(l.v[5].host, "big10.lab");
	assert_int_equal(l.v[5].id, 11);
	assert_ip(&l.v[5].addr, "10.9.0.1", 7000);
	net_addr_format(&l.v[5].addr, a, sizeof(a));
	assert_string_equal(a, "10.9.0.1:7000");
	nodes_free(&l);
}

/* Parses text expecting an error that contains want. */
static void nodes_fails(const char *text, const char *want)
{
	struct node_list l;

	err[0] = '\0';
	assert_int_equal(nodes_parse(text, "nodes.conf", 18515, &l, err,
				     sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
}

static void test_nodes_errors(void **state)
{
	(void)state;
	nodes_fails("1 a 10.0.0.1\n2 b 10.0.0.2\n1 c 10.0.0.3\n",
		    "nodes.conf:3: duplicate node id 1 (first on line 1)");
	nodes_fails("1-3 n[1-3] 10.0.0.[1-3]\n\n2 x 10.0.1.1\n",
		    "nodes.conf:3: duplicate node id 2 (first on line 1)");
	nodes_fails("1 a 10.0.0.1\n2 a 10.0.0.2\n",
		    "nodes.conf:2: duplicate host name a");
	nodes_fails("1 a 10.0.0.1\n2 b 10.0.0.1:999\n",
		    "nodes.conf:2: duplicate address");
	nodes_fails("1 a 10.0.0.256\n", "nodes.conf:1: bad address \"10.0.0.256\"");
	nodes_fails("# c\n1 a 10.0.0.1:0\n", "nodes.conf:2: bad address");
	nodes_fails("1 a 10.0.0.1:65536\n", "nodes.conf:1: bad address");
	nodes_fails("1 a 10.0.0.1:\n", "nodes.conf:1: bad address");
	nodes_fails("1 a host.example\n", "nodes.conf:1: bad address");
	nodes_fails("1 a [fd00::1\n", "nodes.conf:1: bad address range");
	nodes_fails("1-2 n[1-2] 10.0.0.[250-251]\n3-4 m[1-2] 10.0.1.[255-256]\n",
		    "nodes.conf:2: bad address \"10.0.1.256\"");
	nodes_fails("1-4 node[01-04 10.0.0.[1-4]\n",
		    "nodes.conf:1: bad host range \"node[01-04\": unclosed");
	nodes_fails("1-4 node[04-01] 10.0.0.[1-4]\n",
		    "nodes.conf:1: bad host range \"node[04-01]\": range goes backwards");
	nodes_fails("1-4 node[1-3] 10.0.0.[1-4]\n",
		    "nodes.conf:1: bad host range: 4 node ids, 3 host names, 4 addresses");
	nodes_fails("1-2 r[1-2]n[1-2] 10.0.0.[1-2]\n",
		    "more than one range");
	nodes_fails("1-2 node 10.0.0.[1-2]\n",
		    "nodes.conf:1: bad host range: 2 node ids, 1 host names");
	nodes_fails("1 node[a-b] 10.0.0.1\n", "nodes.conf:1: bad host name");
	nodes_fails("\n\n1 alpha\n", "nodes.conf:3: missing fields");
	nodes_fails("1\n", "nodes.conf:1: missing fields");
	nodes_fails("1 a 10.0.0.1 extra\n", "nodes.conf:1: extra field \"extra\"");
	nodes_fails("0 a 10.0.0.1\n", "nodes.conf:1: bad node id \"0\"");
	nodes_fails("40000 a 10.0.0.1\n", "nodes.conf:1: bad node id");
	nodes_fails("x a 10.0.0.1\n", "nodes.conf:1: bad node id");
	nodes_fails("4-1 a 10.0.0.1\n", "nodes.conf:1: bad node id");
	nodes_fails("-1 a 10.0.0.1\n", "nodes.conf:1: bad node id");
	nodes_fails("# nothing\n\n", "nodes.conf: no nodes defined");
}

static void test_net_addr(void **state)
{
	struct net_addr a, b;
	char s[64];

	(void)state;
	assert_int_equal(net_addr_parse("[::1]:5", 1, &a), 0);
	net_addr_format(&a, s, sizeof(s));
	assert_string_equal(s, "[::1]:5");
	assert_int_equal(net_addr_parse("::1", 7, &b), 0);
	assert_true(net_addr_equal_ip(&a, &b));
	assert_int_equal(b.port, 7);
	assert_int_equal(net_addr_parse("1.2.3.4", 7, &b), 0);
	assert_false(net_addr_equal_ip(&a, &b));
	assert_int_equal(net_addr_parse("[::1]x", 1, &a), -1);
	assert_int_equal(net_addr_parse("1.2.3.4:5:6", 1, &a), -1);
	assert_int_equal(net_addr_parse("", 1, &a), -1);
}

static void test_conf_defaults_and_keys(void **state)
{
	struct xpmemd_conf c;

	(void)state;
	conf_defaults(&c);
	assert_int_equal(conf_parse("", "x.conf", &c, err, sizeof(err)), 0);
	assert_int_equal(c.port, 18516);
	assert_int_equal(c.rdma_port, 18515);
	assert_int_equal(c.heartbeat_ms, 500);
	assert_int_equal(c.lease_ms, 3000);
	assert_int_equal(c.node_id, 0);
	assert_true(c.use_kernel);
	assert_string_equal(c.nodes_path, "/etc/xpmem/nodes.conf");
	assert_string_equal(c.key_path, "/etc/xpmem/cluster.key");
	assert_string_equal(c.socket_path, "/run/xpmem/xpmemd.sock");

	assert_int_equal(conf_parse(
		"# settings\n"
		"node_id = 7\n"
		"nodes=/tmp/n.conf\n"
		"key_file = /tmp/k   # comment\n"
		"socket = /tmp/s.sock\n"
		"proc_dir = /tmp/proc\n"
		"port = 20000\n"
		"rdma_port = 20001\n"
		"heartbeat_ms = 100\n"
		"lease_ms = 600\n"
		"max_skew_ms = 0\n"
		"log_level = debug\n"
		"kernel = no\n", "x.conf", &c, err, sizeof(err)), 0);
	assert_int_equal(c.node_id, 7);
	assert_string_equal(c.nodes_path, "/tmp/n.conf");
	assert_string_equal(c.key_path, "/tmp/k");
	assert_string_equal(c.socket_path, "/tmp/s.sock");
	assert_string_equal(c.proc_dir, "/tmp/proc");
	assert_int_equal(c.port, 20000);
	assert_int_equal(c.rdma_port, 20001);
	assert_int_equal(c.heartbeat_ms, 100);
	assert_int_equal(c.lease_ms, 600);
	assert_int_equal(c.max_skew_ms, 0);
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_false(c.use_kernel);
}

static void conf_fails(const char *text, const char *want)
{
	struct xpmemd_conf c;

	conf_defaults(&c);
	err[0] = '\0';
	assert_int_equal(conf_parse(text, "xpmemd.conf", &c, err, sizeof(err)),
			 -1);
	if (!strstr(err, want))
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void test_conf_errors(void **state)
{
	(void)state;
	conf_fails("port = 1\n\nbogus = 3\n",
		   "xpmemd.conf:3: unknown key \"bogus\"");
	conf_fails("port = 1\nport = 2\n",
		   "xpmemd.conf:2: duplicate key port (first on line 1)");
	conf_fails("port = 0\n", "xpmemd.conf:1: bad value \"0\" for port");
	conf_fails("port = 70000\n", "xpmemd.conf:1: bad value");
	conf_fails("heartbeat_ms = fast\n", "xpmemd.conf:1: bad value \"fast\"");
	conf_fails("node_id = 0\n", "xpmemd.conf:1: bad value");
	conf_fails("nodes = relative/path\n", "expected an absolute path");
	conf_fails("kernel = maybe\n", "expected yes or no");
	conf_fails("log_level = loud\n", "xpmemd.conf:1: bad value \"loud\" for log_level");
	conf_fails("# x\nport 18516\n", "xpmemd.conf:2: expected \"key = value\"");
	conf_fails("port =\n", "xpmemd.conf:1: expected \"key = value\"");
	conf_fails("port = 1 2\n", "xpmemd.conf:1: extra text \"2\"");
	conf_fails("heartbeat_ms = 1000\nlease_ms = 1500\n",
		   "lease_ms (1500) must be at least twice heartbeat_ms (1000)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nodes_plain),
		cmocka_unit_test(test_nodes_range),
		cmocka_unit_test(test_nodes_errors),
		cmocka_unit_test(test_net_addr),
		cmocka_unit_test(test_conf_defaults_and_keys),
		cmocka_unit_test(test_conf_errors),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
