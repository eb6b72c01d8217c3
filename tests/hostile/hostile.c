// SPDX-License-Identifier: GPL-2.0
/*
 * hostile: the hostile-peer test of issue 14, run in 2 VMs by
 * tests/hostile/run.sh.  Node 1 is attacked; node 2 attacks it while a
 * genuine attacher on node 2 keeps using a segment of node 1.
 *
 *   hostile agent PORT
 *       node 1 (root): owns a canary segment (uid 1000, 0600), a test
 *       segment (0666) for the authenticated test peer and the genuine
 *       segment (0666), and answers one-line queries over TCP: segment
 *       ids, /proc/xpmem/peers lines, counters, checksums, kernel reports.
 *   hostile genuine AGENT_IP PORT STATUS_FILE
 *       node 2: attach, read and check, write, sync, detach, in a loop
 *       until SIGTERM; STATUS_FILE gets "iterations failures last".
 *   hostile attack [OPTIONS] AGENT_IP PORT
 *       node 2: the attacks; prints PASS/FAIL per case and
 *       "N passed, N failed".
 *         --as unpriv|nokey|keyed  who attacks (keyed: the test peer with
 *                                   the key: replays, malformed messages,
 *                                   mutations)
 *         --proto 2|3|4|auto       wire protocol (auto: 4 if the local
 *                                   /proc/xpmem/peers shows auth_failures;
 *                                   4 is 3 with FETCH naming the faulting
 *                                   page and the coalesced INVALIDATE)
 *         --key FILE               the cluster key (keyed)
 *         --node1 IP --me IP --alt IP   addresses (10.77.0.1/.2/.3)
 *         --test-node N            the test peer's id at node 1 (3)
 *         --fuzz N --seed S --fuzz-start I   mutated messages
 *   hostile setkey KEY_FILE
 *       sets the link key derived from the cluster key (root).
 *   hostile final AGENT_IP PORT STATUS_FILE
 *       node 2, after the genuine loop stopped: the genuine attacher's
 *       result, one more genuine attach, node 1's gauges and kernel log.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <xpmem.h>
#include <xpmem_uapi.h>

#include "../common/line_sock.h"
#include "cluster_key.h"
#include "hconn.h"

#define CANARY_PAGES	16
#define TEST_PAGES	64
#define GENUINE_PAGES	32
#define CANARY_UID	1000

static int npass, nfail;
static long long ms_now(void);

/* One case's line; [N ms] is the time since the last case's line. */
static __attribute__((format(printf, 3, 4)))
void result(int ok, const char *name, const char *fmt, ...)
{
	static long long last;
	long long now = ms_now();
	va_list ap;

	printf("%s %s: ", ok ? "PASS" : "FAIL", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" [%lld ms]\n", last ? now - last : 0);
	last = now;
	fflush(stdout);
	if (ok)
		npass++;
	else
		nfail++;
}

static void die(const char *what)
{
	fprintf(stderr, "hostile: %s: %s\n", what, strerror(errno));
	exit(2);
}

static uint8_t canary_byte(size_t i)
{
	return (uint8_t)(i * 31 + 0xc5 + (i >> 12));
}

static uint8_t test_byte(size_t i)
{
	return (uint8_t)(i * 13 + 7 + (i >> 12));
}

static uint8_t genuine_byte(size_t i)
{
	return (uint8_t)(i * 7 + 1 + (i >> 12));
}

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "key value" pairs of a /proc/xpmem line: the value after @key, or -1. */
static long long kv(const char *line, const char *key)
{
	size_t kl = strlen(key);
	const char *p = line;

	while ((p = strstr(p, key))) {
		if ((p == line || p[-1] == ' ') && p[kl] == ' ')
			return strtoll(p + kl + 1, NULL, 0);
		p += kl;
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* agent (node 1)                                                      */

struct agent {
	uint8_t *canary, *test, *genuine;
	xpmem_segid_t canary_id, test_id, genuine_id;
	pid_t canary_owner;
};

static int peers_line(const char *what, char *out, size_t max)
{
	FILE *f = fopen("/proc/xpmem/peers", "r");
	char line[1024];
	int found = 0;

	snprintf(out, max, "none");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, what, strlen(what)) &&
		    line[strlen(what)] == ' ') {
			snprintf(out, max, "%s", line);
			found = 1;
			break;
		}
	}
	fclose(f);
	return found;
}

static long long counter_value(const char *name)
{
	FILE *f = fopen("/proc/xpmem/counters", "r");
	char line[256];
	long long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(name);

		if (!strncmp(line, name, n) && line[n] == ' ') {
			v = strtoll(line + n + 1, NULL, 0);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Every refusal the module counts: per peer and global. */
static long long refusals(void)
{
	static const char *const keys[] = { "rejected", "malformed",
		"auth_failures", "conn_refused" };
	FILE *f = fopen("/proc/xpmem/peers", "r");
	long long sum = 0, v;
	size_t k;

	if (f) {
		char line[1024];

		while (fgets(line, sizeof(line), f))
			for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
				if ((v = kv(line, keys[k])) > 0)
					sum += v;
		fclose(f);
	}
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if ((v = counter_value(keys[k])) > 0)
			sum += v;
	return sum;
}

/*
 * Kernel reports so far: their number and the first one.  The same lines
 * fail a run-vm run (tests/vm/kernel-log-patterns, minus
 * kernel-log-ignore, found next to this program's folder), so boot-time
 * lines such as the debug kernel's "kmemleak: ... initialized" do not
 * count here either.
 */
static int kernel_reports(char *first, size_t max)
{
	char exe[512], cmd[1400], line[1024];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *f;
	int n = 0;

	if (len <= 0)
		return -1;
	exe[len] = 0;
	*strrchr(exe, '/') = 0;		/* tests/hostile */
	snprintf(cmd, sizeof(cmd), "%s/../vm/kernel-log-patterns", exe);
	if (access(cmd, R_OK))
		return -1;		/* never "no reports" unchecked */
	snprintf(cmd, sizeof(cmd),
		 "bash -c 'rules() { grep -Ev \"^(#|$)\" \"%s/../vm/$1\"; }; "
		 "dmesg 2>/dev/null | grep -Ev -f <(rules kernel-log-ignore) | "
		 "grep -E -f <(rules kernel-log-patterns)'", exe);
	f = popen(cmd, "r");
	snprintf(first, max, "-");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!n++) {
			line[strcspn(line, "\n")] = 0;
			snprintf(first, max, "%s", line);
		}
	}
	pclose(f);
	return n;
}

