// SPDX-License-Identifier: GPL-2.0
/*
 * Segments: ranges of an owner's address space exported by xpmem_make.
 *
 * A segment id is positive, names the owner node and carries random bits
 * that every lookup checks, so ids cannot be guessed from a pid or a
 * counter.  The slot bits index a node-wide table.
 */
#include <linux/proc_fs.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "xpmem_internal.h"
#include "transport.h"

#define XPMEM_SLOT_MASK		((1U << XPMEM_SEGID_SLOT_BITS) - 1)
#define XPMEM_RAND_MASK		((1U << XPMEM_SEGID_RAND_BITS) - 1)

static DEFINE_XARRAY_ALLOC1(xpmem_segs);

static s64 xpmem_make_segid(u32 slot)
{
	u64 rnd = (get_random_u32() & XPMEM_RAND_MASK) | 1;
	u64 node = xpmem_net_local_node();

	return (s64)((node << XPMEM_SEGID_NODE_SHIFT) |
		     (rnd << XPMEM_SEGID_RAND_SHIFT) | slot);
}

/* The owner node named by @segid; 0 for this node. */
u16 xpmem_segid_node(s64 segid)
{
	u16 node = (u64)segid >> XPMEM_SEGID_NODE_SHIFT;

	return node == xpmem_net_local_node() ? 0 : node;
}

struct xpmem_seg *xpmem_seg_lookup(s64 segid)
{
	struct xpmem_seg *seg;

	/* Ids made before the node id was set carry node 0. */
	if (segid <= 0 || xpmem_segid_node(segid))
		return NULL;

	rcu_read_lock();
	seg = xa_load(&xpmem_segs, segid & XPMEM_SLOT_MASK);
	if (seg && (READ_ONCE(seg->segid) != segid ||
		    !kref_get_unless_zero(&seg->kref)))
		seg = NULL;
	rcu_read_unlock();
	return seg;
}

static void xpmem_seg_free(struct kref *kref)
{
	struct xpmem_seg *seg = container_of(kref, struct xpmem_seg, kref);

	WARN_ON(!list_empty(&seg->aps));
	WARN_ON(!RB_EMPTY_ROOT(&seg->atts.rb_root));
	mmdrop(seg->mm);
	kfree_rcu(seg, rcu);
	xpmem_count_dec(XPMEM_CNT_SEGMENTS);
}

void xpmem_seg_put(struct xpmem_seg *seg)
{
	kref_put(&seg->kref, xpmem_seg_free);
}

int xpmem_ioctl_make(struct xpmem_ctx *ctx, void __user *arg)
{
	struct xpmem_cmd_make cmd;
	struct xpmem_seg *seg;
	unsigned long vaddr, size;
	u32 slot;
	int ret;

	if (copy_from_user(&cmd, arg, sizeof(cmd)))
		return -EFAULT;
	if (cmd.permit_type != XPMEM_UAPI_PERMIT_MODE ||
	    cmd.permit_mode & ~0777U)
		return -EINVAL;

	vaddr = cmd.vaddr;
	if (cmd.vaddr != vaddr || offset_in_page(vaddr) || vaddr >= TASK_SIZE)
		return -EINVAL;
	/* XPMEM_MAXADDR_SIZE: everything from vaddr to the top (Open MPI) */
	size = cmd.size == U64_MAX ? TASK_SIZE - vaddr : cmd.size;
	if (cmd.size != U64_MAX && cmd.size != size)
		return -EINVAL;
	if (!size || offset_in_page(size) || size > TASK_SIZE - vaddr)
		return -EINVAL;

	seg = kzalloc(sizeof(*seg), GFP_KERNEL);
	if (!seg)
		return -ENOMEM;
	kref_init(&seg->kref);
	mutex_init(&seg->lock);
	INIT_LIST_HEAD(&seg->aps);
	INIT_LIST_HEAD(&seg->raps);
	seg->ratts = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&seg->ctx_link);
	seg->atts = RB_ROOT_CACHED;
	seg->owner = ctx;
	seg->vaddr = vaddr;
	seg->size = size;
	seg->mode = cmd.permit_mode;
	seg->uid = current_euid();
	seg->gid = current_egid();
	seg->pid = task_tgid_nr(current);
	seg->state = XPMEM_SEG_LIVE;
	mmgrab(ctx->mm);
	seg->mm = ctx->mm;
	xpmem_count_inc(XPMEM_CNT_SEGMENTS);

	ret = mmu_interval_notifier_insert(&seg->notifier, ctx->mm, vaddr,
					   size, &xpmem_seg_notifier_ops);
	if (ret)
		goto err_put;

	/* Reserve the slot first so that no lookup sees a half-made id. */
	ret = xa_alloc(&xpmem_segs, &slot, NULL,
		       XA_LIMIT(1, XPMEM_SLOT_MASK), GFP_KERNEL);
	if (ret)
		goto err_notifier;
	seg->slot = slot;
	seg->segid = xpmem_make_segid(slot);
	xa_store(&xpmem_segs, slot, seg, GFP_KERNEL);

	mutex_lock(&ctx->lock);
	list_add_tail(&seg->ctx_link, &ctx->segs);
	mutex_unlock(&ctx->lock);
	xpmem_count_inc(XPMEM_CNT_MAKES);

	cmd.segid = seg->segid;
	if (copy_to_user(arg, &cmd, sizeof(cmd))) {
		mutex_lock(&ctx->lock);
		list_del_init(&seg->ctx_link);
		mutex_unlock(&ctx->lock);
		xpmem_seg_destroy(seg);
		return -EFAULT;
	}
	return 0;

