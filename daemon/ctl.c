// SPDX-License-Identifier: GPL-2.0
/*
 * ctl.c - request parsing, the permission filter and the replies of the
 * admin socket.  No I/O here: xpmemd.c owns the socket.
 *
 * JSON numbers are doubles to most readers: 64-bit ids (segids,
 * incarnations) go out as hex strings, counters as numbers.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

int ctl_parse_request(const char *line, struct ctl_request *r)
{
	static const struct {
		const char *name;
		enum ctl_cmd cmd;
	} cmds[] = {
		{ "status", CTL_STATUS },
		{ "segments", CTL_SEGMENTS },
		{ "counters", CTL_COUNTERS },
	};
	char word[16], opt[2][8], rest[2];
	size_t i;
	int n, k, found = 0;

	n = sscanf(line, "%15s %7s %7s %1s", word, opt[0], opt[1], rest);
	if (n < 1 || n > 3)
		return -1;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(word, cmds[i].name)) {
			r->cmd = cmds[i].cmd;
			found = 1;
			break;
		}
	}
	if (!found)
		return -1;
	r->json = r->local = 0;
	for (k = 0; k < n - 1; k++) {
		if (!strcmp(opt[k], "json") && !r->json)
			r->json = 1;
		else if (!strcmp(opt[k], "local") && !r->local &&
			 r->cmd == CTL_SEGMENTS)
			r->local = 1;
		else
			return -1;
	}
	return 0;
}

size_t ctl_filter_segments(uid_t uid, const struct kif_segment *in, size_t n,
			   struct kif_segment *out)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (uid == 0 || in[i].uid == (uint32_t)uid)
			out[k++] = in[i];
	return k;
}

size_t ctl_filter_uid(int all, uint32_t uid, const struct kif_segment *in,
		      size_t n, struct kif_segment *out)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (all || in[i].uid == uid)
			out[k++] = in[i];
	return k;
}

static uint32_t sat32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

void ctl_seg_to_rec(const struct kif_segment *s, struct wire_seg_rec *r)
{
	r->segid = s->segid;
	r->size = s->size;
	r->pid = s->pid < 0 ? 0 : sat32((uint64_t)s->pid);
	r->uid = s->uid;
	r->gid = s->gid;
	r->mode = s->mode;
	r->permits = sat32(s->permits);
	r->attachments = sat32(s->attachments);
	r->remote_permits = sat32(s->remote_permits);
	r->remote_attachments = sat32(s->remote_attachments);
}

void ctl_rec_to_seg(const struct wire_seg_rec *r, struct kif_segment *s)
{
	s->segid = r->segid;
	s->size = r->size;
	s->pid = r->pid;
	s->uid = r->uid;
	s->gid = r->gid;
	s->mode = r->mode;
	s->permits = r->permits;
	s->attachments = r->attachments;
	s->remote_permits = r->remote_permits;
	s->remote_attachments = r->remote_attachments;
}

size_t ctl_seg_answer(const struct wire_seg_request *rq,
		      const struct kif_segment *v, ssize_t n,
		      struct wire_seg_reply *parts, size_t max)
{
	int all = !!(rq->flags & WIRE_SEGREQ_ALL);
	size_t np = 1;
	ssize_t i;

	if (max > WIRE_SEGREP_MAX_PARTS)
		max = WIRE_SEGREP_MAX_PARTS;
	memset(&parts[0], 0, sizeof(parts[0]));
	parts[0].id = rq->id;
	if (n < 0) {
		parts[0].flags = WIRE_SEGREP_UNAVAILABLE | WIRE_SEGREP_LAST;
		return 1;
	}
	for (i = 0; i < n; i++) {
		struct wire_seg_reply *p = &parts[np - 1];

		if (!all && v[i].uid != rq->uid)
			continue;
		if (p->count == WIRE_SEGREP_MAX_RECS) {
			if (np == max) {
				p->flags |= WIRE_SEGREP_TRUNCATED;
				break;
			}
			p = &parts[np];
			memset(p, 0, sizeof(*p));
			p->id = rq->id;
			p->part = (uint16_t)np++;
		}
		ctl_seg_to_rec(&v[i], &p->rec[p->count++]);
	}
	parts[np - 1].flags |= WIRE_SEGREP_LAST;
	return np;
}

void ctl_node_init(struct ctl_node_segs *ns, uint32_t node, const char *host,
		   enum ctl_node_state state)
{
	memset(ns, 0, sizeof(*ns));
	ns->node = node;
	ns->host = host;
	ns->state = state;
	ns->last_part = -1;
}

int ctl_node_add_reply(struct ctl_node_segs *ns, int all, uint32_t uid,
		       const struct wire_seg_reply *r)
{
	uint64_t bit;
	uint32_t i;

	if (ns->state != CTL_NODE_WAITING || r->part >= WIRE_SEGREP_MAX_PARTS ||
	    r->count > WIRE_SEGREP_MAX_RECS)
		return -1;
	bit = 1ULL << r->part;
	if (ns->parts_seen & bit ||
	    (ns->last_part >= 0 && r->part > ns->last_part))
		return -1;
	if (r->flags & WIRE_SEGREP_LAST) {
		/* Parts after the LAST one must not have arrived already. */
		if (ns->parts_seen >> r->part)
			return -1;
		ns->last_part = r->part;
	}
	if (ns->n + r->count > ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : WIRE_SEGREP_MAX_RECS;
		struct kif_segment *v;

		while (cap < ns->n + r->count)
			cap *= 2;
		v = realloc(ns->v, cap * sizeof(*v));
		if (!v)
			return -2;
		ns->v = v;
		ns->cap = cap;
	}
	ns->parts_seen |= bit;
	for (i = 0; i < r->count; i++) {
		/* Defence in depth: the answering node filtered already. */
		if (!all && r->rec[i].uid != uid)
			continue;
		ctl_rec_to_seg(&r->rec[i], &ns->v[ns->n]);
		ns->n++;
	}
	if (r->flags & WIRE_SEGREP_TRUNCATED)
		ns->truncated = 1;
	if (ns->last_part < 0 ||
	    ns->parts_seen != (~0ULL >> (63 - ns->last_part)))
		return 0;
	ns->state = r->flags & WIRE_SEGREP_UNAVAILABLE && ns->last_part == 0 ?
		    CTL_NODE_UNAVAILABLE : CTL_NODE_OK;
	return 1;
}

