// SPDX-License-Identifier: GPL-2.0
/*
 * The fault path of an attachment.  Pages are resolved in the owner's mm
 * with hmm_range_fault() under the segment notifier's sequence count and
 * mapped without taking a reference (VM_PFNMAP), so nothing is pinned: the
 * notifier zaps the PTEs before the owner's page can go away.
 *
 * A fault maps the pages around the faulting address that the owner has
 * present (fault-around, up to one page table), faults in a smaller batch
 * of them in the owner's mm if they are not, or maps one PMD when the
 * owner maps a transparent huge page there and the attachment is
 * congruent with it.  Which of the two is decided on the attacher's PMD
 * under att->map_lock (see xpmem_map()).
 */
#include <linux/hmm.h>
#include <linux/huge_mm.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pfn_t.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "xpmem_internal.h"

#define XPMEM_FAULT_BATCH_MAX	32

static unsigned int fault_batch = 16;
module_param(fault_batch, uint, 0644);
MODULE_PARM_DESC(fault_batch, "pages faulted in and mapped per fault (1-32, default 16)");

static unsigned int fault_around = PTRS_PER_PTE;
module_param(fault_around, uint, 0644);
MODULE_PARM_DESC(fault_around, "pages mapped per fault where the owner has them present (1-512, default 512: a page table; at least fault_batch)");

struct xpmem_fault {
	struct vm_fault *vmf;
	struct xpmem_att *att;
	struct xpmem_seg *seg;
	unsigned long start, end;	/* attacher addresses of the window */
	unsigned long fstart, fend;	/* of them, populated in the owner */
	unsigned long delta;		/* owner address - attacher address */
	unsigned int idx;		/* the faulting page in the window */
	unsigned long *pfns;		/* one per page of the window */
	unsigned long mapped;		/* PTEs installed */
	pgprot_t prot_rw, prot_ro;
	unsigned long stack_pfns[XPMEM_FAULT_BATCH_MAX];
};

/*
 * Takes the owner's mmap_lock without nesting it under the attacher's
 * (two processes attaching each other would deadlock): try, and if that
 * fails, drop the attacher's lock, wait for the owner's and retry.
 */
static vm_fault_t xpmem_lock_owner(struct vm_fault *vmf, struct mm_struct *mm)
{
	if (mm == vmf->vma->vm_mm || mmap_read_trylock(mm))
		return 0;
	if (!(vmf->flags & FAULT_FLAG_ALLOW_RETRY))
		return VM_FAULT_SIGBUS;
	if (vmf->flags & FAULT_FLAG_RETRY_NOWAIT)
		return VM_FAULT_RETRY;
	xpmem_release_fault_lock(vmf);
	if (!mmap_read_lock_killable(mm))
		mmap_read_unlock(mm);
	xpmem_count_inc(XPMEM_CNT_FAULT_RETRIES);
	return VM_FAULT_RETRY;
}

static void xpmem_unlock_owner(struct vm_fault *vmf, struct mm_struct *mm)
{
	if (mm != vmf->vma->vm_mm)
		mmap_read_unlock(mm);
}

/* [*lo, *hi) narrowed to the @n-page aligned window around @addr. */
static void xpmem_window(unsigned long addr, unsigned long n,
			 unsigned long *lo, unsigned long *hi)
{
	unsigned long start = addr - ((addr >> PAGE_SHIFT) % n) * PAGE_SIZE;

	*lo = max(*lo, start);
	*hi = min(*hi, start + n * PAGE_SIZE);
}

/*
 * Chooses the window: within the vma, the owner's vma and one PMD, at most
 * @around pages, of which at most @batch (around the faulting page) are
 * populated in the owner; the others are mapped only if present there.
 * The pfn array is on the stack up to XPMEM_FAULT_BATCH_MAX pages, else
 * allocated (or, failing that, the window shrinks to the batch).
 */
