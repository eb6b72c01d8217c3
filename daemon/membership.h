/* SPDX-License-Identifier: GPL-2.0 */
/*
 * membership.h - who is alive: heartbeats, leases, incarnations.
 *
 * A pure state machine: time comes in as arguments (a monotonic clock
 * for leases, the wall clock for freshness), and kernel changes come out
 * as actions the caller executes (xpmemd.c: the ioctls).  Tests drive it
 * with a fake clock.
 *
 *   UNKNOWN --valid heartbeat--> ALIVE       ADD_PEER(incarnation)
 *   ALIVE   --lease expired----> DEAD        DEL_PEER (kernel fences it)
 *   DEAD    --valid heartbeat--> ALIVE       ADD_PEER
 *   ALIVE   --newer incarnation> ALIVE       DEL_PEER, ADD_PEER(new)
 *
 * A heartbeat is valid if it is addressed to us, from a configured node,
 * its incarnation is not older than the newest seen from that node, its
 * sequence number is newer than the last accepted one of the same
 * incarnation, and (max_skew_ns != 0) its sequence number, a wall-clock
 * time stamp, is within max_skew_ns of our clock.
 */
#ifndef XPMEMD_MEMBERSHIP_H
#define XPMEMD_MEMBERSHIP_H

#include <stddef.h>
#include <stdint.h>

enum mb_state {
	MB_UNKNOWN,	/* not heard from since the daemon started */
	MB_ALIVE,
	MB_DEAD,	/* lease expired */
};

enum mb_verdict {
	MB_ACCEPT = 0,
	MB_NOT_FOR_US,	/* destination is another node */
	MB_FROM_SELF,	/* our own id: a loop or a misconfigured peer */
	MB_UNKNOWN_NODE,/* not in nodes.conf */
	MB_STALE,	/* older incarnation than one already seen */
	MB_REPLAY,	/* sequence number not newer than the last one */
	MB_SKEW,	/* time stamp too far from our clock */
	MB_NOT_ALIVE,	/* a query of a node that is not ALIVE here (or of
			 * an incarnation not admitted yet) */
};

struct mb_counters {
	uint64_t rx;		/* accepted heartbeats */
	uint64_t tx;
	uint64_t bad_mac;
	uint64_t replayed;	/* MB_REPLAY and MB_SKEW */
	uint64_t stale;
	uint64_t malformed;
	uint64_t dropped;	/* authentic queries/replies not acted on:
				 * sender not alive, unknown request id,
				 * over the rate limit */
};

struct mb_peer {
	uint32_t node;
	enum mb_state state;
	uint64_t incarnation;	/* newest accepted; 0 = none */
	uint64_t last_seq;
	uint64_t last_qseq;	/* of SEG_REQUEST/SEG_REPLY, same incarnation */
	uint64_t last_heard_ms;	/* monotonic; valid once heard */
	int heard;		/* a heartbeat was accepted since start */
	int in_kernel;		/* registered with ADD_PEER (as far as we know) */
	int kernel_inc_unknown;	/* seeded from the kernel without incarnation */
	uint64_t sees_us;	/* incarnation of ours it reported seeing */
	uint32_t peer_heartbeat_ms, peer_lease_ms;
	struct mb_counters c;
};

enum mb_action_type { MB_ADD_PEER = 1, MB_DEL_PEER };

struct mb_action {
	enum mb_action_type type;
	uint32_t node;
	uint64_t incarnation;	/* for ADD_PEER */
};

struct membership {
	uint32_t self;
	uint64_t lease_ms;
	uint64_t max_skew_ns;
	struct mb_peer *peers;	/* every configured node but self */
	size_t npeers;
	struct mb_counters total; /* including messages of unknown nodes */
};

/* Every action fits in this many slots per call of mb_heartbeat. */
#define MB_MAX_ACTIONS	2

int mb_init(struct membership *m, uint32_t self, const uint32_t *nodes,
	    size_t n, uint64_t lease_ms, uint64_t max_skew_ns);
void mb_free(struct membership *m);
struct mb_peer *mb_peer(struct membership *m, uint32_t node);

/*
 * The kernel already has this peer (daemon restart): ALIVE with a lease
 * starting now, so a healthy peer keeps its connection.  incarnation 0
 * means the kernel has not seen one.
 */
void mb_seed(struct membership *m, uint32_t node, uint64_t incarnation,
	     uint64_t now_ms);

/*
 * An authenticated heartbeat (already decoded by wire.c).  Returns the
 * verdict; on MB_ACCEPT, acts[0..*nacts) are the kernel changes.
 */
enum mb_verdict mb_heartbeat(struct membership *m, uint32_t src, uint32_t dst,
			     uint64_t incarnation, uint64_t seq,
			     uint64_t now_ms, uint64_t wall_ns,
			     struct mb_action *acts, size_t *nacts);

/*
 * An authenticated segment query or reply (not a heartbeat: it never
 * renews the lease nor admits a node).  Accepted only from a node that
 * is ALIVE here, with the incarnation admitted, a sequence number newer
 * than the last query/reply accepted from it and within the skew
 * window.  Sequence numbers of queries are tracked apart from
 * heartbeats, so a heartbeat overtaking a reply does not refuse it.
 */
enum mb_verdict mb_query(struct membership *m, uint32_t src, uint32_t dst,
			 uint64_t incarnation, uint64_t seq, uint64_t wall_ns);

/* Counts a dropped query or reply (see mb_counters.dropped). */
void mb_count_dropped(struct membership *m, uint32_t src);

/* Leases that ran out by now_ms: DEL_PEER actions, up to max. */
size_t mb_tick(struct membership *m, uint64_t now_ms, struct mb_action *acts,
	       size_t max);

/* The caller reports what the kernel did with an action. */
void mb_kernel_done(struct membership *m, const struct mb_action *a, int ok);

/* Counts a bad message (wire.c error) against node src (0: unknown). */
void mb_count_bad(struct membership *m, uint32_t src, int bad_mac);

const char *mb_state_name(enum mb_state s);
const char *mb_verdict_name(enum mb_verdict v);

#endif /* XPMEMD_MEMBERSHIP_H */
