// SPDX-License-Identifier: GPL-2.0
/*
 * The attacher's side of cross-node segments.
 *
 * A permit for a segment owned by another node asks the owner (GET); an
 * attachment of it registers with the owner (ATTACH) and keeps a cache of
 * page copies.  A fault fetches the faulting page and the pages around it
 * that the owner has (FETCH) into the cache and maps them, without
 * mmap_lock held while it waits for the owner where the core allows
 * (VM_FAULT_RETRY).  The owner's INVALIDATE drops copies (PTEs first)
 * before it is acknowledged; xpmem_sync(ACQUIRE) drops them too, so that
 * the next access reads the owner's current data (docs/data-model.md).
 * A FETCH in flight meanwhile keeps only the pages neither touched.
 *
 * Locks: the global xpmem_client_lock protects the attachment table and
 * remote permits' lists; each attachment's cache has its own mutex, taken
 * after mmap_lock (by faults), and a write-back mutex taken before it and
 * held over the network, never under mmap_lock.  None is taken from an
 * MMU notifier.  Nothing waits for the network under the attacher's
 * mmap_lock in SYNC or ->close() (remote faults: see xpmem_client_fault).
 *
 * What a local task makes this node hold (permits, caches, page copies,
 * twins) is charged to its memory cgroup (__GFP_ACCOUNT).  Every reply of
 * an owner is checked before it is used (xpmem_client_reply_status()).
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "xpmem_internal.h"
#include "transport.h"
#include "wire.h"
#include "xpmem_trace.h"

static unsigned int remote_readahead = XPMEM_FETCH_MAX_PAGES;
module_param(remote_readahead, uint, 0644);
MODULE_PARM_DESC(remote_readahead,
		 "pages fetched per remote fault (1-16, default 16)");

/* The fetch window of a fault at page @idx: aligned, within the attachment. */
void xpmem_client_window(struct xpmem_att *att, unsigned long idx,
			 unsigned long *first, unsigned long *end)
{
	unsigned int ra = clamp(READ_ONCE(remote_readahead), 1U,
				(unsigned int)XPMEM_FETCH_MAX_PAGES);

	*first = rounddown(idx, ra);
	*end = min(*first + ra, att->npages);
}

/*
 * A FETCH in flight, on rc->fetches: the pages of its window that an
 * invalidation or acquire dropped meanwhile are stale (their data may
 * predate the drop) and are not cached when the reply lands.
 */
struct xpmem_fetch_wait {
	struct list_head link;
	unsigned long first, n;
	u32 stale;			/* bit i: page first + i */
};

/* Pages [first, end) dropped: stale for the fetches in flight. */
static void xpmem_fetches_stale_locked(struct xpmem_rcache *rc,
				       unsigned long first, unsigned long end)
{
	struct xpmem_fetch_wait *fw;
	unsigned long lo, hi;

	lockdep_assert_held(&rc->lock);
	list_for_each_entry(fw, &rc->fetches, link) {
		lo = max(first, fw->first);
		hi = min(end, fw->first + fw->n);
		if (lo < hi)
			fw->stale |= GENMASK(hi - 1 - fw->first,
					     lo - fw->first);
	}
}

static DEFINE_MUTEX(xpmem_client_lock);
static DEFINE_XARRAY_ALLOC1(xpmem_client_atts);

static int xpmem_client_bad_reply(u16 node, const char *what)
{
	xpmem_count_inc(XPMEM_CNT_REMOTE_BAD_REPLIES);
	pr_warn_ratelimited("xpmem: node %u sent a malformed %s reply\n", node,
			    what);
	return -EPROTO;
}

/*
 * Checks the status of an owner's @reply, @len bytes, before anything of
 * it is used: 0 (the reply must then be exactly @want bytes long) or one
 * of the errnos an owner sends, from remote_home.c's handlers and what
 * they pass on from hmm_range_fault() (then the reply is a bare status or
 * @want bytes).  Anything else is a broken or lying owner: -EPROTO, so
 * neither an unknown errno nor a positive value reaches user space.
 */
