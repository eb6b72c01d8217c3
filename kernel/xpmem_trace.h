/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of the cross-node path (trace system "xpmem"): what a
 * remote fault, a FETCH, an invalidation, a write-back and a fence cost
 * and return, and the transport's own steps (call, post, receive,
 * handler) that bench/trace.sh turns into per-stage times.  Every event
 * takes plain values, so that a call site is one line and no event
 * dereferences an object that may be gone.  docs/tracing.md says how to
 * watch them with perf, bpftrace or tracefs.
 *
 * Node ids are the transport's (1-65535).  "att" is the attacher's id of
 * an attachment (its client_id on the wire), "ratt" the owner's; pages
 * are indexes into the attachment.  A negative ret or status is an errno.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM xpmem

#if !defined(XPMEM_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define XPMEM_TRACE_H

#include <linux/mm_types.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/tracepoint.h>

#include "transport.h"

/* Exported to the format files, so perf and bpftrace print the names. */
TRACE_DEFINE_ENUM(XPMEM_MSG_PING);
TRACE_DEFINE_ENUM(XPMEM_MSG_GET);
TRACE_DEFINE_ENUM(XPMEM_MSG_RELEASE);
TRACE_DEFINE_ENUM(XPMEM_MSG_FETCH);
TRACE_DEFINE_ENUM(XPMEM_MSG_WRITEBACK);
TRACE_DEFINE_ENUM(XPMEM_MSG_DROP);
TRACE_DEFINE_ENUM(XPMEM_MSG_INVALIDATE);
TRACE_DEFINE_ENUM(XPMEM_MSG_REVOKE);
TRACE_DEFINE_ENUM(XPMEM_MSG_ATTACH);
TRACE_DEFINE_ENUM(XPMEM_MSG_DETACH);

#define xpmem_show_msg(type)					\
	__print_symbolic(type,					\
			 { XPMEM_MSG_PING, "PING" },		\
			 { XPMEM_MSG_GET, "GET" },		\
			 { XPMEM_MSG_RELEASE, "RELEASE" },	\
			 { XPMEM_MSG_FETCH, "FETCH" },		\
			 { XPMEM_MSG_WRITEBACK, "WRITEBACK" },	\
			 { XPMEM_MSG_DROP, "DROP" },		\
			 { XPMEM_MSG_INVALIDATE, "INVALIDATE" },	\
			 { XPMEM_MSG_REVOKE, "REVOKE" },	\
			 { XPMEM_MSG_ATTACH, "ATTACH" },	\
			 { XPMEM_MSG_DETACH, "DETACH" },	\
			 { 0x7f, "CREDIT" })	/* XPMEM_WIRE_CREDIT */

TRACE_DEFINE_ENUM(VM_FAULT_OOM);
TRACE_DEFINE_ENUM(VM_FAULT_SIGBUS);
TRACE_DEFINE_ENUM(VM_FAULT_NOPAGE);
TRACE_DEFINE_ENUM(VM_FAULT_RETRY);
TRACE_DEFINE_ENUM(VM_FAULT_COMPLETED);

#define xpmem_show_fault(r)					\
	__print_flags(r, "|",					\
		      { VM_FAULT_OOM, "OOM" },			\
		      { VM_FAULT_SIGBUS, "SIGBUS" },		\
		      { VM_FAULT_NOPAGE, "NOPAGE" },		\
		      { VM_FAULT_RETRY, "RETRY" },		\
		      { VM_FAULT_COMPLETED, "COMPLETED" })

/* A fault on an attachment of another node's segment begins. */
TRACE_EVENT(xpmem_remote_fault_start,
	TP_PROTO(u16 node, u32 att, unsigned long page, bool write),
	TP_ARGS(node, att, page, write),
	TP_STRUCT__entry(
		__field(u16, node)
		__field(bool, write)
		__field(u32, att)
		__field(unsigned long, page)
	),
	TP_fast_assign(
		__entry->node = node;
		__entry->write = write;
		__entry->att = att;
		__entry->page = page;
	),
	TP_printk("node=%u att=%u page=%lu write=%d", __entry->node,
		  __entry->att, __entry->page, __entry->write)
);

