// SPDX-License-Identifier: GPL-2.0
/*
 * test_membership.c - the membership state machine on a fake clock:
 * admission only after a heartbeat, lease expiry, rejoin with a new
 * incarnation, stale incarnations and replays refused, restart seeding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "membership.h"

#define LEASE	3000
#define SEC	1000000000ULL
#define INC_A	0x1000
#define INC_B	0x2000

struct fixture {
	struct membership mb;
	uint64_t now;		/* fake monotonic ms */
	uint64_t wall;		/* fake wall clock ns */
	struct mb_action acts[MB_MAX_ACTIONS];
	size_t nacts;
};

static int setup(void **state)
{
	static struct fixture f;
	uint32_t nodes[] = { 1, 2, 3 };

	memset(&f, 0, sizeof(f));
	f.now = 100000;
	f.wall = 1700000000ULL * SEC;
	if (mb_init(&f.mb, 1, nodes, 3, LEASE, 30 * SEC))
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mb_free(&f->mb);
	return 0;
}

/* A heartbeat from src stamped with the fake wall clock plus dseq. */
static enum mb_verdict hb(struct fixture *f, uint32_t src, uint64_t inc,
			  uint64_t seq)
{
	return mb_heartbeat(&f->mb, src, 1, inc, seq, f->now, f->wall,
			    f->acts, &f->nacts);
}

/* Executes the actions as a kernel that accepts them all would. */
static void kernel_ok(struct fixture *f)
{
	for (size_t i = 0; i < f->nacts; i++)
		mb_kernel_done(&f->mb, &f->acts[i], 1);
}

static void expect_action(struct fixture *f, size_t i, enum mb_action_type t,
			  uint32_t node, uint64_t inc)
{
	assert_true(i < f->nacts);
	assert_int_equal(f->acts[i].type, t);
	assert_int_equal(f->acts[i].node, node);
	assert_true(f->acts[i].incarnation == inc);
}

static void test_admit_after_heartbeat(void **state)
{
	struct fixture *f = *state;
	struct mb_peer *p = mb_peer(&f->mb, 2);

	assert_int_equal(f->mb.npeers, 2);	/* self is not a peer */
	assert_null(mb_peer(&f->mb, 1));
	assert_int_equal(p->state, MB_UNKNOWN);
	/* Nothing happens to a peer never heard from. */
	f->now += 10 * LEASE;
	assert_int_equal(mb_tick(&f->mb, f->now, f->acts, MB_MAX_ACTIONS), 0);

	assert_int_equal(hb(f, 2, INC_A, f->wall), MB_ACCEPT);
	assert_int_equal(f->nacts, 1);
	expect_action(f, 0, MB_ADD_PEER, 2, INC_A);
	kernel_ok(f);
	assert_int_equal(p->state, MB_ALIVE);
	assert_true(p->in_kernel);
	assert_int_equal(p->c.rx, 1);

	/* Further heartbeats renew the lease without kernel calls. */
	f->now += 500;
	assert_int_equal(hb(f, 2, INC_A, f->wall + 1), MB_ACCEPT);
	assert_int_equal(f->nacts, 0);
	assert_true(p->last_heard_ms == f->now);
}

static void test_lease_expiry(void **state)
{
	struct fixture *f = *state;
	struct mb_action acts[4];

	assert_int_equal(hb(f, 2, INC_A, f->wall), MB_ACCEPT);
	kernel_ok(f);
	assert_int_equal(hb(f, 3, INC_B, f->wall), MB_ACCEPT);
	kernel_ok(f);

	f->now += LEASE - 1;
	assert_int_equal(mb_tick(&f->mb, f->now, acts, 4), 0);
	/* Node 3 keeps talking, node 2 falls silent. */
	assert_int_equal(hb(f, 3, INC_B, f->wall + 1), MB_ACCEPT);
	f->now += 1;
	assert_int_equal(mb_tick(&f->mb, f->now, acts, 4), 1);
	assert_int_equal(acts[0].type, MB_DEL_PEER);
	assert_int_equal(acts[0].node, 2);
	mb_kernel_done(&f->mb, &acts[0], 1);
	assert_int_equal(mb_peer(&f->mb, 2)->state, MB_DEAD);
	assert_false(mb_peer(&f->mb, 2)->in_kernel);
	assert_int_equal(mb_peer(&f->mb, 3)->state, MB_ALIVE);
	/* Declared dead once, not on every tick. */
	f->now += LEASE;
	assert_int_equal(mb_tick(&f->mb, f->now, acts, 4), 1);
	assert_int_equal(acts[0].node, 3);
	assert_int_equal(mb_tick(&f->mb, f->now, acts, 4), 0);
}

