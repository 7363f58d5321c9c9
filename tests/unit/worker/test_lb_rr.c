/*
 * lb_rr: the smooth weighted schedule (exact sequences, cyclic smoothness,
 * cap scaling) and round_robin through its ops table: the shared ticket
 * walks it, down sources are skipped without skewing the others.
 */
#include <stdatomic.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/conf.h"
#include "shm/layout.h"
#include "worker/lb.h"
#include "worker/lb_rr.h"
#include "worker/route.h"

#define CAP	1024

static uint32_t	sched[CAP];
static uint64_t	rng_state = 42;
static struct route_conf rconf;
static struct route_rt	route;
static struct shm_route	sroute;

static uint64_t	rng(void);
static uint32_t	count_of(const uint32_t *s, uint32_t len, uint32_t v);
static uint32_t	cyclic_run(const uint32_t *s, uint32_t len, uint32_t v);
static uint32_t	cyclic_gap(const uint32_t *s, uint32_t len, uint32_t v);
static void	setup(void);
static void	teardown(void);
static void	route_with(const uint32_t *w, uint32_t n);
static int	pick(const uint32_t *w, const enum lb_cand *cand, uint32_t n);

/* splitmix64: a fixed pseudo-random sequence, so failures reproduce. */
static uint64_t
rng(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint32_t
count_of(const uint32_t *s, uint32_t len, uint32_t v)
{
	uint32_t i, n = 0;

	for (i = 0; i < len; i++)
		n += s[i] == v;
	return n;
}

/* Longest run of v when the schedule repeats forever (what the ticket walks). */
static uint32_t
cyclic_run(const uint32_t *s, uint32_t len, uint32_t v)
{
	uint32_t i, run = 0, best = 0;

	if (count_of(s, len, v) == len)
		return len;
	for (i = 0; i < 2 * len; i++) {
		run = s[i % len] == v ? run + 1 : 0;
		if (run > best)
			best = run;
	}
	return best;
}

/* Longest distance between two consecutive uses of v, cyclically. */
static uint32_t
cyclic_gap(const uint32_t *s, uint32_t len, uint32_t v)
{
	uint32_t i, last = UINT32_MAX, best = 0;

	for (i = 0; i < 2 * len; i++) {
		if (s[i % len] != v)
			continue;
		if (last != UINT32_MAX && i - last > best)
			best = i - last;
		last = i;
	}
	return best;
}

static void
setup(void)
{
	memset(&rconf, 0, sizeof(rconf));
	memset(&route, 0, sizeof(route));
	rconf.balancer = LB_ROUND_ROBIN;
	route.conf = &rconf;
	atomic_store(&sroute.rr_ticket, 0);
}

static void
teardown(void)
{
	lb_route_free(&route);
	cr_expect_null(route.rr_sched, "freed and cleared");
}

TestSuite(lb_rr, .init = setup, .fini = teardown);

static void
route_with(const uint32_t *w, uint32_t n)
{
	static const char *const names[4] = { "a", "b", "c", "d" };

	cr_assert_leq(n, 4);
	cr_assert_eq(lb_ops_of(LB_ROUND_ROBIN), &lb_rr_ops);
	cr_assert_eq(lb_rr_ops.init(&route, names, w, n), 0);
}

/* One pick as lb_pick() makes it, from the candidates' states. */
static int
pick(const uint32_t *w, const enum lb_cand *cand, uint32_t n)
{
	static const uint8_t primaries[4];
	struct lb_in in = { .r = &route, .n = n, .weight = w, .sr = &sroute };

	return lb_select(&lb_rr_ops, &in, cand, primaries);
}

Test(lb_rr, five_one_one)
{
	static const uint32_t w[3] = { 5, 1, 1 };
	/*
	 * Flat nginx gives a a b a c a a: fine once, but the ticket walks it
	 * cyclically and the wrap makes a a a a. Heaviest-vs-rest gives at
	 * most ceil(5 / (1 + 1)) = 3 in a row, the least possible.
	 */
	static const uint32_t want[7] = { 0, 1, 0, 0, 0, 2, 0 };
	uint32_t len = lb_rr_sched_build(w, 3, sched, CAP);

	cr_assert_eq(len, 7);
	cr_expect_arr_eq(sched, want, sizeof(want));
	cr_expect_eq(count_of(sched, len, 0), 5);
	cr_expect_eq(count_of(sched, len, 1), 1);
	cr_expect_eq(count_of(sched, len, 2), 1);
	cr_expect_eq(cyclic_run(sched, len, 0), 3);
}

Test(lb_rr, small_weights)
{
	static const uint32_t w11[2] = { 1, 1 }, w12[2] = { 1, 2 }, w22[2] = { 2, 2 };
	static const uint32_t w421[3] = { 4, 2, 1 }, w111[3] = { 1, 1, 1 };
	static const uint32_t want421[7] = { 0, 1, 0, 2, 0, 1, 0 };	/* = nginx here */

	cr_assert_eq(lb_rr_sched_build(w11, 2, sched, CAP), 2);
	cr_expect(sched[0] == 0 && sched[1] == 1, "1:1 alternates");
	cr_assert_eq(lb_rr_sched_build(w12, 2, sched, CAP), 3);
	cr_expect(sched[0] == 1 && sched[1] == 0 && sched[2] == 1);
	cr_assert_eq(lb_rr_sched_build(w22, 2, sched, CAP), 2, "divided by the gcd");
	cr_expect(sched[0] == 0 && sched[1] == 1);
	cr_assert_eq(lb_rr_sched_build(w421, 3, sched, CAP), 7);
	cr_expect_arr_eq(sched, want421, sizeof(want421));
	cr_assert_eq(lb_rr_sched_build(w111, 3, sched, CAP), 3);
	cr_expect(sched[0] != sched[1] && sched[1] != sched[2] && sched[0] != sched[2]);
}

Test(lb_rr, zero_weights_and_bad_input)
{
	static const uint32_t w[3] = { 0, 3, 0 }, z[2] = { 0, 0 }, many[4] = { 1, 1, 1, 1 };

	cr_assert_eq(lb_rr_sched_build(w, 3, sched, CAP), 1);
	cr_expect_eq(sched[0], 1);
	cr_expect_eq(lb_rr_sched_build(z, 2, sched, CAP), 0);
	cr_expect_eq(lb_rr_sched_build(z, 0, sched, CAP), 0);
	cr_expect_eq(lb_rr_sched_build(many, 4, sched, 3), 0, "4 sources cannot fit 3 entries");
}

/* Any weights: exact counts, heaviest run optimal, nobody starved long. */
Test(lb_rr, properties_over_random_weights)
{
	uint32_t w[12], n, i, t, len, g, heavy, total;

	for (t = 0; t < 2000; t++) {
		n = 2 + (uint32_t)(rng() % 11);
		heavy = 0;
		for (i = 0; i < n; i++) {
			w[i] = 1 + (uint32_t)(rng() % (t % 2 ? 256 : 12));
			if (w[i] > w[heavy])
				heavy = i;
		}
		total = 0;
		for (i = 0; i < n; i++)
			total += w[i];
		if (total > CAP)
			continue;	/* scaling is tested on its own */
		len = lb_rr_sched_build(w, n, sched, CAP);
		cr_assert_gt(len, 0);
		g = total / len;
		cr_assert_eq(total % len, 0);
		for (i = 0; i < n; i++) {
			uint32_t c = count_of(sched, len, i);

			cr_assert_eq(c * g, w[i], "case %u source %u: %u x %u != %u", t, i, c, g,
			    w[i]);
			/* nobody waits much longer than its ideal interval len / c
			 * (at most 2.43 times over 3000 random cases) */
			cr_assert_leq(2 * cyclic_gap(sched, len, i) * c, 5 * len,
			    "case %u source %u", t, i);
		}
		if (len > w[heavy] / g) {
			uint32_t m = w[heavy] / g, bound = (m + (len - m) - 1) / (len - m);

			cr_assert_leq(cyclic_run(sched, len, heavy), bound, "case %u", t);
		}
	}
}

Test(lb_rr, scaled_to_cap)
{
	static const uint32_t w[3] = { 1000, 1, 1 }, v[4] = { 256, 256, 256, 255 };
	uint32_t len;

	len = lb_rr_sched_build(w, 3, sched, 64);
	cr_assert_gt(len, 0);
	cr_assert_leq(len, 64);
	cr_expect_eq(count_of(sched, len, 1), 1, "light sources keep weight 1");
	cr_expect_eq(count_of(sched, len, 2), 1);
	cr_expect_eq(count_of(sched, len, 0), len - 2);
	cr_expect_geq(len, 60, "the budget is used");

	len = lb_rr_sched_build(v, 4, sched, CAP);
	cr_assert_leq(len, CAP);
	cr_expect_eq(count_of(sched, len, 0), count_of(sched, len, 1));
	cr_expect_leq(count_of(sched, len, 3), count_of(sched, len, 0));
	cr_expect_geq(count_of(sched, len, 3) + 1, count_of(sched, len, 0));
}

/* The shared ticket walks the schedule: 5:1:1 is a b a a a c a, twice. */
Test(lb_rr, ticket_walks_the_schedule)
{
	static const uint32_t w[3] = { 5, 1, 1 };
	static const enum lb_cand all[3] = { LB_C_YES, LB_C_YES, LB_C_YES };
	static const int want[7] = { 0, 1, 0, 0, 0, 2, 0 };
	uint32_t i;

	route_with(w, 3);
	for (i = 0; i < 14; i++)
		cr_expect_eq(pick(w, all, 3), want[i % 7], "pick %u", i);
	cr_expect_eq(atomic_load(&sroute.rr_ticket), 14, "one ticket per pick");
	/* another worker took tickets meanwhile: this one carries on from there */
	atomic_fetch_add(&sroute.rr_ticket, 3);
	cr_expect_eq(pick(w, all, 3), want[(14 + 3) % 7]);
}

/* A down source is skipped: the others keep their exact ratio (2:1), and
 * the whole schedule comes back with it. */
Test(lb_rr, skips_down_sources)
{
	static const uint32_t w[3] = { 2, 5, 1 };
	static const enum lb_cand down1[3] = { LB_C_YES, LB_C_NO, LB_C_YES };
	static const enum lb_cand marked1[3] = { LB_C_YES, LB_C_MARKED, LB_C_YES };
	static const enum lb_cand all[3] = { LB_C_YES, LB_C_YES, LB_C_YES };
	uint32_t cnt[3] = { 0 }, i;

	route_with(w, 3);
	for (i = 0; i < 30; i++)
		cnt[pick(w, down1, 3)]++;
	cr_expect_eq(cnt[0], 20);
	cr_expect_eq(cnt[1], 0, "down: never picked");
	cr_expect_eq(cnt[2], 10);
	for (i = 0; i < 30; i++)
		cr_expect_neq(pick(w, marked1, 3), 1, "passively marked: skipped too");
	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < 80; i++)
		cnt[pick(w, all, 3)]++;
	cr_expect(cnt[0] == 20 && cnt[1] == 50 && cnt[2] == 10, "back: %u %u %u", cnt[0], cnt[1],
	    cnt[2]);
}