static void agent_make(struct agent *a)
{
	int pfd[2];
	size_t i;

	/* The canary: shared memory, owned (xpmem_make) by uid 1000. */
	a->canary = mmap(NULL, CANARY_PAGES * H_PAGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (a->canary == MAP_FAILED || pipe(pfd))
		die("canary");
	for (i = 0; i < CANARY_PAGES * H_PAGE; i++)
		a->canary[i] = canary_byte(i);
	a->canary_owner = fork();
	if (a->canary_owner < 0)
		die("fork");
	if (!a->canary_owner) {
		xpmem_segid_t id;

		if (setgid(CANARY_UID) || setuid(CANARY_UID))
			_exit(3);
		id = xpmem_make(a->canary, CANARY_PAGES * H_PAGE,
				XPMEM_PERMIT_MODE, (void *)0600);
		if (write(pfd[1], &id, sizeof(id)) != sizeof(id))
			_exit(3);
		for (;;)
			pause();
	}
	if (read(pfd[0], &a->canary_id, sizeof(a->canary_id)) !=
	    sizeof(a->canary_id) || a->canary_id <= 0)
		die("canary segment");
	close(pfd[0]);
	close(pfd[1]);

	a->test = mmap(NULL, TEST_PAGES * H_PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	a->genuine = mmap(NULL, GENUINE_PAGES * H_PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a->test == MAP_FAILED || a->genuine == MAP_FAILED)
		die("mmap");
	for (i = 0; i < TEST_PAGES * H_PAGE; i++)
		a->test[i] = test_byte(i);
	for (i = 0; i < GENUINE_PAGES * H_PAGE; i++)
		a->genuine[i] = genuine_byte(i);
	memset(a->genuine, 0, 8);
	a->test_id = xpmem_make(a->test, TEST_PAGES * H_PAGE,
				XPMEM_PERMIT_MODE, (void *)0666);
	a->genuine_id = xpmem_make(a->genuine, GENUINE_PAGES * H_PAGE,
				   XPMEM_PERMIT_MODE, (void *)0666);
	if (a->test_id <= 0 || a->genuine_id <= 0)
		die("xpmem_make");
}

static int canary_intact(const struct agent *a)
{
	size_t i;

	for (i = 0; i < CANARY_PAGES * H_PAGE; i++)
		if (a->canary[i] != canary_byte(i))
			return 0;
	return 1;
}

/* One request line; returns 1 to end the agent. */
static int agent_serve(struct agent *a, int fd, char *req)
{
	char out[1200], buf[1024];
	unsigned long long x = 0;
	int n;

	if (!strcmp(req, "ids")) {
		line_send(fd, "%llx %llx %llx %d %d", (long long)a->canary_id,
			  (long long)a->test_id, (long long)a->genuine_id,
			  TEST_PAGES, GENUINE_PAGES);
	} else if (sscanf(req, "peer %llu", &x) == 1) {
		snprintf(out, sizeof(out), "node %llu", x);
		peers_line(out, buf, sizeof(buf));
		line_send(fd, "%.500s", buf);
	} else if (!strcmp(req, "local")) {
		peers_line("local", buf, sizeof(buf));
		line_send(fd, "%.500s", buf);
	} else if (!strcmp(req, "refusals")) {
		line_send(fd, "%lld", refusals());
	} else if (!strncmp(req, "counter ", 8)) {
		line_send(fd, "%lld", counter_value(req + 8));
	} else if (!strcmp(req, "sums")) {
		line_send(fd, "%d %" PRIx64, canary_intact(a),
			  h_fnv(a->test, TEST_PAGES * H_PAGE));
	} else if (sscanf(req, "pagesum %llu", &x) == 1) {
		line_send(fd, "%" PRIx64, x < TEST_PAGES ?
			  h_fnv(a->test + x * H_PAGE, H_PAGE) : 0);
	} else if (sscanf(req, "testbyte %llu", &x) == 1) {
		line_send(fd, "%d", x < TEST_PAGES * H_PAGE ? a->test[x] : -1);
	} else if (!strcmp(req, "gval")) {
		uint64_t v;

		memcpy(&v, a->genuine, 8);
		line_send(fd, "%" PRIu64, v);
	} else if (!strcmp(req, "reports")) {
		n = kernel_reports(buf, sizeof(buf));
		line_send(fd, "%d %.400s", n, buf);
	} else if (!strcmp(req, "quit")) {
		line_send(fd, "bye");
		return 1;
	} else {
		line_send(fd, "? %.100s", req);
	}
	return 0;
}

static int cmd_agent(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct agent a = { 0 };
	int ls, one = 1, done = 0, status;
	char req[LINE_SOCK_MAX];

	if (argc < 1)
		return 2;
	agent_make(&a);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_port = htons((uint16_t)atoi(argv[0]));
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(ls, 8))
		die("agent socket");
	printf("agent: canary %llx (uid %d, 0600) test %llx genuine %llx\n",
	       (long long)a.canary_id, CANARY_UID, (long long)a.test_id,
	       (long long)a.genuine_id);
	fflush(stdout);
	while (!done) {
		int fd = accept(ls, NULL, NULL);

		if (fd < 0)
			continue;
		while (!done && !line_recv(fd, req, sizeof(req)))
			done = agent_serve(&a, fd, req);
		close(fd);
	}
	close(ls);
	printf("agent: canary %s at exit\n",
	       canary_intact(&a) ? "intact" : "CHANGED");
	xpmem_remove(a.test_id);
	xpmem_remove(a.genuine_id);
	kill(a.canary_owner, SIGKILL);
	waitpid(a.canary_owner, &status, 0);
	return canary_intact(&a) ? 0 : 1;
}

/* ------------------------------------------------------------------ */
/* the agent's client                                                  */

static int agent_fd = -1;

static int agent_connect(const char *ip, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int i;

	sa.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &sa.sin_addr);
	for (i = 0; i < 600; i++) {
		agent_fd = socket(AF_INET, SOCK_STREAM, 0);
		if (agent_fd >= 0 &&
		    !connect(agent_fd, (struct sockaddr *)&sa, sizeof(sa)))
			return 0;
		close(agent_fd);
		usleep(100000);
	}
	return -1;
}

static __attribute__((format(printf, 1, 2)))
const char *ask(const char *fmt, ...)
{
	static char ans[LINE_SOCK_MAX];
	char req[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(req, sizeof(req), fmt, ap);
	va_end(ap);
	if (line_send(agent_fd, "%s", req) ||
	    line_recv(agent_fd, ans, sizeof(ans))) {
		fprintf(stderr, "hostile: the agent is gone\n");
		exit(2);
	}
	return ans;
}

static long long ask_ll(const char *what)
{
	return strtoll(ask("%s", what), NULL, 0);
}

/* ------------------------------------------------------------------ */
/* genuine attacher (node 2)                                          */

static sigjmp_buf fault_jmp;
static volatile sig_atomic_t stop;

static void on_fault(int sig)
{
	siglongjmp(fault_jmp, sig);
}

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* One attach, check and write; 0 or a description of the failure. */
static const char *genuine_round(xpmem_apid_t apid, uint64_t value)
{
	struct xpmem_addr xa = { .apid = apid, .offset = 0 };
	volatile uint8_t *p;
	size_t i;

	p = xpmem_attach(xa, GENUINE_PAGES * H_PAGE, NULL);
	if (p == (void *)-1)
		return "attach failed";
	if (sigsetjmp(fault_jmp, 1)) {
		xpmem_detach((void *)p);
		return "SIGBUS";
	}
	for (i = 8; i < GENUINE_PAGES * H_PAGE; i++)
		if (p[i] != genuine_byte(i)) {
			xpmem_detach((void *)p);
			return "wrong data";
		}
	*(volatile uint64_t *)p = value;
	if (xpmem_sync((void *)p, H_PAGE, XPMEM_SYNC_RELEASE)) {
		xpmem_detach((void *)p);
		return "sync failed";
	}
	if (xpmem_detach((void *)p))
		return "detach failed";
	return NULL;
}

static void write_status(const char *path, uint64_t it, uint64_t fails,
			 uint64_t last, const char *why)
{
	char tmp[512];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %s\n", it, fails,
		last, why ? why : "-");
	fclose(f);
	rename(tmp, path);
}

