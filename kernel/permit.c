// SPDX-License-Identifier: GPL-2.0
/*
 * Access permits: xpmem_get checks the caller against the segment's mode
 * bits and hands out an apid that only the caller's context can use.
 */
#include <linux/cred.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "xpmem_internal.h"

#define XPMEM_APID_SLOT_MASK	((1U << XPMEM_SEGID_SLOT_BITS) - 1)

/*
 * Mode bits are checked like a file's: owner, group, other.  Ids are
 * compared as kernel ids (kuid_t/kgid_t), so a process inside a user
 * namespace is judged by the ids it really has.  There is no capability
 * override: the mode is the owner's statement of who may map its memory
 * and how (a 0400 segment is read-only even for root).
 */
int xpmem_check_mode(const struct xpmem_seg *seg, u32 flags, kuid_t uid,
		     bool in_group)
{
	unsigned int want = flags == XPMEM_UAPI_RDWR ? 06 : 04;
	unsigned int mode = seg->mode;

	if (uid_eq(uid, seg->uid))
		mode >>= 6;
	else if (in_group)
		mode >>= 3;
	return (mode & want) == want ? 0 : -EACCES;
}

static void xpmem_ap_free(struct kref *kref)
{
	struct xpmem_ap *ap = container_of(kref, struct xpmem_ap, kref);

	WARN_ON(!list_empty(&ap->atts));
	if (ap->seg)
		xpmem_seg_put(ap->seg);
	kfree_rcu(ap, rcu);
	xpmem_count_dec(XPMEM_CNT_PERMITS);
}

void xpmem_ap_get(struct xpmem_ap *ap)
{
	kref_get(&ap->kref);
}

void xpmem_ap_put(struct xpmem_ap *ap)
{
	kref_put(&ap->kref, xpmem_ap_free);
}

/* Random high bits, as in segment ids: a permit id cannot be guessed. */
static s64 xpmem_make_apid(u32 slot)
{
	return ((s64)((get_random_u32() & 0x7fffffff) | 1) <<
		XPMEM_SEGID_SLOT_BITS) | slot;
}

struct xpmem_ap *xpmem_ap_lookup(struct xpmem_ctx *ctx, s64 apid)
{
	struct xpmem_ap *ap;

	if (apid <= 0)
		return NULL;
	rcu_read_lock();
	ap = xa_load(&ctx->aps, apid & XPMEM_APID_SLOT_MASK);
	if (ap && (READ_ONCE(ap->apid) != apid ||
		   !kref_get_unless_zero(&ap->kref)))
		ap = NULL;
	rcu_read_unlock();
	return ap;
}

/* Marks the permit and all attachments made through it dead; zaps them. */
void xpmem_ap_revoke_locked(struct xpmem_ap *ap)
{
	struct xpmem_att *att;

	lockdep_assert_held(&ap->seg->lock);
	ap->revoked = true;
	list_for_each_entry(att, &ap->atts, ap_link) {
		WRITE_ONCE(att->dead, true);
		if (att->state == XPMEM_ATT_MAPPED)
			xpmem_seg_zap_locked(ap->seg, 0, ap->seg->size - 1, att);
	}
}

static int xpmem_release_apid(struct xpmem_ctx *ctx, s64 apid);

