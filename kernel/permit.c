// SPDX-License-Identifier: GPL-2.0
/*
 * Access permits: xpmem_get checks the caller against the segment's mode
 * bits and hands out an apid that only the caller's context can use.
 * Refused GETs are counted per uid (/proc/xpmem/get_failures).
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/jiffies.h>
#include <linux/proc_fs.h>
#include <linux/random.h>
#include <linux/ratelimit.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>

#include "xpmem_internal.h"

#define XPMEM_APID_SLOT_BITS	28
#define XPMEM_APID_SLOT_MASK	((1U << XPMEM_APID_SLOT_BITS) - 1)

/*
 * The permission bits of @seg's mode that apply to @uid: owner, group
 * (@in_group) or other, as for a file.  Ids are kernel ids (kuid_t,
 * kgid_t), so a process inside a user namespace is judged by the ids it
 * really has.
 */
static unsigned int xpmem_mode_bits(const struct xpmem_seg *seg, kuid_t uid,
				    bool in_group)
{
	unsigned int mode = seg->mode;

	if (uid_eq(uid, seg->uid))
		mode >>= 6;
	else if (in_group)
		mode >>= 3;
	return mode & 07;
}

static unsigned int xpmem_want_bits(u32 flags)
{
	return flags == XPMEM_UAPI_RDWR ? 06 : 04;
}

/*
 * The errno of a refused GET.  A caller that may read the segment knows
 * it exists (a RDONLY GET would tell it), so RDWR refused is EACCES; a
 * caller the segment is closed to gets ENOENT, the answer for an id that
 * does not exist, so that it cannot learn which ids do.
 */
static int xpmem_refusal(bool may_read)
{
	return may_read ? -EACCES : -ENOENT;
}

/*
 * The mode bits alone decide: 0, or -EACCES / -ENOENT as above.  This is
 * the whole check for a request from another node (remote_home.c): it
 * never carries capabilities, as NFS squashes root.
 */
int xpmem_check_mode(const struct xpmem_seg *seg, u32 flags, kuid_t uid,
		     bool in_group)
{
	unsigned int bits = xpmem_mode_bits(seg, uid, in_group);
	unsigned int want = xpmem_want_bits(flags);

	if ((bits & want) == want)
		return 0;
	return xpmem_refusal(bits & 04);
}

/*
 * A capability over the segment, as capable_wrt_inode_uidgid() is over an
 * inode: held in the owner's user namespace (so root of a namespace the
 * owner is not in gets nothing), with the owner's ids mapped there.
 */
static bool xpmem_seg_capable(const struct xpmem_seg *seg, int cap,
			      bool audit)
{
	if (!kuid_has_mapping(seg->user_ns, seg->uid) ||
	    !kgid_has_mapping(seg->user_ns, seg->gid))
		return false;
	return audit ? ns_capable(seg->user_ns, cap) :
		       ns_capable_noaudit(seg->user_ns, cap);
}

/*
 * A local caller: the mode bits against its fsuid, fsgid and supplementary
 * groups, then the file rules for capabilities (generic_permission):
 * CAP_DAC_OVERRIDE grants RDONLY and RDWR, CAP_DAC_READ_SEARCH grants
 * RDONLY; both only in the owner's user namespace.
 */
static int xpmem_check_local(const struct xpmem_seg *seg, u32 flags)
{
	unsigned int bits = xpmem_mode_bits(seg, current_fsuid(),
					    in_group_p(seg->gid));
	unsigned int want = xpmem_want_bits(flags);

	if ((bits & want) == want)
		return 0;
	if (flags == XPMEM_UAPI_RDONLY &&
	    xpmem_seg_capable(seg, CAP_DAC_READ_SEARCH, true))
		return 0;
	if (xpmem_seg_capable(seg, CAP_DAC_OVERRIDE, true))
		return 0;
	if (flags == XPMEM_UAPI_RDONLY)
		return xpmem_refusal(false);
	/* RDWR refused: may it read (so may it know the segment exists)? */
	return xpmem_refusal((bits & 04) ||
			     xpmem_seg_capable(seg, CAP_DAC_READ_SEARCH,
					       false));
}

/*
 * Failed GETs (ENOENT or EACCES) per uid, for the admin: a bounded table
 * in /proc/xpmem/get_failures ("UID COUNT" lines; a uid that finds the
 * table full takes the place of the one with the fewest failures, whose
 * count moves to the "other" line) and a total in /proc/xpmem/counters.
 * A uid failing XPMEM_GET_FAIL_WARN GETs within XPMEM_GET_FAIL_WINDOW is
 * logged (rate-limited): someone guessing segment ids.
 */
#define XPMEM_GET_FAIL_SLOTS	64
#define XPMEM_GET_FAIL_WARN	1000
#define XPMEM_GET_FAIL_WINDOW	(10 * HZ)

struct xpmem_get_fail {
	kuid_t uid;
	unsigned long count;		/* since load, or since it got the slot */
	unsigned long window_start;	/* jiffies */
	unsigned long window_count;
};

