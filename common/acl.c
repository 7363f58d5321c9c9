/*
 * Access lists as one hash table of networks per prefix length, longest
 * first: a lookup masks the address to each length in turn and probes that
 * length's table; the first hit is the longest match.
 */
#include "common/acl.h"

#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* One network: the masked address as two 64-bit halves, and its action. */
struct acl_net {
	uint64_t	hi, lo;
	uint8_t		used;
	uint8_t		deny;
};

/*
 * The networks of one prefix length, in an open-addressing hash table of a
 * power-of-two size at least twice their number: a lookup masks the address
 * (two ANDs) and probes one or two slots.
 */
struct acl_len {
	uint8_t		 plen;		/* 0..128, in IPv6 terms */
	uint64_t	 mhi, mlo;	/* the mask */
	uint32_t	 n;
	uint32_t	 size_mask;	/* slots - 1 */
	struct acl_net	*slots;
};

struct acl {
	struct acl_len	*lens;		/* longest prefix first */
	uint32_t	 nlens;
	int		 has_allow;
};


static void	to16(const struct cidr_conf *c, uint8_t out[16], uint8_t *plen);
static void	split(const uint8_t a[16], uint64_t *hi, uint64_t *lo);
static void	mask_of(uint8_t plen, uint64_t *mhi, uint64_t *mlo);
static uint32_t	hash(uint64_t hi, uint64_t lo);
static int	insert(struct acl_len *l, uint64_t hi, uint64_t lo, int deny);


struct acl *
acl_build(const struct cidr_conf *allow, uint32_t nallow, const struct cidr_conf *deny,
    uint32_t ndeny)
{
	struct acl *a = calloc(1, sizeof(*a));
	uint32_t count[129] = { 0 }, i, k, n = nallow + ndeny, slots;
	struct acl_len *l;
	uint8_t addr[16], plen;
	uint64_t hi, lo;

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
	for (i = 129, k = 0; i-- > 0;) {
		if (count[i] == 0)
			continue;
		l = &a->lens[k++];
		l->plen = (uint8_t)i;
		mask_of(l->plen, &l->mhi, &l->mlo);
		for (slots = 4; slots < 2 * count[i]; slots <<= 1)
			;
		l->size_mask = slots - 1;
		if ((l->slots = calloc(slots, sizeof(*l->slots))) == NULL)
			goto fail;
	}
	for (i = 0; i < n; i++) {
		to16(i < nallow ? &allow[i] : &deny[i - nallow], addr, &plen);
		for (k = 0; a->lens[k].plen != plen; k++)
			;
		split(addr, &hi, &lo);
		insert(&a->lens[k], hi & a->lens[k].mhi, lo & a->lens[k].mlo, i >= nallow);
	}
	return a;
fail:
	acl_free(a);
	errno = ENOMEM;
	return NULL;
}

/* Adds a network; one listed twice keeps one slot, deny if either denies. */
static int
insert(struct acl_len *l, uint64_t hi, uint64_t lo, int deny)
{
	uint32_t i = hash(hi, lo) & l->size_mask;

	for (;; i = (i + 1) & l->size_mask) {
		struct acl_net *e = &l->slots[i];

		if (!e->used) {
			*e = (struct acl_net){ .hi = hi, .lo = lo, .used = 1, .deny = deny != 0 };
			l->n++;
			return 0;
		}
		if (e->hi == hi && e->lo == lo) {
			e->deny |= deny != 0;
			return 0;
		}
	}
}

void
acl_free(struct acl *a)
{
	uint32_t k;

	if (a == NULL)
		return;
	for (k = 0; k < a->nlens && a->lens != NULL; k++)
		free(a->lens[k].slots);
	free(a->lens);
	free(a);
}

int
acl_addr16(const struct sockaddr *sa, uint8_t out[16])
{
	memset(out, 0, 16);
	if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return 0;
	}
	if (sa->sa_family != AF_INET)
		return -1;
	out[10] = out[11] = 0xff;
	memcpy(out + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	return 0;
}

int
acl_allows(const struct acl *a, const struct sockaddr *sa)
{
	uint8_t addr[16];

	if (acl_addr16(sa, addr) == -1)
		return !a->has_allow;	/* a unix socket peer has no address to list */
	return acl_allows16(a, addr);
}

int
acl_allows16(const struct acl *a, const uint8_t addr[16])
{
	const struct acl_len *l;
	const struct acl_net *e;
	uint64_t hi, lo, mh, ml;
	uint32_t k, i;

	split(addr, &hi, &lo);
	for (k = 0; k < a->nlens; k++) {
		l = &a->lens[k];
		mh = hi & l->mhi;
		ml = lo & l->mlo;
		for (i = hash(mh, ml) & l->size_mask; (e = &l->slots[i])->used;
		    i = (i + 1) & l->size_mask)
			if (e->hi == mh && e->lo == ml)
				return !e->deny;
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

/* The 16 bytes as two big-endian 64-bit halves. */
static void
split(const uint8_t a[16], uint64_t *hi, uint64_t *lo)
{
	uint64_t h, l;

	memcpy(&h, a, 8);
	memcpy(&l, a + 8, 8);
	*hi = be64toh(h);
	*lo = be64toh(l);
}

static void
mask_of(uint8_t plen, uint64_t *mhi, uint64_t *mlo)
{
	*mhi = plen == 0 ? 0 : plen >= 64 ? ~UINT64_C(0) : ~UINT64_C(0) << (64 - plen);
	*mlo = plen <= 64 ? 0 : plen >= 128 ? ~UINT64_C(0) : ~UINT64_C(0) << (128 - plen);
}

/* Multiplicative mixing of both halves: the slot index is in the high bits. */
static uint32_t
hash(uint64_t hi, uint64_t lo)
{
	uint64_t h = (hi * 0x9e3779b97f4a7c15ULL) ^ (lo * 0xc2b2ae3d27d4eb4fULL);

	return (uint32_t)((h ^ (h >> 29)) >> 16);
}
