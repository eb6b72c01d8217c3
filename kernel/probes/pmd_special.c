// SPDX-License-Identifier: GPL-2.0
/*
 * 6.12 marks PMDs of pfns special, as PTEs of a VM_PFNMAP vma always
 * were, so GUP-fast refuses them; 6.1 has no pmd_special().
 */
#include <linux/mm.h>

bool xpmem_probe(pmd_t pmd);
bool xpmem_probe(pmd_t pmd)
{
	return pmd_special(pmd);
}
