// SPDX-License-Identifier: GPL-2.0
/*
 * Cluster control ioctls (CAP_SYS_ADMIN): the local node's identity, its
 * peers, the link key that authenticates connections, and a ping that measures the round trip to a peer.  Every field
 * is checked here; the transport (transport.c) applies them.
 */
#include <linux/capability.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/socket.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "xpmem_internal.h"
#include "transport.h"

/* Family, address and port of a node or peer command. */
static int xpmem_check_addr(u16 family, const u8 *addr, u16 port)
{
	static const u8 zero[16];

	if (!port)
		return -EINVAL;
	switch (family) {
	case AF_INET:
		/* Bytes past the IPv4 address must be zero. */
		if (memcmp(addr + 4, zero, 12) || !memcmp(addr, zero, 4))
			return -EINVAL;
		return 0;
	case AF_INET6:
		if (!memcmp(addr, zero, 16))
			return -EINVAL;
		return 0;
	default:
		return -EAFNOSUPPORT;
	}
}

static long xpmem_ioctl_set_node(void __user *arg)
{
	struct xpmem_cmd_node cmd;
	int ret;

	if (copy_from_user(&cmd, arg, sizeof(cmd)))
		return -EFAULT;
	if (cmd.node_id > XPMEM_MAX_NODE)
		return -EINVAL;
	/* node_id 0 returns to single-node mode: nothing else counts. */
	if (cmd.node_id) {
		ret = xpmem_check_addr(cmd.family, cmd.addr, cmd.port);
		if (ret)
			return ret;
	}
	return xpmem_net_set_local(&cmd);
}

static long xpmem_ioctl_add_peer(void __user *arg)
{
	struct xpmem_cmd_peer cmd;
	int ret;

	if (copy_from_user(&cmd, arg, sizeof(cmd)))
		return -EFAULT;
	if (!cmd.node_id || cmd.node_id > XPMEM_MAX_NODE)
		return -EINVAL;
	ret = xpmem_check_addr(cmd.family, cmd.addr, cmd.port);
	if (ret)
		return ret;
	return xpmem_net_add_peer(&cmd);
}

/* Only node_id names the peer; the other fields must be zero. */
static long xpmem_ioctl_del_peer(void __user *arg)
{
	static const u8 zero[16];
	struct xpmem_cmd_peer cmd;

	if (copy_from_user(&cmd, arg, sizeof(cmd)))
		return -EFAULT;
	if (!cmd.node_id || cmd.node_id > XPMEM_MAX_NODE)
		return -EINVAL;
	if (cmd.family || cmd.port || cmd.incarnation ||
	    memcmp(cmd.addr, zero, sizeof(zero)))
		return -EINVAL;
	return xpmem_net_del_peer(cmd.node_id);
}

/* Sends @size bytes of a pattern to the peer and checks the echo. */
static long xpmem_ioctl_ping(void __user *arg)
{
	struct xpmem_cmd_ping cmd;
	size_t len = 0;
	u8 *req, *rep;
	ktime_t start;
	long ret;
	u32 i;

	if (copy_from_user(&cmd, arg, sizeof(cmd)))
		return -EFAULT;
	if (!cmd.node_id || cmd.node_id > XPMEM_MAX_NODE)
		return -EINVAL;
	if (cmd.size > XPMEM_NET_MAX_PAYLOAD)
		return -EMSGSIZE;
	req = kvmalloc(max_t(u32, cmd.size, 1), GFP_KERNEL);
	rep = kvmalloc(max_t(u32, cmd.size, 1), GFP_KERNEL);
	if (!req || !rep) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < cmd.size; i++)
		req[i] = (u8)(i * 7 + cmd.node_id);
	start = ktime_get();
	ret = xpmem_net_call(cmd.node_id, XPMEM_MSG_PING, req, cmd.size, rep,
			     cmd.size, &len);
	cmd.rtt_ns = ktime_to_ns(ktime_sub(ktime_get(), start));
	if (ret)
		goto out;
	if (len != cmd.size || memcmp(req, rep, len)) {
		ret = -EIO;
		goto out;
	}
	if (copy_to_user(arg, &cmd, sizeof(cmd)))
		ret = -EFAULT;
out:
	kvfree(req);
	kvfree(rep);
	return ret;
}

/* The link key; the copy on the stack is wiped whatever happens. */
static long xpmem_ioctl_set_key(void __user *arg)
{
	struct xpmem_cmd_key cmd;
	long ret;

	if (copy_from_user(&cmd, arg, sizeof(cmd))) {
		ret = -EFAULT;
		goto out;
	}
	if (cmd.flags || (cmd.len && cmd.len != XPMEM_LINK_KEY_LEN) ||
	    (!cmd.len && memchr_inv(cmd.key, 0, sizeof(cmd.key)))) {
		ret = -EINVAL;
		goto out;
	}
	ret = xpmem_net_set_key(cmd.len ? cmd.key : NULL);
out:
	memzero_explicit(&cmd, sizeof(cmd));
	return ret;
}

long xpmem_ioctl_control(unsigned int cmd, void __user *arg)
{
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	switch (cmd) {
	case XPMEM_IOC_SET_NODE:
		return xpmem_ioctl_set_node(arg);
	case XPMEM_IOC_ADD_PEER:
		return xpmem_ioctl_add_peer(arg);
	case XPMEM_IOC_DEL_PEER:
		return xpmem_ioctl_del_peer(arg);
	case XPMEM_IOC_PING:
		return xpmem_ioctl_ping(arg);
	case XPMEM_IOC_SET_KEY:
		return xpmem_ioctl_set_key(arg);
	default:
		return -ENOTTY;
	}
}