Test(lb_rr, nothing_usable)
{
	static const uint32_t w[2] = { 1, 1 };
	static const enum lb_cand none[2] = { LB_C_NO, LB_C_NO };
	static const enum lb_cand marked[2] = { LB_C_NO, LB_C_MARKED };

	route_with(w, 2);
	cr_expect_eq(pick(w, none, 2), -1);
	cr_expect_eq(pick(w, marked, 2), 1, "all passively down: the marked one is tried");
	cr_expect_eq(atomic_load(&sroute.rr_ticket), 0, "no ticket taken without a schedule");
}

/* One pick during a slow start, as lb_pick() makes it: weight[] effective. */
static int
pick_ramp(const uint32_t *w, const uint32_t *share, const enum lb_cand *cand, uint32_t n,
    uint64_t now_ms)
{
	static const uint8_t primaries[4];
	uint32_t ew[4], i;
	struct lb_in in = { .r = &route, .n = n, .weight = ew, .share = share, .sr = &sroute,
	    .now_ms = now_ms };

	for (i = 0; i < n; i++)
		ew[i] = w[i] * (share != NULL ? share[i] : 1);
	if (share == NULL)
		in.weight = w;
	return lb_select(&lb_rr_ops, &in, cand, primaries);
}

/* Two sources of weight 1, one at 25 % of its weight: 1 pick in 5 is its,
 * evenly spread; the full schedule comes back when the ramp is over. */
