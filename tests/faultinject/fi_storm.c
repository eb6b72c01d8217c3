// SPDX-License-Identifier: GPL-2.0-only
/*
 * fi_storm - processes attaching each other while they remap, fork and die.
 *
 *   fi_storm [SECONDS [WORKERS]]         default 30 s, 4 workers
 *
 * Every worker exports its whole address space, as Open MPI does
 * (xpmem_make(0, XPMEM_MAXADDR_SIZE, XPMEM_PERMIT_MODE, (void *)0666)), and
 * publishes the addresses of four buffers (64 KiB, 256 KiB, 1 MiB and a
 * 2 MiB THP) in a shared table.  Its main thread attaches buffers of other
 * workers (half the time its partner w^1, so pairs attach each other),
 * reads and writes them through the attachment, and keeps up to four
 * attachments alive; a second thread meanwhile munmaps/re-mmaps, mremaps,
 * MADV_DONTNEEDs (splitting the THP), mprotects and rewrites the worker's
 * own buffers.  Workers fork children that attach and die (exit or
 * SIGKILL), remake their segment, and sometimes exit with everything live;
 * the parent SIGKILLs a random worker every second or two and starts a new
 * one in its slot.  With STORM_CGROUP=DIR (a cgroup v2 directory with a
 * small memory.max, and swap on) the workers join that cgroup, so reclaim
 * swaps their pages out under the attachers.
 *
 * Checked: every word read through an attachment is 0 or carries the
 * storm's tag (never another process's data, i.e. never a freed page);
 * calls fail only with ENOENT/ENOMEM; every process dies when killed (a
 * process still alive 60 s after SIGKILL is reported with its kernel
 * stack); all processes are reaped; the gauges return to 0.
 */
#include "fi.h"

#include <pthread.h>

#define MAX_WORKERS	8
#define NBUF		4
#define TAG		0x5874706dULL	/* upper 32 bits of every word */
#define PMD_SZ		(2UL << 20)

enum {
	S_MAKE, S_REMOVE, S_GET, S_ATTACH, S_READ, S_WRITE, S_DETACH,
	S_RELEASE, S_FORK, S_CHILD, S_MUTATE, S_WORKER_EXIT, S_KILLED, S_NR
};

static const char *const storm_ops[S_NR] = {
	"make", "remove", "get", "attach", "read", "write", "detach",
	"release", "fork", "child_attach", "mutate", "worker_exit",
	"sigkill",
};

struct slot {
	volatile xpmem_segid_t seg;
	volatile uintptr_t buf[NBUF];
	volatile size_t len[NBUF];
	volatile pid_t pid;
};

static struct slot *slots;
static int nworkers;
static volatile int *stop;
static const size_t buf_len[NBUF] = { 64 << 10, 256 << 10, 1 << 20, 2 << 20 };

