// SPDX-License-Identifier: GPL-2.0
/*
 * The owner's (home node's) side of cross-node segments.
 *
 * A remote xpmem_get becomes a remote permit (rap) here; a remote attach
 * becomes a remote attachment (ratt) with a record of the pages whose
 * copies that node holds: the copy directory, which grows with the pages
 * served, never with the size asked for.  FETCH resolves pages in
 * the owner's mm under the segment notifier's sequence count and copies
 * them out under seg->lock, so a page cannot be freed while it is read.
 * Before the owner's mapping of a page changes, the notifier's zap worker
 * sends INVALIDATE to every node holding a copy and waits for the reply.
 *
 * Everything here is allocated on behalf of a user of another node, in
 * the transport's worker: there is no local task whose memory cgroup
 * could be charged (no __GFP_ACCOUNT).  The limits below bound it
 * instead: remote permits and attachments per peer node and per uid,
 * and per attachment only what has been served.
 */
#include <linux/bitops.h>
#include <linux/highmem.h>
#include <linux/hmm.h>
#include <linux/moduleparam.h>
#include <linux/proc_fs.h>
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uidgid.h>

#include "diff.h"
#include "xpmem_internal.h"
#include "transport.h"
#include "wire.h"
#include "xpmem_trace.h"

struct xpmem_rap {
	struct kref kref;
	u32 id;
	u16 node;
	u32 flags;
	u32 uid;			/* the caller's, as its node sent it */
	struct xpmem_seg *seg;		/* referenced */
	struct list_head seg_link;	/* in seg->raps, under seg->lock */
	struct rcu_head rcu;
};

struct xpmem_ratt {
	struct kref kref;
	u32 id;
	u16 node;
	u64 client_id;
	struct xpmem_rap *rap;		/* referenced */
	unsigned long offset;		/* segment offset, page aligned */
	unsigned long npages;
	/*
	 * Pages the node holds: chunk index -> value entry, a bitmap of
	 * XPMEM_CHUNK pages.  Set by FETCH and cleared by invalidation,
	 * both under seg->lock (see xpmem_copies_*()).
	 */
	struct xarray copies;
	bool linked;			/* in seg->ratts, under seg->lock */
	struct interval_tree_node it;
	struct list_head kill_link;
	struct rcu_head rcu;
};

static DEFINE_XARRAY_ALLOC1(xpmem_raps);
static DEFINE_XARRAY_ALLOC1(xpmem_ratts);

/*
 * Limits on what other nodes may make this one hold (docs/protocol.md).
 * A request over one is refused with -ENOSPC, which the remote caller's
 * xpmem_get() or xpmem_attach() returns, and counted
 * (remote_limit_refused); /proc/xpmem/remote_limits shows what each node
 * and uid holds.  The uid is the one the peer's kernel sends.
 */
static unsigned int remote_permits_per_node = 4096;
module_param(remote_permits_per_node, uint, 0644);
MODULE_PARM_DESC(remote_permits_per_node,
		 "remote permits one peer node may hold here (default 4096)");
static unsigned int remote_permits_per_uid = 1024;
module_param(remote_permits_per_uid, uint, 0644);
MODULE_PARM_DESC(remote_permits_per_uid,
		 "remote permits one uid of other nodes may hold here (default 1024)");
static unsigned int remote_attachments_per_node = 4096;
module_param(remote_attachments_per_node, uint, 0644);
MODULE_PARM_DESC(remote_attachments_per_node,
		 "remote attachments one peer node may hold here (default 4096)");
static unsigned int remote_attachments_per_uid = 1024;
module_param(remote_attachments_per_uid, uint, 0644);
MODULE_PARM_DESC(remote_attachments_per_uid,
		 "remote attachments one uid of other nodes may hold here (default 1024)");

/*
 * What each node and uid holds: an xarray value entry per node and per
 * uid, permits in the low XPMEM_QUOTA_BITS bits, attachments above;
 * erased when both are 0.  Under xpmem_quota_lock, which is taken by
 * handlers and by the final put of a rap or ratt, never under seg->lock
 * nor in reclaim: allocating under it is fine.
 */
#define XPMEM_QUOTA_BITS	30
#define XPMEM_QUOTA_MAX		((1UL << XPMEM_QUOTA_BITS) - 1)
static_assert(2 * XPMEM_QUOTA_BITS <= BITS_PER_XA_VALUE);

enum xpmem_quota_kind { XPMEM_QUOTA_PERMIT, XPMEM_QUOTA_ATT };

static DEFINE_MUTEX(xpmem_quota_lock);
static DEFINE_XARRAY(xpmem_node_quota);
static DEFINE_XARRAY(xpmem_uid_quota);

static unsigned long xpmem_quota_held(struct xarray *xa, unsigned long id,
				      enum xpmem_quota_kind kind)
{
	void *entry = xa_load(xa, id);
	unsigned long v = xa_is_value(entry) ? xa_to_value(entry) : 0;

	return (v >> (kind * XPMEM_QUOTA_BITS)) & XPMEM_QUOTA_MAX;
}

/* Adds @delta (1 or -1) to what @id holds; erases an entry that is 0. */
static int xpmem_quota_add(struct xarray *xa, unsigned long id,
			   enum xpmem_quota_kind kind, int delta)
{
	void *entry = xa_load(xa, id);
	unsigned long v = xa_is_value(entry) ? xa_to_value(entry) : 0;

	lockdep_assert_held(&xpmem_quota_lock);
	if (delta > 0)
		v += 1UL << (kind * XPMEM_QUOTA_BITS);
	else
		v -= 1UL << (kind * XPMEM_QUOTA_BITS);
	if (!v) {
		xa_erase(xa, id);
		return 0;
	}
	/* Replacing an entry allocates nothing: only a charge can fail. */
	return xa_err(xa_store(xa, id, xa_mk_value(v), GFP_KERNEL));
}

/*
 * Charges a remote permit or attachment to peer @node and @uid:
 * 0, -ENOSPC over a limit, or -ENOMEM.
 */
