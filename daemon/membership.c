// SPDX-License-Identifier: GPL-2.0
/*
 * membership.c - the membership state machine (see membership.h).
 *
 * Actions are only ever emitted from here, so the rules "ADD_PEER only
 * after an authenticated heartbeat" and "DEL_PEER when the lease
 * expires" live in one place.
 */
#include <stdlib.h>
#include <string.h>

#include "membership.h"

int mb_init(struct membership *m, uint32_t self, const uint32_t *nodes,
	    size_t n, uint64_t lease_ms, uint64_t max_skew_ns)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	m->self = self;
	m->lease_ms = lease_ms;
	m->max_skew_ns = max_skew_ns;
	m->peers = calloc(n ? n : 1, sizeof(*m->peers));
	if (!m->peers)
		return -1;
	for (i = 0; i < n; i++) {
		if (nodes[i] == self)
			continue;
		m->peers[m->npeers].node = nodes[i];
		m->peers[m->npeers].state = MB_UNKNOWN;
		m->npeers++;
	}
	return 0;
}

void mb_free(struct membership *m)
{
	free(m->peers);
	memset(m, 0, sizeof(*m));
}

struct mb_peer *mb_peer(struct membership *m, uint32_t node)
{
	size_t i;

	for (i = 0; i < m->npeers; i++)
		if (m->peers[i].node == node)
			return &m->peers[i];
	return NULL;
}

void mb_seed(struct membership *m, uint32_t node, uint64_t incarnation,
	     uint64_t now_ms)
{
	struct mb_peer *p = mb_peer(m, node);

	if (!p)
		return;
	p->state = MB_ALIVE;
	p->incarnation = incarnation;
	p->kernel_inc_unknown = incarnation == 0;
	p->last_seq = 0;
	p->last_qseq = 0;
	p->last_heard_ms = now_ms;
	p->in_kernel = 1;
}

static void push(struct mb_action *acts, size_t *n, enum mb_action_type t,
		 uint32_t node, uint64_t inc)
{
	acts[*n].type = t;
	acts[*n].node = node;
	acts[*n].incarnation = t == MB_ADD_PEER ? inc : 0;
	(*n)++;
}

