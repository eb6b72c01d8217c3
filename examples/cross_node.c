/* SPDX-License-Identifier: MIT */
/*
 * cross_node.c - share a buffer between processes on two nodes.
 *
 * The owner exports a buffer holding a message and sends the segment id
 * to the attacher over TCP (MPI would do the same).  The attacher, on
 * another node, gets and attaches the segment with the ordinary calls,
 * reads the message in place and prints it with its checksum, writes a
 * reply into the owner's buffer and makes it visible to the owner with
 * xpmem_sync(XPMEM_SYNC_RELEASE) (see xpmem_sync(3) for the data model).
 *
 *   node A:  cross_node owner PORT
 *   node B:  cross_node attach HOST_OF_A PORT
 *
 * Both nodes' kernels must know each other and hold the link key of the
 * same cluster key (xpmem-node set --key and add-peer, or the xpmemd
 * daemon).  Exit status: 0 success, 1 failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <xpmem.h>

#define BUF_SIZE	(64 * 1024)
#define REPLY_OFFSET	(32 * 1024)	/* the attacher writes its reply here */

static int fail(const char *what)
{
	fprintf(stderr, "cross_node: %s failed: %s\n", what, strerror(errno));
	return 1;
}

static uint64_t checksum(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	while (n--)
		h = (h ^ (unsigned char)*p++) * 1099511628211ULL;
	return h;
}

static int owner(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char *buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	xpmem_segid_t segid;
	int lfd, fd, one = 1;
	char done;

	if (buf == MAP_FAILED)
		return fail("mmap");
	snprintf(buf, BUF_SIZE, "hello from the owner, pid %d", (int)getpid());
	segid = xpmem_make(buf, BUF_SIZE, XPMEM_PERMIT_MODE, (void *)0600);
	if (segid < 0)
		return fail("xpmem_make");
	printf("owner: segment %#llx holds \"%s\"\n", (long long)segid, buf);

	sa.sin_port = htons((uint16_t)port);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one,
				  sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1))
		return fail("listen");
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return fail("accept");
	/* The id is just a number: send it to the attacher. */
	if (write(fd, &segid, sizeof(segid)) != sizeof(segid) ||
	    read(fd, &done, 1) != 1)	/* the attacher released its reply */
		return fail("socket");
	printf("owner: reply \"%s\"\n", buf + REPLY_OFFSET);
	if (xpmem_remove(segid))
		return fail("xpmem_remove");
	close(fd);
	close(lfd);
	return strncmp(buf + REPLY_OFFSET, "reply", 5) != 0;
}

static int attacher(const char *host, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct xpmem_addr addr = { .offset = 0 };
	xpmem_segid_t segid;
	char *buf;
	int fd, tries;

	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return fail("inet_pton");
	for (tries = 0;; tries++) {	/* the owner may not listen yet */
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		if (fd >= 0)
			close(fd);
		if (tries == 300)
			return fail("connect");
		usleep(100000);
	}
	if (read(fd, &segid, sizeof(segid)) != sizeof(segid))
		return fail("read segid");

	addr.apid = xpmem_get(segid, XPMEM_RDWR, XPMEM_PERMIT_MODE, NULL);
	if (addr.apid < 0)
		return fail("xpmem_get");
	buf = xpmem_attach(addr, BUF_SIZE, NULL);
	if (buf == (void *)-1)
		return fail("xpmem_attach");
	printf("attacher: read \"%s\" (checksum %016llx)\n", buf,
	       (unsigned long long)checksum(buf, BUF_SIZE));

	snprintf(buf + REPLY_OFFSET, 128, "reply from pid %d", (int)getpid());
	if (xpmem_sync(buf + REPLY_OFFSET, 128, XPMEM_SYNC_RELEASE))
		return fail("xpmem_sync");
	if (xpmem_detach(buf) || xpmem_release(addr.apid))
		return fail("detach/release");
	if (write(fd, "", 1) != 1)
		return fail("write");
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "owner"))
		return owner(atoi(argv[2]));
	if (argc == 4 && !strcmp(argv[1], "attach"))
		return attacher(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: cross_node owner PORT | cross_node attach HOST PORT\n");
	return 1;
}
