/*
 * Route matching (host, then path prefix, first match wins) and the header
 * lines each route adds, built once so the hot path only points at them.
 */
#include "worker/route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "worker/upool.h"

static int	build_lines(const struct rules_conf *r, struct iovec **out);

static int
build_lines(const struct rules_conf *r, struct iovec **out)
{
	struct iovec *v;
	uint32_t i;

	*out = NULL;
	if (r->nadd == 0)
		return 0;
	v = calloc(r->nadd, sizeof(*v));
	if (v == NULL)
		return -1;
	for (i = 0; i < r->nadd; i++) {
		size_t len = strlen(r->add[i].name) + strlen(r->add[i].value) + 5;
		char *s = malloc(len);

		if (s == NULL)
			return -1;
		snprintf(s, len, "%s: %s\r\n", r->add[i].name, r->add[i].value);
		v[i].iov_base = s;
		v[i].iov_len = len - 1;
	}
	*out = v;
	return 0;
}

int
route_init(const struct conf *c, struct route_rt **out)
{
	struct route_rt *rt;
	uint32_t i, j;

	rt = calloc(c->nroutes, sizeof(*rt));
	if (rt == NULL)
		return -1;
	for (i = 0; i < c->nroutes; i++) {
		const struct route_conf *rc = &c->routes[i];

		rt[i].conf = rc;
		rt[i].host_len = (uint32_t)strlen(rc->host);
		rt[i].path_len = (uint32_t)strlen(rc->path);
		rt[i].rr_cur = calloc(rc->nsources, sizeof(*rt[i].rr_cur));
		rt[i].pools = calloc(rc->nsources, sizeof(*rt[i].pools));
		if (rt[i].rr_cur == NULL || rt[i].pools == NULL)
			return -1;
		for (j = 0; j < rc->nsources; j++)
			upool_init(&rt[i].pools[j], &c->sources[rc->sources[j]], rc->sources[j],
			    rc->reuse_max);
		if (build_lines(&rc->request, &rt[i].req_add) == -1 ||
		    build_lines(&rc->response, &rt[i].resp_add) == -1)
			return -1;
	}
	*out = rt;
	return 0;
}

int
route_host_match(const char *pattern, struct http1_str host)
{
	size_t plen = strlen(pattern);
	uint32_t hlen = host.len;

	if (plen == 1 && pattern[0] == '*')
		return 1;
	/* Strip the port; an IPv6 literal keeps its brackets. */
	if (hlen > 0 && host.p[0] == '[') {
		const char *rb = memchr(host.p, ']', hlen);

		if (rb != NULL)
			hlen = (uint32_t)(rb - host.p + 1);
	} else {
		const char *colon = memchr(host.p, ':', hlen);

		if (colon != NULL)
			hlen = (uint32_t)(colon - host.p);
	}
	/* A trailing dot names the same host (RFC 1034 absolute form). */
	if (hlen > 0 && host.p[hlen - 1] == '.')
		hlen--;
	if (plen > 2 && pattern[0] == '*' && pattern[1] == '.') {
		/* "*.example.com" matches any name ending in ".example.com". */
		size_t slen = plen - 1;

		return hlen > slen && strncasecmp(host.p + hlen - slen, pattern + 1, slen) == 0;
	}
	return hlen == plen && strncasecmp(host.p, pattern, plen) == 0;
}

struct route_rt *
route_match(struct route_rt *routes, uint32_t n, struct http1_str host, struct http1_str path)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		struct route_rt *r = &routes[i];

		if (!route_host_match(r->conf->host, host))
			continue;
		if (path.len < r->path_len || memcmp(path.p, r->conf->path, r->path_len) != 0)
			continue;
		return r;
	}
	return NULL;
}

int
route_hdr_listed(const struct rules_conf *r, struct http1_str name)
{
	uint32_t i;

	for (i = 0; i < r->nhide; i++)
		if (http1_str_eq(name, r->hide[i]))
			return 1;
	for (i = 0; i < r->nadd; i++)
		if (http1_str_eq(name, r->add[i].name))
			return 1;
	return 0;
}
