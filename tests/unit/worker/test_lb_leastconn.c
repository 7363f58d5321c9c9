/*
 * lb_leastconn: fewest requests in flight per weight, ties spread by the
 * worker's rotor, unusable and weightless sources never chosen; through
 * lb_select() as lb_pick() calls it.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "common/conf.h"
#include "worker/lb.h"
#include "worker/lb_leastconn.h"
#include "worker/route.h"

static const uint8_t	no_backups[8];

static int	pick(const int64_t *active, const uint32_t *w, const enum lb_cand *cand,
		    uint32_t n, uint64_t *rotor);

static int
pick(const int64_t *active, const uint32_t *w, const enum lb_cand *cand, uint32_t n,
    uint64_t *rotor)
{
	static struct route_conf rc = { .balancer = LB_LEAST_CONN };
	struct route_rt r = { .conf = &rc };
	struct lb_in in = { .r = &r, .n = n, .weight = w, .active = active, .rotor = rotor };

	return lb_select(lb_ops_of(LB_LEAST_CONN), &in, cand, no_backups);
}

Test(lb_leastconn, table)
{
	cr_expect_eq(lb_ops_of(LB_LEAST_CONN), &lb_leastconn_ops);
	cr_expect_str_eq(lb_leastconn_ops.name, "least_conn");
	cr_expect(lb_leastconn_ops.flags & LB_F_ACTIVE, "lb_pick() must load the counts");
}

Test(lb_leastconn, choose)
{
	const int64_t act[4] = { 5, 1, 9, 0 }, tie[3] = { 4, 2, 6 }, neg[2] = { -3, 0 };
	const uint32_t w[4] = { 1, 1, 3, 1 }, wt[3] = { 2, 1, 3 }, w0[2] = { 0, 1 };
	const uint8_t all[4] = { 1, 1, 1, 1 }, no3[4] = { 1, 1, 1, 0 }, none[4] = { 0 };

	cr_expect_eq(lb_leastconn_choose(act, w, all, 4, 0), 3);
	cr_expect_eq(lb_leastconn_choose(act, w, no3, 4, 0), 1, "unusable skipped");
	cr_expect_eq(lb_leastconn_choose(act, w, none, 4, 0), -1);
	/* 4/2 == 2/1 == 6/3: the first from start wins */
	cr_expect_eq(lb_leastconn_choose(tie, wt, all, 3, 0), 0);
	cr_expect_eq(lb_leastconn_choose(tie, wt, all, 3, 1), 1);
	cr_expect_eq(lb_leastconn_choose(tie, wt, all, 3, 5), 2);
	cr_expect_eq(lb_leastconn_choose(neg, w0, all, 2, 0), 1, "weight 0 never picked");
	cr_expect_eq(lb_leastconn_choose(neg, wt, all, 2, 0), 0, "negative is 0: 0/2 ties 0/1");
}

/* Per weight: 9 in flight over weight 3 beats 4 over weight 1; 2 over
 * weight 2 ties 1 over weight 1. */
Test(lb_leastconn, weights)
{
	const int64_t a[2] = { 4, 9 }, b[2] = { 2, 1 };
	const uint32_t w[2] = { 1, 3 }, v[2] = { 2, 1 };
	const enum lb_cand all[2] = { LB_C_YES, LB_C_YES };
	uint64_t rotor = 0;

	cr_expect_eq(pick(a, w, all, 2, &rotor), 1);
	cr_expect_eq(pick(a, w, all, 2, &rotor), 1, "whatever the rotor");
	rotor = 0;
	cr_expect_eq(pick(b, v, all, 2, &rotor), 0, "tie: the rotor's start");
	cr_expect_eq(pick(b, v, all, 2, &rotor), 1);
}

/* Equal sources: the rotor spreads ties evenly instead of piling on the
 * first, and advances once per pick. */
Test(lb_leastconn, ties_rotate)
{
	const int64_t zero[3] = { 0, 0, 0 };
	const uint32_t w[3] = { 1, 1, 1 };
	const enum lb_cand all[3] = { LB_C_YES, LB_C_YES, LB_C_YES };
	uint64_t rotor = 0;
	uint32_t cnt[3] = { 0 }, i;

	for (i = 0; i < 30; i++)
		cnt[pick(zero, w, all, 3, &rotor)]++;
	cr_expect(cnt[0] == 10 && cnt[1] == 10 && cnt[2] == 10, "%u %u %u", cnt[0], cnt[1],
	    cnt[2]);
	cr_expect_eq(rotor, 30);
}