static int cmd_genuine(int argc, char **argv)
{
	unsigned long long ids[3];
	const char *why, *first = NULL;
	uint64_t it = 0, fails = 0, last = 0;
	xpmem_apid_t apid;

	if (argc < 3 || agent_connect(argv[0], atoi(argv[1])))
		return 2;
	if (sscanf(ask("ids"), "%llx %llx %llx", &ids[0], &ids[1],
		   &ids[2]) != 3)
		return 2;
	close(agent_fd);
	signal(SIGBUS, on_fault);
	signal(SIGSEGV, on_fault);
	signal(SIGTERM, on_term);
	apid = xpmem_get((xpmem_segid_t)ids[2], XPMEM_RDWR, XPMEM_PERMIT_MODE,
			 NULL);
	if (apid < 0) {
		write_status(argv[2], 0, 1, 0, "get failed");
		return 1;
	}
	while (!stop) {
		why = genuine_round(apid, it + 1);
		it++;
		if (why) {
			fails++;
			if (!first)
				first = why;
		} else {
			last = it;
		}
		write_status(argv[2], it, fails, last, first);
		usleep(20000);
	}
	xpmem_release(apid);
	write_status(argv[2], it, fails, last, first);
	printf("genuine: %" PRIu64 " rounds, %" PRIu64 " failed%s%s\n", it,
	       fails, first ? ", first: " : "", first ? first : "");
	return fails ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* attacks                                                             */

enum who { AS_UNPRIV, AS_NOKEY, AS_KEYED };

struct ctx {
	enum who who;
	int proto;
	const char *node1, *me, *alt;
	uint16_t test_node;
	uint8_t link[32];
	int have_key;
	uint64_t canary, test, genuine;
	uint64_t node2_inc;
	uint64_t fuzz, seed, fuzz_start;
};

static void h_opts_init(const struct ctx *c, struct h_opts *o, uint16_t src,
			const char *ip)
{
	memset(o, 0, sizeof(*o));
	o->src_ip = ip;
	o->reserved_port = 1;
	o->dst_ip = c->node1;
	h_ident_default(&o->id, c->proto, src, 1);
	o->id.incarnation = c->node2_inc;
	o->auth = c->have_key ? H_AUTH_GOOD : H_AUTH_BADMAC;
	o->link_key = c->have_key ? c->link : NULL;
	o->timeout_ms = 3000;
}

/* What a case must not change: node 2's fences, the canary. */
struct base {
	long long fences;
	int canary;
};

static void base_take(struct base *b)
{
	char line[LINE_SOCK_MAX];

	snprintf(line, sizeof(line), "%s", ask("peer 2"));
	b->fences = kv(line, "fences");
	b->canary = !strncmp(ask("sums"), "1 ", 2);
}

/*
 * The genuine connection (node 2 up at node 1, not fenced since @b) and
 * the canary (not changed since @b); appends what is wrong to @why.
 */
static int base_ok(const struct base *b, char *why, size_t max)
{
	char line[LINE_SOCK_MAX];
	size_t n = strlen(why);
	int ok = 1;

	snprintf(line, sizeof(line), "%s", ask("peer 2"));
	if (!strstr(line, "state up") || kv(line, "fences") != b->fences) {
		ok = 0;
		snprintf(why + n, max - n, "; GENUINE CONNECTION DISTURBED: %.300s",
			 line);
		n = strlen(why);
	}
	if (b->canary && strncmp(ask("sums"), "1 ", 2)) {
		ok = 0;
		snprintf(why + n, max - n, "; CANARY CHANGED");
	}
	return ok;
}

static void put_get(uint8_t *p, uint64_t segid, uint32_t flags, uint32_t uid,
		    uint32_t gid)
{
	uint64_t s = htole64(segid);
	uint32_t v[4] = { htole32(flags), htole32(uid), htole32(gid), 0 };

	memcpy(p, &s, 8);
	memcpy(p + 8, v, 16);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static int32_t status_of(const struct h_reply *r)
{
	int32_t s;

	if (r->len < 4)
		return (r->flags & H_F_NOHANDLER) ? -95 : 0;
	memcpy(&s, r->head, 4);
	return (int32_t)le32toh((uint32_t)s);
}

/*
 * What an attacker sends before (or instead of) authenticating: a GET of
 * the canary claiming its owner, ATTACH, FETCH and WRITEBACK of guessed
 * handles, and a PING.  @first picks the first message's type (0 = GET).
 */
static void send_probes(struct hconn *hc, const struct ctx *c, int first)
{
	uint8_t p[128];
	int types[] = { first ? first : H_GET, H_GET, H_ATTACH, H_FETCH,
			H_WRITEBACK, H_PING };
	size_t i, len;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		memset(p, 0, sizeof(p));
		switch (types[i]) {
		case H_GET:
			put_get(p, c->canary, 2, CANARY_UID, CANARY_UID);
			len = 24;
			break;
		case H_ATTACH:
			put64(p, 1);
			put64(p + 16, 1);
			len = 32;
			break;
		case H_FETCH:
			put64(p, 1);
			put32(p + 16, 1);
			len = 24;
			break;
		case H_WRITEBACK:
			put64(p, 1);
			put32(p + 8, 1);	/* one page */
			put32(p + 28, 8);	/* len */
			put32(p + 24, 1);	/* nruns */
			put16(p + 34, 4);	/* run len 4 at offset 0 */
			memcpy(p + 36, "EVIL", 4);
			len = 40;
			break;
		case H_CREDIT:
			len = 0;
			break;
		default:
			put64(p, 1);
			len = 24;
			break;
		}
		if (types[i] == H_CREDIT) {
			struct h_hdr h;

			h_fill_hdr(hc, &h, H_CREDIT, 0, 0, 0);
			h_send_raw(hc, &h, sizeof(h), 1, 200);
		} else {
			h_send(hc, (uint16_t)types[i], H_F_REQUEST, p, len, 200);
		}
		if (hc->dead)
			break;
	}
}

struct conn_case {
	const char *name;
	uint16_t src;		/* claimed node id */
	int alt_ip;		/* from the wrong address */
	int inc;		/* 0 real, 1 stale, 2 future, 3 zero */
	int gen;		/* 0 now, 1 stale (1), 2 future (max) */
	int version;		/* 0 = ours */
	uint32_t magic;		/* 0 = right */
	enum h_auth auth;
	int first;		/* first message's type (0 GET) */
	int silent;		/* send nothing: the AUTH timeout */
	int privileged;		/* needs a reserved port (root) */
};

/*
 * One connection-level attack: it must be refused (REJECTED, no answer,
 * or the connection dropped) without any reply to what was sent, be
 * counted, leave the canary alone and the genuine connection up.
 */
static void conn_attack(const struct ctx *c, const struct conn_case *k)
{
	struct hconn hc;
	struct h_opts o;
	enum h_result r;
	long long before = ask_ll("refusals"), after, t0;
	char why[600] = "", name[96];
	struct base b;
	int ok = 1;

	base_take(&b);
	snprintf(name, sizeof(name), "%s-%s",
		 c->who == AS_UNPRIV ? "unpriv" : c->who == AS_NOKEY ?
		 "nokey" : "keyed", k->name);
	h_opts_init(c, &o, k->src, k->alt_ip ? c->alt : c->me);
	o.link_key = NULL;	/* the attacker has no key */
	o.auth = k->auth;
	if (k->inc == 1)
		o.id.incarnation = c->node2_inc - 1;
	else if (k->inc == 2)
		o.id.incarnation = c->node2_inc + 1;
	else if (k->inc == 3)
		o.id.incarnation = 0;
	if (k->gen == 1)
		o.id.gen = 1;
	else if (k->gen == 2)
		o.id.gen = UINT64_MAX;
	if (k->version)
		o.id.version = (uint16_t)k->version;
	if (k->magic)
		o.id.magic = k->magic;
	r = h_connect(&hc, &o);
	if (r == H_UP && c->proto >= 3 && c->who == AS_UNPRIV) {
		ok = 0;
		snprintf(why, sizeof(why), "accepted from port %d",
			 hc.local_port);
	}
	if (r == H_UP) {
		int ms;

		if (!k->silent)
			send_probes(&hc, c, k->first);
		ms = k->silent ? 9000 : 3000;
		t0 = ms_now();
		while (!hc.dead && ms_now() - t0 < ms)
			h_progress(&hc, 50);
		if (hc.rx_replies || hc.rx_requests) {
			ok = 0;
			snprintf(why, sizeof(why),
				 "answered: %" PRIu64 " replies (first status %d), %" PRIu64 " requests",
				 hc.rx_replies, hc.replies[1].used ?
				 status_of(&hc.replies[1]) : 0,
				 hc.rx_requests);
		} else if (!hc.dead) {
			ok = 0;
			snprintf(why, sizeof(why),
				 "connection still up after %d ms", ms);
		} else if (!why[0]) {
			snprintf(why, sizeof(why), "dropped (%s) after %lld ms",
				 hc.why, ms_now() - t0);
		}
	} else if (r == H_REJECTED) {
		snprintf(why, sizeof(why), "rejected, reason %d",
			 hc.reject_reason);
	} else {
		snprintf(why, sizeof(why), "refused: %s",
			 hc.why ? hc.why : "?");
	}
	h_close(&hc);
	/* counted: the teardown may lag the event a little */
	for (t0 = ms_now(); (after = ask_ll("refusals")) <= before &&
	     ms_now() - t0 < 1000;)
		usleep(20000);
	if (after <= before) {
		ok = 0;
		snprintf(why + strlen(why), sizeof(why) - strlen(why),
			 "; not counted");
	}
	if (!base_ok(&b, why, sizeof(why)))
		ok = 0;
	result(ok, name, "%s", why);
}

static void conn_attacks(const struct ctx *c)
{
	static const struct conn_case cases[] = {
		{ "node2-right-addr", 2, 0, 0, 0, 0, 0, H_AUTH_BADMAC, 0, 0, 0 },
		{ "node2-future-gen", 2, 0, 0, 2, 0, 0, H_AUTH_BADMAC, 0, 0, 0 },
		{ "node2-stale-gen", 2, 0, 0, 1, 0, 0, H_AUTH_BADMAC, 0, 0, 0 },
		{ "node2-stale-inc", 2, 0, 1, 0, 0, 0, H_AUTH_BADMAC, 0, 0, 0 },
		{ "node2-future-inc", 2, 0, 2, 2, 0, 0, H_AUTH_BADMAC, 0, 0, 0 },
		{ "node2-zero-inc", 2, 0, 3, 0, 0, 0, H_AUTH_BADMAC, 0, 0, 0 },
		{ "node2-wrong-addr", 2, 1, 0, 2, 0, 0, H_AUTH_BADMAC, 0, 0, 0 },
		{ "testpeer-claimed", 3, 0, 0, 2, 0, 0, H_AUTH_BADMAC, 0, 0, 0 },
		{ "unknown-id-4", 4, 0, 0, 0, 0, 0, H_AUTH_BADMAC, 0, 0, 0 },
		{ "unknown-id-32767", 32767, 0, 0, 0, 0, 0, H_AUTH_BADMAC, 0, 0, 0 },
		{ "unknown-id-65535", 65535, 0, 0, 0, 0, 0, H_AUTH_BADMAC, 0, 0, 0 },
		{ "id-0", 0, 0, 0, 0, 0, 0, H_AUTH_BADMAC, 0, 0, 0 },
		{ "own-id-1", 1, 0, 0, 0, 0, 0, H_AUTH_BADMAC, 0, 0, 0 },
		{ "bad-magic", 2, 0, 0, 2, 0, 0xdeadbeef, H_AUTH_BADMAC, 0, 0, 0 },
		{ "version-9", 2, 0, 0, 2, 9, 0, H_AUTH_BADMAC, 0, 0, 0 },
		{ "no-auth-get", 2, 0, 0, 2, 0, 0, H_AUTH_SKIP, H_GET, 0, 1 },
		{ "no-auth-ping", 2, 0, 0, 2, 0, 0, H_AUTH_SKIP, H_PING, 0, 1 },
		{ "no-auth-release", 2, 0, 0, 2, 0, 0, H_AUTH_SKIP, H_RELEASE, 0, 1 },
		{ "no-auth-fetch", 2, 0, 0, 2, 0, 0, H_AUTH_SKIP, H_FETCH, 0, 1 },
		{ "no-auth-writeback", 2, 0, 0, 2, 0, 0, H_AUTH_SKIP, H_WRITEBACK, 0, 1 },
		{ "no-auth-drop", 2, 0, 0, 2, 0, 0, H_AUTH_SKIP, H_DROP, 0, 1 },
		{ "no-auth-invalidate", 2, 0, 0, 2, 0, 0, H_AUTH_SKIP, H_INVALIDATE, 0, 1 },
		{ "no-auth-revoke", 2, 0, 0, 2, 0, 0, H_AUTH_SKIP, H_REVOKE, 0, 1 },
		{ "no-auth-attach", 2, 0, 0, 2, 0, 0, H_AUTH_SKIP, H_ATTACH, 0, 1 },
		{ "no-auth-detach", 2, 0, 0, 2, 0, 0, H_AUTH_SKIP, H_DETACH, 0, 1 },
		{ "no-auth-credit", 2, 0, 0, 2, 0, 0, H_AUTH_SKIP, H_CREDIT, 0, 1 },
		{ "no-auth-type-0", 2, 0, 0, 2, 0, 0, H_AUTH_SKIP, 0x4000, 0, 1 },
		{ "auth-short", 2, 0, 0, 2, 0, 0, H_AUTH_SHORT, 0, 0, 1 },
		{ "auth-silent", 2, 0, 0, 2, 0, 0, H_AUTH_SKIP, 0, 1, 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct conn_case *k = &cases[i];

		/* Without a reserved port these are the same as the rest. */
		if (k->privileged && c->who == AS_UNPRIV)
			continue;
		/* Version 2 has no AUTH: those cases are the others there. */
		if (c->proto < 3 && (k->auth != H_AUTH_BADMAC || k->silent))
			continue;
		conn_attack(c, k);
	}
}

/* ------------------------------------------------------------------ */
/* the authenticated test peer                                         */

struct sess {
	struct hconn hc;
	uint64_t rap, rap_ro, ratt, ratt_ro;
	int opens;
};

static int sess_open(const struct ctx *c, struct sess *s, char *why,
		     size_t max)
{
	const struct h_reply *r;
	struct h_opts o;
	uint8_t p[64];
	int tries;

	h_close(&s->hc);
	for (tries = 0; tries < 20; tries++) {
		h_opts_init(c, &o, c->test_node, c->me);
		o.id.incarnation = 0x7465737470656572ULL;	/* "testpeer" */
		if (h_connect(&s->hc, &o) == H_UP)
			break;
		snprintf(why, max, "test peer connect: %s (reason %d)",
			 s->hc.why ? s->hc.why : "?", s->hc.reject_reason);
		h_close(&s->hc);
		usleep(100000);
	}
	if (tries == 20)
		return -1;
	s->opens++;
	s->rap = s->rap_ro = s->ratt = s->ratt_ro = 0;
	put_get(p, c->test, 2, 0, 0);
	r = h_call(&s->hc, H_GET, p, 24, 5000);
	if (r && !status_of(r))
		memcpy(&s->rap, r->head + 8, 8);
	put_get(p, c->test, 1, 0, 0);
	r = h_call(&s->hc, H_GET, p, 24, 5000);
	if (r && !status_of(r))
		memcpy(&s->rap_ro, r->head + 8, 8);
	memset(p, 0, sizeof(p));
	put64(p, s->rap);
	put64(p + 16, TEST_PAGES);
	put64(p + 24, 0x1111);
	r = h_call(&s->hc, H_ATTACH, p, 32, 5000);
	if (r && !status_of(r))
		memcpy(&s->ratt, r->head + 8, 8);
	put64(p, s->rap_ro);
	put64(p + 24, 0x2222);
	r = h_call(&s->hc, H_ATTACH, p, 32, 5000);
	if (r && !status_of(r))
		memcpy(&s->ratt_ro, r->head + 8, 8);
	if (!s->rap || !s->rap_ro || !s->ratt || !s->ratt_ro) {
		snprintf(why, max, "test peer GET/ATTACH failed (%s)",
			 s->hc.dead ? s->hc.why : "error status");
		return -1;
	}
	return 0;
}

/* The replay: a recorded AUTH on a new connection with the same REQ. */
static void replay_attacks(const struct ctx *c, struct sess *s)
{
	struct hconn hc;
	struct h_opts o;
	enum h_result r;
	char why[600] = "";
	uint8_t req[48], mac[32];
	long long t0;
	int ok, variant;

	/* A genuine keyed handshake first: it is recorded. */
	h_opts_init(c, &o, c->test_node, c->me);
	r = h_connect(&hc, &o);
	ok = r == H_UP && h_call(&hc, H_PING, "x", 1, 3000);
	result(ok, "keyed-handshake", "%s",
	       ok ? "the test peer's handshake works (mac_p checked)" :
	       r == H_BADREP ? "the accept's mac_p is wrong" :
	       hc.why ? hc.why : "no PING reply");
	memcpy(req, hc.req, 48);
	memcpy(mac, hc.auth_sent, 32);
	h_close(&hc);
	if (!ok)
		return;
	for (variant = 0; variant < 2; variant++) {
		long long before = ask_ll("refusals");
		struct base b;

		base_take(&b);		h_opts_init(c, &o, c->test_node, c->me);
		o.link_key = NULL;
		o.auth = H_AUTH_GIVEN;
		memcpy(o.auth_payload, mac, 32);
		if (variant == 0) {	/* the very same request */
			memcpy(&o.id.gen, req + 24, 8);
			memcpy(&o.id.incarnation, req + 16, 8);
			o.id.fixed_nonce = 1;
			memcpy(o.id.nonce, req + 32, 16);
		}
		r = h_connect(&hc, &o);
		ok = 1;
		if (r == H_UP) {
			send_probes(&hc, c, H_GET);
			for (t0 = ms_now(); !hc.dead && ms_now() - t0 < 3000;)
				h_progress(&hc, 50);
			ok = !hc.rx_replies && hc.dead;
			snprintf(why, sizeof(why), "%s", ok ? "dropped" :
				 hc.rx_replies ? "ANSWERED" : "still up");
		} else {
			snprintf(why, sizeof(why), "refused (%s)",
				 hc.why ? hc.why : "?");
		}
		h_close(&hc);
		for (t0 = ms_now(); ask_ll("refusals") <= before &&
		     ms_now() - t0 < 1000;)
			usleep(20000);
		if (ask_ll("refusals") <= before) {
			ok = 0;
			strcat(why, "; not counted");
		}
		if (!base_ok(&b, why, sizeof(why)))
			ok = 0;
		result(ok, variant ? "keyed-replay-auth" : "keyed-replay-req-and-auth",
		       "%s", why);
	}
	(void)s;
}

/* A directed malformed case's expectation. */
enum expect {
	EX_ERROR,	/* an error status (or the connection dropped) */
	EX_DROPPED,	/* no reply: counted as malformed, or connection dropped */
	EX_ANY,		/* any answer or none, as long as nothing breaks */
};

struct dcase {
	const char *name;
	uint16_t type, flags;
	enum expect ex;
	int hdr_mut;		/* 1 magic 2 version 3 src 4 dst 5 reserved
				 * 6 len+1 7 len-1 8 credits 0xffff
				 * 9 short(31 bytes) 10 empty 11 oversize
				 * 12 seq unknown (reply) */
	size_t len;
	uint8_t p[160];
};

/* Test segment unchanged?  Returns the sum line. */
static const char *test_sum(void)
{
	static char sum[64];

	snprintf(sum, sizeof(sum), "%s", ask("sums"));
	return sum;
}

static void run_dcase(const struct ctx *c, struct sess *s,
		      const struct dcase *d)
{
	static uint8_t msg[H_BUF_SIZE + 2 * H_PAGE];
	const struct h_reply *r = NULL;
	struct h_hdr *h = (struct h_hdr *)msg;
	char why[600] = "", sum0[64], name[96];
	long long mal0;
	size_t len = H_HDR_LEN + d->len;
	uint64_t seq;
	int ok = 1, fill = d->ex != EX_DROPPED;	/* a dropped message's
						 * credits are lost */
	char pl[LINE_SOCK_MAX];
	struct base b;

	snprintf(name, sizeof(name), "peer-%s", d->name);
	if (s->hc.dead && sess_open(c, s, why, sizeof(why))) {
		result(0, name, "%s", why);
		return;
	}
	base_take(&b);
	snprintf(sum0, sizeof(sum0), "%s", test_sum());
	snprintf(pl, sizeof(pl), "%s", ask("peer %u", c->test_node));
	mal0 = kv(pl, "malformed");
	seq = ++s->hc.seq;
	s->hc.replies[seq % H_REPLIES].used = 0;
	h_fill_hdr(&s->hc, h, d->type, d->flags, seq, (uint32_t)d->len);
	memcpy(msg + H_HDR_LEN, d->p, d->len);
	switch (d->hdr_mut) {
	case 1: h->magic ^= 1; break;
	case 2: h->version = htole16(le16toh(h->version) + 1); break;
	case 3: h->src_node = htole16(2); break;
	case 4: h->dst_node = htole16(2); break;
	case 5: h->reserved = htole32(1); break;
	case 6: h->len = htole32((uint32_t)d->len + 1); break;
	case 7: h->len = htole32((uint32_t)d->len - 1); break;
	case 8: h->credits = htole16(0xffff); fill = 0; break;
	case 9: len = 31; break;
	case 10: len = 0; break;
	case 11:
		len = H_BUF_SIZE + 64;
		memset(msg + H_HDR_LEN, 0x5a, len - H_HDR_LEN);
		h->len = htole32((uint32_t)(len - H_HDR_LEN));
		break;
	default: break;
	}
	if (h_send_raw(&s->hc, msg, len, fill, 3000)) {
		snprintf(why, sizeof(why), "could not send (%s)",
			 s->hc.why ? s->hc.why : "no credit");
		ok = 0;
	}
	/* The header is checked in order: a PING after it settles it. */
	if (ok && !s->hc.dead) {
		const struct h_reply *pr;

		r = h_wait_reply(&s->hc, seq, d->ex == EX_DROPPED ? 1 : 3000);
		pr = h_call(&s->hc, H_PING, "p", 1, 3000);
		if (!r) {
			h_progress(&s->hc, 100);
			r = h_wait_reply(&s->hc, seq, 1);
		}
		if (!pr && !s->hc.dead) {
			ok = 0;
			snprintf(why, sizeof(why),
				 "connection up but no PING reply after it");
		}
	}
	snprintf(pl, sizeof(pl), "%s", ask("peer %u", c->test_node));
	if (!ok) {
		/* already explained */
	} else if (s->hc.dead) {
		snprintf(why, sizeof(why), "connection dropped (%s)",
			 s->hc.why ? s->hc.why : "?");
		if (r && d->ex != EX_ANY && r->len > 8) {
			ok = 0;
			snprintf(why, sizeof(why),
				 "answered with %u bytes, status %d, then dropped",
				 r->len, status_of(r));
		}
	} else if (d->hdr_mut == 8) {
		long long cr = kv(pl, "credits");

		ok = cr <= H_RING;
		snprintf(why, sizeof(why),
			 ok ? "credits at node 1: %lld" :
			 "ACCEPTED: node 1 now believes it may send %lld messages (ring %d)",
			 cr, H_RING);
	} else if (d->ex == EX_DROPPED) {
		if (r) {
			ok = 0;
			snprintf(why, sizeof(why),
				 "ACCEPTED: answered, status %d, %u bytes",
				 status_of(r), r->len);
		} else if (kv(pl, "malformed") <= mal0) {
			ok = 0;
			snprintf(why, sizeof(why),
				 "no reply, but not counted as malformed");
		} else {
			snprintf(why, sizeof(why), "dropped, counted (malformed %lld)",
				 kv(pl, "malformed"));
		}
	} else if (d->ex == EX_ERROR) {
		if (!r) {
			ok = 0;
			snprintf(why, sizeof(why), "no reply, connection up");
		} else if (status_of(r) >= 0) {
			ok = 0;
			snprintf(why, sizeof(why),
				 "ACCEPTED: status %d, %u bytes", status_of(r),
				 r->len);
		} else {
			snprintf(why, sizeof(why), "status %d", status_of(r));
		}
	} else {
		snprintf(why, sizeof(why), "%s",
			 r ? "answered" : "not answered");
		if (r)
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
				 ", status %d", status_of(r));
	}
	if (d->type == H_WRITEBACK || d->type == H_FETCH) {
		const char *now = test_sum();

		if (strcmp(now, sum0)) {
			ok = 0;
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
				 "; TEST SEGMENT CHANGED");
		}
	}
	if (!base_ok(&b, why, sizeof(why)))
		ok = 0;
	result(ok, name, "%s", why);
}