static int xpmem_quota_charge(enum xpmem_quota_kind kind, u16 node, u32 uid)
{
	unsigned int per_node = kind == XPMEM_QUOTA_PERMIT ?
				READ_ONCE(remote_permits_per_node) :
				READ_ONCE(remote_attachments_per_node);
	unsigned int per_uid = kind == XPMEM_QUOTA_PERMIT ?
			       READ_ONCE(remote_permits_per_uid) :
			       READ_ONCE(remote_attachments_per_uid);
	int ret = -ENOSPC;

	might_sleep();
	mutex_lock(&xpmem_quota_lock);
	if (xpmem_quota_held(&xpmem_node_quota, node, kind) >=
	    min_t(unsigned long, per_node, XPMEM_QUOTA_MAX) ||
	    xpmem_quota_held(&xpmem_uid_quota, uid, kind) >=
	    min_t(unsigned long, per_uid, XPMEM_QUOTA_MAX)) {
		xpmem_count_inc(XPMEM_CNT_REMOTE_LIMIT_REFUSED);
		goto out;
	}
	ret = xpmem_quota_add(&xpmem_node_quota, node, kind, 1);
	if (ret)
		goto out;
	ret = xpmem_quota_add(&xpmem_uid_quota, uid, kind, 1);
	if (ret)
		xpmem_quota_add(&xpmem_node_quota, node, kind, -1);
out:
	mutex_unlock(&xpmem_quota_lock);
	return ret;
}

static void xpmem_quota_uncharge(enum xpmem_quota_kind kind, u16 node,
				 u32 uid)
{
	mutex_lock(&xpmem_quota_lock);
	xpmem_quota_add(&xpmem_node_quota, node, kind, -1);
	xpmem_quota_add(&xpmem_uid_quota, uid, kind, -1);
	mutex_unlock(&xpmem_quota_lock);
}

/*
 * The copy directory of an attachment: which of its pages the node holds.
 * Chunks of XPMEM_CHUNK pages are value entries of ratt->copies, so a
 * served page costs at most a share of an xarray node, and an attachment
 * of any size that was never read costs nothing.
 *
 * FETCH records pages under seg->lock, where only GFP_NOWAIT may be used
 * (reclaim would enter the notifier, which takes seg->lock): the chunks
 * are reserved before (xpmem_copies_reserve(), may sleep), so recording
 * does not allocate but in a rare race.  Invalidation clears and erases,
 * which never allocates.
 */
#define XPMEM_CHUNK	(BITS_PER_XA_VALUE >= 32 ? 32 : 16)

static int xpmem_copies_reserve(struct xpmem_ratt *ratt, unsigned long first,
				unsigned long n)
{
	unsigned long c;
	int ret;

	might_sleep();
	for (c = first / XPMEM_CHUNK; c <= (first + n - 1) / XPMEM_CHUNK; c++) {
		ret = xa_reserve(&ratt->copies, c, GFP_KERNEL);
		if (ret)
			return ret;
	}
	return 0;
}

/* Gives back the reservations that were not used. */
static void xpmem_copies_unreserve(struct xpmem_ratt *ratt,
				   unsigned long first, unsigned long n)
{
	unsigned long c;

	for (c = first / XPMEM_CHUNK; c <= (first + n - 1) / XPMEM_CHUNK; c++)
		xa_release(&ratt->copies, c);
}

/* The bits of chunk @c that pages [first, end) cover. */
static unsigned long xpmem_chunk_mask(unsigned long c, unsigned long first,
				      unsigned long end)
{
	unsigned long lo = max(first, c * XPMEM_CHUNK) - c * XPMEM_CHUNK;
	unsigned long hi = min(end, (c + 1) * XPMEM_CHUNK) - c * XPMEM_CHUNK;

	return GENMASK(hi - 1, lo);
}

/* Records pages [first, first + n) as held; 0 or -ENOMEM.  seg->lock. */
static int xpmem_copies_set(struct xpmem_ratt *ratt, unsigned long first,
			    unsigned long n)
{
	unsigned long c, old, new;
	void *entry;

	lockdep_assert_held(&ratt->rap->seg->lock);
	for (c = first / XPMEM_CHUNK; c <= (first + n - 1) / XPMEM_CHUNK; c++) {
		entry = xa_load(&ratt->copies, c);
		old = xa_is_value(entry) ? xa_to_value(entry) : 0;
		new = old | xpmem_chunk_mask(c, first, first + n);
		if (new == old)
			continue;
		entry = xa_store(&ratt->copies, c, xa_mk_value(new),
				 GFP_NOWAIT | __GFP_NOWARN);
		if (xa_is_err(entry))
			return xa_err(entry);
		xpmem_count_add(XPMEM_CNT_REMOTE_SERVED_PAGES,
				hweight_long(new) - hweight_long(old));
	}
	return 0;
}

/*
 * Forgets the held pages among [first, end) and returns the smallest
 * range [*lo, *hi) that holds them all; false if there were none.  Runs
 * with seg->lock held (by the task that waits for the zap worker).
 */
static bool xpmem_copies_clear(struct xpmem_ratt *ratt, unsigned long first,
			       unsigned long end, unsigned long *lo,
			       unsigned long *hi)
{
	unsigned long c, v, mask;
	bool found = false;
	void *entry;

	xa_for_each_range(&ratt->copies, c, entry, first / XPMEM_CHUNK,
			  (end - 1) / XPMEM_CHUNK) {
		if (!xa_is_value(entry))
			continue;
		v = xa_to_value(entry);
		mask = v & xpmem_chunk_mask(c, first, end);
		if (!mask)
			continue;
		if (!found)
			*lo = c * XPMEM_CHUNK + __ffs(mask);
		*hi = c * XPMEM_CHUNK + __fls(mask) + 1;
		found = true;
		xpmem_count_add(XPMEM_CNT_REMOTE_SERVED_PAGES,
				-(long)hweight_long(mask));
		/* Both replace or remove an entry: no allocation. */
		if (v & ~mask)
			xa_store(&ratt->copies, c, xa_mk_value(v & ~mask),
				 GFP_NOWAIT);
		else
			xa_erase(&ratt->copies, c);
	}
	return found;
}

