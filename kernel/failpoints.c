// SPDX-License-Identifier: GPL-2.0
/*
 * Test hooks in /sys/kernel/debug/xpmem/, on kernels built with
 * CONFIG_FAULT_INJECTION_DEBUG_FS (the project's debug kernel): they make
 * rare interleavings happen on demand, so that tests can check what the
 * code does then without winning a race.  Elsewhere they compile away.
 *
 *   fail_home_access/      the kernel's fault-injection attributes
 *                          (Documentation/fault-injection): an owner's
 *                          access to its pages looks raced by an
 *                          invalidation (remote_home.c)
 *   delay_invalidate_ms    the next INVALIDATE this node receives as an
 *                          attacher is handled that much later: a sharer
 *                          alive but stuck (remote_client.c); one shot
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fault-inject.h>

#include "xpmem_internal.h"

#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS

static DECLARE_FAULT_ATTR(xpmem_fail_home_access_attr);
static u32 xpmem_delay_invalidate_ms;
static struct dentry *xpmem_debugfs;

bool xpmem_fail_home_access(void)
{
	return should_fail(&xpmem_fail_home_access_attr, 1);
}

void xpmem_delay_invalidate(void)
{
	u32 ms = xchg(&xpmem_delay_invalidate_ms, 0);

	might_sleep();
	if (ms)
		msleep(ms);
}

void xpmem_failpoints_init(void)
{
	/* debugfs errors are not fatal: the hooks are then simply absent */
	xpmem_debugfs = debugfs_create_dir("xpmem", NULL);
	fault_create_debugfs_attr("fail_home_access", xpmem_debugfs,
				  &xpmem_fail_home_access_attr);
	debugfs_create_u32("delay_invalidate_ms", 0600, xpmem_debugfs,
			   &xpmem_delay_invalidate_ms);
}

void xpmem_failpoints_exit(void)
{
	debugfs_remove_recursive(xpmem_debugfs);
}

#endif
