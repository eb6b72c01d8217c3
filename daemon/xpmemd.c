// SPDX-License-Identifier: GPL-2.0
/*
 * xpmemd - cluster membership for xpmem.ko.
 *
 * One thread, one epoll loop: a timerfd sends heartbeats and expires
 * leases, a UDP socket receives the peers' heartbeats (authenticated
 * with the cluster key, wire.c), a signalfd ends the loop, and a Unix
 * socket answers xpmemctl (ctl.c).  A cluster-wide segment listing asks
 * every ALIVE peer over the same UDP channel (SEG_REQUEST/SEG_REPLY)
 * and answers the client from the loop once all replied or
 * QUERY_TIMEOUT_MS passed; nothing waits.  A peer is announced to the kernel
 * (ADD_PEER) only after an authenticated heartbeat, and removed
 * (DEL_PEER, the kernel fences it) when its lease runs out
 * (membership.c).
 *
 * Restarting the daemon must not disturb the kernel: if the kernel
 * already has a node id, its incarnation is kept and the peers it knows
 * start with a fresh lease.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "cluster_key.h"
#include "config.h"
#include "ctl.h"
#include "kernel_if.h"
#include "log.h"
#include "membership.h"
#include "wire.h"

#ifndef XPMEMD_VERSION
#define XPMEMD_VERSION "0.1.0"
#endif

/* Exit codes, documented in xpmemd(8). */
enum {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,
	EXIT_USAGE = 2,
	EXIT_CONFIG = 3,
};

#define CTL_MAX_CLIENTS		32
#define CTL_TIMEOUT_MS		5000
#define RATELIMIT_MS		10000
#define KERNEL_PEERS_MAX	1024
/* Cluster segment queries: outstanding ones we asked, answers we give. */
#define QUERY_MAX_PENDING	4
#define QUERY_TIMEOUT_MS	1000
#define ANSWERS_PER_SEC		32

enum ev_kind { EV_TIMER, EV_SIGNAL, EV_UDP, EV_CTL_LISTEN, EV_CTL_CLIENT };

struct ev {
	enum ev_kind kind;
	int fd;
};

struct cluster_query;

struct ctl_client {
	struct ev ev;		/* first: epoll hands back &ev */
	int used;
	struct cluster_query *q;	/* waiting for peers' replies */
	uid_t uid;
	char in[CTL_LINE_MAX];
	size_t inlen;
	struct buf out;
	size_t outoff;
	uint64_t deadline_ms;
};

/* A cluster listing being collected for one client. */
struct cluster_query {
	int used;
	uint64_t id;
	struct ctl_client *client;
	uid_t uid;
	int json;
	uint64_t deadline_ms;
	size_t waiting;			/* nodes not complete yet */
	struct ctl_node_segs *nodes;	/* [0] this node, then the peers */
	size_t nnodes;
};