Test(lb_leastconn, skips_down_and_busy_is_not_down)
{
	const int64_t act[3] = { 0, 100, 7 };
	const uint32_t w[3] = { 1, 1, 1 };
	const enum lb_cand c0[3] = { LB_C_NO, LB_C_YES, LB_C_YES };
	const enum lb_cand c02[3] = { LB_C_NO, LB_C_YES, LB_C_MARKED };
	const enum lb_cand none[3] = { LB_C_NO, LB_C_NO, LB_C_PROBE };
	uint64_t rotor = 0;

	cr_expect_eq(pick(act, w, c0, 3, &rotor), 2, "the idle one is down");
	cr_expect_eq(pick(act, w, c02, 3, &rotor), 1, "busy but the only usable one");
	cr_expect_eq(pick(act, w, none, 3, &rotor), -1, "a probe is lb_pick()'s, not ours");
}

/* Slow start with no load at all: every source ties at 0 in flight, and a
 * ramping one (25 %) still gets only its share: 1 in 5 against weight 1. */
Test(lb_leastconn, slow_start_ties_by_share)
{
	const int64_t zero[3] = { 0, 0, 0 };
	const uint32_t w[3] = { 1000, 250, 1000 }, s[3] = { LB_SHARE_ONE, 250, LB_SHARE_ONE };
	const uint8_t all[3] = { 1, 1, 1 };
	uint32_t cnt[3] = { 0 }, d;

	for (d = 0; d < LB_SHARE_ONE; d++)
		cnt[lb_leastconn_choose_share(zero, w, s, all, 3, d)]++;
	/* 1 : 0.25 : 1 */
	cr_expect(cnt[0] >= 444 && cnt[0] <= 445 && cnt[1] >= 111 && cnt[1] <= 112 &&
	    cnt[2] >= 444 && cnt[2] <= 445, "%u %u %u", cnt[0], cnt[1], cnt[2]);
}

/* Under load the effective weight counts: 1 in flight on a source at 25 %
 * weighs like 4 on a full one. */
Test(lb_leastconn, slow_start_effective_weights)
{
	const int64_t a[2] = { 3, 1 }, b[2] = { 4, 1 }, c[2] = { 5, 1 };
	const uint32_t w[2] = { 1000, 250 }, s[2] = { LB_SHARE_ONE, 250 };
	const uint8_t all[2] = { 1, 1 }, not1[2] = { 1, 0 };
	uint32_t d, n1 = 0;

	for (d = 0; d < LB_SHARE_ONE; d += 10) {
		cr_expect_eq(lb_leastconn_choose_share(a, w, s, all, 2, d), 0);
		cr_expect_eq(lb_leastconn_choose_share(c, w, s, all, 2, d), 1);
		cr_expect_eq(lb_leastconn_choose_share(c, w, s, not1, 2, d), 0);
		n1 += lb_leastconn_choose_share(b, w, s, all, 2, d) == 1;
	}
	cr_expect_eq(n1, 20, "a tie: the ramping one for its share of the draws (%u)", n1);
}

/* Through lb_select(), the rotor feeding the draws. */
Test(lb_leastconn, slow_start_through_ops)
{
	const int64_t zero[2] = { 0, 0 };
	const uint32_t w[2] = { 1000, 100 }, s[2] = { LB_SHARE_ONE, 100 };
	const enum lb_cand all[2] = { LB_C_YES, LB_C_YES };
	static struct route_conf rc = { .balancer = LB_LEAST_CONN };
	struct route_rt r = { .conf = &rc };
	uint64_t rotor = 0;
	struct lb_in in = { .r = &r, .n = 2, .weight = w, .share = s, .active = zero,
	    .rotor = &rotor };
	uint32_t cnt[2] = { 0 }, i;

	for (i = 0; i < 1100; i++)
		cnt[lb_select(&lb_leastconn_ops, &in, all, no_backups)]++;
	cr_expect(cnt[1] >= 95 && cnt[1] <= 105, "1 in 11: %u", cnt[1]);
	cr_expect_eq(rotor, 1100);
}
