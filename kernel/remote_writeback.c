// SPDX-License-Identifier: GPL-2.0
/*
 * Writes to copies of another node's pages (home-based release
 * consistency, docs/data-model.md).
 *
 * A copy is mapped read-only first.  The first write to it makes a twin,
 * a copy of the page as fetched, and maps the page writable.  At release
 * (xpmem_sync RELEASE or ACQUIRE, detach) the PTEs of the range are
 * zapped, so that later writes start a new twin, and each written page is
 * compared with its twin: the changed bytes go to the owner as runs, as
 * many pages per WRITEBACK message as fit.  Bytes that the owner or other
 * nodes wrote meanwhile are not overwritten, so disjoint writes all
 * survive.
 *
 * An invalidation of a written page keeps the page and its twin on the
 * dirty list, for the next release.  A page invalidated twice has two
 * entries, oldest first, and may have a twin again: a release sends the
 * dirty list in order before the twins, so the owner applies the diffs
 * of a page oldest first and the newest value of every byte wins.
 * Releases of one attachment are serialised (rc->wb_lock, held over the
 * network but never under mmap_lock or rc->lock), so that two threads'
 * releases reach the owner in the order they collected their diffs.
 *
 * Changes that are dropped without reaching the owner (its node fenced,
 * the segment revoked, no memory to keep them) set rc->wb_err; the next
 * release of the attachment returns it, once (as the page cache's
 * errseq reports a lost write-back).
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "diff.h"
#include "xpmem_internal.h"
#include "transport.h"
#include "wire.h"
#include "xpmem_trace.h"

struct xpmem_dirty {
	struct list_head link;
	unsigned long idx;
	struct page *page;
	struct page *twin;
};

/*
 * A WRITEBACK message being filled with the diffs of pages; the last one
 * on the list has room left.
 */
struct xpmem_wb_msg {
	struct list_head link;
	size_t len;		/* bytes of buf in use */
	/* The message: its header, then the pages.  A flexible array, so
	 * that FORTIFY_SOURCE knows the appends are not past a field.
	 */
	u8 buf[] __aligned(8);
};

static struct xpmem_wire_writeback *xpmem_wb_hdr(struct xpmem_wb_msg *m)
{
	return (void *)m->buf;
}

#define XPMEM_WB_MSG_SIZE (sizeof(struct xpmem_wb_msg) + XPMEM_NET_MAX_PAYLOAD)
static_assert(sizeof(struct xpmem_wire_writeback) + XPMEM_DIFF_MAX <=
	      XPMEM_NET_MAX_PAYLOAD);

static int xpmem_twin_make_locked(struct xpmem_rcache *rc, unsigned long idx,
				  struct page *page)
{
	struct page *twin;

	lockdep_assert_held(&rc->lock);
	if (xa_load(&rc->twins, idx))
		return 0;
	/* Made for the faulting task: charged to its memory cgroup. */
	twin = alloc_page(GFP_HIGHUSER | __GFP_ACCOUNT);
	if (!twin)
		return -ENOMEM;
	copy_highpage(twin, page);
	if (xa_err(xa_store(&rc->twins, idx, twin, GFP_KERNEL_ACCOUNT))) {
		put_page(twin);
		return -ENOMEM;
	}
	xpmem_count_inc(XPMEM_CNT_REMOTE_TWINS);
	return 0;
}

/*
 * Maps a cached copy: writable (with a twin) only for a write fault or
 * when it already has a twin.  The other cached pages of the fetch batch
 * around it are mapped too (prefault), read-only unless they have twins.
 * A store to a page the owner may not write (XPMEM_RC_OWNER_WRITABLE
 * unset) gets SIGBUS, as on a local attachment, and no twin.
 */
vm_fault_t xpmem_client_map_locked(struct vm_fault *vmf, struct page *page,
				   unsigned long idx)
{
	struct vm_area_struct *vma = vmf->vma;
	struct xpmem_att *att = vma->vm_private_data;
	struct xpmem_rcache *rc = att->rc;
	pgprot_t prot_rw = vm_get_page_prot(vma->vm_flags);
	unsigned long first, end, i;
	struct page *p;

	lockdep_assert_held(&rc->lock);
	xpmem_client_window(att, idx, &first, &end);
	if ((vmf->flags & FAULT_FLAG_WRITE) &&
	    !xa_get_mark(&rc->pages, idx, XPMEM_RC_OWNER_WRITABLE))
		return VM_FAULT_SIGBUS;
	if ((vmf->flags & FAULT_FLAG_WRITE) && att->writable &&
	    xpmem_twin_make_locked(rc, idx, page))
		return VM_FAULT_OOM;
	for (i = first; i < end; i++) {
		p = i == idx ? page : xa_load(&rc->pages, i);
		if (p && i != idx)
			vmf_insert_pfn_prot(vma, vma->vm_start + (i << PAGE_SHIFT),
					    page_to_pfn(p),
					    xa_load(&rc->twins, i) ? prot_rw :
					    vma->vm_page_prot);
	}
	return vmf_insert_pfn_prot(vma, vmf->address & PAGE_MASK,
				   page_to_pfn(page),
				   xa_load(&rc->twins, idx) ? prot_rw :
				   vma->vm_page_prot);
}