int xpmem_client_reply_status(u16 node, const void *reply, size_t len,
			      size_t want)
{
	static const int known[] = {
		EINVAL, ENOENT, EACCES, EPERM, ENOMEM, ENOSPC, EFAULT, ESRCH,
		EAGAIN, EBUSY, EINTR, EOPNOTSUPP,
	};
	const struct xpmem_wire_status *st = reply;
	int status, i;

	if (len < sizeof(st->status))
		return xpmem_client_bad_reply(node, "short");
	status = (int)le32_to_cpu(st->status);
	if (!status)
		return len == want ? 0 :
		       xpmem_client_bad_reply(node, "wrong-length");
	if (len != want && len != sizeof(*st))
		return xpmem_client_bad_reply(node, "wrong-length error");
	for (i = 0; i < ARRAY_SIZE(known); i++)
		if (status == -known[i])
			return status;
	return xpmem_client_bad_reply(node, "unknown-status");
}

int xpmem_client_get(struct xpmem_ctx *ctx, struct xpmem_cmd_get *cmd,
		     void __user *arg)
{
	struct xpmem_wire_get req = {
		.segid = cpu_to_le64(cmd->segid),
		.flags = cpu_to_le32(cmd->flags),
		.uid = cpu_to_le32(from_kuid_munged(&init_user_ns,
						    current_euid())),
		.gid = cpu_to_le32(from_kgid_munged(&init_user_ns,
						    current_egid())),
	};
	u16 node = xpmem_segid_node(cmd->segid);
	struct xpmem_wire_get_reply rep;
	struct xpmem_ap *ap;
	size_t len;
	int ret;

	ret = xpmem_net_call(node, XPMEM_MSG_GET, &req, sizeof(req), &rep,
			     sizeof(rep), &len);
	if (ret)
		return ret == -EHOSTDOWN ? -ENOENT : ret;
	ret = xpmem_client_reply_status(node, &rep, len, sizeof(rep));
	if (ret)
		return ret;
	/* A segment we could map: page-sized, non-zero, in an address space. */
	if (!rep.rap_id || !rep.size ||
	    offset_in_page(le64_to_cpu(rep.size)) ||
	    le64_to_cpu(rep.size) > TASK_SIZE_MAX) {
		ret = xpmem_client_bad_reply(node, "GET");
		if (rep.rap_id)
			goto err_release;
		return ret;
	}

	ap = kzalloc(sizeof(*ap), GFP_KERNEL_ACCOUNT);
	if (!ap) {
		ret = -ENOMEM;
		goto err_release;
	}
	kref_init(&ap->kref);
	INIT_LIST_HEAD(&ap->atts);
	INIT_LIST_HEAD(&ap->seg_link);
	ap->ctx = ctx;
	ap->flags = cmd->flags;
	ap->node = node;
	ap->rap_id = le64_to_cpu(rep.rap_id);
	ap->rsize = le64_to_cpu(rep.size);
	xpmem_count_inc(XPMEM_CNT_PERMITS);
	return xpmem_ap_install(ctx, ap, cmd, arg);

err_release:
	{
		struct xpmem_wire_release rel = { .rap_id = rep.rap_id };
		struct xpmem_wire_status st;

		xpmem_net_call(node, XPMEM_MSG_RELEASE, &rel, sizeof(rel),
			       &st, sizeof(st), &len);
	}
	return ret;
}

/* Removes the attacher's PTEs of pages [first, end). */
void xpmem_client_zap_locked(struct xpmem_att *att, unsigned long first,
			     unsigned long end)
{
	lockdep_assert_held(&att->rc->lock);
	if (att->mapping && att->state == XPMEM_ATT_MAPPED)
		unmap_mapping_range(att->mapping,
				    (loff_t)(att->pgoff + first) << PAGE_SHIFT,
				    (loff_t)(end - first) << PAGE_SHIFT, 1);
}

/*
 * Drops cached copies of pages [first, end) after zapping their PTEs.
 * Changes not yet released are kept for the next release if @drop_err is
 * 0 (the owner's page moved or went away; the write-back finds the page
 * at the owner's address then), discarded otherwise: the next release
 * then reports @drop_err.  Changes that cannot be kept (no memory) are
 * reported as ENOMEM.
 */
