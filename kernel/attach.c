// SPDX-License-Identifier: GPL-2.0
/*
 * Attachments: a segment range mapped into the attacher as a VM_PFNMAP
 * vma of /dev/xpmem.  Each attachment owns a unique range of file offsets
 * (vm_pgoff) in the device's address_space, so the notifier can zap an
 * attacher's PTEs with unmap_mapping_range() without taking the attacher's
 * mmap_lock.  The offset is chosen congruent to the owner's address modulo
 * 2 MiB, and so is the attach address, so huge pages can map as PMDs.
 */
#include <linux/mman.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "xpmem_internal.h"
#include "xpmem_trace.h"

#define XPMEM_PGOFF_MAX		((1UL << (BITS_PER_LONG - 1 - PAGE_SHIFT)) - 1)

/*
 * Reserved file-offset ranges (in pages) -> attachment.  First fit from a
 * moving cursor; attach and close are not hot enough to need better.
 */
static DEFINE_MUTEX(xpmem_pgoff_lock);
static struct rb_root_cached xpmem_pgoffs = RB_ROOT_CACHED;
static unsigned long xpmem_pgoff_cursor;

static int xpmem_pgoff_reserve(struct xpmem_att *att, unsigned long n)
{
	unsigned long start;
	struct interval_tree_node *busy;
	bool wrapped = false;
	int ret = -ENOSPC;

	mutex_lock(&xpmem_pgoff_lock);
	start = xpmem_pgoff_cursor;
	for (;;) {
		if (start > XPMEM_PGOFF_MAX - n) {
			if (wrapped)
				goto out;
			wrapped = true;
			start = 0;
		}
		busy = interval_tree_iter_first(&xpmem_pgoffs, start,
						start + n - 1);
		if (!busy)
			break;
		start = busy->last + 1;
	}
	att->pgoff_it.start = start;
	att->pgoff_it.last = start + n - 1;
	interval_tree_insert(&att->pgoff_it, &xpmem_pgoffs);
	xpmem_pgoff_cursor = start + n;
	att->pgoff_alloc = start;
	ret = 0;
out:
	mutex_unlock(&xpmem_pgoff_lock);
	return ret;
}

void xpmem_pgoff_unreserve(struct xpmem_att *att)
{
	mutex_lock(&xpmem_pgoff_lock);
	interval_tree_remove(&att->pgoff_it, &xpmem_pgoffs);
	mutex_unlock(&xpmem_pgoff_lock);
}

static void xpmem_att_free(struct kref *kref)
{
	struct xpmem_att *att = container_of(kref, struct xpmem_att, kref);

	xpmem_client_free(att);
	xpmem_ap_put(att->ap);
	mutex_destroy(&att->map_lock);
	/*
	 * No RCU reader: every lookup of an attachment holds a lock its
	 * unlink takes (seg->lock for seg->atts, xpmem_client_lock for the
	 * remote ids) and a reference.  A plain kfree() lets the next ATTACH
	 * reuse the object at once (kfree_rcu() cost the attach/detach cycle
	 * a slab refill and an RCU callback each).
	 */
	kfree(att);
}

void xpmem_att_put(struct xpmem_att *att)
{
	kref_put(&att->kref, xpmem_att_free);
}

/* Takes the attachment off its segment; the last vma or a failed attach. */
static void xpmem_att_unlink(struct xpmem_att *att)
{
	struct xpmem_seg *seg = att->seg;
	bool was_mapped;

	if (!seg)
		return xpmem_client_unlink(att);
	mutex_lock(&seg->lock);
	was_mapped = att->state == XPMEM_ATT_MAPPED;
	if (was_mapped)
		interval_tree_remove(&att->it, &seg->atts);
	list_del_init(&att->ap_link);
	att->state = XPMEM_ATT_GONE;
	mutex_unlock(&seg->lock);

	xpmem_pgoff_unreserve(att);
	if (was_mapped) {
		xpmem_count_dec(XPMEM_CNT_ATTACHMENTS);
		xpmem_count_add(XPMEM_CNT_ATTACHED_PAGES, -(long)att->npages);
	}
}

static void xpmem_vma_open(struct vm_area_struct *vma)
{
	struct xpmem_att *att = vma->vm_private_data;

	/* mremap() copies the vma before closing the old one. */
	kref_get(&att->kref);
	atomic_inc(&att->vmas);
}

static void xpmem_vma_close(struct vm_area_struct *vma)
{
	struct xpmem_att *att = vma->vm_private_data;

	if (atomic_dec_and_test(&att->vmas))
		xpmem_att_unlink(att);
	xpmem_att_put(att);
}

/* An attachment is one vma: partial munmap or mprotect is refused. */
static int xpmem_vma_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	return -EINVAL;
}

