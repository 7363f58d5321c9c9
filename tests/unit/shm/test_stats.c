/*
 * stats: the reader's sums over worker slots, per-source percentiles from
 * the summed histogram, rates from two snapshots, health as a reader sees it,
 * a snapshot taken while the master is stuck mid-edit, worker rows that count
 * from the takeover of their slot, and stalled workers.
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

static char			 name[SHM_NAME_LEN];
static char			 err[256];
static struct shm_seg		 seg, ro;
static struct stats_worker	 wrows[2][MW];
static struct stats_source	 srows[2][MS];

static void	setup(void);
static void	teardown(void);
static void	snap_init(struct stats_snap *s, int i);
static void	fill(void);
static void	takeover(uint32_t w, int32_t pid);
static const struct stats_source *src_row(const struct stats_snap *s, const char *n);

static void
setup(void)
{
	snprintf(name, sizeof(name), "/sluice-test-stats-%d", (int)getpid());
	shm_unlink(name);
	cr_assert_eq(shm_create(name, MW, MS, 1, &seg, err, sizeof(err)), 0, "%s", err);
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
