// SPDX-License-Identifier: GPL-2.0
/*
 * Per-open context.  A context belongs to the mm that opened the device;
 * closing the last reference to the file tears down everything it made
 * (segments) and got (permits).
 */
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "xpmem_internal.h"

struct xpmem_ctx *xpmem_ctx_create(void)
{
	struct xpmem_ctx *ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);

	if (!ctx)
		return NULL;
	kref_init(&ctx->kref);
	mutex_init(&ctx->lock);
	INIT_LIST_HEAD(&ctx->segs);
	xa_init_flags(&ctx->aps, XA_FLAGS_ALLOC1);
	mmgrab(current->mm);
	ctx->mm = current->mm;
	xpmem_count_inc(XPMEM_CNT_CONTEXTS);
	return ctx;
}

void xpmem_ctx_get(struct xpmem_ctx *ctx)
{
	kref_get(&ctx->kref);
}

static void xpmem_ctx_free(struct kref *kref)
{
	struct xpmem_ctx *ctx = container_of(kref, struct xpmem_ctx, kref);

	WARN_ON(!list_empty(&ctx->segs));
	WARN_ON(!xa_empty(&ctx->aps));
	xa_destroy(&ctx->aps);
	mmdrop(ctx->mm);
	kfree(ctx);
	xpmem_count_dec(XPMEM_CNT_CONTEXTS);
}

void xpmem_ctx_put(struct xpmem_ctx *ctx)
{
	kref_put(&ctx->kref, xpmem_ctx_free);
}

/* Called once, when the file is released. */
void xpmem_ctx_shutdown(struct xpmem_ctx *ctx)
{
	struct xpmem_seg *seg;

	might_sleep();
	xpmem_ctx_release_aps(ctx);

	for (;;) {
		mutex_lock(&ctx->lock);
		seg = list_first_entry_or_null(&ctx->segs, struct xpmem_seg,
					       ctx_link);
		if (seg)
			list_del_init(&seg->ctx_link);
		mutex_unlock(&ctx->lock);
		if (!seg)
			break;
		xpmem_seg_destroy(seg);
	}
}
