/*
 * Route selection (first match in config order, through an index by host and
 * path prefix) and the header lines each route adds, built once at start.
 */
#include "worker/route.h"

#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rewrite.h"
#include "worker/upool.h"

#define NO_ROUTE	UINT32_MAX

/*
 * How the index answers "first match" without a linear scan.
 *
 * Routes are grouped into buckets by host pattern: one per distinct exact
 * host, one per distinct "*.suffix", one for "*"; each bucket keeps its
 * routes in config order. The routes whose host matches a request are
 * exactly the union of: the exact bucket for the host, the wildcard bucket of
 * each suffix of the host that follows a dot (the dot not first), and "*".
 * Those are found by hash lookups, and no other bucket can hold a match.
 *
 * In a bucket, the prefix routes form a table of distinct prefixes sorted by
 * bytes. Each entry knows its parent, the longest other entry that is a
 * prefix of it, and "best", the lowest route number on its parent chain.
 * Every entry that is a prefix of the path is <= path, and so (sorted order)
 * is a prefix of e, the greatest entry <= path: all of them sit on e's chain,
 * and they are the ones no longer than lcp(e, path). A binary search and a
 * short walk up the chain give the lowest matching prefix route.
 *
 * The answer is the lowest route number over the candidate buckets. Regex
 * routes can only lower it, so only those numbered below the best prefix
 * match are tried, in increasing number (a merge over the candidate
 * buckets), and the first that matches ends the search.
 */

enum bkind {
	BK_EXACT = 0,		/* "example.com": key is the host */
	BK_WILD,		/* "*.example.com": key is "example.com" */
	BK_ANY,			/* "*" */
	BK__COUNT
};

/* A distinct path prefix of one bucket. */
struct pfx {
	const char	*p;		/* borrowed: route_conf.path */
	uint32_t	 len;
	uint32_t	 route;		/* lowest route number with this exact prefix */
	int32_t		 parent;	/* index of the longest other entry that prefixes it, or -1 */
	uint32_t	 best;		/* lowest route number on the chain up from here */
};

/* The routes of one host pattern, in config order. */
struct bucket {
	enum bkind	 kind;
	char		*key;		/* owned, lowercase, port and trailing dot removed */
	uint32_t	 klen;
	struct pfx	*pfx;		/* owned; sorted by bytes */
	uint32_t	 npfx;
	uint32_t	*re;		/* owned; numbers of the path_regex routes, ascending */
	uint32_t	 nre;
};

struct route_idx {
	uint32_t		 nroutes;
	struct bucket		*b;		/* owned */
	uint32_t		 nb;
	uint32_t		*slot;		/* hash of EXACT and WILD buckets: number + 1, 0 = free */
	uint32_t		 mask;		/* slots - 1, a power of two minus one */
	uint32_t		 any;		/* the "*" bucket, or NO_ROUTE */
	uint32_t		 wild_labels;	/* most labels in a wildcard key */
	uint32_t		 wild_len;	/* longest wildcard key */
	uint32_t		*cand;		/* scratch: candidate buckets of one lookup */
	uint32_t		*cur;		/* scratch: regex merge cursor per candidate */
	struct rewrite_ctx	*ctx;		/* owned; path_regex matching */
};

static int	build_lines(const struct rules_conf *r, struct iovec **out);
static int	idx_build(const struct conf *c, struct route_idx **out);
static void	idx_free(struct route_idx *x);
static int	bucket_fill(struct bucket *b, const struct conf *c, const uint32_t *bno,
    uint32_t me);
static int	pfx_cmp(const void *a, const void *b);
static uint32_t	pfx_best(const struct bucket *b, const char *p, uint32_t len);
static uint32_t	bucket_find(const struct route_idx *x, enum bkind kind, const char *p,
    uint32_t len);
static uint32_t	key_hash(enum bkind kind, const char *p, uint32_t len);
static uint32_t	host_span(const char *p, uint32_t len);
static int	lower(int ch);
static bool	ieq(const char *a, const char *b, uint32_t len);

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
	/* Published first, so that route_free() reclaims a half-built list. */
	*out = v;
	for (i = 0; i < r->nadd; i++) {
		size_t len = strlen(r->add[i].name) + strlen(r->add[i].value) + 5;
		char *s = malloc(len);

		if (s == NULL)
			return -1;
		snprintf(s, len, "%s: %s\r\n", r->add[i].name, r->add[i].value);
		v[i].iov_base = s;
		v[i].iov_len = len - 1;
	}
	return 0;
}

