/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * itest.h - tiny helpers shared by the single-node integration cases.
 *
 * Every case is a standalone program that runs as root inside a guest
 * with /dev/xpmem present.  Exit status: 0 pass, 1 fail, 77 skip.
 * Helpers cover: checks that print file:line and errno, socketpair
 * messaging with a timeout (a peer that dies gives EOF, never a hang),
 * forked peers whose exit status is checked, deterministic data patterns,
 * SIGBUS/SIGSEGV-safe memory probes, and /proc/xpmem/counters.
 */
#ifndef ITEST_H
#define ITEST_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xpmem.h"
#include "xpmem_uapi.h"

#include "../common/counters.h"

/* helpers: each case uses some of them */
#define IT_API static __attribute__((unused))

#define IT_SKIP_STATUS	77
#define IT_MSG_TIMEOUT_MS	60000

static const char *it_name = "itest";
static long it_page;

/* --- reporting ----------------------------------------------------------- */

__attribute__((format(printf, 3, 4), noreturn))
IT_API void it_fail_at(const char *file, int line, const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	fprintf(stderr, "%s[%d]: FAIL %s:%d: ", it_name, (int)getpid(), file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (errno %d %s)\n", e, strerror(e));
	fflush(NULL);
	_exit(1);
}

#define FAIL(...)	it_fail_at(__FILE__, __LINE__, __VA_ARGS__)

/* CHECK(cond, fmt, ...): fail the calling process if cond is false. */
#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s[%d]: check `%s' failed\n",		\
			it_name, (int)getpid(), #cond);			\
		FAIL(__VA_ARGS__);					\
	}								\
} while (0)

/* Expect a call returning -1 (or (void *)-1) with errno == err. */
#define CHECK_ERRNO(expr, err, what) do {				\
	errno = 0;							\
	long long it_r_ = (long long)(intptr_t)(expr);			\
	int it_e_ = errno;						\
	if (it_r_ != -1 || it_e_ != (err)) {				\
		errno = it_e_;						\
		FAIL("%s: expected -1/%s, got %lld/%s", what,		\
		     strerrorname_np(err) ? strerrorname_np(err) : "?",	\
		     it_r_, it_e_ ? (strerrorname_np(it_e_) ?		\
			strerrorname_np(it_e_) : "?") : "0");		\
	}								\
} while (0)

/*
 * EXPECT_ERRNO: like CHECK_ERRNO but records the failure and goes on, so
 * that one wrong errno does not hide the next; end main() with
 * `return it_result();'.
 */
static int it_soft_failures __attribute__((unused));

#define EXPECT_ERRNO(expr, err, what) do {				\
	errno = 0;							\
	long long it_r_ = (long long)(intptr_t)(expr);			\
	int it_e_ = errno;						\
	if (it_r_ != -1 || it_e_ != (err)) {				\
		fprintf(stderr, "%s[%d]: FAIL %s:%d: %s: expected "	\
			"-1/%s, got %lld/%s\n", it_name, (int)getpid(),	\
			__FILE__, __LINE__, what,			\
			strerrorname_np(err) ? strerrorname_np(err) : "?", \
			it_r_, it_e_ ? (strerrorname_np(it_e_) ?	\
			strerrorname_np(it_e_) : "?") : "0");		\
		it_soft_failures++;					\
	}								\
} while (0)

#define it_result()	(it_soft_failures ? 1 : 0)

#define NOTE(...) do {							\
	fprintf(stderr, "note: " __VA_ARGS__);				\
	fputc('\n', stderr);						\
} while (0)

__attribute__((format(printf, 1, 2), noreturn))
IT_API void it_skip(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "skip: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(NULL);
	_exit(IT_SKIP_STATUS);
}

IT_API void it_init(const char *name)
{
	int v;

	it_name = name;
	it_page = sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IONBF, 0);
	setvbuf(stderr, NULL, _IONBF, 0);
	signal(SIGPIPE, SIG_IGN);	/* a dead peer is an EPIPE, not a kill */
	v = xpmem_version();
	CHECK(v >= 0, "xpmem_version() = %d: is xpmem.ko loaded?", v);
	CHECK(XPMEM_ABI_VERSION_MAJOR((unsigned int)v) == XPMEM_ABI_MAJOR,
	      "driver ABI 0x%x, tests built for major %d", v, XPMEM_ABI_MAJOR);
}

/* --- memory -------------------------------------------------------------- */

IT_API void *it_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED, "mmap %zu", len);
	return p;
}

