// SPDX-License-Identifier: GPL-2.0
/*
 * Until 6.5 a PMD of pfns is inserted with an explicit pgprot; later
 * kernels only have vmf_insert_pfn_pmd(), which takes vma->vm_page_prot.
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
