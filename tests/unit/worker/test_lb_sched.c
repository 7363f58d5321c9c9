/*
 * lb_sched: round-robin schedules (exact sequences, cyclic smoothness, cap
 * scaling), least-conn choice, and the consistent-hash ring (spread, and
 * that a source going down moves only its own clients).
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "worker/lb_sched.h"

#define CAP	1024

static uint32_t	sched[CAP];
static struct lb_ring_point ring[64 * LB_RING_VNODES];
static uint64_t	rng_state = 42;

static uint64_t	rng(void);
static uint32_t	count_of(const uint32_t *s, uint32_t len, uint32_t v);
static uint32_t	cyclic_run(const uint32_t *s, uint32_t len, uint32_t v);
static uint32_t	cyclic_gap(const uint32_t *s, uint32_t len, uint32_t v);

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

Test(lb_sched, five_one_one)
{
	static const uint32_t w[3] = { 5, 1, 1 };
	/*
	 * Flat nginx gives a a b a c a a: fine once, but the ticket walks it
	 * cyclically and the wrap makes a a a a. Heaviest-vs-rest gives at
	 * most ceil(5 / (1 + 1)) = 3 in a row, the least possible.
	 */
	static const uint32_t want[7] = { 0, 1, 0, 0, 0, 2, 0 };
	uint32_t len = lb_sched_build(w, 3, sched, CAP);

	cr_assert_eq(len, 7);
	cr_expect_arr_eq(sched, want, sizeof(want));
	cr_expect_eq(count_of(sched, len, 0), 5);
	cr_expect_eq(count_of(sched, len, 1), 1);
	cr_expect_eq(count_of(sched, len, 2), 1);
	cr_expect_eq(cyclic_run(sched, len, 0), 3);
}

Test(lb_sched, small_weights)
{
	static const uint32_t w11[2] = { 1, 1 }, w12[2] = { 1, 2 }, w22[2] = { 2, 2 };
	static const uint32_t w421[3] = { 4, 2, 1 }, w111[3] = { 1, 1, 1 };
	static const uint32_t want421[7] = { 0, 1, 0, 2, 0, 1, 0 };	/* = nginx here */

	cr_assert_eq(lb_sched_build(w11, 2, sched, CAP), 2);
	cr_expect(sched[0] == 0 && sched[1] == 1, "1:1 alternates");
	cr_assert_eq(lb_sched_build(w12, 2, sched, CAP), 3);
	cr_expect(sched[0] == 1 && sched[1] == 0 && sched[2] == 1);
	cr_assert_eq(lb_sched_build(w22, 2, sched, CAP), 2, "divided by the gcd");
	cr_expect(sched[0] == 0 && sched[1] == 1);
	cr_assert_eq(lb_sched_build(w421, 3, sched, CAP), 7);
	cr_expect_arr_eq(sched, want421, sizeof(want421));
	cr_assert_eq(lb_sched_build(w111, 3, sched, CAP), 3);
	cr_expect_eq(count_of(sched, 3, 0) + count_of(sched, 3, 1) + count_of(sched, 3, 2), 3);
	cr_expect(sched[0] != sched[1] && sched[1] != sched[2] && sched[0] != sched[2]);
}

Test(lb_sched, zero_weights_and_bad_input)
{
	static const uint32_t w[3] = { 0, 3, 0 }, z[2] = { 0, 0 }, many[4] = { 1, 1, 1, 1 };

	cr_assert_eq(lb_sched_build(w, 3, sched, CAP), 1);
	cr_expect_eq(sched[0], 1);
	cr_expect_eq(lb_sched_build(z, 2, sched, CAP), 0);
	cr_expect_eq(lb_sched_build(z, 0, sched, CAP), 0);
	cr_expect_eq(lb_sched_build(many, 4, sched, 3), 0, "4 sources cannot fit 3 entries");
}

/* Any weights: exact counts, heaviest run optimal, nobody starved long. */
Test(lb_sched, properties_over_random_weights)
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
		len = lb_sched_build(w, n, sched, CAP);
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

