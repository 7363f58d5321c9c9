/*
 * Helpers shared by the libFuzzer harnesses: invariant checks that stop the
 * run with a message, exact-size copies (so ASan sees any overread), and the
 * field-line checks that requests and responses have in common.
 */
#ifndef SLUICE_FUZZ_H
#define SLUICE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/http1.h"

/*
 * A violated invariant is a bug in the code under test: say which one, then
 * abort so that libFuzzer saves the input as a crash-* file.
 */
#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: invariant violated: %s\n", \
			    __FILE__, __LINE__, #cond);			\
			abort();					\
		}							\
	} while (0)

/* Exact-size heap copy of a[0..alen) + b[0..blen); never NULL (aborts). */
static inline char *
fuzz_dup2(const void *a, size_t alen, const void *b, size_t blen)
{
	char *p;

	/* malloc(0) may return NULL; one spare byte is never read by the parser */
	if ((p = malloc(alen + blen > 0 ? alen + blen : 1)) == NULL)
		abort();
	if (alen > 0)
		memcpy(p, a, alen);
	if (blen > 0)
		memcpy(p + alen, b, blen);
	return p;
}

/* 1 if the view is empty-at-NULL or lies inside buf[0..len). */
static inline int
fuzz_in(struct http1_str s, const char *buf, size_t len)
{
	if (s.p == NULL)
		return s.len == 0;
	return s.p >= buf && s.p <= buf + len && s.len <= (size_t)(buf + len - s.p);
}

/* Offset of a view in buf, -1 for NULL, -2 for a pointer outside buf. */
static inline long
fuzz_off(struct http1_str s, const char *buf, size_t len)
{
	if (s.p == NULL)
		return -1;
	if (!fuzz_in(s, buf, len))
		return -2;
	return (long)(s.p - buf);
}

/* Same offset and length in two parses of two copies of the same bytes. */
static inline int
fuzz_same(struct http1_str a, const char *abuf, size_t alen, struct http1_str b,
    const char *bbuf, size_t blen)
{
	return a.len == b.len && fuzz_off(a, abuf, alen) == fuzz_off(b, bbuf, blen) &&
	    (fuzz_off(a, abuf, alen) != -2 || a.p == b.p);
}

/* RFC 9110 §5.6.2 tchar, written out again rather than borrowed from http1.c. */
static inline int
fuzz_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/*
 * A head that parsed, [s, e): no NUL, and CR and LF appear only as CRLF.
 * Anything else is a line ending a later hop could read differently.
 */
static inline void
fuzz_check_crlf(const char *s, const char *e)
{
	const char *p;

	for (p = s; p < e; p++) {
		CHECK(*p != '\0');
		if (*p == '\r')
			CHECK(p + 1 < e && p[1] == '\n');
		if (*p == '\n')
			CHECK(p > s && p[-1] == '\r');
	}
}

/*
 * The field lines of a parsed head: back to back from first to the final
 * empty line at end, each "name:value CRLF" with a token name and a value
 * that has no CTL other than HTAB and no leading or trailing OWS.
 */
static inline void
fuzz_check_fields(const struct http1_header *h, uint32_t n, const char *first,
    const char *end)
{
	const char *p = first;
	uint32_t i, j;

	for (i = 0; i < n; i++) {
		CHECK(h[i].line.p == p && h[i].name.p == p);
		CHECK(h[i].line.len >= h[i].name.len + 3);
		CHECK(h[i].line.len <= (size_t)(end - p));
		CHECK(h[i].name.len > 0 && p[h[i].name.len] == ':');
		for (j = 0; j < h[i].name.len; j++)
			CHECK(fuzz_tchar((unsigned char)h[i].name.p[j]));
		CHECK(h[i].value.p >= p + h[i].name.len + 1);
		CHECK(h[i].value.p + h[i].value.len <= p + h[i].line.len - 2);
		for (j = 0; j < h[i].value.len; j++) {
			unsigned char c = (unsigned char)h[i].value.p[j];

			CHECK((c >= 0x20 || c == '\t') && c != 0x7f);
		}
		if (h[i].value.len > 0) {
			CHECK(h[i].value.p[0] != ' ' && h[i].value.p[0] != '\t');
			CHECK(h[i].value.p[h[i].value.len - 1] != ' ' &&
			    h[i].value.p[h[i].value.len - 1] != '\t');
		}
		CHECK(memcmp(p + h[i].line.len - 2, "\r\n", 2) == 0);
		p += h[i].line.len;
	}
	CHECK(end - p == 2 && p[0] == '\r' && p[1] == '\n');
}

/* Case-insensitive name test, independent of http1_str_eq(). */
static inline int
fuzz_name_is(struct http1_str s, const char *lit)
{
	size_t i, n = strlen(lit);

	if (s.len != n)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char a = (unsigned char)s.p[i], b = (unsigned char)lit[i];

		if (a >= 'A' && a <= 'Z')
			a = (unsigned char)(a + 32);
		if (a != b)
			return 0;
	}
	return 1;
}

/*
 * Reference Content-Length check: every element of every Content-Length
 * field is 1-19 digits, at most INT64_MAX, and equal to want.
 */
static inline int
fuzz_clen_ok(const struct http1_header *h, uint32_t n, uint64_t want)
{
	uint32_t i, j;

	for (i = 0; i < n; i++) {
		const char *p, *e;

		if (!fuzz_name_is(h[i].name, "content-length"))
			continue;
		p = h[i].value.p;
		e = p + h[i].value.len;
		for (;;) {
			uint64_t v = 0;
			unsigned nd = 0;

			while (p < e && (*p == ' ' || *p == '\t'))
				p++;
			for (j = 0; p < e && *p >= '0' && *p <= '9'; p++, j++) {
				if (v > (UINT64_C(0x7fffffffffffffff) - (uint64_t)(*p - '0')) / 10)
					return 0;
				v = v * 10 + (uint64_t)(*p - '0');
				nd++;
			}
			while (p < e && (*p == ' ' || *p == '\t'))
				p++;
			if (nd == 0 || v != want)
				return 0;
			if (p == e)
				break;
			if (*p++ != ',')
				return 0;
		}
	}
	return 1;
}

/* Number of fields named name. */
static inline uint32_t
fuzz_count(const struct http1_header *h, uint32_t n, const char *name)
{
	uint32_t i, k = 0;

	for (i = 0; i < n; i++)
		if (fuzz_name_is(h[i].name, name))
			k++;
	return k;
}

/* Small deterministic PRNG (xorshift32) for split points and piece sizes. */
static inline uint32_t
fuzz_rand(uint32_t *s)
{
	uint32_t x = *s != 0 ? *s : 0x9e3779b9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

/* Seed from the first bytes of the input (FNV-1a over up to 4 bytes). */
static inline uint32_t
fuzz_seed(const uint8_t *data, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len && i < 4; i++)
		h = (h ^ data[i]) * 16777619u;
	return h ^ (uint32_t)len;
}

#endif
