// SPDX-License-Identifier: GPL-2.0-only
/*
 * link_key: XPMEM_IOC_SET_KEY (issue 14): only CAP_SYS_ADMIN sets the
 * link key, malformed commands fail with EINVAL, the key shows up in no
 * /proc/xpmem file, and without a key the module makes no peer
 * connection (ENOKEY at once, counted in conn_refused).  Leaves the
 * module as it found it: single-node mode, no key.
 */
#include "itest.h"
#include <arpa/inet.h>
#include <sys/ioctl.h>

static int xfd;

static int set_key(__u32 len, __u32 flags, const __u8 *key)
{
	struct xpmem_cmd_key k = { .len = len, .flags = flags };

	if (key)
		memcpy(k.key, key, sizeof(k.key));
	return ioctl(xfd, XPMEM_IOC_SET_KEY, &k);
}

/* Reads a whole (small) file into buf; returns its length. */
static size_t slurp(const char *path, char *buf, size_t max)
{
	size_t n = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	while (n < max && (r = read(fd, buf + n, max - n)) > 0)
		n += (size_t)r;
	close(fd);
	return n;
}

static void key_not_in_proc(const __u8 *key)
{
	static const char *const files[] = {
		"/proc/xpmem/counters", "/proc/xpmem/peers",
		"/proc/xpmem/segments",
	};
	static char buf[1 << 16];
	char hex[2 * XPMEM_LINK_KEY_LEN + 1];
	size_t i;

	for (i = 0; i < XPMEM_LINK_KEY_LEN; i++)
		sprintf(hex + 2 * i, "%02x", key[i]);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t n = slurp(files[i], buf, sizeof(buf));
		CHECK(!memmem(buf, n, key, 8) && !memmem(buf, n, hex, 16),
		      "the key shows in %s", files[i]);
	}
}

/* conn_refused of the "auth" line of /proc/xpmem/peers, or -1. */
static long conn_refused(void)
{
	static char buf[1 << 16];
	size_t n = slurp("/proc/xpmem/peers", buf, sizeof(buf) - 1);
	char *p;

	buf[n] = '\0';
	p = strstr(buf, "\nauth ");
	p = p ? strstr(p, " conn_refused ") : NULL;
	return p ? strtol(p + 14, NULL, 10) : -1;
}

/* No key: a call to a registered peer fails at once with ENOKEY. */
static void no_key_no_connection(void)
{
	struct xpmem_cmd_node node = { .node_id = 1, .family = AF_INET,
				       .port = XPMEM_DEFAULT_PORT };
	struct xpmem_cmd_peer peer = { .node_id = 2, .family = AF_INET,
				       .port = XPMEM_DEFAULT_PORT };
	struct xpmem_cmd_ping ping = { .node_id = 2, .size = 8 };
	struct xpmem_cmd_peer del = { .node_id = 2 };
	struct xpmem_cmd_node off = { 0 };
	long before;

	/* run-vm's address of node 0; a peer that does not exist. */
	CHECK(inet_pton(AF_INET, "10.77.0.1", node.addr) == 1, "inet_pton");
	CHECK(inet_pton(AF_INET, "10.77.0.2", peer.addr) == 1, "inet_pton");
	if (ioctl(xfd, XPMEM_IOC_SET_NODE, &node)) {
		NOTE("SET_NODE on 10.77.0.1: %s: no-key case skipped",
		     strerror(errno));
		return;
	}
	CHECK(ioctl(xfd, XPMEM_IOC_ADD_PEER, &peer) == 0, "ADD_PEER");
	before = conn_refused();
	CHECK(before >= 0, "no auth line in /proc/xpmem/peers");
	EXPECT_ERRNO(ioctl(xfd, XPMEM_IOC_PING, &ping), ENOKEY,
		     "ping without a link key");
	CHECK(conn_refused() > before, "conn_refused %ld -> %ld", before,
	      conn_refused());
	CHECK(ioctl(xfd, XPMEM_IOC_DEL_PEER, &del) == 0, "DEL_PEER");
	CHECK(ioctl(xfd, XPMEM_IOC_SET_NODE, &off) == 0, "SET_NODE 0");
}

int main(void)
{
	__u8 key[XPMEM_LINK_KEY_LEN], zero[XPMEM_LINK_KEY_LEN] = { 0 };
	pid_t pid;
	int st, i;

	it_init("link_key");
	for (i = 0; i < XPMEM_LINK_KEY_LEN; i++)
		key[i] = (__u8)(0xa5 ^ (i * 29));
	xfd = open(XPMEM_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	CHECK(xfd >= 0, "open %s", XPMEM_DEVICE_PATH);

	EXPECT_ERRNO(set_key(16, 0, key), EINVAL, "len 16");
	EXPECT_ERRNO(set_key(33, 0, key), EINVAL, "len 33");
	EXPECT_ERRNO(set_key(32, 1, key), EINVAL, "flags 1");
	EXPECT_ERRNO(set_key(0, 0, key), EINVAL, "len 0 with key bytes");

	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		CHECK(setresgid(65534, 65534, 65534) == 0 &&
		      setresuid(65534, 65534, 65534) == 0, "drop to nobody");
		EXPECT_ERRNO(set_key(32, 0, key), EPERM, "as uid 65534");
		EXPECT_ERRNO(set_key(0, 0, zero), EPERM,
			     "clear as uid 65534");
		_exit(it_result());
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	      !WEXITSTATUS(st), "unprivileged child");

	CHECK(set_key(32, 0, key) == 0, "set the key");
	key_not_in_proc(key);
	key[0] ^= 1;
	CHECK(set_key(32, 0, key) == 0, "replace the key");
	CHECK(set_key(0, 0, zero) == 0, "clear the key");
	CHECK(set_key(0, 0, zero) == 0, "clear it again");
	no_key_no_connection();
	close(xfd);
	return it_result();
}
