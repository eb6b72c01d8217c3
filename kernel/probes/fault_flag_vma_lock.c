// SPDX-License-Identifier: GPL-2.0
/*
 * Faults under the per-VMA lock instead of mmap_lock (FAULT_FLAG_VMA_LOCK,
 * 6.4+) together with release_fault_lock(), which drops whichever of the
 * two is held: both are needed by compat.h, so one probe tests both.
 */
#include <linux/mm.h>

void xpmem_probe(struct vm_fault *vmf);
void xpmem_probe(struct vm_fault *vmf)
{
	if (vmf->flags & FAULT_FLAG_VMA_LOCK)
		release_fault_lock(vmf);
}
