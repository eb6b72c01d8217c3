// SPDX-License-Identifier: GPL-2.0
/*
 * scale_model: predicts invalidation and fault latency for many sharer
 * nodes from the per-stage costs bench/trace.sh measures (docs/scaling.md).
 *
 *   scale_model [options] [STAGES]     STAGES: LOGDIR/stages.txt of
 *                                      `bench/trace.sh invalidate`
 *   scale_model --self-test            checks the arithmetic on tiny cases
 *
 * The inputs, in microseconds (a STAGES file sets them, options override):
 *   --local  o   the owner's own part of an invalidation: notifier -> zap
 *                worker -> local zaps, and the worker -> notifier return
 *   --post   p   CPU time to post one INVALIDATE (the owner posts them one
 *                after the other)
 *   --rtt    r   from a posted INVALIDATE to the waiting task seeing its
 *                ack: wire both ways, the sharer's handler, the ack's
 *                completion.  From a file, every measured ack is a sample
 *                and each simulated message draws one (so the slowest of
 *                N is as slow as the measured tail makes it)
 *   --rx     c   CPU time of one ack's completion at the owner: acks that
 *                arrive together are completed one after the other
 *   --fault  F   a cold 1-page remote fault, alone
 *   --serve  f   the owner's CPU time per FETCH it serves
 *   --timeout T  net_timeout_ms, for a silent sharer (ms)
 * and -n N,N,... (sharer nodes, default 8,64,1024), -k K (tree fan-out,
 * default 8), --trials (Monte Carlo trials, default 1000), --seed.
 *
 * Fan-outs (each sharer node holds one attachment of the range):
 *   sequential  today: one round trip per attachment, in turn
 *   parallel    all N posted, then one wait: acks complete in order of
 *               arrival, each after the previous one's completion
 *   tree        the owner sends to K sharers, each of which forwards to
 *               K more before it acks (after its children acked), ...
 *   multicast   one post reaches all N (as an IB multicast group would);
 *               N acks come back to the owner
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SAMPLES 100000
#define MAX_NS 16

struct params {
	double local, post, rx, fault, serve, timeout_ms;
	double *rtt;		/* samples */
	int nrtt;
	int fanout;
	double ring, buf_kib;	/* buffers per direction and peer, KiB each */
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return x;
}

