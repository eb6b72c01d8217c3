// SPDX-License-Identifier: GPL-2.0
/*
 * The owner's (home node's) side of cross-node segments.
 *
 * A remote xpmem_get becomes a remote permit (rap) here; a remote attach
 * becomes a remote attachment (ratt) with a bitmap of the pages whose
 * copies that node holds: the copy directory.  FETCH resolves pages in
 * the owner's mm under the segment notifier's sequence count and copies
 * them out under seg->lock, so a page cannot be freed while it is read.
 * Before the owner's mapping of a page changes, the notifier's zap worker
 * sends INVALIDATE to every node holding a copy and waits for the reply.
 */
#include <linux/bitmap.h>
#include <linux/highmem.h>
#include <linux/hmm.h>
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uidgid.h>

#include "xpmem_internal.h"
#include "transport.h"
#include "wire.h"

struct xpmem_rap {
	struct kref kref;
	u32 id;
	u16 node;
	u32 flags;
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
	unsigned long *copies;		/* pages the node holds, seg->lock */
	bool linked;			/* in seg->ratts, under seg->lock */
	struct interval_tree_node it;
	struct list_head kill_link;
	struct rcu_head rcu;
};

static DEFINE_XARRAY_ALLOC1(xpmem_raps);
static DEFINE_XARRAY_ALLOC1(xpmem_ratts);

static void xpmem_rap_free(struct kref *kref)
{
	struct xpmem_rap *rap = container_of(kref, struct xpmem_rap, kref);

	xpmem_seg_put(rap->seg);
	kfree_rcu(rap, rcu);
	xpmem_count_dec(XPMEM_CNT_REMOTE_PERMITS);
}

