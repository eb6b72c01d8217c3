/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bench.h: what the benchmark programs share: a monotonic clock, samples
 * with median/min/max, the kernel counters, and one JSON object per line
 * on stdout for every figure (collected by bench/run.sh).
 */
#ifndef XPMEM_BENCH_H
#define XPMEM_BENCH_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xpmem_uapi.h>

#include "../tests/common/counters.h"

#define KIB (1024UL)
#define MIB (1024UL * 1024)
#define GIB (1024UL * MIB)
#define BENCH_MAX_SAMPLES 64
#define BENCH_END ((const char *)NULL)	/* ends bench_emit()'s pairs */

static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void bench_die(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
	exit(2);
}

struct bench_stats {
	double v[BENCH_MAX_SAMPLES];
	int n;
};

static inline void bench_add(struct bench_stats *s, double v)
{
	if (s->n < BENCH_MAX_SAMPLES)
		s->v[s->n++] = v;
}

static inline int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts the samples; the median of an even count is the mean of the two. */
static inline double bench_median(struct bench_stats *s)
{
	if (!s->n)
		return 0;
	qsort(s->v, (size_t)s->n, sizeof(s->v[0]), bench_cmp);
	return s->n % 2 ? s->v[s->n / 2] :
	       (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
}

/*
 * One figure: {"name":..,"size":..,"unit":..,"median":..,"min":..,
 * "max":..,"n":..} (the name with "_$BENCH_TAG" appended when that is set)
 * and optional extra "key":number pairs (a NULL-ended
 * list of const char *key, double value).
 */
static inline void bench_emit(const char *name, unsigned long size,
			      const char *unit, struct bench_stats *s, ...)
{
	double med = bench_median(s);
	const char *key, *tag = getenv("BENCH_TAG");
	va_list ap;

	printf("{\"name\":\"%s%s%s\",\"size\":%lu,\"unit\":\"%s\","
	       "\"median\":%.6g,\"min\":%.6g,\"max\":%.6g,\"n\":%d",
	       name, tag ? "_" : "", tag ? tag : "", size, unit, med, s->n ? s->v[0] : 0,
	       s->n ? s->v[s->n - 1] : 0, s->n);
	va_start(ap, s);
	while ((key = va_arg(ap, const char *)) != NULL)
		printf(",\"%s\":%.6g", key, va_arg(ap, double));
	va_end(ap);
	printf("}\n");
	fflush(stdout);
}

static inline long bench_counter(const char *name)
{
	return (long)xpmem_counter(name);
}

/* A module parameter of xpmem.ko: read (@val NULL) or write. */
static inline long bench_param(const char *name, const char *val)
{
	char path[128];
	long old = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/xpmem/parameters/%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &old) != 1)
		old = -1;
	fclose(f);
	if (val) {
		f = fopen(path, "w");
		if (!f || fputs(val, f) < 0 || fclose(f))
			bench_die(path);
	}
	return old;
}

/* Keeps the compiler from dropping a copy whose result is unused. */
static inline void bench_clobber(void *p)
{
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

#endif /* XPMEM_BENCH_H */
