/*
 * Sums the segment's per-worker slots into plain snapshots for sluice-stat.
 * Counters are single atomics and need no lock; only the tables the master
 * edits on reload (names, flags) are read under the hdr.gen seqlock.
 */
#include "shm/stats.h"

#include <math.h>
#include <string.h>

#include "shm/shm.h"

#define GEN_TRIES	200	/* full re-reads while the master edits tables */

static void	read_tables(const struct shm_seg *seg, struct stats_snap *snap, uint64_t now_ms);
static void	read_worker(const struct shm_worker *ws, uint32_t w, struct stats_worker *o,
		    struct stats_totals *t, uint64_t now_ms);
static uint64_t	since(uint64_t counter, uint64_t base);
static void	read_source(const struct shm_seg *seg, uint32_t s, struct stats_source *o,
		    uint64_t now_ms);
static void	copy_name(char *dst, const char *src, size_t size);
static double	rate(uint64_t before, uint64_t after, double secs);

#define LD(p)	atomic_load_explicit((p), memory_order_relaxed)

int
stats_take(const struct shm_seg *seg, struct stats_snap *snap)
{
	const struct shm_hdr *h = seg->hdr;
	uint64_t g;
	int tries;

	for (tries = 0; tries < GEN_TRIES; tries++) {
		g = shm_seq_read_begin(&h->gen);
		snap->taken_ms = shm_now_ms();
		read_tables(seg, snap, snap->taken_ms);
		if (!shm_seq_read_retry(&h->gen, g))
			break;
		if (tries > 10) {
			struct timespec ts = { 0, 1000000 };	/* 1 ms: let the master finish */

			nanosleep(&ts, NULL);
		}
	}
	snap->torn = tries == GEN_TRIES;
	snap->master_pid = LD(&h->master_pid);
	/* By pid and start time: a recycled pid is not a live master. */
	snap->master_alive = shm_master_alive(snap->master_pid, h->master_start);
	snap->ver_major = h->ver_major;
	snap->ver_minor = h->ver_minor;
	snap->conf_gen = LD(&h->conf_gen);
	snap->nworkers = LD(&h->nworkers);
	snap->start_time = h->start_time;
	snap->start_ms = h->start_ms;
	snap->flags = LD(&h->flags);
	snap->oldbin = NULL;	/* the caller links another segment's snapshot */
	return 0;
}

/* One pass over everything; the caller retries it if hdr.gen moved. */
static void
read_tables(const struct shm_seg *seg, struct stats_snap *snap, uint64_t now_ms)
{
	struct stats_totals *t = &snap->tot;
	uint32_t w, s, nsrc, ncfg;

	memset(t, 0, sizeof(*t));
	t->req_s = -1;
	snap->nw = snap->ns = 0;
	ncfg = LD(&seg->hdr->nworkers);
	for (w = 0; w < seg->max_workers; w++) {
		const struct shm_worker *ws = &seg->workers[w];
		struct stats_worker o;

		read_worker(ws, w, &o, t, now_ms);
		if (w >= ncfg && o.pid == 0 && o.state == SHM_W_FREE &&
		    LD(&ws->requests) == 0 && LD(&ws->conns_total) == 0)
			continue;	/* an unused slot of the headroom */
		if (snap->nw < snap->wcap && snap->workers != NULL)
			snap->workers[snap->nw++] = o;
	}

	nsrc = atomic_load_explicit(&seg->hdr->nsources, memory_order_acquire);
	if (nsrc > seg->max_sources)
		nsrc = seg->max_sources;
	for (s = 0; s < nsrc; s++) {
		struct stats_source *o;

		if (!(atomic_load_explicit(&seg->sources[s].flags, memory_order_acquire)
		    & SHM_SRC_F_USED))
			continue;
		if (snap->ns >= snap->scap || snap->sources == NULL) {
			int64_t a = LD(&seg->sources[s].active);

			t->active += a > 0 ? a : 0;
			continue;
		}
		o = &snap->sources[snap->ns++];
		read_source(seg, s, o, now_ms);
		t->active += o->active;
	}
}

/*
 * One worker slot: the row shows the current process's own counts (counter -
 * base, see layout.h), the totals t get the raw counters, which never go down.
 */
static void
read_worker(const struct shm_worker *ws, uint32_t w, struct stats_worker *o,
    struct stats_totals *t, uint64_t now_ms)
{
	uint64_t raw;
	uint32_t k;

