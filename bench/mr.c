// SPDX-License-Identifier: GPL-2.0
/*
 * bench_mr: can an attachment be an RDMA buffer?  ibv_reg_mr() on
 * attachments over rxe0, in a guest (bench/guest-local.sh):
 *
 *   owner      the owner's own buffer (the control: must register, and
 *              an RDMA READ of it must return the owner's data)
 *   att4k      an attachment of 4 KiB pages, faulted in
 *   att4k_cold the same, not touched yet
 *   atthuge    an attachment of an owner buffer on transparent huge
 *              pages, faulted in as 2 MiB PMDs (pmd_maps moved)
 *
 * For each: the result of ibv_reg_mr (0 or the errno), and if it
 * registered, an RDMA READ of it through a loopback RC QP pair compared
 * with the owner's data; for atthuge also whether the registration
 * still returns the owner's data after the owner replaced the page
 * (MADV_DONTNEED, new data): the pin does not follow the invalidation.
 * One JSON line per case; exit 1 only if the control fails.
 */
#include <infiniband/verbs.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xpmem.h>

#include "bench.h"

#define LEN (4 * MIB)

struct rdma {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp[2];
	struct ibv_mr *local;	/* READ destination */
	unsigned char *buf;
	uint8_t port;
	int gid_index;
	union ibv_gid gid;
};

static struct ibv_qp *make_qp(struct rdma *r)
{
	struct ibv_qp_init_attr ia = {
		.send_cq = r->cq, .recv_cq = r->cq, .qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 4, .max_recv_wr = 4,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct ibv_qp *qp = ibv_create_qp(r->pd, &ia);

	if (!qp)
		bench_die("ibv_create_qp");
	return qp;
}

/* Moves @qp through INIT, RTR (towards @peer_qpn on our own GID), RTS. */
static void connect_qp(struct rdma *r, struct ibv_qp *qp, uint32_t peer_qpn)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT, .port_num = r->port,
		.qp_access_flags = IBV_ACCESS_REMOTE_READ,
	};

	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			  IBV_QP_PORT | IBV_QP_ACCESS_FLAGS))
		bench_die("qp INIT");
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = peer_qpn;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 12;
	a.ah_attr.is_global = 1;
	a.ah_attr.grh.dgid = r->gid;
	a.ah_attr.grh.sgid_index = (uint8_t)r->gid_index;
	a.ah_attr.grh.hop_limit = 1;
	a.ah_attr.port_num = r->port;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
			  IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
			  IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER))
		bench_die("qp RTR");
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = 1;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT |
			  IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
			  IBV_QP_MAX_QP_RD_ATOMIC))
		bench_die("qp RTS");
}

static void rdma_open(struct rdma *r)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	int i;

	if (!list || !list[0])
		bench_die("no RDMA device");
	r->ctx = ibv_open_device(list[0]);
	ibv_free_device_list(list);
	if (!r->ctx)
		bench_die("ibv_open_device");
	r->port = 1;
	r->gid_index = -1;
	/* the IPv4-mapped GID (::ffff:a.b.c.d) of eth0's address */
	for (i = 0; i < 16 && r->gid_index < 0; i++)
		if (!ibv_query_gid(r->ctx, r->port, i, &r->gid) &&
		    r->gid.raw[10] == 0xff && r->gid.raw[11] == 0xff)
			r->gid_index = i;
	if (r->gid_index < 0)
		bench_die("no IPv4 GID on port 1");
	r->pd = ibv_alloc_pd(r->ctx);
	r->cq = r->pd ? ibv_create_cq(r->ctx, 8, NULL, NULL, 0) : NULL;
	if (!r->cq)
		bench_die("pd/cq");
	r->qp[0] = make_qp(r);
	r->qp[1] = make_qp(r);
	connect_qp(r, r->qp[0], r->qp[1]->qp_num);
	connect_qp(r, r->qp[1], r->qp[0]->qp_num);
	r->buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->buf == MAP_FAILED)
		bench_die("mmap");
	r->local = ibv_reg_mr(r->pd, r->buf, LEN, IBV_ACCESS_LOCAL_WRITE);
	if (!r->local)
		bench_die("ibv_reg_mr of a plain buffer");
}

/* RDMA READ of @len bytes of @mr at @addr into r->buf; 0 or -1. */
static int rdma_read(struct rdma *r, struct ibv_mr *mr, void *addr,
		     size_t len)
{
	struct ibv_sge sge = { .addr = (uintptr_t)r->buf,
			       .length = (uint32_t)len, .lkey = r->local->lkey };
	struct ibv_send_wr wr = {
		.sg_list = &sge, .num_sge = 1, .opcode = IBV_WR_RDMA_READ,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = (uintptr_t)addr, .rkey = mr->rkey },
	}, *bad;
	struct ibv_wc wc;
	double t0 = bench_now();
	int n;

	memset(r->buf, 0, len);
	if (ibv_post_send(r->qp[0], &wr, &bad))
		return -1;
	while ((n = ibv_poll_cq(r->cq, 1, &wc)) == 0)
		if (bench_now() - t0 > 30)
			return -1;
	return n == 1 && wc.status == IBV_WC_SUCCESS ? 0 : -1;
}