int
route_init(const struct conf *c, struct route_rt **out)
{
	struct route_rt *rt;
	uint32_t i, j;
	int saved;

	*out = NULL;
	rt = calloc(c->nroutes, sizeof(*rt));
	if (rt == NULL)
		return -1;
	for (i = 0; i < c->nroutes; i++) {
		const struct route_conf *rc = &c->routes[i];

		rt[i].conf = rc;
		rt[i].idx_no = i;
		rt[i].host_len = (uint32_t)strlen(rc->host);
		rt[i].path_len = (uint32_t)strlen(rc->path);
		rt[i].pools = calloc(rc->nsources, sizeof(*rt[i].pools));
		if (rt[i].pools == NULL)
			goto fail;
		for (j = 0; j < rc->nsources; j++)
			upool_init(&rt[i].pools[j], &c->sources[rc->sources[j]], rc->sources[j],
			    rc->reuse_max == CONF_REUSE_AUTO ? rc->reuse_limit : rc->reuse_max,
			    rc->reuse_max == CONF_REUSE_AUTO);
		if (build_lines(&rc->request, &rt[i].req_add) == -1 ||
		    build_lines(&rc->response, &rt[i].resp_add) == -1)
			goto fail;
		if (rc->request_id[0] != '\0') {
			size_t len = strlen(rc->request_id) + sizeof(": ");

			if ((rt[i].rid.iov_base = malloc(len)) == NULL)
				goto fail;
			rt[i].rid.iov_len = (size_t)snprintf(rt[i].rid.iov_base, len, "%s: ",
			    rc->request_id);
		}
		if (rc->via) {
			size_t len = strlen(rc->via_name) + sizeof("Via: 1.1 \r\n");

			if ((rt[i].via.iov_base = malloc(len)) == NULL)
				goto fail;
			rt[i].via.iov_len = (size_t)snprintf(rt[i].via.iov_base, len,
			    "Via: 1.1 %s\r\n", rc->via_name);
		}
	}
	if (c->nroutes > 0) {
		if (idx_build(c, &rt[0].idx) == -1)
			goto fail;
		for (i = 1; i < c->nroutes; i++)
			rt[i].idx = rt[0].idx;
	}
	*out = rt;
	return 0;
fail:
	saved = errno;	/* ENOMEM from the allocator, or EINVAL */
	route_free(rt, c->nroutes);
	errno = saved;
	return -1;
}

void
route_free(struct route_rt *routes, uint32_t n)
{
	uint32_t i, j;

	if (routes == NULL)
		return;
	for (i = 0; i < n; i++) {
		struct route_rt *r = &routes[i];

		for (j = 0; r->req_add != NULL && j < r->conf->request.nadd; j++)
			free(r->req_add[j].iov_base);
		for (j = 0; r->resp_add != NULL && j < r->conf->response.nadd; j++)
			free(r->resp_add[j].iov_base);
		free(r->req_add);
		free(r->resp_add);
		free(r->via.iov_base);
		free(r->rid.iov_base);
		free(r->pools);
	}
	if (n > 0)
		idx_free(routes[0].idx);
	free(routes);
}

/* --- the index ---------------------------------------------------------- */

