/*
 * lb_iphash: the fixed hash, the consistent ring (spread, weights, order
 * independence, cap) and ip_hash through its ops table: a client stays on
 * its source, and a source going down moves only its own clients.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/conf.h"
#include "worker/lb.h"
#include "worker/lb_iphash.h"
#include "worker/route.h"

#define NCLIENTS	5000

static struct lb_ring_point ring[64 * LB_IPHASH_VNODES];
static uint64_t	rng_state = 42;
static struct route_conf rconf;
static struct route_rt	route;

static uint64_t	rng(void);
static void	setup(void);
static void	teardown(void);
static int	pick_for(uint32_t ip, const enum lb_cand *cand, uint32_t n);

/* splitmix64: a fixed pseudo-random sequence, so failures reproduce. */
static uint64_t
rng(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void
setup(void)
{
	static const char *const names[4] = { "app1", "app2", "app3", "app4" };
	static const uint32_t w[4] = { 1, 1, 1, 1 };

	memset(&rconf, 0, sizeof(rconf));
	memset(&route, 0, sizeof(route));
	rconf.balancer = LB_IP_HASH;
	route.conf = &rconf;
	cr_assert_eq(lb_ops_of(LB_IP_HASH)->init(&route, names, w, 4), 0);
	cr_assert_eq(route.nring, 4 * LB_IPHASH_VNODES);
}

static void
teardown(void)
{
	lb_route_free(&route);
	cr_expect_null(route.ring);
	lb_route_free(&route);		/* twice is harmless */
}

TestSuite(lb_iphash, .init = setup, .fini = teardown);

/* The pick for IPv4 client ip (host order), as lb_pick() makes it. */
static int
pick_for(uint32_t ip, const enum lb_cand *cand, uint32_t n)
{
	static const uint32_t w[4] = { 1, 1, 1, 1 };
	static const uint8_t no_backups[4];
	struct sockaddr_in sin;
	struct lb_in in = { .r = &route, .n = n, .weight = w };

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)(ip * 7));	/* the port never matters */
	sin.sin_addr.s_addr = htonl(ip);
	in.peer = (const struct sockaddr *)&sin;
	return lb_select(lb_ops_of(LB_IP_HASH), &in, cand, no_backups);
}

Test(lb_iphash, hash_is_fixed)
{
	const uint8_t ip[4] = { 192, 0, 2, 1 };
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;

	/* Pinned: a change here moves every ip_hash client of every install. */
	cr_expect_eq(lb_iphash_hash("", 0), UINT64_C(0xefd01f60ba992926));
	cr_expect_eq(lb_iphash_hash(ip, 4), lb_iphash_hash(ip, 4));
	cr_expect_neq(lb_iphash_hash(ip, 4), lb_iphash_hash(ip, 3));
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	memcpy(&s4.sin_addr, ip, 4);
	cr_expect_eq(lb_iphash_peer((const struct sockaddr *)&s4), lb_iphash_hash(ip, 4));
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr);
	cr_expect_eq(lb_iphash_peer((const struct sockaddr *)&s6),
	    lb_iphash_hash(&s6.sin6_addr, 16));
	cr_expect_eq(lb_iphash_peer(NULL), 0);
}

/* Only the down source's clients move, and they come back with it. */
Test(lb_iphash, source_down_moves_only_its_clients)
{
	static int before[NCLIENTS];
	const enum lb_cand all[4] = { LB_C_YES, LB_C_YES, LB_C_YES, LB_C_YES };
	const enum lb_cand down2[4] = { LB_C_YES, LB_C_YES, LB_C_NO, LB_C_YES };
	uint32_t i, cnt[4] = { 0 }, moved = 0;

	for (i = 0; i < NCLIENTS; i++) {
		before[i] = pick_for(0x0a000000u + i * 7919u, all, 4);
		cr_assert(before[i] >= 0 && before[i] < 4);
		cr_assert_eq(pick_for(0x0a000000u + i * 7919u, all, 4), before[i], "stable");
		cnt[before[i]]++;
	}
	for (i = 0; i < 4; i++)
		cr_expect(cnt[i] >= NCLIENTS * 15 / 100 && cnt[i] <= NCLIENTS * 35 / 100,
		    "source %u has %u of %u", i, cnt[i], NCLIENTS);
	for (i = 0; i < NCLIENTS; i++) {
		int now = pick_for(0x0a000000u + i * 7919u, down2, 4);

		cr_assert_neq(now, 2);
		if (before[i] != 2)
			cr_assert_eq(now, before[i], "client %u moved off a live source", i);
		else
			moved++;
	}
	cr_expect_eq(moved, cnt[2], "exactly the down source's clients moved");
	for (i = 0; i < NCLIENTS; i++)
		cr_assert_eq(pick_for(0x0a000000u + i * 7919u, all, 4), before[i], "back home");
}

