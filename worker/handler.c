/*
 * Routes answered by sluice itself from the shared segment: `metrics` (the
 * Prometheus text of `sluice-stat --prometheus`) and `status` (the JSON of
 * `sluice-stat --json`), for scrapers and load balancers in front. Each
 * answer takes a fresh snapshot; its memory is freed when the exchange ends
 * (these are not the proxy's hot path).
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/conf.h"
#include "common/log.h"
#include "shm/shm.h"
#include "shm/stat_print.h"
#include "shm/stats.h"
#include "worker/cconn.h"
#include "worker/exch.h"
#include "worker/route.h"
#include "worker/worker-t.h"

enum step
handler_reply(struct cconn *c)
{
	struct worker *w = c->w;
	struct exch *x = c->x;
	const struct shm_seg *seg = w->ho->shm;
	struct stats_snap snap = { 0 };
	char *body = NULL;
	size_t len = 0;
	FILE *f;
	int metrics = x->route->conf->handler == RH_METRICS;

	snap.wcap = seg->max_workers;
	snap.scap = seg->max_sources;
	snap.workers = calloc(snap.wcap > 0 ? snap.wcap : 1, sizeof(*snap.workers));
	snap.sources = calloc(snap.scap > 0 ? snap.scap : 1, sizeof(*snap.sources));
	f = snap.workers != NULL && snap.sources != NULL ? open_memstream(&body, &len) : NULL;
	if (f == NULL) {
		free(snap.workers);
		free(snap.sources);
		log_warnx("conn=%llu: no memory for the %s answer", (unsigned long long)c->id,
		    metrics ? "metrics" : "status");
		return errpage_reply(c, 503, x->rq_mode != BODY_NONE, SHM_END_LOCAL);
	}
	stats_take(seg, &snap);
	if (metrics)
		stat_print_prom(f, seg, &snap);
	else
		stat_print_json(f, seg, &snap);
	free(snap.workers);
	free(snap.sources);
	if (fclose(f) != 0 || body == NULL) {
		free(body);
		return errpage_reply(c, 503, x->rq_mode != BODY_NONE, SHM_END_LOCAL);
	}
	return errpage_body(c, 200, metrics ? "text/plain; version=0.0.4; charset=utf-8" :
	    "application/json", body, len);
}