struct daemon {
	struct xpmemd_conf conf;
	struct node_list nodes;
	const struct cfg_node *self;
	struct membership mb;
	uint8_t key[WIRE_KEY_LEN];
	uint64_t incarnation;
	uint64_t last_seq;
	int kfd;		/* /dev/xpmem, -1 with kernel = no */
	int epfd;
	struct ev timer, sig, udp, ctl;
	struct ctl_client clients[CTL_MAX_CLIENTS];
	struct ratelimit rl_mac, rl_bad, rl_rej, rl_send, rl_kernel, rl_drop;
	int ctl_bound;
	struct cluster_query queries[QUERY_MAX_PENDING];
	uint64_t answer_window_ms;	/* answers given in this second */
	unsigned int answers;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static const char usage_text[] =
"usage: xpmemd [OPTIONS]\n"
"       xpmemd --gen-key FILE\n"
"\n"
"Cluster membership daemon of xpmem: authenticates peers with a\n"
"pre-shared key, exchanges heartbeats, and tells xpmem.ko which peers\n"
"are alive.\n"
"\n"
"  -c, --config FILE     settings (default " CFG_DEFAULT_CONF ";\n"
"                        a missing default file means all defaults)\n"
"  -n, --nodes FILE      node list (default: the config's nodes key)\n"
"  -k, --key FILE        cluster key (default: the config's key_file)\n"
"  -i, --node-id N       this node (default: node_id, else the host name)\n"
"  -f, --foreground      do not detach; log to stderr\n"
"  -s, --syslog          log to syslog even in the foreground\n"
"  -l, --log-level L     error, warn, notice, info (default) or debug\n"
"      --no-kernel       membership only: never touch /dev/xpmem\n"
"  -t, --check-config    parse the configuration, print it, exit\n"
"      --gen-key FILE    write a new random cluster key (mode 0600)\n"
"  -h, --help            this text\n"
"  -V, --version         the version\n"
"\n"
"Exit status: 0 clean exit, 1 runtime error, 2 usage error,\n"
"3 configuration error (config, nodes, key, node identity).\n";

_Static_assert(WIRE_KEY_LEN == CLUSTER_KEY_LEN, "the cluster key signs");

/*
 * Refuses a key another user could read: the key is the cluster.  The
 * format is common/cluster_key.c's.
 */
static int key_load(const char *path, uint8_t key[WIRE_KEY_LEN])
{
	struct stat st;
	int fd, err, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		log_err("key file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		log_err("key file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		log_err("key file %s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		log_err("key file %s: mode %04o is readable or writable by group or others; refusing to use it (chmod 600 %s)",
			path, (unsigned int)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		log_err("key file %s: owned by uid %u, not by root or us; refusing to use it",
			path, (unsigned int)st.st_uid);
		goto out;
	}
	err = cluster_key_read(fd, key);
	if (err == -EINVAL) {
		log_err("key file %s: %s; found %lld bytes", path,
			cluster_key_strerror(err), (long long)st.st_size);
		goto out;
	}
	if (err) {
		log_err("key file %s: %s", path, cluster_key_strerror(err));
		goto out;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

static int gen_key(const char *path)
{
	uint8_t key[WIRE_KEY_LEN];
	char hex[2 * WIRE_KEY_LEN + 2];
	size_t len;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		fprintf(stderr, "xpmemd: %s: %s%s\n", path, strerror(errno),
			errno == EEXIST ? " (not overwriting a key)" : "");
		return EXIT_RUNTIME;
	}
	randombytes_buf(key, sizeof(key));
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	len = strlen(hex);
	hex[len++] = '\n';
	/* The umask may have been looser than we want, or stricter. */
	if (fchmod(fd, 0600) || write(fd, hex, len) != (ssize_t)len ||
	    fsync(fd)) {
		fprintf(stderr, "xpmemd: %s: %s\n", path, strerror(errno));
		sodium_memzero(key, sizeof(key));
		sodium_memzero(hex, sizeof(hex));
		close(fd);
		unlink(path);
		return EXIT_RUNTIME;
	}
	sodium_memzero(key, sizeof(key));
	sodium_memzero(hex, sizeof(hex));
	close(fd);
	return EXIT_OK;
}

/* This node: node_id if set, else the host name (full, then short). */
static const struct cfg_node *find_self(const struct daemon *d)
{
	char host[HOST_NAME_MAX + 1], *dot;

	if (d->conf.node_id)
		return nodes_find(&d->nodes, d->conf.node_id);
	if (gethostname(host, sizeof(host)))
		return NULL;
	host[sizeof(host) - 1] = '\0';
	if (nodes_find_host(&d->nodes, host))
		return nodes_find_host(&d->nodes, host);
	dot = strchr(host, '.');
	if (dot)
		*dot = '\0';
	return nodes_find_host(&d->nodes, host);
}

static void proc_path(const struct daemon *d, const char *name, char *out,
		      size_t len)
{
	snprintf(out, len, "%s/%s", d->conf.proc_dir, name);
}

static void exec_actions(struct daemon *d, const struct mb_action *acts,
			 size_t n)
{
	uint64_t sup;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct mb_action *a = &acts[i];
		const struct cfg_node *node = nodes_find(&d->nodes, a->node);
		int ret = 0;

		if (d->kfd >= 0 && a->type == MB_ADD_PEER && node) {
			ret = kif_add_peer(d->kfd, a->node, &node->addr,
					   a->incarnation);
			if (ret == -EEXIST)
				ret = 0;	/* already there: re-learnt */
		} else if (d->kfd >= 0 && a->type == MB_DEL_PEER) {
			ret = kif_del_peer(d->kfd, a->node);
			if (ret == -ENOENT)
				ret = 0;
		}
		if (d->kfd < 0) {
			log_debug("kernel = no: %s of node %u not executed",
				  a->type == MB_ADD_PEER ? "ADD_PEER" : "DEL_PEER",
				  a->node);
		} else if (ret) {
			if (ratelimit_ok(&d->rl_kernel, mono_ms(), &sup))
				log_err("%s of node %u failed: %s (%" PRIu64 " similar messages suppressed)",
					a->type == MB_ADD_PEER ? "ADD_PEER" : "DEL_PEER",
					a->node, strerror(-ret), sup);
		} else if (a->type == MB_ADD_PEER) {
			log_info("kernel: peer %u added, incarnation 0x%" PRIx64,
				 a->node, a->incarnation);
		} else {
			log_info("kernel: peer %u removed (fenced)", a->node);
		}
		mb_kernel_done(&d->mb, a, ret == 0);
	}
}

/*
 * The kernel's identity decides ours: after `kill -9 xpmemd` the module
 * still has the node id, incarnation and peers, and attachments depend
 * on them.  Only a kernel without a node id gets SET_NODE.
 */
static int kernel_setup(struct daemon *d, uint64_t now)
{
	struct kif_peer *peers;
	struct kif_local local;
	char path[CFG_PATH_MAX + 16], *text;
	int n;

	if (!d->conf.use_kernel) {
		d->kfd = -1;
		d->incarnation = wall_ns();
		log_notice("kernel = no: membership only, incarnation 0x%" PRIx64,
			   d->incarnation);
		return 0;
	}
	d->kfd = kif_open();
	if (d->kfd < 0) {
		log_err("%s: %s (is xpmem.ko loaded? kernel = no runs without it)",
			"/dev/xpmem", strerror(-d->kfd));
		return EXIT_RUNTIME;
	}
	/* First: without it the kernel makes no peer connection. */
	n = kif_set_key(d->kfd, d->key);
	if (n) {
		log_err("setting the kernel's link key: %s", strerror(-n));
		return EXIT_RUNTIME;
	}
	log_info("kernel link key set (derived from the cluster key)");
	proc_path(d, "peers", path, sizeof(path));
	text = read_text_file(path, 1 << 22);
	if (!text) {
		log_err("%s: %s", path, strerror(errno));
		return EXIT_RUNTIME;
	}
	peers = calloc(KERNEL_PEERS_MAX, sizeof(*peers));
	if (!peers) {
		free(text);
		return EXIT_RUNTIME;
	}
	n = kif_parse_peers(text, &local, peers, KERNEL_PEERS_MAX);
	free(text);
	if (n < 0) {
		log_err("%s: no \"local\" line", path);
		free(peers);
		return EXIT_RUNTIME;
	}
	if (local.node && local.node != d->self->id) {
		log_err("the kernel is node %u, the configuration says node %u; refusing to change it under running connections (xpmem-node set --id 0 first)",
			local.node, d->self->id);
		free(peers);
		return EXIT_CONFIG;
	}
	if (local.node) {
		d->incarnation = local.incarnation;
		if (!net_addr_equal_ip(&local.addr, &d->self->addr) ||
		    local.addr.port != d->self->addr.port)
			log_warn("the kernel listens on another address than nodes.conf says for node %u; keeping the kernel's",
				 local.node);
		log_notice("kernel already node %u: keeping incarnation 0x%" PRIx64 " and %d peers",
			   local.node, d->incarnation, n);
		for (int i = 0; i < n; i++) {
			struct mb_action del = { MB_DEL_PEER, peers[i].node, 0 };

			if (mb_peer(&d->mb, peers[i].node)) {
				mb_seed(&d->mb, peers[i].node,
					peers[i].incarnation, now);
				continue;
			}
			log_warn("kernel peer %u is not in nodes.conf: removing it",
				 peers[i].node);
			exec_actions(d, &del, 1);
		}
	} else {
		int ret;

		d->incarnation = wall_ns();
		ret = kif_set_node(d->kfd, d->self->id, &d->self->addr,
				   d->incarnation);
		if (ret) {
			log_err("SET_NODE %u: %s", d->self->id, strerror(-ret));
			free(peers);
			return EXIT_RUNTIME;
		}
		log_notice("kernel set to node %u, incarnation 0x%" PRIx64,
			   d->self->id, d->incarnation);
	}
	free(peers);
	return 0;
}

static void to_sockaddr(const struct net_addr *a, uint16_t port,
			struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a->addr, 16);
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a->addr, 4);
		*len = sizeof(*s4);
	}
}

