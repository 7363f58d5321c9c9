/*
 * What every balancer shares: the usable set of a route's sources (health
 * checker state, passive marks with their single probe, backups), the slow
 * start of a source back up, passive health bookkeeping, and the table of
 * algorithms (lb_rr.c, lb_leastconn.c, lb_iphash.c, lb_failover.c), which
 * choose within that set.
 */
#include "worker/lb.h"

#include <stdatomic.h>
#include <stddef.h>

#include "common/conf.h"
#include "common/log.h"
#include "shm/shm.h"
#include "worker/lb_failover.h"
#include "worker/lb_iphash.h"
#include "worker/lb_leastconn.h"
#include "worker/lb_rr.h"
#include "worker/route.h"
#include "worker/worker-t.h"

#define RETRY_AFTER_MAX	300	/* seconds: cap on a backend's Retry-After */

_Static_assert(LB_MAX_SOURCES == SHM_ROUTE_SOURCES, "one tried bit per route source");
_Static_assert(LB_MAX_SOURCES == CONF_ROUTE_SOURCES_MAX, "the config allows what fits");

static enum lb_cand candidate(struct worker *w, uint32_t src_idx, uint32_t now_s,
		    uint64_t now_ms);
static struct shm_source *src_shm(struct worker *w, uint32_t src_idx);
static uint64_t	ramp_start(struct worker *w, uint32_t src_idx, uint64_t now_ms);

/* Indexed by enum balancer (common/conf.h). */
static const struct lb_ops *const ops_table[LB__COUNT] = {
	[LB_ROUND_ROBIN] = &lb_rr_ops,
	[LB_LEAST_CONN] = &lb_leastconn_ops,
	[LB_IP_HASH] = &lb_iphash_ops,
	[LB_FAILOVER] = &lb_failover_ops,
};

static struct shm_source *
src_shm(struct worker *w, uint32_t src_idx)
{
	return shm_source(w->ho->shm, w->ho->src_slot[src_idx]);
}

/* Is the source usable now, only as a probe after its mark expired, or not? */
static enum lb_cand
candidate(struct worker *w, uint32_t src_idx, uint32_t now_s, uint64_t now_ms)
{
	const struct shm_source *s = src_shm(w, src_idx);
	uint32_t du;

	if (w->conf->health.enabled &&
	    (atomic_load_explicit(&s->hstate, memory_order_relaxed) == SHM_H_DOWN ||
	    atomic_load_explicit(&s->hdown_until_ms, memory_order_relaxed) > now_ms))
		return LB_C_NO;
	du = atomic_load_explicit(&s->down_until_s, memory_order_relaxed);
	if (du == 0)
		return LB_C_YES;
	return du > now_s ? LB_C_MARKED : LB_C_PROBE;
}

/*
 * When the source last came back up: the checker's rise or a passive mark
 * cleared (up_since_ms, shm.c), or a Retry-After seen by the checker that
 * ran out; 0 = never down. A passive mark that runs out does not make the
 * source usable by itself: its probe's success clears it (up_since_ms).
 */
static uint64_t
ramp_start(struct worker *w, uint32_t src_idx, uint64_t now_ms)
{
	const struct shm_source *s = src_shm(w, src_idx);
	uint64_t t = atomic_load_explicit(&s->up_since_ms, memory_order_relaxed), hd;

	if (w->conf->health.enabled) {
		hd = atomic_load_explicit(&s->hdown_until_ms, memory_order_relaxed);
		if (hd > t && hd <= now_ms)
			t = hd;
	}
	return t;
}

uint32_t
lb_share(uint64_t now_ms, uint64_t start_ms, double slow_start)
{
	uint64_t ramp_ms, el, v;

	if (start_ms == 0 || !(slow_start > 0))
		return LB_SHARE_ONE;
	ramp_ms = (uint64_t)(slow_start * 1000);
	el = now_ms > start_ms ? now_ms - start_ms : 0;
	if (el >= ramp_ms)
		return LB_SHARE_ONE;
	v = (el * LB_SHARE_ONE + ramp_ms - 1) / ramp_ms;	/* rounded up */
	return v < LB_SHARE_MIN ? LB_SHARE_MIN : (uint32_t)v;
}

const struct lb_ops *
lb_ops_of(uint32_t balancer)
{
	return balancer < LB__COUNT && ops_table[balancer] != NULL ? ops_table[balancer] :
	    &lb_rr_ops;
}