/* The attachment is going away: forget all it held. */
static void xpmem_copies_destroy(struct xpmem_ratt *ratt)
{
	unsigned long c;
	void *entry;

	xa_for_each(&ratt->copies, c, entry)
		if (xa_is_value(entry))
			xpmem_count_add(XPMEM_CNT_REMOTE_SERVED_PAGES,
					-(long)hweight_long(xa_to_value(entry)));
	xa_destroy(&ratt->copies);
}

static void xpmem_rap_free(struct kref *kref)
{
	struct xpmem_rap *rap = container_of(kref, struct xpmem_rap, kref);

	xpmem_seg_put(rap->seg);
	xpmem_quota_uncharge(XPMEM_QUOTA_PERMIT, rap->node, rap->uid);
	kfree_rcu(rap, rcu);
	xpmem_count_dec(XPMEM_CNT_REMOTE_PERMITS);
}

static void xpmem_ratt_free(struct kref *kref)
{
	struct xpmem_ratt *ratt = container_of(kref, struct xpmem_ratt, kref);

	xpmem_quota_uncharge(XPMEM_QUOTA_ATT, ratt->node, ratt->rap->uid);
	xpmem_copies_destroy(ratt);
	kref_put(&ratt->rap->kref, xpmem_rap_free);
	kfree_rcu(ratt, rcu);
	xpmem_count_dec(XPMEM_CNT_REMOTE_ATTACHMENTS);
}

/* Looks up a handle and checks that @node owns it. */
static void *xpmem_home_lookup(struct xarray *xa, u64 id, u16 node)
{
	struct xpmem_rap *rap;
	struct xpmem_ratt *ratt;
	void *obj;

	if (!id || id > U32_MAX)
		return NULL;
	rcu_read_lock();
	obj = xa_load(xa, id);
	if (obj && xa == &xpmem_raps) {
		rap = obj;
		if (rap->node != node || !kref_get_unless_zero(&rap->kref))
			obj = NULL;
	} else if (obj) {
		ratt = obj;
		if (ratt->node != node || !kref_get_unless_zero(&ratt->kref))
			obj = NULL;
	}
	rcu_read_unlock();
	return obj;
}

static void xpmem_reply_status(struct xpmem_net_rx *rx, int status)
{
	struct xpmem_wire_status st = { .status = cpu_to_le32(status) };

	xpmem_net_reply(rx, &st, sizeof(st));
}

static void xpmem_home_get(struct xpmem_net_rx *rx)
{
	const struct xpmem_wire_get *req = rx->payload;
	struct xpmem_wire_get_reply rep = {};
	struct xpmem_seg *seg = NULL;
	struct xpmem_rap *rap = NULL;
	u32 flags, id;
	kuid_t uid;
	kgid_t gid;
	int ret = -EINVAL;

	if (rx->len < sizeof(*req))
		goto out;
	flags = le32_to_cpu(req->flags);
	uid = make_kuid(&init_user_ns, le32_to_cpu(req->uid));
	gid = make_kgid(&init_user_ns, le32_to_cpu(req->gid));
	if ((flags != XPMEM_UAPI_RDONLY && flags != XPMEM_UAPI_RDWR) ||
	    !uid_valid(uid) || !gid_valid(gid))
		goto out;
	ret = -ENOENT;
	seg = xpmem_seg_lookup(le64_to_cpu(req->segid));
	if (!seg) {
		xpmem_note_get_failure(uid);
		goto out;
	}
	/*
	 * The mode bits alone decide (no capability crosses nodes, as NFS's
	 * root_squash); this runs in the transport's worker, whose own
	 * credentials are root's and must not count.  A caller that may not
	 * read the segment gets -ENOENT, as for an id that names nothing.
	 */
	ret = xpmem_check_mode(seg, flags, uid, gid_eq(gid, seg->gid));
	if (ret) {
		xpmem_note_get_failure(uid);
		goto out;
	}

	ret = xpmem_quota_charge(XPMEM_QUOTA_PERMIT, rx->src_node,
				 le32_to_cpu(req->uid));
	if (ret)
		goto out;
	/* Not charged to a memory cgroup: bounded by the limits (top). */
	rap = kzalloc(sizeof(*rap), GFP_KERNEL);
	if (!rap) {
		xpmem_quota_uncharge(XPMEM_QUOTA_PERMIT, rx->src_node,
				     le32_to_cpu(req->uid));
		ret = -ENOMEM;
		goto out;
	}
	kref_init(&rap->kref);
	INIT_LIST_HEAD(&rap->seg_link);
	rap->node = rx->src_node;
	rap->uid = le32_to_cpu(req->uid);
	rap->flags = flags;
	rap->seg = seg;
	seg = NULL;
	xpmem_count_inc(XPMEM_CNT_REMOTE_PERMITS);
	ret = xa_alloc(&xpmem_raps, &id, NULL, xa_limit_32b, GFP_KERNEL);
	if (ret)
		goto out;
	rap->id = id;

	mutex_lock(&rap->seg->lock);
	if (rap->seg->state != XPMEM_SEG_LIVE) {
		mutex_unlock(&rap->seg->lock);
		xa_erase(&xpmem_raps, id);
		ret = -ENOENT;
		goto out;
	}
	list_add_tail(&rap->seg_link, &rap->seg->raps);
	mutex_unlock(&rap->seg->lock);
	xa_store(&xpmem_raps, id, rap, GFP_KERNEL);

	rep.rap_id = cpu_to_le64(id);
	rep.size = cpu_to_le64(rap->seg->size);
	rap = NULL;
	ret = 0;
out:
	if (rap)
		kref_put(&rap->kref, xpmem_rap_free);
	if (seg)
		xpmem_seg_put(seg);
	if (ret)
		xpmem_count_inc(XPMEM_CNT_REMOTE_GET_FAILURES);
	rep.status = cpu_to_le32(ret);
	xpmem_net_reply(rx, &rep, sizeof(rep));
}