int xpmem_ioctl_get(struct xpmem_ctx *ctx, void __user *arg)
{
	struct xpmem_cmd_get cmd;
	struct xpmem_seg *seg;
	struct xpmem_ap *ap;
	u32 slot;
	int ret;

	if (copy_from_user(&cmd, arg, sizeof(cmd)))
		return -EFAULT;
	if ((cmd.flags != XPMEM_UAPI_RDONLY && cmd.flags != XPMEM_UAPI_RDWR) ||
	    cmd.permit_type != XPMEM_UAPI_PERMIT_MODE || cmd.permit_value)
		return -EINVAL;
	if (cmd.segid > 0 && xpmem_segid_node(cmd.segid))
		return xpmem_client_get(ctx, &cmd, arg);

	seg = xpmem_seg_lookup(cmd.segid);
	if (!seg)
		return -ENOENT;
	ret = xpmem_check_mode(seg, cmd.flags, current_euid(),
			       in_egroup_p(seg->gid));
	if (ret)
		goto err_seg;

	ret = -ENOMEM;
	ap = kzalloc(sizeof(*ap), GFP_KERNEL);
	if (!ap)
		goto err_seg;
	kref_init(&ap->kref);
	INIT_LIST_HEAD(&ap->atts);
	ap->seg = seg;
	ap->ctx = ctx;
	ap->flags = cmd.flags;
	xpmem_count_inc(XPMEM_CNT_PERMITS);

	ret = xa_alloc(&ctx->aps, &slot, NULL,
		       XA_LIMIT(1, XPMEM_APID_SLOT_MASK), GFP_KERNEL);
	if (ret)
		goto err_ap;
	ap->slot = slot;
	ap->apid = xpmem_make_apid(slot);

	mutex_lock(&seg->lock);
	if (seg->state != XPMEM_SEG_LIVE) {
		mutex_unlock(&seg->lock);
		xa_erase(&ctx->aps, slot);
		ret = -ENOENT;
		goto err_ap;
	}
	list_add_tail(&ap->seg_link, &seg->aps);
	mutex_unlock(&seg->lock);
	xa_store(&ctx->aps, slot, ap, GFP_KERNEL);
	xpmem_count_inc(XPMEM_CNT_GETS);

	cmd.apid = ap->apid;
	if (copy_to_user(arg, &cmd, sizeof(cmd))) {
		xpmem_release_apid(ctx, cmd.apid);
		return -EFAULT;
	}
	return 0;

err_ap:
	xpmem_ap_put(ap);	/* drops the segment reference too */
	return ret;
err_seg:
	xpmem_seg_put(seg);
	return ret;
}

static void xpmem_ap_release(struct xpmem_ap *ap)
{
	struct xpmem_seg *seg = ap->seg;

	if (!seg) {
		xpmem_client_release(ap);
		xpmem_ap_put(ap);
		return;
	}
	mutex_lock(&seg->lock);
	xpmem_ap_revoke_locked(ap);
	list_del_init(&ap->seg_link);
	mutex_unlock(&seg->lock);
	xpmem_ap_put(ap);	/* the context table's reference */
}

static int xpmem_release_apid(struct xpmem_ctx *ctx, s64 apid)
{
	struct xpmem_ap *ap = xpmem_ap_lookup(ctx, apid);
	int ret = -ENOENT;

	if (!ap)
		return -ENOENT;
	/* Only one caller wins the slot, so a permit is released once. */
	if (xa_cmpxchg(&ctx->aps, ap->slot, ap, NULL, 0) == ap) {
		xpmem_ap_release(ap);
		ret = 0;
	}
	xpmem_ap_put(ap);
	return ret;
}

int xpmem_ioctl_release(struct xpmem_ctx *ctx, void __user *arg)
{
	struct xpmem_cmd_release cmd;

	if (copy_from_user(&cmd, arg, sizeof(cmd)))
		return -EFAULT;
	return xpmem_release_apid(ctx, cmd.apid);
}

/*
 * Publishes a remote permit in @ctx and tells the caller its apid.  On
 * failure the permit is released (also at the owner) and put.
 */
int xpmem_ap_install(struct xpmem_ctx *ctx, struct xpmem_ap *ap,
		     struct xpmem_cmd_get *cmd, void __user *arg)
{
	u32 slot;
	int ret;

	ret = xa_alloc(&ctx->aps, &slot, NULL,
		       XA_LIMIT(1, XPMEM_APID_SLOT_MASK), GFP_KERNEL);
	if (ret) {
		xpmem_client_release(ap);
		xpmem_ap_put(ap);
		return ret;
	}
	ap->slot = slot;
	ap->apid = xpmem_make_apid(slot);
	xa_store(&ctx->aps, slot, ap, GFP_KERNEL);
	xpmem_count_inc(XPMEM_CNT_GETS);
	cmd->apid = ap->apid;
	if (copy_to_user(arg, cmd, sizeof(*cmd))) {
		xpmem_release_apid(ctx, ap->apid);
		return -EFAULT;
	}
	return 0;
}

void xpmem_ctx_release_aps(struct xpmem_ctx *ctx)
{
	struct xpmem_ap *ap;
	unsigned long slot;

	xa_for_each(&ctx->aps, slot, ap)
		xpmem_release_apid(ctx, ap->apid);
}
