/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal objects of xpmem.ko and the prototypes shared between its files.
 *
 * Object graph and references:
 *
 *   ctx (one per open of /dev/xpmem, bound to the opener's mm)
 *    +- owns segments it made (ctx->segs) and permits it got (ctx->aps)
 *   seg (an exported range of the owner's address space)
 *    +- mmu_interval_notifier on the owner's mm over [vaddr, vaddr + size)
 *    +- interval tree of attachments, keyed by segment offset (seg->lock)
 *   ap  (access permit: the result of xpmem_get, held by the getter's ctx)
 *    +- holds a reference on its seg
 *   att (attachment: one VM_PFNMAP vma in the attacher's mm)
 *    +- holds a reference on its ap; the vma holds a reference on the att
 *
 * Lock order: mm->mmap_lock -> att->map_lock -> seg->lock.  seg->lock is
 * also taken by the MMU notifier of the owner's mm, so nothing under it may
 * allocate memory (reclaim would recurse into the notifier) or take an
 * mmap_lock.  att->map_lock is taken by the fault path only.
 */
#ifndef XPMEM_INTERNAL_H
#define XPMEM_INTERNAL_H

#include <linux/interval_tree.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/uidgid.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "xpmem_uapi.h"
#include "compat.h"
#include "transport.h"

/* Per-open state, tied to the mm of the process that opened the device. */
struct xpmem_ctx {
	struct kref kref;
	struct mm_struct *mm;		/* mmgrab()ed */
	struct mutex lock;		/* protects segs */
	struct list_head segs;		/* segments made through this ctx */
	struct xarray aps;		/* permit slot -> struct xpmem_ap */
};

enum xpmem_seg_state {
	XPMEM_SEG_LIVE,
	XPMEM_SEG_REMOVED,		/* xpmem_remove or owner fd closed */
};

struct xpmem_seg {
	struct kref kref;
	s64 segid;			/* set before it is hashed, then fixed */
	struct hlist_node hnode;	/* in the segid hash (segment.c) */
	struct xpmem_ctx *owner;	/* not referenced: ctx outlives it */
	struct mm_struct *mm;		/* owner's mm, mmgrab()ed */
	unsigned long vaddr;
	unsigned long size;
	umode_t mode;
	kuid_t uid;			/* owner's fsuid at make */
	kgid_t gid;			/* owner's fsgid at make */
	struct user_namespace *user_ns;	/* owner's, referenced: capabilities
					 * over the segment are checked in it
					 */
	pid_t pid;			/* owner's tgid, for /proc/xpmem/segments */
	struct mmu_interval_notifier notifier;
	struct mutex lock;		/* PTE installs vs invalidation; atts */
	enum xpmem_seg_state state;
	struct rb_root_cached atts;	/* attachments by segment offset */
	struct list_head aps;		/* permits, under lock */
	struct rb_root_cached ratts;	/* remote attachments, under lock */
	struct list_head raps;		/* remote permits, under lock */
	struct list_head ctx_link;	/* in owner->segs, under owner->lock */
	struct rcu_head rcu;
};

struct xpmem_ap {
	struct kref kref;
	s64 apid;
	u32 slot;
	u32 flags;			/* XPMEM_UAPI_RDONLY / _RDWR */
	struct xpmem_seg *seg;		/* referenced; NULL if remote */
	struct xpmem_ctx *ctx;		/* getter; not referenced */
	u16 node;			/* owner node if remote, else 0 */
	u64 rap_id;			/* owner's handle if remote */
	unsigned long rsize;		/* segment size if remote */
	bool revoked;			/* under seg->lock */
	struct list_head seg_link;	/* in seg->aps, under seg->lock */
	struct list_head atts;		/* under seg->lock */
	atomic_t closing;		/* remote: attachments being closed */
	struct rcu_head rcu;
};

enum xpmem_att_state {
	XPMEM_ATT_PENDING,		/* made by ATTACH, vma not yet created */
	XPMEM_ATT_MAPPED,		/* bound to its vma */
	XPMEM_ATT_GONE,			/* vma closed */
};

/* rc->pages mark: the owner may write the page (its VMA is writable). */
#define XPMEM_RC_OWNER_WRITABLE	XA_MARK_1

/* Page copies of an attachment of another node's segment. */
struct xpmem_rcache {
	struct mutex lock;		/* after mmap_lock; never in a notifier */
	struct xarray pages;		/* page index -> copy */
	struct xarray twins;		/* page index -> copy as fetched */
	struct list_head dirty;		/* invalidated, not yet written back */
	struct mutex wb_lock;		/* one release at a time; before lock */
	int wb_err;			/* changes dropped: next release's errno */
	struct list_head fetches;	/* FETCHes in flight (remote_client.c) */
	struct xarray errors;		/* page index -> errno of its last FETCH,
					 * for the fault retried after it
					 */
	u64 ratt_id;			/* owner's handle */
	u32 id;				/* our handle, in xpmem_client_atts */
};

struct xpmem_att {
	struct kref kref;
	struct xpmem_ap *ap;		/* referenced */
	struct xpmem_seg *seg;		/* == ap->seg; NULL if remote */
	struct xpmem_rcache *rc;	/* page copies if remote */
	struct xpmem_ctx *ctx;		/* attacher */
	unsigned long offset;		/* page-aligned segment offset */
	unsigned long npages;
	unsigned long pgoff_alloc;	/* start of the reserved pgoff range */
	struct interval_tree_node pgoff_it; /* the reservation */
	unsigned long pgoff;		/* vma->vm_pgoff of the mapping */
	struct address_space *mapping;	/* of the vma's file, to zap PTEs */
	atomic_t vmas;			/* vmas mapping it (mremap: 2) */
	struct mutex map_lock;		/* page-table installs, before seg->lock */
	bool writable;
	bool dead;			/* revoked: faults get SIGBUS */
	bool detached;			/* remote: released, DETACH sent */
	struct work_struct close_work;	/* remote: release after munmap */
	enum xpmem_att_state state;	/* under seg->lock */
	struct interval_tree_node it;	/* in seg->atts, under seg->lock */
	struct list_head ap_link;	/* in ap->atts, under seg->lock */
};

/* counters.c */
enum xpmem_counter {
	XPMEM_CNT_CONTEXTS,
	XPMEM_CNT_SEGMENTS,
	XPMEM_CNT_PERMITS,
	XPMEM_CNT_ATTACHMENTS,
	XPMEM_CNT_ATTACHED_PAGES,
	XPMEM_CNT_REMOTE_PERMITS,	/* owner side */
	XPMEM_CNT_REMOTE_ATTACHMENTS,	/* owner side */
	XPMEM_CNT_REMOTE_COPIES,	/* attacher side: cached pages */
	XPMEM_CNT_REMOTE_TWINS,		/* attacher side: written pages */
	XPMEM_CNT_REMOTE_SERVED_PAGES,	/* owner side: pages copied out */
	XPMEM_NR_GAUGES,
	XPMEM_CNT_MAKES = XPMEM_NR_GAUGES,
	XPMEM_CNT_GETS,
	XPMEM_CNT_ATTACHES,
	XPMEM_CNT_FAULTS,
	XPMEM_CNT_FAULT_PAGES,
	XPMEM_CNT_PMD_MAPS,
	XPMEM_CNT_FAULT_RETRIES,
	XPMEM_CNT_INVALIDATIONS,
	XPMEM_CNT_ZAPPED_ATTACHMENTS,
	XPMEM_CNT_MKWRITES,
	XPMEM_CNT_NONBLOCK_REFUSED,
	XPMEM_CNT_REMOTE_PAGES_SERVED,
	XPMEM_CNT_REMOTE_PAGES_SENT_DIRECT, /* owner: sent from the page itself */
	XPMEM_CNT_REMOTE_INVALIDATES_SENT,
	XPMEM_CNT_REMOTE_INVALIDATES_ACKED,
	XPMEM_CNT_REMOTE_FETCHES,
	XPMEM_CNT_REMOTE_INVALIDATES_RECEIVED,
	XPMEM_CNT_REMOTE_WRITEBACKS,
	XPMEM_CNT_GET_FAILURES,		/* GETs refused ENOENT/EACCES */
	XPMEM_CNT_REMOTE_GET_FAILURES,	/* owner side: refused remote GETs */
	XPMEM_CNT_REMOTE_LIMIT_REFUSED,	/* owner side: over a remote limit */
	XPMEM_CNT_REMOTE_BAD_REPLIES,	/* attacher side: -EPROTO */
	XPMEM_CNT_REMOTE_ACCESS_GAVE_UP, /* owner side: FETCH/WB retries bounded */
	XPMEM_CNT_REMOTE_CLOSED_WB_FAILED, /* attacher: unconfirmed, unreported */
	XPMEM_NR_COUNTERS,
};

void xpmem_count_add(enum xpmem_counter c, long v);
static inline void xpmem_count_inc(enum xpmem_counter c)
{
	xpmem_count_add(c, 1);
}

static inline void xpmem_count_dec(enum xpmem_counter c)
{
	xpmem_count_add(c, -1);
}

int xpmem_counters_init(void);
void xpmem_counters_exit(void);
struct proc_dir_entry *xpmem_proc_dir(void);	/* /proc/xpmem */

/* context.c */
struct xpmem_ctx *xpmem_ctx_create(void);
void xpmem_ctx_get(struct xpmem_ctx *ctx);
void xpmem_ctx_put(struct xpmem_ctx *ctx);
void xpmem_ctx_shutdown(struct xpmem_ctx *ctx);

/* segment.c */
int xpmem_ioctl_make(struct xpmem_ctx *ctx, void __user *arg);
int xpmem_ioctl_remove(struct xpmem_ctx *ctx, void __user *arg);
struct xpmem_seg *xpmem_seg_lookup(s64 segid);
u16 xpmem_segid_node(s64 segid);
void xpmem_seg_put(struct xpmem_seg *seg);
void xpmem_seg_destroy(struct xpmem_seg *seg);
int xpmem_segments_init(void);
void xpmem_segments_exit(void);

/* permit.c */
int xpmem_check_mode(const struct xpmem_seg *seg, u32 flags, kuid_t uid,
		     bool in_group);
void xpmem_note_get_failure(kuid_t uid);
int xpmem_get_failures_init(void);
void xpmem_get_failures_exit(void);
int xpmem_ioctl_get(struct xpmem_ctx *ctx, void __user *arg);
int xpmem_ioctl_release(struct xpmem_ctx *ctx, void __user *arg);
struct xpmem_ap *xpmem_ap_lookup(struct xpmem_ctx *ctx, s64 apid);
void xpmem_ap_get(struct xpmem_ap *ap);
void xpmem_ap_put(struct xpmem_ap *ap);
void xpmem_ap_revoke_locked(struct xpmem_ap *ap);
void xpmem_ctx_release_aps(struct xpmem_ctx *ctx);

int xpmem_ap_install(struct xpmem_ctx *ctx, struct xpmem_ap *ap,
		     struct xpmem_cmd_get *cmd, void __user *arg);

/* remote_client.c: the attacher's side of cross-node segments */
extern const struct vm_operations_struct xpmem_client_vm_ops;
int xpmem_client_get(struct xpmem_ctx *ctx, struct xpmem_cmd_get *cmd,
		     void __user *arg);
void xpmem_client_release(struct xpmem_ap *ap);
int xpmem_client_attach(struct xpmem_att *att);
int xpmem_client_bind(struct xpmem_att *att, struct file *file);
void xpmem_client_unlink(struct xpmem_att *att);
int xpmem_client_detach(struct xpmem_att *att);
void xpmem_client_drain(void);
void xpmem_client_free(struct xpmem_att *att);
vm_fault_t xpmem_client_fault(struct vm_fault *vmf);
int xpmem_client_acquire(struct xpmem_att *att, unsigned long first,
			 unsigned long end);
void xpmem_client_zap_locked(struct xpmem_att *att, unsigned long first,
			     unsigned long end);
void xpmem_client_window(struct xpmem_att *att, unsigned long idx,
			 unsigned long *first, unsigned long *end);

/* remote_writeback.c: remote writes reach the owner as diffs at release */
vm_fault_t xpmem_client_map_locked(struct vm_fault *vmf, struct page *page,
				   unsigned long idx);
vm_fault_t xpmem_client_pfn_mkwrite(struct vm_fault *vmf);
bool xpmem_client_keep_dirty_locked(struct xpmem_rcache *rc, unsigned long idx,
				    struct page *page, struct page *twin);
void xpmem_client_discard_dirty_locked(struct xpmem_rcache *rc, int err);
void xpmem_client_drop_twin_locked(struct xpmem_rcache *rc, struct page *page,
				   struct page *twin, int err);
int xpmem_client_release_range(struct xpmem_att *att, unsigned long first,
			       unsigned long end);
int xpmem_client_reply_status(u16 node, const void *reply, size_t len,
			      size_t want);
int xpmem_client_init(void);
void xpmem_client_exit(void);

/* attach.c */
void xpmem_pgoff_unreserve(struct xpmem_att *att);
extern const struct vm_operations_struct xpmem_vm_ops;
int xpmem_ioctl_attach(struct xpmem_ctx *ctx, struct file *file,
		       void __user *arg);
int xpmem_ioctl_detach(struct xpmem_ctx *ctx, void __user *arg);
int xpmem_ioctl_sync(struct xpmem_ctx *ctx, void __user *arg);
int xpmem_mmap(struct file *file, struct vm_area_struct *vma);
unsigned long xpmem_get_unmapped_area(struct file *file, unsigned long addr,
				      unsigned long len, unsigned long pgoff,
				      unsigned long flags);
void xpmem_att_put(struct xpmem_att *att);
int xpmem_attach_init(void);
void xpmem_attach_exit(void);

/* fault.c */
vm_fault_t xpmem_fault(struct vm_fault *vmf);
vm_fault_t xpmem_pfn_mkwrite(struct vm_fault *vmf);

/* control.c: cluster control ioctls (CAP_SYS_ADMIN) */
long xpmem_ioctl_control(unsigned int cmd, void __user *arg);

/* remote_home.c: the owner's side of cross-node segments */
int xpmem_home_init(void);
void xpmem_home_exit(void);
bool xpmem_home_has_copies(struct xpmem_seg *seg, unsigned long start,
			   unsigned long last);
/*
 * A remote invalidation in progress, shared by the zap worker and the
 * task sleeping in the notifier, so a killed task can cut it short.
 */
struct xpmem_inval_wait {
	struct xpmem_net_batch batch;	/* every INVALIDATE in flight */
};

void xpmem_home_invalidate_init(struct xpmem_inval_wait *w);

void xpmem_home_invalidate(struct xpmem_seg *seg, unsigned long start,
			   unsigned long last, struct xpmem_inval_wait *w);
void xpmem_home_invalidate_abort(struct xpmem_inval_wait *w);
void xpmem_home_seg_destroy(struct xpmem_seg *seg);
void xpmem_home_fence(u16 node);

/* notifier.c */
extern const struct mmu_interval_notifier_ops xpmem_seg_notifier_ops;
void xpmem_seg_zap_locked(struct xpmem_seg *seg, unsigned long start,
			  unsigned long last, struct xpmem_att *only);
int xpmem_notifier_init(void);
void xpmem_notifier_exit(void);

/* Segment offset range [offset, offset + npages pages) of an attachment. */
static inline unsigned long xpmem_att_last(const struct xpmem_att *att)
{
	return att->offset + (att->npages << PAGE_SHIFT) - 1;
}

/* failpoints.c: test hooks in debugfs (CONFIG_FAULT_INJECTION_DEBUG_FS) */
#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
bool xpmem_fail_home_access(void);
void xpmem_delay_invalidate(void);
void xpmem_failpoints_init(void);
void xpmem_failpoints_exit(void);
#else
static inline bool xpmem_fail_home_access(void) { return false; }
static inline void xpmem_delay_invalidate(void) { }
static inline void xpmem_failpoints_init(void) { }
static inline void xpmem_failpoints_exit(void) { }
#endif

#endif /* XPMEM_INTERNAL_H */