/* Drops a remote permit: its table entry and its place on the segment. */
static void xpmem_rap_drop(struct xpmem_rap *rap)
{
	if (xa_cmpxchg(&xpmem_raps, rap->id, rap, NULL, 0) != rap)
		return;
	mutex_lock(&rap->seg->lock);
	list_del_init(&rap->seg_link);
	mutex_unlock(&rap->seg->lock);
	kref_put(&rap->kref, xpmem_rap_free);
}

static void xpmem_home_release(struct xpmem_net_rx *rx)
{
	const struct xpmem_wire_release *req = rx->payload;
	struct xpmem_rap *rap;

	if (rx->len < sizeof(*req))
		return xpmem_reply_status(rx, -EINVAL);
	rap = xpmem_home_lookup(&xpmem_raps, le64_to_cpu(req->rap_id),
				rx->src_node);
	if (!rap)
		return xpmem_reply_status(rx, -ENOENT);
	xpmem_rap_drop(rap);
	kref_put(&rap->kref, xpmem_rap_free);
	xpmem_reply_status(rx, 0);
}

static void xpmem_home_attach(struct xpmem_net_rx *rx)
{
	const struct xpmem_wire_attach *req = rx->payload;
	struct xpmem_wire_attach_reply rep = {};
	struct xpmem_ratt *ratt = NULL;
	struct xpmem_rap *rap;
	struct xpmem_seg *seg;
	u64 offset, npages;
	u32 id;
	int ret = -EINVAL;

	if (rx->len < sizeof(*req))
		goto reply;
	rap = xpmem_home_lookup(&xpmem_raps, le64_to_cpu(req->rap_id),
				rx->src_node);
	if (!rap) {
		ret = -ENOENT;
		goto reply;
	}
	seg = rap->seg;
	offset = le64_to_cpu(req->offset);
	npages = le64_to_cpu(req->npages);
	if (offset_in_page(offset) || offset >= seg->size || !npages ||
	    npages > (seg->size - offset) >> PAGE_SHIFT)
		goto put_rap;

	ret = xpmem_quota_charge(XPMEM_QUOTA_ATT, rx->src_node, rap->uid);
	if (ret)
		goto put_rap;
	/*
	 * Not charged to a memory cgroup: bounded by the limits (top).  The
	 * size asked for costs nothing here: the copy directory grows with
	 * the pages served.
	 */
	ratt = kzalloc(sizeof(*ratt), GFP_KERNEL);
	if (!ratt) {
		xpmem_quota_uncharge(XPMEM_QUOTA_ATT, rx->src_node, rap->uid);
		ret = -ENOMEM;
		goto put_rap;
	}
	xa_init(&ratt->copies);
	kref_init(&ratt->kref);
	ratt->rap = rap;	/* takes over the lookup reference */
	ratt->node = rx->src_node;
	ratt->client_id = le64_to_cpu(req->client_id);
	ratt->offset = offset;
	ratt->npages = npages;
	ratt->it.start = offset;
	ratt->it.last = offset + (npages << PAGE_SHIFT) - 1;
	xpmem_count_inc(XPMEM_CNT_REMOTE_ATTACHMENTS);

	ret = xa_alloc(&xpmem_ratts, &id, NULL, xa_limit_32b, GFP_KERNEL);
	if (ret)
		goto put_ratt;
	ratt->id = id;
	mutex_lock(&seg->lock);
	if (seg->state != XPMEM_SEG_LIVE || list_empty(&rap->seg_link)) {
		mutex_unlock(&seg->lock);
		xa_erase(&xpmem_ratts, id);
		ret = -ENOENT;
		goto put_ratt;
	}
	interval_tree_insert(&ratt->it, &seg->ratts);
	ratt->linked = true;
	mutex_unlock(&seg->lock);
	xa_store(&xpmem_ratts, id, ratt, GFP_KERNEL);
	rep.ratt_id = cpu_to_le64(id);
	ret = 0;
	goto reply;

put_ratt:
	kref_put(&ratt->kref, xpmem_ratt_free);
	goto reply;
put_rap:
	kref_put(&rap->kref, xpmem_rap_free);
reply:
	rep.status = cpu_to_le32(ret);
	xpmem_net_reply(rx, &rep, sizeof(rep));
}

/* Takes a remote attachment out of the directory and the table. */
static void xpmem_ratt_drop(struct xpmem_ratt *ratt)
{
	struct xpmem_seg *seg = ratt->rap->seg;

	if (xa_cmpxchg(&xpmem_ratts, ratt->id, ratt, NULL, 0) != ratt)
		return;
	mutex_lock(&seg->lock);
	if (ratt->linked) {
		interval_tree_remove(&ratt->it, &seg->ratts);
		ratt->linked = false;
	}
	mutex_unlock(&seg->lock);
	kref_put(&ratt->kref, xpmem_ratt_free);
}

static void xpmem_home_detach(struct xpmem_net_rx *rx)
{
	const struct xpmem_wire_detach *req = rx->payload;
	struct xpmem_ratt *ratt;

	if (rx->len < sizeof(*req))
		return xpmem_reply_status(rx, -EINVAL);
	ratt = xpmem_home_lookup(&xpmem_ratts, le64_to_cpu(req->ratt_id),
				 rx->src_node);
	if (!ratt)
		return xpmem_reply_status(rx, -ENOENT);
	xpmem_ratt_drop(ratt);
	kref_put(&ratt->kref, xpmem_ratt_free);
	xpmem_reply_status(rx, 0);
}

typedef int (*xpmem_home_access_t)(struct xpmem_ratt *ratt,
				   unsigned long first, unsigned long n,
				   unsigned long *pfns, void *arg);

/*
 * What xpmem_home_access() resolves: page @fault of an attachment, which
 * must resolve (faulted in, writable if @write), and around it the pages
 * of the window [first, first + n) that are present in the same VMA of
 * the owner, taken as they are: a page that is not present is not
 * faulted in (it would cost the owner memory for a page the attacher may
 * never touch), and neither it nor a hole nor another VMA fails the
 * faulting page.  Out: the run of pages accessed and whether the owner
 * may write them (its VMA is writable).
 */
