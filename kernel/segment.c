// SPDX-License-Identifier: GPL-2.0
/*
 * Segments: ranges of an owner's address space exported by xpmem_make.
 *
 * A segment id is positive and names the owner node in its top bits; the
 * 48 bits below are drawn at random for each segment (redrawn until the
 * id is unused), so nothing in an id tells another: an id can only be
 * learnt from its owner.  Lookups go through a hash table keyed by the
 * whole id, under RCU.
 */
#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/proc_fs.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>

#include "xpmem_internal.h"
#include "transport.h"

#define XPMEM_RAND_MASK		((1ULL << XPMEM_SEGID_RAND_BITS) - 1)
#define XPMEM_SEG_HASH_BITS	12

/* Live segments by id; readers under RCU, writers under xpmem_segs_lock. */
static DEFINE_HASHTABLE(xpmem_seg_hash, XPMEM_SEG_HASH_BITS);
/* Hash insert/delete; held across the /proc/xpmem/segments listing. */
static DEFINE_MUTEX(xpmem_segs_lock);

static struct xpmem_seg *xpmem_seg_find(s64 segid)
{
	struct xpmem_seg *seg;

	hash_for_each_possible_rcu(xpmem_seg_hash, seg, hnode, segid,
				   lockdep_is_held(&xpmem_segs_lock))
		if (READ_ONCE(seg->segid) == segid)
			return seg;
	return NULL;
}

/*
 * Gives @seg a fresh id and makes it visible to lookups: 48 random bits
 * under the node id, redrawn while the id is taken or its random part 0.
 */
static void xpmem_seg_publish(struct xpmem_seg *seg)
{
	u64 node = xpmem_net_local_node();
	u64 rnd;
	s64 segid;

	mutex_lock(&xpmem_segs_lock);
	do {
		rnd = get_random_u64() & XPMEM_RAND_MASK;
		segid = (s64)((node << XPMEM_SEGID_NODE_SHIFT) |
			      (rnd << XPMEM_SEGID_RAND_SHIFT));
	} while (!rnd || xpmem_seg_find(segid));
	seg->segid = segid;
	hash_add_rcu(xpmem_seg_hash, &seg->hnode, segid);
	mutex_unlock(&xpmem_segs_lock);
}

static void xpmem_seg_unpublish(struct xpmem_seg *seg)
{
	mutex_lock(&xpmem_segs_lock);
	hash_del_rcu(&seg->hnode);
	mutex_unlock(&xpmem_segs_lock);
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
	seg = xpmem_seg_find(segid);
	if (seg && !kref_get_unless_zero(&seg->kref))
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
	put_user_ns(seg->user_ns);
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

	seg = kzalloc(sizeof(*seg), GFP_KERNEL_ACCOUNT);
	if (!seg)
		return -ENOMEM;
	kref_init(&seg->kref);
	mutex_init(&seg->lock);
	INIT_LIST_HEAD(&seg->aps);
	INIT_LIST_HEAD(&seg->raps);
	seg->ratts = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&seg->ctx_link);
	INIT_HLIST_NODE(&seg->hnode);
	seg->atts = RB_ROOT_CACHED;
	seg->owner = ctx;
	seg->vaddr = vaddr;
	seg->size = size;
	seg->mode = cmd.permit_mode;
	/* the owner, as a file's: fsuid/fsgid and the user namespace */
	seg->uid = current_fsuid();
	seg->gid = current_fsgid();
	seg->user_ns = get_user_ns(current_user_ns());
	seg->pid = task_tgid_nr(current);
	seg->state = XPMEM_SEG_LIVE;
	mmgrab(ctx->mm);
	seg->mm = ctx->mm;
	xpmem_count_inc(XPMEM_CNT_SEGMENTS);

	ret = mmu_interval_notifier_insert(&seg->notifier, ctx->mm, vaddr,
					   size, &xpmem_seg_notifier_ops);
	if (ret)
		goto err_put;

	xpmem_seg_publish(seg);

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
	xpmem_seg_unpublish(seg);

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
 * each segment's lock, so a line is consistent in itself.  The segid lock
 * keeps every listed segment alive (destroy unhashes it first).
 */
static int xpmem_segments_show(struct seq_file *m, void *v)
{
	struct xpmem_seg *seg;
	unsigned int bkt;

	mutex_lock(&xpmem_segs_lock);
	hash_for_each(xpmem_seg_hash, bkt, seg, hnode) {
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
	}
	mutex_unlock(&xpmem_segs_lock);
	return 0;
}

int xpmem_segments_init(void)
{
	if (!proc_create_single("segments", 0400, xpmem_proc_dir(),
				xpmem_segments_show))
		return -ENOMEM;
	if (xpmem_get_failures_init()) {
		remove_proc_entry("segments", xpmem_proc_dir());
		return -ENOMEM;
	}
	return 0;
}

void xpmem_segments_exit(void)
{
	xpmem_get_failures_exit();
	remove_proc_entry("segments", xpmem_proc_dir());
	WARN_ON(!hash_empty(xpmem_seg_hash));
}
