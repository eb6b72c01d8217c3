/* SPDX-License-Identifier: MIT */
/*
 * whole_as.c - the Open MPI pattern: export the whole address space once,
 * then let a peer attach any buffer at an offset equal to its address.
 *
 * The owner calls xpmem_make(0, XPMEM_MAXADDR_SIZE, ...) a single time
 * and afterwards only has to publish (segid, address, length) of each
 * buffer.  The peer rounds the range out to whole pages, attaches it,
 * and finds the buffer at the same offset within the first page.  The
 * buffer here is deliberately not page aligned.
 *
 *   make -C examples && examples/whole_as
 *
 * Exit status: 0 success, 1 an XPMEM or system call failed, 2 no driver.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xpmem.h>

#define MSG_LEN	256

/* What the owner publishes for one buffer. */
struct remote_buf {
	xpmem_segid_t segid;
	uint64_t addr;
	uint64_t len;
};

static const char *who = "owner";

static int fail(const char *what)
{
	fprintf(stderr, "whole_as: %s: %s failed: %s\n", who, what,
		strerror(errno));
	return 1;
}

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

static int peer(int sock)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	struct remote_buf rb;
	struct xpmem_addr addr;
	xpmem_apid_t apid;
	uintptr_t start, end;
	char *base, *msg, status = 1;

	who = "peer";
	if (xfer(sock, &rb, sizeof(rb), 0) < 0)
		return fail("reading the buffer description");
	if (rb.segid == -1)
		return 1;

	/* Open MPI passes the mode again here; it is ignored. */
	apid = xpmem_get(rb.segid, XPMEM_RDWR, XPMEM_PERMIT_MODE, (void *)0666);
	if (apid == -1) {
		fail("xpmem_get");
		goto out;
	}

	/* Whole pages around [addr, addr + len). */
	start = (uintptr_t)rb.addr & ~(page - 1);
	end = ((uintptr_t)(rb.addr + rb.len) + page - 1) & ~(page - 1);
	addr.apid = apid;
	addr.offset = (off_t)start;
	base = xpmem_attach(addr, end - start, NULL);
	if (base == (void *)-1) {
		fail("xpmem_attach");
		xpmem_release(apid);
		goto out;
	}
	msg = base + (rb.addr - start);

	printf("peer:  read \"%s\" at owner address 0x%llx\n", msg,
	       (unsigned long long)rb.addr);
	snprintf(msg + MSG_LEN / 2, MSG_LEN / 2, "reply from peer %d",
		 (int)getpid());

	if (xpmem_detach(base) < 0)
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

static int owner(int sock, pid_t pid)
{
	struct remote_buf rb = { .segid = -1 };
	char *block, *buf, status = 1;
	int wstatus, rc = 1;

	/* An ordinary heap buffer at an odd address. */
	block = malloc(MSG_LEN + 64);
	if (!block)
		return fail("malloc");
	buf = block + 40;
	memset(buf, 0, MSG_LEN);
	snprintf(buf, MSG_LEN / 2, "hello from owner %d", (int)getpid());

	rb.segid = xpmem_make(0, XPMEM_MAXADDR_SIZE, XPMEM_PERMIT_MODE,
			      (void *)0666);
	if (rb.segid == -1)
		fail("xpmem_make(0, XPMEM_MAXADDR_SIZE)");
	rb.addr = (uintptr_t)buf;
	rb.len = MSG_LEN;

	if (xfer(sock, &rb, sizeof(rb), 1) < 0) {
		fail("sending the buffer description");
	} else if (rb.segid != -1) {
		if (xfer(sock, &status, 1, 0) < 0)
			fail("waiting for the peer");
		else if (status == 0) {
			printf("owner: reply \"%s\"\n", buf + MSG_LEN / 2);
			rc = 0;
		}
	}
	if (rb.segid != -1 && xpmem_remove(rb.segid) < 0)
		rc = fail("xpmem_remove");

	if (waitpid(pid, &wstatus, 0) != pid)
		return fail("waitpid");
	if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
		fprintf(stderr, "whole_as: peer failed\n");
		rc = 1;
	}
	free(block);
	return rc;
}

int main(void)
{
	int sv[2];
	pid_t pid;

	if (xpmem_version() < 0) {
		fprintf(stderr, "whole_as: XPMEM is not available (%s); "
			"is xpmem.ko loaded and /dev/xpmem accessible?\n",
			strerror(errno));
		return 2;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return fail("socketpair");

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0) {
		close(sv[0]);
		exit(peer(sv[1]));
	}
	close(sv[1]);
	return owner(sv[0], pid);
}
