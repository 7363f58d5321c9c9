/*
 * route: host patterns, prefix and regex routes, first match in config order,
 * and the index against a plain linear scan on many random requests.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/conf.h"
#include "common/rewrite.h"
#include "worker/route.h"

#define MAX_ROUTES	512

/* One route of a test table: host pattern, then a prefix or a regex. */
struct rdef {
	const char	*host;
	const char	*path;		/* prefix, or NULL when regex is set */
	const char	*regex;
};

static struct conf		 conf;
static struct source_conf	 src;
static uint32_t			 src_idx[1];
static struct route_rt		*rt;
static struct rewrite_ctx	*oracle_ctx;

static void		 setup(void);
static void		 teardown(void);
static void		 conf_build(const struct rdef *defs, uint32_t n);
static void		 routes_build(const struct rdef *defs, uint32_t n);
static struct http1_str	 str(const char *s);
static int		 hm(const char *pattern, const char *host);
static int		 pick(const char *host, const char *path);
static int		 linear(const char *host, const char *path);
static uint32_t		 rnd(void);

static void
setup(void)
{
	oracle_ctx = rewrite_ctx_new();
	cr_assert_not_null(oracle_ctx);
}

/* Frees the routes and what conf_build() compiled. */
static void
teardown(void)
{
	uint32_t i;

	route_free(rt, conf.nroutes);
	rt = NULL;
	for (i = 0; i < conf.nroutes; i++)
		rewrite_free(conf.routes[i].path_re);
	free(conf.routes);
	memset(&conf, 0, sizeof(conf));
	rewrite_ctx_free(oracle_ctx);
}

/* A conf with one source and n routes, regexes compiled as conf_load does. */
static void
conf_build(const struct rdef *defs, uint32_t n)
{
	char err[REWRITE_ERR_MAX];
	uint32_t i;

	memset(&conf, 0, sizeof(conf));
	snprintf(src.name, sizeof(src.name), "app1");
	src.weight = 1;
	conf.sources = &src;
	conf.nsources = 1;
	conf.routes = calloc(n, sizeof(*conf.routes));
	cr_assert_not_null(conf.routes);
	conf.nroutes = n;
	for (i = 0; i < n; i++) {
		struct route_conf *r = &conf.routes[i];

		snprintf(r->host, sizeof(r->host), "%s", defs[i].host);
		r->sources = src_idx;
		r->nsources = 1;
		r->reuse_max = 16;
		if (defs[i].regex != NULL) {
			snprintf(r->path_regex, sizeof(r->path_regex), "%s", defs[i].regex);
			r->path_re = rewrite_compile(defs[i].regex, NULL, err, sizeof(err), NULL);
			cr_assert_not_null(r->path_re, "%s: %s", defs[i].regex, err);
		} else {
			snprintf(r->path, sizeof(r->path), "%s", defs[i].path);
		}
	}
}

static void
routes_build(const struct rdef *defs, uint32_t n)
{
	conf_build(defs, n);
	cr_assert_eq(route_init(&conf, &rt), 0, "route_init: %s", strerror(errno));
}

static struct http1_str
str(const char *s)
{
	return (struct http1_str){ s, (uint32_t)strlen(s) };
}

static int
hm(const char *pattern, const char *host)
{
	return route_host_match(pattern, str(host));
}

/* Number of the route route_match() picks, or -1. */
static int
pick(const char *host, const char *path)
{
	struct route_rt *r = route_match(rt, conf.nroutes, str(host), str(path), NULL);

	if (r == NULL)
		return -1;
	cr_assert_eq(r->conf, &conf.routes[r->idx_no]);
	return (int)(r - rt);
}

/* The reference: first route in order whose host and path match. */
static int
linear(const char *host, const char *path)
{
	const char *q = strchr(path, '?');
	size_t rlen = q != NULL ? (size_t)(q - path) : strlen(path);
	uint32_t i;

	for (i = 0; i < conf.nroutes; i++) {
		const struct route_conf *r = &conf.routes[i];

		if (!route_host_match(r->host, str(host)))
			continue;
		if (r->path_re != NULL) {
			if (rewrite_match(r->path_re, oracle_ctx, path, rlen) == 1)
				return (int)i;
		} else if (strncmp(path, r->path, strlen(r->path)) == 0) {
			return (int)i;
		}
	}
	return -1;
}

/* xorshift32: the same sequence on every run. */
static uint32_t
rnd(void)
{
	static uint32_t s = 2463534242u;

	s ^= s << 13;
	s ^= s >> 17;
	s ^= s << 5;
	return s;
}

TestSuite(route, .init = setup, .fini = teardown);

/* --- host patterns ---------------------------------------------------- */