const struct vm_operations_struct xpmem_vm_ops = {
	.open = xpmem_vma_open,
	.close = xpmem_vma_close,
	.may_split = xpmem_vma_may_split,
	.fault = xpmem_fault,
	.pfn_mkwrite = xpmem_pfn_mkwrite,
};

/*
 * A remote fault between its two tracepoints.  What the end event shows
 * is read before: after VM_FAULT_RETRY the vma and the attachment may
 * be gone.
 */
static vm_fault_t xpmem_client_fault_traced(struct vm_fault *vmf)
{
	struct xpmem_att *att = vmf->vma->vm_private_data;
	unsigned long idx = (vmf->address - vmf->vma->vm_start) >> PAGE_SHIFT;
	u16 node = att->ap->node;
	u32 id = att->rc->id;
	vm_fault_t ret;

	trace_xpmem_remote_fault_start(node, id, idx,
				       vmf->flags & FAULT_FLAG_WRITE);
	ret = xpmem_client_fault(vmf);
	trace_xpmem_remote_fault(node, id, idx, ret);
	return ret;
}

/* Attachments of another node's segment: copies, see remote_client.c. */
const struct vm_operations_struct xpmem_client_vm_ops = {
	.open = xpmem_vma_open,
	.close = xpmem_vma_close,
	.may_split = xpmem_vma_may_split,
	.fault = xpmem_client_fault_traced,
	.pfn_mkwrite = xpmem_client_pfn_mkwrite,
};

/*
 * An attachment is bound only by the mmap() that its own ATTACH makes:
 * for the duration of its vm_mmap() the ioctl publishes (task, file, att)
 * here, and xpmem_mmap() binds only the calling task's entry for that
 * file.  Any other mmap() of the device is refused, whatever its offset:
 * another thread sharing the fd, a child that inherited it, or a task
 * that guessed the offset of an attachment in flight.  A task is in one
 * ioctl at a time, so two ATTACHes at once (two threads) have two entries.
 */
struct xpmem_binding {
	struct list_head link;
	struct task_struct *task;
	struct file *file;
	struct xpmem_att *att;		/* NULL once ->mmap() took it */
};

static LIST_HEAD(xpmem_bindings);
static DEFINE_SPINLOCK(xpmem_binding_lock);

/* The attachment the current task's ATTACH is mapping through @file. */
static struct xpmem_att *xpmem_binding_take(struct file *file)
{
	struct xpmem_binding *b;
	struct xpmem_att *att = NULL;

	spin_lock(&xpmem_binding_lock);
	list_for_each_entry(b, &xpmem_bindings, link) {
		if (b->task == current && b->file == file) {
			att = b->att;
			b->att = NULL;
			break;
		}
	}
	spin_unlock(&xpmem_binding_lock);
	return att;
}

/*
 * Binds the vma that xpmem_ioctl_attach's vm_mmap() creates; refuses any
 * other mmap() of the device with EINVAL (see xpmem_binding).
 */