static int from_sockaddr(const struct sockaddr_storage *ss, struct net_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		a->family = AF_INET;
		memcpy(a->addr, &s4->sin_addr, 4);
		a->port = ntohs(s4->sin_port);
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		a->family = AF_INET6;
		memcpy(a->addr, &s6->sin6_addr, 16);
		a->port = ntohs(s6->sin6_port);
		return 0;
	}
	return -1;
}

static int ep_add(struct daemon *d, struct ev *ev, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = ev };

	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, ev->fd, &e);
}

/*
 * Bound to this node's address, so heartbeats leave from the address
 * peers expect; IP_FREEBIND lets the daemon start before it is up.
 */
static int udp_setup(struct daemon *d)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fd;

	fd = socket(d->self->addr.family, SOCK_DGRAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err("socket: %s", strerror(errno));
		return -1;
	}
	if (d->self->addr.family == AF_INET)
		(void)setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	else
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one,
				 sizeof(one));
	to_sockaddr(&d->self->addr, d->conf.port, &ss, &len);
	if (bind(fd, (struct sockaddr *)&ss, len)) {
		char a[64];

		net_addr_format(&d->self->addr, a, sizeof(a));
		log_err("bind UDP port %u on the address of %s: %s", d->conf.port,
			a, strerror(errno));
		close(fd);
		return -1;
	}
	d->udp.kind = EV_UDP;
	d->udp.fd = fd;
	return ep_add(d, &d->udp, EPOLLIN);
}

static int mkdir_parent(const char *path)
{
	char dir[CFG_PATH_MAX], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -1;
	return 0;
}

/* Anyone may connect: every request is filtered by the caller's uid. */
static int ctl_setup(struct daemon *d)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = d->conf.socket_path;
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_err("socket path %s too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);	/* length checked */
	if (mkdir_parent(path)) {
		log_err("directory of %s: %s", path, strerror(errno));
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err("socket: %s", strerror(errno));
		return -1;
	}
	if (!lstat(path, &st)) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			log_err("%s exists and is not a socket", path);
			close(fd);
			return -1;
		}
		/* A stale socket of a killed daemon, or a live daemon? */
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && !connect(probe, (struct sockaddr *)&sun,
					   sizeof(sun))) {
			log_err("another xpmemd answers on %s", path);
			close(probe);
			close(fd);
			return -1;
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    chmod(path, 0666) || listen(fd, 16)) {
		log_err("%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	d->ctl_bound = 1;
	d->ctl.kind = EV_CTL_LISTEN;
	d->ctl.fd = fd;
	return ep_add(d, &d->ctl, EPOLLIN);
}

static int timer_setup(struct daemon *d)
{
	struct itimerspec its;
	uint32_t ms = d->conf.heartbeat_ms;
	int fd;

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0) {
		log_err("timerfd: %s", strerror(errno));
		return -1;
	}
	its.it_interval.tv_sec = ms / 1000;
	its.it_interval.tv_nsec = (long)(ms % 1000) * 1000000;
	/* First heartbeat right away: peers learn of a restart at once. */
	its.it_value.tv_sec = 0;
	its.it_value.tv_nsec = 1;
	if (timerfd_settime(fd, 0, &its, NULL)) {
		log_err("timerfd_settime: %s", strerror(errno));
		close(fd);
		return -1;
	}
	d->timer.kind = EV_TIMER;
	d->timer.fd = fd;
	return ep_add(d, &d->timer, EPOLLIN);
}

static int signal_setup(struct daemon *d)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -1;
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		log_err("signalfd: %s", strerror(errno));
		return -1;
	}
	d->sig.kind = EV_SIGNAL;
	d->sig.fd = fd;
	return ep_add(d, &d->sig, EPOLLIN);
}

/* Fills in the header, encodes, sends to the node's address: 0 or -1. */
static int send_msg(struct daemon *d, uint32_t node, struct wire_msg *m)
{
	const struct cfg_node *n = nodes_find(&d->nodes, node);
	struct mb_peer *p = mb_peer(&d->mb, node);
	uint8_t out[WIRE_MAX_MSG];
	struct sockaddr_storage ss;
	socklen_t sl;
	ssize_t len;

	if (!n || !p) {
		errno = ENOENT;
		return -1;
	}
	m->src = d->self->id;
	m->dst = node;
	m->incarnation = d->incarnation;
	m->seq = wire_next_seq(&d->last_seq, wall_ns());
	len = wire_encode(m, d->key, out, sizeof(out));
	if (len < 0) {
		errno = EINVAL;
		return -1;
	}
	to_sockaddr(&n->addr, d->conf.port, &ss, &sl);
	if (sendto(d->udp.fd, out, (size_t)len, 0, (struct sockaddr *)&ss,
		   sl) != len)
		return -1;
	p->c.tx++;
	d->mb.total.tx++;
	return 0;
}