/* ... and ends: result is the vm_fault_t returned (0 never). */
TRACE_EVENT(xpmem_remote_fault,
	TP_PROTO(u16 node, u32 att, unsigned long page, unsigned int result),
	TP_ARGS(node, att, page, result),
	TP_STRUCT__entry(
		__field(u16, node)
		__field(u32, att)
		__field(unsigned long, page)
		__field(unsigned int, result)
	),
	TP_fast_assign(
		__entry->node = node;
		__entry->att = att;
		__entry->page = page;
		__entry->result = result;
	),
	TP_printk("node=%u att=%u page=%lu result=%s", __entry->node,
		  __entry->att, __entry->page,
		  xpmem_show_fault(__entry->result))
);

/* The attacher asks the owner @node for pages [first, first + npages). */
TRACE_EVENT(xpmem_fetch_send,
	TP_PROTO(u16 node, u32 att, unsigned long first, unsigned int npages),
	TP_ARGS(node, att, first, npages),
	TP_STRUCT__entry(
		__field(u16, node)
		__field(u32, att)
		__field(unsigned long, first)
		__field(unsigned int, npages)
	),
	TP_fast_assign(
		__entry->node = node;
		__entry->att = att;
		__entry->first = first;
		__entry->npages = npages;
	),
	TP_printk("node=%u att=%u first=%lu npages=%u", __entry->node,
		  __entry->att, __entry->first, __entry->npages)
);

/* The FETCH came back: ret pages are cached, or an errno (-EAGAIN: raced). */
TRACE_EVENT(xpmem_fetch_done,
	TP_PROTO(u16 node, u32 att, unsigned long first, int ret),
	TP_ARGS(node, att, first, ret),
	TP_STRUCT__entry(
		__field(u16, node)
		__field(u32, att)
		__field(unsigned long, first)
		__field(int, ret)
	),
	TP_fast_assign(
		__entry->node = node;
		__entry->att = att;
		__entry->first = first;
		__entry->ret = ret;
	),
	TP_printk("node=%u att=%u first=%lu ret=%d", __entry->node,
		  __entry->att, __entry->first, __entry->ret)
);

/*
 * The owner served a FETCH of @node: @npages asked from @first, @ret
 * pages copied (or an errno), before the reply is posted.
 */
TRACE_EVENT(xpmem_fetch_serve,
	TP_PROTO(u16 node, u32 ratt, unsigned long first, unsigned int npages,
		 int ret),
	TP_ARGS(node, ratt, first, npages, ret),
	TP_STRUCT__entry(
		__field(u16, node)
		__field(u32, ratt)
		__field(unsigned long, first)
		__field(unsigned int, npages)
		__field(int, ret)
	),
	TP_fast_assign(
		__entry->node = node;
		__entry->ratt = ratt;
		__entry->first = first;
		__entry->npages = npages;
		__entry->ret = ret;
	),
	TP_printk("node=%u ratt=%u first=%lu npages=%u ret=%d",
		  __entry->node, __entry->ratt, __entry->first,
		  __entry->npages, __entry->ret)
);

/*
 * The owner's mapping of segment offsets [start, last] changes and some
 * attachment (here or on another node) maps them: the notifier waits
 * for the zap worker from here ...
 */
TRACE_EVENT(xpmem_zap_start,
	TP_PROTO(s64 segid, unsigned long start, unsigned long last),
	TP_ARGS(segid, start, last),
	TP_STRUCT__entry(
		__field(s64, segid)
		__field(unsigned long, start)
		__field(unsigned long, last)
	),
	TP_fast_assign(
		__entry->segid = segid;
		__entry->start = start;
		__entry->last = last;
	),
	TP_printk("segid=0x%llx start=0x%lx last=0x%lx", __entry->segid,
		  __entry->start, __entry->last)
);