int xpmem_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct xpmem_ctx *ctx = file->private_data;
	struct xpmem_att *att;
	struct xpmem_seg *seg;
	int ret;

	att = xpmem_binding_take(file);
	if (!att)
		return -EINVAL;
	if (att->ctx != ctx || att->pgoff != vma->vm_pgoff ||
	    vma_pages(vma) != att->npages || !(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (!att->writable && (vma->vm_flags & VM_WRITE))
		return -EACCES;

	seg = att->seg;
	if (!seg) {
		ret = xpmem_client_bind(att, file);
		if (ret)
			return ret;
		goto bound;
	}
	mutex_lock(&seg->lock);
	if (att->state != XPMEM_ATT_PENDING || att->dead) {
		ret = att->dead ? -ENOENT : -EINVAL;
		mutex_unlock(&seg->lock);
		return ret;
	}
	att->state = XPMEM_ATT_MAPPED;
	att->mapping = file->f_mapping;
	att->it.start = att->offset;
	att->it.last = xpmem_att_last(att);
	interval_tree_insert(&att->it, &seg->atts);
	mutex_unlock(&seg->lock);
bound:
	xpmem_vma_set_flags(vma, VM_PFNMAP | VM_IO | VM_DONTEXPAND |
			    VM_DONTDUMP | VM_DONTCOPY,
			    att->writable ? 0 : VM_MAYWRITE);
	vma->vm_ops = seg ? &xpmem_vm_ops : &xpmem_client_vm_ops;
	kref_get(&att->kref);		/* the vma's reference */
	vma->vm_private_data = att;
	atomic_set(&att->vmas, 1);
	xpmem_count_inc(XPMEM_CNT_ATTACHMENTS);
	xpmem_count_add(XPMEM_CNT_ATTACHED_PAGES, att->npages);
	return 0;
}

/* Picks an address congruent to the owner's modulo PMD_SIZE. */
unsigned long xpmem_get_unmapped_area(struct file *file, unsigned long addr,
				      unsigned long len, unsigned long pgoff,
				      unsigned long flags)
{
	unsigned long want, base;

	if ((flags & MAP_FIXED) || len < PMD_SIZE)
		return xpmem_mm_get_unmapped_area(NULL, addr, len, 0, flags);
	base = xpmem_mm_get_unmapped_area(NULL, 0, len + PMD_SIZE, 0, flags);
	if (IS_ERR_VALUE(base))
		return xpmem_mm_get_unmapped_area(NULL, addr, len, 0, flags);
	want = (pgoff << PAGE_SHIFT) & (PMD_SIZE - 1);
	return base + ((want - base) & (PMD_SIZE - 1));
}

int xpmem_ioctl_attach(struct xpmem_ctx *ctx, struct file *file,
		       void __user *arg)
{
	struct xpmem_cmd_attach cmd;
	unsigned long start, end, len, addr, want, size;
	struct xpmem_binding bind;
	struct xpmem_att *att;
	struct xpmem_seg *seg;
	struct xpmem_ap *ap;
	int ret;

	if (copy_from_user(&cmd, arg, sizeof(cmd)))
		return -EFAULT;
	if (cmd.flags || cmd.reserved || !cmd.size ||
	    offset_in_page(cmd.vaddr) || cmd.vaddr >= TASK_SIZE)
		return -EINVAL;

	ap = xpmem_ap_lookup(ctx, cmd.apid);
	if (!ap)
		return -ENOENT;
	seg = ap->seg;
	size = seg ? seg->size : ap->rsize;
	ret = -EINVAL;
	if (cmd.offset >= size || cmd.size > size - cmd.offset)
		goto err_ap;
	start = cmd.offset & PAGE_MASK;
	end = PAGE_ALIGN(cmd.offset + cmd.size);
	len = end - start;

	ret = -ENOMEM;
	att = kzalloc(sizeof(*att), GFP_KERNEL_ACCOUNT);
	if (!att)
		goto err_ap;
	kref_init(&att->kref);
	mutex_init(&att->map_lock);
	INIT_LIST_HEAD(&att->ap_link);
	att->ap = ap;		/* takes over the lookup reference */
	att->seg = seg;
	att->ctx = ctx;
	att->offset = start;
	att->npages = len >> PAGE_SHIFT;
	att->writable = ap->flags == XPMEM_UAPI_RDWR;
	att->state = XPMEM_ATT_PENDING;

	/* Reserve npages plus slack to align the offset like the owner. */
	ret = xpmem_pgoff_reserve(att, att->npages + PTRS_PER_PMD);
	if (ret)
		goto err_att;
	want = (((seg ? seg->vaddr : 0) + start) >> PAGE_SHIFT) &
	       (PTRS_PER_PMD - 1);
	att->pgoff = att->pgoff_alloc +
		     ((want - att->pgoff_alloc) & (PTRS_PER_PMD - 1));

	if (!seg) {
		ret = xpmem_client_attach(att);
		if (ret) {
			xpmem_pgoff_unreserve(att);
			goto err_att;
		}
		goto map;
	}
	mutex_lock(&seg->lock);
	if (ap->revoked || seg->state != XPMEM_SEG_LIVE) {
		mutex_unlock(&seg->lock);
		xpmem_pgoff_unreserve(att);
		ret = -ENOENT;
		goto err_att;
	}
	list_add_tail(&att->ap_link, &ap->atts);
	mutex_unlock(&seg->lock);
map:
	bind = (struct xpmem_binding){ .task = current, .file = file,
				       .att = att };
	spin_lock(&xpmem_binding_lock);
	list_add(&bind.link, &xpmem_bindings);
	spin_unlock(&xpmem_binding_lock);
	addr = vm_mmap(file, cmd.vaddr, len,
		       PROT_READ | (att->writable ? PROT_WRITE : 0),
		       MAP_SHARED | (cmd.vaddr ? MAP_FIXED : 0),
		       att->pgoff << PAGE_SHIFT);
	spin_lock(&xpmem_binding_lock);
	list_del(&bind.link);
	spin_unlock(&xpmem_binding_lock);
	if (IS_ERR_VALUE(addr)) {
		/* A failure after ->mmap() frees the vma without ->close(). */
		bool bound = att->state == XPMEM_ATT_MAPPED;

		ret = (int)addr;
		if (!seg)
			xpmem_client_detach(att);
		xpmem_att_unlink(att);
		if (bound)
			xpmem_att_put(att);
		goto err_att;
	}
	xpmem_att_put(att);	/* the vma holds its own reference */
	xpmem_count_inc(XPMEM_CNT_ATTACHES);

	cmd.vaddr = addr + offset_in_page(cmd.offset);
	if (copy_to_user(arg, &cmd, sizeof(cmd))) {
		vm_munmap(addr, len);
		return -EFAULT;
	}
	return 0;

err_att:
	xpmem_att_put(att);	/* drops the permit reference too */
	return ret;
err_ap:
	xpmem_ap_put(ap);
	return ret;
}

/* Is @vma an attachment made through @ctx? */
static bool xpmem_is_attachment(struct vm_area_struct *vma,
				struct xpmem_ctx *ctx)
{
	return vma && (vma->vm_ops == &xpmem_vm_ops ||
		       vma->vm_ops == &xpmem_client_vm_ops) &&
	       vma->vm_file->private_data == ctx;
}

/*
 * The attachment of @ctx at @vaddr, referenced, and its range; NULL if
 * there is none.  The reference lets the caller talk to the owner after
 * dropping mmap_lock.
 */
static struct xpmem_att *xpmem_att_find(struct xpmem_ctx *ctx,
					unsigned long vaddr,
					unsigned long *start, unsigned long *end)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	struct xpmem_att *att = NULL;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, vaddr);
	if (xpmem_is_attachment(vma, ctx)) {
		att = vma->vm_private_data;
		kref_get(&att->kref);
		*start = vma->vm_start;
		*end = vma->vm_end;
	}
	mmap_read_unlock(mm);
	return att;
}