Test(lb_rr, slow_start_share)
{
	static const uint32_t w[2] = { 1, 1 };
	static const uint32_t quarter[2] = { LB_SHARE_ONE, 250 };
	static const enum lb_cand all[2] = { LB_C_YES, LB_C_YES };
	uint32_t cnt[2] = { 0 }, i, last = 0;

	route_with(w, 2);
	for (i = 0; i < 1000; i++) {
		int p = pick_ramp(w, quarter, all, 2, 5000);

		cnt[p]++;
		if (p == 1) {
			cr_expect(last == 0 || i - last == 5, "evenly spread: %u after %u", i, last);
			last = i;
		}
	}
	cr_expect_eq(cnt[1], 200, "1 in 5: %u", cnt[1]);
	cr_expect_eq(route.rr_len, 5);
	cr_expect_eq(route.rr_ramp_ms, 5000);
	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < 100; i++)
		cnt[pick_ramp(w, NULL, all, 2, 6000)]++;
	cr_expect(cnt[0] == 50 && cnt[1] == 50, "ramp over: %u %u", cnt[0], cnt[1]);
	cr_expect_eq(route.rr_ramp_ms, 0, "back to the full schedule");
}

/* During a ramp the schedule follows the shares, but is rebuilt at most
 * every 100 ms; a change of the usable set rebuilds it at once. */
