// SPDX-License-Identifier: GPL-2.0
/*
 * 6.1 inserts a PMD of pfns with an explicit pgprot; 6.12 only has
 * vmf_insert_pfn_pmd(), which takes vma->vm_page_prot.
 */
#include <linux/mm.h>
#include <linux/huge_mm.h>
#include <linux/pfn_t.h>

vm_fault_t xpmem_probe(struct vm_fault *vmf);
vm_fault_t xpmem_probe(struct vm_fault *vmf)
{
	return vmf_insert_pfn_pmd_prot(vmf, pfn_to_pfn_t(0),
				       vmf->vma->vm_page_prot, false);
}