/*
 * xpmem_detach(): an attachment of another node's segment is released
 * and detached first, without mmap_lock, so the caller learns whether
 * its changes reached the owner (the release's errno; the attachment is
 * removed all the same).
 */
int xpmem_ioctl_detach(struct xpmem_ctx *ctx, void __user *arg)
{
	struct xpmem_cmd_detach cmd;
	unsigned long start, end;
	struct xpmem_att *att;
	int ret = 0, err;

	if (copy_from_user(&cmd, arg, sizeof(cmd)))
		return -EFAULT;
	if (cmd.vaddr >= TASK_SIZE)
		return -EINVAL;

	att = xpmem_att_find(ctx, cmd.vaddr, &start, &end);
	if (!att)
		return -EINVAL;
	if (att->rc) {
		struct xpmem_att *now;

		ret = xpmem_client_detach(att);
		/* Unmapped (or replaced) by another thread meanwhile? */
		now = xpmem_att_find(ctx, cmd.vaddr, &start, &end);
		if (now)
			xpmem_att_put(now);
		if (now != att) {
			xpmem_att_put(att);
			return ret;
		}
	}
	xpmem_att_put(att);
	err = vm_munmap(start, end - start);
	return ret ?: err;
}

/*
 * xpmem_sync(): attachments of this node's segments are coherent (no-op);
 * for another node's segment, RELEASE writes this node's changes back to
 * the owner and ACQUIRE (which releases first) drops the cached copies so
 * that the next access fetches the owner's current data.
 */
int xpmem_ioctl_sync(struct xpmem_ctx *ctx, void __user *arg)
{
	struct xpmem_cmd_sync cmd;
	unsigned long first, end, vstart, vend;
	struct xpmem_att *att;
	int ret;

	if (copy_from_user(&cmd, arg, sizeof(cmd)))
		return -EFAULT;
	if (cmd.reserved || !cmd.flags ||
	    (cmd.flags & ~(XPMEM_UAPI_SYNC_ACQUIRE | XPMEM_UAPI_SYNC_RELEASE)) ||
	    cmd.vaddr >= TASK_SIZE)
		return -EINVAL;

	/* The owner is talked to without mmap_lock (it may not answer). */
	att = xpmem_att_find(ctx, cmd.vaddr, &vstart, &vend);
	if (!att)
		return -EINVAL;
	ret = 0;
	if (!att->rc)
		goto out;
	first = (cmd.vaddr - vstart) >> PAGE_SHIFT;
	end = cmd.size > vend - cmd.vaddr ? (vend - vstart) >> PAGE_SHIFT :
	      (PAGE_ALIGN(cmd.vaddr + cmd.size) - vstart) >> PAGE_SHIFT;
	if (cmd.flags & XPMEM_UAPI_SYNC_ACQUIRE)
		ret = xpmem_client_acquire(att, first, end);
	else
		ret = xpmem_client_release_range(att, first, end);
out:
	xpmem_att_put(att);
	return ret;
}

int xpmem_attach_init(void)
{
	return 0;
}

void xpmem_attach_exit(void)
{
	WARN_ON(!RB_EMPTY_ROOT(&xpmem_pgoffs.rb_root));
	WARN_ON(!list_empty(&xpmem_bindings));
}