static int xpmem_fault_window(struct xpmem_fault *f, struct mm_struct *owner,
			      unsigned long batch, unsigned long around)
{
	struct vm_area_struct *vma = f->vmf->vma;
	unsigned long addr = f->vmf->address & PAGE_MASK;
	struct vm_area_struct *ovma;
	unsigned long oaddr, lo, hi, n;

	f->delta = f->seg->vaddr + f->att->offset - vma->vm_start;
	oaddr = addr + f->delta;
	ovma = vma_lookup(owner, oaddr);
	if (!ovma || (ovma->vm_flags & (VM_IO | VM_PFNMAP)))
		return -EFAULT;

	/*
	 * Distances from the faulting page, never ovma->vm_start - delta:
	 * the owner's vma may begin further below the segment than the
	 * attachment lies above 0, and that wrapped to a huge start.
	 */
	lo = max(vma->vm_start, addr & PMD_MASK);
	lo = addr - min(addr - lo, oaddr - ovma->vm_start);
	hi = min(vma->vm_end, (addr & PMD_MASK) + PMD_SIZE);
	hi = addr + min(hi - addr, ovma->vm_end - oaddr);
	f->fstart = lo;
	f->fend = hi;
	xpmem_window(addr, batch, &f->fstart, &f->fend);
	f->start = lo;
	f->end = hi;
	xpmem_window(addr, max(around, batch), &f->start, &f->end);
	n = (f->end - f->start) >> PAGE_SHIFT;
	if (n > XPMEM_FAULT_BATCH_MAX && f->pfns == f->stack_pfns) {
		/* the most any window of this fault can need */
		f->pfns = kmalloc_array(max(around, batch), sizeof(*f->pfns),
					GFP_KERNEL);
		if (!f->pfns) {
			f->pfns = f->stack_pfns;
			f->start = f->fstart;
			f->end = f->fend;
		}
	}
	f->idx = (addr - f->start) >> PAGE_SHIFT;
	return 0;
}

static int xpmem_resolve(struct xpmem_fault *f, struct mm_struct *owner,
			 unsigned long *seq)
{
	bool write = f->vmf->flags & FAULT_FLAG_WRITE;
	struct hmm_range range = {
		.notifier = &f->seg->notifier,
		.start = f->start + f->delta,
		.end = f->end + f->delta,
		.hmm_pfns = f->pfns,
		.pfn_flags_mask = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
	};
	unsigned long i, n = (f->end - f->start) >> PAGE_SHIFT;
	unsigned long first = (f->fstart - f->start) >> PAGE_SHIFT;
	unsigned long last = (f->fend - f->start) >> PAGE_SHIFT;
	int ret;

	do {
		if (fatal_signal_pending(current))
			return -EINTR;
		/*
		 * The batch is faulted in; around it only what the owner
		 * has present is mapped.  Only the faulting page is written;
		 * others map as they are.
		 */
		for (i = 0; i < n; i++)
			f->pfns[i] = i >= first && i < last ?
				     HMM_PFN_REQ_FAULT : 0;
		if (write)
			f->pfns[f->idx] |= HMM_PFN_REQ_WRITE;
		range.notifier_seq = mmu_interval_read_begin(range.notifier);
		ret = hmm_range_fault(&range);
	} while (ret == -EBUSY);
	*seq = range.notifier_seq;
	return ret;
}

/* apply_to_page_range() callback: only the page-table allocation matters. */
static int xpmem_prealloc_pte(pte_t *pte, unsigned long addr, void *data)
{
	return 0;
}

/*
 * May the batch map as one PMD: the owner maps a THP here, the vma covers
 * the whole 2 MiB and is congruent with it.  The attacher's PMD itself is
 * looked at later, under att->map_lock (xpmem_map).
 */
static bool xpmem_want_pmd(struct xpmem_fault *f)
{
	struct vm_area_struct *vma = f->vmf->vma;
	unsigned long haddr = f->vmf->address & PMD_MASK;
	unsigned long pfn = page_to_pfn(hmm_pfn_to_page(f->pfns[f->idx]));

	return hmm_pfn_to_map_order(f->pfns[f->idx]) == PMD_SHIFT - PAGE_SHIFT &&
	       haddr >= vma->vm_start && haddr + PMD_SIZE <= vma->vm_end &&
	       !((haddr + f->delta) & ~PMD_MASK) &&
	       !((pfn - ((f->vmf->address - haddr) >> PAGE_SHIFT)) &
		 (PTRS_PER_PMD - 1));
}

