// SPDX-License-Identifier: GPL-2.0
/*
 * config.c - parsing of nodes.conf and xpmemd.conf.
 *
 * Both are read whole and parsed line by line.  The first error stops
 * the parse: a daemon that half understood its node list would announce
 * the wrong peers to the kernel.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

#define MAX_FIELDS	8
#define LINE_MAX_LEN	1024

static void set_err(char *err, size_t errlen, const char *fname, int line,
		    const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void set_err(char *err, size_t errlen, const char *fname, int line,
		    const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || !errlen)
		return;
	n = line ? snprintf(err, errlen, "%s:%d: ", fname, line) :
		   snprintf(err, errlen, "%s: ", fname);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
}

char *read_text_file(const char *path, size_t max)
{
	size_t len = 0, cap = 4096;
	char *text, *p;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	text = malloc(cap);
	if (!text)
		goto fail;
	for (;;) {
		if (len + 1 >= cap) {
			if (cap >= max) {
				errno = EFBIG;
				goto fail;
			}
			cap *= 2;
			p = realloc(text, cap);
			if (!p)
				goto fail;
			text = p;
		}
		r = read(fd, text + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	text[len] = '\0';
	close(fd);
	return text;
fail:
	r = errno;
	free(text);
	close(fd);
	errno = (int)r;
	return NULL;
}

/* Splits a line in place into whitespace-separated fields, '#' ends it. */
static int split_fields(char *line, char **f, int max)
{
	int n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p || *p == '#')
			return n;
		if (n == max)
			return max + 1;
		f[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '#')
			p++;
		if (*p == '#') {
			*p = '\0';
			return n;
		}
		if (*p)
			*p++ = '\0';
	}
}

/* Next line of text: NUL-terminated copy in line; NULL at the end. */
static const char *next_line(const char *p, char *line, size_t len,
			     int *too_long)
{
	const char *nl;
	size_t n;

	if (!*p)
		return NULL;
	nl = strchr(p, '\n');
	n = nl ? (size_t)(nl - p) : strlen(p);
	*too_long = n >= len;
	if (n >= len)
		n = len - 1;
	memcpy(line, p, n);
	line[n] = '\0';
	return nl ? nl + 1 : p + strlen(p);
}

static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int net_addr_parse(const char *s, uint16_t default_port, struct net_addr *a)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port = NULL, *colon;
	size_t n;
	uint32_t p;

	memset(a, 0, sizeof(*a));
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close)
			return -1;
		n = (size_t)(close - s - 1);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			return -1;
		if (n >= sizeof(host))
			return -1;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, a->addr) != 1)
			return -1;
		a->family = AF_INET6;
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':')) {
			/* Bare IPv6: several colons, no port. */
			if (inet_pton(AF_INET6, s, a->addr) != 1)
				return -1;
			a->family = AF_INET6;
		} else {
			n = colon ? (size_t)(colon - s) : strlen(s);
			if (n >= sizeof(host))
				return -1;
			memcpy(host, s, n);
			host[n] = '\0';
			if (inet_pton(AF_INET, host, a->addr) != 1)
				return -1;
			a->family = AF_INET;
			if (colon)
				port = colon + 1;
		}
	}
	if (port) {
		if (parse_u32(port, 1, 65535, &p))
			return -1;
		a->port = (uint16_t)p;
	} else {
		a->port = default_port;
	}
	return 0;
}

void net_addr_format(const struct net_addr *a, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (!inet_ntop(a->family, a->addr, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "?");
	if (a->family == AF_INET6)
		snprintf(out, len, "[%s]:%u", ip, a->port);
	else
		snprintf(out, len, "%s:%u", ip, a->port);
}

int net_addr_equal_ip(const struct net_addr *a, const struct net_addr *b)
{
	return a->family == b->family &&
	       !memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16);
}

/*
 * A field with at most one numeric range "[lo-hi]" (or "[n]"):
 * prefix, lo, hi, zero-padding width and suffix.  A bracket holding
 * anything but digits and one '-' is not a range (an IPv6 "[addr]").
 */
