// SPDX-License-Identifier: GPL-2.0
/*
 * diff.c - the write-back diff codec, both halves (diff.h).
 */
#include <linux/errno.h>
#include <linux/stddef.h>
#include <linux/string.h>
#ifdef XPMEM_HAVE_linux_unaligned	/* probes/linux_unaligned.c */
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

#include "diff.h"

/*
 * Entries and runs may start at any byte: their fields are reached by
 * offset from a byte pointer, never through a misaligned struct pointer.
 */
#define RUN_HDR		sizeof(struct xpmem_wire_run)
#define PAGE_HDR	sizeof(struct xpmem_wire_wb_page)
#define FIELD(p, type, f)	((p) + offsetof(struct type, f))
#define RUN(p, f)	FIELD(p, xpmem_wire_run, f)
#define ENTRY(p, f)	FIELD(p, xpmem_wire_wb_page, f)

size_t xpmem_diff_make(u64 idx, const u8 *now, const u8 *old, u8 *out)
{
	unsigned int off = 0, start, nruns = 0;
	u8 *p = out + PAGE_HDR;

	while (off < PAGE_SIZE) {
		if (now[off] == old[off]) {
			off++;
			continue;
		}
		for (start = off; off < PAGE_SIZE && now[off] != old[off];)
			off++;
		put_unaligned_le16(start, RUN(p, offset));
		put_unaligned_le16(off - start, RUN(p, len));
		memcpy(p + RUN_HDR, now + start, off - start);
		p += RUN_HDR + off - start;
		nruns++;
	}
	if (!nruns)
		return 0;
	put_unaligned_le64(idx, ENTRY(out, page));
	put_unaligned_le32(nruns, ENTRY(out, nruns));
	put_unaligned_le32(p - out - PAGE_HDR, ENTRY(out, len));
	return p - out;
}

/* Checks that the runs lie inside one page and fill exactly @bytes. */
static int xpmem_diff_check_runs(const u8 *p, u32 nruns, size_t bytes)
{
	u16 off, len;
	u32 i;

	for (i = 0; i < nruns; i++) {
		if (bytes < RUN_HDR)
			return -EINVAL;
		off = get_unaligned_le16(RUN(p, offset));
		len = get_unaligned_le16(RUN(p, len));
		if (!len || off + len > PAGE_SIZE || bytes - RUN_HDR < len)
			return -EINVAL;
		bytes -= RUN_HDR + len;
		p += RUN_HDR + len;
	}
	return bytes ? -EINVAL : 0;
}

int xpmem_diff_check(const void *pos, size_t bytes, u32 n, u64 npages)
{
	const u8 *p = pos;
	size_t len;
	u32 i;

	for (i = 0; i < n; i++) {
		if (bytes < PAGE_HDR)
			return -EINVAL;
		len = get_unaligned_le32(ENTRY(p, len));
		if (len > bytes - PAGE_HDR ||
		    get_unaligned_le64(ENTRY(p, page)) >= npages ||
		    xpmem_diff_check_runs(p + PAGE_HDR,
					  get_unaligned_le32(ENTRY(p, nruns)),
					  len))
			return -EINVAL;
		bytes -= PAGE_HDR + len;
		p += PAGE_HDR + len;
	}
	return bytes ? -EINVAL : 0;
}

void xpmem_diff_next(const void **pos, struct xpmem_diff_entry *e)
{
	const u8 *p = *pos;

	e->page = get_unaligned_le64(ENTRY(p, page));
	e->nruns = get_unaligned_le32(ENTRY(p, nruns));
	e->runs = p + PAGE_HDR;
	*pos = p + PAGE_HDR + get_unaligned_le32(ENTRY(p, len));
}

void xpmem_diff_apply(u8 *dst, const void *runs, u32 nruns)
{
	const u8 *p = runs;
	u16 off, len;
	u32 i;

	for (i = 0; i < nruns; i++) {
		off = get_unaligned_le16(RUN(p, offset));
		len = get_unaligned_le16(RUN(p, len));
		memcpy(dst + off, p + RUN_HDR, len);
		p += RUN_HDR + len;
	}
}