struct xpmem_home_req {
	unsigned long first, n, fault;
	bool write;
	unsigned long until;			/* jiffies: give up after */
	unsigned long run_first, run_n;		/* out */
	bool writable;				/* out */
	unsigned long pfns[XPMEM_FETCH_MAX_PAGES];
};

/*
 * Bounds on xpmem_home_access()'s retries (each one follows an
 * invalidation of the range that raced with it): within half the
 * requester's timeout from when its message is handled (one deadline for
 * all the pages of a WRITEBACK), so that the requester never fences us
 * for it.
 */
#define XPMEM_HOME_ACCESS_TRIES	256

static unsigned long xpmem_home_deadline(void)
{
	return jiffies + xpmem_net_timeout() / 2;
}

/*
 * Resolves @hr in the owner's mm without pinning, and runs @access on the
 * run of pages around hr->fault under seg->lock, which holds off their
 * invalidation (and so their freeing).  Returns the number of pages
 * accessed or an errno (also @access's): only hr->fault's own state
 * decides an error.
 */
static int xpmem_home_access(struct xpmem_ratt *ratt, struct xpmem_home_req *hr,
			     xpmem_home_access_t access, void *arg)
{
	unsigned int tries = 0;
	struct xpmem_seg *seg = ratt->rap->seg;
	unsigned long base = seg->vaddr + ratt->offset;
	unsigned long addr = base + (hr->fault << PAGE_SHIFT);
	unsigned long lo, hi, s, e;
	struct mm_struct *mm = seg->mm;
	struct vm_area_struct *vma;
	struct hmm_range range = {
		.notifier = &seg->notifier,
		.hmm_pfns = hr->pfns,
		/* only the faulting page's entry asks for a fault */
		.pfn_flags_mask = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
	};
	int ret;

	if (WARN_ON_ONCE(!hr->n || hr->n > XPMEM_FETCH_MAX_PAGES ||
			 hr->fault < hr->first ||
			 hr->fault >= hr->first + hr->n))
		return -EINVAL;
	if (!mmget_not_zero(mm))
		return -ESRCH;	/* the owner process is gone */
again:
	/* Invalidations keep racing: the requester asks again (-EAGAIN). */
	if (tries++ >= XPMEM_HOME_ACCESS_TRIES ||
	    time_after(jiffies, hr->until) ||
	    fatal_signal_pending(current)) {
		xpmem_count_inc(XPMEM_CNT_REMOTE_ACCESS_GAVE_UP);
		ret = -EAGAIN;
		goto out;
	}
	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	if (!vma || (vma->vm_flags & (VM_IO | VM_PFNMAP))) {
		mmap_read_unlock(mm);
		ret = -EFAULT;
		goto out;
	}
	/* The window, within the faulting page's VMA. */
	lo = hr->first;
	hi = hr->first + hr->n;
	if (vma->vm_start > base + (lo << PAGE_SHIFT))
		lo = (vma->vm_start - base) >> PAGE_SHIFT;
	if (vma->vm_end < base + (hi << PAGE_SHIFT))
		hi = (vma->vm_end - base) >> PAGE_SHIFT;
	hr->writable = vma->vm_flags & VM_WRITE;
	memset(hr->pfns, 0, sizeof(hr->pfns));
	hr->pfns[hr->fault - lo] = HMM_PFN_REQ_FAULT |
				   (hr->write ? HMM_PFN_REQ_WRITE : 0);
	range.start = base + (lo << PAGE_SHIFT);
	range.end = base + (hi << PAGE_SHIFT);
	range.notifier_seq = mmu_interval_read_begin(range.notifier);
	ret = hmm_range_fault(&range);
	mmap_read_unlock(mm);
	if (ret == -EBUSY || (!ret && xpmem_fail_home_access()))
		goto again;
	if (ret)
		goto out;

	/* The present pages around the faulting one (which is). */
	s = hr->fault - lo;
	e = s + 1;
	while (s > 0 && (hr->pfns[s - 1] & HMM_PFN_VALID))
		s--;
	while (e < hi - lo && (hr->pfns[e] & HMM_PFN_VALID))
		e++;

	mutex_lock(&seg->lock);
	if (mmu_interval_read_retry(range.notifier, range.notifier_seq)) {
		mutex_unlock(&seg->lock);
		goto again;
	}
	if (!ratt->linked) {
		mutex_unlock(&seg->lock);
		ret = -ENOENT;
		goto out;
	}
	ret = access(ratt, lo + s, e - s, hr->pfns + s, arg);
	mutex_unlock(&seg->lock);
	if (!ret) {
		hr->run_first = lo + s;
		hr->run_n = e - s;
		ret = e - s;
	}
out:
	mmput_async(mm);
	return ret;
}

/*
 * FETCH: record the copies in the directory, and take a reference on each
 * page for the send (transport.h: xpmem_net_reply_pages()), which reads
 * them after seg->lock is dropped.  That is as coherent as a copy made
 * under the lock: an invalidation from now on finds the copies recorded
 * and reaches the attacher after this reply (or overtakes it, and the
 * fetch there is stale); the reference only keeps a page the owner drops
 * meanwhile from being reused before the device has read it.
 */
static int xpmem_home_hold(struct xpmem_ratt *ratt, unsigned long first,
			   unsigned long n, unsigned long *pfns, void *arg)
{
	struct page **pages = arg;
	unsigned long i;
	int ret;

	ret = xpmem_copies_set(ratt, first, n);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		pages[i] = hmm_pfn_to_page(pfns[i]);
		get_page(pages[i]);
	}
	return 0;
}

/*
 * WRITEBACK: apply the attacher's runs of changed bytes to the page, and
 * mark it dirty as a store through the owner's PTE would (a clean page is
 * discarded by reclaim after MADV_FREE, or never written back).
 */
static int xpmem_home_apply(struct xpmem_ratt *ratt, unsigned long first,
			    unsigned long n, unsigned long *pfns, void *arg)
{
	const struct xpmem_diff_entry *e = arg;
	struct page *page = hmm_pfn_to_page(pfns[0]);
	u8 *dst = kmap_local_page(page);

	xpmem_diff_apply(dst, e->runs, e->nruns);
	kunmap_local(dst);
	folio_mark_dirty(page_folio(page));
	return 0;
}