enum xpmem_pmd_kind { XPMEM_PMD_NONE, XPMEM_PMD_TABLE, XPMEM_PMD_LEAF };

/* What the attacher's PMD holds now, read under its page-table lock. */
static enum xpmem_pmd_kind xpmem_pmd_kind(struct vm_fault *vmf)
{
	spinlock_t *ptl = pmd_lock(vmf->vma->vm_mm, vmf->pmd);
	pmd_t pmd = *vmf->pmd;

	spin_unlock(ptl);
	if (pmd_none(pmd))
		return XPMEM_PMD_NONE;
	return pmd_leaf(pmd) ? XPMEM_PMD_LEAF : XPMEM_PMD_TABLE;
}

/*
 * May the PTE of this page be written directly: ordinary memory, which the
 * owner maps write-back (anonymous, page cache, the zero page).  Anything
 * else (a driver's page of another cache mode in a VM_MIXEDMAP vma) goes
 * through vmf_insert_pfn_prot(), which asks PAT for the cache mode.
 */
static bool xpmem_plain_pfn(unsigned long pfn)
{
	struct folio *folio;

	if (is_zero_pfn(pfn))
		return true;
	folio = page_folio(pfn_to_page(pfn));
	return folio_test_anon(folio) || folio->mapping;
}

/*
 * The attacher may now store to the owner's page through a PTE the core
 * never ties to that page, so the page's own dirty state must say so
 * before it does: a clean page would be lost to reclaim (an anonymous
 * page after MADV_FREE is discarded) or never written back (page cache).
 * A cleaning of the page (MADV_FREE, writeback's page_mkclean) goes through
 * the notifier, which zaps the attacher's PTE: the next store faults here
 * again.  Callers hold seg->lock, under which the owner still maps @pfn.
 */
static void xpmem_dirty_owner_page(unsigned long pfn)
{
	if (!is_zero_pfn(pfn))
		folio_mark_dirty(page_folio(pfn_to_page(pfn)));
}

/*
 * apply_to_page_range() callback, under the attacher's PTE lock: installs
 * one resolved page where the PTE is empty, as vmf_insert_pfn_prot()
 * would (a special PTE, no reference, no rmap).  A page that is not plain
 * memory is left for xpmem_map_locked() to insert after the walk.
 */
static int xpmem_set_pte(pte_t *pte, unsigned long addr, void *data)
{
	struct xpmem_fault *f = data;
	unsigned long hpfn = f->pfns[(addr - f->start) >> PAGE_SHIFT];
	unsigned long pfn;
	bool rw;

	if (!(hpfn & HMM_PFN_VALID) || !pte_none(ptep_get(pte)))
		return 0;
	pfn = page_to_pfn(hmm_pfn_to_page(hpfn));
	if (!xpmem_plain_pfn(pfn))
		return 0;
	rw = f->att->writable && (hpfn & HMM_PFN_WRITE);
	if (rw)
		xpmem_dirty_owner_page(pfn);
	set_pte_at(f->vmf->vma->vm_mm, addr, pte,
		   pte_mkspecial(pfn_pte(pfn, rw ? f->prot_rw : f->prot_ro)));
	update_mmu_cache(f->vmf->vma, addr, pte);
	f->mapped++;
	return 0;
}

/*
 * Installs the resolved pages; called under seg->lock with the attacher's
 * PMD a page table (or, @huge, empty or our own huge PMD).  The PTEs of
 * the whole window are written in one walk under one PTE lock.
 */
