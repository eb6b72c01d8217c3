// SPDX-License-Identifier: GPL-2.0
/*
 * xpmem-node: sets the local node identity and the peers of xpmem.ko and
 * pings peers over the kernel's RDMA transport (CAP_SYS_ADMIN).
 *
 *   xpmem-node set --id N --addr IP [--port P] [--incarnation X] [--key F]
 *   xpmem-node set-key --key FILE
 *   xpmem-node clear-key
 *   xpmem-node add-peer --id N --addr IP [--port P] [--incarnation X]
 *   xpmem-node del-peer --id N
 *   xpmem-node ping --id N [--id N...] [--size B] [--count C] [--verbose]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cluster_key.h"
#include "xpmem_uapi.h"

_Static_assert(CLUSTER_LINK_KEY_LEN == XPMEM_LINK_KEY_LEN, "link key size");

static const char usage[] =
"usage: xpmem-node COMMAND [OPTIONS]\n"
"\n"
"Configures the cluster identity of xpmem.ko (needs CAP_SYS_ADMIN).\n"
"\n"
"  set --id N --addr IP [--port P] [--incarnation X] [--key FILE]\n"
"        this node is N (1..32767; 0 = single-node mode), listening on IP:P\n"
"        (IP of the RDMA device).  The incarnation (default: the time now)\n"
"        changes on every restart of the node.  --key: set-key first.\n"
"  set-key --key FILE\n"
"        derives the link key from the cluster key in FILE (xpmemd's key\n"
"        file: 32 bytes, or 64 hex digits; mode 0600) and hands it to the\n"
"        kernel.  Without a key no peer connection is made or accepted.\n"
"  clear-key\n"
"        forgets the link key: no new peer connections.\n"
"  add-peer --id N --addr IP [--port P] [--incarnation X]\n"
"        registers peer N at IP:P; only registered peers may connect.\n"
"        --incarnation pins its incarnation (default 0: any).\n"
"  del-peer --id N\n"
"        removes peer N: its connection is torn down, the peer is fenced.\n"
"  ping --id N [--id N...] [--size B] [--count C] [--verbose]\n"
"        C round trips (default 1) of B payload bytes (default 64, at most\n"
"        65792) to peer N; prints min/median/avg/max RTT in microseconds,\n"
"        each RTT with --verbose.  Exits 1 at the first failure.  With\n"
"        several --id, each of the C rounds pings every one of them at\n"
"        once (a thread each) and its time is until the last reply: the\n"
"        transport's own fan-out, the floor of an invalidation that many\n"
"        sharer nodes must ack.\n"
"\n"
"The port defaults to %d.  Exit status 0 on success, 1 on a failed\n"
"operation (errno printed), 2 on a usage error.\n";

#define MAX_PING_IDS 64

struct opts {
	long id;
	long ids[MAX_PING_IDS];	/* every --id, for a fan-out ping */
	int nids;
	const char *addr;
	long port;
	unsigned long long incarnation;
	long size;
	long count;
	int verbose;
	const char *key;
};

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || *s == '\0' || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_addr(const char *s, __u16 *family, __u8 addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

static int fail(const char *what)
{
	int e = errno;

	fprintf(stderr, "xpmem-node: %s: %s (%s)\n", what, strerror(e),
		e == EPERM ? "needs CAP_SYS_ADMIN" : "errno");
	return 1;
}

/*
 * Reads the cluster key (common/cluster_key.c: 32 bytes or 64 hex
 * digits) of a regular file only we may read, derives the link key.
 */
static int load_link_key(const char *path, unsigned char link[32])
{
	unsigned char key[CLUSTER_KEY_LEN];
	struct stat st;
	int fd, err, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "xpmem-node: key file %s: %s\n", path,
			strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		fprintf(stderr, "xpmem-node: key file %s: %s\n", path,
			!S_ISREG(st.st_mode) ? "not a regular file" :
			"readable or writable by group or others (chmod 600)");
		goto out;
	}
	err = cluster_key_read(fd, key);
	if (err) {
		fprintf(stderr, "xpmem-node: key file %s: %s\n", path,
			cluster_key_strerror(err));
		goto out;
	}
	if (cluster_link_key(key, link)) {
		fprintf(stderr, "xpmem-node: libsodium failed\n");
		goto out;
	}
	ret = 0;
out:
	sodium_memzero(key, sizeof(key));
	if (fd >= 0)
		close(fd);
	return ret;
}

/* XPMEM_IOC_SET_KEY with the link key of @path, or none (clear). */
static int set_key(int fd, const char *path)
{
	struct xpmem_cmd_key k = { 0 };
	int ret = 0;

	if (path) {
		if (load_link_key(path, k.key))
			return 1;
		k.len = XPMEM_LINK_KEY_LEN;
	}
	if (ioctl(fd, XPMEM_IOC_SET_KEY, &k))
		ret = fail(path ? "set-key" : "clear-key");
	sodium_memzero(&k, sizeof(k));
	return ret;
}