static void xpmem_ratt_free(struct kref *kref)
{
	struct xpmem_ratt *ratt = container_of(kref, struct xpmem_ratt, kref);

	kref_put(&ratt->rap->kref, xpmem_rap_free);
	kvfree(ratt->copies);
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
	if (!seg)
		goto out;
	ret = xpmem_check_mode(seg, flags, uid, gid_eq(gid, seg->gid));
	if (ret)
		goto out;

	ret = -ENOMEM;
	rap = kzalloc(sizeof(*rap), GFP_KERNEL);
	if (!rap)
		goto out;
	kref_init(&rap->kref);
	INIT_LIST_HEAD(&rap->seg_link);
	rap->node = rx->src_node;
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

	ret = -ENOMEM;
	ratt = kzalloc(sizeof(*ratt), GFP_KERNEL);
	if (!ratt)
		goto put_rap;
	ratt->copies = kvcalloc(BITS_TO_LONGS(npages), sizeof(long),
				GFP_KERNEL);
	if (!ratt->copies) {
		kfree(ratt);
		goto put_rap;
	}
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

/*
 * Copies @n pages of the owner's memory at @addr into @buf and records
 * them as held by @ratt.  Pages are resolved without pinning; the copy
 * runs under seg->lock, which holds off the invalidation (and so the
 * freeing) of the pages being read.
 */
typedef void (*xpmem_home_access_t)(struct xpmem_ratt *ratt,
				    unsigned long first, unsigned long n,
				    unsigned long *pfns, void *arg);

/*
 * Resolves @n pages of the owner's memory at attachment page @first
 * (writable if @write) without pinning, and runs @access on them under
 * seg->lock, which holds off their invalidation (and so their freeing).
 * Returns the number of pages accessed or an errno.
 */
static int xpmem_home_access(struct xpmem_ratt *ratt, unsigned long first,
			     unsigned long n, bool write,
			     xpmem_home_access_t access, void *arg)
{
	struct xpmem_seg *seg = ratt->rap->seg;
	unsigned long pfns[XPMEM_FETCH_MAX_PAGES];
	unsigned long addr = seg->vaddr + ratt->offset + (first << PAGE_SHIFT);
	struct mm_struct *mm = seg->mm;
	struct vm_area_struct *vma;
	struct hmm_range range = {
		.notifier = &seg->notifier,
		.hmm_pfns = pfns,
		.default_flags = HMM_PFN_REQ_FAULT |
				 (write ? HMM_PFN_REQ_WRITE : 0),
	};
	int ret;

	if (!mmget_not_zero(mm))
		return -ESRCH;	/* the owner process is gone */
again:
	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	if (!vma || (vma->vm_flags & (VM_IO | VM_PFNMAP))) {
		mmap_read_unlock(mm);
		ret = -EFAULT;
		goto out;
	}
	n = min(n, (vma->vm_end - addr) >> PAGE_SHIFT);
	range.start = addr;
	range.end = addr + (n << PAGE_SHIFT);
	range.notifier_seq = mmu_interval_read_begin(range.notifier);
	ret = hmm_range_fault(&range);
	mmap_read_unlock(mm);
	if (ret == -EBUSY)
		goto again;
	if (ret)
		goto out;

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
	access(ratt, first, n, pfns, arg);
	mutex_unlock(&seg->lock);
	ret = n;
out:
	mmput_async(mm);
	return ret;
}

/* FETCH: copy the pages out and record the copies in the directory. */
static void xpmem_home_copy_out(struct xpmem_ratt *ratt, unsigned long first,
				unsigned long n, unsigned long *pfns, void *buf)
{
	unsigned long i;

	for (i = 0; i < n; i++)
		memcpy_from_page(buf + (i << PAGE_SHIFT),
				 hmm_pfn_to_page(pfns[i]), 0, PAGE_SIZE);
	bitmap_set(ratt->copies, first, n);
}

struct xpmem_runs {
	const struct xpmem_wire_run *run;
	u32 nruns;
};

/* WRITEBACK: apply the attacher's runs of changed bytes to the page. */
static void xpmem_home_apply(struct xpmem_ratt *ratt, unsigned long first,
			     unsigned long n, unsigned long *pfns, void *arg)
{
	struct xpmem_runs *r = arg;
	const struct xpmem_wire_run *run = r->run;
	char *dst = kmap_local_page(hmm_pfn_to_page(pfns[0]));
	u32 i;

	for (i = 0; i < r->nruns; i++) {
		u16 off = le16_to_cpu(run->offset), len = le16_to_cpu(run->len);

		memcpy(dst + off, run + 1, len);
		run = (const void *)(run + 1) + len;
	}
	kunmap_local(dst);
}

/* Checks that the runs lie inside one page and fill exactly @bytes. */
static int xpmem_runs_check(const struct xpmem_wire_run *run, u32 nruns,
			    size_t bytes)
{
	u32 i;

	for (i = 0; i < nruns; i++) {
		u16 off, len;

		if (bytes < sizeof(*run))
			return -EINVAL;
		off = le16_to_cpu(run->offset);
		len = le16_to_cpu(run->len);
		if (!len || off + len > PAGE_SIZE ||
		    bytes - sizeof(*run) < len)
			return -EINVAL;
		bytes -= sizeof(*run) + len;
		run = (const void *)(run + 1) + len;
	}
	return bytes ? -EINVAL : 0;
}

/*
 * Checks the @n page entries of a WRITEBACK, @bytes long in all, against
 * an attachment of @npages pages: 0 or -EINVAL.
 */
static int xpmem_wb_check(const struct xpmem_wire_wb_page *pg, size_t bytes,
			  u32 n, u64 npages)
{
	size_t len;
	u32 i;

	for (i = 0; i < n; i++) {
		if (bytes < sizeof(*pg))
			return -EINVAL;
		len = le32_to_cpu(pg->len);
		if (len > bytes - sizeof(*pg) ||
		    le64_to_cpu(pg->page) >= npages ||
		    xpmem_runs_check((const void *)(pg + 1),
				     le32_to_cpu(pg->nruns), len))
			return -EINVAL;
		bytes -= sizeof(*pg) + len;
		pg = (const void *)(pg + 1) + len;
	}
	return bytes ? -EINVAL : 0;
}

static void xpmem_home_writeback(struct xpmem_net_rx *rx)
{
	const struct xpmem_wire_writeback *req = rx->payload;
	const struct xpmem_wire_wb_page *pg;
	struct xpmem_ratt *ratt;
	struct xpmem_runs runs;
	u32 i, n;
	int ret, err;

	if (rx->len < sizeof(*req))
		return xpmem_reply_status(rx, -EINVAL);
	ratt = xpmem_home_lookup(&xpmem_ratts, le64_to_cpu(req->ratt_id),
				 rx->src_node);
	if (!ratt)
		return xpmem_reply_status(rx, -ENOENT);
	n = le32_to_cpu(req->npages);
	pg = (const void *)(req + 1);
	/* The whole message is checked before any of it is applied. */
	ret = ratt->rap->flags != XPMEM_UAPI_RDWR ? -EACCES :
	      xpmem_wb_check(pg, rx->len - sizeof(*req), n, ratt->npages);
	if (ret)
		n = 0;
	for (i = 0; i < n; i++) {
		runs.run = (const void *)(pg + 1);
		runs.nruns = le32_to_cpu(pg->nruns);
		err = xpmem_home_access(ratt, le64_to_cpu(pg->page), 1, true,
					xpmem_home_apply, &runs);
		/* A page that fails does not stop the others: first error. */
		if (err < 0)
			ret = ret ?: err;
		else
			xpmem_count_inc(XPMEM_CNT_REMOTE_WRITEBACKS);
		pg = (const void *)(pg + 1) + le32_to_cpu(pg->len);
	}
	kref_put(&ratt->kref, xpmem_ratt_free);
	xpmem_reply_status(rx, ret);
}

static void xpmem_home_fetch(struct xpmem_net_rx *rx)
{
	const struct xpmem_wire_fetch *req = rx->payload;
	struct xpmem_wire_fetch_reply *rep;
	struct xpmem_ratt *ratt;
	u64 first;
	u32 n;
	int ret;

	if (rx->len < sizeof(*req))
		return xpmem_reply_status(rx, -EINVAL);
	ratt = xpmem_home_lookup(&xpmem_ratts, le64_to_cpu(req->ratt_id),
				 rx->src_node);
	if (!ratt)
		return xpmem_reply_status(rx, -ENOENT);
	first = le64_to_cpu(req->first);
	n = le32_to_cpu(req->npages);
	if (!n || n > XPMEM_FETCH_MAX_PAGES || first >= ratt->npages ||
	    n > ratt->npages - first) {
		kref_put(&ratt->kref, xpmem_ratt_free);
		return xpmem_reply_status(rx, -EINVAL);
	}

	rep = kvmalloc(sizeof(*rep) + ((size_t)n << PAGE_SHIFT), GFP_KERNEL);
	if (!rep) {
		kref_put(&ratt->kref, xpmem_ratt_free);
		return xpmem_reply_status(rx, -ENOMEM);
	}
	ret = xpmem_home_access(ratt, first, n, false, xpmem_home_copy_out,
				rep + 1);
	kref_put(&ratt->kref, xpmem_ratt_free);
	if (ret < 0) {
		kvfree(rep);
		return xpmem_reply_status(rx, ret);
	}
	rep->status = 0;
	rep->npages = cpu_to_le32(ret);
	xpmem_net_reply(rx, rep, sizeof(*rep) + ((size_t)ret << PAGE_SHIFT));
	kvfree(rep);
	xpmem_count_add(XPMEM_CNT_REMOTE_PAGES_SERVED, ret);
}

/* Does any node hold a copy of segment offsets [start, last]? */
bool xpmem_home_has_copies(struct xpmem_seg *seg, unsigned long start,
			   unsigned long last)
{
	lockdep_assert_held(&seg->lock);
	return interval_tree_iter_first(&seg->ratts, start, last);
}

/*
 * Called from the zap worker while the notifier sleeps holding seg->lock:
 * every node holding a copy in [start, last] drops it before we return.
 * A node that does not answer in time is fenced by the transport, and the
 * fence callback forgets its copies.  A node with no connection up has
 * been fenced already.  Once @w->abort is set (the sleeping task was
 * killed) nobody waits for acks: the remaining holders are fenced.
 */
void xpmem_home_invalidate(struct xpmem_seg *seg, unsigned long start,
			   unsigned long last, struct xpmem_inval_wait *w)
{
	struct interval_tree_node *it;
	struct xpmem_wire_status rep;
	size_t rep_len;

	for (it = interval_tree_iter_first(&seg->ratts, start, last); it;
	     it = interval_tree_iter_next(it, start, last)) {
		struct xpmem_ratt *ratt = container_of(it, struct xpmem_ratt,
						       it);
		unsigned long first = (max(start, ratt->offset) -
				       ratt->offset) >> PAGE_SHIFT;
		unsigned long end = ((min(last, ratt->it.last) -
				      ratt->offset) >> PAGE_SHIFT) + 1;
		struct xpmem_wire_invalidate req = {
			.client_id = cpu_to_le64(ratt->client_id),
		};

		first = find_next_bit(ratt->copies, end, first);
		if (first >= end)
			continue;
		req.first = cpu_to_le64(first);
		req.npages = cpu_to_le64(end - first);
		bitmap_clear(ratt->copies, first, end - first);
		if (READ_ONCE(w->abort)) {
			xpmem_net_fence_node(ratt->node,
					     "invalidating task killed");
			continue;
		}
		WRITE_ONCE(w->node, ratt->node);
		xpmem_count_inc(XPMEM_CNT_REMOTE_INVALIDATES_SENT);
		if (!xpmem_net_call_flags(ratt->node, XPMEM_MSG_INVALIDATE,
					  &req, sizeof(req), &rep, sizeof(rep),
					  &rep_len, XPMEM_NET_CONNECTED))
			xpmem_count_inc(XPMEM_CNT_REMOTE_INVALIDATES_ACKED);
		WRITE_ONCE(w->node, 0);
	}
}

/* The task waiting for @w was killed: fence the node it waits for. */
void xpmem_home_invalidate_abort(struct xpmem_inval_wait *w)
{
	u16 node = READ_ONCE(w->node);

	if (node)
		xpmem_net_fence_node(node, "invalidating task killed");
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

int xpmem_home_init(void)
{
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
	WARN_ON(!xa_empty(&xpmem_raps));
	WARN_ON(!xa_empty(&xpmem_ratts));
}