static int
idx_build(const struct conf *c, struct route_idx **out)
{
	struct route_idx *x;
	uint32_t *bno = NULL, i, k, h, slots, labels;
	const char *pat, *key;
	enum bkind kind;
	uint32_t klen;

	*out = NULL;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	x->nroutes = c->nroutes;
	x->any = NO_ROUTE;
	for (slots = 8; slots < 2 * c->nroutes; slots *= 2)
		;
	x->mask = slots - 1;
	x->slot = calloc(slots, sizeof(*x->slot));
	x->b = calloc(c->nroutes, sizeof(*x->b));
	bno = calloc(c->nroutes, sizeof(*bno));
	if (x->slot == NULL || x->b == NULL || bno == NULL)
		goto fail;
	if ((x->ctx = rewrite_ctx_new()) == NULL)
		goto fail;

	/* Bucket of every route, created on first sight. */
	for (i = 0; i < c->nroutes; i++) {
		pat = c->routes[i].host;
		if (strcmp(pat, "*") == 0) {
			if (x->any == NO_ROUTE) {
				x->any = x->nb++;
				x->b[x->any].kind = BK_ANY;
			}
			bno[i] = x->any;
			continue;
		}
		kind = pat[0] == '*' && pat[1] == '.' ? BK_WILD : BK_EXACT;
		key = kind == BK_WILD ? pat + 2 : pat;
		klen = host_span(key, (uint32_t)strlen(key));
		if ((bno[i] = bucket_find(x, kind, key, klen)) != NO_ROUTE)
			continue;
		bno[i] = x->nb;
		x->b[x->nb].kind = kind;
		if ((x->b[x->nb].key = malloc(klen + 1)) == NULL)
			goto fail;
		for (k = 0; k < klen; k++)
			x->b[x->nb].key[k] = (char)lower((unsigned char)key[k]);
		x->b[x->nb].key[klen] = '\0';
		x->b[x->nb].klen = klen;
		for (h = key_hash(kind, key, klen) & x->mask; x->slot[h] != 0; h = (h + 1) & x->mask)
			;
		x->slot[h] = ++x->nb;
		if (kind == BK_WILD) {
			for (k = 0, labels = 1; k < klen; k++)
				labels += key[k] == '.';
			if (labels > x->wild_labels)
				x->wild_labels = labels;
			if (klen > x->wild_len)
				x->wild_len = klen;
		}
	}
	for (i = 0; i < x->nb; i++)
		if (bucket_fill(&x->b[i], c, bno, i) == -1)
			goto fail;
	/* Candidates of one lookup: exact, one per wildcard suffix, "*". */
	x->cand = calloc(x->wild_labels + 2, sizeof(*x->cand));
	x->cur = calloc(x->wild_labels + 2, sizeof(*x->cur));
	if (x->cand == NULL || x->cur == NULL)
		goto fail;
	free(bno);
	*out = x;
	return 0;
fail:
	free(bno);
	idx_free(x);
	return -1;
}

static void
idx_free(struct route_idx *x)
{
	uint32_t i;

	if (x == NULL)
		return;
	for (i = 0; i < x->nb; i++) {
		free(x->b[i].key);
		free(x->b[i].pfx);
		free(x->b[i].re);
	}
	free(x->b);
	free(x->slot);
	free(x->cand);
	free(x->cur);
	rewrite_ctx_free(x->ctx);
	free(x);
}

/* Fills bucket me (number) with its routes: the prefix table and the regex list. */
static int
bucket_fill(struct bucket *b, const struct conf *c, const uint32_t *bno, uint32_t me)
{
	int32_t *stack, top = -1;
	uint32_t i, n = 0, j;

	for (i = 0; i < c->nroutes; i++)
		n += bno[i] == me;
	b->pfx = calloc(n, sizeof(*b->pfx));
	b->re = calloc(n, sizeof(*b->re));
	stack = calloc(n, sizeof(*stack));
	if (b->pfx == NULL || b->re == NULL || stack == NULL) {
		free(stack);
		return -1;
	}
	for (i = 0; i < c->nroutes; i++) {
		const struct route_conf *rc = &c->routes[i];

		if (bno[i] != me)
			continue;
		if (rc->path_regex[0] != '\0') {
			if (rc->path_re == NULL) {
				free(stack);
				errno = EINVAL;
				return -1;
			}
			b->re[b->nre++] = i;
			continue;
		}
		b->pfx[b->npfx].p = rc->path;
		b->pfx[b->npfx].len = (uint32_t)strlen(rc->path);
		b->pfx[b->npfx].route = i;
		b->npfx++;
	}
	if (b->npfx > 0)
		qsort(b->pfx, b->npfx, sizeof(*b->pfx), pfx_cmp);
	/* Same prefix twice: the later route can never win, keep the first. */
	for (i = 0, j = 0; i < b->npfx; i++) {
		if (j > 0 && b->pfx[j - 1].len == b->pfx[i].len &&
		    memcmp(b->pfx[j - 1].p, b->pfx[i].p, b->pfx[i].len) == 0)
			continue;
		b->pfx[j++] = b->pfx[i];
	}
	b->npfx = j;
	/*
	 * In sorted order the stack holds the chain of entries that prefix the
	 * previous one; pop what does not prefix this one, the top is its parent.
	 */
	for (i = 0; i < b->npfx; i++) {
		struct pfx *e = &b->pfx[i];

		while (top >= 0 && !(b->pfx[stack[top]].len <= e->len &&
		    memcmp(b->pfx[stack[top]].p, e->p, b->pfx[stack[top]].len) == 0))
			top--;
		e->parent = top >= 0 ? stack[top] : -1;
		e->best = e->route;
		if (e->parent >= 0 && b->pfx[e->parent].best < e->best)
			e->best = b->pfx[e->parent].best;
		stack[++top] = (int32_t)i;
	}
	free(stack);
	return 0;
}