static void add_wbpage(uint8_t *p, size_t *len, uint64_t page,
		       uint32_t nruns, uint32_t blen, uint16_t off,
		       uint16_t rlen, size_t data)
{
	uint8_t *q = p + *len;

	put64(q, page);
	put32(q + 8, nruns);
	put32(q + 12, blen);
	put16(q + 16, off);
	put16(q + 18, rlen);
	memset(q + 20, 0xee, data);
	*len += 20 + data;
}

static void directed_cases(const struct ctx *c, struct sess *s)
{
	struct dcase d;
	uint64_t big[] = { 0, UINT32_MAX + 1ULL, UINT64_MAX, 0x8000000000000000ULL };
	size_t i;

#define D(nm, ty, exp) do { memset(&d, 0, sizeof(d)); d.name = (nm); \
		d.type = (ty); d.flags = H_F_REQUEST; d.ex = (exp); } while (0)

	/* GET */
	D("get-empty", H_GET, EX_ERROR);
	run_dcase(c, s, &d);
	D("get-short-8", H_GET, EX_ERROR);
	put64(d.p, c->test);
	d.len = 8;
	run_dcase(c, s, &d);
	D("get-short-23", H_GET, EX_ERROR);
	put_get(d.p, c->test, 2, 0, 0);
	d.len = 23;
	run_dcase(c, s, &d);
	D("get-flags-0", H_GET, EX_ERROR);
	put_get(d.p, c->test, 0, 0, 0);
	d.len = 24;
	run_dcase(c, s, &d);
	D("get-flags-3", H_GET, EX_ERROR);
	put_get(d.p, c->test, 3, 0, 0);
	d.len = 24;
	run_dcase(c, s, &d);
	D("get-flags-all", H_GET, EX_ERROR);
	put_get(d.p, c->test, UINT32_MAX, 0, 0);
	d.len = 24;
	run_dcase(c, s, &d);
	D("get-uid-invalid", H_GET, EX_ERROR);
	put_get(d.p, c->test, 2, UINT32_MAX, 0);
	d.len = 24;
	run_dcase(c, s, &d);
	D("get-gid-invalid", H_GET, EX_ERROR);
	put_get(d.p, c->test, 2, 0, UINT32_MAX);
	d.len = 24;
	run_dcase(c, s, &d);
	for (i = 0; i < 4; i++) {
		char nm[32];

		snprintf(nm, sizeof(nm), "get-segid-%zu", i);
		D(nm, H_GET, EX_ERROR);
		put_get(d.p, big[i], 2, 0, 0);
		d.len = 24;
		run_dcase(c, s, &d);
	}
	D("get-long", H_GET, EX_ANY);
	put_get(d.p, c->test, 1, 0, 0);
	d.len = 150;
	run_dcase(c, s, &d);

	/* RELEASE, DETACH: handles that are not ours */
	for (i = 0; i < 4; i++) {
		char nm[2][32];

		snprintf(nm[0], 32, "release-id-%zu", i);
		D(nm[0], H_RELEASE, EX_ERROR);
		put64(d.p, big[i]);
		d.len = 8;
		run_dcase(c, s, &d);
		snprintf(nm[1], 32, "detach-id-%zu", i);
		D(nm[1], H_DETACH, EX_ERROR);
		put64(d.p, big[i]);
		d.len = 8;
		run_dcase(c, s, &d);
	}
	D("release-short", H_RELEASE, EX_ERROR);
	d.len = 4;
	run_dcase(c, s, &d);
	D("detach-short", H_DETACH, EX_ERROR);
	d.len = 7;
	run_dcase(c, s, &d);

	/* ATTACH */
	{
		static const struct { const char *nm; uint64_t off, n; } at[] = {
			{ "attach-npages-0", 0, 0 },
			{ "attach-npages-max", 0, UINT64_MAX },
			{ "attach-npages-2^52", 0, 1ULL << 52 },
			{ "attach-npages-2^40", 0, 1ULL << 40 },
			{ "attach-npages-size+1", 0, TEST_PAGES + 1 },
			{ "attach-offset-unaligned", 1, 1 },
			{ "attach-offset-size", TEST_PAGES * H_PAGE, 1 },
			{ "attach-offset-max", UINT64_MAX & ~4095ULL, 1 },
			{ "attach-offset+npages-wrap", H_PAGE, UINT64_MAX >> 12 },
			{ "attach-last-page+1", (TEST_PAGES - 1) * H_PAGE, 2 },
		};

		for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
			D(at[i].nm, H_ATTACH, EX_ERROR);
			put64(d.p, s->rap);
			put64(d.p + 8, at[i].off);
			put64(d.p + 16, at[i].n);
			d.len = 32;
			run_dcase(c, s, &d);
		}
		D("attach-short", H_ATTACH, EX_ERROR);
		put64(d.p, s->rap);
		d.len = 31;
		run_dcase(c, s, &d);
		D("attach-rap-unknown", H_ATTACH, EX_ERROR);
		put64(d.p, s->rap + 1000);
		put64(d.p + 16, 1);
		d.len = 32;
		run_dcase(c, s, &d);
	}

	/* FETCH */
	{
		static const struct { const char *nm; uint64_t first;
				      uint32_t n; } ft[] = {
			{ "fetch-npages-0", 0, 0 },
			{ "fetch-npages-17", 0, 17 },
			{ "fetch-npages-max", 0, UINT32_MAX },
			{ "fetch-first-npages", TEST_PAGES, 1 },
			{ "fetch-first-max", UINT64_MAX, 1 },
			{ "fetch-first+n-wrap", UINT64_MAX - 1, 16 },
			{ "fetch-past-end", TEST_PAGES - 2, 4 },
		};

		for (i = 0; i < sizeof(ft) / sizeof(ft[0]); i++) {
			D(ft[i].nm, H_FETCH, EX_ERROR);
			put64(d.p, s->ratt);
			put64(d.p + 8, ft[i].first);
			put32(d.p + 16, ft[i].n);
			d.len = 24;
			run_dcase(c, s, &d);
		}
		D("fetch-short", H_FETCH, EX_ERROR);
		put64(d.p, s->ratt);
		d.len = 20;
		run_dcase(c, s, &d);
		D("fetch-ratt-unknown", H_FETCH, EX_ERROR);
		put64(d.p, s->ratt + 1000);
		put32(d.p + 16, 1);
		d.len = 24;
		run_dcase(c, s, &d);
		/* the faulting page outside the window */
		D("fetch-fault-outside", H_FETCH, EX_ERROR);
		put64(d.p, s->ratt);
		put32(d.p + 16, 4);
		put32(d.p + 20, 4);
		d.len = 24;
		run_dcase(c, s, &d);
		D("fetch-fault-max", H_FETCH, EX_ERROR);
		put64(d.p, s->ratt);
		put32(d.p + 16, 1);
		put32(d.p + 20, UINT32_MAX);
		d.len = 24;
		run_dcase(c, s, &d);
	}

	/* WRITEBACK */
	{
		static const struct { const char *nm; uint32_t npages;
				      uint64_t page; uint32_t nruns, blen;
				      uint16_t off, rlen; size_t data;
				      int ro; } wb[] = {
			{ "wb-readonly", 1, 0, 1, 8, 0, 4, 4, 1 },
			{ "wb-npages-0-trailing", 0, 0, 1, 8, 0, 4, 4, 0 },
			{ "wb-npages-2-one-given", 2, 0, 1, 8, 0, 4, 4, 0 },
			{ "wb-npages-max", UINT32_MAX, 0, 1, 8, 0, 4, 4, 0 },
			{ "wb-page-npages", 1, TEST_PAGES, 1, 8, 0, 4, 4, 0 },
			{ "wb-page-max", 1, UINT64_MAX, 1, 8, 0, 4, 4, 0 },
			{ "wb-nruns-max", 1, 0, UINT32_MAX, 8, 0, 4, 4, 0 },
			{ "wb-nruns-2-one-given", 1, 0, 2, 8, 0, 4, 4, 0 },
			{ "wb-len-max", 1, 0, 1, UINT32_MAX, 0, 4, 4, 0 },
			{ "wb-len-short", 1, 0, 1, 7, 0, 4, 4, 0 },
			{ "wb-len-long", 1, 0, 1, 9, 0, 4, 4, 0 },
			{ "wb-len-wrap", 1, 0, 1, UINT32_MAX - 3, 0, 4, 4, 0 },
			{ "wb-run-len-0", 1, 0, 1, 4, 0, 0, 0, 0 },
			{ "wb-run-past-page", 1, 0, 1, 8, 4094, 4, 4, 0 },
			{ "wb-run-off-max", 1, 0, 1, 8, 0xffff, 4, 4, 0 },
			{ "wb-run-len-max", 1, 0, 1, 8, 0, 0xffff, 4, 0 },
			{ "wb-run-len-over-data", 1, 0, 1, 8, 0, 5, 4, 0 },
		};

		for (i = 0; i < sizeof(wb) / sizeof(wb[0]); i++) {
			D(wb[i].nm, H_WRITEBACK, EX_ERROR);
			put64(d.p, wb[i].ro ? s->ratt_ro : s->ratt);
			put32(d.p + 8, wb[i].npages);
			d.len = 16;
			add_wbpage(d.p, &d.len, wb[i].page, wb[i].nruns,
				   wb[i].blen, wb[i].off, wb[i].rlen,
				   wb[i].data);
			run_dcase(c, s, &d);
		}
		/* a good page then a bad one: nothing may be applied */
		D("wb-good-then-bad", H_WRITEBACK, EX_ERROR);
		put64(d.p, s->ratt);
		put32(d.p + 8, 2);
		d.len = 16;
		add_wbpage(d.p, &d.len, 1, 1, 8, 0, 4, 4);
		add_wbpage(d.p, &d.len, 2, 1, 8, 4094, 4, 4);
		run_dcase(c, s, &d);
		D("wb-short", H_WRITEBACK, EX_ERROR);
		put64(d.p, s->ratt);
		d.len = 12;
		run_dcase(c, s, &d);
	}

	/* other types, requests the owner does not serve */
	D("drop-no-handler", H_DROP, EX_ERROR);
	d.len = 8;
	run_dcase(c, s, &d);
	/*
	 * INVALIDATE (protocol 4): a count, a reserved word, then exactly
	 * that many (client_id, first, npages) entries; anything else is
	 * refused whole.
	 */
	D("invalidate-unknown-client", H_INVALIDATE, EX_ANY);
	put32(d.p, 1);
	put64(d.p + 8, 0x9999);
	put64(d.p + 24, 1);
	d.len = 32;
	run_dcase(c, s, &d);
	D("invalidate-unknown-huge-range", H_INVALIDATE, EX_ANY);
	put32(d.p, 2);
	put64(d.p + 8, 0x9999);
	put64(d.p + 16, ~0ULL);
	put64(d.p + 24, ~0ULL);
	put64(d.p + 32, 1);
	put64(d.p + 40, 1ULL << 63);
	put64(d.p + 48, 1ULL << 63);
	d.len = 56;
	run_dcase(c, s, &d);
	{
		static const struct { const char *nm; uint32_t n, rsv;
				      size_t entries; } iv[] = {
			{ "invalidate-count-0", 0, 0, 0 },
			{ "invalidate-count-0-with-entry", 0, 0, 1 },
			{ "invalidate-count-over-entries", 2, 0, 1 },
			{ "invalidate-count-under-entries", 1, 0, 2 },
			{ "invalidate-count-max", 0xffffffffu, 0, 1 },
			{ "invalidate-count-over-limit", 2742, 0, 4 },
			{ "invalidate-count-wraps", 0x0aaaaaabu, 0, 0 },
			{ "invalidate-reserved", 1, 1, 1 },
		};
		size_t k, j;

		for (k = 0; k < sizeof(iv) / sizeof(iv[0]); k++) {
			D(iv[k].nm, H_INVALIDATE, EX_ERROR);
			put32(d.p, iv[k].n);
			put32(d.p + 4, iv[k].rsv);
			for (j = 0; j < iv[k].entries; j++) {
				put64(d.p + 8 + 24 * j, 0x9999 + j);
				put64(d.p + 16 + 24 * j, 0);
				put64(d.p + 24 + 24 * j, 1);
			}
			d.len = 8 + 24 * iv[k].entries;
			run_dcase(c, s, &d);
		}
	}
	D("invalidate-entry-partial", H_INVALIDATE, EX_ERROR);
	put32(d.p, 1);
	put64(d.p + 8, 0x9999);
	d.len = 8 + 23;
	run_dcase(c, s, &d);
	D("revoke-unknown-client", H_REVOKE, EX_ANY);
	put64(d.p, 0x9999);
	d.len = 8;
	run_dcase(c, s, &d);
	D("invalidate-short", H_INVALIDATE, EX_ERROR);
	d.len = 3;
	run_dcase(c, s, &d);

	/* header level: dropped and counted */
	{
		static const struct { const char *nm; uint16_t type, flags;
				      int mut; } hd[] = {
			{ "hdr-type-0", 0, H_F_REQUEST, 0 },
			{ "hdr-type-11", 11, H_F_REQUEST, 0 },
			{ "hdr-type-0x7d", 0x7d, H_F_REQUEST, 0 },
			{ "hdr-type-auth-again", H_AUTH, 0, 0 },
			{ "hdr-type-max", 0xffff, H_F_REQUEST, 0 },
			{ "hdr-flags-0", H_PING, 0, 0 },
			{ "hdr-flags-req+reply", H_PING, 3, 0 },
			{ "hdr-flags-nohandler-req", H_PING, 5, 0 },
			{ "hdr-flags-8", H_PING, 8, 0 },
			{ "hdr-flags-max", H_PING, 0xffff, 0 },
			{ "hdr-credit-with-flags", H_CREDIT, 1, 0 },
			{ "hdr-magic", H_PING, H_F_REQUEST, 1 },
			{ "hdr-version", H_PING, H_F_REQUEST, 2 },
			{ "hdr-src-node-2", H_PING, H_F_REQUEST, 3 },
			{ "hdr-dst-node-2", H_PING, H_F_REQUEST, 4 },
			{ "hdr-reserved", H_PING, H_F_REQUEST, 5 },
			{ "hdr-len-plus-1", H_PING, H_F_REQUEST, 6 },
			{ "hdr-len-minus-1", H_PING, H_F_REQUEST, 7 },
			{ "hdr-31-bytes", H_PING, H_F_REQUEST, 9 },
			{ "hdr-empty-message", H_PING, H_F_REQUEST, 10 },
		};

		for (i = 0; i < sizeof(hd) / sizeof(hd[0]); i++) {
			D(hd[i].nm, hd[i].type, EX_DROPPED);
			d.flags = hd[i].flags;
			d.hdr_mut = hd[i].mut;
			d.len = 8;
			run_dcase(c, s, &d);
		}
		D("hdr-credit-with-len", H_CREDIT, EX_DROPPED);
		d.flags = 0;
		d.len = 8;
		run_dcase(c, s, &d);
	}
	/* replies to requests never sent */
	D("reply-unknown-seq", H_GET, EX_ANY);
	d.flags = H_F_REPLY;
	d.len = 24;
	run_dcase(c, s, &d);
	D("reply-nohandler-with-payload", H_FETCH, EX_DROPPED);
	d.flags = H_F_REPLY | H_F_NOHANDLER;
	d.len = 8;
	run_dcase(c, s, &d);
	D("ping-max-payload", H_PING, EX_ANY);
	d.len = 150;
	run_dcase(c, s, &d);
	/* bad credits, then the oversized message: both may kill the link */
	D("hdr-credits-0xffff", H_PING, EX_DROPPED);
	d.hdr_mut = 8;
	d.len = 8;
	run_dcase(c, s, &d);
	h_close(&s->hc);
	s->hc.dead = 1;
	D("oversized-message", H_PING, EX_DROPPED);
	d.hdr_mut = 11;
	run_dcase(c, s, &d);