static struct xpmem_get_fail xpmem_get_fails[XPMEM_GET_FAIL_SLOTS];
static unsigned int xpmem_get_fails_used;
static unsigned long xpmem_get_fails_other;
static DEFINE_SPINLOCK(xpmem_get_fails_lock);
static DEFINE_RATELIMIT_STATE(xpmem_get_fails_rs, 60 * HZ, 10);

static struct xpmem_get_fail *xpmem_get_fail_slot(kuid_t uid)
{
	struct xpmem_get_fail *f, *least = NULL;
	unsigned int i;

	lockdep_assert_held(&xpmem_get_fails_lock);
	for (i = 0; i < xpmem_get_fails_used; i++) {
		f = &xpmem_get_fails[i];
		if (uid_eq(f->uid, uid))
			return f;
		if (!least || f->count < least->count)
			least = f;
	}
	if (xpmem_get_fails_used < XPMEM_GET_FAIL_SLOTS) {
		f = &xpmem_get_fails[xpmem_get_fails_used++];
	} else {
		f = least;
		xpmem_get_fails_other += f->count;
	}
	f->uid = uid;
	f->count = 0;
	f->window_start = jiffies;
	f->window_count = 0;
	return f;
}

/* Counts a GET refused with ENOENT or EACCES; any context. */
void xpmem_note_get_failure(kuid_t uid)
{
	struct xpmem_get_fail *f;
	unsigned long flags, count = 0;

	xpmem_count_inc(XPMEM_CNT_GET_FAILURES);
	spin_lock_irqsave(&xpmem_get_fails_lock, flags);
	f = xpmem_get_fail_slot(uid);
	f->count++;
	if (time_after(jiffies, f->window_start + XPMEM_GET_FAIL_WINDOW)) {
		f->window_start = jiffies;
		f->window_count = 0;
	}
	if (++f->window_count == XPMEM_GET_FAIL_WARN)
		count = f->count;
	spin_unlock_irqrestore(&xpmem_get_fails_lock, flags);

	if (count && __ratelimit(&xpmem_get_fails_rs))
		pr_warn("xpmem: uid %u: %u GETs refused within %u s (%lu in all): guessing segment ids?\n",
			from_kuid_munged(&init_user_ns, uid),
			XPMEM_GET_FAIL_WARN, XPMEM_GET_FAIL_WINDOW / HZ, count);
}

static int xpmem_get_failures_show(struct seq_file *m, void *v)
{
	unsigned long flags;
	unsigned int i;

	spin_lock_irqsave(&xpmem_get_fails_lock, flags);
	for (i = 0; i < xpmem_get_fails_used; i++)
		seq_printf(m, "%u %lu\n",
			   from_kuid_munged(&init_user_ns,
					    xpmem_get_fails[i].uid),
			   xpmem_get_fails[i].count);
	if (xpmem_get_fails_other)
		seq_printf(m, "other %lu\n", xpmem_get_fails_other);
	spin_unlock_irqrestore(&xpmem_get_fails_lock, flags);
	return 0;
}

/* Root only, as /proc/xpmem/segments: it names users. */
int xpmem_get_failures_init(void)
{
	if (!proc_create_single("get_failures", 0400, xpmem_proc_dir(),
				xpmem_get_failures_show))
		return -ENOMEM;
	return 0;
}

void xpmem_get_failures_exit(void)
{
	remove_proc_entry("get_failures", xpmem_proc_dir());
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

/* Random high bits: a permit id cannot be guessed. */
static s64 xpmem_make_apid(u32 slot)
{
	return ((s64)((get_random_u32() & 0x7fffffff) | 1) <<
		XPMEM_APID_SLOT_BITS) | slot;
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
	if (!seg) {
		xpmem_note_get_failure(current_fsuid());
		return -ENOENT;
	}
	ret = xpmem_check_local(seg, cmd.flags);
	if (ret) {
		xpmem_note_get_failure(current_fsuid());
		goto err_seg;
	}

	ret = -ENOMEM;
	ap = kzalloc(sizeof(*ap), GFP_KERNEL_ACCOUNT);
	if (!ap)
		goto err_seg;
	kref_init(&ap->kref);
	INIT_LIST_HEAD(&ap->atts);
	ap->seg = seg;
	ap->ctx = ctx;
	ap->flags = cmd.flags;
	xpmem_count_inc(XPMEM_CNT_PERMITS);

	ret = xa_alloc(&ctx->aps, &slot, NULL,
		       XA_LIMIT(1, XPMEM_APID_SLOT_MASK), GFP_KERNEL_ACCOUNT);
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
	xa_store(&ctx->aps, slot, ap, GFP_KERNEL_ACCOUNT);
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
		       XA_LIMIT(1, XPMEM_APID_SLOT_MASK), GFP_KERNEL_ACCOUNT);
	if (ret) {
		xpmem_client_release(ap);
		xpmem_ap_put(ap);
		return ret;
	}
	ap->slot = slot;
	ap->apid = xpmem_make_apid(slot);
	xa_store(&ctx->aps, slot, ap, GFP_KERNEL_ACCOUNT);
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