int
lb_init(struct worker *w)
{
	const char *names[LB_MAX_SOURCES];
	uint32_t weights[LB_MAX_SOURCES];
	uint32_t i, j, n;

	for (i = 0; i < w->conf->nroutes; i++) {
		struct route_rt *r = &w->routes[i];
		const struct route_conf *rc = r->conf;
		const struct lb_ops *ops = lb_ops_of(rc->balancer);

		if (ops->init == NULL)
			continue;
		n = rc->nsources < LB_MAX_SOURCES ? rc->nsources : LB_MAX_SOURCES;
		for (j = 0; j < n; j++) {
			names[j] = w->conf->sources[rc->sources[j]].name;
			weights[j] = w->conf->sources[rc->sources[j]].weight;
		}
		if (ops->init(r, names, weights, n) == -1)
			return -1;
	}
	return 0;
}

void
lb_route_free(struct route_rt *r)
{
	const struct lb_ops *ops;

	if (r == NULL)
		return;
	ops = lb_ops_of(r->conf->balancer);
	if (ops->free != NULL)
		ops->free(r);
}

int
lb_select(const struct lb_ops *ops, struct lb_in *in, const enum lb_cand *cand,
    const uint8_t *backup)
{
	uint8_t ok[LB_MAX_SOURCES];
	uint32_t i, n = in->n < LB_MAX_SOURCES ? in->n : LB_MAX_SOURCES;
	int pass, any, pick;

	/* Pass 0: usable primaries; 1: usable backups. */
	for (pass = 0; pass < 2; pass++) {
		any = 0;
		for (i = 0; i < n; i++) {
			ok[i] = cand[i] == LB_C_YES && (backup[i] != 0) == (pass == 1);
			any |= ok[i];
		}
		if (!any)
			continue;
		in->usable = ok;
		pick = ops->pick(in);
		in->usable = NULL;
		if (pick >= 0)
			return pick;
	}
	/* Every source passively marked down: one is tried rather than none. */
	for (i = 0; i < n; i++)
		if (cand[i] == LB_C_MARKED)
			return (int)i;
	return -1;
}

int
lb_pick(struct worker *w, struct route_rt *r, const struct sockaddr *peer, uint64_t tried,
    int *probe)
{
	const struct route_conf *rc = r->conf;
	const struct lb_ops *ops = lb_ops_of(rc->balancer);
	enum lb_cand cand[LB_MAX_SOURCES];
	uint8_t backup[LB_MAX_SOURCES];
	uint32_t weight[LB_MAX_SOURCES], share[LB_MAX_SOURCES];
	int64_t active[LB_MAX_SOURCES];
	uint64_t now_ms = shm_now_ms();
	uint32_t now_s = (uint32_t)(now_ms / 1000), n, i, j, sh;
	int ramp = 0;
	struct lb_in in;

	*probe = 0;
	n = rc->nsources < LB_MAX_SOURCES ? rc->nsources : LB_MAX_SOURCES;
	for (i = 0; i < n; i++) {
		const struct source_conf *sc = &w->conf->sources[rc->sources[i]];

		cand[i] = (tried & (UINT64_C(1) << i)) ? LB_C_NO :
		    candidate(w, rc->sources[i], now_s, now_ms);
		backup[i] = sc->backup;
		weight[i] = sc->weight;
		/* Without slow start this branch is all it costs. */
		if (sc->slow_start > 0 && cand[i] == LB_C_YES &&
		    (sh = lb_share(now_ms, ramp_start(w, rc->sources[i], now_ms),
		    sc->slow_start)) < LB_SHARE_ONE) {
			if (!ramp)
				for (j = 0; j < n; j++)
					share[j] = LB_SHARE_ONE;
			ramp = 1;
			share[i] = sh;
		}
	}
	/* Effective weights, in units of LB_SHARE_ONE: 256000 at most. */
	if (ramp)
		for (i = 0; i < n; i++)
			weight[i] *= share[i];
	/*
	 * A source whose passive mark expired gets one probe request at once:
	 * the worker that wins the claim sends it, the others keep skipping it
	 * until the probe's answer clears or renews the mark.
	 */
	for (i = 0; i < n; i++) {
		uint32_t hold = (uint32_t)w->conf->sources[rc->sources[i]].fail_timeout + 1;

		if (cand[i] == LB_C_PROBE &&
		    shm_source_claim_probe(src_shm(w, rc->sources[i]), now_s, hold) == 1) {
			*probe = 1;
			return (int)i;
		}
	}
	if (ops->flags & LB_F_ACTIVE)
		for (i = 0; i < n; i++)
			active[i] = atomic_load_explicit(&src_shm(w, rc->sources[i])->active,
			    memory_order_relaxed);
	in.r = r;
	in.n = n;
	in.weight = weight;
	in.share = ramp ? share : NULL;
	in.now_ms = now_ms;
	in.usable = NULL;
	in.active = (ops->flags & LB_F_ACTIVE) ? active : NULL;
	in.peer = peer;
	in.sr = shm_route(w->ho->shm, w->ho->route_base + r->idx_no);
	in.rotor = &w->lc_rotor;
	return lb_select(ops, &in, cand, backup);
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