static void xpmem_rcache_drop(struct xpmem_att *att, unsigned long first,
			      unsigned long end, int drop_err)
{
	struct xpmem_rcache *rc = att->rc;
	struct page *page, *twin;
	unsigned long idx;

	lockdep_assert_held(&rc->lock);
	xpmem_fetches_stale_locked(rc, first, end);
	xpmem_client_zap_locked(att, first, end);
	xa_for_each_range(&rc->pages, idx, page, first, end - 1) {
		xa_erase(&rc->pages, idx);
		twin = xa_erase(&rc->twins, idx);
		if (twin && !drop_err &&
		    xpmem_client_keep_dirty_locked(rc, idx, page, twin))
			continue;
		if (twin)
			xpmem_client_drop_twin_locked(rc, page, twin,
						      drop_err ?: -ENOMEM);
		put_page(page);
		xpmem_count_dec(XPMEM_CNT_REMOTE_COPIES);
	}
}

/*
 * The owner revoked the attachment (-EIDRM) or was fenced (-EHOSTDOWN):
 * SIGBUS from now on; changes not written back are lost, and the next
 * release says so with @err.
 */
static void xpmem_client_kill(struct xpmem_att *att, int err)
{
	mutex_lock(&att->rc->lock);
	WRITE_ONCE(att->dead, true);
	xpmem_rcache_drop(att, 0, att->npages, err);
	xpmem_client_discard_dirty_locked(att->rc, err);
	mutex_unlock(&att->rc->lock);
}

/*
 * Remote attachments whose vma was closed (munmap, exit) are released
 * and detached by a work item on this queue (xpmem_client_close_work),
 * not under the mmap_lock that ->close() runs in.  Each permit counts its
 * attachments in flight (ap->closing); its release waits for them here.
 * Module exit flushes the queue.
 */
static struct workqueue_struct *xpmem_client_wq;
static DECLARE_WAIT_QUEUE_HEAD(xpmem_client_closed);

/*
 * Releasing the permit: the writes of its attachments closed just before
 * (an exiting process's, say) reach the owner before the permit goes.
 */
void xpmem_client_release(struct xpmem_ap *ap)
{
	struct xpmem_wire_release rel = { .rap_id = cpu_to_le64(ap->rap_id) };
	struct xpmem_wire_status st;
	struct xpmem_att *att;
	size_t len;

	might_sleep();
	/* Bounded by net_timeout_ms per message; a killed task goes on. */
	wait_event_killable(xpmem_client_closed, !atomic_read(&ap->closing));
	mutex_lock(&xpmem_client_lock);
	ap->revoked = true;
	list_for_each_entry(att, &ap->atts, ap_link)
		if (att->state != XPMEM_ATT_GONE)
			xpmem_client_kill(att, -EIDRM);
	mutex_unlock(&xpmem_client_lock);
	xpmem_net_call(ap->node, XPMEM_MSG_RELEASE, &rel, sizeof(rel), &st,
		       sizeof(st), &len);
}

