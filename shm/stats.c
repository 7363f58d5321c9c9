/*
 * Sums the segment's per-worker slots into plain snapshots for sluice-stat.
 * Counters are single atomics and need no lock; only the tables the master
 * edits on reload (names, flags, routes) are read under the hdr.gen seqlock.
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
static void	read_routes(const struct shm_seg *seg, struct stats_snap *snap);
static int	used(const struct shm_seg *seg, uint32_t r);
static void	add_queue(const struct shm_seg *seg, uint32_t r, struct stats_route *o);
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
	read_routes(seg, snap);
}

/*
 * The current configuration's routes. The master publishes generation g at
 * route slots (g % 2) * half .. (master/spawn.c), so that a reload's new
 * routes do not overwrite the ones the old generation's workers still use;
 * the other half holds the previous generation's. hdr.conf_gen is stored
 * after the new half is complete, so until then this shows the old half,
 * intact. Queue rows follow slots, so a route that keeps its host and path
 * across a reload has its counts in both halves: each current route also
 * takes the rows of the other half's slot with the same host, path and kind
 * (each such slot at most once), which keeps its counters going up across
 * reloads and adds the waiters of the old generation's workers.
 */
static void
read_routes(const struct shm_seg *seg, struct stats_snap *snap)
{
	uint32_t half = seg->max_routes / 2, first = 0, end = seg->max_routes, other = 0;
	uint32_t r, k;
	uint64_t taken[SHM_LIMIT_ROUTES / 2 / 64 + 1];	/* other-half slots already merged */

	snap->nr = 0;
	if (snap->routes == NULL)
		return;
	if (half > 0) {
		first = (LD(&seg->hdr->conf_gen) % 2) * half;
		end = first + half;
		other = half - first;
	}
	memset(taken, 0, sizeof(taken));
	for (r = first; r < end && snap->nr < snap->rcap; r++) {
		struct stats_route *o;

		if (!used(seg, r))
			continue;
		o = &snap->routes[snap->nr++];
		memset(o, 0, sizeof(*o));
		o->slot = r;
		copy_name(o->host, seg->routes[r].host, sizeof(o->host));
		copy_name(o->path, seg->routes[r].path, sizeof(o->path));
		o->regex = (LD(&seg->routes[r].flags) & SHM_RT_F_REGEX) != 0;
		o->balancer = LD(&seg->routes[r].balancer);
		o->nsources = LD(&seg->routes[r].nsources);
		for (k = 0; k + 1 < snap->nr && !o->shadowed; k++)
			o->shadowed = snap->routes[k].regex == o->regex &&
			    strcmp(snap->routes[k].host, o->host) == 0 &&
			    strcmp(snap->routes[k].path, o->path) == 0;
		add_queue(seg, r, o);
		for (k = 0; half > 0 && k < half && k < SHM_LIMIT_ROUTES / 2; k++) {
			const struct shm_route *p = &seg->routes[other + k];

			if ((taken[k / 64] >> (k % 64) & 1) || !used(seg, other + k) ||
			    ((LD(&p->flags) & SHM_RT_F_REGEX) != 0) != o->regex ||
			    strncmp(p->host, o->host, sizeof(p->host)) != 0 ||
			    strncmp(p->path, o->path, sizeof(p->path)) != 0)
				continue;
			taken[k / 64] |= UINT64_C(1) << (k % 64);
			add_queue(seg, other + k, o);
			break;
		}
		o->q_wait_avg_us = o->q_ended ? (double)o->q_wait_us / (double)o->q_ended : 0;
	}
}

static int
used(const struct shm_seg *seg, uint32_t r)
{
	return (atomic_load_explicit(&seg->routes[r].flags, memory_order_acquire)
	    & SHM_RT_F_USED) != 0;
}

/* Adds route slot r's queue rows, over every worker slot, into o. */
static void
add_queue(const struct shm_seg *seg, uint32_t r, struct stats_route *o)
{
	uint64_t total, max;
	int64_t q;
	uint32_t w;

	for (w = 0; w < seg->max_workers; w++) {
		const struct shm_wroute *c = &seg->wroute[(size_t)w * seg->max_routes + r];

		total = LD(&c->q_total);
		q = LD(&c->queued);
		/* The worker raises queued just before q_total, and the master zeroes a
		 * reaped one's: keep 0 <= queued <= q_total, so ended never wraps. */
		if (q < 0)
			q = 0;
		if ((uint64_t)q > total)
			q = (int64_t)total;
		o->queued += q;
		o->q_total += total;
		o->q_ended += total - (uint64_t)q;
		o->q_timeouts += LD(&c->q_timeouts);
		o->q_wait_us += LD(&c->q_wait_us);
		max = LD(&c->q_wait_max_us);
		if (max > o->q_wait_max_us)
			o->q_wait_max_us = max;
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
	/* max_conns: clamped alike (a count may be read between two stores) */
	o->max_conns = LD(&src->max_conns);
	o->conns = LD(&src->conns);
	if (o->conns < 0)
		o->conns = 0;
	o->queued = LD(&src->queued);
	if (o->queued < 0)
		o->queued = 0;
	o->conns_total = LD(&src->conns_total);
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
stats_lb_name(uint32_t balancer)
{
	/* The configuration's names (common/conf_load.c), in enum shm_lb order. */
	static const char *const names[SHM_LB__COUNT] = {
		"round_robin", "least_conn", "ip_hash", "failover",
	};

	return balancer < SHM_LB__COUNT ? names[balancer] : "?";
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