static void test_rejoin_new_incarnation(void **state)
{
	struct fixture *f = *state;
	struct mb_action acts[4];
	uint64_t seq_old = f->wall;

	assert_int_equal(hb(f, 2, INC_A, seq_old), MB_ACCEPT);
	kernel_ok(f);
	f->now += LEASE;
	assert_int_equal(mb_tick(&f->mb, f->now, acts, 4), 1);
	mb_kernel_done(&f->mb, &acts[0], 1);

	/* It rebooted: new incarnation, admitted again. */
	f->now += 100;
	f->wall += 5 * SEC;
	assert_int_equal(hb(f, 2, INC_B, f->wall), MB_ACCEPT);
	assert_int_equal(f->nacts, 1);
	expect_action(f, 0, MB_ADD_PEER, 2, INC_B);
	kernel_ok(f);
	assert_int_equal(mb_peer(&f->mb, 2)->state, MB_ALIVE);
	assert_true(mb_peer(&f->mb, 2)->incarnation == INC_B);

	/* A late message of the old incarnation, even with a newer seq. */
	assert_int_equal(hb(f, 2, INC_A, f->wall + 10), MB_STALE);
	assert_int_equal(f->nacts, 0);
	assert_int_equal(mb_peer(&f->mb, 2)->c.stale, 1);
	assert_int_equal(f->mb.total.stale, 1);
	assert_true(mb_peer(&f->mb, 2)->incarnation == INC_B);
}

/* A restart faster than the lease: the old incarnation is fenced first. */
static void test_restart_within_lease(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(hb(f, 2, INC_A, f->wall), MB_ACCEPT);
	kernel_ok(f);
	f->now += 200;
	assert_int_equal(hb(f, 2, INC_B, f->wall + SEC), MB_ACCEPT);
	assert_int_equal(f->nacts, 2);
	expect_action(f, 0, MB_DEL_PEER, 2, 0);
	expect_action(f, 1, MB_ADD_PEER, 2, INC_B);
	kernel_ok(f);
	assert_true(mb_peer(&f->mb, 2)->in_kernel);
}

static void test_replay(void **state)
{
	struct fixture *f = *state;
	uint64_t s = f->wall;

	assert_int_equal(hb(f, 2, INC_A, s + 10), MB_ACCEPT);
	kernel_ok(f);
	assert_int_equal(hb(f, 2, INC_A, s + 10), MB_REPLAY);
	assert_int_equal(hb(f, 2, INC_A, s + 9), MB_REPLAY);
	assert_int_equal(f->nacts, 0);
	assert_int_equal(mb_peer(&f->mb, 2)->c.replayed, 2);
	assert_int_equal(f->mb.total.replayed, 2);
	assert_true(mb_peer(&f->mb, 2)->last_seq == s + 10);
	/* A replay does not renew the lease. */
	f->now += LEASE;
	assert_int_equal(hb(f, 2, INC_A, s + 5), MB_REPLAY);
	assert_int_equal(mb_tick(&f->mb, f->now, f->acts, MB_MAX_ACTIONS), 1);
	/* Nor revive a dead peer. */
	mb_kernel_done(&f->mb, &f->acts[0], 1);
	assert_int_equal(hb(f, 2, INC_A, s + 10), MB_REPLAY);
	assert_int_equal(mb_peer(&f->mb, 2)->state, MB_DEAD);
}

/* After our restart last_seq is lost: the time stamp bounds replays. */
static void test_skew(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(hb(f, 2, INC_A, f->wall - 31 * SEC), MB_SKEW);
	assert_int_equal(hb(f, 2, INC_A, f->wall + 31 * SEC), MB_SKEW);
	assert_int_equal(f->nacts, 0);
	assert_int_equal(mb_peer(&f->mb, 2)->state, MB_UNKNOWN);
	assert_int_equal(f->mb.total.replayed, 2);
	assert_int_equal(hb(f, 2, INC_A, f->wall - 29 * SEC), MB_ACCEPT);
	/* max_skew 0 turns the check off. */
	f->mb.max_skew_ns = 0;
	assert_int_equal(hb(f, 3, INC_A, 5), MB_ACCEPT);
}

static void test_misaddressed(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mb_heartbeat(&f->mb, 2, 3, INC_A, f->wall, f->now,
				      f->wall, f->acts, &f->nacts),
			 MB_NOT_FOR_US);
	assert_int_equal(hb(f, 1, INC_A, f->wall), MB_FROM_SELF);
	assert_int_equal(hb(f, 9, INC_A, f->wall), MB_UNKNOWN_NODE);
	assert_int_equal(f->nacts, 0);
	assert_int_equal(f->mb.total.malformed, 3);
	assert_int_equal(f->mb.total.rx, 0);
}

