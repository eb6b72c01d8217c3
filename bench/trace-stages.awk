# trace-stages.awk: reads one guest's ftrace (bench/trace-guest.sh) and
# prints "WHO STAGE MICROSECONDS" per round trip, WHO being
#   served  a request this node answered: its packet received -> rxe's ACK
#           sent -> our completion handler -> the request's handler -> the
#           reply posted -> the reply's first packet on the wire
#   called  a call this node made (by task): call -> posted -> on the wire
#           -> the reply's last packet received -> completion -> return
# Stages follow each other, so they add up to the total.
function us(a, b) { return sprintf("%.0f", (b - a) * 1e6) }
function ev(line,   f) {
	# "comm-pid [cpu] flags time: event: ..."
	if (!match(line, /[0-9]+\.[0-9]+: [a-z_]+/))
		return 0
	f = substr(line, RSTART, RLENGTH)
	split(f, parts, ": ")
	t = parts[1] + 0
	name = parts[2]
	task = line
	sub(/^ +/, "", task)
	sub(/-[0-9]+ .*/, "", task)
	return 1
}
/^#/ { next }
{
	if (!ev($0))
		next
	if (name == "netif_receive_skb") {
		last_rx = t
		want_ack = 1
	} else if (name == "net_dev_xmit") {
		if (want_ack) {
			last_ack = t
			want_ack = 0
		}
		if (srv == "sent") {
			print "served", "1_rx_to_ack", us(s_rx, s_ack)
			print "served", "2_ack_to_completion", us(s_ack, s_done)
			print "served", "3_completion_to_handler", us(s_done, s_work)
			print "served", "4_handler_to_post", us(s_work, s_send)
			print "served", "5_post_to_wire", us(s_send, t)
			print "served", "total", us(s_rx, t)
			srv = ""
		}
		if (call == "sent") {
			c_wire = t
			call = "wait"
		}
	} else if (name == "xpmem_rx_done") {
		d_rx = last_rx
		d_ack = last_ack > last_rx ? last_ack : last_rx
		d_done = t
	} else if (name == "xpmem_rx_work") {
		s_rx = d_rx; s_ack = d_ack; s_done = d_done; s_work = t
		srv = "work"
	} else if (name == "xpmem_conn_send") {
		if (srv == "work") {
			s_send = t
			srv = "sent"
		} else if (call == "called") {
			c_send = t
			call = "sent"
		}
	} else if (name == "xpmem_net_call_flags") {
		c_t = t
		c_task = task
		sub(/\/.*/, "", c_task)
		call = "called"
	} else if (name == "xpmem_net_call_ret" && call == "wait") {
		w = "called(" c_task ")"
		print w, "1_call_to_post", us(c_t, c_send)
		print w, "2_post_to_wire", us(c_send, c_wire)
		print w, "3_wire_to_reply_rx", us(c_wire, last_rx)
		print w, "4_reply_rx_to_completion", us(last_rx, d_done)
		print w, "5_completion_to_return", us(d_done, t)
		print w, "total", us(c_t, t)
		call = ""
	}
}
