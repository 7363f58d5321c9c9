/*
 * Source selection per route: round_robin (one shared ticket over the
 * master's smooth weighted schedule), least_conn (active requests of all
 * workers per weight), ip_hash (consistent hash ring of the source names,
 * identical in every worker) and failover (first usable in list order).
 */
#include "worker/lb.h"

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "common/log.h"
#include "shm/shm.h"
#include "worker/lb_sched.h"
#include "worker/route.h"
#include "worker/worker.h"

#define RETRY_AFTER_MAX	300	/* seconds: cap on a backend's Retry-After */

enum cand { C_NO = 0, C_YES, C_PROBE, C_MARKED };

static enum cand	candidate(struct worker *w, uint32_t src_idx, uint32_t now_s, uint64_t now_ms);
static struct shm_source *src_shm(struct worker *w, uint32_t src_idx);
static int	pick_rr(struct worker *w, struct route_rt *r, struct shm_route *sr,
		    const uint8_t *ok, uint32_t n);

static struct shm_source *
src_shm(struct worker *w, uint32_t src_idx)
{
	return shm_source(w->ho->shm, w->ho->src_slot[src_idx]);
}

/* Is the source usable now (C_YES), only as a probe after its mark expired, or not? */
static enum cand
candidate(struct worker *w, uint32_t src_idx, uint32_t now_s, uint64_t now_ms)
{
	const struct shm_source *s = src_shm(w, src_idx);
	uint32_t du;

	if (w->conf->health.enabled &&
	    (atomic_load_explicit(&s->hstate, memory_order_relaxed) == SHM_H_DOWN ||
	    atomic_load_explicit(&s->hdown_until_ms, memory_order_relaxed) > now_ms))
		return C_NO;
	du = atomic_load_explicit(&s->down_until_s, memory_order_relaxed);
	if (du == 0)
		return C_YES;
	return du > now_s ? C_MARKED : C_PROBE;
}

int
lb_init(struct worker *w)
{
	const char *names[SHM_ROUTE_SOURCES];
	uint32_t weights[SHM_ROUTE_SOURCES];
	uint32_t i, j, n;
	size_t npts;

	for (i = 0; i < w->conf->nroutes; i++) {
		struct route_rt *r = &w->routes[i];
		const struct route_conf *rc = r->conf;

		if (rc->balancer != LB_IP_HASH)
			continue;
		n = rc->nsources < SHM_ROUTE_SOURCES ? rc->nsources : SHM_ROUTE_SOURCES;
		for (j = 0; j < n; j++) {
			names[j] = w->conf->sources[rc->sources[j]].name;
			weights[j] = w->conf->sources[rc->sources[j]].weight;
		}
		npts = lb_ring_points(weights, n);
		r->ring = calloc(npts, sizeof(*r->ring));
		if (r->ring == NULL)
			return -1;
		r->nring = lb_ring_build(names, weights, n, r->ring, (uint32_t)npts);
	}
	return 0;
}

/*
 * Smooth weighted round-robin over exactly the usable sources: every worker
 * builds the same schedule for the same usable set (cached per route until
 * the set changes), and the route's one shared ticket walks it, so a down
 * source or an idle backup never skews the others' shares.
 */
static int
pick_rr(struct worker *w, struct route_rt *r, struct shm_route *sr, const uint8_t *ok,
    uint32_t n)
{
	const struct route_conf *rc = r->conf;
	uint32_t wt[SHM_ROUTE_SOURCES], map[SHM_ROUTE_SOURCES], sched[SHM_SCHED_LEN];
	uint64_t mask = 0;
	uint32_t i, m = 0, len;

	for (i = 0; i < n; i++)
		if (ok[i]) {
			mask |= UINT64_C(1) << i;
			map[m] = i;
			wt[m++] = w->conf->sources[rc->sources[i]].weight;
		}
	if (m == 0)
		return -1;
	if (r->rr_mask != mask || r->rr_sched == NULL) {
		if (r->rr_sched == NULL && (r->rr_sched = malloc(SHM_SCHED_LEN)) == NULL)
			return (int)map[0];
		len = lb_sched_build(wt, m, sched, SHM_SCHED_LEN);
		for (i = 0; i < len; i++)
			r->rr_sched[i] = (uint8_t)map[sched[i]];
		r->rr_len = len;
		r->rr_mask = mask;
	}
	if (r->rr_len == 0)
		return (int)map[0];
	return r->rr_sched[shm_route_ticket(sr) % r->rr_len];
}