struct range {
	char prefix[CFG_HOST_MAX * 2];
	char suffix[CFG_HOST_MAX * 2];
	uint32_t lo, hi;
	int width;
	int is_range;
};

static int is_range_body(const char *open, const char *close)
{
	const char *p;
	int dash = 0;

	if (close == open + 1)
		return 0;
	for (p = open + 1; p < close; p++) {
		if (*p == '-')
			dash++;
		else if (!isdigit((unsigned char)*p))
			return 0;
	}
	return dash <= 1;
}

/* The first "[...]" in s that is a numeric range, or NULL. */
static const char *find_range(const char *s, int *unclosed)
{
	const char *open = strchr(s, '[');

	*unclosed = 0;
	while (open) {
		const char *close = strchr(open, ']');

		if (!close) {
			*unclosed = 1;
			return NULL;
		}
		if (is_range_body(open, close))
			return open;
		open = strchr(close, '[');
	}
	return NULL;
}

/* 0, or -1 with why set to a reason. */
static int range_parse(const char *s, struct range *r, const char **why)
{
	const char *open, *close, *dash;
	uint32_t lo, hi;
	int unclosed;
	char num[16];
	size_t n;

	memset(r, 0, sizeof(*r));
	open = find_range(s, &unclosed);
	if (unclosed) {
		*why = "unclosed '['";
		return -1;
	}
	if (!open) {
		if (strlen(s) >= sizeof(r->prefix)) {
			*why = "too long";
			return -1;
		}
		snprintf(r->prefix, sizeof(r->prefix), "%s", s);
		return 0;
	}
	close = strchr(open, ']');
	if (find_range(close + 1, &unclosed) || unclosed) {
		*why = unclosed ? "unclosed '['" : "more than one range";
		return -1;
	}
	n = (size_t)(open - s);
	if (n >= sizeof(r->prefix) || strlen(close + 1) >= sizeof(r->suffix)) {
		*why = "too long";
		return -1;
	}
	memcpy(r->prefix, s, n);
	r->prefix[n] = '\0';
	snprintf(r->suffix, sizeof(r->suffix), "%s", close + 1);

	dash = memchr(open, '-', (size_t)(close - open));
	n = (size_t)((dash ? dash : close) - open - 1);
	if (n == 0 || n >= sizeof(num)) {
		*why = "bad range bound";
		return -1;
	}
	memcpy(num, open + 1, n);
	num[n] = '\0';
	if (parse_u32(num, 0, 99999999, &lo)) {
		*why = "bad range bound";
		return -1;
	}
	r->width = num[0] == '0' && n > 1 ? (int)n : 0;
	hi = lo;
	if (dash) {
		n = (size_t)(close - dash - 1);
		if (n == 0 || n >= sizeof(num)) {
			*why = "bad range bound";
			return -1;
		}
		memcpy(num, dash + 1, n);
		num[n] = '\0';
		if (parse_u32(num, 0, 99999999, &hi)) {
			*why = "bad range bound";
			return -1;
		}
	}
	if (hi < lo) {
		*why = "range goes backwards";
		return -1;
	}
	r->lo = lo;
	r->hi = hi;
	r->is_range = 1;
	return 0;
}

static uint32_t range_count(const struct range *r)
{
	return r->is_range ? r->hi - r->lo + 1 : 1;
}

static int range_item(const struct range *r, uint32_t i, char *out,
		      size_t len)
{
	int n;

	if (!r->is_range)
		n = snprintf(out, len, "%s", r->prefix);
	else
		n = snprintf(out, len, "%s%0*u%s", r->prefix, r->width,
			     r->lo + i, r->suffix);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int host_valid(const char *h)
{
	const char *p;

	if (!*h || strlen(h) >= CFG_HOST_MAX || *h == '-' || *h == '.')
		return 0;
	for (p = h; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' &&
		    *p != '_')
			return 0;
	return 1;
}

static int nodes_push(struct node_list *l, const struct cfg_node *n)
{
	struct cfg_node *v;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;

		v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *n;
	return 0;
}

const struct cfg_node *nodes_find(const struct node_list *l, uint32_t id)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].id == id)
			return &l->v[i];
	return NULL;
}