Test(route, host_exact)
{
	cr_assert(hm("example.com", "example.com"));
	cr_assert_not(hm("example.com", "www.example.com"));
	cr_assert_not(hm("example.com", "example.co"));
	cr_assert_not(hm("example.com", "example.comm"));
	cr_assert_not(hm("example.com", ""));
}

Test(route, host_case_insensitive)
{
	cr_assert(hm("example.com", "EXAMPLE.Com"));
	cr_assert(hm("Example.COM", "example.com"));
	cr_assert(hm("*.Example.com", "WWW.EXAMPLE.COM"));
}

Test(route, host_port_is_ignored)
{
	cr_assert(hm("example.com", "example.com:8080"));
	cr_assert(hm("example.com", "example.com:"));
	cr_assert(hm("example.com:8080", "example.com"));
	cr_assert(hm("example.com:8080", "example.com:9090"));
	cr_assert(hm("*.example.com", "a.example.com:443"));
	cr_assert_not(hm("example.com", "example.org:8080"));
}

Test(route, host_trailing_dot)
{
	cr_assert(hm("example.com", "example.com."));
	cr_assert(hm("example.com", "example.com.:80"));
	cr_assert(hm("*.example.com", "a.example.com."));
}

Test(route, host_wildcard)
{
	cr_assert(hm("*.example.com", "a.example.com"));
	cr_assert(hm("*.example.com", "a.b.example.com"));
	cr_assert_not(hm("*.example.com", "example.com"));
	cr_assert_not(hm("*.example.com", ".example.com"));
	cr_assert_not(hm("*.example.com", "aexample.com"));
	cr_assert_not(hm("*.example.com", "a.example.com.evil"));
	cr_assert_not(hm("*.example.com", ""));
}

Test(route, host_star_matches_anything)
{
	cr_assert(hm("*", "example.com"));
	cr_assert(hm("*", "[::1]:80"));
	cr_assert(hm("*", ""));
}

Test(route, host_ipv6_literal)
{
	cr_assert(hm("[::1]", "[::1]"));
	cr_assert(hm("[::1]", "[::1]:8080"));
	cr_assert(hm("[::1]:80", "[::1]:8080"));
	cr_assert(hm("[2001:DB8::1]", "[2001:db8::1]"));
	cr_assert_not(hm("[::1]", "[::2]:8080"));
	cr_assert_not(hm("[::1]", "::1"));
	cr_assert(hm("10.0.0.1", "10.0.0.1:80"));
}

/* --- route_match ------------------------------------------------------ */

Test(route, host_forms_through_the_index)
{
	static const struct rdef d[] = {
		{ "example.com", "/", NULL },
		{ "*.example.com", "/", NULL },
		{ "[::1]", "/", NULL },
		{ "10.0.0.1:8080", "/", NULL },
		{ "*", "/fallback", NULL },
	};

	routes_build(d, 5);
	cr_assert_eq(pick("example.com", "/"), 0);
	cr_assert_eq(pick("EXAMPLE.COM:8080", "/x"), 0);
	cr_assert_eq(pick("example.com.", "/x"), 0);
	cr_assert_eq(pick("a.example.com", "/"), 1);
	cr_assert_eq(pick("A.B.Example.Com:443", "/"), 1);
	cr_assert_eq(pick("[::1]:8443", "/"), 2);
	cr_assert_eq(pick("10.0.0.1", "/"), 3);
	cr_assert_eq(pick("other.org", "/fallback/x"), 4);
	cr_assert_eq(pick("other.org", "/"), -1);
	cr_assert_eq(pick("xexample.com", "/"), -1);
}

Test(route, empty_host_matches_only_star)
{
	static const struct rdef d[] = {
		{ "example.com", "/", NULL },
		{ "*.example.com", "/", NULL },
		{ "*", "/", NULL },
	};
	struct route_rt *r;

	routes_build(d, 3);
	cr_assert_eq(pick("", "/"), 2);
	r = route_match(rt, conf.nroutes, (struct http1_str){ NULL, 0 }, str("/x"), NULL);
	cr_assert_eq(r, &rt[2]);
}

Test(route, prefix_then_regex)
{
	static const struct rdef d[] = {
		{ "*", NULL, "^/api/v\\d+/" },
		{ "*", "/api/", NULL },
		{ "*", NULL, "\\.php$" },
		{ "*", "/", NULL },
	};

	routes_build(d, 4);
	cr_assert_eq(pick("a", "/api/v2/users"), 0);
	cr_assert_eq(pick("a", "/api/users"), 1);
	cr_assert_eq(pick("a", "/index.php"), 2);
	cr_assert_eq(pick("a", "/index.php?x=1"), 2);	/* the regex sees no query */
	cr_assert_eq(pick("a", "/index.html?f=.php"), 3);
	cr_assert_eq(rt[0].path_len, 0);
	cr_assert_eq(rt[1].path_len, 5);
}