static void send_failed(struct daemon *d, const char *what, uint32_t node)
{
	uint64_t sup;

	if (ratelimit_ok(&d->rl_send, mono_ms(), &sup))
		log_warn("%s to node %u: %s (%" PRIu64 " similar messages suppressed)",
			 what, node, strerror(errno), sup);
}

static void send_heartbeats(struct daemon *d)
{
	size_t i;

	for (i = 0; i < d->mb.npeers; i++) {
		struct mb_peer *p = &d->mb.peers[i];
		struct wire_heartbeat hb = {
			.heartbeat_ms = d->conf.heartbeat_ms,
			.lease_ms = d->conf.lease_ms,
			.seen_incarnation = p->heard ? p->incarnation : 0,
		};
		struct wire_msg m = { 0 };

		wire_hb_pack(&hb, &m);
		if (send_msg(d, p->node, &m) && errno != ENOENT)
			send_failed(d, "heartbeat", p->node);
	}
}

static void ctl_close(struct daemon *d, struct ctl_client *c);

static void on_timer(struct daemon *d)
{
	struct mb_action acts[64];
	uint64_t ticks, now;
	size_t n, i;

	if (read(d->timer.fd, &ticks, sizeof(ticks)) < 0 && errno == EAGAIN)
		return;
	now = mono_ms();
	do {
		n = mb_tick(&d->mb, now, acts, sizeof(acts) / sizeof(acts[0]));
		for (i = 0; i < n; i++) {
			struct mb_peer *p = mb_peer(&d->mb, acts[i].node);

			log_notice("node %u: lease expired (last heard %" PRIu64 " ms ago): dead",
				   acts[i].node, p ? now - p->last_heard_ms : 0);
		}
		exec_actions(d, acts, n);
	} while (n == sizeof(acts) / sizeof(acts[0]));
	send_heartbeats(d);
	for (i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *c = &d->clients[i];

		if (c->used && now > c->deadline_ms)
			ctl_close(d, c);
	}
}

static ssize_t read_proc(const struct daemon *d, const char *name,
			 char **text, int *err)
{
	char path[CFG_PATH_MAX + 16];

	proc_path(d, name, path, sizeof(path));
	*text = read_text_file(path, 64 << 20);
	if (*text)
		return 0;
	*err = errno;
	return -1;
}

/*
 * This node's segments as uid may see them (ctl_filter_segments): 0 and
 * *v, *n (-1: no segments file), or an errno.
 */
static int local_segments(const struct daemon *d, int all, uint32_t uid,
			  struct kif_segment **v, ssize_t *n)
{
	struct kif_segment *parsed = NULL;
	char *text = NULL;
	int err = 0;

	*v = NULL;
	*n = -1;
	if (read_proc(d, "segments", &text, &err))
		return err == ENOENT ? 0 : err;
	*n = kif_parse_segments(text, &parsed);
	free(text);
	if (*n < 0)
		return ENOMEM;
	if (*n > 0) {
		*v = calloc((size_t)*n, sizeof(**v));
		if (!*v) {
			free(parsed);
			return ENOMEM;
		}
	}
	*n = (ssize_t)ctl_filter_uid(all, uid, parsed, (size_t)*n, *v);
	free(parsed);
	return 0;
}

static int seg_cmp(const void *a, const void *b)
{
	const struct kif_segment *x = a, *y = b;

	return x->segid < y->segid ? -1 : x->segid > y->segid;
}

static void query_free(struct cluster_query *q)
{
	size_t i;

	for (i = 0; i < q->nnodes; i++)
		ctl_node_free(&q->nodes[i]);
	free(q->nodes);
	memset(q, 0, sizeof(*q));
}

/* The answer into the client's buffer; the query is done. */
static void query_format(struct cluster_query *q)
{
	struct ctl_client *c = q->client;
	size_t i;

	for (i = 0; i < q->nnodes; i++)
		if (q->nodes[i].n > 1)
			qsort(q->nodes[i].v, q->nodes[i].n,
			      sizeof(q->nodes[i].v[0]), seg_cmp);
	buf_printf(&c->out, "ok\n");
	ctl_format_cluster_segments(&c->out, q->nodes, q->nnodes, q->json);
	query_free(q);
	c->q = NULL;
}

/* All replies in, or the deadline passed: the client gets its answer. */
static void query_finish(struct daemon *d, struct cluster_query *q)
{
	struct ctl_client *c = q->client;
	struct epoll_event e = { .events = EPOLLOUT, .data.ptr = &c->ev };

	query_format(q);
	if (buf_failed(&c->out) ||
	    epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->ev.fd, &e))
		ctl_close(d, c);
}

/*
 * Starts a cluster listing for c: 1 if it waits for peers (c->q set),
 * 0 if c->out holds the answer already (nobody to ask, or an error).
 */