void ctl_node_free(struct ctl_node_segs *ns)
{
	free(ns->v);
	ns->v = NULL;
	ns->n = ns->cap = 0;
}

static const char *node_state_name(const struct ctl_node_segs *ns)
{
	switch (ns->state) {
	case CTL_NODE_OK:
		return "ok";
	case CTL_NODE_UNAVAILABLE:
		return "unavailable";
	case CTL_NODE_DEAD:
		return "dead";
	case CTL_NODE_UNKNOWN:
		return "unknown";
	case CTL_NODE_WAITING:
		break;
	}
	return ns->parts_seen ? "incomplete" : "no_answer";
}

static const char *node_state_text(const struct ctl_node_segs *ns)
{
	switch (ns->state) {
	case CTL_NODE_OK:
		return "ok";
	case CTL_NODE_UNAVAILABLE:
		return "no /proc/xpmem/segments";
	case CTL_NODE_DEAD:
		return "not answering (dead: lease expired)";
	case CTL_NODE_UNKNOWN:
		return "not answering (unknown: never heard)";
	case CTL_NODE_WAITING:
		break;
	}
	return ns->parts_seen ? "not answering in time (answer incomplete)" :
				"not answering in time";
}

static void seg_json(struct buf *b, const struct kif_segment *s)
{
	buf_printf(b, "\"segid\":\"0x%" PRIx64 "\",\"pid\":%" PRId64
		   ",\"uid\":%u,\"gid\":%u,\"size\":%" PRIu64
		   ",\"mode\":\"0%o\",\"permits\":%" PRIu64
		   ",\"attachments\":%" PRIu64 ",\"remote_permits\":%" PRIu64
		   ",\"remote_attachments\":%" PRIu64 "}", s->segid, s->pid,
		   s->uid, s->gid, s->size, s->mode, s->permits,
		   s->attachments, s->remote_permits, s->remote_attachments);
}

static void seg_text(struct buf *b, const struct kif_segment *s)
{
	buf_printf(b, "0x%016" PRIx64 " %8" PRId64 " %6u %6u %14" PRIu64
		   " %04o %7" PRIu64 " %7" PRIu64 " %7" PRIu64 " %7" PRIu64
		   "\n", s->segid, s->pid, s->uid, s->gid, s->size, s->mode,
		   s->permits, s->attachments, s->remote_permits,
		   s->remote_attachments);
}

