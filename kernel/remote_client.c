// SPDX-License-Identifier: GPL-2.0
/*
 * The attacher's side of cross-node segments.
 *
 * A permit for a segment owned by another node asks the owner (GET); an
 * attachment of it registers with the owner (ATTACH) and keeps a cache of
 * page copies.  A fault fetches a batch of pages (FETCH) into the cache
 * and maps them.  The owner's INVALIDATE drops copies (PTEs first) before
 * it is acknowledged; xpmem_sync(ACQUIRE) drops them too, so that the next
 * access reads the owner's current data (docs/data-model.md).
 *
 * Locks: the global xpmem_client_lock protects the attachment table and
 * remote permits' lists; each attachment's cache has its own mutex, taken
 * after mmap_lock.  Neither is taken from an MMU notifier.
 *
 * What a local task makes this node hold (permits, caches, page copies,
 * twins) is charged to its memory cgroup (__GFP_ACCOUNT).  Every reply of
 * an owner is checked before it is used (xpmem_client_reply_status()).
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "xpmem_internal.h"
#include "transport.h"
#include "wire.h"

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
 * Changes not yet released are kept for the next release if @keep_dirty
 * (the owner's page moved or went away; the write-back finds the page
 * at the owner's address then), discarded otherwise.
 */
static void xpmem_rcache_drop(struct xpmem_att *att, unsigned long first,
			      unsigned long end, bool keep_dirty)
{
	struct xpmem_rcache *rc = att->rc;
	struct page *page, *twin;
	unsigned long idx;

	lockdep_assert_held(&rc->lock);
	rc->gen++;
	xpmem_client_zap_locked(att, first, end);
	xa_for_each_range(&rc->pages, idx, page, first, end - 1) {
		xa_erase(&rc->pages, idx);
		twin = xa_erase(&rc->twins, idx);
		if (twin && keep_dirty &&
		    xpmem_client_keep_dirty_locked(rc, idx, page, twin))
			continue;
		if (twin) {
			put_page(twin);
			xpmem_count_dec(XPMEM_CNT_REMOTE_TWINS);
		}
		put_page(page);
		xpmem_count_dec(XPMEM_CNT_REMOTE_COPIES);
	}
}

/* The owner revoked the attachment or was fenced: SIGBUS from now on. */
static void xpmem_client_kill(struct xpmem_att *att)
{
	mutex_lock(&att->rc->lock);
	WRITE_ONCE(att->dead, true);
	xpmem_rcache_drop(att, 0, att->npages, false);
	xpmem_client_discard_dirty_locked(att->rc);
	mutex_unlock(&att->rc->lock);
}

