/*
 * Request path normalization for route matching: one pass over the path that
 * decodes, merges slashes and resolves dot segments as it writes.
 */
#include "common/urlpath.h"

#include <stdint.h>
#include <string.h>

static uint32_t	seg_end(char *out, uint32_t seg, uint32_t o);

/* One more than the value of a hex digit, either case; 0 for any other byte. */
static const uint8_t hexval[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
	['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

/* RFC 3986 §2.3 unreserved: the escapes that §6.2.2.2 says to decode. */
static const uint8_t unreserved[256] = {
	['A' ... 'Z'] = 1, ['a' ... 'z'] = 1, ['0' ... '9'] = 1,
	['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1,
};

static const char hexup[16] = "0123456789ABCDEF";

/*
 * The segment out[seg..o) has just ended (out[seg - 1] is '/'). Returns the
 * new end of the output: a "." segment is dropped, a ".." segment drops
 * itself and the segment before it (keeping that one's leading '/'), and
 * anything else stays.
 */
static uint32_t
seg_end(char *out, uint32_t seg, uint32_t o)
{
	if (o - seg == 1 && out[seg] == '.')
		return seg;
	if (o - seg == 2 && out[seg] == '.' && out[seg + 1] == '.') {
		if (seg == 1)
			return 1;
		/* out[0] is '/', so the walk stops at 1 at the latest */
		for (o = seg - 1; out[o - 1] != '/'; o--)
			;
		return o;
	}
	return o;
}

/* urlpath_is_normal(): the bytes that may start a change, and the query. */
enum { PN_PLAIN = 0, PN_PCT, PN_SLASH, PN_QUERY };
static const uint8_t pn_class[256] = { ['%'] = PN_PCT, ['/'] = PN_SLASH, ['?'] = PN_QUERY };

int
urlpath_is_normal(const char *in, uint32_t len)
{
	uint32_t i;

	if (len == 0 || in[0] != '/')
		return 0;
	for (i = 0; i < len; i++) {
		switch (pn_class[(unsigned char)in[i]]) {
		case PN_PLAIN:
			continue;
		case PN_QUERY:
			return 1;
		case PN_PCT:
			return 0;
		default:	/* '/': "//" or a possible dot segment */
			if (i + 1 < len && (in[i + 1] == '/' || in[i + 1] == '.'))
				return 0;
		}
	}
	return 1;
}

int
urlpath_normalize(const char *in, uint32_t len, char *out, uint32_t cap)
{
	const char *qm;
	uint32_t plen, i, o, n, seg;
	unsigned hi, lo, v;

	if (len > INT32_MAX || cap < len)
		return URLPATH_TOOLONG;
	if (len == 0)
		return 0;
	if (in[0] != '/') {
		memmove(out, in, len);
		return (int)len;
	}
	qm = memchr(in, '?', len);
	plen = qm != NULL ? (uint32_t)(qm - in) : len;

	/*
	 * Invariants: out[0..o) is the normalized path so far, out[seg - 1] is
	 * '/', and o <= i (every input byte gives at most one output byte, an
	 * escape at most three for its three), which is what makes in == out
	 * safe: a byte is always read before its place is written.
	 */
	out[0] = '/';
	o = seg = 1;
	for (i = 1; i < plen; ) {
		unsigned char c = (unsigned char)in[i];

		if (c == '/') {
			i++;
			if (o == seg)
				continue;	/* empty segment: merge the slashes */
			n = seg_end(out, seg, o);
			if (n == o)
				out[o++] = '/';
			else
				o = n;		/* a dot segment: already after a '/' */
			seg = o;
			continue;
		}
		if (c != '%') {
			out[o++] = (char)c;
			i++;
			continue;
		}
		if (plen - i < 3)
			return URLPATH_BAD_ESCAPE;
		hi = hexval[(unsigned char)in[i + 1]];
		lo = hexval[(unsigned char)in[i + 2]];
		if (hi == 0 || lo == 0)
			return URLPATH_BAD_ESCAPE;
		hi--;
		lo--;
		i += 3;
		v = hi << 4 | lo;
		if (unreserved[v]) {
			out[o++] = (char)v;
		} else if (v == '/') {
			return URLPATH_ENCODED_SLASH;
		} else if (v == 0) {
			return URLPATH_ENCODED_NUL;
		} else {
			out[o++] = '%';
			out[o++] = hexup[hi];
			out[o++] = hexup[lo];
		}
	}
	/* a trailing dot segment leaves the '/' before it: "/a/.." is "/" */
	o = seg_end(out, seg, o);

	memmove(out + o, in + plen, len - plen);
	return (int)(o + len - plen);
}

const char *
urlpath_error_text(int code)
{
	switch (code) {
	case URLPATH_BAD_ESCAPE:
		return "malformed percent-escape in path";
	case URLPATH_ENCODED_SLASH:
		return "encoded slash (%2F) in path";
	case URLPATH_ENCODED_NUL:
		return "encoded NUL (%00) in path";
	case URLPATH_TOOLONG:
		return "normalized path does not fit";
	default:
		return code >= 0 ? "no error" : "unknown path error";
	}
}