/* ... the worker runs (local zaps, then the remote invalidation) ... */
TRACE_EVENT(xpmem_zap_work,
	TP_PROTO(s64 segid),
	TP_ARGS(segid),
	TP_STRUCT__entry(
		__field(s64, segid)
	),
	TP_fast_assign(
		__entry->segid = segid;
	),
	TP_printk("segid=0x%llx", __entry->segid)
);

/* ... and the notifier goes on: every copy of the range is gone. */
TRACE_EVENT(xpmem_zap_done,
	TP_PROTO(s64 segid),
	TP_ARGS(segid),
	TP_STRUCT__entry(
		__field(s64, segid)
	),
	TP_fast_assign(
		__entry->segid = segid;
	),
	TP_printk("segid=0x%llx", __entry->segid)
);

/* The owner tells @node to drop its copies of pages [first, first + n). */
TRACE_EVENT(xpmem_invalidate_send,
	TP_PROTO(u16 node, u64 att, unsigned long first, unsigned long npages),
	TP_ARGS(node, att, first, npages),
	TP_STRUCT__entry(
		__field(u16, node)
		__field(u64, att)
		__field(unsigned long, first)
		__field(unsigned long, npages)
	),
	TP_fast_assign(
		__entry->node = node;
		__entry->att = att;
		__entry->first = first;
		__entry->npages = npages;
	),
	TP_printk("node=%u att=%llu first=%lu npages=%lu", __entry->node,
		  __entry->att, __entry->first, __entry->npages)
);

/*
 * @node acknowledged (status 0) or did not (an errno: it is fenced),
 * @ns nanoseconds after the invalidation began sending (all of its
 * messages go out before any ack is awaited).
 */
TRACE_EVENT(xpmem_invalidate_ack,
	TP_PROTO(u16 node, int status, u64 sent_ns),
	TP_ARGS(node, status, sent_ns),
	TP_STRUCT__entry(
		__field(u16, node)
		__field(int, status)
		__field(u64, ns)
	),
	TP_fast_assign(
		__entry->node = node;
		__entry->status = status;
		__entry->ns = ktime_get_ns() - sent_ns;
	),
	TP_printk("node=%u status=%d ns=%llu", __entry->node,
		  __entry->status, __entry->ns)
);

/*
 * The attacher dropped its copies for the owner @node's INVALIDATE
 * (found: the attachment still exists here), before it acknowledges.
 */
TRACE_EVENT(xpmem_invalidate_serve,
	TP_PROTO(u16 node, u64 att, unsigned long first, unsigned long npages,
		 bool found),
	TP_ARGS(node, att, first, npages, found),
	TP_STRUCT__entry(
		__field(u16, node)
		__field(bool, found)
		__field(u64, att)
		__field(unsigned long, first)
		__field(unsigned long, npages)
	),
	TP_fast_assign(
		__entry->node = node;
		__entry->found = found;
		__entry->att = att;
		__entry->first = first;
		__entry->npages = npages;
	),
	TP_printk("node=%u att=%llu first=%lu npages=%lu found=%d",
		  __entry->node, __entry->att, __entry->first,
		  __entry->npages, __entry->found)
);

/* One WRITEBACK message answered by the owner @node. */
TRACE_EVENT(xpmem_writeback,
	TP_PROTO(u16 node, u32 att, unsigned int pages, size_t bytes,
		 int status),
	TP_ARGS(node, att, pages, bytes, status),
	TP_STRUCT__entry(
		__field(u16, node)
		__field(u32, att)
		__field(unsigned int, pages)
		__field(size_t, bytes)
		__field(int, status)
	),
	TP_fast_assign(
		__entry->node = node;
		__entry->att = att;
		__entry->pages = pages;
		__entry->bytes = bytes;
		__entry->status = status;
	),
	TP_printk("node=%u att=%u pages=%u bytes=%zu status=%d",
		  __entry->node, __entry->att, __entry->pages, __entry->bytes,
		  __entry->status)
);

