/*
 * Routes answered by sluice itself: from the shared segment, `metrics` (the
 * Prometheus text of `sluice-stat --prometheus`) and `status` (the JSON of
 * `sluice-stat --json`), for scrapers and load balancers in front; and
 * `redirect`. Each
 * answer takes a fresh snapshot; its memory is freed when the exchange ends
 * (these are not the proxy's hot path).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf.h"
#include "common/http1.h"
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
	snap.rcap = seg->max_routes;
	snap.routes = calloc(snap.rcap > 0 ? snap.rcap : 1, sizeof(*snap.routes));
	f = snap.workers != NULL && snap.sources != NULL && snap.routes != NULL ?
	    open_memstream(&body, &len) : NULL;
	if (f == NULL) {
		free(snap.workers);
		free(snap.sources);
		free(snap.routes);
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
	free(snap.routes);
	if (fclose(f) != 0 || body == NULL) {
		free(body);
		return errpage_reply(c, 503, x->rq_mode != BODY_NONE, SHM_END_LOCAL);
	}
	return errpage_body(c, 200, metrics ? "text/plain; version=0.0.4; charset=utf-8" :
	    "application/json", body, len, NULL, 0);
}

/*
 * handler = "redirect": Location from redirect.to with $scheme, $host (the
 * Host without its port), $request_uri (the target as sent) and $uri (the
 * normalized path, no query) filled in, in the exchange's line buffer; a
 * short HTML body with the status.
 */
enum step
handler_redirect(struct cconn *c)
{
	struct exch *x = c->x;
	const struct redirect_conf *rd = &x->route->conf->redirect;
	const struct http1_req *q = &x->req;
	const char *t = rd->to, *p;
	char *out = x->lines, *body;
	size_t o = 0, n, cap = LINES_CAP - 2;
	struct http1_str host = q->host, uri = x->rpath_v;
	int len;

	for (p = uri.p; p < uri.p + uri.len; p++)
		if (*p == '?') {
			uri.len = (uint32_t)(p - uri.p);
			break;
		}
	for (p = host.p; p < host.p + host.len; p++)
		if (*p == ':' && (host.p[0] != '[' || p[-1] == ']')) {
			host.len = (uint32_t)(p - host.p);
			break;
		}
	memcpy(out, "Location: ", 10);
	o = 10;
	while (*t != '\0') {
		const char *v = NULL;

		n = 0;
		if (strncmp(t, "$scheme", 7) == 0) {
			v = x->cli_tls ? "https" : "http";
			n = strlen(v);
			t += 7;
		} else if (strncmp(t, "$host", 5) == 0) {
			v = host.p;
			n = host.len;
			t += 5;
		} else if (strncmp(t, "$request_uri", 12) == 0) {
			v = q->path.p;
			n = q->path.len;
			t += 12;
		} else if (strncmp(t, "$uri", 4) == 0) {
			v = uri.p;
			n = uri.len;
			t += 4;
		} else if (strncmp(t, "$$", 2) == 0) {
			v = "$";
			n = 1;
			t += 2;
		} else {
			v = t++;
			n = 1;
		}
		if (o + n > cap) {
			log_warnx("conn=%llu: redirect of the route at line %d longer than %d bytes",
			    (unsigned long long)c->id, x->route->conf->line, LINES_CAP);
			return errpage_reply(c, 500, x->rq_mode != BODY_NONE, SHM_END_INTERNAL);
		}
		memcpy(out + o, v, n);
		o += n;
	}
	memcpy(out + o, "\r\n", 2);
	o += 2;
	/* Like nginx's: the status, not the URL (nothing of the request echoed in HTML). */
	n = 160;
	if ((body = malloc(n)) == NULL)
		return errpage_reply(c, 503, x->rq_mode != BODY_NONE, SHM_END_LOCAL);
	len = snprintf(body, n, "<html><head><title>%u %s</title></head><body><h1>%u %s</h1>"
	    "<hr>sluice</body></html>\n", rd->status, errpage_status_text((int)rd->status),
	    rd->status, errpage_status_text((int)rd->status));
	return errpage_body(c, (int)rd->status, "text/html", body, (size_t)len, out, o);
}