/* Daemon restart: the kernel's peers keep their connection. */
static void test_seed_same_incarnation(void **state)
{
	struct fixture *f = *state;

	mb_seed(&f->mb, 2, INC_A, f->now);
	assert_int_equal(mb_peer(&f->mb, 2)->state, MB_ALIVE);
	assert_true(mb_peer(&f->mb, 2)->in_kernel);
	f->now += LEASE - 1;
	assert_int_equal(mb_tick(&f->mb, f->now, f->acts, MB_MAX_ACTIONS), 0);
	/* Re-learnt: ADD_PEER again (the kernel may say EEXIST), no DEL. */
	assert_int_equal(hb(f, 2, INC_A, f->wall), MB_ACCEPT);
	assert_int_equal(f->nacts, 1);
	expect_action(f, 0, MB_ADD_PEER, 2, INC_A);
	kernel_ok(f);
	f->now += 500;
	assert_int_equal(hb(f, 2, INC_A, f->wall + 1), MB_ACCEPT);
	assert_int_equal(f->nacts, 0);
	/* Older incarnations than the kernel's are stale. */
	assert_int_equal(hb(f, 2, INC_A - 1, f->wall + 2), MB_STALE);
}

static void test_seed_silent_peer_expires(void **state)
{
	struct fixture *f = *state;

	mb_seed(&f->mb, 3, INC_A, f->now);
	f->now += LEASE;
	f->nacts = mb_tick(&f->mb, f->now, f->acts, MB_MAX_ACTIONS);
	assert_int_equal(f->nacts, 1);
	expect_action(f, 0, MB_DEL_PEER, 3, 0);
	assert_int_equal(mb_peer(&f->mb, 3)->state, MB_DEAD);
}

static void test_seed_changed_or_unknown(void **state)
{
	struct fixture *f = *state;

	/* It restarted while we were down. */
	mb_seed(&f->mb, 2, INC_A, f->now);
	assert_int_equal(hb(f, 2, INC_B, f->wall), MB_ACCEPT);
	assert_int_equal(f->nacts, 2);
	expect_action(f, 0, MB_DEL_PEER, 2, 0);
	expect_action(f, 1, MB_ADD_PEER, 2, INC_B);
	kernel_ok(f);

	/* The kernel never saw an incarnation: re-register with the real one. */
	mb_seed(&f->mb, 3, 0, f->now);
	assert_int_equal(hb(f, 3, INC_A, f->wall), MB_ACCEPT);
	assert_int_equal(f->nacts, 2);
	expect_action(f, 0, MB_DEL_PEER, 3, 0);
	expect_action(f, 1, MB_ADD_PEER, 3, INC_A);
}

static void test_add_failure_retried(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(hb(f, 2, INC_A, f->wall), MB_ACCEPT);
	mb_kernel_done(&f->mb, &f->acts[0], 0);
	assert_false(mb_peer(&f->mb, 2)->in_kernel);
	assert_int_equal(hb(f, 2, INC_A, f->wall + 1), MB_ACCEPT);
	assert_int_equal(f->nacts, 1);
	expect_action(f, 0, MB_ADD_PEER, 2, INC_A);
	kernel_ok(f);
	assert_int_equal(hb(f, 2, INC_A, f->wall + 2), MB_ACCEPT);
	assert_int_equal(f->nacts, 0);
}

/* A partitioned peer (same incarnation, newer messages) is readmitted. */
static void test_dead_same_incarnation_readmitted(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(hb(f, 2, INC_A, f->wall), MB_ACCEPT);
	kernel_ok(f);
	f->now += LEASE;
	assert_int_equal(mb_tick(&f->mb, f->now, f->acts, MB_MAX_ACTIONS), 1);
	kernel_ok(f);
	f->wall += 4 * SEC;
	assert_int_equal(hb(f, 2, INC_A, f->wall), MB_ACCEPT);
	assert_int_equal(f->nacts, 1);
	expect_action(f, 0, MB_ADD_PEER, 2, INC_A);
}

/* The peer's daemon restarted: same incarnation, seq from the clock. */
static void test_peer_daemon_restart(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(hb(f, 2, INC_A, f->wall), MB_ACCEPT);
	kernel_ok(f);
	f->now += 1000;
	f->wall += 1 * SEC;
	assert_int_equal(hb(f, 2, INC_A, f->wall), MB_ACCEPT);
	assert_int_equal(f->nacts, 0);
	assert_int_equal(mb_peer(&f->mb, 2)->state, MB_ALIVE);
}