static int query_start(struct daemon *d, struct ctl_client *c, int json)
{
	struct cluster_query *q = NULL;
	struct wire_seg_request rq;
	struct kif_segment *mine;
	ssize_t n;
	size_t i;
	int err;

	for (i = 0; i < QUERY_MAX_PENDING; i++) {
		if (!d->queries[i].used) {
			q = &d->queries[i];
			break;
		}
	}
	if (!q) {
		buf_printf(&c->out, "error busy: %d cluster listings outstanding; try again, or ask for the local segments\n",
			   QUERY_MAX_PENDING);
		return 0;
	}
	err = local_segments(d, c->uid == 0, (uint32_t)c->uid, &mine, &n);
	if (err) {
		buf_printf(&c->out, "error %s/segments: %s\n", d->conf.proc_dir,
			   strerror(err));
		return 0;
	}
	q->nodes = calloc(d->mb.npeers + 1, sizeof(*q->nodes));
	if (!q->nodes) {
		free(mine);
		buf_printf(&c->out, "error out of memory\n");
		return 0;
	}
	q->used = 1;
	q->client = c;
	q->uid = c->uid;
	q->json = json;
	q->deadline_ms = mono_ms() + QUERY_TIMEOUT_MS;
	do
		randombytes_buf(&q->id, sizeof(q->id));
	while (!q->id);
	ctl_node_init(&q->nodes[0], d->self->id, d->self->host,
		      n < 0 ? CTL_NODE_UNAVAILABLE : CTL_NODE_OK);
	q->nodes[0].v = mine;
	q->nodes[0].n = q->nodes[0].cap = n < 0 ? 0 : (size_t)n;
	q->nnodes = 1;
	rq.id = q->id;
	rq.uid = (uint32_t)c->uid;
	rq.flags = c->uid == 0 ? WIRE_SEGREQ_ALL : 0;
	for (i = 0; i < d->mb.npeers; i++) {
		const struct mb_peer *p = &d->mb.peers[i];
		const struct cfg_node *node = nodes_find(&d->nodes, p->node);
		struct ctl_node_segs *ns = &q->nodes[q->nnodes++];
		struct wire_msg m = { 0 };

		ctl_node_init(ns, p->node, node ? node->host : NULL,
			      p->state == MB_ALIVE ? CTL_NODE_WAITING :
			      p->state == MB_DEAD ? CTL_NODE_DEAD :
			      CTL_NODE_UNKNOWN);
		if (ns->state != CTL_NODE_WAITING)
			continue;
		q->waiting++;
		/* A failed send is a node that does not answer in time. */
		if (wire_segreq_pack(&rq, &m) || send_msg(d, p->node, &m))
			send_failed(d, "segment request", p->node);
	}
	c->q = q;
	if (!q->waiting) {
		query_format(q);	/* the caller sends it */
		return 0;
	}
	log_debug("segment listing 0x%" PRIx64 " for uid %u: asked %zu nodes",
		  q->id, (unsigned int)c->uid, q->waiting);
	return 1;
}

static void query_cancel(struct ctl_client *c)
{
	if (c->q)
		query_free(c->q);
	c->q = NULL;
}

/* Finishes the listings whose deadline passed; returns the next one. */
static int queries_expire(struct daemon *d, uint64_t now)
{
	int timeout = -1;
	size_t i;

	for (i = 0; i < QUERY_MAX_PENDING; i++) {
		struct cluster_query *q = &d->queries[i];

		if (!q->used)
			continue;
		if (now >= q->deadline_ms) {
			log_debug("segment listing 0x%" PRIx64 ": %zu nodes did not answer in time",
				  q->id, q->waiting);
			query_finish(d, q);
		} else if (timeout < 0 ||
			   q->deadline_ms - now < (uint64_t)timeout) {
			timeout = (int)(q->deadline_ms - now);
		}
	}
	return timeout;
}

static void dropped(struct daemon *d, uint32_t src, const char *fs,
		    const char *why)
{
	uint64_t sup;

	mb_count_dropped(&d->mb, src);
	if (ratelimit_ok(&d->rl_drop, mono_ms(), &sup))
		log_warn("dropped message of node %u from %s: %s (%" PRIu64 " similar messages suppressed)",
			 src, fs, why, sup);
}

static void on_seg_request(struct daemon *d, const struct wire_msg *m,
			   const char *fs)
{
	struct wire_seg_request rq;
	struct wire_seg_reply *parts;
	struct kif_segment *v;
	uint64_t now = mono_ms();
	size_t np, i;
	ssize_t n;

	if (wire_segreq_unpack(m, &rq)) {
		mb_count_bad(&d->mb, m->src, 0);
		return;
	}
	if (now - d->answer_window_ms >= 1000) {
		d->answer_window_ms = now;
		d->answers = 0;
	}
	if (d->answers >= ANSWERS_PER_SEC) {
		dropped(d, m->src, fs, "segment requests over the rate limit");
		return;
	}
	d->answers++;
	/* Our own filter, whatever the asking node does with the answer. */
	if (local_segments(d, !!(rq.flags & WIRE_SEGREQ_ALL), rq.uid, &v, &n))
		n = -1;		/* unreadable: told as unavailable */
	parts = calloc(WIRE_SEGREP_MAX_PARTS, sizeof(*parts));
	if (!parts) {
		free(v);
		return;
	}
	np = ctl_seg_answer(&rq, v, n, parts, WIRE_SEGREP_MAX_PARTS);
	free(v);
	for (i = 0; i < np; i++) {
		struct wire_msg r = { 0 };

		if (wire_segrep_pack(&parts[i], &r) || send_msg(d, m->src, &r)) {
			send_failed(d, "segment reply", m->src);
			break;
		}
	}
	free(parts);
	log_debug("segment request 0x%" PRIx64 " of node %u (uid %u%s): %zu parts",
		  rq.id, m->src, rq.uid,
		  rq.flags & WIRE_SEGREQ_ALL ? ", all" : "", np);
}

static void on_seg_reply(struct daemon *d, const struct wire_msg *m,
			 const char *fs)
{
	struct wire_seg_reply r;
	struct cluster_query *q = NULL;
	struct ctl_node_segs *ns = NULL;
	size_t i;
	int ret;

	if (wire_segrep_unpack(m, &r)) {
		mb_count_bad(&d->mb, m->src, 0);
		return;
	}
	for (i = 0; i < QUERY_MAX_PENDING; i++) {
		if (d->queries[i].used && d->queries[i].id == r.id) {
			q = &d->queries[i];
			break;
		}
	}
	if (!q) {
		dropped(d, m->src, fs, "segment reply to an unknown or finished request");
		return;
	}
	for (i = 1; i < q->nnodes; i++) {
		if (q->nodes[i].node == m->src) {
			ns = &q->nodes[i];
			break;
		}
	}
	ret = ns ? ctl_node_add_reply(ns, q->uid == 0, (uint32_t)q->uid, &r) :
		   -1;
	if (ret == -2)
		log_err("segment listing: out of memory");
	if (ret < 0) {
		dropped(d, m->src, fs, "segment reply not expected from it");
		return;
	}
	if (ret == 1 && !--q->waiting)
		query_finish(d, q);
}

