// SPDX-License-Identifier: GPL-2.0
/*
 * TEMPORARY: stand-in for the RDMA transport (transport.h) so that the
 * module builds and runs in single-node mode until transport.c lands.
 * Delete this file and its Kbuild entry when transport.c provides these.
 */
#include <linux/errno.h>

#include "transport.h"

u16 xpmem_net_local_node(void)
{
	return 0;
}

void xpmem_net_register(enum xpmem_msg_type type, xpmem_net_handler_t fn)
{
}

void xpmem_net_set_fence_cb(void (*cb)(u16 node))
{
}

int xpmem_net_call(u16 node, enum xpmem_msg_type type, const void *req,
		   size_t req_len, void *reply, size_t reply_max,
		   size_t *reply_len)
{
	return -EHOSTDOWN;
}

int xpmem_net_reply(struct xpmem_net_rx *rx, const void *payload, size_t len)
{
	return -EHOSTDOWN;
}
