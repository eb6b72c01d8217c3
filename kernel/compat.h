/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the one place where kernel API differences between the
 * supported kernels (Debian 6.1 and 6.12) are handled.
 */
#ifndef XPMEM_COMPAT_H
#define XPMEM_COMPAT_H

#include <linux/mm.h>
#include <linux/version.h>

/* vm_flags became read-only with accessors in 6.3. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void xpmem_vma_set_flags(struct vm_area_struct *vma,
				       unsigned long set, unsigned long clear)
{
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
}
#else
static inline void xpmem_vma_set_flags(struct vm_area_struct *vma,
				       unsigned long set, unsigned long clear)
{
	vm_flags_mod(vma, set, clear);
}
#endif

/* ->huge_fault() takes a page order instead of an entry size since 6.6. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 6, 0)
#define XPMEM_HUGE_FAULT_ARG		enum page_entry_size
#define XPMEM_HUGE_FAULT_IS_PMD(a)	((a) == PE_SIZE_PMD)
#else
#define XPMEM_HUGE_FAULT_ARG		unsigned int
#define XPMEM_HUGE_FAULT_IS_PMD(a)	((a) == PMD_ORDER)
#endif

/* mm->get_unmapped_area was replaced by mm_get_unmapped_area() in 6.10. */
static inline unsigned long
xpmem_mm_get_unmapped_area(struct file *file, unsigned long addr,
			   unsigned long len, unsigned long pgoff,
			   unsigned long flags)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 10, 0)
	return current->mm->get_unmapped_area(file, addr, len, pgoff, flags);
#else
	return mm_get_unmapped_area(current->mm, file, addr, len, pgoff, flags);
#endif
}

#endif /* XPMEM_COMPAT_H */
