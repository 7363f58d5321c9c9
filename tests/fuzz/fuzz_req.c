/*
 * libFuzzer harness for http1_parse_req(): the outcome must not depend on how
 * the bytes arrive, every view must lie inside the buffer, and a head that
 * parses must mean exactly one thing (no bare CR/LF, no TE with CL, one Host).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/http1.h"
#include "tests/fuzz/fuzz.h"

#define HDR_CAP		128

/* One way of calling the parser: limits and the size of the header array. */
struct req_case {
	struct http1_limits	lim;
	uint32_t		cap;		/* max_hdrs given to the parser */
	int			null_hdrs;	/* pass hdrs == NULL */
};

/* One parse, kept for comparison with another parse of the same bytes. */
struct req_run {
	const char		*buf;
	size_t			 len;
	int			 r;
	struct http1_req	 req;
	struct http1_header	 hdrs[HDR_CAP];
};

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void	run(struct req_run *, const struct req_case *, const void *, size_t,
		    const void *, size_t);
static void	check_one(const struct req_run *, const struct req_case *);
static void	check_same(const struct req_run *, const struct req_run *);
static void	check_case(const uint8_t *, size_t, const struct req_case *);

static const struct req_case cases[] = {
	{ { 8192, 16384, 100 }, HDR_CAP, 0 },	/* conf_load.c defaults */
	{ { 32, 128, 4 }, 4, 0 },		/* small: every limit is reachable */
	{ { 64, 256, 8 }, 2, 0 },		/* array smaller than max_headers */
	{ { 8192, 16384, 100 }, 0, 1 },		/* no header array at all */
};

/* Bytes appended to a complete head: another request, junk, CTLs. */
static const char tail[] = "GET /x HTTP/1.1\r\nHost: y\r\n\r\n\r\n\n\r\0 \t:\x7f\xff";

/* Parses a[0..alen) + b[0..blen) from an exact-size copy into *o. */
static void
run(struct req_run *o, const struct req_case *c, const void *a, size_t alen, const void *b,
    size_t blen)
{
	o->len = alen + blen;
	o->buf = fuzz_dup2(a, alen, b, blen);
	o->r = http1_parse_req(o->buf, o->len, &c->lim, &o->req,
	    c->null_hdrs ? NULL : o->hdrs, c->cap);
}

/* Invariants of a single result. */
static void
check_one(const struct req_run *o, const struct req_case *c)
{
	const struct http1_req *q = &o->req;
	const char *b = o->buf;
	uint32_t cap = c->null_hdrs ? 0 : c->cap < c->lim.max_headers ? c->cap :
	    c->lim.max_headers;
	size_t i, hlen;

	CHECK(o->r > 0 || o->r == HTTP1_BAD || o->r == HTTP1_PARTIAL);
	if (o->r == HTTP1_BAD) {
		CHECK(q->status == 400 || q->status == 414 || q->status == 431 ||
		    q->status == 501 || q->status == 505);
		CHECK(q->error != NULL);
		return;
	}
	/* a full window that has not ended is 431, never "need more" */
	if (o->r == HTTP1_PARTIAL) {
		CHECK(o->len < c->lim.max_header_size);
		return;
	}

	hlen = (size_t)o->r;
	CHECK(hlen <= o->len && hlen <= c->lim.max_header_size);
	CHECK(q->head_len == hlen);
	CHECK(q->nheaders <= cap);
	CHECK(q->minor == 0 || q->minor == 1);
	CHECK(q->meth >= HTTP1_M_OTHER && q->meth < HTTP1_M__COUNT);

	/* every view inside the head; only an absolute-form path may be "/" */
	CHECK(fuzz_in(q->method, b, hlen) && fuzz_in(q->target, b, hlen));
	CHECK(fuzz_in(q->host, b, hlen) && fuzz_in(q->line, b, hlen));
	CHECK(fuzz_in(q->path, b, hlen) ||
	    (q->path.len == 1 && q->path.p[0] == '/' && q->target.p[0] != '/'));
	for (i = 0; i < q->nheaders; i++)
		CHECK(fuzz_in(q->headers[i].name, b, hlen) &&
		    fuzz_in(q->headers[i].value, b, hlen) &&
		    fuzz_in(q->headers[i].line, b, hlen));

	/* request line: token SP target SP HTTP/1.x CRLF, within the limit */
	CHECK(q->line.len >= 2 && q->line.len - 2 <= c->lim.max_request_line);
	CHECK(q->method.p == q->line.p && q->method.len > 0);
	for (i = 0; i < q->method.len; i++)
		CHECK(fuzz_tchar((unsigned char)q->method.p[i]));
	CHECK(q->target.p == q->method.p + q->method.len + 1 && q->target.len > 0);
	for (i = 0; i < q->target.len; i++)
		CHECK((unsigned char)q->target.p[i] > 0x20 &&
		    (unsigned char)q->target.p[i] < 0x7f && q->target.p[i] != '#');
	/* the path to forward: "/..." unless CONNECT, "*", or "?q" after "http://h" */
	if (q->flags & HTTP1_F_EMPTY_PATH)
		CHECK(q->path.len > 0 && q->path.p[0] == '?' && q->target.p[0] != '/');
	else if (q->meth == HTTP1_M_CONNECT)
		CHECK(q->path.len == 0);
	else if (q->target.p[0] != '*')
		CHECK(q->path.len > 0 && q->path.p[0] == '/');
	CHECK(q->target.p + q->target.len + 11 == q->line.p + q->line.len);
	CHECK(memcmp(q->target.p + q->target.len, " HTTP/1.", 8) == 0);
	/* only CRLF pairs before the line, then the line and fields */
	for (i = 0; b + i < q->line.p; i += 2)
		CHECK(b[i] == '\r' && b[i + 1] == '\n');
	fuzz_check_crlf(q->line.p, b + hlen);
	fuzz_check_fields(q->headers, q->nheaders, q->line.p + q->line.len, b + hlen);

	/* framing means one thing (RFC 9112 §6.3) */
	CHECK(!((q->flags & HTTP1_F_CHUNKED) && (q->flags & HTTP1_F_CLEN)));
	if (fuzz_count(q->headers, q->nheaders, "transfer-encoding") > 0) {
		CHECK(q->flags & HTTP1_F_CHUNKED);
		CHECK(q->minor == 1);
		CHECK(fuzz_count(q->headers, q->nheaders, "content-length") == 0);
	} else {
		CHECK(!(q->flags & HTTP1_F_CHUNKED));
	}
	if (fuzz_count(q->headers, q->nheaders, "content-length") > 0)
		CHECK(q->flags & HTTP1_F_CLEN);
	if (q->flags & HTTP1_F_CLEN)
		CHECK(fuzz_clen_ok(q->headers, q->nheaders, q->content_length));
	CHECK(fuzz_count(q->headers, q->nheaders, "host") <= 1);
	if (q->minor == 1)
		CHECK(fuzz_count(q->headers, q->nheaders, "host") == 1);
	CHECK(!!(q->flags & HTTP1_F_HAS_HOST) == (q->host.p != NULL));
}

