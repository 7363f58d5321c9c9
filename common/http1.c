/*
 * HTTP/1.1 head parser and chunked-body scanner (RFC 9112, RFC 9110).
 * Strict on purpose: whatever a later hop could read differently is refused,
 * because a proxy must never forward an ambiguous message.
 */
#include "http1.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

/* RFC 9112 §2.2 asks to skip "at least one" empty line; a few is plenty. */
#define MAX_EMPTY_LINES	8
/* A chunk size has at most 16 hex digits (leading zeros included). */
#define MAX_CHUNK_DIGITS	16

/* Parse context: where errors go while the head is being scanned. */
struct pctx {
	int		 status;
	const char	*error;
};

/* Facts derived from the header fields, common to requests and responses. */
struct facts {
	uint32_t		flags;
	uint64_t		clen;
	int			ka_timeout;
	uint32_t		nhost;
	struct http1_str	host;	/* value of the last Host field */
};

enum chunk_state {
	CH_SIZE = 0,		/* hex digits of chunk-size */
	CH_SIZE_BWS,		/* whitespace after the size, before ';' */
	CH_EXT,			/* chunk extensions, skipped up to CR */
	CH_SIZE_LF,		/* LF ending the chunk-size line */
	CH_DATA,		/* chunk data, ->remaining bytes left */
	CH_DATA_CR,		/* CR after chunk data */
	CH_DATA_LF,		/* LF after chunk data */
	CH_TRL_START,		/* first byte of a trailer line or final CR */
	CH_TRL_NAME,		/* trailer field name, up to its colon */
	CH_TRL_LINE,		/* inside a trailer field line */
	CH_TRL_LF,		/* LF ending a trailer field line */
	CH_LAST_LF,		/* LF of the empty line ending the body */
	CH_DONE,
	CH_ERROR,		/* sticky: framing was bad */
	CH__COUNT
};

static int	fail(struct pctx *, int, const char *);
static inline int	is_tchar(unsigned char);
static int	is_digit(unsigned char);
static int	is_alpha(unsigned char);
static int	hex_val(unsigned char);
static int	is_regname_char(unsigned char);
static int	is_token(struct http1_str);
static int	lower(unsigned char);
static struct http1_str	view(const char *, const char *);
static struct http1_str	trim_ows(const char *, const char *);
static const char	*list_next(const char *, const char *, struct http1_str *);
static enum http1_method	method_lookup(struct http1_str);
static int	host_valid(struct http1_str, int);
static int	parse_digits(struct http1_str, uint64_t *);
static int	parse_clen(struct http1_str, uint64_t *, int *);
static int	parse_ka_timeout(struct http1_str);
static int	parse_version(struct pctx *, const char **, const char *, int, int *,
		    int);
static int	check_target_start(struct pctx *, const struct http1_req *, unsigned char);
static int	parse_target(struct pctx *, struct http1_req *);
static int	parse_reqline(struct pctx *, const char *, const char *, int,
		    struct http1_req *);
static int	parse_statusline(struct pctx *, const char *, const char *, int,
		    struct http1_resp *);
static int	parse_field(struct pctx *, const char **, const char *,
		    struct http1_header *);
static int	parse_fields(struct pctx *, const char **, const char *, struct http1_header *,
		    uint32_t, uint32_t *, int);
static int	derive(struct pctx *, const struct http1_header *, uint32_t, int, int,
		    struct facts *);
static int	parse_req_head(struct pctx *, const char *, const char *,
		    const struct http1_limits *, struct http1_req *, struct http1_header *,
		    uint32_t);
static int	parse_resp_head(struct pctx *, const char *, const char *,
		    struct http1_resp *, struct http1_header *, uint32_t);

/* Absolute-form without a path means "/" (RFC 9112 §3.2.2); not in buf. */
static const char root_path[] = "/";

