/*
 * Smooth weighted round-robin (the nginx algorithm: add each weight to its
 * current value, pick the largest, subtract the total) and passive health.
 */
#include "worker/lb_rr.h"

#include "common/conf.h"
#include "common/log.h"
#include "worker/route.h"
#include "worker/upool.h"

static int	usable(const struct source_rt *s, ev_tstamp now);

static int
usable(const struct source_rt *s, ev_tstamp now)
{
	return s->down_until <= now;
}

int
lb_rr_pick(struct route_rt *r, struct source_rt *src, uint64_t tried, ev_tstamp now)
{
	const struct route_conf *rc = r->conf;
	int pass, best = -1;
	int32_t total = 0;
	uint32_t i;

	/* Pass 0: healthy primaries; 1: healthy backups; 2: anything untried. */
	for (pass = 0; pass < 3 && best == -1; pass++) {
		total = 0;
		for (i = 0; i < rc->nsources && i < 64; i++) {
			const struct source_rt *s = &src[rc->sources[i]];
			const struct source_conf *sc = r->pools[i].src;

			if (tried & (UINT64_C(1) << i))
				continue;
			if (pass < 2 && (!usable(s, now) || sc->backup != (pass == 1)))
				continue;
			r->rr_cur[i] += (int32_t)sc->weight;
			total += (int32_t)sc->weight;
			if (best == -1 || r->rr_cur[i] > r->rr_cur[best])
				best = (int)i;
		}
	}
	if (best != -1)
		r->rr_cur[best] -= total;
	return best;
}

void
lb_source_failed(const struct conf *c, struct source_rt *src, uint32_t idx, ev_tstamp now)
{
	const struct source_conf *sc = &c->sources[idx];
	struct source_rt *s = &src[idx];

	if (now - s->window_start > sc->fail_timeout) {
		s->window_start = now;
		s->fails = 0;
	}
	s->fails++;
	if (sc->max_fails != 0 && s->fails >= sc->max_fails && s->down_until <= now) {
		s->down_until = now + sc->fail_timeout;
		log_warnx("source %s: %u failure(s) within %.0fs, marked down for %.0fs", sc->name,
		    s->fails, sc->fail_timeout, sc->fail_timeout);
	}
}

void
lb_source_ok(struct source_rt *src, uint32_t idx)
{
	src[idx].fails = 0;
	src[idx].down_until = 0;
}