/* An anonymous mapping of len bytes whose start is align-aligned. */
IT_API void *it_map_aligned(size_t len, size_t align)
{
	char *p = it_map(len + align);
	uintptr_t a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);

	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	munmap((char *)a + len, (uintptr_t)p + align - a);
	return (void *)a;
}

/* Word at byte offset off of pattern `seed' (never 0 for seed != 0). */
IT_API inline uint64_t it_pat(uint64_t seed, size_t off)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + off;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 29;
	return x | 1;
}

IT_API void it_fill(void *buf, size_t len, uint64_t seed)
{
	volatile uint64_t *w = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = it_pat(seed, i * 8);
}

/* Returns -1 if buf holds pattern seed, else the first bad byte offset. */
IT_API long it_verify(const void *buf, size_t len, uint64_t seed)
{
	const volatile uint64_t *w = buf;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != it_pat(seed, i * 8))
			return (long)(i * 8);
	return -1;
}

#define CHECK_PATTERN(buf, len, seed, what) do {			\
	long it_off_ = it_verify((buf), (len), (seed));			\
	if (it_off_ >= 0)						\
		FAIL("%s: pattern %#llx mismatch at offset %ld: "	\
		     "got %#llx want %#llx", what,			\
		     (unsigned long long)(seed), it_off_,		\
		     (unsigned long long)((const volatile uint64_t *)	\
			(buf))[it_off_ / 8],				\
		     (unsigned long long)it_pat((seed), it_off_));	\
} while (0)

/* --- SIGBUS / SIGSEGV safe probes ---------------------------------------- */

static sigjmp_buf it_probe_jb;
static volatile sig_atomic_t it_probe_sig;

IT_API void it_probe_handler(int sig)
{
	it_probe_sig = sig;
	siglongjmp(it_probe_jb, 1);
}

struct it_probe_saved {
	struct sigaction bus, segv;
};

IT_API void it_probe_arm(struct it_probe_saved *s)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = it_probe_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &s->bus);
	sigaction(SIGSEGV, &sa, &s->segv);
	it_probe_sig = 0;
}

IT_API void it_probe_disarm(struct it_probe_saved *s)
{
	sigaction(SIGBUS, &s->bus, NULL);
	sigaction(SIGSEGV, &s->segv, NULL);
}

/*
 * Copy len bytes from src (which may fault) to dst.  Returns 0, or the
 * signal number (SIGBUS/SIGSEGV) raised by the access.
 */
IT_API int it_probe_copy(void *dst, const void *src, size_t len)
{
	struct it_probe_saved s;
	volatile int sig = 0;

	it_probe_arm(&s);
	if (sigsetjmp(it_probe_jb, 1) == 0) {
		const volatile uint64_t *from = src;
		uint64_t *to = dst;
		size_t i;

		for (i = 0; i < len / 8; i++)
			to[i] = from[i];
	} else {
		sig = it_probe_sig;
	}
	it_probe_disarm(&s);
	return sig;
}

/* Write one word at p.  Returns 0 or the signal the store raised. */
IT_API int it_probe_store(void *p, uint64_t v)
{
	struct it_probe_saved s;
	volatile int sig = 0;

	it_probe_arm(&s);
	if (sigsetjmp(it_probe_jb, 1) == 0)
		*(volatile uint64_t *)p = v;
	else
		sig = it_probe_sig;
	it_probe_disarm(&s);
	return sig;
}

enum it_page_state { PG_SIGBUS, PG_SIGSEGV, PG_OLD, PG_NEW, PG_ZERO, PG_OTHER };

IT_API const char *it_state_name(enum it_page_state s)
{
	static const char *n[] = { "SIGBUS", "SIGSEGV", "old data", "new data",
				   "zeros", "other data" };
	return n[s];
}

/*
 * Classify the page at page_off of a region that should hold pattern
 * old_seed or new_seed (patterns are computed over the whole region).
 */
IT_API enum it_page_state it_classify(const char *base, size_t page_off,
				      uint64_t old_seed, uint64_t new_seed)
{
	static uint64_t tmp[65536 / 8];
	size_t n = (size_t)it_page, i;
	int sig = it_probe_copy(tmp, base + page_off, n);
	int old = 1, nw = 1, zero = 1;

	if (sig == SIGBUS)
		return PG_SIGBUS;
	if (sig)
		return PG_SIGSEGV;
	for (i = 0; i < n / 8; i++) {
		old &= tmp[i] == it_pat(old_seed, page_off + i * 8);
		nw &= tmp[i] == it_pat(new_seed, page_off + i * 8);
		zero &= tmp[i] == 0;
	}
	return old ? PG_OLD : nw ? PG_NEW : zero ? PG_ZERO : PG_OTHER;
}