static double draw_rtt(const struct params *p)
{
	return p->nrtt == 1 ? p->rtt[0] : p->rtt[rng() % (uint64_t)p->nrtt];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	if (!n)
		return 0;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double quantile(double *v, int n, double q)
{
	int i;

	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	i = (int)(q * (n - 1) + 0.5);
	return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

/*
 * Messages posted at post, 2*post, ...; message i is acked arr[i] after
 * its post: makes arr the sorted arrival times, counted from the first
 * post's start.  drain() completes them one after the other, rx apart,
 * the first at its arrival (an rtt includes one completion).
 */
static void ack_queue(double *arr, int n, double post)
{
	int i;

	for (i = 0; i < n; i++)
		arr[i] += (i + 1) * post;
	qsort(arr, (size_t)n, sizeof(*arr), cmp_double);
}

/* The sorted arrivals @arr completed one after the other, @rx apart. */
static double drain(const double *arr, int n, double rx)
{
	double done = 0;
	int i;

	for (i = 0; i < n; i++)
		done = i == 0 ? arr[0] : (arr[i] > done + rx ? arr[i] : done + rx);
	return done;
}

static double seq_time(const struct params *p, int n)
{
	double t = p->local;
	int i;

	for (i = 0; i < n; i++)
		t += p->post + draw_rtt(p);
	return t;
}

static double par_time(const struct params *p, int n)
{
	double *arr = malloc(sizeof(*arr) * (size_t)n);
	double t;
	int i;

	if (!arr)
		exit(1);
	for (i = 0; i < n; i++)
		arr[i] = draw_rtt(p);
	ack_queue(arr, n, p->post);
	t = p->local + drain(arr, n, p->rx);
	free(arr);
	return t;
}

/*
 * A subtree of @n sharers under one node, @k children each: the time
 * from the node's post of the message to its root until the ack of that
 * subtree's root has completed at the node.  An interior sharer forwards
 * after its own zap (inside its rtt) and acks once its children did.
 */
static double subtree(const struct params *p, int n, int k)
{
	double arr[64], t = draw_rtt(p);
	int kids = n - 1 < k ? n - 1 : k, i, rest = n - 1;

	for (i = 0; i < kids; i++) {
		/* The first children get the larger shares. */
		int share = (rest + kids - i - 1) / (kids - i);

		arr[i] = subtree(p, share, k);
		rest -= share;
	}
	if (kids) {
		ack_queue(arr, kids, p->post);
		t += drain(arr, kids, p->rx);
	}
	return t;
}

static double tree_time(const struct params *p, int n, int k)
{
	double arr[64];
	int kids = n < k ? n : k, i, rest = n;

	for (i = 0; i < kids; i++) {
		int share = (rest + kids - i - 1) / (kids - i);

		arr[i] = subtree(p, share, k);
		rest -= share;
	}
	ack_queue(arr, kids, p->post);
	return p->local + drain(arr, kids, p->rx);
}

static double mcast_time(const struct params *p, int n)
{
	double *arr = malloc(sizeof(*arr) * (size_t)n);
	double t;
	int i;

	if (!arr)
		exit(1);
	for (i = 0; i < n; i++)
		arr[i] = p->post + draw_rtt(p);	/* one post for all */
	qsort(arr, (size_t)n, sizeof(*arr), cmp_double);
	t = p->local + drain(arr, n, p->rx);
	free(arr);
	return t;
}

/* The worst of N sharers re-fetching a page they all held: FETCHes queue. */
static double refetch_worst(const struct params *p, int n, int cpus)
{
	return p->fault + (n - 1) * p->serve / cpus;
}

enum fanout { SEQ, PAR, TREE, MCAST, NFAN };
static const char *const fan_name[NFAN] = {
	"sequential (today)", "parallel (one wait)", "tree", "multicast",
};

static double run_one(const struct params *p, enum fanout f, int n)
{
	switch (f) {
	case SEQ:
		return seq_time(p, n);
	case PAR:
		return par_time(p, n);
	case TREE:
		return tree_time(p, n, p->fanout);
	default:
		return mcast_time(p, n);
	}
}

static void fmt_us(char *buf, size_t len, double us)
{
	if (us >= 1e6)
		snprintf(buf, len, "%.2f s", us / 1e6);
	else if (us >= 1e3)
		snprintf(buf, len, "%.2f ms", us / 1e3);
	else
		snprintf(buf, len, "%.1f us", us);
}

static void report(const struct params *p, const int *ns, int nn, int trials)
{
	double *t = malloc(sizeof(*t) * (size_t)trials);
	double mem_conn = 2 * p->ring * p->buf_kib / 1024;	/* MiB */
	char a[32], b[32];
	int i, j, f;

	if (!t)
		exit(1);
	printf("inputs (us): local %.1f, post %.1f, ack rtt median %.1f (%d samples, max %.1f), ack completion %.1f\n",
	       p->local, p->post, median(p->rtt, p->nrtt), p->nrtt,
	       p->rtt[p->nrtt - 1], p->rx);
	printf("             cold fault %.1f, owner's CPU per FETCH %.1f, net_timeout_ms %.0f, tree fan-out %d\n\n",
	       p->fault, p->serve, p->timeout_ms, p->fanout);
	printf("invalidation of a range every sharer holds (median / p99 of %d trials)\n",
	       trials);
	printf("  %-22s", "sharers");
	for (i = 0; i < nn; i++)
		printf(" %24d", ns[i]);
	printf("\n");
	for (f = 0; f < NFAN; f++) {
		printf("  %-22s", fan_name[f]);
		for (i = 0; i < nn; i++) {
			for (j = 0; j < trials; j++)
				t[j] = run_one(p, (enum fanout)f, ns[i]);
			fmt_us(a, sizeof(a), median(t, trials));
			fmt_us(b, sizeof(b), quantile(t, trials, 0.99));
			printf(" %11s / %10s", a, b);
		}
		printf("\n");
	}
	printf("  %-22s", "one sharer silent: seq");
	for (i = 0; i < nn; i++) {
		fmt_us(a, sizeof(a), p->timeout_ms * 1e3 +
		       seq_time(p, ns[i] - 1));
		printf(" %24s", a);
	}
	printf("\n  %-22s", "  parallel/tree/mcast");
	for (i = 0; i < nn; i++) {
		fmt_us(a, sizeof(a), p->timeout_ms * 1e3 + p->local);
		printf(" %24s", a);
	}
	printf("\n\nremote fault\n  %-22s", "alone");
	for (i = 0; i < nn; i++) {
		fmt_us(a, sizeof(a), p->fault);
		printf(" %24s", a);
	}
	printf("\n  %-22s", "refetch, worst sharer");
	for (i = 0; i < nn; i++) {
		fmt_us(a, sizeof(a), refetch_worst(p, ns[i], 1));
		printf(" %24s", a);
	}
	printf("\n  %-22s", "behind an inval (seq)");
	for (i = 0; i < nn; i++) {
		for (j = 0; j < trials; j++)
			t[j] = seq_time(p, ns[i]);
		fmt_us(a, sizeof(a), p->fault + median(t, trials));
		printf(" %24s", a);
	}
	printf("\n  %-22s", "behind an inval (par)");
	for (i = 0; i < nn; i++) {
		for (j = 0; j < trials; j++)
			t[j] = par_time(p, ns[i]);
		fmt_us(a, sizeof(a), p->fault + median(t, trials));
		printf(" %24s", a);
	}
	printf("\n\nper node, with a connection to every other node\n  %-22s", "RC QPs");
	for (i = 0; i < nn; i++)
		printf(" %24d", ns[i]);
	printf("\n  %-22s", "ring buffers (MiB)");
	for (i = 0; i < nn; i++)
		printf(" %24.0f", mem_conn * ns[i]);
	printf("\n");
	free(t);
}

/* Reads bench/trace.sh's stages.txt: "WHO STAGE US" lines. */
static void read_stages(const char *path, struct params *p)
{
	static double v[8][MAX_SAMPLES];
	static const char *const want[][2] = {
		{ "invalidate", "1_notifier_to_worker" },
		{ "invalidate", "2_local_zaps" },
		{ "invalidate", "8_worker_to_return" },
		{ "invalidate", "3_send_to_post" },
		{ "invalidate", "6_ack_rx_to_completion" },
		{ "fault", "total" },
		{ "fetch_serve", "total" },
		{ "fetch_serve", "5_post_to_wire" },
	};
	int nv[8] = { 0 }, i;
	char who[64], stage[64], line[256];
	double us, post;
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, "scale_model: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	p->nrtt = 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' ||
		    sscanf(line, "%63s %63s %lf", who, stage, &us) != 3)
			continue;
		if (!strcmp(who, "inval_ack") && p->nrtt < MAX_SAMPLES)
			p->rtt[p->nrtt++] = us;
		for (i = 0; i < 8; i++)
			if (!strcmp(who, want[i][0]) &&
			    !strcmp(stage, want[i][1]) && nv[i] < MAX_SAMPLES)
				v[i][nv[i]++] = us;
	}
	fclose(f);
	if (!p->nrtt || !nv[0] || !nv[3] || !nv[5] || !nv[6]) {
		fprintf(stderr, "scale_model: %s lacks invalidation, fault or FETCH stages (bench/trace.sh invalidate writes them)\n",
			path);
		exit(2);
	}
	p->local = median(v[0], nv[0]) + median(v[1], nv[1]) +
		   median(v[2], nv[2]);
	post = median(v[3], nv[3]);
	p->post = post;
	p->rx = median(v[4], nv[4]);
	p->fault = median(v[5], nv[5]);
	/* The owner's CPU per FETCH: up to its reply on the wire. */
	p->serve = median(v[6], nv[6]);
	/* The ack time counts from before the post. */
	for (i = 0; i < p->nrtt; i++)
		p->rtt[i] = p->rtt[i] > post ? p->rtt[i] - post : 0;
	qsort(p->rtt, (size_t)p->nrtt, sizeof(double), cmp_double);
}