#undef D
}

/* A valid WRITEBACK and FETCH: the test peer really works. */
static void baseline_cases(const struct ctx *c, struct sess *s)
{
	uint8_t p[64];
	const struct h_reply *r;
	char why[300] = "";
	int ok;
	if (s->hc.dead && sess_open(c, s, why, sizeof(why))) {
		result(0, "peer-baseline", "%s", why);
		return;
	}
	memset(p, 0, sizeof(p));
	put64(p, s->ratt);
	put64(p + 8, 5);
	put32(p + 16, 1);
	s->hc.want_sums = 1;
	r = h_call(&s->hc, H_FETCH, p, 24, 5000);
	s->hc.want_sums = 0;
	/* the version 4 reply: status, npages, first, writable, reserved */
	ok = r && !status_of(r) && r->len == 24 + H_PAGE &&
	     strtoull(ask("pagesum 5"), NULL, 16) == r->sum;
	result(ok, "peer-fetch-valid", "%s", ok ? "page 5 as the owner has it" :
	       r ? "wrong reply" : "no reply");

	memset(p, 0, sizeof(p));
	put64(p, s->ratt);
	put32(p + 8, 1);
	put64(p + 16, 3);	/* page 3 */
	put32(p + 24, 1);
	put32(p + 28, 8);
	put16(p + 32, 100);
	put16(p + 34, 4);
	memcpy(p + 36, "GOOD", 4);
	r = h_call(&s->hc, H_WRITEBACK, p, 40, 5000);
	ok = r && !status_of(r) &&
	     atoi(ask("testbyte %d", 3 * H_PAGE + 100)) == 'G' &&
	     atoi(ask("testbyte %d", 3 * H_PAGE + 103)) == 'D';
	result(ok, "peer-writeback-valid", "%s",
	       ok ? "4 bytes landed at page 3 + 100" :
	       r ? "status or bytes wrong" : "no reply");
}

