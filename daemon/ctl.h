/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ctl.h - the local admin protocol between xpmemctl and xpmemd.
 *
 * Over a Unix stream socket the client sends one line,
 *   "<command>[ local][ json]\n"   command: status | segments | counters
 * and the daemon answers with a status line, "ok" or "error <why>",
 * then the body (text or JSON), and closes.  The caller's uid comes
 * from SO_PEERCRED; segments are filtered by it (root sees all).
 *
 * "segments" is cluster-wide: the daemon asks every ALIVE peer
 * (SEG_REQUEST, wire.h) and answers when all replied or the deadline
 * passed; "segments local" lists this node only.  The helpers for both
 * sides of that exchange are here, pure and tested.
 */
#ifndef XPMEMD_CTL_H
#define XPMEMD_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "config.h"
#include "kernel_if.h"
#include "membership.h"
#include "wire.h"

#define CTL_LINE_MAX	128

enum ctl_cmd { CTL_STATUS, CTL_SEGMENTS, CTL_COUNTERS };

struct ctl_request {
	enum ctl_cmd cmd;
	int json;
	int local;		/* segments of this node only */
};

/* 0 and *r filled, or -1 for an unknown request. */
int ctl_parse_request(const char *line, struct ctl_request *r);

/*
 * The permission filter: the segments uid may see, copied to out (room
 * for n).  Root sees every segment, anyone else only their own.
 */
size_t ctl_filter_segments(uid_t uid, const struct kif_segment *in, size_t n,
			   struct kif_segment *out);

/*
 * The filter of both sides of a cluster query: all (root asked) copies
 * everything, else only the segments of uid.  Unlike
 * ctl_filter_segments, uid 0 without all sees only root's own.
 */
size_t ctl_filter_uid(int all, uint32_t uid, const struct kif_segment *in,
		      size_t n, struct kif_segment *out);

void ctl_seg_to_rec(const struct kif_segment *s, struct wire_seg_rec *r);
void ctl_rec_to_seg(const struct wire_seg_rec *r, struct kif_segment *s);

/*
 * The answering node: what a SEG_REQUEST may see of v (n < 0: no
 * segments file), in parts[0..ret) ready for wire_segrep_pack (ret >= 1,
 * the last flagged LAST; TRUNCATED if more than max parts would be
 * needed).  max is 1..WIRE_SEGREP_MAX_PARTS.
 */
size_t ctl_seg_answer(const struct wire_seg_request *rq,
		      const struct kif_segment *v, ssize_t n,
		      struct wire_seg_reply *parts, size_t max);

/* The asking node: one entry per node of a cluster listing. */
enum ctl_node_state {
	CTL_NODE_WAITING,	/* asked, answer not complete (yet) */
	CTL_NODE_OK,
	CTL_NODE_UNAVAILABLE,	/* answered: no /proc/xpmem/segments */
	CTL_NODE_DEAD,		/* not asked: its lease expired */
	CTL_NODE_UNKNOWN,	/* not asked: never heard */
};

struct ctl_node_segs {
	uint32_t node;
	const char *host;
	enum ctl_node_state state;
	int truncated;		/* the node had more than it could send */
	uint64_t parts_seen;	/* bit i: part i arrived */
	int last_part;		/* index of the LAST part, -1 before it */
	struct kif_segment *v;
	size_t n, cap;
};

void ctl_node_init(struct ctl_node_segs *ns, uint32_t node, const char *host,
		   enum ctl_node_state state);
/*
 * A reply part for ns (which must be WAITING): records not visible to
 * the asker (all/uid, as ctl_filter_uid) are dropped.  1: the answer is
 * complete (state OK or UNAVAILABLE); 0: parts still missing; -1:
 * refused (not waiting, or a part seen already); -2: out of memory.
 */
int ctl_node_add_reply(struct ctl_node_segs *ns, int all, uint32_t uid,
		       const struct wire_seg_reply *r);
void ctl_node_free(struct ctl_node_segs *ns);

/* The cluster listing: records named by node, then who did not answer. */
void ctl_format_cluster_segments(struct buf *b, const struct ctl_node_segs *v,
				 size_t n, int json);

/* What the status command shows. */
struct ctl_status {
	uint32_t self;
	const char *host;
	struct net_addr addr;
	uint64_t incarnation;
	uint16_t port;
	uint32_t heartbeat_ms, lease_ms;
	int kernel;			/* 0: --no-kernel */
	const struct node_list *nodes;
	const struct membership *mb;
	uint64_t now_ms;
};

void ctl_format_status(struct buf *b, const struct ctl_status *s, int json);
/* n < 0: /proc/xpmem/segments unavailable. */
void ctl_format_segments(struct buf *b, const struct kif_segment *v,
			 ssize_t n, int json);
/* n < 0: /proc/xpmem/counters unavailable. */
void ctl_format_counters(struct buf *b, const struct kif_counter *v,
			 ssize_t n, const struct mb_counters *daemon, int json);

#endif /* XPMEMD_CTL_H */