static unsigned int rnd(unsigned int *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void fill(char *p, size_t len, int w)
{
	volatile uint64_t *q = (volatile uint64_t *)p;
	size_t i;

	for (i = 0; i < len / 8; i += 64)	/* a word per 512 bytes */
		q[i] = TAG << 32 | (uint64_t)w;
}

static char *new_buf(int i, int w)
{
	size_t len = buf_len[i];
	char *p;

	if (len == PMD_SZ) {
		p = mmap(NULL, 2 * len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		char *a = (char *)(((uintptr_t)p + len - 1) & ~(len - 1));

		if (a > p)
			munmap(p, a - p);
		munmap(a + len, p + len - a);
		p = a;
		madvise(p, len, MADV_HUGEPAGE);
	} else {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
	}
	fill(p, len, w);
	return p;
}

/* The mutator thread: the owner changes its mappings under its peers. */
struct mut_arg {
	int w;
	unsigned int seed;
	char *buf[NBUF];
};

static void *mutator(void *argp)
{
	struct mut_arg *m = argp;
	struct slot *me = &slots[m->w];

	while (!*stop) {
		int i = rnd(&m->seed) % NBUF;
		size_t len = buf_len[i], off;
		char *p = m->buf[i], *q;

		if (!p) {
			m->buf[i] = new_buf(i, m->w);
			me->buf[i] = (uintptr_t)m->buf[i];
			continue;
		}
		switch (rnd(&m->seed) % 6) {
		case 0:	/* DONTNEED a part (splits the THP) */
			off = (rnd(&m->seed) % (len / 4096)) * 4096;
			madvise(p + off, ((len - off) / 2 + 4095) & ~4095UL,
				MADV_DONTNEED);
			break;
		case 1:	/* munmap and map again */
			me->buf[i] = 0;
			munmap(p, len);
			m->buf[i] = new_buf(i, m->w);
			me->buf[i] = (uintptr_t)m->buf[i];
			break;
		case 2:	/* move it onto a fresh mapping of our own */
			me->buf[i] = 0;
			q = mmap(NULL, len, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (q != MAP_FAILED)
				q = mremap(p, len, len,
					   MREMAP_MAYMOVE | MREMAP_FIXED, q);
			if (q == MAP_FAILED) {
				munmap(p, len);
				q = NULL;
			}
			m->buf[i] = q;
			me->buf[i] = (uintptr_t)q;
			break;
		case 3:	/* read-only for a moment */
			mprotect(p, len, PROT_READ);
			sched_yield();
			mprotect(p, len, PROT_READ | PROT_WRITE);
			break;
		default:
			fill(p, len, m->w);
			break;
		}
		fi_count(S_MUTATE, FO_OK);
	}
	return NULL;
}

/* Read (and maybe write) a peer's buffer through an attachment. */
static void use_att(char *p, size_t len, int writable, int w, unsigned int *seed)
{
	static uint64_t tmp[512];
	size_t off, i;
	int sig;

	for (off = 0; off < len; off += sizeof(tmp)) {
		size_t n = len - off < sizeof(tmp) ? len - off : sizeof(tmp);

		sig = it_probe_copy(tmp, p + off, n);
		if (sig) {
			fi_count_sig(S_READ, sig);
			return;
		}
		for (i = 0; i < n / 8; i++)
			if (tmp[i] && tmp[i] >> 32 != TAG) {
				fi_count(S_READ, FO_BAD);
				fi_bad("worker %d read %#llx at +%#zx of an "
				       "attachment: not the storm's data (freed "
				       "page?)", w, (unsigned long long)tmp[i],
				       off + i * 8);
				return;
			}
	}
	fi_count(S_READ, FO_OK);
	if (writable) {
		off = (rnd(seed) % (len / 8)) * 8;
		sig = it_probe_store(p + off, TAG << 32 | (uint64_t)w);
		fi_count(S_WRITE, sig ? (sig == SIGBUS ? FO_SIGBUS : FO_SIGSEGV) : FO_OK);
	}
}

struct att { char *p; size_t len; xpmem_apid_t ap; int rw; };

static void drop_att(struct att *a)
{
	if (a->p) {
		if (xpmem_detach(a->p))
			fi_count_errno(S_DETACH, errno, 0);
		else
			fi_count(S_DETACH, FO_OK);
	}
	if (a->ap > 0) {
		if (xpmem_release(a->ap))
			fi_count_errno(S_RELEASE, errno, 1);
		else
			fi_count(S_RELEASE, FO_OK);
	}
	memset(a, 0, sizeof(*a));
}

/* Get and attach buffer i of worker j; 0 on success. */
static int attach_peer(int op_get, int op_att, int j, int i, int rw, struct att *a)
{
	struct xpmem_addr ad;
	xpmem_segid_t seg = slots[j].seg;
	uintptr_t b = slots[j].buf[i];
	size_t len = buf_len[i];

	memset(a, 0, sizeof(*a));
	if (seg <= 0 || !b)
		return -1;
	a->ap = xpmem_get(seg, rw ? XPMEM_RDWR : XPMEM_RDONLY,
			  XPMEM_PERMIT_MODE, (void *)0666);
	if (a->ap <= 0) {
		fi_count_errno(op_get, errno, 1);	/* owner gone: ENOENT */
		a->ap = 0;
		return -1;
	}
	fi_count(op_get, FO_OK);
	ad.apid = a->ap;
	ad.offset = (off_t)b;		/* whole address space: offset = address */
	a->p = xpmem_attach(ad, len, NULL);
	if (a->p == (void *)-1) {
		fi_count_errno(op_att, errno, 1);
		a->p = NULL;
		drop_att(a);
		return -1;
	}
	fi_count(op_att, FO_OK);
	a->len = len;
	a->rw = rw;
	return 0;
}

static xpmem_segid_t make_whole(void)
{
	xpmem_segid_t s = xpmem_make(0, XPMEM_MAXADDR_SIZE, XPMEM_PERMIT_MODE,
				     (void *)0666);

	if (s <= 0) {
		fi_count_errno(S_MAKE, errno, 0);
		return 0;
	}
	fi_count(S_MAKE, FO_OK);
	return s;
}

static int pick_peer(int w, unsigned int *seed)
{
	int j = (rnd(seed) & 1) ? (w ^ 1) : (int)(rnd(seed) % nworkers);

	return j < nworkers && j != w ? j : (w + 1) % nworkers;
}

static void forked_child(int w, unsigned int seed)
{
	struct att a;
	int j = pick_peer(w, &seed);

	if (attach_peer(S_GET, S_CHILD, j, rnd(&seed) % NBUF, rnd(&seed) & 1, &a) == 0)
		use_att(a.p, a.len, a.rw, w, &seed);
	switch (rnd(&seed) % 3) {
	case 0:
		raise(SIGKILL);		/* dies attached */
		break;
	case 1:
		_exit(0);		/* exits attached */
	default:
		drop_att(&a);
		_exit(0);
	}
}

static void worker(int w, unsigned int seed)
{
	struct mut_arg m = { .w = w, .seed = seed * 7 + 1 };
	struct att atts[4] = { { 0 } };
	pthread_t th;
	int i;

	alarm(600);
	if (getenv("STORM_CGROUP")) {	/* memory pressure: reclaim, swap */
		char path[256];
		FILE *f;

		snprintf(path, sizeof(path), "%s/cgroup.procs",
			 getenv("STORM_CGROUP"));
		f = fopen(path, "w");
		CHECK(f && fprintf(f, "%d\n", (int)getpid()) > 0 && !fclose(f),
		      "join %s", path);
	}
	for (i = 0; i < NBUF; i++) {
		m.buf[i] = new_buf(i, w);
		slots[w].buf[i] = (uintptr_t)m.buf[i];
	}
	slots[w].seg = make_whole();
	CHECK(pthread_create(&th, NULL, mutator, &m) == 0, "pthread_create");

	while (!*stop) {
		unsigned int r = rnd(&seed) % 100;
		struct att *a = &atts[rnd(&seed) % 4];

		if (r < 60) {
			if (!a->p)
				attach_peer(S_GET, S_ATTACH, pick_peer(w, &seed),
					    rnd(&seed) % NBUF, rnd(&seed) & 1, a);
			if (a->p)
				use_att(a->p, a->len, a->rw, w, &seed);
		} else if (r < 85) {
			drop_att(a);
		} else if (r < 92) {
			pid_t c;

			fflush(NULL);
			c = fork();
			if (c < 0) {
				fi_count_errno(S_FORK, errno, 0);
			} else if (c == 0) {
				forked_child(w, rnd(&seed));
			} else {
				fi_count(S_FORK, FO_OK);
				if (rnd(&seed) & 1)
					kill(c, SIGKILL);
				waitpid(c, NULL, 0);
			}
		} else if (r < 97) {
			/* remake the segment: attachers are revoked */
			xpmem_segid_t old = slots[w].seg;

			slots[w].seg = 0;
			if (old > 0) {
				if (xpmem_remove(old))
					fi_count_errno(S_REMOVE, errno, 0);
				else
					fi_count(S_REMOVE, FO_OK);
			}
			slots[w].seg = make_whole();
		} else if (r == 99 && !(rnd(&seed) % 8)) {
			/* leave abruptly with everything live */
			fi_count(S_WORKER_EXIT, FO_OK);
			if (rnd(&seed) & 1)
				raise(SIGKILL);
			_exit(0);
		}
	}
	for (;;)		/* the parent kills us */
		pause();
}

static pid_t spawn(int w, unsigned int seed)
{
	pid_t pid;

	memset((void *)&slots[w], 0, sizeof(slots[w]));
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0, "fork worker");
	if (pid == 0)
		worker(w, seed);
	slots[w].pid = pid;
	return pid;
}

/* SIGKILL pid and wait for it; reports a process that does not die. */
static int kill_and_reap(pid_t pid, const char *what)
{
	int st;

	if (pid <= 0)
		return 0;
	kill(pid, SIGKILL);
	st = fi_wait_timeout(pid, 60000);
	if (st == -1) {
		printf("  %s %d still alive 60 s after SIGKILL (state %c):\n",
		       what, (int)pid, fi_proc_state(pid));
		fi_dump_stack(pid);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 30;
	pid_t pids[MAX_WORKERS];
	unsigned int seed = (unsigned int)time(NULL) | 1;
	struct timespec t0, t;
	int w, st, fail = 0, spawned = 0;
	long bad;
	pid_t pid;

	nworkers = argc > 2 ? atoi(argv[2]) : 4;
	if (nworkers < 2 || nworkers > MAX_WORKERS || secs < 1) {
		fprintf(stderr, "usage: fi_storm [SECONDS [WORKERS 2-%d]]\n",
			MAX_WORKERS);
		return 2;
	}
	it_init("fi_storm");
	fi_table_init(storm_ops, S_NR);
	slots = mmap(NULL, sizeof(*slots) * MAX_WORKERS + 64,
		     PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(slots != MAP_FAILED, "mmap slots");
	stop = (volatile int *)(slots + MAX_WORKERS);
	CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "subreaper");
	printf("storm: %d workers for %d s (seed %u)\n", nworkers, secs, seed);

	for (w = 0; w < nworkers; w++, spawned++)
		pids[w] = spawn(w, rnd(&seed));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= secs)
			break;
		it_msleep(1000 + rnd(&seed) % 1000);
		/* kill one at random */
		w = rnd(&seed) % nworkers;
		if (pids[w] > 0) {	/* never kill(-1) */
			if (kill_and_reap(pids[w], "worker"))
				fail++;
			fi_count(S_KILLED, FO_OK);
			pids[w] = -1;
		}
		/* reap whatever else ended (workers that left, orphans) */
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			for (w = 0; w < nworkers; w++)
				if (pids[w] == pid)
					pids[w] = -1;
			if (WIFSIGNALED(st) && WTERMSIG(st) != SIGKILL) {
				printf("  pid %d died of signal %d\n", (int)pid,
				       WTERMSIG(st));
				fail++;
			} else if (WIFEXITED(st) && WEXITSTATUS(st)) {
				printf("  pid %d exited with %d\n", (int)pid,
				       WEXITSTATUS(st));
				fail++;
			}
		}
		for (w = 0; w < nworkers; w++)
			if (pids[w] < 0) {
				pids[w] = spawn(w, rnd(&seed));
				spawned++;
			}
	}
	*stop = 1;
	it_msleep(500);
	for (w = 0; w < nworkers; w++)
		if (pids[w] > 0 && kill_and_reap(pids[w], "worker"))
			fail++;
	/* every orphan came to us: reap them all, with a deadline */
	for (;;) {
		pid = waitpid(-1, &st, WNOHANG);
		if (pid > 0)
			continue;
		if (pid < 0 && errno == ECHILD)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > secs + 120) {
			printf("  children left 120 s after the storm\n");
			fail++;
			break;
		}
		it_msleep(50);
	}
	printf("storm: %d workers started in %d s\n", spawned, secs);
	bad = fi_print("storm outcomes per call", S_NR, 0);
	if (fi_gauges_settle(20000, 1))	/* our own context */
		fail++;
	return bad || fail ? 1 : 0;
}
