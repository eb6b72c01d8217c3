// SPDX-License-Identifier: GPL-2.0
/*
 * 6.12 moved the unaligned accessors from <asm/unaligned.h> to
 * <linux/unaligned.h>.
 */
#include <linux/unaligned.h>

u16 xpmem_probe(const void *p);
u16 xpmem_probe(const void *p)
{
	return get_unaligned_le16(p);
}