static int check(const char *what, double got, double want)
{
	if (got > want - 1e-9 && got < want + 1e-9)
		return 0;
	fprintf(stderr, "scale_model self-test: %s = %g, expected %g\n", what,
		got, want);
	return 1;
}

/*
 * Hand-computed: local 5, post 1, rtt 10, completion 2.  Sequential over
 * 2 sharers: 5 + 2 * (1 + 10) = 27.  Parallel: acks arrive at 11 and 12,
 * complete at 11 and 13: 5 + 13 = 18.  Tree (K = 2) over 2 is the
 * parallel case; over 3: the first child (with one below it) acks at
 * 1 + 10 + (1 + 10) = 22, the second at 2 + 10 = 12; done at 22: 27.
 * Multicast over 3: all arrive at 11, complete at 11, 13, 15: 20.
 * Re-fetch by 3 sharers, fault 100, 10 per FETCH: the last at 120.
 * With posts of 5, parallel over 2: acks at 15 and 20, done at 25.
 */
static int self_test(void)
{
	double rtt = 10;
	struct params p = {
		.local = 5, .post = 1, .rx = 2, .fault = 100, .serve = 10,
		.rtt = &rtt, .nrtt = 1, .fanout = 2,
	};
	int bad = 0;

	bad += check("sequential(2)", seq_time(&p, 2), 27);
	bad += check("parallel(2)", par_time(&p, 2), 18);
	bad += check("parallel(1)", par_time(&p, 1), 16);
	bad += check("tree(2, k=2)", tree_time(&p, 2, 2), 18);
	bad += check("tree(3, k=2)", tree_time(&p, 3, 2), 27);
	bad += check("tree(3, k=8)", tree_time(&p, 3, 8), par_time(&p, 3));
	bad += check("multicast(3)", mcast_time(&p, 3), 20);
	bad += check("refetch(3)", refetch_worst(&p, 3, 1), 120);
	/* Posts of 5: acks at 15 and 20, the second not held up: 25. */
	p.post = 5;
	bad += check("parallel(2), post 5", par_time(&p, 2), 25);
	printf("scale_model self-test: %s\n", bad ? "FAILED" : "passed");
	return bad ? 1 : 0;
}