static void on_query_msg(struct daemon *d, const struct wire_msg *m,
			 const char *fs)
{
	enum mb_verdict v;
	uint64_t sup;

	v = mb_query(&d->mb, m->src, m->dst, m->incarnation, m->seq,
		     wall_ns());
	if (v != MB_ACCEPT) {
		if (ratelimit_ok(&d->rl_rej, mono_ms(), &sup))
			log_warn("refused segment %s of node %u from %s: %s (%" PRIu64 " similar messages suppressed)",
				 m->type == WIRE_SEG_REQUEST ? "request" : "reply",
				 m->src, fs, mb_verdict_name(v), sup);
		return;
	}
	if (m->type == WIRE_SEG_REQUEST)
		on_seg_request(d, m, fs);
	else
		on_seg_reply(d, m, fs);
}

/* Claimed sender of a message that failed to decode (for counting). */
static uint32_t raw_src(const uint8_t *buf, size_t len)
{
	if (len < 12)
		return 0;
	return buf[8] | buf[9] << 8 | (uint32_t)buf[10] << 16 |
	       (uint32_t)buf[11] << 24;
}

static void on_datagram(struct daemon *d, const uint8_t *buf, size_t len,
			const struct sockaddr_storage *from)
{
	struct mb_action acts[MB_MAX_ACTIONS];
	struct wire_heartbeat hb;
	const struct cfg_node *node;
	struct net_addr fa;
	enum mb_verdict v;
	struct wire_msg m;
	char fs[64];
	uint64_t sup, now = mono_ms();
	size_t nacts;
	int err;

	if (from_sockaddr(from, &fa))
		return;
	net_addr_format(&fa, fs, sizeof(fs));
	err = len > WIRE_MAX_MSG ? WIRE_EOVERSIZE :
	      wire_decode(buf, len, d->key, &m);
	if (!err && m.type == WIRE_HEARTBEAT)
		err = wire_hb_unpack(&m, &hb);
	if (err) {
		uint32_t src = raw_src(buf, len);

		mb_count_bad(&d->mb, src, err == WIRE_EMAC);
		if (ratelimit_ok(err == WIRE_EMAC ? &d->rl_mac : &d->rl_bad,
				 now, &sup))
			log_warn("refused message from %s (claims node %u): %s (%" PRIu64 " similar messages suppressed)",
				 fs, src, wire_strerror(err), sup);
		return;
	}
	/* Authenticated, but also from where that node lives? */
	node = nodes_find(&d->nodes, m.src);
	if (node && !net_addr_equal_ip(&node->addr, &fa)) {
		mb_count_bad(&d->mb, m.src, 0);
		if (ratelimit_ok(&d->rl_bad, now, &sup))
			log_warn("refused message of node %u from %s: not its address (%" PRIu64 " similar messages suppressed)",
				 m.src, fs, sup);
		return;
	}
	if (m.type != WIRE_HEARTBEAT) {
		on_query_msg(d, &m, fs);
		return;
	}
	v = mb_heartbeat(&d->mb, m.src, m.dst, m.incarnation, m.seq, now,
			 wall_ns(), acts, &nacts);
	if (v != MB_ACCEPT) {
		if (ratelimit_ok(&d->rl_rej, now, &sup))
			log_warn("refused heartbeat of node %u from %s: %s (%" PRIu64 " similar messages suppressed)",
				 m.src, fs, mb_verdict_name(v), sup);
		return;
	}
	{
		struct mb_peer *p = mb_peer(&d->mb, m.src);

		p->sees_us = hb.seen_incarnation;
		p->peer_heartbeat_ms = hb.heartbeat_ms;
		p->peer_lease_ms = hb.lease_ms;
	}
	if (nacts)
		log_notice("node %u (%s): alive, incarnation 0x%" PRIx64,
			   m.src, node ? node->host : "?", m.incarnation);
	exec_actions(d, acts, nacts);
}

static void on_udp(struct daemon *d)
{
	uint8_t buf[WIRE_MAX_MSG + 1];
	struct sockaddr_storage from;

	for (;;) {
		socklen_t fl = sizeof(from);
		/* MSG_TRUNC: the real length, so oversized is told apart. */
		ssize_t r = recvfrom(d->udp.fd, buf, sizeof(buf), MSG_TRUNC,
			     (struct sockaddr *)&from, &fl);
		if (r < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_debug("recvfrom: %s", strerror(errno));
			if (errno == EINTR)
				continue;
			return;
		}
		on_datagram(d, buf, (size_t)r, &from);
	}
}