Test(lb_sched, scaled_to_cap)
{
	static const uint32_t w[3] = { 1000, 1, 1 }, v[4] = { 256, 256, 256, 255 };
	uint32_t len;

	len = lb_sched_build(w, 3, sched, 64);
	cr_assert_gt(len, 0);
	cr_assert_leq(len, 64);
	cr_expect_eq(count_of(sched, len, 1), 1, "light sources keep weight 1");
	cr_expect_eq(count_of(sched, len, 2), 1);
	cr_expect_eq(count_of(sched, len, 0), len - 2);
	cr_expect_geq(len, 60, "the budget is used");

	len = lb_sched_build(v, 4, sched, CAP);
	cr_assert_leq(len, CAP);
	cr_expect_eq(count_of(sched, len, 0), count_of(sched, len, 1));
	cr_expect_leq(count_of(sched, len, 3), count_of(sched, len, 0));
	cr_expect_geq(count_of(sched, len, 3) + 1, count_of(sched, len, 0));
}

Test(lb_sched, leastconn)
{
	const int64_t act[4] = { 5, 1, 9, 0 }, tie[3] = { 4, 2, 6 }, neg[2] = { -3, 0 };
	const uint32_t w[4] = { 1, 1, 3, 1 }, wt[3] = { 2, 1, 3 }, w0[2] = { 0, 1 };
	const uint8_t all[4] = { 1, 1, 1, 1 }, no3[4] = { 1, 1, 1, 0 }, none[4] = { 0 };

	cr_expect_eq(lb_pick_leastconn(act, w, all, 4, 0), 3);
	cr_expect_eq(lb_pick_leastconn(act, w, no3, 4, 0), 1, "unusable skipped");
	cr_expect_eq(lb_pick_leastconn(act, w, none, 4, 0), -1);
	/* 4/2 == 2/1 == 6/3: the first from start wins */
	cr_expect_eq(lb_pick_leastconn(tie, wt, all, 3, 0), 0);
	cr_expect_eq(lb_pick_leastconn(tie, wt, all, 3, 1), 1);
	cr_expect_eq(lb_pick_leastconn(tie, wt, all, 3, 5), 2);
	/* per weight: 9 active over weight 3 beats 4 over weight 1 */
	{
		const int64_t a2[2] = { 4, 9 };
		const uint32_t w2[2] = { 1, 3 };

		cr_expect_eq(lb_pick_leastconn(a2, w2, all, 2, 0), 1);
	}
	cr_expect_eq(lb_pick_leastconn(neg, w0, all, 2, 0), 1, "weight 0 never picked");
	cr_expect_eq(lb_pick_leastconn(neg, wt, all, 2, 0), 0, "negative is 0: 0/2 ties 0/1");
}

Test(lb_sched, hash_is_fixed)
{
	const uint8_t ip[4] = { 192, 0, 2, 1 };

	/* Pinned: a change here moves every ip_hash client of every install. */
	cr_expect_eq(lb_hash_addr("", 0), UINT64_C(0xefd01f60ba992926));
	cr_expect_eq(lb_hash_addr(ip, 4), lb_hash_addr(ip, 4));
	cr_expect_neq(lb_hash_addr(ip, 4), lb_hash_addr(ip, 3));
}

Test(lb_sched, ring_spread_and_minimal_movement)
{
	static const char *const names[4] = { "app1", "app2", "app3", "app4" };
	static const uint32_t w[4] = { 1, 1, 1, 1 };
	static int before[10000];
	uint8_t usable[4] = { 1, 1, 1, 1 };
	uint32_t npts, i, cnt[4] = { 0 }, moved = 0;
	uint8_t ip[4];

	npts = lb_ring_build(names, w, 4, ring, sizeof(ring) / sizeof(ring[0]));
	cr_assert_eq(npts, 4 * LB_RING_VNODES);
	for (i = 1; i < npts; i++)
		cr_assert_leq(ring[i - 1].hash, ring[i].hash);
	for (i = 0; i < 10000; i++) {
		uint64_t r = rng();

		memcpy(ip, &r, 4);
		before[i] = lb_ring_pick(ring, npts, lb_hash_addr(ip, 4), usable);
		cr_assert(before[i] >= 0 && before[i] < 4);
		cnt[before[i]]++;
	}
	for (i = 0; i < 4; i++)
		cr_expect(cnt[i] >= 1875 && cnt[i] <= 3125, "source %u has %u of 10000", i, cnt[i]);

	usable[2] = 0;
	rng_state = 42;
	for (i = 0; i < 10000; i++) {
		uint64_t r = rng();
		int now;

		memcpy(ip, &r, 4);
		now = lb_ring_pick(ring, npts, lb_hash_addr(ip, 4), usable);
		cr_assert_neq(now, 2);
		if (before[i] != 2)
			cr_assert_eq(now, before[i], "client %u moved off a live source", i);
		else
			moved++;
	}
	cr_expect_eq(moved, cnt[2], "exactly the down source's clients moved");
}

