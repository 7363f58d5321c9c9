/*
 * Routes at run time: matching a request to a route, and the per-route
 * strings built once at start (added header lines).
 */
#ifndef SLUICE_ROUTE_H
#define SLUICE_ROUTE_H

#include <stdint.h>
#include <sys/uio.h>

#include "common/conf.h"
#include "common/http1.h"

struct upool;

struct route_rt {
	const struct route_conf	*conf;
	struct upool		*pools;		/* one per route source, parallel to conf->sources */
	int32_t			*rr_cur;	/* smooth weighted round-robin state */
	struct iovec		*req_add;	/* "Name: value\r\n" lines, owned */
	struct iovec		*resp_add;
	uint32_t		 host_len;	/* strlen(conf->host) */
	uint32_t		 path_len;
};

/* Builds the run-time routes; returns 0 or -1 (ENOMEM). */
int	route_init(const struct conf *c, struct route_rt **out);

/*
 * Picks the first route whose host and path prefix match. host may be empty
 * (HTTP/1.0 without Host: only "*" routes match); its port is ignored.
 * Returns NULL if none matches.
 */
struct route_rt *route_match(struct route_rt *routes, uint32_t n, struct http1_str host,
	    struct http1_str path);

/* Host pattern test: exact, "*.suffix" or "*"; case-insensitive, port stripped. */
int	route_host_match(const char *pattern, struct http1_str host);

/* Is name (case-insensitively) one of the route's hidden or added headers? */
int	route_hdr_listed(const struct rules_conf *r, struct http1_str name);

#endif