/* A regex that hits the retry limit must not let the path fall to a later route. */
Test(route, regex_that_gives_up_fails_closed)
{
	static const struct rdef d[] = {
		{ "*", NULL, "^/admin/(a|aa)+$" },
		{ "*", "/", NULL },
	};
	char path[200];
	struct route_rt *r, *gave;

	routes_build(d, 2);
	memset(path, 'a', sizeof(path) - 1);
	memcpy(path, "/admin/", 7);
	path[sizeof(path) - 2] = 'b';
	path[sizeof(path) - 1] = '\0';
	r = route_match(rt, conf.nroutes, str("a"), str(path), &gave);
	cr_assert_null(r);
	cr_assert_eq(gave, &rt[0]);
	/* A harmless path still routes, and says nothing gave up. */
	r = route_match(rt, conf.nroutes, str("a"), str("/admin/aaab"), &gave);
	cr_assert_eq(r, &rt[1]);
	cr_assert_null(gave);
	r = route_match(rt, conf.nroutes, str("a"), str("/admin/aaaa"), &gave);
	cr_assert_eq(r, &rt[0]);
	cr_assert_null(gave);
}

Test(route, first_match_wins_not_most_specific)
{
	static const struct rdef d[] = {
		{ "*", "/", NULL },
		{ "example.com", "/app/", NULL },
	};

	routes_build(d, 2);
	cr_assert_eq(pick("example.com", "/app/x"), 0);
}

Test(route, first_match_wins_among_prefixes)
{
	static const struct rdef d[] = {
		{ "*", "/a/b/c", NULL },
		{ "*", "/a", NULL },
		{ "*", "/a/b", NULL },
		{ "*", "/a", NULL },	/* shadowed by route 1 */
	};

	routes_build(d, 4);
	cr_assert_eq(pick("h", "/a/b/c/d"), 0);
	cr_assert_eq(pick("h", "/a/b/x"), 1);
	cr_assert_eq(pick("h", "/a"), 1);
	cr_assert_eq(pick("h", "/b"), -1);
	cr_assert_eq(pick("h", "/"), -1);
}

Test(route, first_match_wins_between_prefix_and_regex)
{
	static const struct rdef pre[] = {
		{ "*", "/static/", NULL },
		{ "*", NULL, "\\.css$" },
	};
	static const struct rdef post[] = {
		{ "*", NULL, "\\.css$" },
		{ "*", "/static/", NULL },
	};

	routes_build(pre, 2);
	cr_assert_eq(pick("h", "/static/a.css"), 0);
	cr_assert_eq(pick("h", "/a.css"), 1);
	teardown();
	setup();
	routes_build(post, 2);
	cr_assert_eq(pick("h", "/static/a.css"), 0);
	cr_assert_eq(pick("h", "/static/a.js"), 1);
}

Test(route, first_match_wins_across_host_forms)
{
	static const struct rdef d[] = {
		{ "*.example.com", "/x", NULL },
		{ "a.example.com", "/", NULL },
		{ "*", NULL, "^/x" },
		{ "*.a.example.com", "/", NULL },
		{ "*", "/", NULL },
	};

	routes_build(d, 5);
	cr_assert_eq(pick("a.example.com", "/x/1"), 0);
	cr_assert_eq(pick("a.example.com", "/y"), 1);
	cr_assert_eq(pick("b.example.com", "/x"), 0);
	cr_assert_eq(pick("b.example.com", "/y"), 4);
	cr_assert_eq(pick("c.a.example.com", "/xyz"), 0);
	cr_assert_eq(pick("c.a.example.com", "/y"), 3);
	cr_assert_eq(pick("other", "/xyz"), 2);
}