/* A write to a copy mapped read-only: make the twin, then let it write. */
vm_fault_t xpmem_client_pfn_mkwrite(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct xpmem_att *att = vma->vm_private_data;
	unsigned long idx = (vmf->address - vma->vm_start) >> PAGE_SHIFT;
	struct page *page;
	vm_fault_t ret = 0;

	if (!att->writable || READ_ONCE(att->dead))
		return VM_FAULT_SIGBUS;
	mutex_lock(&att->rc->lock);
	page = xa_load(&att->rc->pages, idx);
	if (!page)	/* invalidated meanwhile: fault it in again */
		ret = VM_FAULT_NOPAGE;
	else if (!xa_get_mark(&att->rc->pages, idx, XPMEM_RC_OWNER_WRITABLE))
		ret = VM_FAULT_SIGBUS;	/* the owner maps it read-only */
	else if (xpmem_twin_make_locked(att->rc, idx, page))
		ret = VM_FAULT_OOM;
	mutex_unlock(&att->rc->lock);
	xpmem_count_inc(XPMEM_CNT_MKWRITES);
	return ret;
}

/* Keeps an invalidated written page for the next release. */
bool xpmem_client_keep_dirty_locked(struct xpmem_rcache *rc, unsigned long idx,
				    struct page *page, struct page *twin)
{
	/* From an acquire or, uncharged, from the owner's INVALIDATE. */
	struct xpmem_dirty *d = kmalloc(sizeof(*d), GFP_KERNEL_ACCOUNT);

	if (!d)
		return false;	/* the caller drops the changes */
	d->idx = idx;
	d->page = page;
	d->twin = twin;
	list_add_tail(&d->link, &rc->dirty);
	return true;
}

static void xpmem_dirty_free(struct xpmem_dirty *d)
{
	put_page(d->twin);
	put_page(d->page);
	xpmem_count_dec(XPMEM_CNT_REMOTE_TWINS);
	xpmem_count_dec(XPMEM_CNT_REMOTE_COPIES);
	list_del(&d->link);
	kfree(d);
}

/* Whether @page differs from its @twin: whether dropping it loses bytes. */
static bool xpmem_page_changed(struct page *page, struct page *twin)
{
	const void *now = kmap_local_page(page);
	const void *old = kmap_local_page(twin);
	bool changed = memcmp(now, old, PAGE_SIZE);

	kunmap_local(old);
	kunmap_local(now);
	return changed;
}

/* Changes were dropped: the next release reports @err (the first one). */
static void xpmem_client_lost_locked(struct xpmem_rcache *rc, int err)
{
	lockdep_assert_held(&rc->lock);
	if (!rc->wb_err)
		rc->wb_err = err;
}

/* Drops the twin of a copy being dropped; written bytes lost are @err. */
void xpmem_client_drop_twin_locked(struct xpmem_rcache *rc, struct page *page,
				   struct page *twin, int err)
{
	lockdep_assert_held(&rc->lock);
	if (xpmem_page_changed(page, twin))
		xpmem_client_lost_locked(rc, err);
	put_page(twin);
	xpmem_count_dec(XPMEM_CNT_REMOTE_TWINS);
}

/* Drops the kept changes; the next release reports @err if there were any. */
void xpmem_client_discard_dirty_locked(struct xpmem_rcache *rc, int err)
{
	struct xpmem_dirty *d, *tmp;

	lockdep_assert_held(&rc->lock);
	list_for_each_entry_safe(d, tmp, &rc->dirty, link) {
		if (xpmem_page_changed(d->page, d->twin))
			xpmem_client_lost_locked(rc, err);
		xpmem_dirty_free(d);
	}
}

/*
 * The errno of a release whose WRITEBACK failed with @err, one of those
 * man 3 xpmem_sync lists: the owner's segment or process gone (the owner
 * says ENOENT or ESRCH) is EIDRM; a node that cannot be reached, EHOSTDOWN;
 * what no sound owner sends, EIO.
 */
static int xpmem_wb_errno(int err)
{
	switch (err) {
	case -EFAULT:
	case -EPERM:
	case -ENOMEM:
	case -EINTR:
	case -EPROTO:
	case -EHOSTDOWN:
	case -EIDRM:
		return err;
	case -ENOENT:
	case -ESRCH:
		return -EIDRM;
	case -ETIMEDOUT:
	case -ENOTCONN:
	case -ECONNRESET:
	case -ECONNREFUSED:
	case -ECONNABORTED:
	case -ENETUNREACH:
	case -EHOSTUNREACH:
		return -EHOSTDOWN;
	default:
		return -EIO;
	}
}

