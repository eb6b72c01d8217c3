// SPDX-License-Identifier: GPL-2.0
/* Since 6.10 mm->get_unmapped_area is gone; this helper replaces it. */
#include <linux/mm.h>
#include <linux/sched.h>

unsigned long xpmem_probe(struct file *file);
unsigned long xpmem_probe(struct file *file)
{
	return mm_get_unmapped_area(current->mm, file, 0, 0, 0, 0);
}