	memset(o, 0, sizeof(*o));
	o->idx = w;
	/* Acquire: a new process's base_* were stored before its pid. */
	o->pid = atomic_load_explicit(&ws->pid, memory_order_acquire);
	o->state = LD(&ws->state);
	o->heartbeat_ms = LD(&ws->heartbeat_ms);
	o->started_ms = LD(&ws->started_ms);
	o->conns_open = LD(&ws->conns_open);
#define OWN(f)	(raw = LD(&ws->f), t->f += raw, since(raw, LD(&ws->base_##f)))
	o->conns_total = OWN(conns_total);
	o->requests = OWN(requests);
	o->bytes_in = OWN(bytes_in);
	o->bytes_out = OWN(bytes_out);
	o->errors = OWN(errors);
	for (k = 0; k < 5; k++)
		o->resp[k] = OWN(resp[k]);
#undef OWN
	o->accept_emfile = LD(&ws->accept_emfile);
	o->accept_pauses = LD(&ws->accept_pauses);
	o->regex_aborts = LD(&ws->regex_aborts);
	o->local_errors = LD(&ws->local_errors);
	o->loops = LD(&ws->loops);
	o->tls_full = LD(&ws->tls_full);
	o->tls_resumed = LD(&ws->tls_resumed);
	o->tls_failed = LD(&ws->tls_failed);
	o->rl_evictions = LD(&ws->rl_evictions);
	for (k = 0; k < SHM_END__COUNT; k++)
		o->ends[k] = LD(&ws->ends[k]);
	o->conf_gen = LD(&ws->conf_gen);
	o->spawns = LD(&ws->spawns);
	o->req_s = -1;
	/* A process that holds the slot but has not beaten lately is stuck or stopped. */
	o->stalled = o->pid != 0 && (o->state == SHM_W_RUNNING || o->state == SHM_W_DRAINING) &&
	    now_ms > o->heartbeat_ms && now_ms - o->heartbeat_ms > STATS_STALL_MS;

	t->conns_open += o->conns_open > 0 ? o->conns_open : 0;
	t->accept_emfile += o->accept_emfile;
	t->accept_pauses += o->accept_pauses;
	t->regex_aborts += o->regex_aborts;
	t->local_errors += o->local_errors;
	t->loops += o->loops;
	t->tls_full += o->tls_full;
	t->tls_resumed += o->tls_resumed;
	t->tls_failed += o->tls_failed;
	t->rl_evictions += o->rl_evictions;
	for (k = 0; k < SHM_END__COUNT; k++)
		t->ends[k] += o->ends[k];
	if (o->state == SHM_W_RUNNING || o->state == SHM_W_DRAINING)
		t->workers_running++;
	t->workers_stalled += o->stalled;
}

/* A process's own count; 0 if the base looks newer (read mid-takeover). */
static uint64_t
since(uint64_t counter, uint64_t base)
{
	return counter >= base ? counter - base : 0;
}

static void
read_source(const struct shm_seg *seg, uint32_t s, struct stats_source *o, uint64_t now_ms)
{
	const struct shm_source *src = &seg->sources[s];
	struct shm_health_rec hr;
	uint32_t w, k, flags;
	uint64_t now_s = now_ms / 1000;

	memset(o, 0, sizeof(*o));
	o->slot = s;
	copy_name(o->name, src->name, sizeof(o->name));
	copy_name(o->addr, src->addr, sizeof(o->addr));
	flags = LD(&src->flags);
	o->weight = LD(&src->weight);
	o->backup = (flags & SHM_SRC_F_BACKUP) != 0;
	o->live = (flags & SHM_SRC_F_LIVE) != 0;
	o->down_until_s = LD(&src->down_until_s);
	o->active = LD(&src->active);
	if (o->active < 0)
		o->active = 0;	/* a worker killed between its two stores */
	if (shm_health_read(src, &hr) == -1)
		memset(&hr, 0, sizeof(hr));	/* checker died mid-write: assume up */
	o->health.state = hr.state;
	o->health.reason = hr.reason;
	o->health.fails = hr.fails;
	o->health.oks = hr.oks;
	o->health.status = hr.status;
	o->health.since_ms = hr.since_ms;
	o->health.down_until_ms = hr.down_until_ms;
	o->health.checks = hr.checks;

	o->up = 1;
	o->reason = SHM_R_NONE;
	if (hr.state == SHM_H_DOWN) {
		o->up = 0;
		o->reason = hr.reason;
	} else if (hr.down_until_ms > now_ms) {
		o->up = 0;
		o->reason = SHM_R_RETRY_AFTER;
	} else if (o->down_until_s > now_s) {
		o->up = 0;
		o->reason = LD(&src->preason);
	}

	for (w = 0; w < seg->max_workers; w++) {
		const struct shm_wsrc *c = &seg->wsrc[(size_t)w * seg->max_sources + s];

		o->requests += LD(&c->requests);
		for (k = 0; k < 5; k++)
			o->resp[k] += LD(&c->resp[k]);
		o->failures += LD(&c->failures);
		o->retries += LD(&c->retries);
		for (k = 0; k < SHM_END__COUNT; k++)
			o->ends[k] += LD(&c->ends[k]);
		o->bytes_in += LD(&c->bytes_in);
		o->bytes_out += LD(&c->bytes_out);
		o->lat_sum_us += LD(&c->lat_sum_us);
		for (k = 0; k < SHM_HIST_BUCKETS; k++)
			o->hist[k] += LD(&c->hist[k]);
	}
	for (k = 0; k < SHM_HIST_BUCKETS; k++)
		o->lat_count += o->hist[k];
	o->p50_us = stats_percentile(o->hist, SHM_HIST_BUCKETS, 0.50);
	o->p90_us = stats_percentile(o->hist, SHM_HIST_BUCKETS, 0.90);
	o->p99_us = stats_percentile(o->hist, SHM_HIST_BUCKETS, 0.99);
	o->req_s = -1;
}