Test(lb_sched, ring_one_of_ten_down_moves_about_a_tenth)
{
	char buf[10][16];
	const char *names[10];
	uint32_t w[10], npts, i, moved = 0;
	uint8_t usable[10];
	uint64_t h;

	for (i = 0; i < 10; i++) {
		snprintf(buf[i], sizeof(buf[i]), "backend-%u", i);
		names[i] = buf[i];
		w[i] = 1;
		usable[i] = 1;
	}
	npts = lb_ring_build(names, w, 10, ring, sizeof(ring) / sizeof(ring[0]));
	for (i = 0; i < 20000; i++) {
		int a, b;

		h = lb_hash_addr(&i, sizeof(i));
		a = lb_ring_pick(ring, npts, h, usable);
		usable[7] = 0;
		b = lb_ring_pick(ring, npts, h, usable);
		usable[7] = 1;
		moved += a != b;
	}
	cr_expect(moved >= 20000 * 5 / 100 && moved <= 20000 * 15 / 100, "moved %u of 20000",
	    moved);
}

Test(lb_sched, ring_independent_of_order_and_weighted)
{
	static const char *const ab[2] = { "alpha", "beta" }, *const ba[2] = { "beta", "alpha" };
	static struct lb_ring_point other[2 * 3 * LB_RING_VNODES];
	const uint32_t w13[2] = { 1, 3 }, w31[2] = { 3, 1 };
	const uint8_t usable[2] = { 1, 1 };
	uint32_t n1, n2, i, beta = 0;

	n1 = lb_ring_build(ab, w13, 2, ring, sizeof(ring) / sizeof(ring[0]));
	n2 = lb_ring_build(ba, w31, 2, other, sizeof(other) / sizeof(other[0]));
	cr_assert_eq(n1, 4 * LB_RING_VNODES);
	cr_assert_eq(n1, n2);
	for (i = 0; i < 4000; i++) {
		uint64_t h = lb_hash_addr(&i, sizeof(i));
		int a = lb_ring_pick(ring, n1, h, usable), b = lb_ring_pick(other, n2, h, usable);

		cr_assert_str_eq(ab[a], ba[b], "the same name whatever the order");
		beta += a == 1;
	}
	cr_expect(beta > 4000 * 65 / 100 && beta < 4000 * 85 / 100, "weight 3 of 4: %u", beta);
}

Test(lb_sched, ring_capped_and_all_down)
{
	static const char *const names[3] = { "a", "b", "c" };
	const uint32_t w[3] = { 256, 1, 1 };
	const uint8_t none[3] = { 0, 0, 0 };
	uint32_t npts, i, per[3] = { 0 };

	npts = lb_ring_build(names, w, 3, ring, 100);
	cr_assert_leq(npts, 100);
	for (i = 0; i < npts; i++)
		per[ring[i].src]++;
	cr_expect_geq(per[1], 1, "every source keeps a point");
	cr_expect_geq(per[2], 1);
	cr_expect_gt(per[0], 90);
	cr_expect_eq(lb_ring_pick(ring, npts, 12345, none), -1);
	cr_expect_eq(lb_ring_pick(ring, 0, 12345, none), -1);
	cr_expect_eq(lb_ring_build(names, w, 3, ring, 2), 0, "cap < n");
}