Test(lb_iphash, ring_spread_and_minimal_movement)
{
	static const char *const names[4] = { "app1", "app2", "app3", "app4" };
	static const uint32_t w[4] = { 1, 1, 1, 1 };
	static int before[10000];
	uint8_t usable[4] = { 1, 1, 1, 1 };
	uint32_t npts, i, cnt[4] = { 0 }, moved = 0;
	uint8_t ip[4];

	npts = lb_iphash_ring_build(names, w, 4, ring, sizeof(ring) / sizeof(ring[0]));
	cr_assert_eq(npts, 4 * LB_IPHASH_VNODES);
	for (i = 1; i < npts; i++)
		cr_assert_leq(ring[i - 1].hash, ring[i].hash);
	for (i = 0; i < 10000; i++) {
		uint64_t r = rng();

		memcpy(ip, &r, 4);
		before[i] = lb_iphash_ring_pick(ring, npts, lb_iphash_hash(ip, 4), usable);
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
		now = lb_iphash_ring_pick(ring, npts, lb_iphash_hash(ip, 4), usable);
		cr_assert_neq(now, 2);
		if (before[i] != 2)
			cr_assert_eq(now, before[i], "client %u moved off a live source", i);
		else
			moved++;
	}
	cr_expect_eq(moved, cnt[2], "exactly the down source's clients moved");
}

Test(lb_iphash, ring_one_of_ten_down_moves_about_a_tenth)
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
	npts = lb_iphash_ring_build(names, w, 10, ring, sizeof(ring) / sizeof(ring[0]));
	for (i = 0; i < 20000; i++) {
		int a, b;

		h = lb_iphash_hash(&i, sizeof(i));
		a = lb_iphash_ring_pick(ring, npts, h, usable);
		usable[7] = 0;
		b = lb_iphash_ring_pick(ring, npts, h, usable);
		usable[7] = 1;
		moved += a != b;
	}
	cr_expect(moved >= 20000 * 5 / 100 && moved <= 20000 * 15 / 100, "moved %u of 20000",
	    moved);
}

Test(lb_iphash, ring_independent_of_order_and_weighted)
{
	static const char *const ab[2] = { "alpha", "beta" }, *const ba[2] = { "beta", "alpha" };
	static struct lb_ring_point other[2 * 3 * LB_IPHASH_VNODES];
	const uint32_t w13[2] = { 1, 3 }, w31[2] = { 3, 1 };
	const uint8_t usable[2] = { 1, 1 };
	uint32_t n1, n2, i, beta = 0;

	n1 = lb_iphash_ring_build(ab, w13, 2, ring, sizeof(ring) / sizeof(ring[0]));
	n2 = lb_iphash_ring_build(ba, w31, 2, other, sizeof(other) / sizeof(other[0]));
	cr_assert_eq(n1, 4 * LB_IPHASH_VNODES);
	cr_assert_eq(n1, n2);
	for (i = 0; i < 4000; i++) {
		uint64_t h = lb_iphash_hash(&i, sizeof(i));
		int a = lb_iphash_ring_pick(ring, n1, h, usable);
		int b = lb_iphash_ring_pick(other, n2, h, usable);

		cr_assert_str_eq(ab[a], ba[b], "the same name whatever the order");
		beta += a == 1;
	}
	cr_expect(beta > 4000 * 65 / 100 && beta < 4000 * 85 / 100, "weight 3 of 4: %u", beta);
}

Test(lb_iphash, ring_capped_and_all_down)
{
	static const char *const names[3] = { "a", "b", "c" };
	const uint32_t w[3] = { 256, 1, 1 };
	const uint8_t none[3] = { 0, 0, 0 };
	uint32_t npts, i, per[3] = { 0 };

	npts = lb_iphash_ring_build(names, w, 3, ring, 100);
	cr_assert_leq(npts, 100);
	for (i = 0; i < npts; i++)
		per[ring[i].src]++;
	cr_expect_geq(per[1], 1, "every source keeps a point");
	cr_expect_geq(per[2], 1);
	cr_expect_gt(per[0], 90);
	cr_expect_eq(lb_iphash_ring_pick(ring, npts, 12345, none), -1);
	cr_expect_eq(lb_iphash_ring_pick(ring, 0, 12345, none), -1);
	cr_expect_eq(lb_iphash_ring_build(names, w, 3, ring, 2), 0, "cap < n");
}

