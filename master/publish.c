/*
 * Writes a generation's sources and routes into the segment under its
 * seqlock. Balancing itself is the workers' (worker/lb*.c): the master only
 * publishes which source slots each route uses.
 */
#include "master/publish.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "common/conf.h"
#include "shm/shm.h"

void
publish_sizes(const struct conf *c, uint32_t *max_workers, uint32_t *max_sources,
    uint32_t *max_routes)
{
	/* Room for an old and a new generation side by side during a reload. */
	*max_workers = 2 * c->workers + 8;
	*max_sources = 2 * c->nsources + 32;
	*max_routes = 2 * (c->nroutes + 32);
	if (*max_workers > SHM_LIMIT_WORKERS)
		*max_workers = SHM_LIMIT_WORKERS;
	if (*max_sources > SHM_LIMIT_SOURCES)
		*max_sources = SHM_LIMIT_SOURCES;
	if (*max_routes > SHM_LIMIT_ROUTES)
		*max_routes = SHM_LIMIT_ROUTES;
}

static void	publish_addr(struct shm_source *ss, const struct source_conf *s, int fresh);

/*
 * Live DNS: a source's published address (shm_source.a*) is what the
 * resolver found for its name, and survives a reload that keeps the address
 * text. A new slot, a changed text, or resolve = false starts over from the
 * address found at load (none if the name did not resolve then): the old
 * name's address must not be used for the new one.
 */
static void
publish_addr(struct shm_source *ss, const struct source_conf *s, int fresh)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)&s->addr.ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)&s->addr.ss;
	struct shm_addr_rec cur;
	uint32_t fam = 0;
	const void *bytes = NULL;

	if (s->resolve && s->addr.len > 0 && s->addr.ss.ss_family == AF_INET) {
		fam = AF_INET;
		bytes = &sin->sin_addr;
	} else if (s->resolve && s->addr.len > 0 && s->addr.ss.ss_family == AF_INET6) {
		fam = AF_INET6;
		bytes = &sin6->sin6_addr;
	}
	if (shm_addr_read(ss, &cur) == -1)
		cur.fam = UINT32_MAX;	/* torn by a writer that died: rewrite */
	if (!fresh && s->resolve && cur.fam != 0)
		return;		/* same name, resolved before: keep it */
	if (cur.fam == fam && (fam == 0 || memcmp(cur.bytes, bytes,
	    fam == AF_INET ? 4 : 16) == 0))
		return;		/* nothing changes: keep agen, and pooled connections */
	shm_addr_write(ss, fam, bytes);
}

/*
 * Route slot k is about to hold route r. If it held another route before (an
 * older generation's), its per-worker queue counters start again from zero:
 * sluice-stat must not show that route's waits as r's. The same route keeps
 * them. (Those workers are gone; a reaped worker's waiting count is 0.)
 */
static void
route_rows_fresh(struct shm_seg *seg, uint32_t k, const struct route_conf *r)
{
	const struct shm_route *sr = shm_route(seg, k);
	const char *path = r->path_regex[0] != '\0' ? r->path_regex : r->path;
	uint32_t fl = r->path_regex[0] != '\0' ? SHM_RT_F_REGEX : 0, w;

	if ((atomic_load_explicit(&sr->flags, memory_order_relaxed) & SHM_RT_F_USED) &&
	    (atomic_load_explicit(&sr->flags, memory_order_relaxed) & SHM_RT_F_REGEX) == fl &&
	    strncmp(sr->host, r->host, SHM_HOST_LEN - 1) == 0 &&
	    strncmp(sr->path, path, SHM_PATH_LEN - 1) == 0)
		return;
	for (w = 0; w < seg->max_workers; w++) {
		struct shm_wroute *wr = shm_wroute(seg, w, k);

		atomic_store_explicit(&wr->q_total, 0, memory_order_relaxed);
		atomic_store_explicit(&wr->q_timeouts, 0, memory_order_relaxed);
		atomic_store_explicit(&wr->q_wait_us, 0, memory_order_relaxed);
		atomic_store_explicit(&wr->q_wait_max_us, 0, memory_order_relaxed);
	}
}

int
publish_conf(struct shm_seg *seg, const struct conf *c, uint32_t route_base, uint32_t *src_slot,
    char *err, size_t errlen)
{
	uint32_t src[SHM_ROUTE_SOURCES];
	char old[SHM_ADDR_LEN];
	uint32_t i, j;
	int slot, rc = 0, fresh;

	if (route_base + c->nroutes > seg->max_routes) {
		snprintf(err, errlen, "%u routes do not fit the shared segment (room for %u); "
		    "restart sluice to grow it", c->nroutes, seg->max_routes - route_base);
		return -1;
	}
	shm_gen_begin(seg);
	shm_source_retire_all(seg);
	for (i = 0; i < c->nsources && rc == 0; i++) {
		const struct source_conf *s = &c->sources[i];

		/* The address text it was bound with, to see whether it changed. */
		slot = shm_source_find(seg, s->name);
		if (slot >= 0)
			memcpy(old, shm_source(seg, (uint32_t)slot)->addr, sizeof(old));
		fresh = slot < 0;
		slot = shm_source_bind(seg, s->name, s->addr.text, s->weight, s->max_fails,
		    (uint32_t)(s->fail_timeout * 1000), s->backup);
		if (slot < 0) {
			snprintf(err, errlen, "source %s: %s", s->name, errno == ENOSPC ?
			    "no free slot in the shared segment; restart sluice to grow it" :
			    "cannot be bound in the shared segment");
			rc = -1;
			break;
		}
		src_slot[i] = (uint32_t)slot;
		if (!fresh && strncmp(old, shm_source(seg, (uint32_t)slot)->addr,
		    sizeof(old)) != 0)
			fresh = 1;
		publish_addr(shm_source(seg, (uint32_t)slot), s, fresh);
		atomic_store_explicit(&shm_source(seg, (uint32_t)slot)->max_conns, s->max_conns,
		    memory_order_relaxed);
	}
	for (i = 0; i < c->nroutes && rc == 0; i++) {
		const struct route_conf *r = &c->routes[i];

		for (j = 0; j < r->nsources && j < SHM_ROUTE_SOURCES; j++)
			src[j] = src_slot[r->sources[j]];
		route_rows_fresh(seg, route_base + i, r);
		if (shm_route_set(seg, route_base + i, r->host,
		    r->path_regex[0] != '\0' ? r->path_regex : r->path,
		    r->path_regex[0] != '\0' ? SHM_RT_F_REGEX : 0, (uint32_t)r->balancer, src,
		    j) == -1) {
			snprintf(err, errlen, "route %u cannot be written to the shared segment", i);
			rc = -1;
		}
	}
	/*
	 * Slots of this half past the new routes held an older generation's
	 * routes: no longer routes of anyone still being published here.
	 */
	for (i = route_base + c->nroutes; rc == 0 && i < route_base + seg->max_routes / 2 &&
	    i < seg->max_routes; i++)
		atomic_store_explicit(&shm_route(seg, i)->flags, 0, memory_order_relaxed);
	atomic_store_explicit(&seg->hdr->nworkers, c->workers, memory_order_relaxed);
	shm_gen_end(seg);
	return rc;
}