const struct cfg_node *nodes_find_host(const struct node_list *l,
				       const char *host)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].host, host))
			return &l->v[i];
	return NULL;
}

static const struct cfg_node *nodes_find_ip(const struct node_list *l,
					    const struct net_addr *a)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (net_addr_equal_ip(&l->v[i].addr, a))
			return &l->v[i];
	return NULL;
}

void nodes_free(struct node_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* The id field: "N" or "LO-HI" (no brackets). */
static int id_range_parse(const char *s, uint32_t *lo, uint32_t *hi)
{
	char num[16];
	const char *dash = strchr(s, '-');
	size_t n;

	if (!dash) {
		if (parse_u32(s, 1, CFG_NODE_ID_MAX, lo))
			return -1;
		*hi = *lo;
		return 0;
	}
	n = (size_t)(dash - s);
	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	if (parse_u32(num, 1, CFG_NODE_ID_MAX, lo) ||
	    parse_u32(dash + 1, 1, CFG_NODE_ID_MAX, hi) || *hi < *lo)
		return -1;
	return 0;
}

static int nodes_line(char *line, const char *fname, int lineno,
		      uint16_t default_port, struct node_list *out,
		      char *err, size_t errlen)
{
	char *f[MAX_FIELDS];
	char host[CFG_HOST_MAX * 4], addr[CFG_HOST_MAX * 4];
	struct range hr, ar;
	const char *why = NULL;
	uint32_t lo, hi, count, i;
	int n;

	n = split_fields(line, f, MAX_FIELDS);
	if (n == 0)
		return 0;
	if (n < 3) {
		set_err(err, errlen, fname, lineno,
			"missing fields: expected \"<node-id> <hostname> <address>[:port]\"");
		return -1;
	}
	if (n > 3) {
		set_err(err, errlen, fname, lineno,
			"extra field \"%s\" after the address", f[3]);
		return -1;
	}
	if (id_range_parse(f[0], &lo, &hi)) {
		set_err(err, errlen, fname, lineno,
			"bad node id \"%s\" (1..%d, or a range LO-HI)", f[0],
			CFG_NODE_ID_MAX);
		return -1;
	}
	if (range_parse(f[1], &hr, &why)) {
		set_err(err, errlen, fname, lineno, "bad host range \"%s\": %s",
			f[1], why);
		return -1;
	}
	if (range_parse(f[2], &ar, &why)) {
		set_err(err, errlen, fname, lineno,
			"bad address range \"%s\": %s", f[2], why);
		return -1;
	}
	count = hi - lo + 1;
	if (range_count(&hr) != count || range_count(&ar) != count) {
		set_err(err, errlen, fname, lineno,
			"bad host range: %u node ids, %u host names, %u addresses",
			count, range_count(&hr), range_count(&ar));
		return -1;
	}
	for (i = 0; i < count; i++) {
		struct cfg_node node = { .id = lo + i, .line = lineno };
		const struct cfg_node *dup;

		if (range_item(&hr, i, host, sizeof(host)) ||
		    !host_valid(host)) {
			set_err(err, errlen, fname, lineno,
				"bad host name \"%s\"", f[1]);
			return -1;
		}
		if (range_item(&ar, i, addr, sizeof(addr)) ||
		    net_addr_parse(addr, default_port, &node.addr)) {
			set_err(err, errlen, fname, lineno,
				"bad address \"%s\"", addr);
			return -1;
		}
		memcpy(node.host, host, strlen(host) + 1);	/* host_valid: fits */
		dup = nodes_find(out, node.id);
		if (dup) {
			set_err(err, errlen, fname, lineno,
				"duplicate node id %u (first on line %d)",
				node.id, dup->line);
			return -1;
		}
		dup = nodes_find_host(out, node.host);
		if (dup) {
			set_err(err, errlen, fname, lineno,
				"duplicate host name %s (first on line %d)",
				node.host, dup->line);
			return -1;
		}
		dup = nodes_find_ip(out, &node.addr);
		if (dup) {
			set_err(err, errlen, fname, lineno,
				"duplicate address %s (first on line %d)",
				addr, dup->line);
			return -1;
		}
		if (nodes_push(out, &node)) {
			set_err(err, errlen, fname, lineno, "out of memory");
			return -1;
		}
	}
	return 0;
}

int nodes_parse(const char *text, const char *fname, uint16_t default_port,
		struct node_list *out, char *err, size_t errlen)
{
	char line[LINE_MAX_LEN];
	const char *p = text;
	int lineno = 0, too_long;

	memset(out, 0, sizeof(*out));
	while ((p = next_line(p, line, sizeof(line), &too_long))) {
		lineno++;
		if (too_long) {
			set_err(err, errlen, fname, lineno, "line too long");
			goto fail;
		}
		if (nodes_line(line, fname, lineno, default_port, out, err,
			       errlen))
			goto fail;
	}
	if (!out->n) {
		set_err(err, errlen, fname, 0, "no nodes defined");
		goto fail;
	}
	return 0;
fail:
	nodes_free(out);
	return -1;
}

int nodes_load(const char *path, uint16_t default_port,
	       struct node_list *out, char *err, size_t errlen)
{
	char *text = read_text_file(path, 4 << 20);
	int ret;

	if (!text) {
		set_err(err, errlen, path, 0, "%s", strerror(errno));
		return -1;
	}
	ret = nodes_parse(text, path, default_port, out, err, errlen);
	free(text);
	return ret;
}

void conf_defaults(struct xpmemd_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->nodes_path, sizeof(c->nodes_path), "%s", CFG_DEFAULT_NODES);
	snprintf(c->key_path, sizeof(c->key_path), "%s", CFG_DEFAULT_KEY);
	snprintf(c->socket_path, sizeof(c->socket_path), "%s",
		 CFG_DEFAULT_SOCKET);
	snprintf(c->proc_dir, sizeof(c->proc_dir), "%s", CFG_DEFAULT_PROC);
	c->port = CFG_DEFAULT_PORT;
	c->rdma_port = CFG_DEFAULT_RDMA_PORT;
	c->heartbeat_ms = 500;
	c->lease_ms = 3000;
	c->max_skew_ms = 30000;
	c->log_level = LOG_LVL_INFO;
	c->use_kernel = 1;
}