/* ---- mutation ---- */

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static const uint64_t interesting[] = {
	0, 1, 2, 15, 16, 17, 63, 64, 4095, 4096, 4097, 0x7f, 0x80, 0xff,
	0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
	0x100000000ULL, 0x7fffffffffffffffULL, 0x8000000000000000ULL,
	UINT64_MAX, UINT64_MAX - 1, 65792, 65793,
};

/*
 * Message @i of the campaign: a valid message of a random type, then 1-4
 * mutations.  Depends only on (seed, i) and the session's handles.
 */
static size_t mutant(const struct ctx *c, const struct sess *s, uint64_t i,
		     uint8_t *msg)
{
	uint64_t x = c->seed ^ (i * 0xd1342543de82ef95ULL), v;
	struct h_hdr *h = (struct h_hdr *)msg;
	uint8_t *p = msg + H_HDR_LEN;
	static const uint16_t types[] = { H_PING, H_GET, H_RELEASE, H_FETCH,
		H_WRITEBACK, H_DROP, H_INVALIDATE, H_REVOKE, H_ATTACH,
		H_DETACH, H_CREDIT };
	uint16_t type = types[splitmix(&x) % 11];
	size_t len = 0, j, m, nm, off;

	memset(msg, 0, H_HDR_LEN + 512);
	switch (type) {
	case H_PING:
		len = splitmix(&x) % 128;
		for (j = 0; j < len; j++)
			p[j] = (uint8_t)splitmix(&x);
		break;
	case H_GET:
		put_get(p, c->test, 1 + (uint32_t)(splitmix(&x) % 2), 0, 0);
		len = 24;
		break;
	case H_RELEASE:
	case H_DETACH:
		put64(p, splitmix(&x) % 2 ? s->rap_ro : s->ratt_ro);
		len = 8;
		break;
	case H_ATTACH:
		put64(p, splitmix(&x) % 2 ? s->rap : s->rap_ro);
		put64(p + 8, (splitmix(&x) % TEST_PAGES) * H_PAGE);
		put64(p + 16, 1 + splitmix(&x) % 4);
		put64(p + 24, splitmix(&x));
		len = 32;
		break;
	case H_FETCH:
		put64(p, splitmix(&x) % 2 ? s->ratt : s->ratt_ro);
		put64(p + 8, splitmix(&x) % TEST_PAGES);
		put32(p + 16, 1);
		len = 24;
		break;
	case H_WRITEBACK:
		put64(p, splitmix(&x) % 2 ? s->ratt : s->ratt_ro);
		nm = 1 + splitmix(&x) % 3;
		put32(p + 8, (uint32_t)nm);
		len = 16;
		for (j = 0; j < nm; j++) {
			uint16_t rl = (uint16_t)(1 + splitmix(&x) % 16);

			add_wbpage(p, &len, splitmix(&x) % TEST_PAGES, 1,
				   4u + rl, (uint16_t)(splitmix(&x) % 4000),
				   rl, rl);
		}
		break;
	case H_INVALIDATE:
		nm = 1 + splitmix(&x) % 4;
		put32(p, (uint32_t)nm);
		len = 8;
		for (j = 0; j < nm; j++, len += 24) {
			put64(p + len, splitmix(&x));
			put64(p + len + 8, splitmix(&x) % 64);
			put64(p + len + 16, 1 + splitmix(&x) % 16);
		}
		break;
	case H_REVOKE:
		put64(p, splitmix(&x));
		len = 8;
		break;
	case H_DROP:
		len = 16;
		break;
	default:
		break;
	}
	h_fill_hdr(&s->hc, h, type, type == H_CREDIT ? 0 : H_F_REQUEST,
		   s->hc.seq + 1, (uint32_t)len);
	nm = 1 + splitmix(&x) % 4;
	for (m = 0; m < nm; m++) {
		size_t total = H_HDR_LEN + len;

		switch (splitmix(&x) % 8) {
		case 0:	/* a bit anywhere */
		case 1:
			off = splitmix(&x) % total;
			msg[off] ^= (uint8_t)(1u << (splitmix(&x) % 8));
			break;
		case 2:	/* a byte in the payload */
			if (len) {
				off = H_HDR_LEN + splitmix(&x) % len;
				msg[off] = (uint8_t)splitmix(&x);
			}
			break;
		case 3:	/* an interesting value in an aligned field */
		case 4:
			v = interesting[splitmix(&x) %
					(sizeof(interesting) / sizeof(interesting[0]))];
			j = 1u << (splitmix(&x) % 4);	/* 1, 2, 4, 8 bytes */
			if (total < j)
				break;
			off = (splitmix(&x) % (total - j + 1)) & ~(j - 1);
			v = htole64(v);
			memcpy(msg + off, &v, j);
			break;
		case 5:	/* truncate */
			if (len) {
				len = splitmix(&x) % len;
				if (splitmix(&x) % 2)
					h->len = htole32((uint32_t)len);
			}
			break;
		case 6:	/* extend */
			j = 1 + splitmix(&x) % 64;
			for (off = 0; off < j; off++)
				p[len + off] = (uint8_t)splitmix(&x);
			len += j;
			if (splitmix(&x) % 2)
				h->len = htole32((uint32_t)len);
			break;
		case 7:	/* type or flags */
			if (splitmix(&x) % 2)
				h->type = htole16((uint16_t)(splitmix(&x) % 2 ?
					splitmix(&x) % 14 : splitmix(&x)));
			else
				h->flags = htole16((uint16_t)(splitmix(&x) % 2 ?
					splitmix(&x) % 8 : splitmix(&x)));
			break;
		}
	}
	/*
	 * Never a credit return: the kernel takes a claim within what its
	 * sends used (it cannot tell a lie from the truth there), then sends
	 * into receives we never posted and stalls on RNR: a lying peer
	 * only stalls its own link, but the fuzz would stop.  Claims beyond
	 * what was used are the directed case hdr-credits-0xffff.
	 */
	h->credits = 0;
	return H_HDR_LEN + len;
}

