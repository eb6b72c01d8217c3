// SPDX-License-Identifier: GPL-2.0
/*
 * kernel_if.c - the cluster ioctls and the /proc/xpmem parsers.
 *
 * The /proc files are read tolerantly: a newer module may append
 * "key value" pairs to a line, and the daemon must keep working.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "cluster_key.h"
#include "kernel_if.h"
#include "xpmem_uapi.h"

_Static_assert(CLUSTER_LINK_KEY_LEN == XPMEM_LINK_KEY_LEN, "link key size");

#define KIF_MAX_TOKENS	64

/* One line split into tokens in a private copy. */
struct kif_line {
	char buf[1024];
	char *tok[KIF_MAX_TOKENS];
	int n;
};

/* Next line of text into l; returns the rest, NULL at the end. */
static const char *kif_next(const char *p, struct kif_line *l)
{
	const char *nl;
	size_t len;
	char *s, *save = NULL;

	if (!p || !*p)
		return NULL;
	nl = strchr(p, '\n');
	len = nl ? (size_t)(nl - p) : strlen(p);
	if (len >= sizeof(l->buf))
		len = sizeof(l->buf) - 1;	/* a truncated line */
	memcpy(l->buf, p, len);
	l->buf[len] = '\0';
	l->n = 0;
	for (s = strtok_r(l->buf, " \t\r", &save); s && l->n < KIF_MAX_TOKENS;
	     s = strtok_r(NULL, " \t\r", &save))
		l->tok[l->n++] = s;
	return nl ? nl + 1 : p + strlen(p);
}