void ctl_format_cluster_segments(struct buf *b, const struct ctl_node_segs *v,
				 size_t n, int json)
{
	size_t i, j;

	if (json) {
		size_t k = 0;

		buf_printf(b, "{\"cluster\":true,\"nodes\":[");
		for (i = 0; i < n; i++) {
			int answered = v[i].state == CTL_NODE_OK ||
				       v[i].state == CTL_NODE_UNAVAILABLE;

			buf_printf(b, "%s{\"node\":%u,\"host\":", i ? "," : "",
				   v[i].node);
			buf_json_str(b, v[i].host ? v[i].host : "?");
			buf_printf(b, ",\"status\":\"%s\",\"answered\":%s,"
				   "\"available\":%s,\"truncated\":%s}",
				   node_state_name(&v[i]),
				   answered ? "true" : "false",
				   v[i].state == CTL_NODE_OK ? "true" : "false",
				   v[i].truncated ? "true" : "false");
		}
		buf_printf(b, "],\"segments\":[");
		for (i = 0; i < n; i++) {
			if (v[i].state != CTL_NODE_OK)
				continue;
			for (j = 0; j < v[i].n; j++) {
				buf_printf(b, "%s{\"node\":%u,", k++ ? "," : "",
					   v[i].node);
				seg_json(b, &v[i].v[j]);
			}
		}
		buf_printf(b, "]}\n");
		return;
	}
	buf_printf(b, "%5s %-16s %-18s %8s %6s %6s %14s %5s %7s %7s %7s %7s\n",
		   "NODE", "HOST", "SEGID", "PID", "UID", "GID", "SIZE", "MODE",
		   "PERMITS", "ATTACH", "RPERMIT", "RATTACH");
	for (i = 0; i < n; i++) {
		if (v[i].state != CTL_NODE_OK)
			continue;
		for (j = 0; j < v[i].n; j++) {
			buf_printf(b, "%5u %-16s ", v[i].node,
				   v[i].host ? v[i].host : "?");
			seg_text(b, &v[i].v[j]);
		}
	}
	for (i = 0; i < n; i++) {
		if (v[i].state == CTL_NODE_OK && !v[i].truncated)
			continue;
		buf_printf(b, "node %u (%s): %s%s\n", v[i].node,
			   v[i].host ? v[i].host : "?", node_state_text(&v[i]),
			   v[i].truncated ? " (truncated: more segments than one answer holds)" : "");
	}
}

static void counters_json(struct buf *b, const struct mb_counters *c)
{
	buf_printf(b, "{\"rx\":%" PRIu64 ",\"tx\":%" PRIu64
		   ",\"bad_mac\":%" PRIu64 ",\"replayed\":%" PRIu64
		   ",\"stale\":%" PRIu64 ",\"malformed\":%" PRIu64
		   ",\"dropped\":%" PRIu64 "}", c->rx, c->tx, c->bad_mac,
		   c->replayed, c->stale, c->malformed, c->dropped);
}

static void counters_text(struct buf *b, const struct mb_counters *c)
{
	buf_printf(b, "%8" PRIu64 " %8" PRIu64 " %7" PRIu64 " %8" PRIu64
		   " %5" PRIu64 " %9" PRIu64 " %7" PRIu64 "\n", c->rx, c->tx,
		   c->bad_mac, c->replayed, c->stale, c->malformed, c->dropped);
}