static void fuzz(const struct ctx *c, struct sess *s)
{
	static uint8_t msg[H_HDR_LEN + 1024];
	uint64_t i, end = c->fuzz_start + c->fuzz, drops = 0, pings = 0;
	uint64_t batch = 1000, next_check = 10000;
	long long t0 = ms_now();
	char why[600] = "", rep[LINE_SOCK_MAX];
	int ok = 1, n;
	struct base b;

	base_take(&b);
	printf("fuzz: seed %#" PRIx64 ", messages %" PRIu64 "..%" PRIu64
	       " (replay: --seed %#" PRIx64 " --fuzz-start I --fuzz N)\n",
	       c->seed, c->fuzz_start, end - 1, c->seed);
	fflush(stdout);
	for (i = c->fuzz_start; i < end && ok; i++) {
		size_t len;

		if (s->hc.dead) {
			drops++;
			if (sess_open(c, s, why, sizeof(why))) {
				ok = 0;
				snprintf(why + strlen(why), sizeof(why) - strlen(why),
					 " (at message %" PRIu64 ")", i);
				break;
			}
		}
		len = mutant(c, s, i, msg);
		s->hc.seq++;
		if (h_send_raw(&s->hc, msg, len, 0, 5000) && !s->hc.dead) {
			ok = 0;
			snprintf(why, sizeof(why),
				 "no credit for 5 s at message %" PRIu64 ": node 1 stopped answering", i);
			break;
		}
		if ((i + 1) % batch == 0 && !s->hc.dead) {
			/* the link still works (or is dropped, then reopened) */
			if (h_call(&s->hc, H_PING, "sync", 4, 5000))
				pings++;
			else if (!s->hc.dead) {
				ok = 0;
				snprintf(why, sizeof(why),
					 "no PING reply after message %" PRIu64, i);
			}
		}
		if (i + 1 >= next_check || i + 1 == end) {
			next_check += 10000;
			snprintf(rep, sizeof(rep), "%s", ask("reports"));
			n = atoi(rep);
			if (n) {
				ok = 0;
				snprintf(why, sizeof(why),
					 "kernel report by message %" PRIu64 " (seed %#" PRIx64 "): %.400s",
					 i, c->seed, rep);
			}
			if (b.canary && strncmp(ask("sums"), "1 ", 2)) {
				ok = 0;
				snprintf(why, sizeof(why), "CANARY CHANGED by message %" PRIu64, i);
			}
		}
	}
	if (ok && !base_ok(&b, why, sizeof(why)))
		ok = 0;
	result(ok, "peer-fuzz", "%" PRIu64 " mutated messages in %.1f s, seed %#" PRIx64
	       ", %" PRIu64 " connection drops, %" PRIu64 " sync pings, %" PRIu64
	       " replies%s%s", i - c->fuzz_start, (ms_now() - t0) / 1000.0,
	       c->seed, drops, pings, s->hc.rx_replies, why[0] ? ": " : "", why);
}

