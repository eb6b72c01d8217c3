/* SPDX-License-Identifier: GPL-2.0 */
/*
 * config.h - the node list (nodes.conf) and the daemon's own settings
 * (xpmemd.conf).  Parsers work on text so the tests need no files; every
 * error names the file and line.
 */
#ifndef XPMEMD_CONFIG_H
#define XPMEMD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CFG_HOST_MAX		64
#define CFG_PATH_MAX		256
#define CFG_ERR_MAX		256
/* Node ids fit the segid's node field (XPMEM_MAX_NODE). */
#define CFG_NODE_ID_MAX		32767

#define CFG_DEFAULT_CONF	"/etc/xpmem/xpmemd.conf"
#define CFG_DEFAULT_NODES	"/etc/xpmem/nodes.conf"
#define CFG_DEFAULT_KEY		"/etc/xpmem/cluster.key"
#define CFG_DEFAULT_SOCKET	"/run/xpmem/xpmemd.sock"
#define CFG_DEFAULT_PROC	"/proc/xpmem"
#define CFG_DEFAULT_PORT	18516	/* UDP, daemon to daemon */
#define CFG_DEFAULT_RDMA_PORT	18515	/* rdma_cm, kernel to kernel */

/* An IPv4 or IPv6 address with a port, as the kernel's ioctls take it. */
struct net_addr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* IPv4 in the first 4 bytes, rest zero */
	uint16_t port;
};

struct cfg_node {
	uint32_t id;
	char host[CFG_HOST_MAX];
	struct net_addr addr;	/* RDMA address; port is the rdma_cm one */
	int line;		/* where it was defined, for messages */
};

struct node_list {
	struct cfg_node *v;
	size_t n;
	size_t cap;
};

struct xpmemd_conf {
	uint32_t node_id;	/* 0: find this host's name in nodes.conf */
	char nodes_path[CFG_PATH_MAX];
	char key_path[CFG_PATH_MAX];
	char socket_path[CFG_PATH_MAX];
	char proc_dir[CFG_PATH_MAX];
	uint16_t port;
	uint16_t rdma_port;
	uint32_t heartbeat_ms;
	uint32_t lease_ms;
	uint32_t max_skew_ms;	/* 0: no freshness check */
	int log_level;
	int use_kernel;
};

/*
 * nodes.conf: "<id> <host> <address>[:port]" per line, '#' comments.
 * Range form "1-4 node[01-04] 10.77.0.[1-4]" expands all three fields in
 * parallel (same count); IPv6 with a port is written "[addr]:port".
 * Returns 0, or -1 with a "file:line: reason" message in err.
 */
int nodes_parse(const char *text, const char *fname, uint16_t default_port,
		struct node_list *out, char *err, size_t errlen);
int nodes_load(const char *path, uint16_t default_port,
	       struct node_list *out, char *err, size_t errlen);
void nodes_free(struct node_list *l);
const struct cfg_node *nodes_find(const struct node_list *l, uint32_t id);
const struct cfg_node *nodes_find_host(const struct node_list *l,
				       const char *host);

/* "a.b.c.d[:port]", "v6", "[v6][:port]" -> addr; 0 or -1. */
int net_addr_parse(const char *s, uint16_t default_port, struct net_addr *a);
/* "10.0.0.1:18515" or "[fe80::1]:18515" */
void net_addr_format(const struct net_addr *a, char *out, size_t len);
int net_addr_equal_ip(const struct net_addr *a, const struct net_addr *b);

void conf_defaults(struct xpmemd_conf *c);
/* xpmemd.conf: "key = value" lines, '#' comments; keys in xpmemd(8). */
int conf_parse(const char *text, const char *fname, struct xpmemd_conf *c,
	       char *err, size_t errlen);
/* A missing file is not an error when missing_ok (defaults apply). */
int conf_load(const char *path, int missing_ok, struct xpmemd_conf *c,
	      char *err, size_t errlen);

/* Whole file into a NUL-terminated malloc'd string; NULL with errno. */
char *read_text_file(const char *path, size_t max);

#endif /* XPMEMD_CONFIG_H */