/* The owner applied (or refused) a WRITEBACK of @node. */
TRACE_EVENT(xpmem_writeback_serve,
	TP_PROTO(u16 node, u32 ratt, unsigned int pages, int status),
	TP_ARGS(node, ratt, pages, status),
	TP_STRUCT__entry(
		__field(u16, node)
		__field(u32, ratt)
		__field(unsigned int, pages)
		__field(int, status)
	),
	TP_fast_assign(
		__entry->node = node;
		__entry->ratt = ratt;
		__entry->pages = pages;
		__entry->status = status;
	),
	TP_printk("node=%u ratt=%u pages=%u status=%d", __entry->node,
		  __entry->ratt, __entry->pages, __entry->status)
);

/* @node is fenced: its connection is torn down, its copies forgotten. */
TRACE_EVENT(xpmem_fence,
	TP_PROTO(u16 node, const char *why),
	TP_ARGS(node, why),
	TP_STRUCT__entry(
		__field(u16, node)
		__array(char, why, 48)
	),
	TP_fast_assign(
		__entry->node = node;
		strscpy(__entry->why, why, sizeof(__entry->why));
	),
	TP_printk("node=%u why=%s", __entry->node, __entry->why)
);

/* The transport: a call to @node begins (xpmem_net_call_flags) ... */
TRACE_EVENT(xpmem_call_start,
	TP_PROTO(u16 node, u16 type, size_t len),
	TP_ARGS(node, type, len),
	TP_STRUCT__entry(
		__field(u16, node)
		__field(u16, type)
		__field(size_t, len)
	),
	TP_fast_assign(
		__entry->node = node;
		__entry->type = type;
		__entry->len = len;
	),
	TP_printk("node=%u type=%s len=%zu", __entry->node,
		  xpmem_show_msg(__entry->type), __entry->len)
);

/* ... and returns (ret 0: answered, reply_len bytes). */
TRACE_EVENT(xpmem_call_done,
	TP_PROTO(u16 node, u16 type, int ret, size_t reply_len),
	TP_ARGS(node, type, ret, reply_len),
	TP_STRUCT__entry(
		__field(u16, node)
		__field(u16, type)
		__field(int, ret)
		__field(size_t, reply_len)
	),
	TP_fast_assign(
		__entry->node = node;
		__entry->type = type;
		__entry->ret = ret;
		__entry->reply_len = reply_len;
	),
	TP_printk("node=%u type=%s ret=%d reply_len=%zu", __entry->node,
		  xpmem_show_msg(__entry->type), __entry->ret,
		  __entry->reply_len)
);

DECLARE_EVENT_CLASS(xpmem_msg_class,
	TP_PROTO(u16 node, u16 type, u16 flags, u64 seq, u32 len),
	TP_ARGS(node, type, flags, seq, len),
	TP_STRUCT__entry(
		__field(u16, node)
		__field(u16, type)
		__field(u16, flags)
		__field(u32, len)
		__field(u64, seq)
	),
	TP_fast_assign(
		__entry->node = node;
		__entry->type = type;
		__entry->flags = flags;
		__entry->len = len;
		__entry->seq = seq;
	),
	TP_printk("node=%u type=%s flags=0x%x seq=%llu len=%u",
		  __entry->node, xpmem_show_msg(__entry->type),
		  __entry->flags, __entry->seq, __entry->len)
);

/* A message to @node was posted (ib_post_send returned). */
DEFINE_EVENT(xpmem_msg_class, xpmem_msg_send,
	TP_PROTO(u16 node, u16 type, u16 flags, u64 seq, u32 len),
	TP_ARGS(node, type, flags, seq, len)
);

/* A valid message of @node completed on our receive queue. */
DEFINE_EVENT(xpmem_msg_class, xpmem_msg_recv,
	TP_PROTO(u16 node, u16 type, u16 flags, u64 seq, u32 len),
	TP_ARGS(node, type, flags, seq, len)
);

/* A request's handler starts, in the transport's workqueue. */
DEFINE_EVENT(xpmem_msg_class, xpmem_msg_handle,
	TP_PROTO(u16 node, u16 type, u16 flags, u64 seq, u32 len),
	TP_ARGS(node, type, flags, seq, len)
);

#endif /* XPMEM_TRACE_H */

/* Outside the guard: define_trace.h reads this file again. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE xpmem_trace
#include <trace/define_trace.h>