void ctl_format_status(struct buf *b, const struct ctl_status *s, int json)
{
	char addr[64];
	size_t i;

	net_addr_format(&s->addr, addr, sizeof(addr));
	if (json) {
		buf_printf(b, "{\"node\":%u,\"host\":", s->self);
		buf_json_str(b, s->host);
		buf_printf(b, ",\"address\":\"%s\",\"incarnation\":\"0x%" PRIx64
			   "\",\"port\":%u,\"heartbeat_ms\":%u,\"lease_ms\":%u,"
			   "\"kernel\":%s,\"totals\":", addr, s->incarnation,
			   s->port, s->heartbeat_ms, s->lease_ms,
			   s->kernel ? "true" : "false");
		counters_json(b, &s->mb->total);
		buf_printf(b, ",\"peers\":[");
	} else {
		buf_printf(b, "node %u (%s) %s incarnation 0x%" PRIx64
			   ", heartbeat %u ms, lease %u ms%s\n", s->self,
			   s->host, addr, s->incarnation, s->heartbeat_ms,
			   s->lease_ms, s->kernel ? "" : ", no kernel");
		buf_printf(b, "%5s %-16s %-22s %-7s %-18s %9s %-7s %-7s %8s %8s %7s %8s %5s %9s %7s\n",
			   "NODE", "HOST", "ADDRESS", "STATE", "INCARNATION",
			   "HEARD_MS", "KERNEL", "SEES_US", "RX", "TX",
			   "BAD_MAC", "REPLAYED", "STALE", "MALFORMED",
			   "DROPPED");
	}
	for (i = 0; i < s->mb->npeers; i++) {
		const struct mb_peer *p = &s->mb->peers[i];
		const struct cfg_node *n = nodes_find(s->nodes, p->node);
		/* Only what a live peer says now counts. */
		int sees = p->state == MB_ALIVE && p->sees_us &&
			   p->sees_us == s->incarnation;
		int in_kernel = s->kernel && p->in_kernel;
		char heard[24];

		if (n)
			net_addr_format(&n->addr, addr, sizeof(addr));
		else
			snprintf(addr, sizeof(addr), "?");
		if (p->heard)
			snprintf(heard, sizeof(heard), "%" PRIu64,
				 s->now_ms - p->last_heard_ms);
		else
			snprintf(heard, sizeof(heard), json ? "null" : "-");
		if (json) {
			buf_printf(b, "%s{\"node\":%u,\"host\":", i ? "," : "",
				   p->node);
			buf_json_str(b, n ? n->host : "?");
			buf_printf(b, ",\"address\":\"%s\",\"state\":\"%s\","
				   "\"incarnation\":\"0x%" PRIx64 "\","
				   "\"last_heard_ms\":%s,\"in_kernel\":%s,"
				   "\"sees_us\":%s,\"counters\":", addr,
				   mb_state_name(p->state), p->incarnation,
				   heard, in_kernel ? "true" : "false",
				   sees ? "true" : "false");
			counters_json(b, &p->c);
			buf_printf(b, "}");
		} else {
			buf_printf(b, "%5u %-16s %-22s %-7s 0x%016" PRIx64
				   " %9s %-7s %-7s ", p->node,
				   n ? n->host : "?", addr,
				   mb_state_name(p->state), p->incarnation,
				   heard, !s->kernel ? "-" : in_kernel ? "yes" : "no",
				   sees ? "yes" : "no");
			counters_text(b, &p->c);
		}
	}
	if (json) {
		buf_printf(b, "]}\n");
	} else {
		buf_printf(b, "%5s %-16s %-22s %-7s %-18s %9s %-7s %-7s ",
			   "total", "", "", "", "", "", "", "");
		counters_text(b, &s->mb->total);
	}
}

void ctl_format_segments(struct buf *b, const struct kif_segment *v,
			 ssize_t n, int json)
{
	ssize_t i;

	if (n < 0) {
		if (json)
			buf_printf(b, "{\"available\":false,\"segments\":[]}\n");
		else
			buf_printf(b, "segments: unavailable (no /proc/xpmem/segments)\n");
		return;
	}
	if (json)
		buf_printf(b, "{\"available\":true,\"segments\":[");
	else
		buf_printf(b, "%-18s %8s %6s %6s %14s %5s %7s %7s %7s %7s\n",
			   "SEGID", "PID", "UID", "GID", "SIZE", "MODE",
			   "PERMITS", "ATTACH", "RPERMIT", "RATTACH");
	for (i = 0; i < n; i++) {
		const struct kif_segment *s = &v[i];

		if (json) {
			buf_printf(b, "%s{", i ? "," : "");
			seg_json(b, s);
		} else {
			seg_text(b, s);
		}
	}
	if (json)
		buf_printf(b, "]}\n");
}

void ctl_format_counters(struct buf *b, const struct kif_counter *v,
			 ssize_t n, const struct mb_counters *d, int json)
{
	ssize_t i;

	if (json) {
		buf_printf(b, "{\"kernel\":");
		if (n < 0) {
			buf_printf(b, "null");
		} else {
			buf_printf(b, "{");
			for (i = 0; i < n; i++) {
				buf_printf(b, "%s", i ? "," : "");
				buf_json_str(b, v[i].name);
				buf_printf(b, ":%" PRIu64, v[i].value);
			}
			buf_printf(b, "}");
		}
		buf_printf(b, ",\"daemon\":");
		counters_json(b, d);
		buf_printf(b, "}\n");
		return;
	}
	if (n < 0)
		buf_printf(b, "kernel counters: unavailable (no /proc/xpmem/counters)\n");
	for (i = 0; i < n; i++)
		buf_printf(b, "%-24s %" PRIu64 "\n", v[i].name, v[i].value);
	buf_printf(b, "xpmemd_rx                %" PRIu64 "\n"
		   "xpmemd_tx                %" PRIu64 "\n"
		   "xpmemd_bad_mac           %" PRIu64 "\n"
		   "xpmemd_replayed          %" PRIu64 "\n"
		   "xpmemd_stale             %" PRIu64 "\n"
		   "xpmemd_malformed         %" PRIu64 "\n"
		   "xpmemd_dropped           %" PRIu64 "\n",
		   d->rx, d->tx, d->bad_mac, d->replayed, d->stale,
		   d->malformed, d->dropped);
}
