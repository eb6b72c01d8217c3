/* SPDX-License-Identifier: GPL-2.0 */
/*
 * diff.h - the write-back diff codec: the attacher encodes the bytes of a
 * page that differ from its twin as runs (struct xpmem_wire_wb_page, then
 * struct xpmem_wire_run each followed by its bytes); the owner checks a
 * whole WRITEBACK before it applies any page of it.  Pure code on byte
 * buffers (no pages, no locks): tests/kernel_unit runs it in user space.
 */
#ifndef XPMEM_DIFF_H
#define XPMEM_DIFF_H

#include <linux/types.h>
#include <asm/page.h>

#include "wire.h"

/* A page's diff at worst: every other byte changed, a run per byte. */
#define XPMEM_DIFF_MAX	(sizeof(struct xpmem_wire_wb_page) + \
			 (PAGE_SIZE / 2) * (sizeof(struct xpmem_wire_run) + 1))

/*
 * Encodes the bytes of @now (a page) that differ from @old into @out
 * (room for XPMEM_DIFF_MAX bytes, any alignment) as the entry of page
 * @idx; returns its size, 0 if nothing changed.
 */
size_t xpmem_diff_make(u64 idx, const u8 *now, const u8 *old, u8 *out);

/*
 * Checks the @n page entries at @pos, @bytes long in all, against an
 * attachment of @npages pages: every run inside its page, not empty, the
 * lengths adding up exactly.  0 or -EINVAL.  Entries and runs follow each
 * other without padding, so they may start at any byte: every field is
 * read unaligned.
 */
int xpmem_diff_check(const void *pos, size_t bytes, u32 n, u64 npages);

/* A checked entry, as xpmem_diff_next() reads it. */
struct xpmem_diff_entry {
	u64 page;
	u32 nruns;
	const void *runs;
};

/* Reads the checked entry at *@pos into @e and moves *@pos past it. */
void xpmem_diff_next(const void **pos, struct xpmem_diff_entry *e);

/* Applies the @nruns checked runs at @runs to the page at @dst. */
void xpmem_diff_apply(u8 *dst, const void *runs, u32 nruns);

#endif /* XPMEM_DIFF_H */