static int parse_ns(const char *s, int *ns)
{
	int n = 0;
	char *end;

	while (*s && n < MAX_NS) {
		long v = strtol(s, &end, 10);

		if (end == s || v < 1 || v > 1000000)
			return -1;
		ns[n++] = (int)v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return n;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: scale_model [-n N,N,...] [-k FANOUT] [--trials T] [--seed S]\n"
		"                   [--local US] [--post US] [--rtt US] [--rx US] [--fault US]\n"
		"                   [--serve US] [--timeout MS] [--buf-kib KIB] [STAGES]\n"
		"       scale_model --self-test\n"
		"Without STAGES (bench/trace.sh's stages.txt) --local, --post, --rtt, --rx,\n"
		"--fault and --serve must be given; given with STAGES, they override it.\n"
		"The model and its inputs: docs/scaling.md and the top of bench/scale_model.c.\n");
}

int main(int argc, char **argv)
{
	static double samples[MAX_SAMPLES];
	struct params p = {
		.local = 0, .post = 0, .rx = 0, .fault = 0, .serve = 0,
		.timeout_ms = 5000, .rtt = samples, .nrtt = 0, .fanout = 8,
		.ring = 16, .buf_kib = 68,
	};
	double opt[8];
	int have[8] = { 0 }, ns[MAX_NS] = { 8, 64, 1024 }, nn = 3;
	int trials = 1000, i;
	const char *file = NULL;
	static const char *const names[8] = {
		"--local", "--post", "--rtt", "--rx", "--fault", "--serve",
		"--timeout", "--buf-kib",
	};

	for (i = 1; i < argc; i++) {
		int j, known = 0;

		if (!strcmp(argv[i], "--self-test"))
			return self_test();
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
		for (j = 0; j < 8; j++) {
			if (strcmp(argv[i], names[j]) || i + 1 >= argc)
				continue;
			opt[j] = strtod(argv[++i], NULL);
			have[j] = known = 1;
		}
		if (known)
			continue;
		if (!strcmp(argv[i], "-n") && i + 1 < argc) {
			nn = parse_ns(argv[++i], ns);
			if (nn <= 0)
				goto usage;
		} else if (!strcmp(argv[i], "-k") && i + 1 < argc) {
			p.fanout = atoi(argv[++i]);
			if (p.fanout < 2 || p.fanout > 64)
				goto usage;
		} else if (!strcmp(argv[i], "--trials") && i + 1 < argc) {
			trials = atoi(argv[++i]);
			if (trials < 1 || trials > 100000)
				goto usage;
		} else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			rng_state = strtoull(argv[++i], NULL, 0) | 1;
		} else if (argv[i][0] != '-' && !file) {
			file = argv[i];
		} else {
			goto usage;
		}
	}
	if (file)
		read_stages(file, &p);
	else if (!have[0] || !have[1] || !have[2] || !have[3] || !have[4] ||
		 !have[5])
		goto usage;
	if (have[0])
		p.local = opt[0];
	if (have[1])
		p.post = opt[1];
	if (have[2]) {
		samples[0] = opt[2];
		p.nrtt = 1;
	}
	if (have[3])
		p.rx = opt[3];
	if (have[4])
		p.fault = opt[4];
	if (have[5])
		p.serve = opt[5];
	if (have[6])
		p.timeout_ms = opt[6];
	if (have[7])
		p.buf_kib = opt[7];
	report(&p, ns, nn, trials);
	return 0;
usage:
	usage(stderr);
	return 2;
}