/* Registers a new attachment with the owner; before its vma exists. */
int xpmem_client_attach(struct xpmem_att *att)
{
	struct xpmem_ap *ap = att->ap;
	struct xpmem_wire_attach req = {
		.rap_id = cpu_to_le64(ap->rap_id),
		.offset = cpu_to_le64(att->offset),
		.npages = cpu_to_le64(att->npages),
	};
	struct xpmem_wire_attach_reply rep;
	struct xpmem_rcache *rc;
	size_t len;
	u32 id;
	int ret;

	/* The size was checked against the owner's (validated) segment size. */
	if (!att->npages || att->npages > ap->rsize >> PAGE_SHIFT)
		return -EINVAL;
	rc = kzalloc(sizeof(*rc), GFP_KERNEL_ACCOUNT);
	if (!rc)
		return -ENOMEM;
	mutex_init(&rc->lock);
	mutex_init(&rc->wb_lock);
	xa_init_flags(&rc->pages, XA_FLAGS_ACCOUNT);
	xa_init_flags(&rc->twins, XA_FLAGS_ACCOUNT);
	xa_init_flags(&rc->errors, XA_FLAGS_ACCOUNT);
	INIT_LIST_HEAD(&rc->dirty);
	INIT_LIST_HEAD(&rc->fetches);
	ret = xa_alloc(&xpmem_client_atts, &id, NULL, xa_limit_32b,
		       GFP_KERNEL_ACCOUNT);
	if (ret) {
		kfree(rc);
		return ret;
	}
	rc->id = id;
	att->rc = rc;
	req.client_id = cpu_to_le64(id);

	ret = xpmem_net_call(ap->node, XPMEM_MSG_ATTACH, &req, sizeof(req),
			     &rep, sizeof(rep), &len);
	if (!ret)
		ret = xpmem_client_reply_status(ap->node, &rep, len,
						sizeof(rep));
	if (ret)
		goto err;
	rc->ratt_id = le64_to_cpu(rep.ratt_id);
	if (!rc->ratt_id) {	/* no handle to give back */
		ret = xpmem_client_bad_reply(ap->node, "ATTACH");
		goto err;
	}

	mutex_lock(&xpmem_client_lock);
	if (ap->revoked) {
		mutex_unlock(&xpmem_client_lock);
		ret = -ENOENT;
		goto err_detach;
	}
	list_add_tail(&att->ap_link, &ap->atts);
	xa_store(&xpmem_client_atts, id, att, GFP_KERNEL);
	mutex_unlock(&xpmem_client_lock);
	return 0;

err_detach:
	{
		struct xpmem_wire_detach det = { .ratt_id = rep.ratt_id };
		struct xpmem_wire_status st;

		xpmem_net_call(ap->node, XPMEM_MSG_DETACH, &det, sizeof(det),
			       &st, sizeof(st), &len);
	}
err:
	xa_erase(&xpmem_client_atts, id);
	att->rc = NULL;
	kfree(rc);
	return ret == -EHOSTDOWN ? -ENOENT : ret;
}

/*
 * Detach implies release: writes this node's changes back and tells the
 * owner to forget the attachment, which faults with SIGBUS from now on.
 * Returns the release's errno (once: a second call does nothing).  The
 * ioctl DETACH calls this before it unmaps, so xpmem_detach() returns
 * after the owner applied the changes; after a bare munmap or at exit it
 * runs from a work item.  Called without mmap_lock.
 */
int xpmem_client_detach(struct xpmem_att *att)
{
	struct xpmem_rcache *rc = att->rc;
	struct xpmem_wire_detach det = { .ratt_id = cpu_to_le64(rc->ratt_id) };
	struct xpmem_wire_status st;
	bool was_dead;
	size_t len;
	int ret;

	might_sleep();
	mutex_lock(&rc->lock);
	if (att->detached) {
		mutex_unlock(&rc->lock);
		return 0;
	}
	att->detached = true;
	was_dead = att->dead;
	WRITE_ONCE(att->dead, true);	/* no new writes: all are released */
	mutex_unlock(&rc->lock);

	ret = xpmem_client_release_range(att, 0, att->npages);
	if (!was_dead)
		xpmem_net_call(att->ap->node, XPMEM_MSG_DETACH, &det,
			       sizeof(det), &st, sizeof(st), &len);
	return ret;
}

/* Forgets a detached attachment on this node: no network. */
static void xpmem_client_teardown(struct xpmem_att *att)
{
	struct xpmem_rcache *rc = att->rc;

	mutex_lock(&xpmem_client_lock);
	xa_erase(&xpmem_client_atts, rc->id);
	list_del_init(&att->ap_link);
	mutex_unlock(&xpmem_client_lock);

	mutex_lock(&rc->lock);
	/* Released in xpmem_client_detach(), nothing is left to lose. */
	xpmem_rcache_drop(att, 0, att->npages, -EIO);
	xpmem_client_discard_dirty_locked(rc, -EIO);
	mutex_unlock(&rc->lock);
	xpmem_pgoff_unreserve(att);
}

