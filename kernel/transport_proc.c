// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/xpmem/peers: the local identity, the node-wide authentication
 * counters, then one line per peer with its connection state,
 * incarnation and message, credit, fence and authentication counters.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

#include "xpmem_internal.h"
#include "transport_priv.h"

static const char *const xpmem_conn_state_names[] = {
	[XPMEM_CONN_CONNECTING] = "connecting",
	[XPMEM_CONN_UP] = "up",
	[XPMEM_CONN_DEAD] = "dead",
};

static void xpmem_peer_show(struct seq_file *m, struct xpmem_peer *peer)
{
	const char *state = "down";
	int credits = 0, to_return = 0;
	struct xpmem_conn *conn;
	unsigned int npending;
	u64 inc;

	spin_lock(&peer->lock);
	conn = peer->conn;
	if (conn) {
		spin_lock(&conn->lock);
		state = xpmem_conn_state_names[conn->state];
		credits = conn->credits;
		to_return = conn->to_return;
		spin_unlock(&conn->lock);
	} else if (peer->connecting) {
		state = "connecting";
	}
	inc = peer->seen_incarnation;
	npending = peer->npending;
	spin_unlock(&peer->lock);

	/* incarnation: seen on a connection; admits: required by ADD_PEER */
	seq_printf(m, "node %u addr %pISpc state %s incarnation %#llx admits %#llx",
		   peer->node, &peer->addr, state, inc, peer->incarnation);
	seq_printf(m, " tx_msgs %lld tx_bytes %lld rx_msgs %lld rx_bytes %lld",
		   (long long)atomic64_read(&peer->tx_msgs),
		   (long long)atomic64_read(&peer->tx_bytes),
		   (long long)atomic64_read(&peer->rx_msgs),
		   (long long)atomic64_read(&peer->rx_bytes));
	seq_printf(m, " credits %d unreturned %d timeouts %d fences %d malformed %d rejected %d refused %d",
		   credits, to_return, atomic_read(&peer->timeouts),
		   atomic_read(&peer->fences), atomic_read(&peer->malformed),
		   atomic_read(&peer->rejected), atomic_read(&peer->refused));
	seq_printf(m, " auth_failures %d pending %u\n",
		   atomic_read(&peer->auth_failures), npending);
}

static int xpmem_peers_show(struct seq_file *m, void *v)
{
	struct sockaddr_storage addr;
	struct xpmem_peer *peer;
	unsigned long i;
	u64 inc;
	u16 node;

	mutex_lock(&xpmem_net.cfg_mutex);
	xpmem_net_local(&node, &inc, &addr);
	if (node)
		seq_printf(m, "local %u addr %pISpc incarnation %#llx\n",
			   node, &addr, inc);
	else
		seq_puts(m, "local 0 (single-node mode)\n");
	/* Node-wide: handshakes that failed, connections refused here. */
	seq_printf(m, "auth auth_failures %d conn_refused %d\n",
		   atomic_read(&xpmem_net.auth_failures),
		   atomic_read(&xpmem_net.conn_refused));
	xa_for_each(&xpmem_net.peers, i, peer)
		xpmem_peer_show(m, peer);
	mutex_unlock(&xpmem_net.cfg_mutex);
	return 0;
}

int xpmem_net_proc_init(void)
{
	if (!proc_create_single("peers", 0444, xpmem_proc_dir(),
				xpmem_peers_show))
		return -ENOMEM;
	return 0;
}

void xpmem_net_proc_exit(void)
{
	remove_proc_entry("peers", xpmem_proc_dir());
}