/* The diff of @page against @twin into @out (diff.h). */
static size_t xpmem_page_diff(unsigned long idx, struct page *page,
			      struct page *twin, u8 *out)
{
	const u8 *now = kmap_local_page(page);
	const u8 *old = kmap_local_page(twin);
	size_t len = xpmem_diff_make(idx, now, old, out);

	kunmap_local(old);
	kunmap_local(now);
	return len;
}

/*
 * Appends the diff of one page to the last message of @msgs, or to a new
 * one when it does not fit.  Returns -ENOMEM (that page's changes are
 * lost, as the caller reports).
 */
static int xpmem_wb_add(struct xpmem_rcache *rc, struct list_head *msgs,
			u8 **scratch, unsigned long idx, struct page *page,
			struct page *twin)
{
	struct xpmem_wb_msg *m;
	size_t len;

	/* Allocated at the first written page: most releases have none. */
	if (!*scratch)
		*scratch = kvmalloc(XPMEM_DIFF_MAX, GFP_KERNEL_ACCOUNT);
	if (!*scratch)
		return -ENOMEM;
	len = xpmem_page_diff(idx, page, twin, *scratch);
	if (!len)
		return 0;
	m = list_empty(msgs) ? NULL :
	    list_last_entry(msgs, struct xpmem_wb_msg, link);
	if (!m || m->len + len > XPMEM_NET_MAX_PAYLOAD) {
		m = kvmalloc(XPMEM_WB_MSG_SIZE, GFP_KERNEL_ACCOUNT);
		if (!m)
			return -ENOMEM;
		*xpmem_wb_hdr(m) = (struct xpmem_wire_writeback) {
			.ratt_id = cpu_to_le64(rc->ratt_id),
		};
		m->len = sizeof(struct xpmem_wire_writeback);
		list_add_tail(&m->link, msgs);
	}
	memcpy(m->buf + m->len, *scratch, len);
	m->len += len;
	le32_add_cpu(&xpmem_wb_hdr(m)->npages, 1);
	return 0;
}

/*
 * Writes this node's changes in pages [first, end) back to the owner and
 * returns when the owner has applied them (0) or with the first error;
 * an error of changes dropped earlier (rc->wb_err) comes first.
 */
int xpmem_client_release_range(struct xpmem_att *att, unsigned long first,
			       unsigned long end)
{
	struct xpmem_rcache *rc = att->rc;
	struct xpmem_dirty *d, *dtmp;
	struct xpmem_wb_msg *m, *tmp;
	struct xpmem_wire_status st;
	struct page *twin;
	unsigned long idx;
	LIST_HEAD(msgs);
	u8 *scratch = NULL;
	size_t len;
	int ret = 0, err;

	might_sleep();
	mutex_lock(&rc->wb_lock);
	mutex_lock(&rc->lock);
	ret = rc->wb_err;
	rc->wb_err = 0;
	/* Writers fault again and start new twins after the diffs. */
	xpmem_client_zap_locked(att, first, end);
	/* Kept changes are older than the twins: they go first, in order. */
	list_for_each_entry_safe(d, dtmp, &rc->dirty, link) {
		if (d->idx < first || d->idx >= end)
			continue;
		err = xpmem_wb_add(rc, &msgs, &scratch, d->idx, d->page,
				   d->twin);
		if (err && !ret)
			ret = err;
		xpmem_dirty_free(d);
	}
	xa_for_each_range(&rc->twins, idx, twin, first, end - 1) {
		err = xpmem_wb_add(rc, &msgs, &scratch, idx,
				   xa_load(&rc->pages, idx), twin);
		if (err && !ret)
			ret = err;
		xa_erase(&rc->twins, idx);
		put_page(twin);
		xpmem_count_dec(XPMEM_CNT_REMOTE_TWINS);
	}
	mutex_unlock(&rc->lock);
	kvfree(scratch);

	list_for_each_entry_safe(m, tmp, &msgs, link) {
		/*
		 * -EAGAIN: the owner gave up on a page that invalidations
		 * kept moving.  Send it again (what was applied is applied
		 * again, the same bytes) until it lands or we are killed.
		 */
		do {
			err = xpmem_net_call(att->ap->node, XPMEM_MSG_WRITEBACK,
					     m->buf, m->len, &st, sizeof(st),
					     &len);
			if (!err)
				err = xpmem_client_reply_status(att->ap->node,
								&st, len,
								sizeof(st));
			trace_xpmem_writeback(att->ap->node, rc->id,
					      le32_to_cpu(xpmem_wb_hdr(m)->npages),
					      m->len, err);
		} while (err == -EAGAIN && !fatal_signal_pending(current));
		if (err && !ret)
			ret = xpmem_wb_errno(err);
		list_del(&m->link);
		kvfree(m);
	}
	mutex_unlock(&rc->wb_lock);
	return ret;
}
