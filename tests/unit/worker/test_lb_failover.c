/*
 * lb_failover and the usable set every balancer shares (lb_select()): list
 * order, backups only when no primary is usable, passively marked sources
 * as the last resort, and the ops table itself; slow start's share over
 * time, its draws, where a ramp starts, and failover during a ramp.
 */
#include <stdatomic.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/conf.h"
#include "shm/layout.h"
#include "shm/shm.h"
#include "worker/lb.h"
#include "worker/lb_failover.h"
#include "worker/lb_iphash.h"
#include "worker/lb_leastconn.h"
#include "worker/lb_rr.h"
#include "worker/route.h"

static int	pick(const enum lb_cand *cand, const uint8_t *backup, uint32_t n);

static int
pick(const enum lb_cand *cand, const uint8_t *backup, uint32_t n)
{
	static const uint32_t w[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
	static struct route_conf rc = { .balancer = LB_FAILOVER };
	struct route_rt r = { .conf = &rc };
	struct lb_in in = { .r = &r, .n = n, .weight = w };

	return lb_select(lb_ops_of(LB_FAILOVER), &in, cand, backup);
}

Test(lb_failover, table)
{
	cr_expect_eq(lb_ops_of(LB_ROUND_ROBIN), &lb_rr_ops);
	cr_expect_eq(lb_ops_of(LB_LEAST_CONN), &lb_leastconn_ops);
	cr_expect_eq(lb_ops_of(LB_IP_HASH), &lb_iphash_ops);
	cr_expect_eq(lb_ops_of(LB_FAILOVER), &lb_failover_ops);
	cr_expect_eq(lb_ops_of(LB__COUNT), &lb_rr_ops, "out of range: round_robin");
	cr_expect_str_eq(lb_failover_ops.name, "failover");
	cr_expect_null(lb_failover_ops.init);
	cr_expect_null(lb_failover_ops.free);
}

Test(lb_failover, first_usable_in_order)
{
	const uint8_t nob[4] = { 0 };
	const enum lb_cand all[4] = { LB_C_YES, LB_C_YES, LB_C_YES, LB_C_YES };
	const enum lb_cand first_down[4] = { LB_C_NO, LB_C_YES, LB_C_YES, LB_C_YES };
	const enum lb_cand two_down[4] = { LB_C_MARKED, LB_C_NO, LB_C_YES, LB_C_YES };
	uint32_t i;

	for (i = 0; i < 5; i++)
		cr_expect_eq(pick(all, nob, 4), 0, "traffic stays on the first");
	cr_expect_eq(pick(first_down, nob, 4), 1);
	cr_expect_eq(pick(two_down, nob, 4), 2);
}

Test(lb_failover, backups_only_when_no_primary)
{
	/* order: primary, backup, primary, backup */
	const uint8_t bk[4] = { 0, 1, 0, 1 };
	const enum lb_cand all[4] = { LB_C_YES, LB_C_YES, LB_C_YES, LB_C_YES };
	const enum lb_cand p0[4] = { LB_C_NO, LB_C_YES, LB_C_YES, LB_C_YES };
	const enum lb_cand prim[4] = { LB_C_NO, LB_C_YES, LB_C_MARKED, LB_C_YES };
	const enum lb_cand b1[4] = { LB_C_NO, LB_C_NO, LB_C_NO, LB_C_YES };
	const enum lb_cand probe[4] = { LB_C_PROBE, LB_C_YES, LB_C_NO, LB_C_YES };

	cr_expect_eq(pick(all, bk, 4), 0);
	cr_expect_eq(pick(p0, bk, 4), 2, "the next primary before any backup");
	cr_expect_eq(pick(prim, bk, 4), 1, "no usable primary: the first backup");
	cr_expect_eq(pick(b1, bk, 4), 3, "the next backup");
	cr_expect_eq(pick(probe, bk, 4), 1, "a probe candidate is not usable here");
}

/* Backups are balanced by the route's own algorithm too. */
Test(lb_failover, backups_under_another_balancer)
{
	static struct route_conf rc = { .balancer = LB_LEAST_CONN };
	const uint32_t w[3] = { 1, 1, 1 };
	const int64_t act[3] = { 0, 5, 2 };
	const uint8_t bk[3] = { 0, 1, 1 };
	const enum lb_cand c[3] = { LB_C_NO, LB_C_YES, LB_C_YES };
	struct route_rt r = { .conf = &rc };
	uint64_t rotor = 0;
	struct lb_in in = { .r = &r, .n = 3, .weight = w, .active = act, .rotor = &rotor };

	cr_expect_eq(lb_select(&lb_leastconn_ops, &in, c, bk), 2, "least busy backup");
	cr_expect_null(in.usable, "not left pointing at a stack array");
}

Test(lb_failover, all_marked_tries_the_first_marked)
{
	const uint8_t bk[3] = { 0, 0, 1 };
	const enum lb_cand marked[3] = { LB_C_NO, LB_C_MARKED, LB_C_MARKED };
	const enum lb_cand none[3] = { LB_C_NO, LB_C_NO, LB_C_PROBE };

	cr_expect_eq(pick(marked, bk, 3), 1);
	cr_expect_eq(pick(none, bk, 3), -1, "down by the checker or tried: nothing");
}

/* Slow start's share over time: 5 % at once, linear, rounded up, full at
 * the end; no ramp without slow_start or for a source never down. */
Test(lb_slow_start, share_over_time)
{
	cr_expect_eq(lb_share(5000, 0, 10), LB_SHARE_ONE, "never down: no ramp");
	cr_expect_eq(lb_share(5000, 4000, 0), LB_SHARE_ONE, "slow_start = 0: off");
	cr_expect_eq(lb_share(4000, 4000, 10), LB_SHARE_MIN, "back just now");
	cr_expect_eq(lb_share(3000, 4000, 10), LB_SHARE_MIN, "a start in the future");
	cr_expect_eq(lb_share(4001, 4000, 10), LB_SHARE_MIN);
	cr_expect_eq(lb_share(4000 + 499, 4000, 10), LB_SHARE_MIN);
	cr_expect_eq(lb_share(4000 + 501, 4000, 10), 51, "rounded up");
	cr_expect_eq(lb_share(4000 + 2500, 4000, 10), 250);
	cr_expect_eq(lb_share(4000 + 5000, 4000, 10), 500);
	cr_expect_eq(lb_share(4000 + 9999, 4000, 10), 1000);
	cr_expect_eq(lb_share(4000 + 10000, 4000, 10), LB_SHARE_ONE);
	cr_expect_eq(lb_share(4000 + 86400000, 4000, 10), LB_SHARE_ONE);
	cr_expect_eq(lb_share(4000 + 500, 4000, 2), 250, "fractions of a second");
	cr_expect_eq(lb_share(4000 + 50, 4000, 0.5), 100);
}

/* The draws spread evenly: any share of any run of them is near exact. */
Test(lb_slow_start, draws_spread_evenly)
{
	uint64_t start, t;
	uint32_t s, below;

	for (start = 0; start < 5000; start += 1237)
		for (s = 50; s <= 1000; s += 50) {
			below = 0;
			for (t = start; t < start + 1000; t++) {
				cr_assert_lt(lb_draw(t), LB_SHARE_ONE);
				below += lb_draw(t) < s;
			}
			cr_expect(below + 3 >= s && below <= s + 3, "share %u: %u", s, below);
		}
}

/* failover: the first source ramping at 25 % gets 1 in 4, the rest go on
 * down the list; two ramping ones split the rest in turn. */
Test(lb_slow_start, failover_share)
{
	const uint8_t all[3] = { 1, 1, 1 }, not0[3] = { 0, 1, 1 };
	const uint32_t s0[3] = { 250, LB_SHARE_ONE, LB_SHARE_ONE };
	const uint32_t s01[3] = { 250, 500, LB_SHARE_ONE };
	const uint32_t s2[3] = { LB_SHARE_ONE, LB_SHARE_ONE, 100 };
	uint32_t cnt[3] = { 0 }, d;

	for (d = 0; d < LB_SHARE_ONE; d++)
		cnt[lb_failover_choose(all, s0, 3, d)]++;
	cr_expect(cnt[0] == 250 && cnt[1] == 750 && cnt[2] == 0, "%u %u %u", cnt[0], cnt[1],
	    cnt[2]);
	memset(cnt, 0, sizeof(cnt));
	for (d = 0; d < LB_SHARE_ONE; d++)
		cnt[lb_failover_choose(all, s01, 3, d)]++;
	cr_expect(cnt[0] == 250 && cnt[1] == 375 && cnt[2] == 375, "%u %u %u", cnt[0], cnt[1],
	    cnt[2]);
	for (d = 0; d < LB_SHARE_ONE; d += 7) {
		cr_expect_eq(lb_failover_choose(all, NULL, 3, d), 0, "no ramp: the first");
		cr_expect_eq(lb_failover_choose(all, s2, 3, d), 0, "a later one ramps: no matter");
		cr_expect_eq(lb_failover_choose(not0, s0, 3, d), 1, "the ramping one is down");
	}
	memset(cnt, 0, sizeof(cnt));
	for (d = 0; d < LB_SHARE_ONE; d++)
		cnt[lb_failover_choose(not0, s2, 3, d)]++;
	cr_expect(cnt[1] == LB_SHARE_ONE, "the last usable ramps too: it takes the rest");
}

/* Through lb_select() with the worker's counter as lb_pick() calls it. */
Test(lb_slow_start, failover_through_ops)
{
	static struct route_conf rc = { .balancer = LB_FAILOVER };
	const uint32_t w[2] = { 50, 1000 }, s[2] = { 50, LB_SHARE_ONE };
	const uint8_t nob[2] = { 0 };
	const enum lb_cand all[2] = { LB_C_YES, LB_C_YES };
	struct route_rt r = { .conf = &rc };
	uint64_t rotor = 0;
	struct lb_in in = { .r = &r, .n = 2, .weight = w, .share = s, .rotor = &rotor };
	uint32_t cnt[2] = { 0 }, i;

	for (i = 0; i < 2000; i++)
		cnt[lb_select(&lb_failover_ops, &in, all, nob)]++;
	cr_expect(cnt[0] >= 95 && cnt[0] <= 105, "5 %% of 2000: %u", cnt[0]);
	cr_expect_eq(rotor, 2000, "one draw per pick");
}

/* Where a ramp starts (shm.c): a passive mark cleared, the checker's rise;
 * not a fresh slot, not a mark-up with no mark, not a record rewritten. */
Test(lb_slow_start, recoveries_set_up_since)
{
	static struct shm_source s;
	struct shm_health_rec h;
	uint64_t t0, t1;

	memset(&s, 0, sizeof(s));
	memset(&h, 0, sizeof(h));
	cr_expect_eq(shm_source_mark_up(&s), 0);
	cr_expect_eq(atomic_load(&s.up_since_ms), 0, "never down: no ramp");
	cr_expect_eq(shm_source_mark_down(&s, 100, 110, SHM_R_CONNECT), 1);
	t0 = shm_now_ms();
	cr_expect_eq(shm_source_mark_up(&s), 1);
	t1 = shm_now_ms();
	cr_expect(atomic_load(&s.up_since_ms) >= t0 && atomic_load(&s.up_since_ms) <= t1);
	atomic_store(&s.up_since_ms, 0);
	cr_expect_eq(shm_source_mark_up(&s), 0, "cleared already");
	cr_expect_eq(atomic_load(&s.up_since_ms), 0);

	h.state = SHM_H_UP;
	h.since_ms = 1000;
	shm_health_write(&s, &h);
	cr_expect_eq(atomic_load(&s.up_since_ms), 0, "a fresh slot is up: no recovery");
	h.state = SHM_H_DOWN;
	h.since_ms = 5000;
	shm_health_write(&s, &h);
	cr_expect_eq(atomic_load(&s.up_since_ms), 0);
	h.state = SHM_H_UP;
	h.since_ms = 7000;
	shm_health_write(&s, &h);
	cr_expect_eq(atomic_load(&s.up_since_ms), 7000, "the checker's rise");
	h.checks++;
	shm_health_write(&s, &h);
	cr_expect_eq(atomic_load(&s.up_since_ms), 7000, "up to up is no recovery");
}