enum conf_kind { K_U32, K_PORT, K_PATH, K_BOOL, K_LEVEL };

struct conf_key {
	const char *name;
	enum conf_kind kind;
	size_t off;
	uint32_t lo, hi;
};

#define KEY(n, k, f, l, h) { n, k, offsetof(struct xpmemd_conf, f), l, h }
static const struct conf_key conf_keys[] = {
	KEY("node_id", K_U32, node_id, 1, CFG_NODE_ID_MAX),
	KEY("nodes", K_PATH, nodes_path, 0, 0),
	KEY("key_file", K_PATH, key_path, 0, 0),
	KEY("socket", K_PATH, socket_path, 0, 0),
	KEY("proc_dir", K_PATH, proc_dir, 0, 0),
	KEY("port", K_PORT, port, 1, 65535),
	KEY("rdma_port", K_PORT, rdma_port, 1, 65535),
	KEY("heartbeat_ms", K_U32, heartbeat_ms, 10, 60000),
	KEY("lease_ms", K_U32, lease_ms, 20, 600000),
	KEY("max_skew_ms", K_U32, max_skew_ms, 0, 86400000),
	KEY("log_level", K_LEVEL, log_level, 0, 0),
	KEY("kernel", K_BOOL, use_kernel, 0, 0),
};
#define NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

static int parse_bool(const char *s, int *out)
{
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "1"))
		*out = 1;
	else if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}

static int conf_set(const struct conf_key *k, const char *v,
		    struct xpmemd_conf *c)
{
	char *field = (char *)c + k->off;
	uint32_t u;
	int i;