int
lb_pick(struct worker *w, struct route_rt *r, const struct sockaddr *peer, uint64_t tried,
    int *probe)
{
	const struct route_conf *rc = r->conf;
	struct shm_route *sr = shm_route(w->ho->shm, w->ho->route_base + r->idx_no);
	uint8_t ok[SHM_ROUTE_SOURCES];
	enum cand cand[SHM_ROUTE_SOURCES];
	uint64_t now_ms = shm_now_ms(), h;
	uint32_t now_s = (uint32_t)(now_ms / 1000), n, i;
	int pass, any, pick = -1;

	*probe = 0;
	n = rc->nsources < SHM_ROUTE_SOURCES ? rc->nsources : SHM_ROUTE_SOURCES;
	for (i = 0; i < n; i++)
		cand[i] = (tried & (UINT64_C(1) << i)) ? C_NO : candidate(w, rc->sources[i], now_s, now_ms);
	/*
	 * A source whose passive mark expired gets one probe request at once:
	 * the worker that wins the claim sends it, the others keep skipping it
	 * until the probe's answer clears or renews the mark.
	 */
	for (i = 0; i < n; i++)
		if (cand[i] == C_PROBE && shm_source_claim_probe(src_shm(w, rc->sources[i]), now_s,
		    (uint32_t)w->conf->sources[rc->sources[i]].fail_timeout + 1) == 1) {
			*probe = 1;
			return (int)i;
		}
	/*
	 * Pass 0: usable primaries; 1: usable backups; 2: when every source is
	 * passively marked down, try one anyway rather than fail for sure (nginx
	 * ignores max_fails for a lone server).
	 */
	for (pass = 0; pass < 3 && pick < 0; pass++) {
		any = 0;
		for (i = 0; i < n; i++) {
			int backup = w->conf->sources[rc->sources[i]].backup;

			ok[i] = pass < 2 ? (cand[i] == C_YES && backup == (pass == 1)) :
			    cand[i] == C_MARKED;
			any |= ok[i];
		}
		if (!any)
			continue;
		if (pass == 2) {
			for (i = 0; i < n && pick < 0; i++)
				if (ok[i])
					pick = (int)i;
			break;
		}
		switch (rc->balancer) {
		case LB_LEAST_CONN: {
			int64_t active[SHM_ROUTE_SOURCES];
			uint32_t wt[SHM_ROUTE_SOURCES];

			for (i = 0; i < n; i++) {
				active[i] = atomic_load_explicit(&src_shm(w, rc->sources[i])->active,
				    memory_order_relaxed);
				wt[i] = w->conf->sources[rc->sources[i]].weight;
			}
			pick = lb_pick_leastconn(active, wt, ok, n, (uint32_t)(w->lc_rotor++ % n));
			break;
		}
		case LB_IP_HASH:
			if (peer->sa_family == AF_INET)
				h = lb_hash_addr(&((const struct sockaddr_in *)peer)->sin_addr, 4);
			else if (peer->sa_family == AF_INET6)
				h = lb_hash_addr(&((const struct sockaddr_in6 *)peer)->sin6_addr, 16);
			else
				h = 0;
			pick = lb_ring_pick(r->ring, r->nring, h, ok);
			break;
		case LB_FAILOVER:
			for (i = 0; i < n && pick < 0; i++)
				if (ok[i])
					pick = (int)i;
			break;
		default:
			pick = pick_rr(w, r, sr, ok, n);
			break;
		}
	}
	return pick;
}

void
lb_failed(struct worker *w, uint32_t src_idx, uint32_t reason)
{
	const struct source_conf *sc = &w->conf->sources[src_idx];
	/*
	 * Marks are whole seconds, checked against the truncated clock: noting
	 * the failure at the nearest second makes the mark last fail_timeout
	 * +- 0.5 s, instead of anywhere in [fail_timeout - 1, fail_timeout].
	 */
	uint32_t now_s = (uint32_t)((shm_now_ms() + 500) / 1000);

	shm_add(&shm_wsrc(w->ho->shm, w->ho->shm_slot, w->ho->src_slot[src_idx])->failures, 1);
	if (shm_source_note_failure(src_shm(w, src_idx), now_s, sc->max_fails,
	    (uint32_t)sc->fail_timeout, reason) == 1)
		log_warnx("source %s marked down for %.0fs: %u failure(s) within %.0fs", sc->name,
		    sc->fail_timeout, sc->max_fails, sc->fail_timeout);
}

void
lb_ok(struct worker *w, uint32_t src_idx, int probe)
{
	struct shm_source *s = src_shm(w, src_idx);
	uint32_t du = atomic_load_explicit(&s->down_until_s, memory_order_relaxed);

	if (du == 0 && atomic_load_explicit(&s->pfails, memory_order_relaxed) == 0)
		return;		/* the common case costs two loads */
	/* A Retry-After holds even while requests sent before it still succeed. */
	if (!probe && du > (uint32_t)(shm_now_ms() / 1000) &&
	    atomic_load_explicit(&s->preason, memory_order_relaxed) == SHM_R_RETRY_AFTER)
		return;
	if (shm_source_mark_up(s) == 1)
		log_info("source %s is up again", w->conf->sources[src_idx].name);
}

void
lb_retry_after(struct worker *w, uint32_t src_idx, uint32_t seconds)
{
	uint32_t now_s = (uint32_t)(shm_now_ms() / 1000);

	if (seconds > RETRY_AFTER_MAX)
		seconds = RETRY_AFTER_MAX;
	if (seconds == 0)
		return;
	/* Marks are whole seconds: round up, so the hold is never shorter than asked. */
	if (shm_source_mark_down(src_shm(w, src_idx), now_s, now_s + seconds + 1,
	    SHM_R_RETRY_AFTER) == 1)
		log_warnx("source %s out for %us (Retry-After)", w->conf->sources[src_idx].name,
		    seconds);
}
