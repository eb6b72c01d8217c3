# trace-stages.awk: reads one guest's ftrace (bench/trace-guest.sh: the
# xpmem:* tracepoints, net:netif_receive_skb and net:net_dev_xmit) and
# prints "WHO STAGE MICROSECONDS" per operation.  Stages of one WHO follow
# each other and add up to its "total".
#
#   called(TYPE)   a call this node made: xpmem_call_start -> its request
#                  posted (xpmem_msg_send) -> first packet on the wire ->
#                  the reply's last packet received -> the reply's
#                  completion (xpmem_msg_recv) -> the call returns
#   served(TYPE)   a request this node answered: its last packet received
#                  -> completion -> handler starts (workqueue) -> reply
#                  posted -> reply's first packet on the wire
#   fault          a remote fault (attacher): entry -> FETCH sent ->
#                  posted -> reply received -> cached -> mapped
#   fetch_serve    the owner's side of a FETCH: completion -> handler ->
#                  pages resolved and copied -> reply posted
#   invalidate     the owner's invalidation of a range one node holds:
#                  notifier -> zap worker -> INVALIDATE sent -> posted ->
#                  on the wire -> ack's packet received -> ack's
#                  completion -> the worker sees the ack -> notifier goes on
#   inval_serve    the attacher's side: completion -> handler -> copies
#                  zapped and dropped -> ack posted -> on the wire
#   inval_ack      send_to_ack(ns_field): one line per ack, the time
#                  xpmem_invalidate_ack reports (its ns field), in
#                  microseconds, from the send to the ack
#
# Only operations seen whole are printed; a node's trace may begin or end
# in the middle of one.
function us(a, b) { return sprintf("%.1f", (b - a) * 1e6) }
function out(who, stage, a, b) { print who, stage, us(a, b) }
# Parses "comm-pid [cpu] flags time: event: k=v k=v ..." into t, name, f[].
function parse(line,   i, n, kv, rest, p) {
	if (!match(line, /[0-9]+\.[0-9]+: [a-z_]+:/))
		return 0
	split(substr(line, RSTART, RLENGTH - 1), p, ": ")
	t = p[1] + 0
	name = p[2]
	rest = substr(line, RSTART + RLENGTH)
	delete f
	n = split(rest, kv, " ")
	for (i = 1; i <= n; i++)
		if (index(kv[i], "="))
			f[substr(kv[i], 1, index(kv[i], "=") - 1)] = \
				substr(kv[i], index(kv[i], "=") + 1)
	return 1
}
/^#/ { next }
{
	if (!parse($0))
		next
	if (name == "netif_receive_skb") {
		last_rx = t
	} else if (name == "net_dev_xmit") {
		# The first packet after a post is that message's.
		for (k in want_wire) {
			wire[k] = t
			if (k == inv_seq && inv_state == "wait")
				inv_wire = t
			if (k == ft_seq && ft_state == "wait")
				ft_wire = t
			delete want_wire[k]
		}
		if (srv_state == "posted") {
			srv_wire = t
			out("served(" srv_type ")", "1_rx_to_completion", srv_pkt, srv_rx)
			out("served(" srv_type ")", "2_completion_to_handler", srv_rx, srv_work)
			out("served(" srv_type ")", "3_handler_to_reply_post", srv_work, srv_post)
			out("served(" srv_type ")", "4_post_to_wire", srv_post, t)
			out("served(" srv_type ")", "total", srv_pkt, t)
			if (srv_type == "INVALIDATE" && is_start != "") {
				out("inval_serve", "1_rx_to_completion", srv_pkt, srv_rx)
				out("inval_serve", "2_completion_to_handler", srv_rx, srv_work)
				out("inval_serve", "3_zap_and_drop", srv_work, is_t)
				out("inval_serve", "4_ack_post", is_t, srv_post)
				out("inval_serve", "5_post_to_wire", srv_post, t)
				out("inval_serve", "total", srv_pkt, t)
			}
			if (srv_type == "FETCH" && fs_t != "") {
				out("fetch_serve", "1_rx_to_completion", srv_pkt, srv_rx)
				out("fetch_serve", "2_completion_to_handler", srv_rx, srv_work)
				out("fetch_serve", "3_resolve_and_copy", srv_work, fs_t)
				out("fetch_serve", "4_reply_copy_and_post", fs_t, srv_post)
				out("fetch_serve", "5_post_to_wire", srv_post, t)
				out("fetch_serve", "total", srv_pkt, t)
			}
			srv_state = ""
			is_start = ""
			fs_t = ""
		}
	} else if (name == "xpmem_msg_recv") {
		if (f["flags"] == "0x1") {		# a request
			srv_pkt = last_rx
			srv_rx = t
			srv_type = f["type"]
			srv_seq = f["seq"]
			srv_state = "received"
		} else if (f["flags"] ~ /^0x[26]$/ && f["type"] == "INVALIDATE" &&
			   inv_state == "wait" && f["seq"] == inv_seq) {
			# a batch's request: no xpmem_call_start, so not in call_t
			inv_pkt = last_rx
			inv_rx = t
		} else if (f["flags"] ~ /^0x[26]$/ && (f["seq"] in call_t)) {
			rep_pkt[f["seq"]] = last_rx
			rep_rx[f["seq"]] = t
			if (f["type"] == "FETCH" && ft_state == "wait") {
				ft_pkt = last_rx
				ft_rx = t
			}
		}
	} else if (name == "xpmem_msg_handle") {
		if (srv_state == "received" && f["seq"] == srv_seq) {
			srv_work = t
			srv_state = "handling"
		}
	} else if (name == "xpmem_msg_send") {
		if (f["flags"] == "0x1") {		# our request
			call_post[f["seq"]] = t
			want_wire[f["seq"]] = 1
			if (pending_call != "") {
				call_t[f["seq"]] = pending_call
				cur_seq = f["seq"]
				pending_call = ""
			}
			if (f["type"] == "INVALIDATE" && inv_state == "sent") {
				inv_post = t
				inv_seq = f["seq"]
				inv_state = "wait"
			}
			if (f["type"] == "FETCH" && ft_state == "sent") {
				ft_post = t
				ft_seq = f["seq"]
				ft_state = "wait"
			}
		} else if (srv_state == "handling" && f["seq"] == srv_seq) {
			srv_post = t
			srv_state = "posted"
		}
	} else if (name == "xpmem_call_start") {
		pending_call = t
	} else if (name == "xpmem_call_done") {
		s = cur_seq
		if (s != "" && (s in call_t) && (s in rep_rx) && (s in wire) &&
		    f["ret"] == "0") {
			w = "called(" f["type"] ")"
			out(w, "1_call_to_post", call_t[s], call_post[s])
			out(w, "2_post_to_wire", call_post[s], wire[s])
			out(w, "3_wire_to_reply_rx", wire[s], rep_pkt[s])
			out(w, "4_reply_rx_to_completion", rep_pkt[s], rep_rx[s])
			out(w, "5_completion_to_return", rep_rx[s], t)
			out(w, "total", call_t[s], t)
		}
		delete call_t; delete call_post; delete rep_rx; delete rep_pkt
		delete wire
		cur_seq = ""
	} else if (name == "xpmem_invalidate_serve") {
		is_start = f["node"]
		is_t = t
	} else if (name == "xpmem_fetch_serve") {
		fs_t = t
	} else if (name == "xpmem_zap_start") {
		z_t = t
		inv_state = "zap"
	} else if (name == "xpmem_zap_work") {
		if (inv_state == "zap") {
			z_work = t
			inv_state = "work"
		}
	} else if (name == "xpmem_invalidate_send") {
		if (inv_state == "work") {
			inv_send = t
			inv_state = "sent"
			inv_wire = ""
			inv_seq = ""
		}
	} else if (name == "xpmem_invalidate_ack") {
		print "inval_ack", "send_to_ack(ns_field)", sprintf("%.1f", f["ns"] / 1000)
		if (inv_state == "wait" && f["status"] == "0") {
			inv_ack = t
			inv_state = "acked"
		}
	} else if (name == "xpmem_zap_done") {
		if (inv_state == "acked" && inv_wire != "") {
			out("invalidate", "1_notifier_to_worker", z_t, z_work)
			out("invalidate", "2_local_zaps", z_work, inv_send)
			out("invalidate", "3_send_to_post", inv_send, inv_post)
			out("invalidate", "4_post_to_wire", inv_post, inv_wire)
			out("invalidate", "5_wire_to_ack_rx", inv_wire, inv_pkt)
			out("invalidate", "6_ack_rx_to_completion", inv_pkt, inv_rx)
			out("invalidate", "7_completion_to_worker", inv_rx, inv_ack)
			out("invalidate", "8_worker_to_return", inv_ack, t)
			out("invalidate", "total", z_t, t)
		}
		inv_state = ""
	} else if (name == "xpmem_remote_fault_start") {
		ft_start = t
		ft_state = "fault"
	} else if (name == "xpmem_fetch_send") {
		if (ft_state == "fault") {
			ft_send = t
			ft_state = "sent"
			ft_wire = ""
			ft_seq = ""
		}
	} else if (name == "xpmem_fetch_done") {
		if (ft_state == "wait" && f["ret"] + 0 > 0) {
			ft_done = t
			ft_state = "done"
		} else {
			ft_state = ""
		}
	} else if (name == "xpmem_remote_fault") {
		if (ft_state == "done" && ft_wire != "" && f["result"] == "NOPAGE") {
			out("fault", "1_entry_to_fetch", ft_start, ft_send)
			out("fault", "2_fetch_to_post", ft_send, ft_post)
			out("fault", "3_post_to_wire", ft_post, ft_wire)
			out("fault", "4_wire_to_reply_rx", ft_wire, ft_pkt)
			out("fault", "5_reply_rx_to_completion", ft_pkt, ft_rx)
			out("fault", "6_completion_to_cached", ft_rx, ft_done)
			out("fault", "7_cached_to_mapped", ft_done, t)
			out("fault", "total", ft_start, t)
		}
		ft_state = ""
	}
}
