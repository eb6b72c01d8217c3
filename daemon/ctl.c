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
#include <string.h>

#include "ctl.h"

int ctl_parse_request(const char *line, enum ctl_cmd *cmd, int *json)
{
	static const struct {
		const char *name;
		enum ctl_cmd cmd;
	} cmds[] = {
		{ "status", CTL_STATUS },
		{ "segments", CTL_SEGMENTS },
		{ "counters", CTL_COUNTERS },
	};
	char word[16], extra[8], rest[2];
	size_t i;
	int n;

	n = sscanf(line, "%15s %7s %1s", word, extra, rest);
	if (n < 1 || n > 2)
		return -1;
	if (n == 2 && strcmp(extra, "json"))
		return -1;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (!strcmp(word, cmds[i].name)) {
			*cmd = cmds[i].cmd;
			*json = n == 2;
			return 0;
		}
	}
	return -1;
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

static void counters_json(struct buf *b, const struct mb_counters *c)
{
	buf_printf(b, "{\"rx\":%" PRIu64 ",\"tx\":%" PRIu64
		   ",\"bad_mac\":%" PRIu64 ",\"replayed\":%" PRIu64
		   ",\"stale\":%" PRIu64 ",\"malformed\":%" PRIu64 "}",
		   c->rx, c->tx, c->bad_mac, c->replayed, c->stale,
		   c->malformed);
}

static void counters_text(struct buf *b, const struct mb_counters *c)
{
	buf_printf(b, "%8" PRIu64 " %8" PRIu64 " %7" PRIu64 " %8" PRIu64
		   " %5" PRIu64 " %9" PRIu64 "\n", c->rx, c->tx, c->bad_mac,
		   c->replayed, c->stale, c->malformed);
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
		buf_printf(b, "%5s %-16s %-22s %-7s %-18s %9s %-7s %-7s %8s %8s %7s %8s %5s %9s\n",
			   "NODE", "HOST", "ADDRESS", "STATE", "INCARNATION",
			   "HEARD_MS", "KERNEL", "SEES_US", "RX", "TX",
			   "BAD_MAC", "REPLAYED", "STALE", "MALFORMED");
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

		if (json)
			buf_printf(b, "%s{\"segid\":\"0x%" PRIx64 "\",\"pid\":%"
				   PRId64 ",\"uid\":%u,\"gid\":%u,\"size\":%"
				   PRIu64 ",\"mode\":\"0%o\",\"permits\":%" PRIu64
				   ",\"attachments\":%" PRIu64
				   ",\"remote_permits\":%" PRIu64
				   ",\"remote_attachments\":%" PRIu64 "}",
				   i ? "," : "", s->segid, s->pid, s->uid,
				   s->gid, s->size, s->mode, s->permits,
				   s->attachments, s->remote_permits,
				   s->remote_attachments);
		else
			buf_printf(b, "0x%016" PRIx64 " %8" PRId64 " %6u %6u %14"
				   PRIu64 " %04o %7" PRIu64 " %7" PRIu64 " %7"
				   PRIu64 " %7" PRIu64 "\n", s->segid, s->pid,
				   s->uid, s->gid, s->size, s->mode, s->permits,
				   s->attachments, s->remote_permits,
				   s->remote_attachments);
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
		   "xpmemd_malformed         %" PRIu64 "\n",
		   d->rx, d->tx, d->bad_mac, d->replayed, d->stale,
		   d->malformed);
}
