/* SPDX-License-Identifier: MIT */
/*
 * counters.h - read one value of /proc/xpmem/counters: the one reader
 * shared by the integration tests, the cross-node tests and the benchmarks.
 */
#ifndef XPMEM_TEST_COUNTERS_H
#define XPMEM_TEST_COUNTERS_H

#include <stdio.h>
#include <string.h>

#include <xpmem_uapi.h>

/* Value of counter `name', or -1 if the file or the line is missing. */
static inline long long xpmem_counter(const char *name)
{
	FILE *f = fopen(XPMEM_PROC_COUNTERS, "r");
	char key[64];
	long long v, found = -1;

	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", key, &v) == 2)
		if (strcmp(key, name) == 0) {
			found = v;
			break;
		}
	fclose(f);
	return found;
}

#endif /* XPMEM_TEST_COUNTERS_H */