static void xpmem_client_close_work(struct work_struct *work)
{
	struct xpmem_att *att = container_of(work, struct xpmem_att,
					     close_work);
	struct xpmem_ap *ap = att->ap;	/* referenced by att */
	int ret;

	/*
	 * Nobody is left to tell an error (a bare munmap or exit): a
	 * write-back the owner did not confirm (its bytes may be lost) is
	 * counted and logged for the admin.
	 */
	ret = xpmem_client_detach(att);
	if (ret) {
		xpmem_count_inc(XPMEM_CNT_REMOTE_CLOSED_WB_FAILED);
		pr_notice_ratelimited("xpmem: node %u: write-back of a closed attachment failed (%d): changes may be lost\n",
				      ap->node, ret);
	}
	xpmem_client_teardown(att);
	atomic_dec(&ap->closing);
	wake_up_all(&xpmem_client_closed);
	xpmem_att_put(att);		/* the permit after the wake-up */
}

/*
 * The attachment's last vma is gone (->close(), under mmap_lock), or it
 * never got one.  Unless xpmem_client_detach() ran already, the release
 * and DETACH go to a work item: nothing waits for the network under the
 * attacher's mmap_lock.
 */
void xpmem_client_unlink(struct xpmem_att *att)
{
	struct xpmem_rcache *rc = att->rc;
	bool was_mapped, detached;

	mutex_lock(&rc->lock);
	was_mapped = att->state == XPMEM_ATT_MAPPED;
	att->state = XPMEM_ATT_GONE;	/* no PTEs left to zap */
	detached = att->detached;
	mutex_unlock(&rc->lock);
	if (was_mapped) {
		xpmem_count_dec(XPMEM_CNT_ATTACHMENTS);
		xpmem_count_add(XPMEM_CNT_ATTACHED_PAGES, -(long)att->npages);
	}
	if (detached) {
		xpmem_client_teardown(att);
		return;
	}
	kref_get(&att->kref);		/* the work's */
	atomic_inc(&att->ap->closing);
	INIT_WORK(&att->close_work, xpmem_client_close_work);
	queue_work(xpmem_client_wq, &att->close_work);
}

/* Module exit: the closed attachments' work is done. */
void xpmem_client_drain(void)
{
	flush_workqueue(xpmem_client_wq);
}

void xpmem_client_free(struct xpmem_att *att)
{
	if (att->rc) {
		xa_destroy(&att->rc->pages);
		xa_destroy(&att->rc->twins);
		xa_destroy(&att->rc->errors);	/* value entries */
		kfree(att->rc);
	}
}

/* Binds the attachment to the vma being created by xpmem_mmap(). */
int xpmem_client_bind(struct xpmem_att *att, struct file *file)
{
	int ret = 0;

	mutex_lock(&att->rc->lock);
	if (att->state != XPMEM_ATT_PENDING || att->dead)
		ret = att->dead ? -ENOENT : -EINVAL;
	else
		att->state = XPMEM_ATT_MAPPED;
	att->mapping = file->f_mapping;
	mutex_unlock(&att->rc->lock);
	return ret;
}

/*
 * Checks a FETCH reply of @len bytes to a request for the window
 * [first, first + n) around page @idx: the pages sent must be a run
 * within the window that holds @idx.
 */
static bool xpmem_fetch_reply_ok(const struct xpmem_wire_fetch_reply *rep,
				 size_t len, unsigned long first,
				 unsigned int n, unsigned long idx)
{
	u64 rfirst = le64_to_cpu(rep->first);
	u32 got = le32_to_cpu(rep->npages);

	return len >= sizeof(*rep) && got && got <= n &&
	       len == sizeof(*rep) + ((size_t)got << PAGE_SHIFT) &&
	       rfirst >= first && rfirst <= idx && idx - rfirst < got &&
	       rfirst - first + got <= n;
}

