/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * xpmem.h - cross-process (and cross-node) memory sharing.
 *
 * Source-compatible with the XPMEM API that Open MPI, MPICH, UCX and
 * libfabric build against.  Functions return -1 (or (void *)-1 from
 * xpmem_attach) and set errno on failure.
 */
#ifndef XPMEM_H
#define XPMEM_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef long long xpmem_segid_t;	/* segment id from xpmem_make() */
typedef long long xpmem_apid_t;	/* access permit id from xpmem_get() */

struct xpmem_addr {
	xpmem_apid_t apid;	/* access permit of the segment */
	off_t offset;		/* byte offset into the segment */
};

#define XPMEM_MAXADDR_SIZE	((size_t)-1L)

/* xpmem_get() flags */
#define XPMEM_RDONLY		0x1
#define XPMEM_RDWR		0x2

/* xpmem_make() / xpmem_get() permit types */
#define XPMEM_PERMIT_MODE	0x1

/* errno value for "the owning process is gone" */
#define XPMEM_ERRNO_NOPROC	2004

int xpmem_init(void);
int xpmem_version(void);
xpmem_segid_t xpmem_make(void *vaddr, size_t size, int permit_type,
			 void *permit_value);
int xpmem_remove(xpmem_segid_t segid);
xpmem_apid_t xpmem_get(xpmem_segid_t segid, int flags, int permit_type,
		       void *permit_value);
int xpmem_release(xpmem_apid_t apid);
void *xpmem_attach(struct xpmem_addr addr, size_t size, void *vaddr);
int xpmem_detach(void *vaddr);

/*
 * Extension: data consistency of attachments of another node's segment
 * (see xpmem_sync(3)).  ACQUIRE: later reads see the owner's data as of
 * now.  RELEASE: this node's writes reach the owner.  On attachments of a
 * segment of the same node both are no-ops (memory is coherent).
 */
#define XPMEM_SYNC_ACQUIRE	0x1
#define XPMEM_SYNC_RELEASE	0x2
#define XPMEM_HAVE_SYNC		1

int xpmem_sync(void *vaddr, size_t size, int flags);

#ifdef __cplusplus
}
#endif

#endif /* XPMEM_H */