err_notifier:
	mmu_interval_notifier_remove(&seg->notifier);
err_put:
	xpmem_seg_put(seg);
	return ret;
}

/*
 * Ends a segment: no new lookups, every permit and attachment revoked and
 * every attacher's PTE gone before this returns.  Called exactly once,
 * by whoever took the segment off its context's list.
 */
void xpmem_seg_destroy(struct xpmem_seg *seg)
{
	struct xpmem_ap *ap;

	might_sleep();
	xa_erase(&xpmem_segs, seg->slot);

	mutex_lock(&seg->lock);
	seg->state = XPMEM_SEG_REMOVED;
	list_for_each_entry(ap, &seg->aps, seg_link)
		xpmem_ap_revoke_locked(ap);
	xpmem_seg_zap_locked(seg, 0, seg->size - 1, NULL);
	mutex_unlock(&seg->lock);
	xpmem_home_seg_destroy(seg);

	/* Waits for a running invalidation; so never under seg->lock. */
	mmu_interval_notifier_remove(&seg->notifier);
	xpmem_seg_put(seg);
}

int xpmem_ioctl_remove(struct xpmem_ctx *ctx, void __user *arg)
{
	struct xpmem_cmd_remove cmd;
	struct xpmem_seg *seg;
	bool mine = false;

	if (copy_from_user(&cmd, arg, sizeof(cmd)))
		return -EFAULT;
	seg = xpmem_seg_lookup(cmd.segid);
	if (!seg)
		return -ENOENT;
	if (seg->owner != ctx) {
		xpmem_seg_put(seg);
		return -EPERM;
	}

	mutex_lock(&ctx->lock);
	if (!list_empty(&seg->ctx_link)) {
		list_del_init(&seg->ctx_link);
		mine = true;
	}
	mutex_unlock(&ctx->lock);
	if (mine)
		xpmem_seg_destroy(seg);
	xpmem_seg_put(seg);
	return mine ? 0 : -ENOENT;
}

static unsigned int xpmem_rb_count(struct rb_root_cached *root)
{
	struct rb_node *n;
	unsigned int count = 0;

	for (n = rb_first_cached(root); n; n = rb_next(n))
		count++;
	return count;
}

static unsigned int xpmem_list_count(struct list_head *head)
{
	struct list_head *pos;
	unsigned int count = 0;

	list_for_each(pos, head)
		count++;
	return count;
}

/*
 * /proc/xpmem/segments (root only: it names other users' segments), one
 * line per live segment, for xpmemd and admins.  Counts are taken under
 * each segment's lock, so a line is consistent in itself.
 */
static int xpmem_segments_show(struct seq_file *m, void *v)
{
	struct xpmem_seg *seg;
	unsigned long slot;

	rcu_read_lock();
	xa_for_each(&xpmem_segs, slot, seg) {
		if (!kref_get_unless_zero(&seg->kref))
			continue;
		rcu_read_unlock();

		mutex_lock(&seg->lock);
		seq_printf(m, "segid %#llx pid %d uid %u gid %u size %lu mode %#o",
			   (u64)seg->segid, seg->pid,
			   from_kuid_munged(&init_user_ns, seg->uid),
			   from_kgid_munged(&init_user_ns, seg->gid),
			   seg->size, seg->mode);
		seq_printf(m, " permits %u attachments %u remote_permits %u remote_attachments %u\n",
			   xpmem_list_count(&seg->aps),
			   xpmem_rb_count(&seg->atts),
			   xpmem_list_count(&seg->raps),
			   xpmem_rb_count(&seg->ratts));
		mutex_unlock(&seg->lock);

		xpmem_seg_put(seg);
		rcu_read_lock();
	}
	rcu_read_unlock();
	return 0;
}

int xpmem_segments_init(void)
{
	if (!proc_create_single("segments", 0400, xpmem_proc_dir(),
				xpmem_segments_show))
		return -ENOMEM;
	return 0;
}

void xpmem_segments_exit(void)
{
	remove_proc_entry("segments", xpmem_proc_dir());
	WARN_ON(!xa_empty(&xpmem_segs));
	xa_destroy(&xpmem_segs);
}