Test(route, uncompiled_regex_is_refused)
{
	static const struct rdef d[] = {
		{ "*", NULL, "^/a" },
	};

	conf_build(d, 1);
	rewrite_free(conf.routes[0].path_re);
	conf.routes[0].path_re = NULL;
	cr_assert_eq(route_init(&conf, &rt), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(rt);
}

Test(route, free_accepts_null)
{
	route_free(NULL, 0);
}

Test(route, added_header_lines_are_built)
{
	static const struct rdef d[] = {
		{ "*", "/", NULL },
	};
	struct header_conf add = { .name = "X-Added", .value = "yes" };

	conf_build(d, 1);
	conf.routes[0].request.add = &add;
	conf.routes[0].request.nadd = 1;
	cr_assert_eq(route_init(&conf, &rt), 0);
	cr_assert_eq(rt[0].req_add[0].iov_len, 14);
	cr_assert_arr_eq(rt[0].req_add[0].iov_base, "X-Added: yes\r\n", 14);
	cr_assert_null(rt[0].resp_add);
}

/*
 * 300 routes mixing every host form, nested and duplicate prefixes and
 * regexes, in random order: on 200000 random requests the index must answer
 * exactly what the linear first-match scan answers.
 */
Test(route, index_agrees_with_linear_scan_on_300_routes)
{
	static const char *const hosts[] = {
		"*", "*", "*", "example.com", "a.example.com", "*.example.com",
		"*.a.example.com", "*.com", "[::1]", "10.0.0.1", "api.test", "*.test",
		"b.example.com:8080", "EXAMPLE.org", "*.b.example.com",
	};
	static const char *const paths[] = {
		"/", "/a", "/a/", "/a/b", "/a/b/c", "/ab", "/api/", "/api/v1/", "/b",
		"/static/", "/static/img/", "/z", "/a/b/c/d/e", "/%41",
	};
	static const char *const regexes[] = {
		"^/a/\\d+", "\\.css$", "^/b", "(?i)^/API/V2/", "^/static/.*\\.png$", "x",
		"^/$", "^/a/b/?$",
	};
	static const char *const req_hosts[] = {
		"example.com", "EXAMPLE.COM:80", "a.example.com", "x.a.example.com",
		"y.b.example.com", "b.example.com", "foo.com", "com", "[::1]:8080", "10.0.0.1",
		"api.test", "x.api.test", "example.org.", "", "unknown.net", "a.example.com.",
	};
	static const char *const req_paths[] = {
		"/", "/a", "/a/", "/a/1", "/a/12/x", "/a/b", "/a/b/", "/a/b/c", "/a/b/c/d/e/f",
		"/ab", "/api/v1/x", "/API/V2/y", "/api/v2/y", "/b", "/bb?q=1", "/static/x.png",
		"/static/img/y.css", "/static/img/y.css?v=2", "/z", "/x", "/%41b", "/q?x=/a",
		"/yy?xx",
	};
	static struct rdef defs[300];
	uint32_t i, nreq = 0;
	int want, got;

	for (i = 0; i < 300; i++) {
		defs[i].host = hosts[rnd() % (sizeof(hosts) / sizeof(hosts[0]))];
		if (rnd() % 4 == 0) {
			defs[i].path = NULL;
			defs[i].regex = regexes[rnd() % (sizeof(regexes) / sizeof(regexes[0]))];
		} else {
			defs[i].path = paths[rnd() % (sizeof(paths) / sizeof(paths[0]))];
			defs[i].regex = NULL;
		}
	}
	/* Most requests should find a route, so no catch-all may come early. */
	defs[0] = (struct rdef){ "*.example.com", "/a/b", NULL };
	defs[299] = (struct rdef){ "*", "/", NULL };
	routes_build(defs, 300);
	for (i = 0; i < 200000; i++) {
		const char *h = req_hosts[rnd() % (sizeof(req_hosts) / sizeof(req_hosts[0]))];
		const char *p = req_paths[rnd() % (sizeof(req_paths) / sizeof(req_paths[0]))];

		want = linear(h, p);
		got = pick(h, p);
		if (got != want)
			cr_assert_fail("host \"%s\" path \"%s\": index %d, linear %d", h, p, got,
			    want);
		nreq += want >= 0;
	}
	cr_assert_gt(nreq, 100000);
}

/* Hundreds of distinct hosts, each with its own prefix and regex routes. */
Test(route, index_agrees_with_linear_scan_on_many_hosts)
{
	static char names[MAX_ROUTES][64];
	static struct rdef defs[MAX_ROUTES];
	char host[80], path[64];
	uint32_t i, n = 0;

	for (i = 0; i < 160; i++, n += 3) {
		snprintf(names[n], sizeof(names[n]), "h%u.example.net", i);
		defs[n] = (struct rdef){ names[n], NULL, "^/r/\\d+$" };
		snprintf(names[n + 1], sizeof(names[n + 1]), "*.h%u.example.net", i % 40);
		defs[n + 1] = (struct rdef){ names[n + 1], "/p/", NULL };
		snprintf(names[n + 2], sizeof(names[n + 2]), "h%u.example.net", i);
		defs[n + 2] = (struct rdef){ names[n + 2], "/", NULL };
	}
	routes_build(defs, n);
	cr_assert_eq(n, 480);
	for (i = 0; i < 50000; i++) {
		uint32_t k = rnd() % 200;

		snprintf(host, sizeof(host), rnd() % 2 ? "h%u.example.net" : "x.h%u.EXAMPLE.net",
		    k);
		snprintf(path, sizeof(path), rnd() % 3 == 0 ? "/r/%u" : rnd() % 2 ? "/p/%u" :
		    "/z%u", rnd() % 50);
		cr_assert_eq(pick(host, path), linear(host, path), "host %s path %s", host, path);
	}
}