static int
fail(struct pctx *x, int status, const char *msg)
{
	x->status = status;
	x->error = msg;
	return HTTP1_BAD;
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* RFC 9110 §5.6.2 tchar, as a table: every header name byte goes through it. */
static const unsigned char tchar_tab[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
	['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
	['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
	['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
	['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
	['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
	['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
};

static inline int
is_tchar(unsigned char c)
{
	return tchar_tab[c];
}

static int
hex_val(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	c = (unsigned char)lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * RFC 3986 reg-name characters (unreserved, '%', sub-delims) minus ',':
 * a comma in Host is never legitimate and hints at merged duplicate fields.
 */
static int
is_regname_char(unsigned char c)
{
	if (is_alpha(c) || is_digit(c))
		return 1;
	return c != '\0' && strchr("-._~%!$&'()*+;=", c) != NULL;
}

static int
is_token(struct http1_str s)
{
	uint32_t i;

	if (s.len == 0)
		return 0;
	for (i = 0; i < s.len; i++)
		if (!is_tchar((unsigned char)s.p[i]))
			return 0;
	return 1;
}

static struct http1_str
view(const char *s, const char *e)
{
	struct http1_str v = { s, (uint32_t)(e - s) };

	return v;
}

static struct http1_str
trim_ows(const char *s, const char *e)
{
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	return view(s, e);
}

/*
 * Splits a comma-separated list (RFC 9110 §5.6.1): stores the next element,
 * OWS-trimmed and possibly empty, in *e. Returns where the following element
 * starts, or NULL after the last one. Quoted strings are not special, which
 * is fine for the fields we read (tokens and digits only).
 */
static const char *
list_next(const char *p, const char *end, struct http1_str *e)
{
	const char *comma;

	comma = memchr(p, ',', (size_t)(end - p));
	*e = trim_ows(p, comma != NULL ? comma : end);
	return comma != NULL ? comma + 1 : NULL;
}

/* Method names are case-sensitive (RFC 9110 §9.1). */
static enum http1_method
method_lookup(struct http1_str m)
{
	static const struct {
		const char		*name;
		enum http1_method	 meth;
	} tab[] = {
		{ "GET", HTTP1_M_GET },		{ "HEAD", HTTP1_M_HEAD },
		{ "POST", HTTP1_M_POST },	{ "PUT", HTTP1_M_PUT },
		{ "DELETE", HTTP1_M_DELETE },	{ "OPTIONS", HTTP1_M_OPTIONS },
		{ "TRACE", HTTP1_M_TRACE },	{ "CONNECT", HTTP1_M_CONNECT },
		{ "PATCH", HTTP1_M_PATCH },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strlen(tab[i].name) == m.len && memcmp(tab[i].name, m.p, m.len) == 0)
			return tab[i].meth;
	return HTTP1_M_OTHER;
}

/*
 * Checks uri-host [ ":" port ] (RFC 9110 §7.2). An empty value is accepted
 * (RFC 9110 allows an empty Host); a port, when present, is 1-5 digits up
 * to 65535. need_port is for CONNECT's authority-form. Returns 1 if valid.
 */
static int
host_valid(struct http1_str h, int need_port)
{
	const char *p = h.p, *end = h.p + h.len, *hs;
	uint64_t port;

	if (h.len == 0)
		return !need_port;
	if (*p == '[') {
		/* IP-literal: loose IPv6 check, IPvFuture is not accepted. */
		int colons = 0;

		for (p++; p < end && *p != ']'; p++) {
			if (*p == ':')
				colons++;
			else if (hex_val((unsigned char)*p) < 0 && *p != '.')
				return 0;
		}
		if (p == end || colons < 2)
			return 0;
		p++;
	} else {
		for (hs = p; p < end && *p != ':'; p++) {
			if (!is_regname_char((unsigned char)*p))
				return 0;
			if (*p == '%' && (end - p < 3 || hex_val((unsigned char)p[1]) < 0 ||
			    hex_val((unsigned char)p[2]) < 0))
				return 0;
		}
		if (p == hs)
			return 0;
	}
	if (p == end)
		return !need_port;
	if (*p != ':' || end - p - 1 < 1 || end - p - 1 > 5)
		return 0;
	if (parse_digits(view(p + 1, end), &port) == -1 || port > 65535)
		return 0;
	return 1;
}

/* Non-empty run of decimal digits fitting in 63 bits. Returns 0 or -1. */
static int
parse_digits(struct http1_str s, uint64_t *out)
{
	uint64_t v = 0;
	uint32_t i;

	if (s.len == 0)
		return -1;
	for (i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];

		if (!is_digit(c))
			return -1;
		if (v > ((uint64_t)INT64_MAX - (c - '0')) / 10)
			return -1;
		v = v * 10 + (c - '0');
	}
	*out = v;
	return 0;
}

/*
 * Content-Length value: digits, or a list of identical digits ("5, 5"), the
 * one leniency RFC 9110 §8.6 allows. Returns 0 or -1.
 */
static int
parse_clen(struct http1_str v, uint64_t *out, int *elems)
{
	const char *p = v.p, *end = v.p + v.len;
	struct http1_str e;
	uint64_t n, first = 0;
	int seen = 0;

	while (p != NULL) {
		p = list_next(p, end, &e);
		if (parse_digits(e, &n) == -1)
			return -1;
		if (seen && n != first)
			return -1;
		first = n;
		seen++;
	}
	*out = first;
	*elems = seen;
	return 0;
}

/* "timeout=N" from a Keep-Alive value; -1 if absent or not digits. */
static int
parse_ka_timeout(struct http1_str v)
{
	const char *p = v.p, *end = v.p + v.len, *eq;
	struct http1_str e;
	uint64_t n;

	while (p != NULL) {
		p = list_next(p, end, &e);
		eq = memchr(e.p, '=', e.len);
		if (eq == NULL || !http1_str_eq(trim_ows(e.p, eq), "timeout"))
			continue;
		if (parse_digits(trim_ows(eq + 1, e.p + e.len), &n) == -1)
			return -1;
		return n > INT_MAX ? INT_MAX : (int)n;
	}
	return -1;
}

/*
 * HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive. On success *pp
 * moves past it and *minor is 0 or 1. A well-formed version other than
 * 1.0/1.1 fails with bad_ver (505 for requests). complete says whether end
 * is the real end of the line or just where the bytes stop.
 */
static int
parse_version(struct pctx *x, const char **pp, const char *end, int complete, int *minor,
    int bad_ver)
{
	static const char name[] = "HTTP/";
	const char *p = *pp;
	int i;

	for (i = 0; i < 8; i++) {
		unsigned char c;

		if (p + i == end)
			return complete ? fail(x, 400, "truncated HTTP version") : HTTP1_PARTIAL;
		c = (unsigned char)p[i];
		if (i < 5 ? c != (unsigned char)name[i] : i == 6 ? c != '.' : !is_digit(c))
			return fail(x, 400, "malformed HTTP version");
	}
	if (p[5] != '1' || (p[7] != '0' && p[7] != '1'))
		return fail(x, bad_ver, "unsupported HTTP version");
	*minor = p[7] - '0';
	*pp = p + 8;
	return 0;
}

/*
 * First byte of the target tells its form (RFC 9112 §3.2); checking it at
 * once rejects an HTTP/2 preface ("PRI * ...") after five bytes.
 */
static int
check_target_start(struct pctx *x, const struct http1_req *req, unsigned char c)
{
	if (req->meth == HTTP1_M_CONNECT)
		return is_regname_char(c) || c == '[' ? 0 :
		    fail(x, 400, "CONNECT needs an authority-form target");
	if (c == '/' || is_alpha(c))
		return 0;
	if (c == '*') {
		if (req->meth == HTTP1_M_OPTIONS)
			return 0;
		if (req->method.len == 3 && memcmp(req->method.p, "PRI", 3) == 0)
			return fail(x, 400, "HTTP/2 connection preface");
		return fail(x, 400, "asterisk-form target is only for OPTIONS");
	}
	return fail(x, 400, "invalid request target");
}

/* Classifies the complete target and sets ->path (and ->host if absolute). */
static int
parse_target(struct pctx *x, struct http1_req *req)
{
	const char *p = req->target.p, *end = p + req->target.len, *a;

	if (req->meth == HTTP1_M_CONNECT) {
		if (!host_valid(req->target, 1))
			return fail(x, 400, "invalid authority-form target");
		req->path = view(p, p);
		return 0;
	}
	/* RFC 9112 §3.2: a fragment is never part of a request target. */
	if (memchr(p, '#', req->target.len) != NULL)
		return fail(x, 400, "fragment in request target");
	if (*p == '/')
		req->path = req->target;
	else if (*p == '*') {
		if (req->target.len != 1)
			return fail(x, 400, "invalid asterisk-form target");
		req->path = req->target;
	} else {
		/* absolute-form: only the schemes a gateway can serve */
		if (req->target.len > 7 && http1_str_eq(view(p, p + 7), "http://"))
			p += 7;
		else if (req->target.len > 8 && http1_str_eq(view(p, p + 8), "https://"))
			p += 8;
		else
			return fail(x, 400, "unsupported scheme in request target");
		/* '#' was refused above, so the authority ends at '/', '?' or the end. */
		for (a = p; p < end && *p != '/' && *p != '?'; p++)
			;
		/* "http://h?q" means "/?q": the caller adds the "/" (no room here) */
		if (p < end && *p == '?')
			req->flags |= HTTP1_F_EMPTY_PATH;
		if (memchr(a, '@', (size_t)(p - a)) != NULL)
			return fail(x, 400, "userinfo in request target");
		if (p == a || !host_valid(view(a, p), 0))
			return fail(x, 400, "invalid authority in request target");
		req->host = view(a, p);
		req->path = p < end ? view(p, end) : view(root_path, root_path + 1);
	}
	return 0;
}

/*
 * request-line = method SP request-target SP HTTP-version, in [p, end)
 * without its line ending. If !complete the line goes on past end: returns
 * HTTP1_PARTIAL unless what is there is already wrong.
 */
static int
parse_reqline(struct pctx *x, const char *p, const char *end, int complete,
    struct http1_req *req)
{
	const char *s = p;
	int r;

	while (p < end && is_tchar((unsigned char)*p))
		p++;
	if (p == end)
		return complete ? fail(x, 400, "incomplete request line") : HTTP1_PARTIAL;
	if (*p != ' ')
		return fail(x, 400, "invalid character in method");
	if (p == s)
		return fail(x, 400, "empty method");
	req->method = view(s, p);
	req->meth = method_lookup(req->method);

	s = ++p;
	if (p == end)
		return complete ? fail(x, 400, "missing request target") : HTTP1_PARTIAL;
	if ((r = check_target_start(x, req, (unsigned char)*p)) != 0)
		return r;
	while (p < end && (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f)
		p++;
	if (p == end)
		return complete ? fail(x, 400, "HTTP/0.9 or versionless request line") :
		    HTTP1_PARTIAL;
	if (*p != ' ')
		return fail(x, 400, "invalid character in request target");
	req->target = view(s, p);
	if ((r = parse_target(x, req)) != 0)
		return r;

	p++;
	if ((r = parse_version(x, &p, end, complete, &req->minor, 505)) != 0)
		return r;
	if (p != end)
		return fail(x, 400, "garbage after HTTP version");
	return complete ? 0 : HTTP1_PARTIAL;
}

/* status-line = HTTP-version SP 3DIGIT SP [ reason ]; the last SP is optional. */
static int
parse_statusline(struct pctx *x, const char *p, const char *end, int complete,
    struct http1_resp *resp)
{
	const char *s;
	int i, r;

	if ((r = parse_version(x, &p, end, complete, &resp->minor, 502)) != 0)
		return r;
	if (p == end)
		return complete ? fail(x, 502, "missing status code") : HTTP1_PARTIAL;
	if (*p++ != ' ')
		return fail(x, 502, "malformed status line");
	for (i = 0; i < 3; i++) {
		if (p + i == end)
			return complete ? fail(x, 502, "invalid status code") : HTTP1_PARTIAL;
		if (!is_digit((unsigned char)p[i]) || (i == 0 && p[0] == '0'))
			return fail(x, 502, "invalid status code");
	}
	resp->status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	if (resp->status > 599)
		return fail(x, 502, "status code out of range");	/* RFC 9110 §15 */
	p += 3;
	if (p < end && *p++ != ' ')
		return fail(x, 502, "invalid status code");
	for (s = p; p < end; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return fail(x, 502, "invalid character in reason phrase");
	resp->reason = view(s, p);
	return complete ? 0 : HTTP1_PARTIAL;
}

/*
 * field-line = field-name ":" OWS field-value OWS CRLF (RFC 9112 §5), at
 * *pp, which the caller has checked is not CR, LF, SP or HTAB. On success
 * fills *h and moves *pp past the CRLF.
 */
static int
parse_field(struct pctx *x, const char **pp, const char *end, struct http1_header *h)
{
	const char *s = *pp, *p = *pp, *vs;
	unsigned char c;

	while (p < end && is_tchar((unsigned char)*p))
		p++;
	if (p == end)
		return HTTP1_PARTIAL;
	if (*p != ':') {
		if (*p == ' ' || *p == '\t')
			return fail(x, 400, "whitespace before colon in field");
		return fail(x, 400, "invalid character in field name");
	}
	if (p == s)
		return fail(x, 400, "empty field name");
	h->name = view(s, p);

	vs = ++p;
	for (; p < end; p++) {
		c = (unsigned char)*p;
		if (c == '\r')
			break;
		if (c == '\n')
			return fail(x, 400, "bare LF in field");
		/* obs-text (>= 0x80) passes; NUL and other CTLs never do */
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(x, 400, "invalid character in field value");
	}
	if (p == end || p + 1 == end)
		return HTTP1_PARTIAL;
	if (p[1] != '\n')
		return fail(x, 400, "bare CR in field");
	h->value = trim_ows(vs, p);
	h->line = view(s, p + 2);
	*pp = p + 2;
	return 0;
}

/*
 * Field lines up to and including the empty line. More than cap fields
 * fails with too_many (431 for requests). *np counts the fields stored.
 */
static int
parse_fields(struct pctx *x, const char **pp, const char *end, struct http1_header *hdrs,
    uint32_t cap, uint32_t *np, int too_many)
{
	const char *p = *pp;
	int r;

	for (;;) {
		if (p == end)
			return HTTP1_PARTIAL;
		if (*p == '\r') {
			if (p + 1 == end)
				return HTTP1_PARTIAL;
			if (p[1] != '\n')
				return fail(x, 400, "bare CR in header section");
			*pp = p + 2;
			return 0;
		}
		if (*p == '\n')
			return fail(x, 400, "bare LF in header section");
		/* RFC 9112 §5.2 obs-fold, or whitespace before the first field */
		if (*p == ' ' || *p == '\t')
			return fail(x, 400, "obsolete line folding");
		if (*np >= cap)
			return fail(x, too_many, "too many header fields");
		if ((r = parse_field(x, &p, end, &hdrs[*np])) != 0)
			return r;
		(*np)++;
	}
}

/* What the Transfer-Encoding fields of a message say, element by element. */
struct te_facts {
	int	elems;		/* codings listed */
	int	last_chunked;	/* the last one so far is chunked */
	int	chunked_early;	/* chunked was followed by another coding */
	int	other;		/* a coding other than chunked */
};

/* One Transfer-Encoding field value into te; 0, or HTTP1_BAD (via fail()). */
static int
scan_te(struct pctx *x, struct http1_str v, int bad, struct te_facts *te)
{
	const char *p = v.p, *end = v.p + v.len, *c;
	struct http1_str e, rest;
	int chunked;

	while (p != NULL) {
		p = list_next(p, end, &e);
		if (e.len == 0)
			continue;
		for (c = e.p; c < e.p + e.len && is_tchar((unsigned char)*c); c++)
			;
		rest = trim_ows(c, e.p + e.len);
		if (c == e.p || (rest.len > 0 && rest.p[0] != ';'))
			return fail(x, bad, "invalid Transfer-Encoding");
		chunked = http1_str_eq(view(e.p, c), "chunked");
		if (chunked && rest.len > 0)
			return fail(x, bad, "parameters on chunked coding");
		if (te->last_chunked)
			te->chunked_early = 1;
		if (!chunked)
			te->other = 1;
		te->last_chunked = chunked;
		te->elems++;
	}
	return 0;
}

/*
 * Framing and connection facts from the fields (RFC 9112 §6, RFC 9110 §7).
 * is_req selects the request rules: a request body length must be certain,
 * while a response whose final coding is not chunked is close-delimited.
 */
static int
derive(struct pctx *x, const struct http1_header *h, uint32_t n, int minor, int is_req,
    struct facts *f)
{
	const char *p, *end;
	struct http1_str e, v;
	uint64_t cl = 0, n1;
	uint32_t i;
	int have_cl = 0, have_te = 0, list_elems;
	struct te_facts te = { 0, 0, 0, 0 };
	int bad = is_req ? 400 : 502;

	for (i = 0; i < n; i++) {
		v = h[i].value;
		p = v.p;
		end = v.p + v.len;
		if (http1_str_eq(h[i].name, "content-length")) {
			if (parse_clen(v, &n1, &list_elems) == -1)
				return fail(x, bad, "invalid Content-Length");
			if (have_cl && n1 != cl)
				return fail(x, bad, "conflicting Content-Length fields");
			if (have_cl || list_elems > 1)
				f->flags |= HTTP1_F_CLEN_LIST;
			have_cl = 1;
			cl = n1;
		} else if (http1_str_eq(h[i].name, "transfer-encoding")) {
			have_te = 1;
			if (scan_te(x, v, bad, &te) != 0)
				return HTTP1_BAD;
		} else if (http1_str_eq(h[i].name, "connection")) {
			while (p != NULL) {
				p = list_next(p, end, &e);
				if (e.len == 0)
					continue;
				if (!is_token(e))
					return fail(x, bad, "invalid Connection field");
				if (http1_str_eq(e, "close"))
					f->flags |= HTTP1_F_CONN_CLOSE;
				else if (http1_str_eq(e, "keep-alive"))
					f->flags |= HTTP1_F_CONN_KEEPALIVE;
				else if (http1_str_eq(e, "upgrade"))
					f->flags |= HTTP1_F_CONN_UPGRADE;
				else
					f->flags |= HTTP1_F_CONN_OTHER;
			}
		} else if (http1_str_eq(h[i].name, "expect")) {
			/* RFC 9110 §10.1.1: ignored in an HTTP/1.0 request */
			while (p != NULL && minor == 1) {
				p = list_next(p, end, &e);
				if (http1_str_eq(e, "100-continue"))
					f->flags |= HTTP1_F_EXPECT_CONTINUE;
			}
		} else if (http1_str_eq(h[i].name, "upgrade")) {
			f->flags |= HTTP1_F_UPGRADE_HDR;
		} else if (http1_str_eq(h[i].name, "via")) {
			f->flags |= HTTP1_F_VIA;
		} else if (http1_str_eq(h[i].name, "host")) {
			f->nhost++;
			f->host = v;
		} else if (!is_req && f->ka_timeout == -1 &&
		    http1_str_eq(h[i].name, "keep-alive")) {
			f->ka_timeout = parse_ka_timeout(v);
		}
	}

	if (have_te) {
		/* RFC 9112 §6.1, §6.3: these make the body length unreliable */
		if (minor == 0)
			return fail(x, bad, "Transfer-Encoding in an HTTP/1.0 message");
		if (have_cl)
			return fail(x, bad, "both Transfer-Encoding and Content-Length");
		if (te.elems == 0)
			return fail(x, bad, "empty Transfer-Encoding");
		if (te.chunked_early && (is_req || te.last_chunked))
			return fail(x, bad, "chunked is not the final transfer coding");
		if (is_req && !te.last_chunked)
			return fail(x, 400, "final transfer coding is not chunked");
		if (is_req && te.other)
			return fail(x, 501, "unsupported transfer coding");
		if (te.last_chunked)
			f->flags |= HTTP1_F_CHUNKED;
	} else if (have_cl) {
		f->flags |= HTTP1_F_CLEN;
		f->clen = cl;
	}
	return 0;
}

/* Request head in [buf, end), end already clipped to max_header_size. */
static int
parse_req_head(struct pctx *x, const char *buf, const char *end,
    const struct http1_limits *lim, struct http1_req *req, struct http1_header *hdrs,
    uint32_t cap)
{
	const char *p = buf, *ls, *q, *qend;
	size_t lmax = lim->max_request_line;
	struct facts f = { 0, 0, -1, 0, { NULL, 0 } };
	int i, r;

	for (i = 0;; i++) {
		if (p == end)
			return HTTP1_PARTIAL;
		if (*p == '\n')
			return fail(x, 400, "bare LF before request line");
		if (*p != '\r')
			break;
		if (p + 1 == end)
			return HTTP1_PARTIAL;
		if (p[1] != '\n')
			return fail(x, 400, "bare CR before request line");
		if (i == MAX_EMPTY_LINES)
			return fail(x, 400, "too many empty lines before request line");
		p += 2;
	}

	/*
	 * Look for the line end only within max_request_line (+1 for the CR):
	 * a longer line is 414 even before its end arrives. Syntax is checked
	 * first so that garbage gets 400 however it is split.
	 */
	ls = p;
	qend = (size_t)(end - ls) > lmax ? ls + lmax + 1 : end;
	for (q = ls; q < qend && *q != '\r' && *q != '\n'; q++)
		;
	if (q == qend) {
		if ((size_t)(end - ls) <= lmax)
			return parse_reqline(x, ls, end, 0, req);
		if ((r = parse_reqline(x, ls, ls + lmax, 0, req)) == HTTP1_BAD)
			return r;
		return fail(x, 414, "request line too long");
	}
	if ((r = parse_reqline(x, ls, q, 1, req)) != 0)
		return r;
	if (*q == '\n')
		return fail(x, 400, "bare LF in request line");
	if (q + 1 == end)
		return HTTP1_PARTIAL;
	if (q[1] != '\n')
		return fail(x, 400, "bare CR in request line");
	req->line = view(ls, q + 2);

	p = q + 2;
	if ((r = parse_fields(x, &p, end, hdrs, cap, &req->nheaders, 431)) != 0)
		return r;
	if ((r = derive(x, hdrs, req->nheaders, req->minor, 1, &f)) != 0)
		return r;

	/* RFC 9112 §3.2: exactly one Host in 1.1; never two in any version */
	if (f.nhost > 1)
		return fail(x, 400, "multiple Host fields");
	if (f.nhost == 0 && req->minor == 1)
		return fail(x, 400, "missing Host field");
	if (f.nhost == 1 && !host_valid(f.host, 0))
		return fail(x, 400, "invalid Host field");
	/* the authority of an absolute-form target overrides Host (§3.2.2) */
	if (req->host.p == NULL && f.nhost == 1)
		req->host = f.host;
	if (req->host.p != NULL)
		f.flags |= HTTP1_F_HAS_HOST;

	req->flags |= f.flags;	/* keeps HTTP1_F_EMPTY_PATH from the target */
	req->content_length = f.clen;
	req->head_len = (uint32_t)(p - buf);
	return (int)(p - buf);
}

int
http1_parse_req(const char *buf, size_t len, const struct http1_limits *lim,
    struct http1_req *req, struct http1_header *hdrs, uint32_t max_hdrs)
{
	struct pctx x = { 0, NULL };
	size_t win = lim->max_header_size;
	uint32_t cap;
	int r;

	memset(req, 0, sizeof(*req));
	req->headers = hdrs;
	cap = hdrs == NULL ? 0 : max_hdrs < lim->max_headers ? max_hdrs : lim->max_headers;
	if (win > INT_MAX)
		win = INT_MAX;
	r = parse_req_head(&x, buf, buf + (len < win ? len : win), lim, req, hdrs, cap);
	/* the window is full and the head has not ended: it can only grow */
	if (r == HTTP1_PARTIAL && len >= win)
		r = fail(&x, 431, "request header section too large");
	if (r == HTTP1_BAD) {
		req->status = x.status;
		req->error = x.error;
	}
	return r;
}

/* Response head in [buf, end), end already clipped to max_head. */
static int
parse_resp_head(struct pctx *x, const char *buf, const char *end, struct http1_resp *resp,
    struct http1_header *hdrs, uint32_t cap)
{
	const char *p, *q;
	struct facts f = { 0, 0, -1, 0, { NULL, 0 } };
	int r;

	for (q = buf; q < end && *q != '\r' && *q != '\n'; q++)
		;
	if ((r = parse_statusline(x, buf, q, q < end, resp)) != 0)
		return r;
	if (*q == '\n')
		return fail(x, 502, "bare LF in status line");
	if (q + 1 == end)
		return HTTP1_PARTIAL;
	if (q[1] != '\n')
		return fail(x, 502, "bare CR in status line");
	resp->line = view(buf, q + 2);

	p = q + 2;
	if ((r = parse_fields(x, &p, end, hdrs, cap, &resp->nheaders, 502)) != 0)
		return r;
	if ((r = derive(x, hdrs, resp->nheaders, resp->minor, 0, &f)) != 0)
		return r;
	resp->flags = f.flags;
	resp->content_length = f.clen;
	resp->keepalive_timeout = f.ka_timeout;
	resp->head_len = (uint32_t)(p - buf);
	return (int)(p - buf);
}

int
http1_parse_resp(const char *buf, size_t len, uint32_t max_head, struct http1_resp *resp,
    struct http1_header *hdrs, uint32_t max_hdrs)
{
	struct pctx x = { 0, NULL };
	size_t win = max_head < INT_MAX ? max_head : INT_MAX;
	int r;

	memset(resp, 0, sizeof(*resp));
	resp->headers = hdrs;
	resp->keepalive_timeout = -1;
	r = parse_resp_head(&x, buf, buf + (len < win ? len : win), resp, hdrs,
	    hdrs == NULL ? 0 : max_hdrs);
	if (r == HTTP1_PARTIAL && len >= win)
		r = fail(&x, 502, "response head too large");
	if (r == HTTP1_BAD)
		resp->error = x.error;
	return r;
}

ssize_t
http1_chunked_feed(struct http1_chunked *c, const char *buf, size_t len, const char **data,
    size_t *data_len)
{
	const char *p = buf, *end = buf + len;
	unsigned char ch;
	size_t n;
	int v;

	if (data != NULL) {
		*data = NULL;
		*data_len = 0;
	}
	if (c->state == CH_ERROR)
		return HTTP1_BAD;
	while (p < end && c->state != CH_DONE) {
		ch = (unsigned char)*p;
		switch (c->state) {
		case CH_SIZE:
			if ((v = hex_val(ch)) >= 0) {
				/* leading zeros count too: no endless digit runs */
				if (c->ndigits == MAX_CHUNK_DIGITS ||
				    c->remaining > (uint64_t)INT64_MAX >> 4)
					goto bad;
				c->remaining = c->remaining << 4 | (uint64_t)v;
				c->ndigits++;
				break;
			}
			if (c->ndigits == 0)
				goto bad;
			if (ch == ';')
				c->state = CH_EXT;
			else if (ch == ' ' || ch == '\t')
				c->state = CH_SIZE_BWS;
			else if (ch == '\r')
				c->state = CH_SIZE_LF;
			else
				goto bad;
			break;
		case CH_SIZE_BWS:
			/* BWS is only allowed before a ';' (RFC 9112 §7.1.1) */
			if (ch == ';')
				c->state = CH_EXT;
			else if (ch != ' ' && ch != '\t')
				goto bad;
			break;
		case CH_EXT:
			if (ch == '\r')
				c->state = CH_SIZE_LF;
			else if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				goto bad;
			break;
		case CH_SIZE_LF:
			if (ch != '\n')
				goto bad;
			c->state = c->remaining == 0 ? CH_TRL_START : CH_DATA;
			c->ndigits = 0;
			break;
		case CH_DATA:
			n = (size_t)(end - p) < c->remaining ? (size_t)(end - p) :
			    (size_t)c->remaining;
			c->remaining -= n;
			c->total += n;
			if (c->remaining == 0)
				c->state = CH_DATA_CR;
			if (data != NULL) {
				/* one span per call, so the caller can copy it out */
				*data = p;
				*data_len = n;
				return (ssize_t)(p + n - buf);
			}
			p += n;
			continue;
		case CH_DATA_CR:
			if (ch != '\r')
				goto bad;
			c->state = CH_DATA_LF;
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				goto bad;
			c->state = CH_SIZE;
			break;
		case CH_TRL_START:
			/* A trailer is a field line: token, colon, value; no obs-fold. */
			if (ch == '\r')
				c->state = CH_LAST_LF;
			else if (is_tchar(ch))
				c->state = CH_TRL_NAME;
			else
				goto bad;
			break;
		case CH_TRL_NAME:
			if (ch == ':')
				c->state = CH_TRL_LINE;
			else if (!is_tchar(ch))
				goto bad;
			break;
		case CH_TRL_LINE:
			if (ch == '\r')
				c->state = CH_TRL_LF;
			else if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				goto bad;
			break;
		case CH_TRL_LF:
			if (ch != '\n')
				goto bad;
			c->state = CH_TRL_START;
			break;
		case CH_LAST_LF:
			if (ch != '\n')
				goto bad;
			c->state = CH_DONE;
			c->done = 1;
			break;
		default:
			goto bad;
		}
		p++;
	}
	return (ssize_t)(p - buf);
bad:
	c->state = CH_ERROR;
	return HTTP1_BAD;
}

int
http1_caseeq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i] != b[i] && lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
	return 1;
}

const struct http1_header *
http1_find(const struct http1_header *h, uint32_t n, const char *name)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (http1_str_eq(h[i].name, name))
			return &h[i];
	return NULL;
}