/* --- messaging between peers ---------------------------------------------- */

IT_API void it_send(int fd, uint64_t v)
{
	ssize_t n;

	do
		n = write(fd, &v, sizeof(v));
	while (n < 0 && errno == EINTR);
	CHECK(n == (ssize_t)sizeof(v), "send to peer");
}

/* Receive one word; EOF (peer died) or timeout fails the caller. */
IT_API uint64_t it_recv(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t v;
	ssize_t n;
	int r;

	do
		r = poll(&pfd, 1, IT_MSG_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	CHECK(r == 1, "timed out waiting %d ms for peer", IT_MSG_TIMEOUT_MS);
	do
		n = read(fd, &v, sizeof(v));
	while (n < 0 && errno == EINTR);
	CHECK(n == (ssize_t)sizeof(v), "peer closed the channel (died?)");
	return v;
}

/* Receive and insist on a particular value (a handshake step). */
IT_API void it_expect(int fd, uint64_t want)
{
	uint64_t v = it_recv(fd);

	CHECK(v == want, "handshake: got %#llx want %#llx",
	      (unsigned long long)v, (unsigned long long)want);
}

struct it_peer {
	pid_t pid;
	int fd;		/* our end of the socketpair */
};

/*
 * Fork a peer running fn(fd, arg); the peer exits 0 when fn returns and
 * 1 when a CHECK in it fails.
 */
IT_API struct it_peer it_spawn(void (*fn)(int fd, void *arg), void *arg)
{
	struct it_peer p;
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0,
	      "socketpair");
	fflush(NULL);
	p.pid = fork();
	CHECK(p.pid >= 0, "fork");
	if (p.pid == 0) {
		close(sv[0]);
		fn(sv[1], arg);
		fflush(NULL);
		_exit(0);
	}
	close(sv[1]);
	p.fd = sv[0];
	return p;
}

/* Wait for a process; returns its raw wait status. */
IT_API int it_wait(pid_t pid)
{
	int st;
	pid_t r;

	do
		r = waitpid(pid, &st, 0);
	while (r < 0 && errno == EINTR);
	CHECK(r == pid, "waitpid %d", (int)pid);
	return st;
}

/* Wait for a peer and fail unless it exited 0. */
IT_API void it_join(struct it_peer *p, const char *what)
{
	int st = it_wait(p->pid);

	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	if (WIFSIGNALED(st))
		FAIL("%s (pid %d) killed by signal %d (%s)", what, (int)p->pid,
		     WTERMSIG(st), strsignal(WTERMSIG(st)));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "%s (pid %d) failed, exit status %d", what, (int)p->pid,
	      WEXITSTATUS(st));
}

/* --- xpmem convenience ------------------------------------------------------ */

IT_API xpmem_segid_t it_make(void *vaddr, size_t size, long mode)
{
	xpmem_segid_t s = xpmem_make(vaddr, size, XPMEM_PERMIT_MODE,
				     (void *)(intptr_t)mode);

	CHECK(s > 0, "xpmem_make(%p, %#zx, 0%lo) = %lld", vaddr, size, mode,
	      (long long)s);
	return s;
}

IT_API xpmem_apid_t it_get(xpmem_segid_t segid, int flags)
{
	xpmem_apid_t a = xpmem_get(segid, flags, XPMEM_PERMIT_MODE, NULL);

	CHECK(a > 0, "xpmem_get(%#llx, %d) = %lld", (long long)segid, flags,
	      (long long)a);
	return a;
}

IT_API void *it_attach(xpmem_apid_t apid, off_t off, size_t size)
{
	struct xpmem_addr addr = { .apid = apid, .offset = off };
	void *p = xpmem_attach(addr, size, NULL);

	CHECK(p != (void *)-1 && p != NULL,
	      "xpmem_attach(apid %lld, off %#llx, size %#zx) = %p",
	      (long long)apid, (long long)off, size, p);
	return p;
}

#define CHECK_OK(expr) do {						\
	errno = 0;							\
	int it_rc_ = (expr);						\
	CHECK(it_rc_ == 0, "%s returned %d", #expr, it_rc_);		\
} while (0)

/* --- /proc/xpmem/counters --------------------------------------------------- */

/* Value of counter `name', or -1 if the file or the line is missing. */
IT_API long long it_counter(const char *name)
{
	return xpmem_counter(name);
}

IT_API void it_msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* AnonHugePages (kB) of the VMA containing p */
IT_API long it_anon_huge_kb(void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	unsigned long lo, hi;
	long kb = -1;
	int in = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

#endif /* ITEST_H */
