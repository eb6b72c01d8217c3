// SPDX-License-Identifier: GPL-2.0
/*
 * Since 6.4 a fault may run under the per-VMA lock instead of mmap_lock
 * (FAULT_FLAG_VMA_LOCK); release_fault_lock() drops whichever is held.
 */
#include <linux/mm.h>

void xpmem_probe(struct vm_fault *vmf);
void xpmem_probe(struct vm_fault *vmf)
{
	if (vmf->flags & FAULT_FLAG_VMA_LOCK)
		release_fault_lock(vmf);
}