/* 1 if the answer waits for peers (a cluster listing). */
static int ctl_answer(struct daemon *d, struct ctl_client *c)
{
	struct buf *b = &c->out;
	struct ctl_request rq;
	char *text = NULL;
	int json, err = 0;

	if (ctl_parse_request(c->in, &rq)) {
		buf_printf(b, "error unknown request (status, segments [local] or counters [json])\n");
		return 0;
	}
	json = rq.json;
	if (rq.cmd == CTL_SEGMENTS && !rq.local)
		return query_start(d, c, json);
	switch (rq.cmd) {
	case CTL_STATUS: {
		struct ctl_status s = {
			.self = d->self->id,
			.host = d->self->host,
			.addr = d->self->addr,
			.incarnation = d->incarnation,
			.port = d->conf.port,
			.heartbeat_ms = d->conf.heartbeat_ms,
			.lease_ms = d->conf.lease_ms,
			.kernel = d->kfd >= 0,
			.nodes = &d->nodes,
			.mb = &d->mb,
			.now_ms = mono_ms(),
		};

		buf_printf(b, "ok\n");
		ctl_format_status(b, &s, json);
		break;
	}
	case CTL_SEGMENTS: {
		struct kif_segment *mine = NULL;
		ssize_t n = -1;

		/* Root (uid 0) sees all, as ctl_filter_segments. */
		err = local_segments(d, c->uid == 0, (uint32_t)c->uid, &mine,
				     &n);
		if (err) {
			buf_printf(b, "error %s/segments: %s\n", d->conf.proc_dir,
				   strerror(err));
			return 0;
		}
		buf_printf(b, "ok\n");
		ctl_format_segments(b, mine, n, json);
		free(mine);
		break;
	}
	case CTL_COUNTERS: {
		struct kif_counter *v = NULL;
		ssize_t n = -1;

		if (read_proc(d, "counters", &text, &err) && err != ENOENT) {
			buf_printf(b, "error %s/counters: %s\n", d->conf.proc_dir,
				   strerror(err));
			return 0;
		}
		if (text)
			n = kif_parse_counters(text, &v);
		buf_printf(b, "ok\n");
		ctl_format_counters(b, v, n, &d->mb.total, json);
		free(v);
		break;
	}
	}
	free(text);
	return 0;
}

static void ctl_close(struct daemon *d, struct ctl_client *c)
{
	(void)d;
	query_cancel(c);
	close(c->ev.fd);
	buf_free(&c->out);
	c->used = 0;
}

static void on_ctl_accept(struct daemon *d)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct ctl_client *c = NULL;
	size_t i;
	int fd;

	fd = accept4(d->ctl.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (i = 0; i < CTL_MAX_CLIENTS; i++) {
		if (!d->clients[i].used) {
			c = &d->clients[i];
			break;
		}
	}
	/* No credentials, no answer: the filter depends on them. */
	if (!c || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl)) {
		close(fd);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->used = 1;
	c->uid = cred.uid;
	c->ev.kind = EV_CTL_CLIENT;
	c->ev.fd = fd;
	buf_init(&c->out);
	c->deadline_ms = mono_ms() + CTL_TIMEOUT_MS;
	if (ep_add(d, &c->ev, EPOLLIN))
		ctl_close(d, c);
}

static void on_ctl_client(struct daemon *d, struct ctl_client *c,
			  uint32_t events)
{
	ssize_t r;

	if (c->q) {
		/* Waiting for peers: only a hang-up of the client matters. */
		if (events & (EPOLLERR | EPOLLHUP))
			ctl_close(d, c);
		return;
	}
	if (!c->out.len) {
		struct epoll_event e = { .events = EPOLLOUT, .data.ptr = &c->ev };
		char *nl;

		if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)) {
			ctl_close(d, c);
			return;
		}
		r = read(c->ev.fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0) {
			ctl_close(d, c);
			return;
		}
		c->inlen += (size_t)r;
		c->in[c->inlen] = '\0';
		nl = strchr(c->in, '\n');
		if (!nl && c->inlen < sizeof(c->in) - 1)
			return;
		if (nl)
			*nl = '\0';
		else
			c->in[0] = '\0';	/* too long: an unknown request */
		if (ctl_answer(d, c))
			e.events = 0;	/* query_finish() asks for EPOLLOUT */
		if (buf_failed(&c->out)) {
			ctl_close(d, c);
			return;
		}
		if (epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->ev.fd, &e)) {
			ctl_close(d, c);
			return;
		}
		if (c->q)
			return;		/* the answer comes from query_finish() */
	}
	while (c->outoff < c->out.len) {
		r = write(c->ev.fd, c->out.data + c->outoff,
			  c->out.len - c->outoff);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0)
			break;
		c->outoff += (size_t)r;
	}
	ctl_close(d, c);
}

/* 1 to stop the loop. */
static int on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	if (read(d->sig.fd, &si, sizeof(si)) != sizeof(si))
		return 0;
	if (si.ssi_signo == SIGHUP) {
		log_notice("SIGHUP: reloading is not supported; restart xpmemd (the kernel keeps its peers)");
		return 0;
	}
	log_notice("signal %u: exiting (the kernel keeps node and peers)",
		   si.ssi_signo);
	return 1;
}

static int run(struct daemon *d)
{
	struct epoll_event evs[16];

	for (;;) {
		int i, n = epoll_wait(d->epfd, evs, 16,
				      queries_expire(d, mono_ms()));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_err("epoll_wait: %s", strerror(errno));
			return EXIT_RUNTIME;
		}
		for (i = 0; i < n; i++) {
			struct ev *ev = evs[i].data.ptr;

			switch (ev->kind) {
			case EV_TIMER:
				on_timer(d);
				break;
			case EV_SIGNAL:
				if (on_signal(d))
					return EXIT_OK;
				break;
			case EV_UDP:
				on_udp(d);
				break;
			case EV_CTL_LISTEN:
				on_ctl_accept(d);
				break;
			case EV_CTL_CLIENT:
				on_ctl_client(d, (struct ctl_client *)ev,
					      evs[i].events);
				break;
			}
		}
	}
}

