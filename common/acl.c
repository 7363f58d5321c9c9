/*
 * Access lists as one sorted array of networks per prefix length, longest
 * first: a lookup masks the address to each length in turn and binary
 * searches that length's networks; the first hit is the longest match.
 */
#include "common/acl.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* One network: the masked address as two 64-bit halves, and its action. */
struct acl_net {
	uint64_t	hi, lo;
	uint8_t		deny;
};

struct acl_len {
	uint8_t		 plen;		/* 0..128, in IPv6 terms */
	uint32_t	 n;
	struct acl_net	*nets;		/* sorted by (hi, lo); one entry per network */
};

struct acl {
	struct acl_len	*lens;		/* longest prefix first */
	uint32_t	 nlens;
	int		 has_allow;
};

static void	to16(const struct cidr_conf *c, uint8_t out[16], uint8_t *plen);
static void	mask(const uint8_t a[16], uint8_t plen, uint64_t *hi, uint64_t *lo);
static int	net_cmp(const void *a, const void *b);
static int	len_cmp(const void *a, const void *b);

struct acl *
acl_build(const struct cidr_conf *allow, uint32_t nallow, const struct cidr_conf *deny,
    uint32_t ndeny)
{
	struct acl *a = calloc(1, sizeof(*a));
	uint32_t count[129] = { 0 }, i, k, n = nallow + ndeny, w;
	struct acl_len *l;
	uint8_t addr[16], plen;

	if (a == NULL)
		return NULL;
	a->has_allow = nallow > 0;
	for (i = 0; i < n; i++) {
		to16(i < nallow ? &allow[i] : &deny[i - nallow], addr, &plen);
		if (count[plen]++ == 0)
			a->nlens++;
	}
	if (a->nlens > 0 && (a->lens = calloc(a->nlens, sizeof(*a->lens))) == NULL)
		goto fail;
	for (i = 129, k = 0; i-- > 0;)
		if (count[i] > 0) {
			a->lens[k].plen = (uint8_t)i;
			if ((a->lens[k].nets = calloc(count[i], sizeof(struct acl_net))) == NULL)
				goto fail;
			k++;
		}
	for (i = 0; i < n; i++) {
		to16(i < nallow ? &allow[i] : &deny[i - nallow], addr, &plen);
		for (k = 0; a->lens[k].plen != plen; k++)
			;
		l = &a->lens[k];
		mask(addr, plen, &l->nets[l->n].hi, &l->nets[l->n].lo);
		l->nets[l->n++].deny = i >= nallow;
	}
	/* Sorted; a network listed twice keeps one entry, deny if either denies. */
	for (k = 0; k < a->nlens; k++) {
		l = &a->lens[k];
		qsort(l->nets, l->n, sizeof(*l->nets), net_cmp);
		for (i = 1, w = l->n > 0; i < l->n; i++) {
			if (l->nets[i].hi == l->nets[w - 1].hi && l->nets[i].lo == l->nets[w - 1].lo) {
				l->nets[w - 1].deny |= l->nets[i].deny;
				continue;
			}
			l->nets[w++] = l->nets[i];
		}
		l->n = w;
	}
	qsort(a->lens, a->nlens, sizeof(*a->lens), len_cmp);
	return a;
fail:
	acl_free(a);
	errno = ENOMEM;
	return NULL;
}

void
acl_free(struct acl *a)
{
	uint32_t k;

	if (a == NULL)
		return;
	for (k = 0; k < a->nlens && a->lens != NULL; k++)
		free(a->lens[k].nets);
	free(a->lens);
	free(a);
}

int
acl_allows(const struct acl *a, const struct sockaddr *sa)
{
	uint8_t addr[16];

	if (sa->sa_family == AF_INET6) {
		memcpy(addr, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
	} else if (sa->sa_family == AF_INET) {
		memset(addr, 0, 10);
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else {
		return !a->has_allow;	/* a unix socket peer has no address to list */
	}
	return acl_allows16(a, addr);
}

int
acl_allows16(const struct acl *a, const uint8_t addr[16])
{
	const struct acl_len *l;
	struct acl_net key;
	uint32_t k, lo, hi, mid;

	for (k = 0; k < a->nlens; k++) {
		l = &a->lens[k];
		mask(addr, l->plen, &key.hi, &key.lo);
		lo = 0;
		hi = l->n;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (net_cmp(&l->nets[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < l->n && l->nets[lo].hi == key.hi && l->nets[lo].lo == key.lo)
			return !l->nets[lo].deny;
	}
	return !a->has_allow;
}

/* A configured network in IPv6 form: IPv4 as ::ffff:0:0/96 + the address. */
static void
to16(const struct cidr_conf *c, uint8_t out[16], uint8_t *plen)
{
	if (c->family == AF_INET) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, c->addr, 4);
		*plen = (uint8_t)(96 + (c->prefix > 32 ? 32 : c->prefix));
	} else {
		memcpy(out, c->addr, 16);
		*plen = c->prefix > 128 ? 128 : c->prefix;
	}
}

static void
mask(const uint8_t a[16], uint8_t plen, uint64_t *hi, uint64_t *lo)
{
	uint64_t h = 0, l = 0;
	int i;

	for (i = 0; i < 8; i++) {
		h = h << 8 | a[i];
		l = l << 8 | a[8 + i];
	}
	if (plen == 0) {
		h = l = 0;
	} else if (plen < 64) {
		h &= ~UINT64_C(0) << (64 - plen);
		l = 0;
	} else if (plen == 64) {
		l = 0;
	} else if (plen < 128) {
		l &= ~UINT64_C(0) << (128 - plen);
	}
	*hi = h;
	*lo = l;
}

static int
net_cmp(const void *x, const void *y)
{
	const struct acl_net *a = x, *b = y;

	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return 0;
}

/* Longest prefix first. */
static int
len_cmp(const void *x, const void *y)
{
	const struct acl_len *a = x, *b = y;

	return (int)b->plen - (int)a->plen;
}
