/*
 * stats: the reader's sums over worker slots, per-source percentiles from
 * the summed histogram, rates from two snapshots, health as a reader sees it,
 * a snapshot taken while the master is stuck mid-edit, worker rows that count
 * from the takeover of their slot, stalled workers, and the max_conns counts
 * (per source, and the queues of the current configuration's routes).
 */
#include <sys/mman.h>

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "shm/shm.h"
#include "shm/stats.h"

#define MW	5
#define MS	4
#define MR	8	/* two halves of 4 route slots (master/spawn.c) */

static char			 name[SHM_NAME_LEN];
static char			 err[256];
static struct shm_seg		 seg, ro;
static struct stats_worker	 wrows[2][MW];
static struct stats_source	 srows[2][MS];
static struct stats_route	 rrows[2][MR];

static void	setup(void);
static void	teardown(void);
static void	snap_init(struct stats_snap *s, int i);
static void	fill(void);
static void	takeover(uint32_t w, int32_t pid);
static const struct stats_source *src_row(const struct stats_snap *s, const char *n);
static void	q_enter(uint32_t w, uint32_t r);
static void	q_leave(uint32_t w, uint32_t r, uint64_t us, int timed_out);
static void	publish_routes(uint32_t gen, uint32_t n, const char *const *host,
		    const char *const *path, const uint32_t *flags, const uint32_t *lb);
static const struct stats_route *route_row(const struct stats_snap *s, const char *path);