static vm_fault_t xpmem_map_locked(struct xpmem_fault *f, bool huge)
{
	struct vm_area_struct *vma = f->vmf->vma;
	unsigned long i, n = (f->end - f->start) >> PAGE_SHIFT;
	vm_fault_t ret = VM_FAULT_NOPAGE;

	lockdep_assert_held(&f->att->map_lock);
	lockdep_assert_held(&f->seg->lock);
	if (huge) {
		unsigned long pfn = page_to_pfn(hmm_pfn_to_page(f->pfns[f->idx])) -
			(((f->vmf->address & ~PMD_MASK)) >> PAGE_SHIFT);
		bool rw = f->att->writable && (f->pfns[f->idx] & HMM_PFN_WRITE);

		xpmem_count_inc(XPMEM_CNT_PMD_MAPS);
		if (rw)
			xpmem_dirty_owner_page(pfn);
		return xpmem_insert_pfn_pmd(f->vmf, pfn, rw);
	}

	f->prot_rw = vm_get_page_prot(vma->vm_flags);
	f->prot_ro = vma->vm_page_prot;
	f->mapped = 0;
	/* The PMD is a table (see xpmem_map()): this allocates nothing. */
	if (apply_to_page_range(vma->vm_mm, f->start, f->end - f->start,
				xpmem_set_pte, f))
		return VM_FAULT_SIGBUS;
	for (i = 0; i < n; i++) {
		unsigned long hpfn = f->pfns[i];
		unsigned long pfn = page_to_pfn(hmm_pfn_to_page(hpfn));
		bool rw = f->att->writable && (hpfn & HMM_PFN_WRITE);
		vm_fault_t r;

		if (!(hpfn & HMM_PFN_VALID) || xpmem_plain_pfn(pfn))
			continue;
		r = vmf_insert_pfn_prot(vma, f->start + i * PAGE_SIZE, pfn,
					rw ? f->prot_rw : f->prot_ro);
		if (r == VM_FAULT_NOPAGE)
			f->mapped++;
		if (i == f->idx)
			ret = r;
	}
	xpmem_count_add(XPMEM_CNT_FAULT_PAGES, f->mapped);
	return ret;
}

/* xpmem_map() found the owner changed since the resolve: resolve again. */
#define XPMEM_MAP_AGAIN	((vm_fault_t)0)

/*
 * Maps the resolved batch as one PMD or as PTEs.  The choice is made on
 * the PMD as it is now, and nothing can change it before the install:
 * every install into this attachment's page tables (and the allocation of
 * a PTE table for one) holds att->map_lock, and the zap (notifier, under
 * seg->lock) only empties entries.  The one change from outside is the
 * core's split of a read-only huge PMD on a write fault, which empties it;
 * vmf_insert_pfn_pmd() takes an empty PMD as well as our own huge one.
 * A PTE is never installed under a huge PMD, nor a PMD over a PTE table.
 */
static vm_fault_t xpmem_map(struct xpmem_fault *f, bool huge,
			    unsigned long seq)
{
	struct vm_fault *vmf = f->vmf;
	vm_fault_t ret;

	might_sleep();
	lockdep_assert_held(&f->att->map_lock);
	for (;;) {
		enum xpmem_pmd_kind kind;

		mutex_lock(&f->seg->lock);
		if (READ_ONCE(f->att->dead)) {
			ret = VM_FAULT_SIGBUS;
			break;
		}
		if (mmu_interval_read_retry(&f->seg->notifier, seq)) {
			xpmem_count_inc(XPMEM_CNT_FAULT_RETRIES);
			ret = XPMEM_MAP_AGAIN;
			break;
		}
		kind = xpmem_pmd_kind(vmf);
		if (kind == XPMEM_PMD_TABLE)
			huge = false;	/* already mapped by PTEs here */
		if (huge || kind == XPMEM_PMD_TABLE) {
			ret = xpmem_map_locked(f, huge);
			break;
		}
		if (kind == XPMEM_PMD_LEAF) {
			/* Mapped huge by another fault: the access retries. */
			ret = VM_FAULT_NOPAGE;
			break;
		}
		/* No allocation under seg->lock: the notifier takes it. */
		mutex_unlock(&f->seg->lock);
		if (apply_to_page_range(vmf->vma->vm_mm, f->start,
					f->end - f->start, xpmem_prealloc_pte,
					NULL))
			return VM_FAULT_OOM;
	}
	mutex_unlock(&f->seg->lock);
	return ret;
}

