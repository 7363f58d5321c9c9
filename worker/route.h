/*
 * Routes at run time: picking a request's route through an index by host and
 * path prefix, and the per-route strings built once at start (added headers).
 */
#ifndef SLUICE_ROUTE_H
#define SLUICE_ROUTE_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "common/conf.h"
#include "common/http1.h"

struct route_idx;
struct lb_ring_point;
struct upool;

struct route_rt {
	const struct route_conf	*conf;
	struct upool		*pools;		/* one per route source, parallel to conf->sources */
	struct iovec		*req_add;	/* "Name: value\r\n" lines, owned */
	struct iovec		*resp_add;
	struct iovec		 via;		/* "Via: 1.1 <via_name>\r\n", owned; empty if via off */
	struct iovec		 rid;		/* "<request_id>: ", owned; empty if off */
	uint32_t		 host_len;	/* strlen(conf->host) */
	uint32_t		 path_len;
	uint32_t		 idx_no;	/* position in the array = in conf->routes */
	struct lb_ring_point	*ring;		/* ip_hash: consistent hash ring, owned */
	uint32_t		 nring;
	uint8_t			*rr_sched;	/* round_robin over the usable set, owned */
	uint32_t		 rr_len;
	uint64_t		 rr_mask;	/* usable set rr_sched was built for */
	uint64_t		 rr_ramp_ms;	/* built from slow start's weights then; 0 = full */
	struct route_idx	*idx;		/* lookup index of the whole array; owned by element 0 */
	struct cconn		*qhead, *qtail;	/* waiting for a max_conns slot (queue.c) */
	uint32_t		 qlen;
};

/*
 * Builds the run-time routes of c (from conf_load: every path_regex compiled
 * into route_conf.path_re) and their lookup index, which owns a rewrite_ctx
 * for path_regex matching: call it in the worker, after fork. Returns 0 with
 * the array (c->nroutes elements, free with route_free()) in *out, or -1 with
 * errno ENOMEM, or EINVAL if a path_regex was not compiled.
 */
int	route_init(const struct conf *c, struct route_rt **out);

/*
 * Frees what route_init() built; accepts NULL. Pools must be empty
 * (upool_flush()) first: idle backend connections are not closed here.
 */
void	route_free(struct route_rt *routes, uint32_t n);

/*
 * Returns the first route, in config order, whose host pattern matches host
 * and whose path prefix starts path (or whose path_regex matches path
 * without its query, "?..."), or NULL. host may be empty (HTTP/1.0 without
 * Host: only "*" routes match); its port is ignored. Same answer as a linear
 * first-match scan with route_host_match(), but looks at only the host
 * buckets that can match (exact, "*.suffix" for each suffix of host, "*"),
 * finds the best prefix in each by binary search, and runs only the regexes
 * of routes that come before the best prefix route. Allocates nothing.
 * A regex that gives up (oniguruma retry limit) fails closed: the answer
 * cannot be known, so NULL is returned and *gave_up (if gave_up is not NULL)
 * names the route whose regex gave up; else *gave_up is set to NULL.
 */
struct route_rt *route_match(struct route_rt *routes, uint32_t n, struct http1_str host,
	    struct http1_str path, struct route_rt **gave_up);

/*
 * Host pattern test: exact, "*.suffix" or "*"; case-insensitive. The port
 * (":8080", after "]" for "[::1]:8080") and one trailing dot are ignored on
 * both sides. "*.example.com" matches "a.example.com" and "a.b.example.com",
 * not "example.com". Returns 1 or 0.
 */
int	route_host_match(const char *pattern, struct http1_str host);

/* Is name (case-insensitively) one of the route's hidden or added headers? */
int	route_hdr_listed(const struct rules_conf *r, struct http1_str name);

/* Is the peer address sa in the route's trusted_proxies? Returns 1 or 0. */
int	route_peer_trusted(const struct route_conf *rc, const struct sockaddr *sa);

#endif