/* Copies a shm string that a scribbled segment might leave unterminated. */
static void
copy_name(char *dst, const char *src, size_t size)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

double
stats_bucket_lower(uint32_t b)
{
	uint32_t k, sub;

	if (b == 0)
		return 0;
	if (b >= SHM_HIST_BUCKETS - 1)
		return ldexp(1, SHM_HIST_POW);
	k = (b - 1) / SHM_HIST_SUB;
	sub = (b - 1) % SHM_HIST_SUB;
	return ldexp(1, (int)k) * (SHM_HIST_SUB + sub) / SHM_HIST_SUB;
}

double
stats_bucket_upper(uint32_t b)
{
	if (b >= SHM_HIST_BUCKETS - 1)
		return INFINITY;
	return stats_bucket_lower(b + 1);
}

double
stats_percentile(const uint64_t *hist, uint32_t nbuckets, double q)
{
	uint64_t total = 0, rank, acc = 0;
	uint32_t b;

	for (b = 0; b < nbuckets; b++)
		total += hist[b];
	if (total == 0)
		return 0;
	if (q <= 0)
		q = 1e-9;
	if (q > 1)
		q = 1;
	rank = (uint64_t)ceil(q * (double)total);
	if (rank == 0)
		rank = 1;
	for (b = 0; b < nbuckets; b++) {
		acc += hist[b];
		if (acc >= rank)
			break;
	}
	if (b >= SHM_HIST_BUCKETS - 1)
		return stats_bucket_lower(SHM_HIST_BUCKETS - 1);
	return stats_bucket_upper(b);
}

static double
rate(uint64_t before, uint64_t after, double secs)
{
	return after >= before ? (double)(after - before) / secs : 0;
}

void
stats_rates(const struct stats_snap *prev, struct stats_snap *cur)
{
	double secs;
	uint32_t i, j;

	if (cur->taken_ms <= prev->taken_ms)
		return;
	secs = (double)(cur->taken_ms - prev->taken_ms) / 1000.0;
	/* Another segment (the master was restarted): no common counters. */
	if (cur->start_ms != prev->start_ms || cur->master_pid != prev->master_pid) {
		cur->tot.req_s = 0;
		for (i = 0; i < cur->nw; i++)
			cur->workers[i].req_s = 0;
		for (i = 0; i < cur->ns; i++)
			cur->sources[i].req_s = 0;
		return;
	}
	cur->tot.req_s = rate(prev->tot.requests, cur->tot.requests, secs);
	for (i = 0; i < cur->nw; i++) {
		struct stats_worker *w = &cur->workers[i];

		w->req_s = 0;
		for (j = 0; j < prev->nw; j++)
			if (prev->workers[j].idx == w->idx && prev->workers[j].pid == w->pid) {
				w->req_s = rate(prev->workers[j].requests, w->requests, secs);
				break;
			}
	}
	for (i = 0; i < cur->ns; i++) {
		struct stats_source *s = &cur->sources[i];

		s->req_s = 0;
		for (j = 0; j < prev->ns; j++)
			if (prev->sources[j].slot == s->slot) {
				s->req_s = rate(prev->sources[j].requests, s->requests, secs);
				break;
			}
	}
}

const char *
stats_worker_state_name(uint32_t state)
{
	static const char *const names[SHM_W__COUNT] = { "free", "running", "draining" };

	return state < SHM_W__COUNT ? names[state] : "?";
}

const char *
stats_worker_state(const struct stats_worker *w)
{
	return w->stalled ? "stalled" : stats_worker_state_name(w->state);
}

const char *
stats_reason_name(uint32_t reason)
{
	static const char *const names[SHM_R__COUNT] = {
		"", "connect", "timeout", "reset", "malformed", "status", "retry-after",
	};

	return reason < SHM_R__COUNT ? names[reason] : "?";
}