static int open_dev(void)
{
	int fd = open(XPMEM_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		fprintf(stderr, "xpmem-node: %s: %s\n", XPMEM_DEVICE_PATH,
			strerror(errno));
	return fd;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A ping needs at least one --id, and none of them 0 (this node). */
static int ping_ids_ok(const struct opts *o)
{
	int i;

	for (i = 0; i < o->nids; i++)
		if (!o->ids[i])
			return 0;
	return o->nids > 0;
}

static void print_rtts(const char *who, const struct opts *o, uint64_t *rtt,
		       uint64_t sum)
{
	qsort(rtt, o->count, sizeof(*rtt), cmp_u64);
	printf("%s: %ld pings of %ld bytes: rtt min %.1f median %.1f avg %.1f max %.1f us\n",
	       who, o->count, o->size, rtt[0] / 1e3,
	       rtt[o->count / 2] / 1e3, (double)sum / o->count / 1e3,
	       rtt[o->count - 1] / 1e3);
}

static int do_ping(int fd, const struct opts *o)
{
	struct xpmem_cmd_ping cmd;
	uint64_t *rtt, sum = 0;
	char who[32];
	long i;

	rtt = calloc(o->count, sizeof(*rtt));
	if (!rtt) {
		perror("xpmem-node: calloc");
		return 1;
	}
	for (i = 0; i < o->count; i++) {
		memset(&cmd, 0, sizeof(cmd));
		cmd.node_id = o->id;
		cmd.size = o->size;
		if (ioctl(fd, XPMEM_IOC_PING, &cmd) < 0) {
			int e = errno;

			fprintf(stderr, "xpmem-node: ping %ld of node %ld: %s (%s)\n",
				i + 1, o->id, strerror(e), e == EPERM ?
				"needs CAP_SYS_ADMIN" : "errno");
			free(rtt);
			return 1;
		}
		rtt[i] = cmd.rtt_ns;
		sum += cmd.rtt_ns;
		if (o->verbose)
			printf("%ld bytes from node %ld: seq=%ld rtt=%.1f us\n",
			       o->size, o->id, i + 1, cmd.rtt_ns / 1e3);
	}
	snprintf(who, sizeof(who), "node %ld", o->id);
	print_rtts(who, o, rtt, sum);
	free(rtt);
	return 0;
}

struct fanout {
	int fd;
	const struct opts *o;
	pthread_barrier_t start, done;
	int failed;		/* errno of the first failed ping, under lock */
	pthread_mutex_t lock;
};

struct pinger {
	struct fanout *f;
	long id;
	pthread_t thread;
};

/* One peer's pings, one per round, started with the other peers'. */
static void *pinger_main(void *arg)
{
	struct pinger *p = arg;
	struct fanout *f = p->f;
	long i;

	for (i = 0; i < f->o->count; i++) {
		struct xpmem_cmd_ping cmd = { .node_id = p->id,
					      .size = f->o->size };

		pthread_barrier_wait(&f->start);
		if (ioctl(f->fd, XPMEM_IOC_PING, &cmd) < 0) {
			int e = errno;

			pthread_mutex_lock(&f->lock);
			if (!f->failed) {
				f->failed = e;
				fprintf(stderr, "xpmem-node: ping %ld of node %ld: %s\n",
					i + 1, p->id, strerror(e));
			}
			pthread_mutex_unlock(&f->lock);
		}
		pthread_barrier_wait(&f->done);
	}
	return NULL;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/*
 * Pings every --id at once, C rounds: a round's time runs from the start
 * barrier to the last reply.  The threads all run the rounds to the end
 * (a barrier cannot be left early); a failure is reported after them.
 */
static int do_ping_fanout(int fd, const struct opts *o)
{
	struct fanout f = { .fd = fd, .o = o };
	struct pinger p[MAX_PING_IDS];
	uint64_t *rtt = calloc(o->count, sizeof(*rtt)), sum = 0;
	int n = o->nids, i;
	long r;

	if (!rtt || pthread_barrier_init(&f.start, NULL, n + 1) ||
	    pthread_barrier_init(&f.done, NULL, n + 1) ||
	    pthread_mutex_init(&f.lock, NULL)) {
		perror("xpmem-node: fan-out ping setup");
		exit(1);
	}
	for (i = 0; i < n; i++) {
		p[i] = (struct pinger){ .f = &f, .id = o->ids[i] };
		if (pthread_create(&p[i].thread, NULL, pinger_main, &p[i])) {
			perror("xpmem-node: pthread_create");
			exit(1);	/* the started threads wait on the barrier */
		}
	}
	for (r = 0; r < o->count; r++) {
		double t0;

		pthread_barrier_wait(&f.start);
		t0 = now_ns();
		pthread_barrier_wait(&f.done);
		rtt[r] = (uint64_t)(now_ns() - t0);
		sum += rtt[r];
		if (o->verbose)
			printf("round %ld: %d nodes, %.1f us\n", r + 1, n,
			       rtt[r] / 1e3);
	}
	for (i = 0; i < n; i++)
		pthread_join(p[i].thread, NULL);
	if (!f.failed) {
		char who[32];

		snprintf(who, sizeof(who), "%d nodes at once", n);
		print_rtts(who, o, rtt, sum);
	}
	free(rtt);
	return f.failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "id", required_argument, NULL, 'i' },
		{ "addr", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "incarnation", required_argument, NULL, 'I' },
		{ "size", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .id = -1, .port = XPMEM_DEFAULT_PORT, .size = 64,
			  .count = 1 };
	const char *cmd;
	struct timespec ts;
	char *end;
	int c, fd, ret;

	if (argc >= 2 && (!strcmp(argv[1], "--help") ||
			  !strcmp(argv[1], "-h"))) {
		printf(usage, XPMEM_DEFAULT_PORT);
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-') {
		fprintf(stderr, usage, XPMEM_DEFAULT_PORT);
		return 2;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "i:a:p:I:s:c:vk:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'i':
			if (parse_long(optarg, 0, XPMEM_MAX_NODE, &o.id) ||
			    o.nids == MAX_PING_IDS)
				goto bad;
			o.ids[o.nids++] = o.id;
			break;
		case 'a':
			o.addr = optarg;
			break;
		case 'p':
			if (parse_long(optarg, 1, 65535, &o.port))
				goto bad;
			break;
		case 'I':
			errno = 0;
			o.incarnation = strtoull(optarg, &end, 0);
			if (errno || *end || !*optarg)
				goto bad;
			break;
		case 's':
			if (parse_long(optarg, 0, 64 * 1024 + 256, &o.size))
				goto bad;
			break;
		case 'c':
			if (parse_long(optarg, 1, 100000000, &o.count))
				goto bad;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'k':
			o.key = optarg;
			break;
		case 'h':
			printf(usage, XPMEM_DEFAULT_PORT);
			return 0;
		default:
			goto bad;
		}
	}
	/* Several --id: only a ping takes them. */
	if (optind != argc || (o.nids > 1 && strcmp(cmd, "ping")))
		goto bad;
	if (!strcmp(cmd, "set-key") || !strcmp(cmd, "clear-key")) {
		int set = !strcmp(cmd, "set-key");

		if (o.id >= 0 || o.addr || !set != !o.key)
			goto bad;
		fd = open_dev();
		if (fd < 0)
			return 1;
		ret = set_key(fd, o.key);
		close(fd);
		return ret;
	}
	if (o.id < 0 || (o.key && strcmp(cmd, "set")))
		goto bad;

	if (!strcmp(cmd, "set") || !strcmp(cmd, "add-peer")) {
		int set = !strcmp(cmd, "set");
		__u16 family = 0;
		__u8 addr[16] = { 0 };

		if (!(set && o.id == 0) &&
		    (!o.addr || parse_addr(o.addr, &family, addr)))
			goto bad;
		if (!set && o.id == 0)
			goto bad;
		fd = open_dev();
		if (fd < 0)
			return 1;
		if (set && o.key && set_key(fd, o.key)) {
			close(fd);
			return 1;
		}
		if (set) {
			struct xpmem_cmd_node n = { .node_id = o.id,
						    .family = family,
						    .port = o.port };

			memcpy(n.addr, addr, sizeof(n.addr));
			n.incarnation = o.incarnation;
			if (!n.incarnation && o.id) {
				clock_gettime(CLOCK_REALTIME, &ts);
				n.incarnation = (__u64)ts.tv_sec * 1000000000ULL +
						ts.tv_nsec;
			}
			ret = ioctl(fd, XPMEM_IOC_SET_NODE, &n) ? fail("set") : 0;
		} else {
			struct xpmem_cmd_peer p = { .node_id = o.id,
						    .family = family,
						    .port = o.port,
						    .incarnation = o.incarnation };

			memcpy(p.addr, addr, sizeof(p.addr));
			ret = ioctl(fd, XPMEM_IOC_ADD_PEER, &p) ?
			      fail("add-peer") : 0;
		}
	} else if (!strcmp(cmd, "del-peer")) {
		struct xpmem_cmd_peer p = { .node_id = o.id };

		if (o.addr || o.id == 0)
			goto bad;
		fd = open_dev();
		if (fd < 0)
			return 1;
		ret = ioctl(fd, XPMEM_IOC_DEL_PEER, &p) ? fail("del-peer") : 0;
	} else if (!strcmp(cmd, "ping")) {
		if (o.addr || !ping_ids_ok(&o))
			goto bad;
		fd = open_dev();
		if (fd < 0)
			return 1;
		ret = o.nids > 1 ? do_ping_fanout(fd, &o) : do_ping(fd, &o);
	} else {
		goto bad;
	}
	close(fd);
	return ret;
bad:
	fprintf(stderr, usage, XPMEM_DEFAULT_PORT);
	return 2;
}