/* Bytes, then shorter first, then route number (so duplicates keep the first). */
static int
pfx_cmp(const void *a, const void *b)
{
	const struct pfx *x = a, *y = b;
	uint32_t n = x->len < y->len ? x->len : y->len;
	int r = memcmp(x->p, y->p, n);

	if (r != 0)
		return r;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->route < y->route ? -1 : x->route > y->route;
}

/* Lowest route number whose prefix starts p[0..len), or NO_ROUTE. */
static uint32_t
pfx_best(const struct bucket *b, const char *p, uint32_t len)
{
	uint32_t lo = 0, hi = b->npfx, mid, n, lcp;
	int32_t k;
	int r;

	/* Greatest entry <= p. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		n = b->pfx[mid].len < len ? b->pfx[mid].len : len;
		r = memcmp(b->pfx[mid].p, p, n);
		if (r < 0 || (r == 0 && b->pfx[mid].len <= len))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NO_ROUTE;
	k = (int32_t)lo - 1;
	n = b->pfx[k].len < len ? b->pfx[k].len : len;
	for (lcp = 0; lcp < n && b->pfx[k].p[lcp] == p[lcp]; lcp++)
		;
	while (k >= 0 && b->pfx[k].len > lcp)
		k = b->pfx[k].parent;
	return k >= 0 ? b->pfx[k].best : NO_ROUTE;
}

/* The EXACT or WILD bucket whose key is p[0..len) case-insensitively, or NO_ROUTE. */
static uint32_t
bucket_find(const struct route_idx *x, enum bkind kind, const char *p, uint32_t len)
{
	const struct bucket *b;
	uint32_t h;

	for (h = key_hash(kind, p, len) & x->mask; x->slot[h] != 0; h = (h + 1) & x->mask) {
		b = &x->b[x->slot[h] - 1];
		if (b->kind == kind && b->klen == len && ieq(p, b->key, len))
			return x->slot[h] - 1;
	}
	return NO_ROUTE;
}

/* FNV-1a over the lowercased bytes, seeded by kind. */
static uint32_t
key_hash(enum bkind kind, const char *p, uint32_t len)
{
	uint32_t h = 2166136261u ^ (uint32_t)kind, i;

	for (i = 0; i < len; i++) {
		h ^= (uint32_t)lower((unsigned char)p[i]);
		h *= 16777619u;
	}
	return h;
}

struct route_rt *
route_match(struct route_rt *routes, uint32_t n, struct http1_str host, struct http1_str path,
    struct route_rt **gave_up)
{
	struct route_idx *x;
	const struct bucket *b;
	const char *q;
	uint32_t hlen, ncand = 0, best = NO_ROUTE, i, j, pick, r, labels, rlen;
	int m;

	if (gave_up != NULL)
		*gave_up = NULL;
	if (n == 0)
		return NULL;
	x = routes[0].idx;
	assert(x != NULL && x->nroutes == n);
	/* An absent Host may come as a NULL view; the helpers below need bytes. */
	if (host.p == NULL)
		host.p = "";
	if (path.p == NULL)
		path.p = "";
	hlen = host_span(host.p, host.len);
	if ((r = bucket_find(x, BK_EXACT, host.p, hlen)) != NO_ROUTE)
		x->cand[ncand++] = r;
	/* "*.suffix" for the suffixes after each dot, shortest first, as far as a key can be. */
	for (i = hlen, labels = 1; x->wild_labels > 0 && i-- > 1;) {
		if (host.p[i] != '.')
			continue;
		if (hlen - i - 1 > x->wild_len)
			break;
		if ((r = bucket_find(x, BK_WILD, host.p + i + 1, hlen - i - 1)) != NO_ROUTE)
			x->cand[ncand++] = r;
		if (++labels > x->wild_labels)
			break;
	}
	if (x->any != NO_ROUTE)
		x->cand[ncand++] = x->any;

	for (i = 0; i < ncand; i++) {
		r = pfx_best(&x->b[x->cand[i]], path.p, path.len);
		if (r < best)
			best = r;
		x->cur[i] = 0;
	}
	/* path_regex sees the path without its query. */
	q = path.len > 0 ? memchr(path.p, '?', path.len) : NULL;
	rlen = q != NULL ? (uint32_t)(q - path.p) : path.len;
	for (;;) {
		pick = NO_ROUTE;
		for (i = 0, j = 0; i < ncand; i++) {
			b = &x->b[x->cand[i]];
			if (x->cur[i] < b->nre && b->re[x->cur[i]] < best &&
			    (pick == NO_ROUTE || b->re[x->cur[i]] < pick)) {
				pick = b->re[x->cur[i]];
				j = i;
			}
		}
		if (pick == NO_ROUTE)
			break;
		x->cur[j]++;
		m = rewrite_match(routes[pick].conf->path_re, x->ctx, path.p, rlen);
		if (m == 1) {
			best = pick;
			break;
		}
		if (m < 0) {
			/* Skipping the route would let a crafted path bypass it. */
			if (gave_up != NULL)
				*gave_up = &routes[pick];
			return NULL;
		}
	}
	return best == NO_ROUTE ? NULL : &routes[best];
}

/* --- host names --------------------------------------------------------- */

/* Length of p without its port (an IPv6 literal keeps its brackets) and one trailing dot. */
static uint32_t
host_span(const char *p, uint32_t len)
{
	const char *e;

	if (len > 0 && p[0] == '[') {
		if ((e = memchr(p, ']', len)) != NULL)
			len = (uint32_t)(e - p + 1);
	} else if (len > 0 && (e = memchr(p, ':', len)) != NULL) {
		len = (uint32_t)(e - p);
	}
	/* A trailing dot names the same host (RFC 1034 absolute form). */
	if (len > 0 && p[len - 1] == '.')
		len--;
	return len;
}

/* ASCII only: host names are compared the same in every locale. */
static int
lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

static bool
ieq(const char *a, const char *b, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return false;
	return true;
}

int
route_host_match(const char *pattern, struct http1_str host)
{
	uint32_t plen = (uint32_t)strlen(pattern), hlen, slen;

	if (plen == 1 && pattern[0] == '*')
		return 1;
	hlen = host_span(host.p, host.len);
	if (plen >= 2 && pattern[0] == '*' && pattern[1] == '.') {
		/* "*.example.com": a non-empty name, a dot, then the suffix. */
		slen = host_span(pattern + 2, plen - 2);
		return hlen > slen + 1 && host.p[hlen - slen - 1] == '.' &&
		    ieq(host.p + hlen - slen, pattern + 2, slen);
	}
	plen = host_span(pattern, plen);
	return hlen == plen && ieq(host.p, pattern, plen);
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

int
route_peer_trusted(const struct route_conf *rc, const struct sockaddr *sa)
{
	const uint8_t *a;
	uint32_t i;

	if (sa->sa_family == AF_INET)
		a = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	else
		return 0;
	for (i = 0; i < rc->ntrusted; i++) {
		const struct cidr_conf *t = &rc->trusted[i];
		uint8_t bits = t->prefix, k;

		if (t->family != sa->sa_family)
			continue;
		for (k = 0; bits >= 8; k++, bits -= 8)
			if (a[k] != t->addr[k])
				break;
		if (bits >= 8)
			continue;
		if (bits == 0 || ((a[k] ^ t->addr[k]) & (uint8_t)(0xff << (8 - bits))) == 0)
			return 1;
	}
	return 0;
}
