/* SPDX-License-Identifier: MIT */
/*
 * line_sock.h - one-line text requests and answers over a TCP socket: how
 * the cross-node tests and benchmarks drive a process on the other node.
 */
#ifndef XPMEM_TEST_LINE_SOCK_H
#define XPMEM_TEST_LINE_SOCK_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#define LINE_SOCK_MAX 512

/* Sends one formatted line; -1 if it is too long or the write fails. */
static inline __attribute__((format(printf, 2, 3)))
int line_send(int fd, const char *fmt, ...)
{
	char buf[LINE_SOCK_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(buf) - 1)
		return -1;
	buf[n++] = '\n';
	return write(fd, buf, (size_t)n) == n ? 0 : -1;
}

/*
 * Reads one line (without its newline) into @buf; -1 on EOF or error (a
 * signal handled meanwhile, e.g. SIGCHLD of another thread's system(),
 * is not one).
 */
static inline int line_recv(int fd, char *buf, size_t max)
{
	size_t n = 0;

	while (n + 1 < max) {
		ssize_t r = read(fd, buf + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r != 1)
			return -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
	return 0;
}

#endif /* XPMEM_TEST_LINE_SOCK_H */