static void
setup(void)
{
	snprintf(name, sizeof(name), "/sluice-test-stats-%d", (int)getpid());
	shm_unlink(name);
	cr_assert_eq(shm_create(name, MW, MS, MR, &seg, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(shm_attach_ro(name, &ro, err, sizeof(err)), 0, "%s", err);
}

static void
teardown(void)
{
	shm_detach(&ro);
	shm_remove(&seg);
	shm_detach(&seg);
}

static void
snap_init(struct stats_snap *s, int i)
{
	memset(s, 0, sizeof(*s));
	s->workers = wrows[i];
	s->wcap = MW;
	s->sources = srows[i];
	s->scap = MS;
	s->routes = rrows[i];
	s->rcap = MR;
}

static const struct stats_source *
src_row(const struct stats_snap *s, const char *n)
{
	uint32_t i;

	for (i = 0; i < s->ns; i++)
		if (strcmp(s->sources[i].name, n) == 0)
			return &s->sources[i];
	cr_assert_fail("no source %s", n);
	return NULL;
}

/*
 * Three running workers; app1's 100 latencies spread over them: 50 x 1 ms,
 * 40 x 5 ms, 9 x 20 ms, 1 x 300 ms.
 */
static void
fill(void)
{
	static const uint64_t lat[4] = { 1000, 5000, 20000, 300000 };
	static const int count[3][4] = { { 50, 0, 0, 0 }, { 0, 40, 0, 1 }, { 0, 0, 9, 0 } };
	uint32_t w;
	int k, n;

	shm_gen_begin(&seg);
	atomic_store(&seg.hdr->nworkers, 3);
	cr_assert_eq(shm_source_bind(&seg, "app1", "127.0.0.1:9001", 1, 1, 10000, 0), 0);
	cr_assert_eq(shm_source_bind(&seg, "app2", "127.0.0.1:9002", 2, 1, 10000, 1), 1);
	shm_gen_end(&seg);
	for (w = 0; w < 3; w++) {
		struct shm_worker *ws = shm_worker(&seg, w);

		shm_worker_claim(&seg, w, (int32_t)(1000 + w), 1);
		shm_add(&ws->requests, 10 * (w + 1));		/* 10 + 20 + 30 */
		shm_add(&ws->resp[1], 10 * (w + 1) - 1);
		shm_add(&ws->resp[4], 1);
		shm_add(&ws->bytes_in, 100);
		shm_add(&ws->bytes_out, 1000);
		shm_add(&ws->conns_total, 2);
		shm_gauge_add(&ws->conns_open, 1);
		for (k = 0; k < 4; k++)
			for (n = 0; n < count[w][k]; n++) {
				shm_wsrc_latency(shm_wsrc(&seg, w, 0), lat[k]);
				shm_add(&shm_wsrc(&seg, w, 0)->requests, 1);
				shm_add(&shm_wsrc(&seg, w, 0)->resp[1], 1);
			}
		shm_add(&shm_wsrc(&seg, w, 1)->failures, w);
		shm_add(&shm_wsrc(&seg, w, 1)->bytes_in, 7);
		shm_active_inc(&seg, w, 1);
	}
}

/*
 * What the master does when a new process takes slot w (master/spawn.c):
 * reap the old one, store the counters as base_*, then the process claims it.
 */
static void
takeover(uint32_t w, int32_t pid)
{
	struct shm_worker *ws = shm_worker(&seg, w);
	int k;

	shm_worker_reap(&seg, w);
	atomic_store(&ws->base_conns_total, atomic_load(&ws->conns_total));
	atomic_store(&ws->base_requests, atomic_load(&ws->requests));
	atomic_store(&ws->base_bytes_in, atomic_load(&ws->bytes_in));
	atomic_store(&ws->base_bytes_out, atomic_load(&ws->bytes_out));
	atomic_store(&ws->base_errors, atomic_load(&ws->errors));
	for (k = 0; k < 5; k++)
		atomic_store(&ws->base_resp[k], atomic_load(&ws->resp[k]));
	shm_worker_claim(&seg, w, pid, 2);
}

TestSuite(stats, .init = setup, .fini = teardown);

Test(stats, sums_over_three_workers)
{
	struct stats_snap s;
	const struct stats_source *a, *b;

	fill();
	snap_init(&s, 0);
	cr_assert_eq(stats_take(&ro, &s), 0);
	cr_expect_eq(s.torn, 0);
	cr_expect_eq(s.master_pid, getpid());
	cr_expect_eq(s.nworkers, 3);
	cr_expect_eq(s.nw, 3, "unused headroom slots are not listed");
	cr_expect_eq(s.workers[2].pid, 1002);
	cr_expect_eq(s.workers[2].requests, 30);
	cr_expect_eq(s.workers[1].state, SHM_W_RUNNING);
	cr_expect_eq(s.tot.requests, 60);
	cr_expect_eq(s.tot.resp[1], 57);
	cr_expect_eq(s.tot.resp[4], 3);
	cr_expect_eq(s.tot.bytes_in, 300);
	cr_expect_eq(s.tot.bytes_out, 3000);
	cr_expect_eq(s.tot.conns_total, 6);
	cr_expect_eq(s.tot.conns_open, 3);
	cr_expect_eq(s.tot.workers_running, 3);
	cr_expect_eq(s.tot.active, 3);
	cr_expect(s.tot.req_s < 0, "no rate from one snapshot");

	cr_expect_eq(s.ns, 2);
	a = src_row(&s, "app1");
	b = src_row(&s, "app2");
	cr_expect_str_eq(a->addr, "127.0.0.1:9001");
	cr_expect_eq(a->requests, 100);
	cr_expect_eq(a->resp[1], 100);
	cr_expect_eq(a->lat_count, 100);
	cr_expect_eq(a->lat_sum_us, 50 * 1000 + 40 * 5000 + 9 * 20000 + 300000);
	cr_expect_eq(a->up, 1);
	cr_expect_eq(a->live, 1);
	cr_expect_eq(b->failures, 0 + 1 + 2);
	cr_expect_eq(b->bytes_in, 21);
	cr_expect_eq(b->active, 3);
	cr_expect_eq(b->backup, 1);
	cr_expect_eq(b->weight, 2);

	/* a dead worker keeps its counts in the sums, not its active share */
	shm_worker_reap(&seg, 1);
	cr_assert_eq(stats_take(&ro, &s), 0);
	cr_expect_eq(s.tot.requests, 60);
	cr_expect_eq(s.tot.workers_running, 2);
	cr_expect_eq(src_row(&s, "app2")->active, 2);
	cr_expect_eq(s.workers[1].pid, 0);
	cr_expect_eq(s.nw, 3, "reaped slot with counts still listed");
}

Test(stats, percentiles_of_summed_histogram)
{
	struct stats_snap s;
	const struct stats_source *a;

	fill();
	snap_init(&s, 0);
	stats_take(&ro, &s);
	a = src_row(&s, "app1");
	/* upper bounds of the quarter-octave buckets holding 1, 5 and 20 ms */
	cr_expect_float_eq(a->p50_us, 1024.0, 1e-9);
	cr_expect_float_eq(a->p90_us, 5120.0, 1e-9);
	cr_expect_float_eq(a->p99_us, 20480.0, 1e-9);
	cr_expect_float_eq(stats_percentile(a->hist, SHM_HIST_BUCKETS, 1.0), 327680.0, 1e-9);
	cr_expect_float_eq(stats_percentile(a->hist, SHM_HIST_BUCKETS, 0.01), 1024.0, 1e-9);
	cr_expect_float_eq(src_row(&s, "app2")->p99_us, 0.0, 1e-9, "no responses");
}

Test(stats, percentile_edges)
{
	uint64_t h[SHM_HIST_BUCKETS];
	uint32_t b;

	memset(h, 0, sizeof(h));
	cr_expect_float_eq(stats_percentile(h, SHM_HIST_BUCKETS, 0.5), 0.0, 1e-9);
	h[SHM_HIST_BUCKETS - 1] = 1;
	cr_expect_float_eq(stats_percentile(h, SHM_HIST_BUCKETS, 0.5), 268435456.0, 1e-9);
	h[0] = 3;
	cr_expect_float_eq(stats_percentile(h, SHM_HIST_BUCKETS, 0.5), 1.0, 1e-9, "0 us -> < 1");
	/* every value maps to a bucket whose bounds contain it */
	for (b = 1; b < 200000; b += 7) {
		uint32_t k = shm_hist_bucket(b);

		cr_assert(stats_bucket_lower(k) <= b && b < stats_bucket_upper(k), "%u in %u", b,
		    k);
	}
	cr_expect(isinf(stats_bucket_upper(SHM_HIST_BUCKETS - 1)));
}

Test(stats, rates_from_two_snapshots)
{
	struct stats_snap a, b;

	fill();
	snap_init(&a, 0);
	snap_init(&b, 1);
	stats_take(&ro, &a);
	shm_add(&shm_worker(&seg, 0)->requests, 40);
	shm_add(&shm_worker(&seg, 2)->requests, 20);
	shm_add(&shm_wsrc(&seg, 0, 0)->requests, 60);
	stats_take(&ro, &b);
	a.taken_ms = b.taken_ms - 2000;	/* two seconds apart */
	stats_rates(&a, &b);
	cr_expect_float_eq(b.tot.req_s, 30.0, 1e-9);
	cr_expect_float_eq(b.workers[0].req_s, 20.0, 1e-9);
	cr_expect_float_eq(b.workers[1].req_s, 0.0, 1e-9);
	cr_expect_float_eq(b.workers[2].req_s, 10.0, 1e-9);
	cr_expect_float_eq(src_row(&b, "app1")->req_s, 30.0, 1e-9);

	b.master_pid++;	/* another master: counters are not comparable */
	stats_rates(&a, &b);
	cr_expect_float_eq(b.tot.req_s, 0.0, 1e-9);
}

Test(stats, health_as_seen_by_reader)
{
	struct shm_health_rec h = { SHM_H_DOWN, SHM_R_CONNECT, 1, 0, 3, 0, 0, 3 };
	struct stats_snap s;
	uint64_t now_s = shm_now_ms() / 1000;

	fill();
	shm_health_write(shm_source(&seg, 0), &h);
	shm_source_mark_down(shm_source(&seg, 1), (uint32_t)now_s, (uint32_t)now_s + 60,
	    SHM_R_TIMEOUT);
	snap_init(&s, 0);
	stats_take(&ro, &s);
	cr_expect_eq(src_row(&s, "app1")->up, 0);
	cr_expect_eq(src_row(&s, "app1")->reason, SHM_R_CONNECT);
	cr_expect_eq(src_row(&s, "app1")->health.fails, 3);
	cr_expect_eq(src_row(&s, "app2")->up, 0);
	cr_expect_str_eq(stats_reason_name(src_row(&s, "app2")->reason), "timeout");

	h.state = SHM_H_UP;
	shm_health_write(shm_source(&seg, 0), &h);
	shm_source_mark_up(shm_source(&seg, 1));
	stats_take(&ro, &s);
	cr_expect_eq(src_row(&s, "app1")->up, 1);
	cr_expect_eq(src_row(&s, "app2")->up, 1);
}

Test(stats, retired_sources_listed_not_live)
{
	struct stats_snap s;

	fill();
	shm_gen_begin(&seg);
	shm_source_retire_all(&seg);
	shm_source_bind(&seg, "app2", "127.0.0.1:9002", 2, 1, 10000, 0);
	shm_gen_end(&seg);
	snap_init(&s, 0);
	stats_take(&ro, &s);
	cr_expect_eq(s.ns, 2);
	cr_expect_eq(src_row(&s, "app1")->live, 0);
	cr_expect_eq(src_row(&s, "app2")->live, 1);
}

Test(stats, master_stuck_mid_edit_is_torn_not_hung)
{
	struct stats_snap s;

	fill();
	shm_gen_begin(&seg);	/* and never ends, as a master killed mid-reload */
	snap_init(&s, 0);
	cr_expect_eq(stats_take(&ro, &s), 0);
	cr_expect_eq(s.torn, 1);
	cr_expect_eq(s.tot.requests, 60, "best effort still filled");
}

Test(stats, capacity_smaller_than_table)
{
	struct stats_snap s;

	fill();
	snap_init(&s, 0);
	s.wcap = 1;
	s.scap = 1;
	stats_take(&ro, &s);
	cr_expect_eq(s.nw, 1);
	cr_expect_eq(s.ns, 1);
	cr_expect_eq(s.tot.requests, 60, "totals count every slot");
	cr_expect_eq(s.tot.active, 3);
}

Test(stats, worker_rows_count_from_takeover_totals_do_not)
{
	struct stats_snap s;
	struct shm_worker *ws = shm_worker(&seg, 1);

	fill();
	takeover(1, 2001);	/* a reload's (or a respawn's) new process in slot 1 */
	snap_init(&s, 0);
	stats_take(&ro, &s);
	cr_expect_eq(s.workers[1].pid, 2001);
	cr_expect_eq(s.workers[1].requests, 0, "not the previous occupant's 20");
	cr_expect_eq(s.workers[1].conns_total, 0);
	cr_expect_eq(s.workers[1].bytes_out, 0);
	cr_expect_eq(s.workers[1].resp[1], 0);
	cr_expect_eq(s.workers[0].requests, 10, "other slots untouched");
	cr_expect_eq(s.tot.requests, 60, "totals keep the old process's counts");

	shm_add(&ws->requests, 5);
	shm_add(&ws->resp[1], 4);
	shm_add(&ws->resp[4], 1);
	shm_add(&ws->bytes_out, 50);
	shm_add(&ws->conns_total, 1);
	stats_take(&ro, &s);
	cr_expect_eq(s.workers[1].requests, 5);
	cr_expect_eq(s.workers[1].resp[1], 4);
	cr_expect_eq(s.workers[1].resp[4], 1);
	cr_expect_eq(s.workers[1].bytes_out, 50);
	cr_expect_eq(s.workers[1].conns_total, 1);
	cr_expect_eq(s.tot.requests, 65);
	cr_expect_eq(s.tot.resp[4], 4);
	cr_expect_eq(s.tot.bytes_out, 3050);
	cr_expect_eq(s.workers[1].spawns, 2);

	/* a base read newer than its counter (mid-takeover) shows 0, never wraps */
	atomic_store(&ws->base_requests, 1000);
	stats_take(&ro, &s);
	cr_expect_eq(s.workers[1].requests, 0);
	cr_expect_eq(s.tot.requests, 65);
}

Test(stats, rate_of_a_new_process_in_a_slot_is_zero)
{
	struct stats_snap a, b;

	fill();
	snap_init(&a, 0);
	snap_init(&b, 1);
	stats_take(&ro, &a);
	takeover(2, 3002);
	shm_add(&shm_worker(&seg, 2)->requests, 7);
	stats_take(&ro, &b);
	a.taken_ms = b.taken_ms - 1000;
	stats_rates(&a, &b);
	cr_expect_float_eq(b.workers[2].req_s, 0.0, 1e-9);
	cr_expect_float_eq(b.tot.req_s, 7.0, 1e-9);
}

Test(stats, worker_without_heartbeat_is_stalled)
{
	struct stats_snap s;
	struct shm_worker *ws = shm_worker(&seg, 1);
	uint64_t now = shm_now_ms();

	fill();
	snap_init(&s, 0);
	atomic_store(&ws->heartbeat_ms, now - STATS_STALL_MS + 500);
	stats_take(&ro, &s);
	cr_expect_eq(s.workers[1].stalled, 0, "1.5 s is not yet stalled");
	cr_expect_str_eq(stats_worker_state(&s.workers[1]), "running");

	atomic_store(&ws->heartbeat_ms, now - STATS_STALL_MS - 500);
	stats_take(&ro, &s);
	cr_expect_eq(s.workers[1].stalled, 1);
	cr_expect_str_eq(stats_worker_state(&s.workers[1]), "stalled");
	cr_expect_eq(s.workers[0].stalled, 0);
	cr_expect_eq(s.tot.workers_stalled, 1);
	cr_expect_eq(s.tot.workers_running, 3, "a stalled process still holds its slot");

	atomic_store(&ws->heartbeat_ms, shm_now_ms());
	stats_take(&ro, &s);
	cr_expect_eq(s.workers[1].stalled, 0, "beating again");

	atomic_store(&ws->heartbeat_ms, now - 10 * STATS_STALL_MS);
	shm_worker_reap(&seg, 1);
	stats_take(&ro, &s);
	cr_expect_eq(s.workers[1].stalled, 0, "a free slot has no heartbeat to miss");
	cr_expect_str_eq(stats_worker_state(&s.workers[1]), "free");
}

/* ---- max_conns (4.0): source connections and route queues ---- */

/* What a worker does when a request starts / stops waiting in route slot r. */
static void
q_enter(uint32_t w, uint32_t r)
{
	struct shm_wroute *wr = shm_wroute(&seg, w, r);

	shm_gauge_add(&wr->queued, 1);
	shm_add(&wr->q_total, 1);
}

static void
q_leave(uint32_t w, uint32_t r, uint64_t us, int timed_out)
{
	struct shm_wroute *wr = shm_wroute(&seg, w, r);

	shm_gauge_add(&wr->queued, -1);
	shm_add(&wr->q_wait_us, us);
	if (us > atomic_load(&wr->q_wait_max_us))
		atomic_store(&wr->q_wait_max_us, us);
	if (timed_out)
		shm_add(&wr->q_timeouts, 1);
}

/* The master publishing generation gen's routes at its half (master/spawn.c). */
static void
publish_routes(uint32_t gen, uint32_t n, const char *const *host, const char *const *path,
    const uint32_t *flags, const uint32_t *lb)
{
	uint32_t base = (gen % 2) * (MR / 2), src[1] = { 0 }, i;

	shm_gen_begin(&seg);
	for (i = 0; i < n; i++)
		cr_assert_eq(shm_route_set(&seg, base + i, host[i], path[i], flags[i], lb[i], src,
		    1), 0);
	shm_gen_end(&seg);
	atomic_store(&seg.hdr->conf_gen, gen);
}

static const struct stats_route *
route_row(const struct stats_snap *s, const char *path)
{
	uint32_t i;

	for (i = 0; i < s->nr; i++)
		if (strcmp(s->routes[i].path, path) == 0)
			return &s->routes[i];
	cr_assert_fail("no route %s", path);
	return NULL;
}

Test(stats, source_connections_and_queue)
{
	struct stats_snap s;
	const struct stats_source *a, *b;
	int i;

	fill();
	atomic_store(&shm_source(&seg, 0)->max_conns, 4);
	snap_init(&s, 0);
	stats_take(&ro, &s);
	a = src_row(&s, "app1");
	cr_expect_eq(a->max_conns, 4);
	cr_expect_eq(a->conns, 0);
	cr_expect_eq(a->queued, 0);
	cr_expect_eq(a->conns_total, 0);
	cr_expect_eq(src_row(&s, "app2")->max_conns, 0, "no limit");

	/* app1: 3 connections from worker 0, 1 from worker 1: full */
	for (i = 0; i < 3; i++)
		cr_assert_eq(shm_conn_take(&seg, 0, 0, 4), 1);
	cr_assert_eq(shm_conn_take(&seg, 1, 0, 4), 1);
	cr_assert_eq(shm_conn_take(&seg, 2, 0, 4), 0, "full: not counted");
	/* app2 has no limit: counted all the same */
	for (i = 0; i < 5; i++)
		cr_assert_eq(shm_conn_take(&seg, 2, 1, 0), 1);
	shm_conn_give(&seg, 2, 1);
	/* 2 requests of worker 1 and 1 of worker 2 wait for app1 (worker/queue.c) */
	shm_gauge_add(&shm_wsrc(&seg, 1, 0)->queued, 2);
	atomic_fetch_add(&shm_source(&seg, 0)->queued, 2);
	shm_gauge_add(&shm_wsrc(&seg, 2, 0)->queued, 1);
	atomic_fetch_add(&shm_source(&seg, 0)->queued, 1);
	stats_take(&ro, &s);
	a = src_row(&s, "app1");
	b = src_row(&s, "app2");
	cr_expect_eq(a->conns, 4);
	cr_expect_eq(a->conns_total, 4);
	cr_expect_eq(a->queued, 3);
	cr_expect_eq(b->conns, 4);
	cr_expect_eq(b->conns_total, 5, "a closed connection still counts as opened");
	cr_expect_eq(b->queued, 0);

	shm_conn_give(&seg, 0, 0);
	stats_take(&ro, &s);
	cr_expect_eq(src_row(&s, "app1")->conns, 3);
	cr_expect_eq(src_row(&s, "app1")->conns_total, 4);

	/* worker 1 killed: the master takes back its connection and its 2 waiters */
	shm_worker_reap(&seg, 1);
	stats_take(&ro, &s);
	a = src_row(&s, "app1");
	cr_expect_eq(a->conns, 2);
	cr_expect_eq(a->queued, 1);
	cr_expect_eq(a->conns_total, 4);

	/* a count read between a dead worker's two stores may be negative: 0 */
	atomic_store(&shm_source(&seg, 0)->conns, -1);
	atomic_store(&shm_source(&seg, 0)->queued, -2);
	stats_take(&ro, &s);
	cr_expect_eq(src_row(&s, "app1")->conns, 0);
	cr_expect_eq(src_row(&s, "app1")->queued, 0);
}

Test(stats, routes_of_the_current_half_with_queues)
{
	static const char *const host[2] = { "*", "api.example.com" };
	static const char *const path[2] = { "/", "^/v[12]/" };
	static const uint32_t flags[2] = { 0, SHM_RT_F_REGEX };
	static const uint32_t lb[2] = { SHM_LB_ROUND_ROBIN, SHM_LB_LEAST_CONN };
	static const char *const ohost[1] = { "old.example.com" };
	static const char *const opath[1] = { "/gone" };
	struct stats_snap s;
	const struct stats_route *r0, *r1;
	uint32_t src[1] = { 0 };
	int i;

	fill();
	/* an older generation's route left in the other half (slots 0..3) */
	shm_gen_begin(&seg);
	cr_assert_eq(shm_route_set(&seg, 0, ohost[0], opath[0], 0, 0, src, 1), 0);
	shm_gen_end(&seg);
	for (i = 0; i < 7; i++)
		q_enter(0, 0);
	publish_routes(1, 2, host, path, flags, lb);	/* generation 1: slots 4, 5 */
	snap_init(&s, 0);
	stats_take(&ro, &s);
	cr_expect_eq(s.nr, 2, "the other half is not the current configuration");
	r0 = &s.routes[0];
	r1 = &s.routes[1];
	cr_expect_eq(r0->slot, 4);
	cr_expect_str_eq(r0->host, "*");
	cr_expect_str_eq(r0->path, "/");
	cr_expect_eq(r0->regex, 0);
	cr_expect_str_eq(stats_lb_name(r0->balancer), "round_robin");
	cr_expect_eq(r0->queued, 0);
	cr_expect_eq(r0->q_total, 0);
	cr_expect_float_eq(r0->q_wait_avg_us, 0.0, 1e-9, "no wait ended: 0, not NaN");
	cr_expect_str_eq(r1->host, "api.example.com");
	cr_expect_str_eq(r1->path, "^/v[12]/");
	cr_expect_eq(r1->regex, 1);
	cr_expect_str_eq(stats_lb_name(r1->balancer), "least_conn");

	/*
	 * Route "/": worker 0 has 10 waits, 8 ended (1 ms each, one of them a
	 * timeout), 2 still waiting; worker 1 has 5, 4 ended (1, 1, 1, 5 ms; 2
	 * timeouts), 1 waiting. Route 1: worker 2, 3 waits of 100 us, all ended.
	 */
	for (i = 0; i < 10; i++)
		q_enter(0, 4);
	for (i = 0; i < 8; i++)
		q_leave(0, 4, 1000, i == 0);
	for (i = 0; i < 5; i++)
		q_enter(1, 4);
	for (i = 0; i < 4; i++)
		q_leave(1, 4, i == 3 ? 5000 : 1000, i >= 2);
	for (i = 0; i < 3; i++) {
		q_enter(2, 5);
		q_leave(2, 5, 100, 0);
	}
	stats_take(&ro, &s);
	r0 = route_row(&s, "/");
	r1 = route_row(&s, "^/v[12]/");
	cr_expect_eq(r0->queued, 3);
	cr_expect_eq(r0->q_total, 15);
	cr_expect_eq(r0->q_timeouts, 3);
	cr_expect_eq(r0->q_ended, 12);
	cr_expect_eq(r0->q_wait_us, 8 * 1000 + 3 * 1000 + 5000);
	cr_expect_float_eq(r0->q_wait_avg_us, 16000.0 / 12, 1e-6);
	cr_expect_eq(r0->q_wait_max_us, 5000, "the longest of all workers");
	cr_expect_eq(r1->queued, 0);
	cr_expect_eq(r1->q_total, 3);
	cr_expect_eq(r1->q_timeouts, 0);
	cr_expect_eq(r1->q_ended, 3);
	cr_expect_float_eq(r1->q_wait_avg_us, 100.0, 1e-9);
	cr_expect_eq(r1->q_wait_max_us, 100);

	/* worker 1 killed with 1 waiting: the master zeroes its queued, the
	 * counters stay; its waiter counts as ended (with no time) */
	shm_worker_reap(&seg, 1);
	stats_take(&ro, &s);
	r0 = route_row(&s, "/");
	cr_expect_eq(r0->queued, 2);
	cr_expect_eq(r0->q_total, 15);
	cr_expect_eq(r0->q_timeouts, 3);
	cr_expect_eq(r0->q_ended, 13);
	cr_expect_eq(r0->q_wait_us, 16000);
	cr_expect_eq(r0->q_wait_max_us, 5000);

	/* a queued above q_total (read between the worker's two stores) never
	 * makes ended wrap */
	shm_gauge_add(&shm_wroute(&seg, 3, 5)->queued, 1);
	stats_take(&ro, &s);
	cr_expect_eq(route_row(&s, "^/v[12]/")->queued, 0);
	cr_expect_eq(route_row(&s, "^/v[12]/")->q_ended, 3);

	/* no routes array: nothing listed, the rest as before */
	s.routes = NULL;
	stats_take(&ro, &s);
	cr_expect_eq(s.nr, 0);
	cr_expect_eq(s.tot.requests, 60);
}

Test(stats, reload_moves_routes_to_the_other_half_counts_follow)
{
	static const char *const host1[2] = { "*", "*" };
	static const char *const path1[2] = { "/", "/old" };
	static const char *const host2[3] = { "*", "*", "*" };
	static const char *const path2[3] = { "/new", "/", "/" };
	static const uint32_t flags[3] = { 0, 0, 0 };
	static const uint32_t lb[3] = { 0, 0, 0 };
	struct stats_snap s;
	const struct stats_route *r;
	int i;

	fill();
	publish_routes(1, 2, host1, path1, flags, lb);	/* slots 4 "/", 5 "/old" */
	for (i = 0; i < 4; i++)
		q_enter(0, 4);
	q_leave(0, 4, 2000, 1);
	for (i = 0; i < 2; i++)
		q_enter(1, 5);
	q_leave(1, 5, 700, 0);
	/* generation 2: slots 0 "/new", 1 "/", 2 "/" again (never matched) */
	publish_routes(2, 3, host2, path2, flags, lb);
	q_enter(2, 1);
	q_enter(2, 1);
	q_leave(2, 1, 9000, 0);
	snap_init(&s, 0);
	stats_take(&ro, &s);
	cr_expect_eq(s.nr, 3);
	cr_expect_str_eq(s.routes[0].path, "/new");
	cr_expect_eq(s.routes[0].q_total, 0, "\"/old\" is not merged into another route");
	cr_expect_eq(s.routes[0].shadowed, 0);
	r = &s.routes[1];
	cr_expect_eq(r->slot, 1);
	cr_expect_eq(r->shadowed, 0);
	/* "/" of generation 2 plus "/" of generation 1, whose worker still waits */
	cr_expect_eq(r->queued, 3 + 1);
	cr_expect_eq(r->q_total, 4 + 2);
	cr_expect_eq(r->q_timeouts, 1);
	cr_expect_eq(r->q_ended, 1 + 1);
	cr_expect_eq(r->q_wait_us, 2000 + 9000);
	cr_expect_eq(r->q_wait_max_us, 9000);
	r = &s.routes[2];
	cr_expect_eq(r->shadowed, 1, "same host and path as an earlier route");
	cr_expect_eq(r->q_total, 0, "the old half's \"/\" went to the first one only");

	/* before conf_gen moves (the master stores it after publishing), the
	 * old half is shown, intact */
	atomic_store(&seg.hdr->conf_gen, 1);
	stats_take(&ro, &s);
	cr_expect_eq(s.nr, 2);
	cr_expect_str_eq(s.routes[1].path, "/old");
	cr_expect_eq(s.routes[1].q_total, 2);
	cr_expect_eq(s.routes[1].queued, 1);
	cr_expect_eq(s.routes[0].q_total, 6, "\"/\" merges the same way in either half");
}

Test(stats, single_route_slot_segment_lists_it)
{
	char n2[SHM_NAME_LEN];
	struct shm_seg one, one_ro;
	struct stats_snap s;
	uint32_t src[1] = { 0 };

	snprintf(n2, sizeof(n2), "/sluice-test-stats1-%d", (int)getpid());
	shm_unlink(n2);
	cr_assert_eq(shm_create(n2, 2, 1, 1, &one, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(shm_attach_ro(n2, &one_ro, err, sizeof(err)), 0, "%s", err);
	shm_gen_begin(&one);
	cr_assert_eq(shm_route_set(&one, 0, "*", "/", 0, SHM_LB_FAILOVER, src, 1), 0);
	shm_gen_end(&one);
	shm_add(&shm_wroute(&one, 1, 0)->q_total, 4);
	snap_init(&s, 0);
	stats_take(&one_ro, &s);
	cr_expect_eq(s.nr, 1, "no halves in a one-slot table (conf_gen 1)");
	cr_expect_eq(s.routes[0].q_total, 4);
	cr_expect_str_eq(stats_lb_name(s.routes[0].balancer), "failover");
	cr_expect_str_eq(stats_lb_name(SHM_LB__COUNT), "?");
	shm_detach(&one_ro);
	shm_remove(&one);
	shm_detach(&one);
}
