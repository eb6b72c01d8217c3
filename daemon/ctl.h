/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ctl.h - the local admin protocol between xpmemctl and xpmemd.
 *
 * Over a Unix stream socket the client sends one line,
 *   "<command>[ json]\n"   command: status | segments | counters
 * and the daemon answers with a status line, "ok" or "error <why>",
 * then the body (text or JSON), and closes.  The caller's uid comes
 * from SO_PEERCRED; segments are filtered by it (root sees all).
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

#define CTL_LINE_MAX	128

enum ctl_cmd { CTL_STATUS, CTL_SEGMENTS, CTL_COUNTERS };

/* 0 and *cmd, *json filled, or -1 for an unknown request. */
int ctl_parse_request(const char *line, enum ctl_cmd *cmd, int *json);

/*
 * The permission filter: the segments uid may see, copied to out (room
 * for n).  Root sees every segment, anyone else only their own.
 */
size_t ctl_filter_segments(uid_t uid, const struct kif_segment *in, size_t n,
			   struct kif_segment *out);

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
