// SPDX-License-Identifier: GPL-2.0
/*
 * Admin counters in /proc/xpmem/counters.  Gauges come first and must
 * read zero once no process uses the device; the test suite checks that.
 */
#include <linux/atomic.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

#include "xpmem_internal.h"

static atomic_long_t xpmem_counters[XPMEM_NR_COUNTERS];

static const char *const xpmem_counter_names[XPMEM_NR_COUNTERS] = {
	[XPMEM_CNT_CONTEXTS] = "contexts",
	[XPMEM_CNT_SEGMENTS] = "segments",
	[XPMEM_CNT_PERMITS] = "permits",
	[XPMEM_CNT_ATTACHMENTS] = "attachments",
	[XPMEM_CNT_ATTACHED_PAGES] = "attached_pages",
	[XPMEM_CNT_REMOTE_PERMITS] = "remote_permits",
	[XPMEM_CNT_REMOTE_ATTACHMENTS] = "remote_attachments",
	[XPMEM_CNT_REMOTE_COPIES] = "remote_copies",
	[XPMEM_CNT_REMOTE_TWINS] = "remote_twins",
	[XPMEM_CNT_REMOTE_SERVED_PAGES] = "remote_served_pages",
	[XPMEM_CNT_MAKES] = "makes",
	[XPMEM_CNT_GETS] = "gets",
	[XPMEM_CNT_ATTACHES] = "attaches",
	[XPMEM_CNT_FAULTS] = "faults",
	[XPMEM_CNT_FAULT_PAGES] = "fault_pages",
	[XPMEM_CNT_PMD_MAPS] = "pmd_maps",
	[XPMEM_CNT_FAULT_RETRIES] = "fault_retries",
	[XPMEM_CNT_INVALIDATIONS] = "invalidations",
	[XPMEM_CNT_ZAPPED_ATTACHMENTS] = "zapped_attachments",
	[XPMEM_CNT_MKWRITES] = "mkwrites",
	[XPMEM_CNT_NONBLOCK_REFUSED] = "nonblock_refused",
	[XPMEM_CNT_REMOTE_PAGES_SERVED] = "remote_pages_served",
	[XPMEM_CNT_REMOTE_PAGES_SENT_DIRECT] = "remote_pages_sent_direct",
	[XPMEM_CNT_REMOTE_INVALIDATES_SENT] = "remote_invalidates_sent",
	[XPMEM_CNT_REMOTE_INVALIDATES_ACKED] = "remote_invalidates_acked",
	[XPMEM_CNT_REMOTE_FETCHES] = "remote_fetches",
	[XPMEM_CNT_REMOTE_INVALIDATES_RECEIVED] = "remote_invalidates_received",
	[XPMEM_CNT_REMOTE_WRITEBACKS] = "remote_writebacks",
	[XPMEM_CNT_GET_FAILURES] = "get_failures",
	[XPMEM_CNT_REMOTE_GET_FAILURES] = "remote_get_failures",
	[XPMEM_CNT_REMOTE_LIMIT_REFUSED] = "remote_limit_refused",
	[XPMEM_CNT_REMOTE_BAD_REPLIES] = "remote_bad_replies",
	[XPMEM_CNT_REMOTE_ACCESS_GAVE_UP] = "remote_access_gave_up",
	[XPMEM_CNT_REMOTE_CLOSED_WB_FAILED] = "remote_closed_wb_failed",
};

static struct proc_dir_entry *xpmem_proc_root;

struct proc_dir_entry *xpmem_proc_dir(void)
{
	return xpmem_proc_root;
}

void xpmem_count_add(enum xpmem_counter c, long v)
{
	atomic_long_add(v, &xpmem_counters[c]);
}

static int xpmem_counters_show(struct seq_file *m, void *v)
{
	int i;

	for (i = 0; i < XPMEM_NR_COUNTERS; i++)
		seq_printf(m, "%s %ld\n", xpmem_counter_names[i],
			   atomic_long_read(&xpmem_counters[i]));
	return 0;
}

int xpmem_counters_init(void)
{
	xpmem_proc_root = proc_mkdir("xpmem", NULL);
	if (!xpmem_proc_root)
		return -ENOMEM;
	if (!proc_create_single("counters", 0444, xpmem_proc_root,
				xpmem_counters_show)) {
		proc_remove(xpmem_proc_root);
		return -ENOMEM;
	}
	return 0;
}

void xpmem_counters_exit(void)
{
	proc_remove(xpmem_proc_root);
}
