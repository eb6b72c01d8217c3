// SPDX-License-Identifier: GPL-2.0-only
/*
 * migrate: B has faulted in A's buffer; A moves every page to another
 * NUMA node with move_pages(2).  B must still read A's data afterwards,
 * and writes must still flow both ways.  Needs two NUMA nodes with
 * memory; otherwise the case is skipped (see `pageout' for the
 * single-node variant).
 */
#include "itest.h"
#include <sys/syscall.h>

#define NPAGES	32
#define PAT1	0x901
#define PAT2	0x902
#define PAT3	0x903
#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE	(1 << 1)
#endif

/* nodes with memory, from /sys (format "0-1,3") */
static int mem_nodes(int *nodes, int max)
{
	FILE *f = fopen("/sys/devices/system/node/has_memory", "r");
	int n = 0, a, b;
	char sep;

	if (!f)
		return 1;	/* no NUMA support: one node */
	while (fscanf(f, "%d", &a) == 1) {
		b = a;
		if (fscanf(f, "%c", &sep) == 1 && sep == '-') {
			if (fscanf(f, "%d", &b) != 1)
				break;
			if (fscanf(f, "%c", &sep) != 1)
				sep = '\n';
		}
		for (; a <= b && n < max; a++)
			nodes[n++] = a;
		if (sep != ',')
			break;
	}
	fclose(f);
	return n;
}

static long move_pages(void **pages, const int *nodes, int *status, int n)
{
	return syscall(SYS_move_pages, 0, (unsigned long)n, pages, nodes,
		       status, MPOL_MF_MOVE);
}

static void peer_b(int fd, void *arg)
{
	size_t len = NPAGES * it_page;
	xpmem_segid_t segid = (xpmem_segid_t)it_recv(fd);
	xpmem_apid_t apid = it_get(segid, XPMEM_RDWR);
	char *p = it_attach(apid, 0, len);

	(void)arg;
	CHECK_PATTERN(p, len, PAT1, "B reads A's data");
	it_send(fd, 1);
	it_expect(fd, 2);	/* migrated */
	CHECK_PATTERN(p, len, PAT1, "B reads A's data after migration");
	it_fill(p, len, PAT2);
	it_send(fd, 3);
	it_expect(fd, 4);	/* migrated back, A wrote PAT3 */
	CHECK_PATTERN(p, len, PAT3, "B reads A's data after second migration");
	CHECK_OK(xpmem_detach(p));
	CHECK_OK(xpmem_release(apid));
	it_send(fd, 5);
}

/* move all pages of buf to node `to' and check they got there */
static void migrate_all(char *buf, int to)
{
	void *pages[NPAGES];
	int nodes[NPAGES], status[NPAGES], i;
	long r;

	for (i = 0; i < NPAGES; i++) {
		pages[i] = buf + (size_t)i * it_page;
		nodes[i] = to;
		status[i] = -1;
	}
	r = move_pages(pages, nodes, status, NPAGES);
	CHECK(r == 0, "move_pages to node %d = %ld", to, r);
	r = move_pages(pages, NULL, status, NPAGES);
	CHECK(r == 0, "move_pages query = %ld", r);
	for (i = 0; i < NPAGES; i++)
		CHECK(status[i] == to, "page %d is on node %d after move to %d "
		      "(pinned by an attachment?)", i, status[i], to);
}

int main(void)
{
	int nodes[64], n, home;
	size_t len;
	char *buf;
	void *pg;
	struct it_peer b;
	xpmem_segid_t segid;

	it_init("migrate");
	n = mem_nodes(nodes, 64);
	if (n < 2)
		it_skip("page migration needs 2 NUMA nodes with memory, "
			"this guest has %d", n);
	len = NPAGES * it_page;
	b = it_spawn(peer_b, NULL);
	buf = it_map(len);
	it_fill(buf, len, PAT1);
	pg = buf;
	CHECK(move_pages(&pg, NULL, &home, 1) == 0 && home >= 0,
	      "query node of the buffer");
	segid = it_make(buf, len, 0600);
	it_send(b.fd, (uint64_t)segid);
	it_expect(b.fd, 1);
	migrate_all(buf, home == nodes[0] ? nodes[1] : nodes[0]);
	it_send(b.fd, 2);
	it_expect(b.fd, 3);
	CHECK_PATTERN(buf, len, PAT2, "A reads B's writes after migration");
	migrate_all(buf, home);
	it_fill(buf, len, PAT3);
	it_send(b.fd, 4);
	it_expect(b.fd, 5);
	it_join(&b, "attacher B");
	CHECK_OK(xpmem_remove(segid));
	return 0;
}