/*
 * Fetches page @idx and the pages of its window that the owner has
 * around it into the cache.  Returns 0 once @idx is cached, -EAGAIN if an
 * invalidation or acquire dropped @idx while the fetch was in flight or
 * the attachment went away (the other pages are kept if they may be), or
 * an errno: the owner's answer for @idx itself, or the transport's.
 * May run without the attacher's mmap_lock: the caller holds a
 * reference on @att, whose cache lives as long as it does.
 */
static int xpmem_client_fetch(struct xpmem_att *att, unsigned long idx)
{
	struct xpmem_rcache *rc = att->rc;
	struct xpmem_fetch_wait fw = {};
	struct xpmem_wire_fetch req;
	struct xpmem_wire_fetch_reply rep;
	struct page *pages[XPMEM_FETCH_MAX_PAGES];
	unsigned long first, end, rfirst, j;
	unsigned int n, i, got = 0;
	u32 writable = 0;
	size_t len;
	bool keep;
	int ret;

	might_sleep();
	xpmem_client_window(att, idx, &first, &end);
	n = end - first;
	req = (struct xpmem_wire_fetch) {
		.ratt_id = cpu_to_le64(rc->ratt_id),
		.first = cpu_to_le64(first),
		.npages = cpu_to_le32(n),
		.fault = cpu_to_le32(idx - first),
	};
	/* The reply's page data lands in these, the copies to map. */
	for (i = 0; i < n; i++) {
		pages[i] = alloc_page(GFP_HIGHUSER | __GFP_ACCOUNT);
		if (!pages[i]) {
			while (i--)
				put_page(pages[i]);
			return -ENOMEM;
		}
	}
	fw.first = first;
	fw.n = n;
	mutex_lock(&rc->lock);
	list_add(&fw.link, &rc->fetches);
	mutex_unlock(&rc->lock);

	xpmem_count_inc(XPMEM_CNT_REMOTE_FETCHES);
	trace_xpmem_fetch_send(att->ap->node, rc->id, first, n);
	ret = xpmem_net_call_pages(att->ap->node, XPMEM_MSG_FETCH, &req,
				   sizeof(req), &rep, sizeof(rep), pages, n,
				   &len);
	/* The transport refuses a reply longer than rep and the n pages. */
	if (!ret)
		ret = xpmem_client_reply_status(att->ap->node, &rep, len, len);
	if (!ret && !xpmem_fetch_reply_ok(&rep, len, first, n, idx))
		ret = xpmem_client_bad_reply(att->ap->node, "FETCH");
	if (!ret) {
		got = le32_to_cpu(rep.npages);
		writable = le32_to_cpu(rep.writable);
	}
	rfirst = got ? le64_to_cpu(rep.first) : first;

	mutex_lock(&rc->lock);
	list_del(&fw.link);
	/* A copy landing after the vma closed would never be freed. */
	keep = !att->dead && att->state == XPMEM_ATT_MAPPED;
	for (i = 0; i < n; i++) {
		j = rfirst + i;
		if (i < got && keep && !(fw.stale & BIT(j - first)) &&
		    !xa_load(&rc->pages, j) &&
		    !xa_err(xa_store(&rc->pages, j, pages[i],
				     GFP_KERNEL_ACCOUNT))) {
			if (writable & BIT(i))
				xa_set_mark(&rc->pages, j,
					    XPMEM_RC_OWNER_WRITABLE);
			xpmem_count_inc(XPMEM_CNT_REMOTE_COPIES);
			continue;
		}
		put_page(pages[i]);
	}
	if (!ret && (!keep || (fw.stale & BIT(idx - first))))
		ret = -EAGAIN;
	mutex_unlock(&rc->lock);
	trace_xpmem_fetch_done(att->ap->node, rc->id, first, ret ?: got);
	return ret;
}

static vm_fault_t xpmem_fetch_error(int err)
{
	return err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
}

/*
 * The fault when the core allows a retry: fetch with the attacher's
 * mmap_lock (or VMA lock) dropped, as filemap does for I/O, and return
 * VM_FAULT_RETRY; the retried fault maps the page from the cache, or
 * finds the owner's refusal in rc->errors.  A fault that may retry but
 * not wait (FAULT_FLAG_RETRY_NOWAIT) keeps the lock and fetches nothing.
 */