static void xpmem_home_writeback(struct xpmem_net_rx *rx)
{
	const struct xpmem_wire_writeback *req = rx->payload;
	const void *pos = req + 1;
	struct xpmem_diff_entry e;
	struct xpmem_ratt *ratt;
	unsigned long until;
	u32 i, n;
	int ret, err;

	if (rx->len < sizeof(*req))
		return xpmem_reply_status(rx, -EINVAL);
	ratt = xpmem_home_lookup(&xpmem_ratts, le64_to_cpu(req->ratt_id),
				 rx->src_node);
	if (!ratt)
		return xpmem_reply_status(rx, -ENOENT);
	n = le32_to_cpu(req->npages);
	/* The whole message is checked before any of it is applied. */
	ret = ratt->rap->flags != XPMEM_UAPI_RDWR ? -EACCES :
	      xpmem_diff_check(pos, rx->len - sizeof(*req), n, ratt->npages);
	if (ret)
		n = 0;
	until = xpmem_home_deadline();
	for (i = 0; i < n; i++) {
		struct xpmem_home_req hr = { .n = 1, .write = true,
					     .until = until };

		xpmem_diff_next(&pos, &e);
		hr.first = e.page;
		hr.fault = e.page;
		err = xpmem_home_access(ratt, &hr, xpmem_home_apply, &e);
		/*
		 * A page that fails does not stop the others: first error,
		 * but -EAGAIN (given up under invalidations) wins: the
		 * attacher sends the message again (applying it twice is
		 * harmless) and then learns any other error.
		 */
		if (err == -EAGAIN)
			ret = err;
		else if (err < 0)
			ret = ret ?: err;
		else
			xpmem_count_inc(XPMEM_CNT_REMOTE_WRITEBACKS);
	}
	trace_xpmem_writeback_serve(rx->src_node, ratt->id, n, ret);
	kref_put(&ratt->kref, xpmem_ratt_free);
	xpmem_reply_status(rx, ret);
}

static_assert(XPMEM_FETCH_MAX_PAGES <= XPMEM_NET_MAX_PAGES);

static void xpmem_home_fetch(struct xpmem_net_rx *rx)
{
	const struct xpmem_wire_fetch *req = rx->payload;
	struct xpmem_wire_fetch_reply rep;
	struct page *pages[XPMEM_FETCH_MAX_PAGES];
	struct xpmem_home_req hr = {};
	struct xpmem_ratt *ratt;
	u64 first;
	u32 n, fault;
	int ret, tries;

	if (rx->len < sizeof(*req))
		return xpmem_reply_status(rx, -EINVAL);
	ratt = xpmem_home_lookup(&xpmem_ratts, le64_to_cpu(req->ratt_id),
				 rx->src_node);
	if (!ratt)
		return xpmem_reply_status(rx, -ENOENT);
	first = le64_to_cpu(req->first);
	n = le32_to_cpu(req->npages);
	fault = le32_to_cpu(req->fault);
	if (!n || n > XPMEM_FETCH_MAX_PAGES || first >= ratt->npages ||
	    n > ratt->npages - first || fault >= n) {
		kref_put(&ratt->kref, xpmem_ratt_free);
		return xpmem_reply_status(rx, -EINVAL);
	}

	hr.first = first;
	hr.n = n;
	hr.fault = first + fault;
	hr.until = xpmem_home_deadline();
	/* -ENOMEM from recording under seg->lock: a reservation was lost. */
	for (tries = 0; tries < 3; tries++) {
		ret = xpmem_copies_reserve(ratt, first, n);
		if (!ret)
			ret = xpmem_home_access(ratt, &hr, xpmem_home_hold,
						pages);
		xpmem_copies_unreserve(ratt, first, n);
		if (ret != -ENOMEM)
			break;
	}
	trace_xpmem_fetch_serve(rx->src_node, ratt->id, first, n, ret);
	kref_put(&ratt->kref, xpmem_ratt_free);
	if (ret < 0)
		return xpmem_reply_status(rx, ret);
	rep = (struct xpmem_wire_fetch_reply) {
		.npages = cpu_to_le32(ret),
		.first = cpu_to_le64(hr.run_first),
		.writable = cpu_to_le32(hr.writable ? GENMASK(ret - 1, 0) : 0),
	};
	xpmem_count_add(XPMEM_CNT_REMOTE_PAGES_SERVED, ret);
	/* The references on the pages pass to the transport. */
	ret = xpmem_net_reply_pages(rx, &rep, sizeof(rep), pages, ret);
	if (ret > 0)
		xpmem_count_add(XPMEM_CNT_REMOTE_PAGES_SENT_DIRECT, ret);
}

/* Does any node hold a copy of segment offsets [start, last]? */
bool xpmem_home_has_copies(struct xpmem_seg *seg, unsigned long start,
			   unsigned long last)
{
	lockdep_assert_held(&seg->lock);
	return interval_tree_iter_first(&seg->ratts, start, last);
}

/*
 * An invalidation's INVALIDATE messages: at most XPMEM_INVAL_WINDOW in
 * flight at once, on the zap worker's stack.  A message is OPEN while
 * entries are written into its send buffer, SENT until its ack.
 */
#define XPMEM_INVAL_WINDOW	8

enum { XPMEM_IM_FREE, XPMEM_IM_OPEN, XPMEM_IM_SENT };

struct xpmem_inval_msg {
	struct xpmem_net_req req;
	struct xpmem_wire_status rep;
	struct xpmem_wire_invalidate *p;	/* in the send buffer, OPEN */
	u32 n;					/* entries written */
	u16 node;
	u8 state;
};

struct xpmem_inval {
	struct xpmem_net_batch *b;
	u64 started;		/* ktime: the acks' trace times from here */
	struct xpmem_inval_msg m[XPMEM_INVAL_WINDOW];
};

void xpmem_home_invalidate_init(struct xpmem_inval_wait *w)
{
	xpmem_net_batch_init(&w->batch);
}

