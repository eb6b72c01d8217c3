/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the one place where kernel API differences between the
 * supported kernels (Debian 6.1 and 6.12) are handled.  The XPMEM_HAVE_*
 * macros come from the feature probes in probes/ (see Kbuild).
 */
#ifndef XPMEM_COMPAT_H
#define XPMEM_COMPAT_H

#include <linux/mm.h>
#include <linux/sched.h>

static inline void xpmem_vma_set_flags(struct vm_area_struct *vma,
				       unsigned long set, unsigned long clear)
{
#ifdef XPMEM_HAVE_vm_flags_mod
	vm_flags_mod(vma, set, clear);
#else
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
#endif
}

static inline unsigned long
xpmem_mm_get_unmapped_area(struct file *file, unsigned long addr,
			   unsigned long len, unsigned long pgoff,
			   unsigned long flags)
{
#ifdef XPMEM_HAVE_mm_get_unmapped_area
	return mm_get_unmapped_area(current->mm, file, addr, len, pgoff, flags);
#else
	return current->mm->get_unmapped_area(file, addr, len, pgoff, flags);
#endif
}

#endif /* XPMEM_COMPAT_H */
