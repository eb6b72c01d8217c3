/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the one place where kernel API differences between the
 * supported kernels (Debian 6.1 and 6.12) are handled.  The XPMEM_HAVE_*
 * macros come from the feature probes in probes/ (see Kbuild).
 */
#ifndef XPMEM_COMPAT_H
#define XPMEM_COMPAT_H

#include <linux/mm.h>
#include <linux/huge_mm.h>
#include <linux/pfn_t.h>
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

/*
 * A PMD of pfns.  6.1's vmf_insert_pfn_pmd_prot() takes the pgprot;
 * 6.12 only has vmf_insert_pfn_pmd(), which builds the entry
 * from vma->vm_page_prot, made writable (maybe_pmd_mkwrite) when @write.
 * Our vma is a shared writable mapping with ->pfn_mkwrite, so its
 * vm_page_prot is the write-protected one: passing it for a read-only
 * entry and vm_get_page_prot(vm_flags) for a writable one gives the same
 * entry on both kernels.
 *
 * GUP-fast must refuse the entry as it refuses our special PTEs, or
 * pin_user_pages_fast() (ibv_reg_mr, O_DIRECT) takes the owner's huge page
 * without a vma check: a long-term pin that no invalidation follows.
 * 6.12 marks the entry pmd_special.  Where there is no pmd_special (6.1),
 * the entry is made devmap: GUP-fast refuses a devmap PMD for FOLL_LONGTERM
 * and finds no dev_pagemap for RAM otherwise, so it falls back to the slow
 * path, which refuses VM_PFNMAP with EFAULT.  Zap, mremap and mprotect
 * treat devmap PMDs like the other huge PMDs of a special vma.
 */
#ifdef XPMEM_HAVE_pmd_special
#define XPMEM_PMD_PFN_FLAGS	0
#else
#define XPMEM_PMD_PFN_FLAGS	(PFN_DEV | PFN_MAP)
#endif

static inline vm_fault_t xpmem_insert_pfn_pmd(struct vm_fault *vmf,
					      unsigned long pfn, bool write)
{
	pfn_t p = __pfn_to_pfn_t(pfn, XPMEM_PMD_PFN_FLAGS);
#ifdef XPMEM_HAVE_vmf_insert_pfn_pmd_prot
	struct vm_area_struct *vma = vmf->vma;

	return vmf_insert_pfn_pmd_prot(vmf, p,
				       write ? vm_get_page_prot(vma->vm_flags) :
					       vma->vm_page_prot, write);
#else
	return vmf_insert_pfn_pmd(vmf, p, write);
#endif
}

/*
 * Since 6.4 a fault may run under the per-VMA lock (FAULT_FLAG_VMA_LOCK)
 * rather than mmap_lock.  Our ->fault needs mmap_lock (hmm_range_fault on
 * our own mm, and it drops the attacher's lock to wait for the owner's).
 * 6.12's core never calls ->fault or ->pfn_mkwrite of a vma without
 * ->map_pages under the VMA lock: vmf_can_call_fault() drops it and
 * returns VM_FAULT_RETRY, and the arch handler retries under mmap_lock.
 * xpmem_fault_needs_mmap_lock() does the same should a kernel ever pass
 * us a VMA-locked fault, so the rest of the fault path may rely on
 * mmap_lock; xpmem_release_fault_lock() drops whichever lock is held.
 */
static inline void xpmem_release_fault_lock(struct vm_fault *vmf)
{
#ifdef XPMEM_HAVE_fault_flag_vma_lock
	release_fault_lock(vmf);
#else
	mmap_read_unlock(vmf->vma->vm_mm);
#endif
}

/* VM_FAULT_RETRY (the VMA lock dropped) or 0 (mmap_lock is held). */
static inline vm_fault_t xpmem_fault_needs_mmap_lock(struct vm_fault *vmf)
{
#ifdef XPMEM_HAVE_fault_flag_vma_lock
	if (unlikely(vmf->flags & FAULT_FLAG_VMA_LOCK)) {
		release_fault_lock(vmf);
		return VM_FAULT_RETRY;
	}
#endif
	lockdep_assert_held(&vmf->vma->vm_mm->mmap_lock);
	return 0;
}

#endif /* XPMEM_COMPAT_H */