static void xpmem_inval_post(struct xpmem_inval_msg *m)
{
	m->p->nentries = cpu_to_le32(m->n);
	m->p->reserved = 0;
	xpmem_net_batch_post(&m->req, sizeof(*m->p) +
			     m->n * sizeof(struct xpmem_wire_inval_entry));
	m->state = XPMEM_IM_SENT;
	xpmem_count_inc(XPMEM_CNT_REMOTE_INVALIDATES_SENT);
}

static void xpmem_inval_post_open(struct xpmem_inval *iv)
{
	int i;

	for (i = 0; i < XPMEM_INVAL_WINDOW; i++)
		if (iv->m[i].state == XPMEM_IM_OPEN)
			xpmem_inval_post(&iv->m[i]);
}

/*
 * Sends what is open, waits for the acks of every message in flight (or
 * with @any, of one) and frees their slots.
 */
static void xpmem_inval_collect(struct xpmem_inval *iv, bool any)
{
	struct xpmem_net_req *rs[XPMEM_INVAL_WINDOW] = {};
	int i, ret;

	xpmem_inval_post_open(iv);
	for (i = 0; i < XPMEM_INVAL_WINDOW; i++)
		if (iv->m[i].state == XPMEM_IM_SENT)
			rs[i] = &iv->m[i].req;
	xpmem_net_batch_wait(iv->b, rs, XPMEM_INVAL_WINDOW, any);
	for (i = 0; i < XPMEM_INVAL_WINDOW; i++) {
		struct xpmem_inval_msg *m = &iv->m[i];

		if (m->state != XPMEM_IM_SENT || !xpmem_net_req_done(&m->req))
			continue;
		ret = xpmem_net_batch_finish(&m->req);
		trace_xpmem_invalidate_ack(m->node, ret, iv->started);
		if (!ret)
			xpmem_count_inc(XPMEM_CNT_REMOTE_INVALIDATES_ACKED);
		m->state = XPMEM_IM_FREE;
	}
}

/* A message to @node with room for one more entry, or NULL. */
static struct xpmem_inval_msg *xpmem_inval_msg(struct xpmem_inval *iv,
					       u16 node)
{
	struct xpmem_inval_msg *m, *free;
	void *payload;
	int i, ret;

	for (i = 0; i < XPMEM_INVAL_WINDOW; i++) {
		m = &iv->m[i];
		if (m->state != XPMEM_IM_OPEN || m->node != node)
			continue;
		if (m->n < XPMEM_INVAL_MAX_ENTRIES)
			return m;
		xpmem_inval_post(m);	/* full: the next one */
		break;
	}
	for (;;) {
		free = NULL;
		for (i = 0; i < XPMEM_INVAL_WINDOW && !free; i++)
			if (iv->m[i].state == XPMEM_IM_FREE)
				free = &iv->m[i];
		if (free)
			break;
		/* More nodes than the window: wait for a slot. */
		xpmem_inval_collect(iv, true);
	}
	ret = xpmem_net_batch_open(iv->b, &free->req, node,
				   XPMEM_MSG_INVALIDATE, &free->rep,
				   sizeof(free->rep), false, &payload);
	if (ret == -EAGAIN) {
		/* No credit now: what is open goes out before we wait. */
		xpmem_inval_post_open(iv);
		ret = xpmem_net_batch_open(iv->b, &free->req, node,
					   XPMEM_MSG_INVALIDATE, &free->rep,
					   sizeof(free->rep), true, &payload);
	}
	/*
	 * -ENOTCONN: no connection up, the node was fenced and forgot its
	 * copies; -ETIMEDOUT: fenced now.  Aborted: fence it ourselves.
	 */
	if (ret == -EINTR)
		xpmem_net_fence_node(node, "invalidating task killed");
	if (ret)
		return NULL;
	free->p = payload;
	free->n = 0;
	free->node = node;
	free->state = XPMEM_IM_OPEN;
	return free;
}

/*
 * Called from the zap worker while the notifier sleeps holding seg->lock:
 * every node holding a copy in [start, last] drops it before we return.
 * One INVALIDATE per node (more if its entries do not fit one message)
 * names all of its attachments there; all are sent before any ack is
 * awaited, and the acks are awaited together until one deadline.  A node
 * that does not answer by then is fenced by the transport, and the fence
 * callback forgets its copies: a silent node costs one net_timeout_ms
 * whatever it holds.  A node with no connection up has been fenced
 * already.  Once @w is aborted (the sleeping task was killed) nobody
 * waits for acks: the remaining holders are fenced.  Reclaim may wait for
 * this (it runs for the notifier): it allocates nothing, and the
 * transport's batch allocates nothing either.
 */
void xpmem_home_invalidate(struct xpmem_seg *seg, unsigned long start,
			   unsigned long last, struct xpmem_inval_wait *w)
{
	struct xpmem_inval iv = { .b = &w->batch, .started = ktime_get_ns() };
	struct interval_tree_node *it;

	/* seg->lock is held by the task that waits for us, not by us. */
	might_sleep();
	for (it = interval_tree_iter_first(&seg->ratts, start, last); it;
	     it = interval_tree_iter_next(it, start, last)) {
		struct xpmem_ratt *ratt = container_of(it, struct xpmem_ratt,
						       it);
		unsigned long first = (max(start, ratt->offset) -
				       ratt->offset) >> PAGE_SHIFT;
		unsigned long end = ((min(last, ratt->it.last) -
				      ratt->offset) >> PAGE_SHIFT) + 1;
		struct xpmem_wire_inval_entry *e;
		struct xpmem_inval_msg *m;

		if (!xpmem_copies_clear(ratt, first, end, &first, &end))
			continue;
		m = xpmem_inval_msg(&iv, ratt->node);
		if (!m)
			continue;
		e = (struct xpmem_wire_inval_entry *)(m->p + 1) + m->n++;
		e->client_id = cpu_to_le64(ratt->client_id);
		e->first = cpu_to_le64(first);
		e->npages = cpu_to_le64(end - first);
		trace_xpmem_invalidate_send(ratt->node, ratt->client_id, first,
					    end - first);
	}
	xpmem_inval_collect(&iv, false);
}

