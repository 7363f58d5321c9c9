/*
 * HTTP/1.1 message head parser and chunked-body scanner (RFC 9112).
 * Parses in place: every string is a (pointer, length) view into the
 * caller's buffer, valid until the caller mutates that buffer.
 */
#ifndef SLUICE_HTTP1_H
#define SLUICE_HTTP1_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
	HTTP1_BAD = -1,		/* malformed; see ->status for the answer to give */
	HTTP1_PARTIAL = -2,	/* need more bytes */
};

struct http1_str {
	const char	*p;
	uint32_t	 len;
};

struct http1_header {
	struct http1_str name;
	struct http1_str value;	/* leading/trailing OWS stripped */
	struct http1_str line;	/* whole field line including its CRLF (or LF) */
};

enum http1_method {
	HTTP1_M_OTHER = 0,
	HTTP1_M_GET,
	HTTP1_M_HEAD,
	HTTP1_M_POST,
	HTTP1_M_PUT,
	HTTP1_M_DELETE,
	HTTP1_M_OPTIONS,
	HTTP1_M_TRACE,
	HTTP1_M_CONNECT,
	HTTP1_M_PATCH,
	HTTP1_M__COUNT
};

/* Framing and connection facts derived from the head, shared by both kinds. */
#define HTTP1_F_CHUNKED		0x0001u	/* Transfer-Encoding final coding is chunked */
#define HTTP1_F_CLEN		0x0002u	/* a valid Content-Length was present */
#define HTTP1_F_CONN_CLOSE	0x0004u	/* Connection: close */
#define HTTP1_F_CONN_KEEPALIVE	0x0008u	/* Connection: keep-alive */
#define HTTP1_F_CONN_UPGRADE	0x0010u	/* Connection: upgrade */
#define HTTP1_F_EXPECT_CONTINUE	0x0020u	/* Expect: 100-continue */
#define HTTP1_F_HAS_HOST	0x0040u	/* exactly one Host field (->host) */
#define HTTP1_F_UPGRADE_HDR	0x0080u	/* an Upgrade field is present */
#define HTTP1_F_EMPTY_PATH	0x0100u	/* absolute-form "http://h?q": ->path is "?q", send "/" first */
#define HTTP1_F_VIA		0x0400u	/* a Via field is present */
#define HTTP1_F_CONN_OTHER	0x0800u	/* Connection names a field other than close,
					 * keep-alive, upgrade (to be removed by a proxy) */
#define HTTP1_F_CLEN_LIST	0x0200u	/* Content-Length was a list ("4, 4") or repeated: a proxy
					 * forwards one normalized field (RFC 9110 §8.6) */

struct http1_limits {
	uint32_t	max_request_line;	/* bytes, request line without CRLF */
	uint32_t	max_header_size;	/* bytes, whole head incl. request line */
	uint32_t	max_headers;		/* field lines; <= capacity given */
};

struct http1_req {
	struct http1_str	 method;
	enum http1_method	 meth;
	struct http1_str	 target;	/* request target as sent */
	struct http1_str	 path;		/* origin-form path+query (absolute-form: after authority) */
	struct http1_str	 host;		/* Host field value, or authority of absolute-form */
	struct http1_str	 line;		/* request line including its line ending */
	int			 minor;		/* HTTP/1.<minor>: 0 or 1 */
	uint32_t		 flags;		/* HTTP1_F_* */
	uint64_t		 content_length;	/* valid if HTTP1_F_CLEN */
	uint32_t		 head_len;	/* bytes of the head incl. the empty line */
	uint32_t		 nheaders;
	struct http1_header	*headers;	/* caller's array, see http1_parse_req() */
	int			 status;	/* on HTTP1_BAD: 400, 414, 431, 501, 505 */
	const char		*error;		/* on HTTP1_BAD: static reason text */
};

struct http1_resp {
	int			 minor;
	int			 status;	/* 100..999 */
	struct http1_str	 reason;
	struct http1_str	 line;		/* status line including its line ending */
	uint32_t		 flags;		/* HTTP1_F_* */
	uint64_t		 content_length;	/* valid if HTTP1_F_CLEN */
	int			 keepalive_timeout;	/* Keep-Alive: timeout=N, -1 if absent */
	uint32_t		 head_len;
	uint32_t		 nheaders;
	struct http1_header	*headers;
	const char		*error;		/* on HTTP1_BAD: static reason text */
};

/*
 * Parses a request head at the start of buf[0..len).
 * hdrs/max_hdrs: caller's array, filled in order.
 * Returns the head length (> 0) once the empty line is seen, HTTP1_PARTIAL if
 * more bytes are needed (and no limit is exceeded yet), or HTTP1_BAD with
 * req->status (400/414/431/501/505) and req->error set. Leading empty lines
 * before the request line (RFC 9112 §2.2) are skipped and counted in the
 * return value; req->line starts after them. Stateless: call again on the
 * grown buffer.
 */
int	http1_parse_req(const char *buf, size_t len, const struct http1_limits *lim,
	    struct http1_req *req, struct http1_header *hdrs, uint32_t max_hdrs);

/*
 * Parses a response head from a backend. Same return convention as
 * http1_parse_req(); a head over max_head bytes is HTTP1_BAD.
 */
int	http1_parse_resp(const char *buf, size_t len, uint32_t max_head,
	    struct http1_resp *resp, struct http1_header *hdrs, uint32_t max_hdrs);

/* Chunked body scanner: incremental, resumable across any split. */
struct http1_chunked {
	uint32_t	state;		/* internal; 0 = start */
	uint32_t	ndigits;	/* internal */
	uint64_t	remaining;	/* bytes left in the current chunk's data */
	uint64_t	total;		/* payload bytes consumed so far (chunk data only) */
	int		done;		/* 1 once the last chunk and trailers are consumed */
};

/*
 * Feeds buf[0..len) to the scanner. Returns bytes consumed (>= 0; stops right
 * after the final CRLF when the body ends, so pipelined bytes that follow are
 * not consumed), or HTTP1_BAD on a malformed chunk size or framing. If data is
 * not NULL, *data and *data_len are set to one contiguous span of payload bytes
 * within the consumed range (data_len 0 if none): a caller that de-chunks
 * calls again on the rest.
 */
ssize_t	http1_chunked_feed(struct http1_chunked *c, const char *buf, size_t len,
	    const char **data, size_t *data_len);

/* Case-insensitive equality of n bytes (ASCII letters only fold). */
int	http1_caseeq(const char *a, const char *b, size_t n);

/*
 * Case-insensitive comparison of a view with a NUL-terminated string.
 * Inline so that a literal's length is a constant and most mismatches cost
 * one compare (header classification calls this many times per request).
 */
static inline int
http1_str_eq(struct http1_str s, const char *lit)
{
	size_t n = __builtin_strlen(lit);

	return s.len == n && http1_caseeq(s.p, lit, n);
}

/* Finds the first header named name (case-insensitive); NULL if none. */
const struct http1_header *http1_find(const struct http1_header *h, uint32_t n,
	    const char *name);

#endif
