// SPDX-License-Identifier: GPL-2.0
/*
 * Writes to copies of another node's pages (home-based release
 * consistency, docs/data-model.md).
 *
 * A copy is mapped read-only first.  The first write to it makes a twin,
 * a copy of the page as fetched, and maps the page writable.  At release
 * (xpmem_sync RELEASE or ACQUIRE, detach) the PTEs of the range are
 * zapped, so that later writes start a new twin, and each written page is
 * compared with its twin: the changed bytes go to the owner as runs in one
 * WRITEBACK message per page.  Bytes that the owner or other nodes wrote
 * meanwhile are not overwritten, so disjoint writes all survive.
 *
 * An invalidation of a written page keeps the page and its twin on the
 * dirty list, for the next release.  No lock is held over the network.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "xpmem_internal.h"
#include "transport.h"
#include "wire.h"

struct xpmem_dirty {
	struct list_head link;
	unsigned long idx;
	struct page *page;
	struct page *twin;
};

/* A page's diff, ready to send. */
struct xpmem_diff {
	struct list_head link;
	size_t len;
	struct xpmem_wire_writeback msg;	/* followed by the runs */
};

/* Worst case: every other byte changed, a run header per byte. */
#define XPMEM_DIFF_MAX	(sizeof(struct xpmem_diff) + \
			 (PAGE_SIZE / 2) * (sizeof(struct xpmem_wire_run) + 1))

static int xpmem_twin_make_locked(struct xpmem_rcache *rc, unsigned long idx,
				  struct page *page)
{
	struct page *twin;

	lockdep_assert_held(&rc->lock);
	if (xa_load(&rc->twins, idx))
		return 0;
	twin = alloc_page(GFP_HIGHUSER);
	if (!twin)
		return -ENOMEM;
	copy_highpage(twin, page);
	if (xa_err(xa_store(&rc->twins, idx, twin, GFP_KERNEL))) {
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
	struct xpmem_dirty *d = kmalloc(sizeof(*d), GFP_KERNEL);

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

void xpmem_client_discard_dirty_locked(struct xpmem_rcache *rc)
{
	struct xpmem_dirty *d, *tmp;

	lockdep_assert_held(&rc->lock);
	list_for_each_entry_safe(d, tmp, &rc->dirty, link)
		xpmem_dirty_free(d);
}

/* Encodes the bytes of @page that differ from @twin; NULL if none. */
static struct xpmem_diff *xpmem_diff_make(struct xpmem_rcache *rc,
					  unsigned long idx, struct page *page,
					  struct page *twin)
{
	const u8 *now = kmap_local_page(page);
	const u8 *old = kmap_local_page(twin);
	struct xpmem_diff *diff = kvmalloc(XPMEM_DIFF_MAX, GFP_KERNEL);
	u8 *out = (u8 *)(&diff->msg + 1);
	unsigned int off = 0, start, nruns = 0;

	while (diff && off < PAGE_SIZE) {
		struct xpmem_wire_run *run = (void *)out;

		if (now[off] == old[off]) {
			off++;
			continue;
		}
		for (start = off; off < PAGE_SIZE && now[off] != old[off];)
			off++;
		run->offset = cpu_to_le16(start);
		run->len = cpu_to_le16(off - start);
		memcpy(run + 1, now + start, off - start);
		out += sizeof(*run) + off - start;
		nruns++;
	}
	kunmap_local(old);
	kunmap_local(now);
	if (!diff || !nruns) {
		kvfree(diff);
		return NULL;
	}
	diff->msg.ratt_id = cpu_to_le64(rc->ratt_id);
	diff->msg.page = cpu_to_le64(idx);
	diff->msg.nruns = cpu_to_le32(nruns);
	diff->msg.reserved = 0;
	diff->len = out - (u8 *)&diff->msg;
	return diff;
}

/*
 * Writes this node's changes in pages [first, end) back to the owner and
 * returns when the owner has applied them (0) or with the first error.
 */
int xpmem_client_release_range(struct xpmem_att *att, unsigned long first,
			       unsigned long end)
{
	struct xpmem_rcache *rc = att->rc;
	struct xpmem_dirty *d, *dtmp;
	struct xpmem_diff *diff, *tmp;
	struct xpmem_wire_status st;
	struct page *twin;
	unsigned long idx;
	LIST_HEAD(diffs);
	size_t len;
	int ret = 0, err;

	might_sleep();
	mutex_lock(&rc->lock);
	/* Writers fault again and start new twins after the diffs. */
	xpmem_client_zap_locked(att, first, end);
	xa_for_each_range(&rc->twins, idx, twin, first, end - 1) {
		diff = xpmem_diff_make(rc, idx, xa_load(&rc->pages, idx),
				       twin);
		if (diff)
			list_add_tail(&diff->link, &diffs);
		xa_erase(&rc->twins, idx);
		put_page(twin);
		xpmem_count_dec(XPMEM_CNT_REMOTE_TWINS);
	}
	list_for_each_entry_safe(d, dtmp, &rc->dirty, link) {
		if (d->idx < first || d->idx >= end)
			continue;
		diff = xpmem_diff_make(rc, d->idx, d->page, d->twin);
		if (diff)
			list_add_tail(&diff->link, &diffs);
		xpmem_dirty_free(d);
	}
	mutex_unlock(&rc->lock);

	list_for_each_entry_safe(diff, tmp, &diffs, link) {
		err = xpmem_net_call(att->ap->node, XPMEM_MSG_WRITEBACK,
				     &diff->msg, diff->len, &st, sizeof(st),
				     &len);
		if (!err)
			err = len < sizeof(st) ? -EPROTO :
			      (int)le32_to_cpu(st.status);
		if (err && !ret)
			ret = err;
		list_del(&diff->link);
		kvfree(diff);
	}
	return ret;
}
