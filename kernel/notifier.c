// SPDX-License-Identifier: GPL-2.0
/*
 * The MMU notifier on the owner's mm: attachers are secondary MMUs of the
 * owner's page tables.  Before the owner's mapping of a page changes,
 * every attacher's PTE for it is zapped.
 *
 * Zapping an attacher's PTEs runs mmu_notifier_invalidate_range_start()
 * on the attacher's mm.  Doing that from inside this callback would nest
 * one invalidation in another (lockdep reports it as recursion on
 * __mmu_notifier_invalidate_range_start_map), so the zap runs on a
 * workqueue while the callback sleeps; this is also the shape of a
 * remote invalidation, which waits for an acknowledgement.
 */
#include <linux/completion.h>
#include <linux/mm.h>
#include <linux/workqueue.h>

#include "xpmem_internal.h"
#include "xpmem_trace.h"

static struct workqueue_struct *xpmem_zap_wq;

struct xpmem_zap_work {
	struct work_struct work;
	struct completion done;
	struct xpmem_seg *seg;
	struct xpmem_att *only;		/* zap just this one, or NULL */
	unsigned long start, last;	/* segment offsets, inclusive */
	struct xpmem_inval_wait remote;
};

static void xpmem_zap_att(struct xpmem_att *att, unsigned long start,
			  unsigned long last)
{
	unsigned long first_pg = max(start, att->offset) >> PAGE_SHIFT;
	unsigned long last_pg = min(last, xpmem_att_last(att)) >> PAGE_SHIFT;
	unsigned long pgoff = att->pgoff + first_pg - (att->offset >> PAGE_SHIFT);

	unmap_mapping_range(att->mapping, (loff_t)pgoff << PAGE_SHIFT,
			    (loff_t)(last_pg - first_pg + 1) << PAGE_SHIFT, 1);
	xpmem_count_inc(XPMEM_CNT_ZAPPED_ATTACHMENTS);
}

/*
 * Runs while the requester sleeps holding seg->lock, so the tree is
 * stable; it takes no lock of ours.
 */
static void xpmem_zap_workfn(struct work_struct *work)
{
	struct xpmem_zap_work *zw = container_of(work, struct xpmem_zap_work,
						 work);
	struct interval_tree_node *it;

	trace_xpmem_zap_work(zw->seg->segid);
	if (zw->only) {
		xpmem_zap_att(zw->only, zw->start, zw->last);
	} else {
		for (it = interval_tree_iter_first(&zw->seg->atts, zw->start,
						   zw->last);
		     it; it = interval_tree_iter_next(it, zw->start, zw->last))
			xpmem_zap_att(container_of(it, struct xpmem_att, it),
				      zw->start, zw->last);
		/* Copies on other nodes: INVALIDATE and wait for the acks. */
		xpmem_home_invalidate(zw->seg, zw->start, zw->last,
				      &zw->remote);
	}
	complete(&zw->done);
}

/* Is [start, last] of @seg mapped by an attacher here or elsewhere? */
static bool xpmem_seg_mapped_locked(struct xpmem_seg *seg, unsigned long start,
				    unsigned long last)
{
	return interval_tree_iter_first(&seg->atts, start, last) ||
	       xpmem_home_has_copies(seg, start, last);
}

/* True in our own zap worker: the range being invalidated is xpmem vmas. */
static bool xpmem_in_zap_worker(void)
{
	struct work_struct *work = current_work();

	return work && work->func == xpmem_zap_workfn;
}

/*
 * Zaps every mapped attachment of @seg overlapping segment offsets
 * [start, last] (or only @only) and returns when their PTEs are gone.
 */
void xpmem_seg_zap_locked(struct xpmem_seg *seg, unsigned long start,
			  unsigned long last, struct xpmem_att *only)
{
	struct xpmem_zap_work zw = {
		.seg = seg, .only = only, .start = start, .last = last,
	};

	lockdep_assert_held(&seg->lock);
	might_sleep();
	if (!only && !xpmem_seg_mapped_locked(seg, start, last))
		return;

	trace_xpmem_zap_start(seg->segid, start, last);
	INIT_WORK_ONSTACK(&zw.work, xpmem_zap_workfn);
	init_completion(&zw.done);
	xpmem_home_invalidate_init(&zw.remote);
	queue_work(xpmem_zap_wq, &zw.work);
	/* Not flush_work(): lockdep would see the worker's notifier map. */
	if (wait_for_completion_killable(&zw.done)) {
		/*
		 * Killed: the local zap is quick and still awaited, but no
		 * ack from another node is: whoever has not answered is
		 * fenced, and no more INVALIDATE is sent.
		 */
		do {
			xpmem_home_invalidate_abort(&zw.remote);
		} while (!wait_for_completion_timeout(&zw.done, HZ / 20));
	}
	destroy_work_on_stack(&zw.work);
	trace_xpmem_zap_done(seg->segid);
}

static bool xpmem_seg_invalidate(struct mmu_interval_notifier *mni,
				 const struct mmu_notifier_range *range,
				 unsigned long cur_seq)
{
	struct xpmem_seg *seg = container_of(mni, struct xpmem_seg, notifier);
	bool blockable = mmu_notifier_range_blockable(range);
	unsigned long start, last;

	/*
	 * Nested in our own zap of this mm's xpmem vmas: nobody can have
	 * mapped pages from there (faults refuse VM_PFNMAP owners), and
	 * taking seg->lock here could wait on a zap queued behind us.
	 */
	if (xpmem_in_zap_worker())
		return true;

	if (blockable)
		mutex_lock(&seg->lock);
	else if (!mutex_trylock(&seg->lock))
		return false;
	mmu_interval_set_seq(mni, cur_seq);

	start = max(range->start, seg->vaddr) - seg->vaddr;
	last = min(range->end, seg->vaddr + seg->size) - seg->vaddr - 1;
	if (!xpmem_seg_mapped_locked(seg, start, last))
		goto out;
	if (!blockable) {
		mutex_unlock(&seg->lock);
		xpmem_count_inc(XPMEM_CNT_NONBLOCK_REFUSED);
		return false;
	}
	xpmem_count_inc(XPMEM_CNT_INVALIDATIONS);
	xpmem_seg_zap_locked(seg, start, last, NULL);
out:
	mutex_unlock(&seg->lock);
	return true;
}

const struct mmu_interval_notifier_ops xpmem_seg_notifier_ops = {
	.invalidate = xpmem_seg_invalidate,
};

int xpmem_notifier_init(void)
{
	/* Reclaim may wait on a zap: the queue needs a rescuer. */
	xpmem_zap_wq = alloc_workqueue("xpmem_zap",
				       WQ_MEM_RECLAIM | WQ_UNBOUND, 0);
	return xpmem_zap_wq ? 0 : -ENOMEM;
}

void xpmem_notifier_exit(void)
{
	destroy_workqueue(xpmem_zap_wq);
}