static void test_count_bad(void **state)
{
	struct fixture *f = *state;

	mb_count_bad(&f->mb, 2, 1);
	mb_count_bad(&f->mb, 2, 0);
	mb_count_bad(&f->mb, 77, 1);	/* unknown claimed sender */
	mb_count_bad(&f->mb, 0, 0);
	assert_int_equal(mb_peer(&f->mb, 2)->c.bad_mac, 1);
	assert_int_equal(mb_peer(&f->mb, 2)->c.malformed, 1);
	assert_int_equal(f->mb.total.bad_mac, 2);
	assert_int_equal(f->mb.total.malformed, 2);
	assert_string_equal(mb_state_name(MB_ALIVE), "alive");
	assert_string_equal(mb_state_name(MB_DEAD), "dead");
	assert_string_equal(mb_state_name(MB_UNKNOWN), "unknown");
}

/* Segment queries: only from ALIVE nodes, replay-checked, no lease. */
static void test_query(void **state)
{
	struct fixture *f = *state;
	uint64_t s = f->wall;
	struct mb_peer *p = mb_peer(&f->mb, 2);

	/* Never heard: not alive, dropped, nothing admitted. */
	assert_int_equal(mb_query(&f->mb, 2, 1, INC_A, s, f->wall),
			 MB_NOT_ALIVE);
	assert_int_equal(p->state, MB_UNKNOWN);
	assert_int_equal(p->c.dropped, 1);
	assert_int_equal(f->mb.total.dropped, 1);

	assert_int_equal(hb(f, 2, INC_A, s + 10), MB_ACCEPT);
	kernel_ok(f);
	/* Its own sequence space: older than the heartbeat is fine. */
	assert_int_equal(mb_query(&f->mb, 2, 1, INC_A, s + 5, f->wall),
			 MB_ACCEPT);
	assert_int_equal(mb_query(&f->mb, 2, 1, INC_A, s + 5, f->wall),
			 MB_REPLAY);
	assert_int_equal(mb_query(&f->mb, 2, 1, INC_A, s + 4, f->wall),
			 MB_REPLAY);
	assert_int_equal(mb_query(&f->mb, 2, 1, INC_A, s + 6, f->wall),
			 MB_ACCEPT);
	assert_int_equal(mb_query(&f->mb, 2, 1, INC_A, s + 40 * SEC, f->wall),
			 MB_SKEW);
	/* An incarnation not admitted (yet), an older one. */
	assert_int_equal(mb_query(&f->mb, 2, 1, INC_B, s + 20, f->wall),
			 MB_NOT_ALIVE);
	assert_int_equal(mb_query(&f->mb, 2, 1, INC_A - 1, s + 20, f->wall),
			 MB_STALE);
	/* Misaddressed, from ourselves, from a stranger. */
	assert_int_equal(mb_query(&f->mb, 2, 3, INC_A, s + 20, f->wall),
			 MB_NOT_FOR_US);
	assert_int_equal(mb_query(&f->mb, 1, 1, INC_A, s + 20, f->wall),
			 MB_FROM_SELF);
	assert_int_equal(mb_query(&f->mb, 9, 1, INC_A, s + 20, f->wall),
			 MB_UNKNOWN_NODE);
	/* Queries do not renew the lease. */
	f->now += LEASE;
	assert_int_equal(mb_query(&f->mb, 2, 1, INC_A, s + 30, f->wall),
			 MB_ACCEPT);
	assert_int_equal(mb_tick(&f->mb, f->now, f->acts, MB_MAX_ACTIONS), 1);
	mb_kernel_done(&f->mb, &f->acts[0], 1);
	/* Dead: refused. */
	assert_int_equal(mb_query(&f->mb, 2, 1, INC_A, s + 50, f->wall),
			 MB_NOT_ALIVE);
	/* Rejoining with a new incarnation resets the query sequence. */
	assert_int_equal(hb(f, 2, INC_B, s + 60), MB_ACCEPT);
	assert_int_equal(mb_query(&f->mb, 2, 1, INC_B, s + 1, f->wall),
			 MB_ACCEPT);
	assert_int_equal(f->mb.total.rx, 6);
	assert_string_equal(mb_verdict_name(MB_NOT_ALIVE),
			    "from a node not alive here");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_admit_after_heartbeat),
		T(test_lease_expiry),
		T(test_rejoin_new_incarnation),
		T(test_restart_within_lease),
		T(test_replay),
		T(test_skew),
		T(test_misaddressed),
		T(test_seed_same_incarnation),
		T(test_seed_silent_peer_expires),
		T(test_seed_changed_or_unknown),
		T(test_add_failure_retried),
		T(test_dead_same_incarnation_readmitted),
		T(test_peer_daemon_restart),
		T(test_count_bad),
		T(test_query),
	};

	return cmocka_run_group_tests_name("membership", tests, NULL, NULL);
}
