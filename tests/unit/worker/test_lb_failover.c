/*
 * lb_failover and the usable set every balancer shares (lb_select()): list
 * order, backups only when no primary is usable, passively marked sources
 * as the last resort, and the ops table itself.
 */
#include <criterion/criterion.h>

#include "common/conf.h"
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