static uint64_t absdiff(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/*
 * The configured peer a message from @src to @dst comes from, or NULL
 * with *why set (counted as malformed): not for us, from ourselves, or
 * from a node that is not in nodes.conf.
 */
static struct mb_peer *mb_sender(struct membership *m, uint32_t src,
				 uint32_t dst, enum mb_verdict *why)
{
	struct mb_peer *p = NULL;

	if (dst != m->self)
		*why = MB_NOT_FOR_US;
	else if (src == m->self)
		*why = MB_FROM_SELF;
	else if (!(p = mb_peer(m, src)))
		*why = MB_UNKNOWN_NODE;
	if (!p)
		m->total.malformed++;
	return p;
}

enum mb_verdict mb_heartbeat(struct membership *m, uint32_t src, uint32_t dst,
			     uint64_t incarnation, uint64_t seq,
			     uint64_t now_ms, uint64_t wall_ns,
			     struct mb_action *acts, size_t *nacts)
{
	enum mb_verdict why;
	struct mb_peer *p;

	*nacts = 0;
	p = mb_sender(m, src, dst, &why);
	if (!p)
		return why;
	if (incarnation < p->incarnation) {
		p->c.stale++;
		m->total.stale++;
		return MB_STALE;
	}
	if (incarnation == p->incarnation && seq <= p->last_seq) {
		p->c.replayed++;
		m->total.replayed++;
		return MB_REPLAY;
	}
	/*
	 * After a restart of ours last_seq is gone: the time stamp bounds
	 * how old a replayed message can be.
	 */
	if (m->max_skew_ns && absdiff(seq, wall_ns) > m->max_skew_ns) {
		p->c.replayed++;
		m->total.replayed++;
		return MB_SKEW;
	}

	if (p->in_kernel &&
	    (incarnation != p->incarnation || p->kernel_inc_unknown)) {
		/* It restarted (or the kernel's idea of it is unknown):
		 * fence the old incarnation before admitting the new. */
		push(acts, nacts, MB_DEL_PEER, src, 0);
		push(acts, nacts, MB_ADD_PEER, src, incarnation);
	} else if (p->in_kernel && !p->heard) {
		/* Seeded from the kernel: re-announce, EEXIST is fine. */
		push(acts, nacts, MB_ADD_PEER, src, incarnation);
	} else if (!p->in_kernel || p->state != MB_ALIVE) {
		push(acts, nacts, MB_ADD_PEER, src, incarnation);
	}
	if (incarnation != p->incarnation)
		p->last_qseq = 0;
	p->state = MB_ALIVE;
	p->incarnation = incarnation;
	p->kernel_inc_unknown = 0;
	p->last_seq = seq;
	p->last_heard_ms = now_ms;
	p->heard = 1;
	p->c.rx++;
	m->total.rx++;
	return MB_ACCEPT;
}

enum mb_verdict mb_query(struct membership *m, uint32_t src, uint32_t dst,
			 uint64_t incarnation, uint64_t seq, uint64_t wall_ns)
{
	enum mb_verdict why;
	struct mb_peer *p;

	p = mb_sender(m, src, dst, &why);
	if (!p)
		return why;
	if (p->state == MB_ALIVE && incarnation < p->incarnation) {
		p->c.stale++;
		m->total.stale++;
		return MB_STALE;
	}
	if (p->state != MB_ALIVE || incarnation != p->incarnation) {
		mb_count_dropped(m, src);
		return MB_NOT_ALIVE;
	}
	if (seq <= p->last_qseq) {
		p->c.replayed++;
		m->total.replayed++;
		return MB_REPLAY;
	}
	if (m->max_skew_ns && absdiff(seq, wall_ns) > m->max_skew_ns) {
		p->c.replayed++;
		m->total.replayed++;
		return MB_SKEW;
	}
	p->last_qseq = seq;
	p->c.rx++;
	m->total.rx++;
	return MB_ACCEPT;
}

void mb_count_dropped(struct membership *m, uint32_t src)
{
	struct mb_peer *p = src ? mb_peer(m, src) : NULL;

	m->total.dropped++;
	if (p)
		p->c.dropped++;
}

size_t mb_tick(struct membership *m, uint64_t now_ms, struct mb_action *acts,
	       size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < m->npeers && n < max; i++) {
		struct mb_peer *p = &m->peers[i];

		if (p->state != MB_ALIVE ||
		    now_ms - p->last_heard_ms < m->lease_ms)
			continue;
		p->state = MB_DEAD;
		/* Even if we believe it is not registered: make sure. */
		push(acts, &n, MB_DEL_PEER, p->node, 0);
	}
	return n;
}

void mb_kernel_done(struct membership *m, const struct mb_action *a, int ok)
{
	struct mb_peer *p = mb_peer(m, a->node);

	if (!p)
		return;
	if (a->type == MB_DEL_PEER)
		p->in_kernel = 0;	/* gone, or never was (ENOENT) */
	else
		p->in_kernel = ok;	/* retried on the next heartbeat */
}

void mb_count_bad(struct membership *m, uint32_t src, int bad_mac)
{
	struct mb_peer *p = src ? mb_peer(m, src) : NULL;

	if (bad_mac) {
		m->total.bad_mac++;
		if (p)
			p->c.bad_mac++;
	} else {
		m->total.malformed++;
		if (p)
			p->c.malformed++;
	}
}

const char *mb_state_name(enum mb_state s)
{
	switch (s) {
	case MB_ALIVE:
		return "alive";
	case MB_DEAD:
		return "dead";
	default:
		return "unknown";
	}
}

const char *mb_verdict_name(enum mb_verdict v)
{
	switch (v) {
	case MB_ACCEPT:
		return "accepted";
	case MB_NOT_FOR_US:
		return "addressed to another node";
	case MB_FROM_SELF:
		return "claims to come from this node";
	case MB_UNKNOWN_NODE:
		return "from a node not in nodes.conf";
	case MB_STALE:
		return "stale incarnation";
	case MB_REPLAY:
		return "replayed sequence number";
	case MB_SKEW:
		return "time stamp outside max_skew_ms";
	case MB_NOT_ALIVE:
		return "from a node not alive here";
	}
	return "?";
}