/*
 * Resolves the batch in the owner's mm and maps it.  A fault may drop the
 * attacher's mmap_lock to wait for the owner's (VM_FAULT_RETRY); an mkwrite
 * may not (the core goes on to finish_mkwrite_fault() on anything but an
 * error or NOPAGE), so it only tries the owner's lock: VM_FAULT_RETRY here
 * then means "not taken", the attacher's lock still held.
 */
static vm_fault_t xpmem_fault_in(struct vm_fault *vmf, bool mkwrite)
{
	struct xpmem_fault f = { .vmf = vmf, .att = vmf->vma->vm_private_data };
	unsigned long batch = clamp(READ_ONCE(fault_batch), 1U,
				    (unsigned int)XPMEM_FAULT_BATCH_MAX);
	unsigned long around = clamp(READ_ONCE(fault_around), 1U,
				     (unsigned int)PTRS_PER_PTE);
	struct mm_struct *owner;
	unsigned long seq;
	vm_fault_t ret;
	int err;

	might_sleep();
	f.seg = f.att->seg;
	f.pfns = f.stack_pfns;
	owner = f.seg->mm;
	if (READ_ONCE(f.att->dead) || !mmget_not_zero(owner))
		return VM_FAULT_SIGBUS;

	do {
		if (!mkwrite)
			ret = xpmem_lock_owner(vmf, owner);
		else if (owner == vmf->vma->vm_mm || mmap_read_trylock(owner))
			ret = 0;
		else
			ret = VM_FAULT_RETRY;
		if (ret)
			break;
		err = mkwrite ? xpmem_fault_window(&f, owner, 1, 1) :
				xpmem_fault_window(&f, owner, batch, around);
		if (!err)
			err = xpmem_resolve(&f, owner, &seq);
		xpmem_unlock_owner(vmf, owner);
		if (err) {
			ret = err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
			break;
		}

		mutex_lock(&f.att->map_lock);
		ret = xpmem_map(&f, !mkwrite && xpmem_want_pmd(&f), seq);
		mutex_unlock(&f.att->map_lock);
	} while (ret == XPMEM_MAP_AGAIN);
	if (f.pfns != f.stack_pfns)
		kfree(f.pfns);
	mmput_async(owner);
	return ret;
}

vm_fault_t xpmem_fault(struct vm_fault *vmf)
{
	vm_fault_t ret = xpmem_fault_needs_mmap_lock(vmf);

	if (ret)
		return ret;
	xpmem_count_inc(XPMEM_CNT_FAULTS);
	return xpmem_fault_in(vmf, false);
}

/*
 * A write to a page mapped read-only: it was read first, or the owner's PTE
 * was not writable then (shared COW after fork, the zero page).  The write
 * is resolved here, in the owner's mm (breaking COW there), and the page
 * mapped writable in place of the read-only PTE, dropped first.
 *
 * Dropping the PTE and leaving the write to fault again is not enough: an
 * instruction that reads and writes (lock add, add to memory) may fault as
 * a read first, and a read fault maps the still COW-shared page read-only
 * again, forever (issue 14; tests/integration/cow_write.c).  Only if the
 * owner's mmap_lock cannot be had without dropping the attacher's is the
 * write left to fault again, which then waits for that lock.
 */
vm_fault_t xpmem_pfn_mkwrite(struct vm_fault *vmf)
{
	struct xpmem_att *att = vmf->vma->vm_private_data;
	vm_fault_t ret;

	might_sleep();
	if (!att->writable || READ_ONCE(att->dead))
		return VM_FAULT_SIGBUS;
	xpmem_count_inc(XPMEM_CNT_MKWRITES);
	/* before the resolve's sequence is read: this zap may bump it */
	zap_vma_ptes(vmf->vma, vmf->address & PAGE_MASK, PAGE_SIZE);
	ret = xpmem_fault_in(vmf, true);
	if (ret == VM_FAULT_RETRY) {
		xpmem_count_inc(XPMEM_CNT_FAULT_RETRIES);
		return VM_FAULT_NOPAGE;
	}
	/* Never 0 nor RETRY: the PTE is ours, not the core's to upgrade. */
	return ret & VM_FAULT_ERROR ? ret : VM_FAULT_NOPAGE;
}
