/*
 * Request path normalization (RFC 3986 §6.2.2) for route matching: the
 * path a route sees is the one a backend that decodes and resolves it sees.
 */
#ifndef SLUICE_URLPATH_H
#define SLUICE_URLPATH_H

#include <stdint.h>

enum {
	URLPATH_BAD_ESCAPE = -1,	/* '%' not followed by two hex digits */
	URLPATH_ENCODED_SLASH = -2,	/* %2F or %2f in the path */
	URLPATH_ENCODED_NUL = -3,	/* %00 in the path */
	URLPATH_TOOLONG = -4,		/* cap < len, or len > INT32_MAX */
};

/*
 * Normalizes the request target in[0..len) into out[0..cap) and returns the
 * length written (>= 0), or one of the negative URLPATH_* codes (out then
 * holds garbage). out is not NUL-terminated.
 *
 * The path is in[0] up to the first '?' (or len). In it, in this order:
 *  - %XX of an unreserved character (ALPHA DIGIT - . _ ~) is decoded, any
 *    other %XX keeps its escape with uppercase hex digits; %2F and %00 (any
 *    case) are rejected, as is a '%' not followed by two hex digits;
 *  - runs of '/' become one '/';
 *  - "." and ".." segments are removed (RFC 3986 §5.2.4), also when their
 *    dots were escaped; ".." above the root stays at the root ("/.." is "/");
 *    a path that ended in a dot segment or in '/' ends in '/'.
 * The query, from the first '?', is copied as is and never checked.
 * A target that does not start with '/' (asterisk-form "*", or empty) is
 * copied unchanged. Other bytes, raw or escaped, are passed through: the
 * HTTP parser has already refused what is not allowed in a target.
 *
 * The output is never longer than the input, and cap < len returns
 * URLPATH_TOOLONG whatever the input, so a cap >= len always suffices and the
 * result never depends on cap otherwise. Normalizing the output again gives
 * the same output. out may be in itself (in-place), but must not otherwise
 * overlap it. One pass, no allocation, no locale, thread-safe.
 */
int	urlpath_normalize(const char *in, uint32_t len, char *out, uint32_t cap);

/*
 * 1 if urlpath_normalize() would return in[0..len) unchanged for sure: the
 * path (up to '?') starts with '/' and has no '%', no "//" and no "/."
 * (which may be a dot segment). 0 means "maybe not": normalize. One cheap
 * pass, for the common case of a path that is already normal.
 */
int	urlpath_is_normal(const char *in, uint32_t len);

/* A short static description of a URLPATH_* code, for log lines. */
const char *urlpath_error_text(int code);

#endif
