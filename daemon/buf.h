/* SPDX-License-Identifier: GPL-2.0 */
/*
 * buf.h - a growable text buffer for replies, with JSON string quoting.
 * An allocation failure is sticky: later appends do nothing and
 * buf_failed() says so, so callers check once at the end.
 */
#ifndef XPMEMD_BUF_H
#define XPMEMD_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	int failed;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_append(struct buf *b, const char *s, size_t n);
/* Appends s as a JSON string literal, quotes included. */
void buf_json_str(struct buf *b, const char *s);
int buf_failed(const struct buf *b);

#endif /* XPMEMD_BUF_H */
