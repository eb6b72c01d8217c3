/* SPDX-License-Identifier: MIT */
/*
 * local_share.c - share one buffer between two processes with XPMEM.
 *
 * The parent exports a page-aligned buffer holding a message, with mode
 * 0600 (only processes of the same user may attach), and sends the
 * segment id to the child over a socket; the ids are plain numbers and
 * could equally travel through MPI, a file or a TCP connection.  The
 * child attaches the buffer, reads the message in place, writes a reply
 * into the parent's memory, detaches, and tells the parent it is done.
 *
 *   make -C examples && examples/local_share
 *
 * Exit status: 0 success, 1 an XPMEM or system call failed, 2 no driver.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xpmem.h>

#define REPLY_OFFSET	2048	/* the child writes its reply here */

static const char *who = "parent";

static int fail(const char *what)
{
	fprintf(stderr, "local_share: %s: %s failed: %s\n", who, what,
		strerror(errno));
	return 1;
}

/* Read or write exactly len bytes on the socket. */
static int xfer(int fd, void *buf, size_t len, int out)
{
	char *p = buf;

	while (len) {
		ssize_t n = out ? write(fd, p, len) : read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EPIPE;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int child(int sock, size_t len)
{
	xpmem_segid_t segid;
	struct xpmem_addr addr;
	xpmem_apid_t apid;
	char *shared, status = 1;

	who = "child";
	if (xfer(sock, &segid, sizeof(segid), 0) < 0)
		return fail("reading the segment id");
	if (segid == -1)
		return 1;	/* the parent already said why */

	apid = xpmem_get(segid, XPMEM_RDWR, XPMEM_PERMIT_MODE, NULL);
	if (apid == -1) {
		fail("xpmem_get");
		goto out;
	}
	addr.apid = apid;
	addr.offset = 0;
	shared = xpmem_attach(addr, len, NULL);
	if (shared == (void *)-1) {
		fail("xpmem_attach");
		xpmem_release(apid);
		goto out;
	}

	/* The parent's memory, read and written in place. */
	printf("child:  read \"%s\"\n", shared);
	snprintf(shared + REPLY_OFFSET, len - REPLY_OFFSET,
		 "hello back from child %d", (int)getpid());

	if (xpmem_detach(shared) < 0)
		fail("xpmem_detach");
	else if (xpmem_release(apid) < 0)
		fail("xpmem_release");
	else
		status = 0;
out:
	if (xfer(sock, &status, 1, 1) < 0)
		return fail("writing the status");
	return status;
}

static int parent(int sock, pid_t pid, size_t len)
{
	xpmem_segid_t segid;
	char *buf, status = 1;
	int wstatus, rc = 1;

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return fail("mmap");
	snprintf(buf, REPLY_OFFSET, "hello from parent %d", (int)getpid());

	segid = xpmem_make(buf, len, XPMEM_PERMIT_MODE, (void *)0600);
	if (segid == -1)
		fail("xpmem_make");
	if (xfer(sock, &segid, sizeof(segid), 1) < 0) {
		fail("sending the segment id");
	} else if (segid != -1) {
		if (xfer(sock, &status, 1, 0) < 0)
			fail("waiting for the child");
		else if (status == 0) {
			printf("parent: reply \"%s\"\n", buf + REPLY_OFFSET);
			rc = 0;
		}
	}
	if (segid != -1 && xpmem_remove(segid) < 0)
		rc = fail("xpmem_remove");

	if (waitpid(pid, &wstatus, 0) != pid)
		return fail("waitpid");
	if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
		fprintf(stderr, "local_share: child failed\n");
		rc = 1;
	}
	munmap(buf, len);
	return rc;
}

int main(void)
{
	size_t len = (size_t)sysconf(_SC_PAGESIZE);
	int sv[2], version;
	pid_t pid;

	version = xpmem_version();
	if (version < 0) {
		fprintf(stderr, "local_share: XPMEM is not available (%s); "
			"is xpmem.ko loaded and /dev/xpmem accessible?\n",
			strerror(errno));
		return 2;
	}
	printf("XPMEM driver ABI %d.%d\n", version >> 12, version & 0xfff);

	if (len < 2 * REPLY_OFFSET)
		len = 2 * REPLY_OFFSET;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return fail("socketpair");

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0) {
		close(sv[0]);
		/* The library opens its own handle here: no set-up needed. */
		exit(child(sv[1], len));
	}
	close(sv[1]);
	return parent(sv[0], pid, len);
}