/* The task waiting for @w was killed: fence whoever has not answered. */
void xpmem_home_invalidate_abort(struct xpmem_inval_wait *w)
{
	xpmem_net_batch_abort(&w->batch);
}

/* Tells the attacher its attachment is gone; best effort. */
static void xpmem_ratt_revoke(struct xpmem_ratt *ratt)
{
	struct xpmem_wire_revoke req = {
		.client_id = cpu_to_le64(ratt->client_id),
	};
	struct xpmem_wire_status rep;
	size_t rep_len;

	xpmem_net_call_flags(ratt->node, XPMEM_MSG_REVOKE, &req, sizeof(req),
			     &rep, sizeof(rep), &rep_len, XPMEM_NET_CONNECTED);
}

/*
 * The segment is being destroyed: its copies everywhere are dropped
 * (REVOKE) and every remote handle of it forgotten.
 */
void xpmem_home_seg_destroy(struct xpmem_seg *seg)
{
	struct interval_tree_node *it;
	struct xpmem_ratt *ratt, *tmp;
	struct xpmem_rap *rap;
	LIST_HEAD(kill);

	mutex_lock(&seg->lock);
	while ((it = interval_tree_iter_first(&seg->ratts, 0, ULONG_MAX))) {
		ratt = container_of(it, struct xpmem_ratt, it);
		interval_tree_remove(it, &seg->ratts);
		ratt->linked = false;
		kref_get(&ratt->kref);
		list_add_tail(&ratt->kill_link, &kill);
	}
	mutex_unlock(&seg->lock);

	list_for_each_entry_safe(ratt, tmp, &kill, kill_link) {
		xpmem_ratt_revoke(ratt);
		xpmem_ratt_drop(ratt);
		kref_put(&ratt->kref, xpmem_ratt_free);
	}

	for (;;) {
		mutex_lock(&seg->lock);
		rap = list_first_entry_or_null(&seg->raps, struct xpmem_rap,
					       seg_link);
		if (rap)
			kref_get(&rap->kref);
		mutex_unlock(&seg->lock);
		if (!rap)
			break;
		xpmem_rap_drop(rap);
		/* a lost race with RELEASE still unlinks it: */
		mutex_lock(&seg->lock);
		list_del_init(&rap->seg_link);
		mutex_unlock(&seg->lock);
		kref_put(&rap->kref, xpmem_rap_free);
	}
}

/* A fenced node: forget every copy and handle it held. */
void xpmem_home_fence(u16 node)
{
	struct xpmem_ratt *ratt;
	struct xpmem_rap *rap;
	unsigned long id;

	xa_for_each(&xpmem_ratts, id, ratt) {
		ratt = xpmem_home_lookup(&xpmem_ratts, id, node);
		if (!ratt)
			continue;
		xpmem_ratt_drop(ratt);
		kref_put(&ratt->kref, xpmem_ratt_free);
	}
	xa_for_each(&xpmem_raps, id, rap) {
		rap = xpmem_home_lookup(&xpmem_raps, id, node);
		if (!rap)
			continue;
		xpmem_rap_drop(rap);
		kref_put(&rap->kref, xpmem_rap_free);
	}
}

/* /proc/xpmem/remote_limits: the limits, then what each node, uid holds. */
static struct proc_dir_entry *xpmem_limits_pde;

static int xpmem_remote_limits_show(struct seq_file *m, void *v)
{
	unsigned long id;
	void *entry;

	seq_printf(m, "limits permits_per_node %u permits_per_uid %u attachments_per_node %u attachments_per_uid %u\n",
		   READ_ONCE(remote_permits_per_node),
		   READ_ONCE(remote_permits_per_uid),
		   READ_ONCE(remote_attachments_per_node),
		   READ_ONCE(remote_attachments_per_uid));
	mutex_lock(&xpmem_quota_lock);
	xa_for_each(&xpmem_node_quota, id, entry)
		seq_printf(m, "node %lu permits %lu attachments %lu\n", id,
			   xpmem_quota_held(&xpmem_node_quota, id,
					    XPMEM_QUOTA_PERMIT),
			   xpmem_quota_held(&xpmem_node_quota, id,
					    XPMEM_QUOTA_ATT));
	xa_for_each(&xpmem_uid_quota, id, entry)
		seq_printf(m, "uid %lu permits %lu attachments %lu\n", id,
			   xpmem_quota_held(&xpmem_uid_quota, id,
					    XPMEM_QUOTA_PERMIT),
			   xpmem_quota_held(&xpmem_uid_quota, id,
					    XPMEM_QUOTA_ATT));
	mutex_unlock(&xpmem_quota_lock);
	return 0;
}

int xpmem_home_init(void)
{
	/* Which uids of other nodes use this one: for root only. */
	xpmem_limits_pde = proc_create_single("remote_limits", 0400,
					      xpmem_proc_dir(),
					      xpmem_remote_limits_show);
	if (!xpmem_limits_pde)
		pr_warn("xpmem: cannot create /proc/xpmem/remote_limits\n");
	xpmem_net_register(XPMEM_MSG_GET, xpmem_home_get);
	xpmem_net_register(XPMEM_MSG_RELEASE, xpmem_home_release);
	xpmem_net_register(XPMEM_MSG_ATTACH, xpmem_home_attach);
	xpmem_net_register(XPMEM_MSG_DETACH, xpmem_home_detach);
	xpmem_net_register(XPMEM_MSG_FETCH, xpmem_home_fetch);
	xpmem_net_register(XPMEM_MSG_WRITEBACK, xpmem_home_writeback);
	return 0;
}

void xpmem_home_exit(void)
{
	proc_remove(xpmem_limits_pde);
	WARN_ON(!xa_empty(&xpmem_raps));
	WARN_ON(!xa_empty(&xpmem_ratts));
	WARN_ON(!xa_empty(&xpmem_node_quota));
	WARN_ON(!xa_empty(&xpmem_uid_quota));
}