static vm_fault_t xpmem_client_fault_unlocked(struct vm_fault *vmf,
					      struct xpmem_att *att,
					      unsigned long idx)
{
	struct xpmem_rcache *rc = att->rc;
	int err;

	if (vmf->flags & FAULT_FLAG_RETRY_NOWAIT)
		return VM_FAULT_RETRY;
	kref_get(&att->kref);	/* the vma may go while the lock is dropped */
	xpmem_release_fault_lock(vmf);
	err = fatal_signal_pending(current) ? -EINTR :
	      xpmem_client_fetch(att, idx);
	/* The owner's answer for the page: for the retried fault. */
	if (err && err != -EAGAIN && err != -EINTR) {
		mutex_lock(&rc->lock);
		if (att->state == XPMEM_ATT_MAPPED)
			xa_store(&rc->errors, idx, xa_mk_value(-err),
				 GFP_KERNEL_ACCOUNT);
		mutex_unlock(&rc->lock);
	}
	xpmem_att_put(att);
	xpmem_count_inc(XPMEM_CNT_FAULT_RETRIES);
	return VM_FAULT_RETRY;
}

/*
 * A fault of a remote attachment.  Only the faulting page's own state
 * decides SIGBUS: the owner has no page there (or refuses it), or the
 * attachment is dead (owner fenced, segment or permit gone).  A fetch
 * that an invalidation or acquire of the page overtook is repeated, as
 * often as it takes: a fault waits, and a fatal signal ends the wait.
 */
vm_fault_t xpmem_client_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct xpmem_att *att = vma->vm_private_data;
	struct xpmem_rcache *rc = att->rc;
	unsigned long idx = (vmf->address - vma->vm_start) >> PAGE_SHIFT;
	struct page *page;
	void *err_entry;
	vm_fault_t ret;
	int err;

	might_sleep();
	xpmem_count_inc(XPMEM_CNT_FAULTS);
	for (;;) {
		if (READ_ONCE(att->dead))
			return VM_FAULT_SIGBUS;
		mutex_lock(&rc->lock);
		page = xa_load(&rc->pages, idx);
		if (page) {
			ret = xpmem_client_map_locked(vmf, page, idx);
			mutex_unlock(&rc->lock);
			xpmem_count_inc(XPMEM_CNT_FAULT_PAGES);
			return ret;
		}
		/* Only a retried fault takes it: a new one asks again. */
		err_entry = xa_erase(&rc->errors, idx);
		mutex_unlock(&rc->lock);
		if (err_entry && (vmf->flags & FAULT_FLAG_TRIED))
			return xpmem_fetch_error(-(int)xa_to_value(err_entry));
		if (vmf->flags & FAULT_FLAG_ALLOW_RETRY)
			return xpmem_client_fault_unlocked(vmf, att, idx);
		/* get_user_pages() and the like: fetch under the lock. */
		if (fatal_signal_pending(current))
			return VM_FAULT_SIGBUS;
		err = xpmem_client_fetch(att, idx);
		if (err && err != -EAGAIN)
			return xpmem_fetch_error(err);
	}
}

static struct xpmem_att *xpmem_client_lookup(u64 id)
{
	struct xpmem_att *att;

	if (!id || id > U32_MAX)
		return NULL;
	mutex_lock(&xpmem_client_lock);
	att = xa_load(&xpmem_client_atts, id);
	if (att && !kref_get_unless_zero(&att->kref))
		att = NULL;
	mutex_unlock(&xpmem_client_lock);
	return att;
}