static uint64_t local_incarnation(void)
{
	char line[1024];

	peers_line("local", line, sizeof(line));
	return (uint64_t)kv(line, "incarnation");
}

static int cmd_attack(int argc, char **argv)
{
	struct ctx c = { .proto = 0, .node1 = "10.77.0.1", .me = "10.77.0.2",
			 .alt = "10.77.0.3", .test_node = 3, .fuzz = 0,
			 .seed = 0x5eed };
	const char *key = NULL;
	unsigned long long ids[3];
	struct sess s;
	int i;

	memset(&s, 0, sizeof(s));
	for (i = 0; i < argc && argv[i][0] == '-'; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : "";

		if (!strcmp(argv[i], "--as"))
			c.who = !strcmp(v, "unpriv") ? AS_UNPRIV :
				!strcmp(v, "nokey") ? AS_NOKEY : AS_KEYED;
		else if (!strcmp(argv[i], "--proto"))
			c.proto = atoi(v);
		else if (!strcmp(argv[i], "--key"))
			key = v;
		else if (!strcmp(argv[i], "--node1"))
			c.node1 = v;
		else if (!strcmp(argv[i], "--me"))
			c.me = v;
		else if (!strcmp(argv[i], "--alt"))
			c.alt = v;
		else if (!strcmp(argv[i], "--test-node"))
			c.test_node = (uint16_t)atoi(v);
		else if (!strcmp(argv[i], "--fuzz"))
			c.fuzz = strtoull(v, NULL, 0);
		else if (!strcmp(argv[i], "--seed"))
			c.seed = strtoull(v, NULL, 0);
		else if (!strcmp(argv[i], "--fuzz-start"))
			c.fuzz_start = strtoull(v, NULL, 0);
		else
			return 2;
	}
	if (argc - i < 2)
		return 2;
	if (!c.proto) {
		char peers[LINE_SOCK_MAX];

		peers_line("node 1", peers, sizeof(peers));
		c.proto = strstr(peers, "auth_failures") ? 4 : 2;
	}
	if (key) {
		uint8_t ck[CLUSTER_KEY_LEN];
		int err = cluster_key_load(key, ck);

		if (err || cluster_link_key(ck, c.link)) {
			fprintf(stderr, "hostile: key file %s: %s\n", key,
				err ? cluster_key_strerror(err) :
				"libsodium failed");
			return 2;
		}
		c.have_key = 1;
	}
	if (c.who == AS_KEYED && c.proto >= 3 && !c.have_key)
		return 2;
	if (agent_connect(argv[i], atoi(argv[i + 1])))
		die("agent");
	if (sscanf(ask("ids"), "%llx %llx %llx", &ids[0], &ids[1],
		   &ids[2]) != 3)
		return 2;
	c.canary = ids[0];
	c.test = ids[1];
	c.genuine = ids[2];
	c.node2_inc = local_incarnation();
	printf("attack as %s (uid %d), protocol %d, node 2 incarnation %#" PRIx64
	       ", canary %llx\n", c.who == AS_UNPRIV ? "unprivileged" :
	       c.who == AS_NOKEY ? "root without the key" : "the keyed test peer",
	       (int)getuid(), c.proto, c.node2_inc, ids[0]);
	fflush(stdout);

	if (c.who != AS_KEYED) {
		conn_attacks(&c);
	} else {
		char why[600] = "";

		if (c.proto >= 3)
			replay_attacks(&c, &s);
		if (sess_open(&c, &s, why, sizeof(why))) {
			result(0, "peer-session", "%s", why);
		} else {
			baseline_cases(&c, &s);
			directed_cases(&c, &s);
			if (c.fuzz) {
				if (s.hc.dead)
					sess_open(&c, &s, why, sizeof(why));
				fuzz(&c, &s);
				/* its handles may be gone: fresh ones */
				if (sess_open(&c, &s, why, sizeof(why)))
					result(0, "peer-session-after", "%s", why);
			}
			baseline_cases(&c, &s);
		}
		h_close(&s.hc);
	}
	printf("%d passed, %d failed\n", npass, nfail);
	close(agent_fd);
	return nfail ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* final checks                                                        */

static int cmd_final(int argc, char **argv)
{
	unsigned long long ids[3], it = 0, fails = 1, last = 0;
	char first[200] = "", line[LINE_SOCK_MAX];
	const char *why;
	long long t0, v1, v2;
	xpmem_apid_t apid;
	FILE *f;
	int ok;

	if (argc < 3 || agent_connect(argv[0], atoi(argv[1])))
		return 2;
	sscanf(ask("ids"), "%llx %llx %llx", &ids[0], &ids[1], &ids[2]);
	f = fopen(argv[2], "r");
	if (f) {
		if (fscanf(f, "%llu %llu %llu %199s", &it, &fails, &last,
			   first) != 4)
			fails = 1;
		fclose(f);
	}
	v1 = strtoll(ask("gval"), NULL, 0);
	ok = it > 0 && !fails && (unsigned long long)v1 == last;
	result(ok, "genuine-during", "%llu rounds, %llu failed (first: %s), owner has %lld, last written %llu",
	       it, fails, first, v1, last);

	signal(SIGBUS, on_fault);
	apid = xpmem_get((xpmem_segid_t)ids[2], XPMEM_RDWR, XPMEM_PERMIT_MODE,
			 NULL);
	why = apid < 0 ? "get failed" : genuine_round(apid, 424242);
	if (apid >= 0)
		xpmem_release(apid);
	v2 = strtoll(ask("gval"), NULL, 0);
	result(!why && v2 == 424242, "genuine-after", "%s, owner has %lld",
	       why ? why : "attach, read, write, sync, detach", v2);

	peers_line("node 1", line, sizeof(line));
	result(strstr(line, "state up") && kv(line, "fences") == 0,
	       "genuine-link-node2", "%s", line);
	snprintf(line, sizeof(line), "%s", ask("peer 2"));
	result(strstr(line, "state up") && kv(line, "fences") == 0,
	       "genuine-link-node1", "%s", line);

	/* node 1 forgot the test peer's handles once its link went down */
	for (t0 = ms_now(); ms_now() - t0 < 5000; usleep(100000))
		if (!ask_ll("counter remote_permits") &&
		    !ask_ll("counter remote_attachments"))
			break;
	v1 = ask_ll("counter remote_permits");
	v2 = ask_ll("counter remote_attachments");
	result(!v1 && !v2, "gauges-node1", "remote_permits %lld remote_attachments %lld",
	       v1, v2);
	snprintf(line, sizeof(line), "%s", ask("reports"));
	result(atoi(line) == 0, "kernel-log-node1", "%s", line);
	result(!strncmp(ask("sums"), "1 ", 2), "canary-intact", "%llx",
	       ids[0]);
	ask("quit");
	close(agent_fd);
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}

/*
 * The link key from a cluster key file (handshake.md: HMAC-SHA256 of
 * "xpmem kernel link key v1"), set with XPMEM_IOC_SET_KEY.  A module
 * without the ioctl (protocol version 2) is told so: exit status 3.
 */
#ifndef XPMEM_IOC_SET_KEY
struct xpmem_cmd_key {
	__u32 len;
	__u32 flags;
	__u8 key[32];
};
#define XPMEM_IOC_SET_KEY _IOW(XPMEM_IOC_MAGIC, 0x14, struct xpmem_cmd_key)
#endif

static int cmd_setkey(int argc, char **argv)
{
	struct xpmem_cmd_key k = { .len = 32 };
	uint8_t ck[CLUSTER_KEY_LEN];
	int fd, ret;

	if (argc < 1 || cluster_key_load(argv[0], ck) ||
	    cluster_link_key(ck, k.key))
		return 2;
	fd = open(XPMEM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die(XPMEM_DEVICE_PATH);
	ret = ioctl(fd, XPMEM_IOC_SET_KEY, &k);
	close(fd);
	if (ret && errno == ENOTTY) {
		printf("setkey: the module has no XPMEM_IOC_SET_KEY (protocol 2)\n");
		return 3;
	}
	if (ret)
		die("XPMEM_IOC_SET_KEY");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "agent"))
		return cmd_agent(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "genuine"))
		return cmd_genuine(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "attack"))
		return cmd_attack(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "setkey"))
		return cmd_setkey(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "final"))
		return cmd_final(argc - 2, argv + 2);
	fprintf(stderr, "usage: hostile agent|genuine|attack|final ... (see the source's header)\n");
	return 2;
}