/* Two parses of the same head in different buffers agree on everything. */
static void
check_same(const struct req_run *a, const struct req_run *b)
{
	const struct http1_req *x = &a->req, *y = &b->req;
	uint32_t i;

	CHECK(a->r == b->r);
	if (a->r == HTTP1_BAD)
		CHECK(x->status == y->status);
	if (a->r <= 0)
		return;
	CHECK(x->meth == y->meth && x->minor == y->minor && x->flags == y->flags);
	CHECK(x->content_length == y->content_length && x->nheaders == y->nheaders);
	CHECK(fuzz_same(x->method, a->buf, a->len, y->method, b->buf, b->len));
	CHECK(fuzz_same(x->target, a->buf, a->len, y->target, b->buf, b->len));
	CHECK(fuzz_same(x->path, a->buf, a->len, y->path, b->buf, b->len));
	CHECK(fuzz_same(x->host, a->buf, a->len, y->host, b->buf, b->len));
	CHECK(fuzz_same(x->line, a->buf, a->len, y->line, b->buf, b->len));
	for (i = 0; i < x->nheaders; i++) {
		CHECK(fuzz_same(x->headers[i].name, a->buf, a->len, y->headers[i].name,
		    b->buf, b->len));
		CHECK(fuzz_same(x->headers[i].value, a->buf, a->len, y->headers[i].value,
		    b->buf, b->len));
		CHECK(fuzz_same(x->headers[i].line, a->buf, a->len, y->headers[i].line,
		    b->buf, b->len));
	}
}

static void
check_case(const uint8_t *data, size_t len, const struct req_case *c)
{
	struct req_run *full, *part;
	size_t cut[8], k;
	uint32_t seed = fuzz_seed(data, len);
	unsigned i, ncut = 0;

	/* two runs with their header arrays are too big for the stack */
	if ((full = malloc(sizeof(*full))) == NULL || (part = malloc(sizeof(*part))) == NULL)
		abort();
	run(full, c, data, len, NULL, 0);
	check_one(full, c);

	/* a complete head is stable: cut at its end, or followed by anything */
	if (full->r > 0) {
		run(part, c, data, (size_t)full->r, NULL, 0);
		check_same(full, part);
		free((void *)part->buf);
		run(part, c, data, (size_t)full->r, tail, sizeof(tail) - 1);
		check_same(full, part);
		free((void *)part->buf);
		run(part, c, data, (size_t)full->r, data, len);
		check_same(full, part);
		free((void *)part->buf);
	}
	/* a bad head stays bad, with the same status, whatever follows */
	if (full->r == HTTP1_BAD) {
		run(part, c, data, len, tail, sizeof(tail) - 1);
		check_same(full, part);
		free((void *)part->buf);
	}

	/*
	 * Any prefix (one TCP read so far) is PARTIAL or already the final
	 * answer: never a different success, never BAD when the whole is not.
	 */
	if (len > 0) {
		cut[ncut++] = len - 1;
		cut[ncut++] = len / 2;
		cut[ncut++] = fuzz_rand(&seed) % len;
		cut[ncut++] = fuzz_rand(&seed) % len;
		if (full->r > 0) {
			cut[ncut++] = (size_t)full->r - 1;
			cut[ncut++] = (size_t)full->r;
		}
	}
	for (i = 0; i < ncut; i++) {
		k = cut[i];
		run(part, c, data, k, NULL, 0);
		check_one(part, c);
		if (part->r > 0 || part->r == HTTP1_BAD)
			check_same(full, part);
		else if (full->r > 0)
			CHECK(k < (size_t)full->r);
		free((void *)part->buf);
	}
	free((void *)full->buf);
	free(full);
	free(part);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(data, len, &cases[i]);
	return 0;
}