/* One entry of an INVALIDATE: drop the copies of that attachment. */
static void xpmem_client_inval_entry(u16 src,
				     const struct xpmem_wire_inval_entry *e)
{
	struct xpmem_att *att = xpmem_client_lookup(le64_to_cpu(e->client_id));
	u64 first = le64_to_cpu(e->first), n = le64_to_cpu(e->npages);

	/* already detached: nothing cached */
	if (att && att->ap->node == src && first < att->npages) {
		mutex_lock(&att->rc->lock);
		xpmem_rcache_drop(att, first,
				  first + min(n, att->npages - first), 0);
		mutex_unlock(&att->rc->lock);
	}
	/* After the drop (docs/tracing.md): bench/trace.sh times it. */
	trace_xpmem_invalidate_serve(src, le64_to_cpu(e->client_id), first, n,
				     !!att);
	if (att)
		xpmem_att_put(att);
}

/*
 * INVALIDATE: the owner's node names every attachment of ours it
 * invalidates in one message.  The whole message is checked first: a
 * malformed one (count 0 or over the maximum, length not exactly the
 * entries, reserved bits set) is refused with -EINVAL and nothing done.
 */
static void xpmem_client_on_invalidate(struct xpmem_net_rx *rx)
{
	const struct xpmem_wire_invalidate *req = rx->payload;
	const struct xpmem_wire_inval_entry *e;
	struct xpmem_wire_status st = {};
	u32 i, n;

	xpmem_count_inc(XPMEM_CNT_REMOTE_INVALIDATES_RECEIVED);
	n = rx->len >= sizeof(*req) ? le32_to_cpu(req->nentries) : 0;
	if (!n || n > XPMEM_INVAL_MAX_ENTRIES || req->reserved ||
	    rx->len != sizeof(*req) + (size_t)n * sizeof(*e)) {
		st.status = cpu_to_le32(-EINVAL);
		goto reply;
	}
	e = (const void *)(req + 1);
	xpmem_delay_invalidate();
	for (i = 0; i < n; i++)
		xpmem_client_inval_entry(rx->src_node, &e[i]);
reply:
	xpmem_net_reply(rx, &st, sizeof(st));
}

static void xpmem_client_on_revoke(struct xpmem_net_rx *rx)
{
	const struct xpmem_wire_revoke *req = rx->payload;
	struct xpmem_wire_status st = {};
	struct xpmem_att *att = NULL;

	if (rx->len >= sizeof(*req))
		att = xpmem_client_lookup(le64_to_cpu(req->client_id));
	if (att && att->ap->node == rx->src_node)
		xpmem_client_kill(att, -EIDRM);
	if (att)
		xpmem_att_put(att);
	xpmem_net_reply(rx, &st, sizeof(st));
}

/*
 * xpmem_sync(ACQUIRE): forget every copy of [first, end) of @att, after
 * releasing this node's changes there (so they are not lost).
 */
int xpmem_client_acquire(struct xpmem_att *att, unsigned long first,
			 unsigned long end)
{
	int ret = xpmem_client_release_range(att, first, end);

	mutex_lock(&att->rc->lock);
	xpmem_rcache_drop(att, first, end, 0);
	mutex_unlock(&att->rc->lock);
	return ret;
}

/* A fenced node: its segments' attachments fail, its copies go away. */
static void xpmem_client_fence(u16 node)
{
	struct xpmem_att *att;
	unsigned long id;

	xa_for_each(&xpmem_client_atts, id, att) {
		att = xpmem_client_lookup(id);
		if (!att)
			continue;
		if (att->ap->node == node)
			xpmem_client_kill(att, -EHOSTDOWN);
		xpmem_att_put(att);
	}
}

static void xpmem_remote_fence(u16 node)
{
	xpmem_client_fence(node);
	xpmem_home_fence(node);
}

int xpmem_client_init(void)
{
	xpmem_client_wq = alloc_workqueue("xpmem_close", WQ_UNBOUND, 0);
	if (!xpmem_client_wq)
		return -ENOMEM;
	xpmem_net_register(XPMEM_MSG_INVALIDATE, xpmem_client_on_invalidate);
	xpmem_net_register(XPMEM_MSG_REVOKE, xpmem_client_on_revoke);
	xpmem_net_set_fence_cb(xpmem_remote_fence);
	return 0;
}

void xpmem_client_exit(void)
{
	destroy_workqueue(xpmem_client_wq);
	WARN_ON(!xa_empty(&xpmem_client_atts));
}