/* Detach from the terminal; the parent exits once setup succeeded. */
static int detach(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(EXIT_OK);
	if (setsid() < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(EXIT_OK);
	if (chdir("/"))
		return -1;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	return 0;
}

static void print_config(const struct daemon *d)
{
	char a[64];
	size_t i;

	printf("node %u (%s), incarnation kept by the kernel if set\n",
	       d->self->id, d->self->host);
	printf("port %u, rdma_port %u, heartbeat %u ms, lease %u ms, max_skew %u ms, kernel %s\n",
	       d->conf.port, d->conf.rdma_port, d->conf.heartbeat_ms,
	       d->conf.lease_ms, d->conf.max_skew_ms,
	       d->conf.use_kernel ? "yes" : "no");
	printf("nodes %s, key %s, socket %s, proc %s\n", d->conf.nodes_path,
	       d->conf.key_path, d->conf.socket_path, d->conf.proc_dir);
	for (i = 0; i < d->nodes.n; i++) {
		net_addr_format(&d->nodes.v[i].addr, a, sizeof(a));
		printf("%5u %-20s %s%s\n", d->nodes.v[i].id,
		       d->nodes.v[i].host, a,
		       &d->nodes.v[i] == d->self ? "  (this node)" : "");
	}
}

int main(int argc, char **argv)
{
	enum { OPT_NO_KERNEL = 256, OPT_GEN_KEY };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "nodes", required_argument, NULL, 'n' },
		{ "key", required_argument, NULL, 'k' },
		{ "node-id", required_argument, NULL, 'i' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "syslog", no_argument, NULL, 's' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "check-config", no_argument, NULL, 't' },
		{ "no-kernel", no_argument, NULL, OPT_NO_KERNEL },
		{ "gen-key", required_argument, NULL, OPT_GEN_KEY },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf_path = CFG_DEFAULT_CONF, *nodes_path = NULL;
	const char *key_path = NULL, *node_id = NULL;
	int foreground = 0, use_syslog = 0, check = 0, no_kernel = 0;
	int level = -1, conf_given = 0, c, ret;
	static struct daemon d;
	char err[CFG_ERR_MAX];
	uint32_t *ids;
	size_t i;

	while ((c = getopt_long(argc, argv, "c:n:k:i:fsl:thV", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'c':
			conf_path = optarg;
			conf_given = 1;
			break;
		case 'n':
			nodes_path = optarg;
			break;
		case 'k':
			key_path = optarg;
			break;
		case 'i':
			node_id = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 's':
			use_syslog = 1;
			break;
		case 'l':
			level = log_level_parse(optarg);
			if (level < 0) {
				fprintf(stderr, "xpmemd: bad log level %s\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 't':
			check = 1;
			break;
		case OPT_NO_KERNEL:
			no_kernel = 1;
			break;
		case OPT_GEN_KEY:
			if (sodium_init() < 0)
				return EXIT_RUNTIME;
			return gen_key(optarg);
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		case 'V':
			printf("xpmemd %s (wire protocol %d)\n", XPMEMD_VERSION,
			       WIRE_VERSION);
			return EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}

	log_init("xpmemd", 0, LOG_LVL_INFO);
	conf_defaults(&d.conf);
	if (conf_load(conf_path, !conf_given, &d.conf, err, sizeof(err))) {
		log_err("%s", err);
		return EXIT_CONFIG;
	}
	if (nodes_path)
		snprintf(d.conf.nodes_path, sizeof(d.conf.nodes_path), "%s",
			 nodes_path);
	if (key_path)
		snprintf(d.conf.key_path, sizeof(d.conf.key_path), "%s",
			 key_path);
	if (node_id) {
		char *end;
		unsigned long v = strtoul(node_id, &end, 10);

		if (*end || !*node_id || !v || v > CFG_NODE_ID_MAX) {
			fprintf(stderr, "xpmemd: bad node id %s\n", node_id);
			return EXIT_USAGE;
		}
		d.conf.node_id = (uint32_t)v;
	}
	if (no_kernel)
		d.conf.use_kernel = 0;
	if (level >= 0)
		d.conf.log_level = level;
	log_set_level(d.conf.log_level);

	if (nodes_load(d.conf.nodes_path, d.conf.rdma_port, &d.nodes, err,
		       sizeof(err))) {
		log_err("%s", err);
		return EXIT_CONFIG;
	}
	d.self = find_self(&d);
	if (!d.self) {
		log_err("this node is not in %s (set node_id in the config, or --node-id)",
			d.conf.nodes_path);
		return EXIT_CONFIG;
	}
	if (sodium_init() < 0) {
		log_err("libsodium failed to initialise");
		return EXIT_RUNTIME;
	}
	if (key_load(d.conf.key_path, d.key))
		return EXIT_CONFIG;
	if (check) {
		print_config(&d);
		return EXIT_OK;
	}

	if (!foreground || use_syslog)
		log_init("xpmemd", 1, d.conf.log_level);
	ids = calloc(d.nodes.n, sizeof(*ids));
	if (!ids)
		return EXIT_RUNTIME;
	for (i = 0; i < d.nodes.n; i++)
		ids[i] = d.nodes.v[i].id;
	ret = mb_init(&d.mb, d.self->id, ids, d.nodes.n, d.conf.lease_ms,
		      (uint64_t)d.conf.max_skew_ms * 1000000);
	free(ids);
	if (ret)
		return EXIT_RUNTIME;
	d.rl_mac.interval_ms = d.rl_bad.interval_ms = RATELIMIT_MS;
	d.rl_rej.interval_ms = d.rl_send.interval_ms = RATELIMIT_MS;
	d.rl_kernel.interval_ms = d.rl_drop.interval_ms = RATELIMIT_MS;

	ret = kernel_setup(&d, mono_ms());
	if (ret)
		goto out;
	ret = EXIT_RUNTIME;
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d.epfd < 0 || signal_setup(&d) || udp_setup(&d) ||
	    ctl_setup(&d) || timer_setup(&d))
		goto out;
	if (!foreground && detach()) {
		log_err("detach: %s", strerror(errno));
		goto out;
	}
	log_notice("node %u (%s) up: %zu peers, UDP port %u, heartbeat %u ms, lease %u ms",
		   d.self->id, d.self->host, d.mb.npeers, d.conf.port,
		   d.conf.heartbeat_ms, d.conf.lease_ms);
	ret = run(&d);
out:
	if (d.ctl_bound)
		unlink(d.conf.socket_path);
	sodium_memzero(d.key, sizeof(d.key));
	mb_free(&d.mb);
	nodes_free(&d.nodes);
	return ret;
}