/* Slow start: of the clients of a ramping source about its share stay, the
 * same ones at every pick and more as the share grows; the others go where
 * they would if it were down; no other client moves. */
Test(lb_iphash, slow_start_keeps_a_share_of_its_clients)
{
	static int before[NCLIENTS];
	const uint8_t all[4] = { 1, 1, 1, 1 }, down2[4] = { 1, 1, 0, 1 };
	const uint32_t s25[4] = { LB_SHARE_ONE, LB_SHARE_ONE, 250, LB_SHARE_ONE };
	const uint32_t s60[4] = { LB_SHARE_ONE, LB_SHARE_ONE, 600, LB_SHARE_ONE };
	const uint32_t full[4] = { LB_SHARE_ONE, LB_SHARE_ONE, LB_SHARE_ONE, LB_SHARE_ONE };
	uint32_t i, own = 0, stay25 = 0, stay60 = 0;

	for (i = 0; i < NCLIENTS; i++) {
		uint64_t h = lb_iphash_hash(&i, sizeof(i));
		int p, q;

		before[i] = lb_iphash_ring_pick(route.ring, route.nring, h, all);
		p = lb_iphash_ring_pick_share(route.ring, route.nring, h, all, s25, 4);
		cr_assert_eq(lb_iphash_ring_pick_share(route.ring, route.nring, h, all, s25, 4), p,
		    "stable");
		cr_assert_eq(lb_iphash_ring_pick_share(route.ring, route.nring, h, all, full, 4),
		    before[i], "full share: home");
		cr_assert_eq(lb_iphash_ring_pick_share(route.ring, route.nring, h, all, NULL, 4),
		    before[i]);
		q = lb_iphash_ring_pick_share(route.ring, route.nring, h, all, s60, 4);
		if (before[i] != 2) {
			cr_assert_eq(p, before[i], "client %u of a full source moved", i);
			continue;
		}
		own++;
		if (p == 2) {
			stay25++;
			cr_assert_eq(q, 2, "client %u: a growing share keeps who it had", i);
		} else {
			cr_assert_eq(p, lb_iphash_ring_pick(route.ring, route.nring, h, down2),
			    "turned away: as if it were down");
		}
		stay60 += q == 2;
	}
	cr_expect(stay25 * 100 >= own * 20 && stay25 * 100 <= own * 30, "25 %%: %u of %u",
	    stay25, own);
	cr_expect(stay60 * 100 >= own * 54 && stay60 * 100 <= own * 66, "60 %%: %u of %u",
	    stay60, own);
}

/* A ramping source alone keeps every client; through lb_select() too. */
Test(lb_iphash, slow_start_alone_and_through_ops)
{
	const uint8_t only1[4] = { 0, 1, 0, 0 };
	const uint32_t s[4] = { LB_SHARE_ONE, 50, LB_SHARE_ONE, LB_SHARE_ONE };
	const uint32_t w[4] = { 1000, 50, 1000, 1000 };
	const enum lb_cand all[4] = { LB_C_YES, LB_C_YES, LB_C_YES, LB_C_YES };
	static const uint8_t nob[4];
	struct sockaddr_in sin;
	struct lb_in in = { .r = &route, .n = 4, .weight = w, .share = s };
	uint32_t i, on1 = 0;

	for (i = 0; i < 200; i++)
		cr_assert_eq(lb_iphash_ring_pick_share(route.ring, route.nring, rng(), only1, s, 4),
		    1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	in.peer = (const struct sockaddr *)&sin;
	for (i = 0; i < NCLIENTS; i++) {
		sin.sin_addr.s_addr = htonl(0x0a000000u + i * 7919u);
		on1 += lb_select(&lb_iphash_ops, &in, all, nob) == 1;
	}
	/* a quarter of the clients hash to source 1, and 5 % of those stay */
	cr_expect(on1 >= NCLIENTS / 4 * 2 / 100 && on1 <= NCLIENTS / 4 * 9 / 100, "%u", on1);
}