Test(lb_rr, slow_start_rebuilds_at_most_every_100ms)
{
	static const uint32_t w[3] = { 3, 1, 1 };
	static const uint32_t s1[3] = { 100, LB_SHARE_ONE, LB_SHARE_ONE };
	static const uint32_t s2[3] = { 500, LB_SHARE_ONE, LB_SHARE_ONE };
	static const enum lb_cand all[3] = { LB_C_YES, LB_C_YES, LB_C_YES };
	static const enum lb_cand down2[3] = { LB_C_YES, LB_C_YES, LB_C_NO };
	uint32_t cnt[3] = { 0 }, i;

	route_with(w, 3);
	/* 3 x 10 % : 1 : 1, i.e. 0.3 of 2.3 */
	for (i = 0; i < 230; i++)
		cnt[pick_ramp(w, s1, all, 3, 1000)]++;
	cr_expect(cnt[0] == 30 && cnt[1] == 100 && cnt[2] == 100, "%u %u %u", cnt[0], cnt[1],
	    cnt[2]);
	memset(cnt, 0, sizeof(cnt));
	/* 99 ms later: the old schedule still */
	for (i = 0; i < 230; i++)
		cnt[pick_ramp(w, s2, all, 3, 1099)]++;
	cr_expect_eq(cnt[0], 30, "not rebuilt yet: %u", cnt[0]);
	cr_expect_eq(route.rr_ramp_ms, 1000);
	memset(cnt, 0, sizeof(cnt));
	/* 100 ms: 3 x 50 % : 1 : 1, i.e. 1.5 of 3.5 */
	for (i = 0; i < 350; i++)
		cnt[pick_ramp(w, s2, all, 3, 1100)]++;
	cr_expect(cnt[0] == 150 && cnt[1] == 100 && cnt[2] == 100, "%u %u %u", cnt[0], cnt[1],
	    cnt[2]);
	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < 250; i++)
		cnt[pick_ramp(w, s2, down2, 3, 1101)]++;
	cr_expect(cnt[0] == 150 && cnt[1] == 100 && cnt[2] == 0, "set changed: %u %u %u",
	    cnt[0], cnt[1], cnt[2]);
}

/* Without a ramp nothing is rebuilt: the schedule built once is kept. */
Test(lb_rr, no_slow_start_no_rebuild)
{
	static const uint32_t w[2] = { 2, 1 };
	static const enum lb_cand all[2] = { LB_C_YES, LB_C_YES };

	route_with(w, 2);
	cr_expect_eq(pick_ramp(w, NULL, all, 2, 1), 0);
	route.rr_sched[0] = 1;	/* a rebuild would put 0 back */
	atomic_store(&sroute.rr_ticket, 0);
	cr_expect_eq(pick_ramp(w, NULL, all, 2, 100000), 1, "kept");
	cr_expect_eq(route.rr_ramp_ms, 0);
}
