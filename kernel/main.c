// SPDX-License-Identifier: GPL-2.0
/*
 * xpmem.ko: the /dev/xpmem misc device, its file operations and the ioctl
 * dispatcher.  Objects live in context.c, segment.c, permit.c and
 * attach.c; the fault path in fault.c; the MMU notifier in notifier.c.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/uaccess.h>

#include "xpmem_internal.h"
#include "transport.h"

static int xpmem_open(struct inode *inode, struct file *file)
{
	struct xpmem_ctx *ctx;

	if (!current->mm)
		return -EINVAL;
	ctx = xpmem_ctx_create();
	if (!ctx)
		return -ENOMEM;
	file->private_data = ctx;
	return 0;
}

/* Last reference to the file: its attachment vmas are already gone. */
static int xpmem_release(struct inode *inode, struct file *file)
{
	struct xpmem_ctx *ctx = file->private_data;

	xpmem_ctx_shutdown(ctx);
	xpmem_ctx_put(ctx);
	return 0;
}

static long xpmem_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct xpmem_ctx *ctx = file->private_data;
	void __user *uarg = (void __user *)arg;

	if (cmd == XPMEM_IOC_VERSION)
		return put_user((__u32)XPMEM_ABI_VERSION, (__u32 __user *)uarg);
	/*
	 * Objects belong to the address space that opened the device: a
	 * child that inherited the fd across fork() must open its own.
	 */
	if (ctx->mm != current->mm)
		return -EPERM;

	switch (cmd) {
	case XPMEM_IOC_MAKE:
		return xpmem_ioctl_make(ctx, uarg);
	case XPMEM_IOC_REMOVE:
		return xpmem_ioctl_remove(ctx, uarg);
	case XPMEM_IOC_GET:
		return xpmem_ioctl_get(ctx, uarg);
	case XPMEM_IOC_RELEASE:
		return xpmem_ioctl_release(ctx, uarg);
	case XPMEM_IOC_ATTACH:
		return xpmem_ioctl_attach(ctx, file, uarg);
	case XPMEM_IOC_DETACH:
		return xpmem_ioctl_detach(ctx, uarg);
	case XPMEM_IOC_SYNC:
		return xpmem_ioctl_sync(ctx, uarg);
	case XPMEM_IOC_SET_NODE:
	case XPMEM_IOC_ADD_PEER:
	case XPMEM_IOC_DEL_PEER:
	case XPMEM_IOC_PING:
	case XPMEM_IOC_SET_KEY:
		return xpmem_ioctl_control(cmd, uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations xpmem_fops = {
	.owner = THIS_MODULE,
	.open = xpmem_open,
	.release = xpmem_release,
	.unlocked_ioctl = xpmem_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = xpmem_mmap,
	.get_unmapped_area = xpmem_get_unmapped_area,
	.llseek = noop_llseek,
};

static struct miscdevice xpmem_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "xpmem",
	.fops = &xpmem_fops,
	.mode = 0666,
};

static int __init xpmem_init(void)
{
	int ret;

	ret = xpmem_counters_init();
	if (ret)
		return ret;
	ret = xpmem_segments_init();
	if (ret)
		goto err_counters;
	ret = xpmem_net_init();
	if (ret)
		goto err_segments;
	ret = xpmem_notifier_init();
	if (ret)
		goto err_net;
	ret = xpmem_attach_init();
	if (ret)
		goto err_notifier;
	xpmem_home_init();
	ret = xpmem_client_init();
	if (ret)
		goto err_attach;
	ret = misc_register(&xpmem_miscdev);
	if (ret)
		goto err_client;
	xpmem_failpoints_init();
	pr_info("xpmem: ABI %d.%d ready\n", XPMEM_ABI_MAJOR, XPMEM_ABI_MINOR);
	return 0;

err_client:
	xpmem_client_exit();
err_attach:
	xpmem_attach_exit();
err_notifier:
	xpmem_notifier_exit();
err_net:
	xpmem_net_exit();
err_segments:
	xpmem_segments_exit();
err_counters:
	xpmem_counters_exit();
	return ret;
}

static void __exit xpmem_exit(void)
{
	xpmem_failpoints_exit();
	misc_deregister(&xpmem_miscdev);
	xpmem_client_drain();	/* closed attachments still talking */
	xpmem_net_exit();
	xpmem_client_exit();
	xpmem_home_exit();
	xpmem_attach_exit();
	xpmem_segments_exit();
	xpmem_notifier_exit();
	xpmem_counters_exit();
}

module_init(xpmem_init);
module_exit(xpmem_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Cross-process memory sharing (XPMEM) for HPC");
MODULE_VERSION("0.1.0");	/* VERSION in the top Makefile */