static int kif_u64(const char *s, int base, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* Value of "key" among the pairs tok[start..], or NULL. */
static const char *kif_get(const struct kif_line *l, int start,
			   const char *key)
{
	int i;

	for (i = start; i + 1 < l->n; i += 2)
		if (!strcmp(l->tok[i], key))
			return l->tok[i + 1];
	return NULL;
}

int kif_parse_peers(const char *text, struct kif_local *local,
		    struct kif_peer *peers, size_t max)
{
	struct kif_line l;
	const char *p = text, *v;
	int have_local = 0;
	size_t n = 0;
	uint64_t u;

	memset(local, 0, sizeof(*local));
	while ((p = kif_next(p, &l))) {
		if (l.n >= 2 && !strcmp(l.tok[0], "local")) {
			if (kif_u64(l.tok[1], 10, &u) || u > CFG_NODE_ID_MAX)
				continue;
			have_local = 1;
			local->node = (uint32_t)u;
			if (!u)
				continue;
			v = kif_get(&l, 2, "addr");
			if (!v || net_addr_parse(v, 0, &local->addr))
				local->node = 0;
			v = kif_get(&l, 2, "incarnation");
			if (!v || kif_u64(v, 0, &local->incarnation))
				local->node = 0;
		} else if (l.n >= 2 && !strcmp(l.tok[0], "node") && n < max) {
			struct kif_peer *pe = &peers[n];

			memset(pe, 0, sizeof(*pe));
			if (kif_u64(l.tok[1], 10, &u) || !u ||
			    u > CFG_NODE_ID_MAX)
				continue;
			pe->node = (uint32_t)u;
			v = kif_get(&l, 2, "addr");
			if (v && net_addr_parse(v, 0, &pe->addr))
				continue;
			v = kif_get(&l, 2, "incarnation");
			if (v && kif_u64(v, 0, &pe->incarnation))
				continue;
			v = kif_get(&l, 2, "state");
			snprintf(pe->state, sizeof(pe->state), "%s", v ? v : "?");
			n++;
		}
	}
	return have_local ? (int)n : -1;
}

static int kif_grow(void **v, size_t *cap, size_t n, size_t size)
{
	void *p;

	if (n < *cap)
		return 0;
	*cap = *cap ? *cap * 2 : 32;
	p = realloc(*v, *cap * size);
	if (!p)
		return -1;
	*v = p;
	return 0;
}

ssize_t kif_parse_segments(const char *text, struct kif_segment **out)
{
	struct kif_segment *v = NULL, s;
	struct kif_line l;
	const char *p = text;
	size_t n = 0, cap = 0;
	int i, have_uid;

	while ((p = kif_next(p, &l))) {
		memset(&s, 0, sizeof(s));
		if (l.n < 2 || strcmp(l.tok[0], "segid") ||
		    kif_u64(l.tok[1], 16, &s.segid))
			continue;
		have_uid = 0;
		for (i = 2; i + 1 < l.n; i += 2) {
			const char *k = l.tok[i], *val = l.tok[i + 1];
			uint64_t u;

			if (!strcmp(k, "mode")) {
				if (!kif_u64(val, 8, &u))
					s.mode = (uint32_t)u;
				continue;
			}
			if (kif_u64(val, 10, &u))
				continue;
			if (!strcmp(k, "pid"))
				s.pid = (int64_t)u;
			else if (!strcmp(k, "uid")) {
				s.uid = (uint32_t)u;
				have_uid = u <= UINT32_MAX;
			} else if (!strcmp(k, "gid"))
				s.gid = (uint32_t)u;
			else if (!strcmp(k, "size"))
				s.size = u;
			else if (!strcmp(k, "permits"))
				s.permits = u;
			else if (!strcmp(k, "attachments"))
				s.attachments = u;
			else if (!strcmp(k, "remote_permits"))
				s.remote_permits = u;
			else if (!strcmp(k, "remote_attachments"))
				s.remote_attachments = u;
		}
		/* Without an owner uid nobody could be shown it safely. */
		if (!have_uid)
			continue;
		if (kif_grow((void **)&v, &cap, n, sizeof(*v))) {
			free(v);
			return -1;
		}
		v[n++] = s;
	}
	*out = v;
	return (ssize_t)n;
}

ssize_t kif_parse_counters(const char *text, struct kif_counter **out)
{
	struct kif_counter *v = NULL;
	struct kif_line l;
	const char *p = text;
	size_t n = 0, cap = 0;
	uint64_t u;

	while ((p = kif_next(p, &l))) {
		if (l.n < 2 || strlen(l.tok[0]) >= sizeof(v->name) ||
		    kif_u64(l.tok[1], 10, &u))
			continue;
		if (kif_grow((void **)&v, &cap, n, sizeof(*v))) {
			free(v);
			return -1;
		}
		snprintf(v[n].name, sizeof(v[n].name), "%s", l.tok[0]);
		v[n].value = u;
		n++;
	}
	*out = v;
	return (ssize_t)n;
}

int kif_open(void)
{
	int fd = open(XPMEM_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int kif_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

int kif_set_node(int fd, uint32_t node, const struct net_addr *a,
		 uint64_t incarnation)
{
	struct xpmem_cmd_node cmd = {
		.node_id = node,
		.family = (__u16)a->family,
		.port = a->port,
		.incarnation = incarnation,
	};

	memcpy(cmd.addr, a->addr, sizeof(cmd.addr));
	return kif_ioctl(fd, XPMEM_IOC_SET_NODE, &cmd);
}

int kif_add_peer(int fd, uint32_t node, const struct net_addr *a,
		 uint64_t incarnation)
{
	struct xpmem_cmd_peer cmd = {
		.node_id = node,
		.family = (__u16)a->family,
		.port = a->port,
		.incarnation = incarnation,
	};

	memcpy(cmd.addr, a->addr, sizeof(cmd.addr));
	return kif_ioctl(fd, XPMEM_IOC_ADD_PEER, &cmd);
}

int kif_set_key(int fd, const uint8_t cluster[32])
{
	struct xpmem_cmd_key cmd = { .len = XPMEM_LINK_KEY_LEN };
	int ret;

	ret = cluster_link_key(cluster, cmd.key) ? -EINVAL : 0;
	if (!ret)
		ret = kif_ioctl(fd, XPMEM_IOC_SET_KEY, &cmd);
	sodium_memzero(&cmd, sizeof(cmd));
	return ret;
}

int kif_del_peer(int fd, uint32_t node)
{
	/* Only the id names the peer; the kernel wants the rest zero. */
	struct xpmem_cmd_peer cmd = { .node_id = node };

	return kif_ioctl(fd, XPMEM_IOC_DEL_PEER, &cmd);
}
