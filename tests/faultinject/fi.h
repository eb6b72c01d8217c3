/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fi.h - shared by the fault-injection and storm programs.
 *
 * Outcome tables live in a MAP_SHARED page made before any fork, so that
 * processes running with /proc/self/make-it-fail set never print (stdio
 * would allocate and fail too): they count into the table with atomic
 * adds, and the parent, which runs without injection, prints it.
 */
#ifndef FI_H
#define FI_H

#include <sys/prctl.h>

#include "../integration/itest.h"

enum fi_out {
	FO_OK, FO_ENOMEM, FO_EFAULT, FO_EAGAIN, FO_EINTR, FO_ENOENT,
	FO_SIGBUS, FO_SIGSEGV, FO_BAD, FO_NR
};

static const char *const fi_out_name[FO_NR] = {
	"ok", "ENOMEM", "EFAULT", "EAGAIN", "EINTR", "ENOENT",
	"SIGBUS", "SIGSEGV", "BAD",
};

#define FI_MAX_OPS	24
#define FI_MAX_BAD	24

struct fi_table {
	const char *ops[FI_MAX_OPS];	/* same binary: pointers stay valid */
	long n[FI_MAX_OPS][FO_NR];
	long points[FI_MAX_OPS];	/* fail-nth: injection points found */
	int nbad;
	char bad[FI_MAX_BAD][200];
	volatile int flag[8];		/* handshakes between processes */
	volatile long word[8];
};

static struct fi_table *fi;

IT_API void fi_table_init(const char *const *ops, int nops)
{
	int i;

	fi = mmap(NULL, sizeof(*fi), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(fi != MAP_FAILED, "mmap shared table");
	memset(fi, 0, sizeof(*fi));
	for (i = 0; i < nops && i < FI_MAX_OPS; i++)
		fi->ops[i] = ops[i];
}

/* Record a wrong outcome; safe under injection (no allocation). */
__attribute__((format(printf, 1, 2)))
IT_API void fi_bad(const char *fmt, ...)
{
	int i = __atomic_fetch_add(&fi->nbad, 1, __ATOMIC_RELAXED);
	va_list ap;

	if (i >= FI_MAX_BAD)
		return;
	va_start(ap, fmt);
	vsnprintf(fi->bad[i], sizeof(fi->bad[i]), fmt, ap);
	va_end(ap);
}

IT_API void fi_count(int op, enum fi_out o)
{
	__atomic_fetch_add(&fi->n[op][o], 1, __ATOMIC_RELAXED);
}

/*
 * Count the errno of a failed call.  ENOMEM, EFAULT (a copy to user space
 * whose page fault failed), EAGAIN and EINTR are what an injected failure
 * may turn into; ENOENT only where the caller says it is possible.
 * Anything else is wrong.
 */
IT_API void fi_count_errno(int op, int e, int enoent_ok)
{
	switch (e) {
	case ENOMEM: fi_count(op, FO_ENOMEM); return;
	case EFAULT: fi_count(op, FO_EFAULT); return;
	case EAGAIN: fi_count(op, FO_EAGAIN); return;
	case EINTR: fi_count(op, FO_EINTR); return;
	case ENOENT:
		if (enoent_ok) {
			fi_count(op, FO_ENOENT);
			return;
		}
		break;
	}
	fi_count(op, FO_BAD);
	fi_bad("%s: unexpected errno %d (%s) in pid %d", fi->ops[op], e,
	       strerrorname_np(e) ? strerrorname_np(e) : "?", (int)getpid());
}

IT_API void fi_count_sig(int op, int sig)
{
	fi_count(op, sig == SIGBUS ? FO_SIGBUS : sig == SIGSEGV ? FO_SIGSEGV : FO_BAD);
}

/* Prints the table; returns the number of BAD outcomes. */
IT_API long fi_print(const char *title, int nops, int with_points)
{
	long bad = 0;
	int i, o;

	printf("%s\n  %-14s", title, "call");
	if (with_points)
		printf(" %6s", "points");
	for (o = 0; o < FO_NR; o++)
		printf(" %7s", fi_out_name[o]);
	printf("\n");
	for (i = 0; i < nops; i++) {
		printf("  %-14s", fi->ops[i]);
		if (with_points)
			printf(" %6ld", fi->points[i]);
		for (o = 0; o < FO_NR; o++)
			printf(" %7ld", fi->n[i][o]);
		printf("\n");
		bad += fi->n[i][FO_BAD];
	}
	for (i = 0; i < fi->nbad && i < FI_MAX_BAD; i++)
		printf("  BAD: %s\n", fi->bad[i]);
	if (fi->nbad > FI_MAX_BAD)
		printf("  (%d more BAD lines not kept)\n", fi->nbad - FI_MAX_BAD);
	return bad + (fi->nbad > bad ? fi->nbad - bad : 0);
}

/* The gauges of /proc/xpmem/counters, summed; -1 if unreadable. */
static const char *const fi_gauges[] = {
	"contexts", "segments", "permits", "attachments", "attached_pages",
};

IT_API void fi_gauges_read(long long g[5])
{
	int i;

	for (i = 0; i < 5; i++)
		g[i] = it_counter(fi_gauges[i]);
}

/*
 * Wait up to ms for every gauge to read 0 (contexts: own, the caller's
 * own opens of the device); prints leftovers, returns 0/-1.
 */
IT_API int fi_gauges_settle(long ms, long long own)
{
	long long g[5];
	long waited;
	int i, left = 0;

	for (waited = 0;; waited += 100) {
		fi_gauges_read(g);
		for (i = left = 0; i < 5; i++)
			left |= g[i] != (i == 0 ? own : 0);
		if (!left || waited >= ms)
			break;
		it_msleep(100);
	}
	if (!left)
		return 0;
	printf("  leaked gauges after %ld ms:", ms);
	for (i = 0; i < 5; i++)
		printf(" %s=%lld", fi_gauges[i], g[i]);
	printf("\n");
	return -1;
}

/* waitpid with a deadline: returns the status, or -1 after timeout_ms. */
IT_API int fi_wait_timeout(pid_t pid, long timeout_ms)
{
	long waited;
	int st;
	pid_t r;

	for (waited = 0; waited <= timeout_ms; waited += 20) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r < 0 && errno != EINTR)
			return -2;
		it_msleep(20);
	}
	return -1;
}

/* State of a process from /proc/PID/stat ('D' is unkillable sleep). */
IT_API char fi_proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] && p[2] ? p[2] : '?';
}

/* Print /proc/PID/stack and wchan of a stuck process. */
IT_API void fi_dump_stack(pid_t pid)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd),
		 "echo '  pid %d state:' $(cut -d' ' -f3 /proc/%d/stat) "
		 "wchan $(cat /proc/%d/wchan); sed 's/^/    /' /proc/%d/stack",
		 (int)pid, (int)pid, (int)pid, (int)pid);
	if (system(cmd) < 0)
		printf("  (cannot dump pid %d)\n", (int)pid);
}

#endif /* FI_H */