static void fill(unsigned char *p, size_t n, unsigned char seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 13 + seed + (i >> 12));
}

/*
 * One case: register [addr, addr + LEN), report, and if it registered,
 * read it back over RDMA and compare with @want.
 */
static int one_case(struct rdma *r, const char *name, void *addr,
		    const unsigned char *want, long pmds)
{
	struct ibv_mr *mr;
	int err = 0, read_ok = -1;

	errno = 0;
	mr = ibv_reg_mr(r->pd, addr, LEN, IBV_ACCESS_REMOTE_READ);
	if (!mr)
		err = errno ? errno : -1;
	if (mr)
		read_ok = !rdma_read(r, mr, addr, LEN) &&
			  !memcmp(r->buf, want, LEN);
	printf("{\"name\":\"reg_mr_%s\",\"size\":%lu,\"errno\":%d,\"errstr\":\"%s\","
	       "\"rdma_read_matches\":%d,\"pmd_maps\":%ld}\n",
	       name, LEN, err, err > 0 ? strerror(err) : "", read_ok, pmds);
	if (mr)
		ibv_dereg_mr(mr);
	return mr ? read_ok : -1;
}

static void *attach_all(xpmem_segid_t segid, int flags)
{
	xpmem_apid_t apid = xpmem_get(segid, flags, XPMEM_PERMIT_MODE, NULL);
	struct xpmem_addr xa = { .apid = apid, .offset = 0 };
	void *p;

	if (apid < 0)
		bench_die("xpmem_get");
	p = xpmem_attach(xa, LEN, NULL);
	if (p == (void *)-1)
		bench_die("xpmem_attach");
	return p;
}

static void touch(const volatile unsigned char *p)
{
	size_t i;
	unsigned char s = 0;

	for (i = 0; i < LEN; i += 4096)
		s += p[i];
	bench_clobber(&s);
}

int main(void)
{
	struct rdma r = { 0 };
	unsigned char *own, *raw, *huge, *att;
	xpmem_segid_t seg4k, seghuge;
	struct ibv_mr *mr;
	long p0;
	int ctl;

	setvbuf(stdout, NULL, _IOLBF, 0);
	rdma_open(&r);

	own = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (own == MAP_FAILED)
		bench_die("mmap");
	madvise(own, LEN, MADV_NOHUGEPAGE);
	fill(own, LEN, 1);
	ctl = one_case(&r, "owner", own, own, 0);

	seg4k = xpmem_make(own, LEN, XPMEM_PERMIT_MODE, (void *)0600);
	if (seg4k < 0)
		bench_die("xpmem_make");
	att = attach_all(seg4k, XPMEM_RDWR);
	one_case(&r, "att4k_cold", att, own, 0);
	touch(att);
	one_case(&r, "att4k", att, own, 0);
	xpmem_detach(att);

	/* 2 MiB aligned THP owner buffer */
	raw = mmap(NULL, LEN + 2 * MIB, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		bench_die("mmap");
	huge = (unsigned char *)(((uintptr_t)raw + 2 * MIB - 1) &
				 ~(uintptr_t)(2 * MIB - 1));
	madvise(huge, LEN, MADV_HUGEPAGE);
	fill(huge, LEN, 2);
	seghuge = xpmem_make(huge, LEN, XPMEM_PERMIT_MODE, (void *)0600);
	if (seghuge < 0)
		bench_die("xpmem_make");
	att = attach_all(seghuge, XPMEM_RDWR);
	p0 = bench_counter("pmd_maps");
	touch(att);
	p0 = bench_counter("pmd_maps") - p0;
	one_case(&r, "atthuge", att, huge, p0);

	/* Registered again and kept while the owner replaces its pages. */
	mr = ibv_reg_mr(r.pd, att, LEN, IBV_ACCESS_REMOTE_READ);
	if (mr) {
		unsigned char *old = malloc(LEN);
		int stale, fresh;

		if (!old)
			bench_die("malloc");
		memcpy(old, huge, LEN);
		madvise(huge, LEN, MADV_DONTNEED);	/* invalidates */
		fill(huge, LEN, 3);			/* new pages, new data */
		stale = !rdma_read(&r, mr, att, LEN) && !memcmp(r.buf, old, LEN);
		fresh = !memcmp((void *)att, huge, LEN);
		printf("{\"name\":\"reg_mr_atthuge_after_owner_change\",\"size\":%lu,"
		       "\"rdma_read_returns_old_data\":%d,\"attachment_load_returns_new_data\":%d}\n",
		       LEN, stale, fresh);
		ibv_dereg_mr(mr);
		free(old);
	}
	xpmem_detach(att);
	xpmem_remove(seg4k);
	xpmem_remove(seghuge);
	return ctl == 1 ? 0 : 1;
}
