// SPDX-License-Identifier: GPL-2.0
/*
 * xpmemctl - asks the local xpmemd for node status, segments (of the
 * whole cluster, or with --local of this node) and counters over its
 * Unix socket (protocol in ctl.h).  The daemon
 * decides what the caller may see; this tool only prints the answer.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"

#ifndef XPMEMD_VERSION
#define XPMEMD_VERSION "0.1.0"
#endif

/* Exit codes, documented in xpmemctl(8). */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_NODAEMON = 3 };

#define TIMEOUT_MS	5000

static const char usage_text[] =
"usage: xpmemctl [OPTIONS] COMMAND\n"
"\n"
"Commands (answered by the local xpmemd):\n"
"  status      membership: each node's address, state (alive, dead,\n"
"              unknown), incarnation, time since last heard, counters\n"
"  segments    segments of every node that answers within 1 s, each\n"
"              named by its node; nodes that did not answer are listed\n"
"              (root: all segments; others: their own)\n"
"  counters    the kernel's counters and the daemon's message counters\n"
"\n"
"Options:\n"
"  -j, --json           JSON output\n"
"  -l, --local          segments: this node only, no peer is asked\n"
"  -S, --socket PATH    daemon socket (default " CFG_DEFAULT_SOCKET ")\n"
"  -h, --help           this text\n"
"  -V, --version        the version\n"
"\n"
"Exit status: 0 success, 1 the daemon reported an error, 2 usage error,\n"
"3 no daemon answered.\n";

/* Sends the request, reads the whole reply into b. */
static int ask(const char *path, const char *req, struct buf *b)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct pollfd pfd;
	char chunk[4096];
	size_t len = strlen(req), off = 0;
	ssize_t r;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "xpmemctl: socket path too long\n");
		return EXIT_USAGE;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);	/* length checked */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		fprintf(stderr, "xpmemctl: cannot reach xpmemd at %s: %s\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_NODAEMON;
	}
	while (off < len) {
		r = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto io_fail;
		off += (size_t)r;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		r = poll(&pfd, 1, TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			errno = ETIMEDOUT;
			goto io_fail;
		}
		if (r < 0)
			goto io_fail;
		r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto io_fail;
		if (r == 0)
			break;
		buf_append(b, chunk, (size_t)r);
	}
	close(fd);
	if (buf_failed(b)) {
		fprintf(stderr, "xpmemctl: out of memory\n");
		return EXIT_FAIL;
	}
	return EXIT_OK;
io_fail:
	fprintf(stderr, "xpmemctl: talking to xpmemd at %s: %s\n", path,
		strerror(errno));
	close(fd);
	return EXIT_NODAEMON;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "local", no_argument, NULL, 'l' },
		{ "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = CFG_DEFAULT_SOCKET, *cmd, *nl;
	char req[64];
	struct buf b;
	int json = 0, local = 0, c, ret;

	while ((c = getopt_long(argc, argv, "jlS:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'l':
			local = 1;
			break;
		case 'S':
			sock = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		case 'V':
			printf("xpmemctl %s\n", XPMEMD_VERSION);
			return EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind];
	if (strcmp(cmd, "status") && strcmp(cmd, "segments") &&
	    strcmp(cmd, "counters")) {
		fprintf(stderr, "xpmemctl: unknown command %s\n", cmd);
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (local && strcmp(cmd, "segments")) {
		fprintf(stderr, "xpmemctl: --local applies to segments only\n");
		return EXIT_USAGE;
	}
	snprintf(req, sizeof(req), "%s%s%s\n", cmd, local ? " local" : "",
		 json ? " json" : "");
	buf_init(&b);
	ret = ask(sock, req, &b);
	if (ret) {
		buf_free(&b);
		return ret;
	}
	/* First line: "ok" or "error <why>"; the rest is the answer. */
	nl = b.data ? strchr(b.data, '\n') : NULL;
	if (!nl) {
		fprintf(stderr, "xpmemctl: truncated answer from xpmemd\n");
		ret = EXIT_FAIL;
	} else if (!strncmp(b.data, "ok\n", 3)) {
		fputs(nl + 1, stdout);
	} else {
		fprintf(stderr, "xpmemctl: xpmemd: %.*s\n",
			(int)(nl - b.data) - (strncmp(b.data, "error ", 6) ? 0 : 6),
			b.data + (strncmp(b.data, "error ", 6) ? 0 : 6));
		ret = EXIT_FAIL;
	}
	buf_free(&b);
	return ret;
}
