/*
 * libFuzzer harness for urlpath_normalize(): the result agrees with a slow
 * reference written from RFC 3986 §5.2.4 and §6.2.2, never grows, is a fixed
 * point, is the same in place, and its path has no "//", dot segment or
 * needless escape left for a route to be fooled by.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/urlpath.h"
#include "tests/fuzz/fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static int	hexv(unsigned char c);
static int	is_unreserved(unsigned char c);
static int	reference(const char *in, size_t len, char *out);
static void	check_path(const char *p, size_t len);
static void	check_one(const char *in, size_t len);

static int
hexv(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
is_unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~';
}

/*
 * The slow way, one step at a time: decode the path into a copy, split it
 * into segments, drop the empty and "." ones, let ".." pop, join, and put
 * the query back. out has room for len bytes. Returns the length or a code.
 */
static int
reference(const char *in, size_t len, char *out)
{
	const char *qm;
	char *dec, **seg;
	size_t *seglen, plen, i, d = 0, o = 0, n = 0, s, e;
	int trailing = 0, dot, dotdot, hi, lo, v;

	if (len == 0 || in[0] != '/') {
		memcpy(out, in, len);
		return (int)len;
	}
	qm = memchr(in, '?', len);
	plen = qm != NULL ? (size_t)(qm - in) : len;
	dec = malloc(plen);
	seg = malloc(sizeof(*seg) * plen);
	seglen = malloc(sizeof(*seglen) * plen);
	if (dec == NULL || seg == NULL || seglen == NULL)
		abort();

	/* §6.2.2.1 and §6.2.2.2, with our rejections */
	for (i = 0; i < plen; i++) {
		if (in[i] != '%') {
			dec[d++] = in[i];
			continue;
		}
		if (i + 2 >= plen || (hi = hexv((unsigned char)in[i + 1])) < 0 ||
		    (lo = hexv((unsigned char)in[i + 2])) < 0) {
			free(dec);
			free(seg);
			free(seglen);
			return URLPATH_BAD_ESCAPE;
		}
		v = hi * 16 + lo;
		if (v == '/' || v == 0) {
			free(dec);
			free(seg);
			free(seglen);
			return v == '/' ? URLPATH_ENCODED_SLASH : URLPATH_ENCODED_NUL;
		}
		if (is_unreserved((unsigned char)v)) {
			dec[d++] = (char)v;
		} else {
			dec[d++] = '%';
			dec[d++] = "0123456789ABCDEF"[hi];
			dec[d++] = "0123456789ABCDEF"[lo];
		}
		i += 2;
	}

	/* merged slashes, then §5.2.4 on whole segments (raw NULs may occur) */
	for (s = 1; s <= d; s = e + 1) {
		for (e = s; e < d && dec[e] != '/'; e++)
			;
		dot = e - s == 1 && dec[s] == '.';
		dotdot = e - s == 2 && dec[s] == '.' && dec[s + 1] == '.';
		trailing = e == s || dot || dotdot;
		if (dotdot) {
			if (n > 0)
				n--;
		} else if (!trailing) {
			seg[n] = dec + s;
			seglen[n++] = e - s;
		}
	}
	for (i = 0; i < n; i++) {
		out[o++] = '/';
		memcpy(out + o, seg[i], seglen[i]);
		o += seglen[i];
	}
	if (n == 0 || trailing)
		out[o++] = '/';
	memcpy(out + o, in + plen, len - plen);
	free(dec);
	free(seg);
	free(seglen);
	return (int)(o + len - plen);
}

/* What a normalized path (before any '?') may not contain. */
static void
check_path(const char *p, size_t len)
{
	size_t i;
	int hi, lo;

	CHECK(len >= 1 && p[0] == '/');
	for (i = 0; i + 1 < len; i++)
		CHECK(!(p[i] == '/' && p[i + 1] == '/'));
	for (i = 0; i < len; i++) {
		if (p[i] != '/')
			continue;
		/* no "." or ".." segment, in the middle or at the end */
		if (i + 1 < len && p[i + 1] == '.')
			CHECK(!(i + 2 == len || p[i + 2] == '/' ||
			    (p[i + 2] == '.' && (i + 3 == len || p[i + 3] == '/'))));
	}
	for (i = 0; i < len; i++) {
		if (p[i] != '%')
			continue;
		CHECK(i + 2 < len);
		hi = hexv((unsigned char)p[i + 1]);
		lo = hexv((unsigned char)p[i + 2]);
		CHECK(hi >= 0 && lo >= 0);
		/* hex digits uppercase */
		CHECK(!(p[i + 1] >= 'a' && p[i + 1] <= 'f'));
		CHECK(!(p[i + 2] >= 'a' && p[i + 2] <= 'f'));
		CHECK(!is_unreserved((unsigned char)(hi * 16 + lo)));
		CHECK(hi * 16 + lo != '/' && hi * 16 + lo != 0);
	}
}

static void
check_one(const char *in, size_t len)
{
	char *out, *ref, *again, *inplace;
	const char *iq, *oq;
	size_t plen, olen;
	int r, r2;

	if (len > 65536)
		return;
	out = fuzz_dup2(in, len, NULL, 0);
	ref = fuzz_dup2(in, len, NULL, 0);
	inplace = fuzz_dup2(in, len, NULL, 0);

	r = urlpath_normalize(in, (uint32_t)len, out, (uint32_t)len);
	CHECK(r >= 0 || r == URLPATH_BAD_ESCAPE || r == URLPATH_ENCODED_SLASH ||
	    r == URLPATH_ENCODED_NUL);
	CHECK(urlpath_error_text(r) != NULL);
	CHECK(reference(in, len, ref) == r);
	/* a buffer one byte short is refused, whatever the input */
	if (len > 0)
		CHECK(urlpath_normalize(in, (uint32_t)len, out, (uint32_t)len - 1) ==
		    URLPATH_TOOLONG);
	r2 = urlpath_normalize(inplace, (uint32_t)len, inplace, (uint32_t)len);
	CHECK(r2 == r);

	/* the run that was refused above wrote into out: do the real one again */
	r = urlpath_normalize(in, (uint32_t)len, out, (uint32_t)len);
	if (r >= 0) {
		olen = (size_t)r;
		CHECK(olen <= len);
		CHECK(memcmp(out, ref, olen) == 0);
		CHECK(memcmp(inplace, out, olen) == 0);
		if (len == 0 || in[0] != '/') {
			CHECK(olen == len && memcmp(out, in, len) == 0);
		} else {
			/* the query is the input's, byte for byte */
			iq = memchr(in, '?', len);
			oq = memchr(out, '?', olen);
			plen = oq != NULL ? (size_t)(oq - out) : olen;
			CHECK((iq == NULL) == (oq == NULL));
			if (iq != NULL)
				CHECK(olen - plen == len - (size_t)(iq - in) &&
				    memcmp(oq, iq, olen - plen) == 0);
			check_path(out, plen);
		}
		/* a fixed point: normalizing again changes nothing */
		again = fuzz_dup2(out, olen, NULL, 0);
		r2 = urlpath_normalize(out, (uint32_t)olen, again, (uint32_t)olen);
		CHECK(r2 == r && memcmp(again, out, olen) == 0);
		free(again);
	}
	free(out);
	free(ref);
	free(inplace);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *p;

	/* as is (mostly not origin-form), and as a path */
	check_one((const char *)data, len);
	p = fuzz_dup2("/", 1, data, len);
	check_one(p, len + 1);
	free(p);
	return 0;
}
