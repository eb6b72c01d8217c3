// SPDX-License-Identifier: GPL-2.0
/* Since 6.3 vma->vm_flags is read-only; changes go through accessors. */
#include <linux/mm.h>

void xpmem_probe(struct vm_area_struct *vma);
void xpmem_probe(struct vm_area_struct *vma)
{
	vm_flags_mod(vma, 0, 0);
}
