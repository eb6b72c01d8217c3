/*
 * xnode.h: what the cross-node case files (xnode.c, xnode_*.c) share: the
 * driver's view of a servant, the line protocol calls, results, and small
 * probes of the local kernel.  A case file adds a `cases_<area>()` call to
 * cmd_drive() and, for servant requests of its own, an entry to
 * serve_exts[] in xnode.c.
 */
#ifndef XNODE_H
#define XNODE_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include <xpmem.h>

#define MIB (1024UL * 1024)
/* Servants one driver takes: the 8-node stage has 7 sharer nodes. */
#define XNODE_MAX_SERVANTS 7

/* ---- both sides ---- */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
double now_s(void);
/* FNV-1a over a buffer: the checksum both sides compute. */
uint64_t checksum(const volatile unsigned char *p, size_t n);
long counter(const char *name);			/* /proc/xpmem/counters */
long file_get(const char *path);		/* a number in /proc/sys, /sys */
int file_set(const char *path, long v);
long param_get(const char *name);		/* xpmem module parameter */
int param_set(const char *name, long v);
long net_timeout_ms(void);
long peer_field(int node, const char *field);	/* /proc/xpmem/peers */
long kernel_reports(void);	/* kernel log lines: WARNING, BUG, ... */

/* ---- servant ---- */
/* Answers "RET ERRNO" of a call that returned @r. */
void send_status(int fd, int r);
/* SIGBUS and SIGSEGV longjmp here with the signal number. */
extern sigjmp_buf fault_jmp;

/* ---- driver ---- */
struct servant {
	int fd;
	const char *addr;
};

struct remote_att {
	long long apid;
	uintptr_t addr;
};

extern int passed, failed;
/* Prints "ok NAME: ..." or "FAIL NAME: ..." and counts it. */
void result(int ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* One request, one line of reply (valid until the next rpc()). */
const char *rpc(struct servant *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void servant_param_set(struct servant *s, const char *name, long v);
long rpc_counter(struct servant *s, const char *name);
/* The servant gets and attaches [off, off + size) of @segid; 0 or -1. */
int remote_attach(struct servant *s, xpmem_segid_t segid, int flags,
		  size_t off, size_t size, struct remote_att *ra);
void remote_detach(struct servant *s, struct remote_att *ra);
/* This node's RoCE packets dropped on the way out (tc), and back. */
#define TC_SILENT "/usr/sbin/modprobe -a sch_prio cls_u32 act_gact && " \
	"/usr/sbin/tc qdisc add dev eth0 root handle 1: prio && " \
	"/usr/sbin/tc filter add dev eth0 parent 1: protocol ip prio 1 u32 " \
	"match ip protocol 17 0xff match ip dport 4791 0xffff action drop"
#define TC_VOCAL "/usr/sbin/tc qdisc del dev eth0 root"

/* The servant's checksum of [addr, addr + size): 0, or -1 on a signal. */
int remote_sum(struct servant *s, uintptr_t addr, size_t size, uint64_t *sum,
	       double *secs);
long long remote_get(struct servant *s, xpmem_segid_t segid, int flags);
/* An anonymous buffer of the owner filled from @seed. */
void *owner_buffer(size_t size, unsigned int seed);
/*
 * Asks the host (tests/vm/run-vm) for @req (stop, cont, kill) of guest
 * @index and waits for its answer @ack (stopped, conted, killed): 0, or
 * -1 after 30 s.  Allocates nothing: callers run while another thread
 * of theirs sleeps under mmap_lock, which malloc may need.
 */
int host_ctl(const char *req, const char *ack, int index);
/* Asks the host to SIGKILL guest @index's QEMU; 0 once it is dead. */
int kill_vm(int index);
/* Polls gauge @name until it reads @want or @secs pass; its last value. */
long counter_settle(const char *name, long want, double secs);
int kernel_is_612(void);
/* Every gauge of the owner and the servants (fd >= 0) back at zero. */
void case_gauges(struct servant **sv, int nsv);

/* ---- case files ---- */
/* xnode_eight.c: the 8-node stage's cases alone (XNODE_EIGHT=1); exit status */
int drive_eight(struct servant **sv, int n);

/* ---- case files ---- */
void cases_wb(struct servant **sv, int n);	/* xnode_wb.c */
int serve_wb(int fd, const char *op, char *req, const uint64_t arg[4]);

/* ---- case files ---- */
/* xnode_fault.c: the remote fault path (issue 15 items 1, 2, 5, 7) */
int serve_fault(int fd, const char *op, char *req, const uint64_t arg[4]);
void cases_fault(struct servant **sv, int nsv);

/* ---- the case files ---- */
/* xnode_trace.c: the tracepoints of docs/tracing.md */
void cases_trace(struct servant *s);
int serve_trace(int fd, const char *op, char *req, const uint64_t arg[4]);

/* ---- case files ---- */
/* xnode_fanout.c: parallel invalidation (issue 15) */
int serve_fanout(int fd, const char *op, char *req, const uint64_t arg[4]);
void cases_fanout(struct servant **sv, int nsv);

/* ---- case files ---- */
/* xnode_dirty.c: released bytes survive reclaim of a MADV_FREE page */
void cases_dirty(struct servant *s);

#endif