void xpmem_client_release(struct xpmem_ap *ap)
{
	struct xpmem_wire_release rel = { .rap_id = cpu_to_le64(ap->rap_id) };
	struct xpmem_wire_status st;
	struct xpmem_att *att;
	size_t len;

	mutex_lock(&xpmem_client_lock);
	ap->revoked = true;
	list_for_each_entry(att, &ap->atts, ap_link)
		if (att->state != XPMEM_ATT_GONE)
			xpmem_client_kill(att);
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
	xa_init_flags(&rc->pages, XA_FLAGS_ACCOUNT);
	xa_init_flags(&rc->twins, XA_FLAGS_ACCOUNT);
	INIT_LIST_HEAD(&rc->dirty);
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

/* The attachment's last vma is gone (or it never got one). */
void xpmem_client_unlink(struct xpmem_att *att)
{
	struct xpmem_rcache *rc = att->rc;
	struct xpmem_wire_detach det = { .ratt_id = cpu_to_le64(rc->ratt_id) };
	struct xpmem_wire_status st;
	bool was_mapped;
	size_t len;

	/* Detach implies release. */
	if (!READ_ONCE(att->dead))
		xpmem_client_release_range(att, 0, att->npages);

	mutex_lock(&xpmem_client_lock);
	xa_erase(&xpmem_client_atts, rc->id);
	list_del_init(&att->ap_link);
	mutex_unlock(&xpmem_client_lock);

	mutex_lock(&rc->lock);
	was_mapped = att->state == XPMEM_ATT_MAPPED;
	att->state = XPMEM_ATT_GONE;
	xpmem_rcache_drop(att, 0, att->npages, false);
	xpmem_client_discard_dirty_locked(rc);
	mutex_unlock(&rc->lock);

	if (!READ_ONCE(att->dead))
		xpmem_net_call(att->ap->node, XPMEM_MSG_DETACH, &det,
			       sizeof(det), &st, sizeof(st), &len);
	xpmem_pgoff_unreserve(att);
	if (was_mapped) {
		xpmem_count_dec(XPMEM_CNT_ATTACHMENTS);
		xpmem_count_add(XPMEM_CNT_ATTACHED_PAGES, -(long)att->npages);
	}
}

void xpmem_client_free(struct xpmem_att *att)
{
	if (att->rc) {
		xa_destroy(&att->rc->pages);
		xa_destroy(&att->rc->twins);
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
 * Fetches pages [first, first + n) from the owner into the cache: the
 * number fetched (the owner may send fewer, at the end of its mapping),
 * -EAGAIN if an invalidation raced, or an errno.
 */
static int xpmem_client_fetch(struct xpmem_att *att, unsigned long first,
			      unsigned int n)
{
	struct xpmem_rcache *rc = att->rc;
	struct xpmem_wire_fetch req = {
		.ratt_id = cpu_to_le64(rc->ratt_id),
		.first = cpu_to_le64(first),
		.npages = cpu_to_le32(n),
	};
	struct xpmem_wire_fetch_reply *rep;
	size_t max = sizeof(*rep) + ((size_t)n << PAGE_SHIFT), len;
	struct page *pages[XPMEM_FETCH_MAX_PAGES];
	unsigned int i, got = 0;
	unsigned long gen;
	int ret;

	might_sleep();
	rep = kvmalloc(max, GFP_KERNEL_ACCOUNT);
	if (!rep)
		return -ENOMEM;
	mutex_lock(&rc->lock);
	gen = rc->gen;
	mutex_unlock(&rc->lock);

	xpmem_count_inc(XPMEM_CNT_REMOTE_FETCHES);
	ret = xpmem_net_call(att->ap->node, XPMEM_MSG_FETCH, &req, sizeof(req),
			     rep, max, &len);
	if (ret)
		goto out;
	/* len <= max: the transport refuses a longer reply (-EMSGSIZE). */
	ret = xpmem_client_reply_status(att->ap->node, rep, len, len);
	if (ret)
		goto out;
	got = len < sizeof(*rep) ? 0 : le32_to_cpu(rep->npages);
	if (!got || got > n ||
	    len != sizeof(*rep) + ((size_t)got << PAGE_SHIFT)) {
		ret = xpmem_client_bad_reply(att->ap->node, "FETCH");
		goto out;
	}

	ret = -ENOMEM;
	for (i = 0; i < got; i++) {
		pages[i] = alloc_page(GFP_HIGHUSER | __GFP_ACCOUNT);
		if (!pages[i])
			break;
		memcpy_to_page(pages[i], 0,
			       (void *)(rep + 1) + ((size_t)i << PAGE_SHIFT),
			       PAGE_SIZE);
	}
	got = i;
	if (!got)
		goto out;

	mutex_lock(&rc->lock);
	/* An invalidation raced with the fetch: the data may be stale. */
	ret = rc->gen == gen && !att->dead ? 0 : -EAGAIN;
	for (i = 0; i < got; i++) {
		if (!ret && !xa_load(&rc->pages, first + i) &&
		    !xa_err(xa_store(&rc->pages, first + i, pages[i],
				     GFP_KERNEL_ACCOUNT))) {
			xpmem_count_inc(XPMEM_CNT_REMOTE_COPIES);
			continue;
		}
		put_page(pages[i]);
	}
	mutex_unlock(&rc->lock);
	if (!ret)
		ret = got;
out:
	kvfree(rep);
	return ret;
}

vm_fault_t xpmem_client_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct xpmem_att *att = vma->vm_private_data;
	struct xpmem_rcache *rc = att->rc;
	unsigned long idx = (vmf->address - vma->vm_start) >> PAGE_SHIFT;
	unsigned long first, end;
	struct page *page;
	vm_fault_t ret;
	int tries, err = 0;

	xpmem_count_inc(XPMEM_CNT_FAULTS);
	xpmem_client_window(att, idx, &first, &end);
	for (tries = 0; tries < 8; tries++) {
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
		mutex_unlock(&rc->lock);
		err = xpmem_client_fetch(att, first, end - first);
		if (err == -EAGAIN)
			continue;
		if (err > 0 && idx < first + err)
			continue;
		/*
		 * The window around the page failed, or ended before it (the
		 * owner's mapping there changes): fetch from the page on.
		 */
		if (first == idx || err == -ENOMEM)
			break;
		first = idx;
	}
	return err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
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

	if (!att)	/* already detached: nothing cached */
		return;
	if (att->ap->node == src && first < att->npages) {
		n = min(n, att->npages - first);
		mutex_lock(&att->rc->lock);
		xpmem_rcache_drop(att, first, first + n, true);
		mutex_unlock(&att->rc->lock);
	}
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
		xpmem_client_kill(att);
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
	xpmem_rcache_drop(att, first, end, true);
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
			xpmem_client_kill(att);
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
	xpmem_net_register(XPMEM_MSG_INVALIDATE, xpmem_client_on_invalidate);
	xpmem_net_register(XPMEM_MSG_REVOKE, xpmem_client_on_revoke);
	xpmem_net_set_fence_cb(xpmem_remote_fence);
	return 0;
}

void xpmem_client_exit(void)
{
	WARN_ON(!xa_empty(&xpmem_client_atts));
}
