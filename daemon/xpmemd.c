// SPDX-License-Identifier: GPL-2.0
/*
 * xpmemd - cluster membership for xpmem.ko.
 *
 * One thread, one epoll loop: a timerfd sends heartbeats and expires
 * leases, a UDP socket receives the peers' heartbeats (authenticated
 * with the cluster key, wire.c), a signalfd ends the loop, and a Unix
 * socket answers xpmemctl (ctl.c).  A peer is announced to the kernel
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

enum ev_kind { EV_TIMER, EV_SIGNAL, EV_UDP, EV_CTL_LISTEN, EV_CTL_CLIENT };

struct ev {
	enum ev_kind kind;
	int fd;
};

struct ctl_client {
	struct ev ev;		/* first: epoll hands back &ev */
	int used;
	uid_t uid;
	char in[CTL_LINE_MAX];
	size_t inlen;
	struct buf out;
	size_t outoff;
	uint64_t deadline_ms;
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
	struct ratelimit rl_mac, rl_bad, rl_rej, rl_send, rl_kernel;
	int ctl_bound;
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

/* Refuses a key another user could read: the key is the cluster. */
static int key_load(const char *path, uint8_t key[WIRE_KEY_LEN])
{
	uint8_t data[256];
	struct stat st;
	ssize_t n;
	int fd, ret = -1;

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
	n = read(fd, data, sizeof(data));
	if (n < 0) {
		log_err("key file %s: %s", path, strerror(errno));
		goto out;
	}
	if (wire_key_parse(data, (size_t)n, key)) {
		log_err("key file %s: expected 32 raw bytes or 64 hex digits, found %zd bytes",
			path, n);
		goto out;
	}
	ret = 0;
out:
	sodium_memzero(data, sizeof(data));
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

static void send_heartbeats(struct daemon *d)
{
	uint8_t out[WIRE_MAX_MSG];
	struct sockaddr_storage ss;
	socklen_t sl;
	uint64_t sup;
	size_t i;

	for (i = 0; i < d->mb.npeers; i++) {
		struct mb_peer *p = &d->mb.peers[i];
		const struct cfg_node *n = nodes_find(&d->nodes, p->node);
		struct wire_heartbeat hb = {
			.heartbeat_ms = d->conf.heartbeat_ms,
			.lease_ms = d->conf.lease_ms,
			.seen_incarnation = p->heard ? p->incarnation : 0,
		};
		struct wire_msg m = {
			.src = d->self->id,
			.dst = p->node,
			.incarnation = d->incarnation,
		};
		ssize_t len;

		if (!n)
			continue;
		m.seq = wire_next_seq(&d->last_seq, wall_ns());
		wire_hb_pack(&hb, &m);
		len = wire_encode(&m, d->key, out, sizeof(out));
		if (len < 0)
			continue;
		to_sockaddr(&n->addr, d->conf.port, &ss, &sl);
		if (sendto(d->udp.fd, out, (size_t)len, 0,
			   (struct sockaddr *)&ss, sl) == len) {
			p->c.tx++;
			d->mb.total.tx++;
		} else if (ratelimit_ok(&d->rl_send, mono_ms(), &sup)) {
			log_warn("heartbeat to node %u: %s (%" PRIu64 " similar messages suppressed)",
				 p->node, strerror(errno), sup);
		}
	}
}

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

		if (c->used && now > c->deadline_ms) {
			close(c->ev.fd);
			buf_free(&c->out);
			c->used = 0;
		}
	}
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
	if (!err)
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
			log_warn("refused heartbeat of node %u from %s: not its address (%" PRIu64 " similar messages suppressed)",
				 m.src, fs, sup);
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

static void ctl_answer(struct daemon *d, struct ctl_client *c)
{
	struct buf *b = &c->out;
	enum ctl_cmd cmd;
	char *text = NULL;
	int json, err = 0;

	if (ctl_parse_request(c->in, &cmd, &json)) {
		buf_printf(b, "error unknown request (status, segments or counters [json])\n");
		return;
	}
	switch (cmd) {
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
		struct kif_segment *all = NULL, *mine = NULL;
		ssize_t n = -1;

		if (read_proc(d, "segments", &text, &err) && err != ENOENT) {
			buf_printf(b, "error %s/segments: %s\n", d->conf.proc_dir,
				   strerror(err));
			return;
		}
		if (text) {
			n = kif_parse_segments(text, &all);
			if (n > 0)
				mine = calloc((size_t)n, sizeof(*mine));
			if (n < 0 || (n > 0 && !mine)) {
				free(all);
				free(text);
				buf_printf(b, "error out of memory\n");
				return;
			}
			n = (ssize_t)ctl_filter_segments(c->uid, all, (size_t)n,
							 mine);
		}
		buf_printf(b, "ok\n");
		ctl_format_segments(b, mine, n, json);
		free(all);
		free(mine);
		break;
	}
	case CTL_COUNTERS: {
		struct kif_counter *v = NULL;
		ssize_t n = -1;

		if (read_proc(d, "counters", &text, &err) && err != ENOENT) {
			buf_printf(b, "error %s/counters: %s\n", d->conf.proc_dir,
				   strerror(err));
			return;
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
}

static void ctl_close(struct ctl_client *c)
{
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
		ctl_close(c);
}

static void on_ctl_client(struct daemon *d, struct ctl_client *c,
			  uint32_t events)
{
	ssize_t r;

	if (!c->out.len) {
		struct epoll_event e = { .events = EPOLLOUT, .data.ptr = &c->ev };
		char *nl;

		if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)) {
			ctl_close(c);
			return;
		}
		r = read(c->ev.fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (r <= 0) {
			ctl_close(c);
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
		ctl_answer(d, c);
		if (buf_failed(&c->out)) {
			ctl_close(c);
			return;
		}
		if (epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->ev.fd, &e)) {
			ctl_close(c);
			return;
		}
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
	ctl_close(c);
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
		int i, n = epoll_wait(d->epfd, evs, 16, -1);
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
	d.rl_kernel.interval_ms = RATELIMIT_MS;

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