	switch (k->kind) {
	case K_U32:
		if (parse_u32(v, k->lo, k->hi, &u))
			return -1;
		memcpy(field, &u, sizeof(u));
		return 0;
	case K_PORT:
		if (parse_u32(v, k->lo, k->hi, &u))
			return -1;
		*(uint16_t *)(void *)field = (uint16_t)u;
		return 0;
	case K_PATH:
		if (*v != '/' || strlen(v) >= CFG_PATH_MAX)
			return -1;
		snprintf(field, CFG_PATH_MAX, "%s", v);
		return 0;
	case K_BOOL:
		if (parse_bool(v, &i))
			return -1;
		memcpy(field, &i, sizeof(i));
		return 0;
	case K_LEVEL:
		i = log_level_parse(v);
		if (i < 0)
			return -1;
		memcpy(field, &i, sizeof(i));
		return 0;
	}
	return -1;
}

static const char *const kind_hint[] = {
	[K_U32] = "a number in %u..%u",
	[K_PORT] = "a port in %u..%u",
	[K_PATH] = "an absolute path",
	[K_BOOL] = "yes or no",
	[K_LEVEL] = "error, warn, notice, info or debug",
};

int conf_parse(const char *text, const char *fname, struct xpmemd_conf *c,
	       char *err, size_t errlen)
{
	int seen_line[NKEYS] = { 0 };
	char line[LINE_MAX_LEN], hint[64];
	const char *p = text;
	int lineno = 0, too_long;

	while ((p = next_line(p, line, sizeof(line), &too_long))) {
		char *f[MAX_FIELDS], *eq, *key, *val;
		size_t i;
		int n;

		lineno++;
		if (too_long) {
			set_err(err, errlen, fname, lineno, "line too long");
			return -1;
		}
		/* "key=value" and "key = value" both: split at '='. */
		eq = strchr(line, '=');
		if (eq) {
			char *hash = strchr(line, '#');

			if (hash && hash < eq)
				eq = NULL;
		}
		if (eq)
			*eq = ' ';
		n = split_fields(line, f, MAX_FIELDS);
		if (n == 0)
			continue;
		key = f[0];
		if (!eq || n < 2) {
			set_err(err, errlen, fname, lineno,
				"expected \"key = value\"");
			return -1;
		}
		if (n > 2) {
			set_err(err, errlen, fname, lineno,
				"extra text \"%s\" after the value of %s",
				f[2], key);
			return -1;
		}
		val = f[1];
		for (i = 0; i < NKEYS; i++)
			if (!strcmp(key, conf_keys[i].name))
				break;
		if (i == NKEYS) {
			set_err(err, errlen, fname, lineno, "unknown key \"%s\"",
				key);
			return -1;
		}
		if (seen_line[i]) {
			set_err(err, errlen, fname, lineno,
				"duplicate key %s (first on line %d)", key,
				seen_line[i]);
			return -1;
		}
		seen_line[i] = lineno;
		if (conf_set(&conf_keys[i], val, c)) {
			snprintf(hint, sizeof(hint), kind_hint[conf_keys[i].kind],
				 conf_keys[i].lo, conf_keys[i].hi);
			set_err(err, errlen, fname, lineno,
				"bad value \"%s\" for %s: expected %s", val, key,
				hint);
			return -1;
		}
	}
	/* A lease must survive at least one lost heartbeat. */
	if (c->lease_ms < 2 * c->heartbeat_ms) {
		set_err(err, errlen, fname, 0,
			"lease_ms (%u) must be at least twice heartbeat_ms (%u)",
			c->lease_ms, c->heartbeat_ms);
		return -1;
	}
	return 0;
}

int conf_load(const char *path, int missing_ok, struct xpmemd_conf *c,
	      char *err, size_t errlen)
{
	char *text = read_text_file(path, 1 << 20);
	int ret;

	if (!text) {
		if (errno == ENOENT && missing_ok)
			return conf_parse("", path, c, err, errlen);
		set_err(err, errlen, path, 0, "%s", strerror(errno));
		return -1;
	}
	ret = conf_parse(text, path, c, err, errlen);
	free(text);
	return ret;
}
