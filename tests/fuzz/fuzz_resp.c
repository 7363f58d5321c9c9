/*
 * libFuzzer harness for http1_parse_resp(): the same arrival-order and
 * in-buffer invariants as fuzz_req.c, for what a backend sends back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/http1.h"
#include "tests/fuzz/fuzz.h"

#define HDR_CAP		128

/* One way of calling the parser. */
struct resp_case {
	uint32_t	max_head;
	uint32_t	cap;		/* max_hdrs given to the parser */
	int		null_hdrs;	/* pass hdrs == NULL */
};

/* One parse, kept for comparison with another parse of the same bytes. */
struct resp_run {
	const char		*buf;
	size_t			 len;
	int			 r;
	struct http1_resp	 resp;
	struct http1_header	 hdrs[HDR_CAP];
};

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void	run(struct resp_run *, const struct resp_case *, const void *, size_t,
		    const void *, size_t);
static void	check_one(const struct resp_run *, const struct resp_case *);
static void	check_same(const struct resp_run *, const struct resp_run *);
static void	check_case(const uint8_t *, size_t, const struct resp_case *);

static const struct resp_case cases[] = {
	{ 16384, HDR_CAP, 0 },		/* a worker's default buffer */
	{ 64, 3, 0 },			/* small: every limit is reachable */
	{ 16384, 0, 1 },		/* no header array at all */
};

/* Bytes appended to a complete head: a body, another response, CTLs. */
static const char tail[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n\r\n\n\r\0 \t:\x7f\xff";

/* Parses a[0..alen) + b[0..blen) from an exact-size copy into *o. */
static void
run(struct resp_run *o, const struct resp_case *c, const void *a, size_t alen, const void *b,
    size_t blen)
{
	o->len = alen + blen;
	o->buf = fuzz_dup2(a, alen, b, blen);
	o->r = http1_parse_resp(o->buf, o->len, c->max_head, &o->resp,
	    c->null_hdrs ? NULL : o->hdrs, c->cap);
}

/* Invariants of a single result. */
static void
check_one(const struct resp_run *o, const struct resp_case *c)
{
	const struct http1_resp *s = &o->resp;
	const char *b = o->buf;
	uint32_t cap = c->null_hdrs ? 0 : c->cap;
	size_t i, hlen;

	CHECK(o->r > 0 || o->r == HTTP1_BAD || o->r == HTTP1_PARTIAL);
	if (o->r == HTTP1_BAD) {
		CHECK(s->error != NULL);
		return;
	}
	if (o->r == HTTP1_PARTIAL) {
		CHECK(o->len < c->max_head);
		return;
	}

	hlen = (size_t)o->r;
	CHECK(hlen <= o->len && hlen <= c->max_head);
	CHECK(s->head_len == hlen);
	CHECK(s->nheaders <= cap);
	CHECK(s->minor == 0 || s->minor == 1);
	CHECK(s->status >= 100 && s->status <= 599);	/* RFC 9110 §15 */
	CHECK(s->keepalive_timeout >= -1);

	CHECK(fuzz_in(s->line, b, hlen) && fuzz_in(s->reason, b, hlen));
	for (i = 0; i < s->nheaders; i++)
		CHECK(fuzz_in(s->headers[i].name, b, hlen) &&
		    fuzz_in(s->headers[i].value, b, hlen) &&
		    fuzz_in(s->headers[i].line, b, hlen));

	/* status line: HTTP/1.x SP 3DIGIT [SP reason] CRLF */
	CHECK(s->line.p == b && s->line.len >= 14);
	CHECK(memcmp(b, "HTTP/1.", 7) == 0 && b[8] == ' ');
	CHECK((b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0') == s->status);
	CHECK(s->reason.p >= b + 12 && s->reason.p + s->reason.len + 2 == b + s->line.len);
	fuzz_check_crlf(b, b + hlen);
	fuzz_check_fields(s->headers, s->nheaders, b + s->line.len, b + hlen);

	/* framing: a chunked body or a length, never both (RFC 9112 §6.3) */
	CHECK(!((s->flags & HTTP1_F_CHUNKED) && (s->flags & HTTP1_F_CLEN)));
	if (fuzz_count(s->headers, s->nheaders, "transfer-encoding") > 0) {
		CHECK(s->minor == 1);
		CHECK(fuzz_count(s->headers, s->nheaders, "content-length") == 0);
	} else {
		CHECK(!(s->flags & HTTP1_F_CHUNKED));
		if (fuzz_count(s->headers, s->nheaders, "content-length") > 0)
			CHECK(s->flags & HTTP1_F_CLEN);
	}
	if (s->flags & HTTP1_F_CLEN)
		CHECK(fuzz_clen_ok(s->headers, s->nheaders, s->content_length));
}

/* Two parses of the same head in different buffers agree on everything. */
static void
check_same(const struct resp_run *a, const struct resp_run *b)
{
	const struct http1_resp *x = &a->resp, *y = &b->resp;
	uint32_t i;

	CHECK(a->r == b->r);
	if (a->r <= 0)
		return;
	CHECK(x->status == y->status && x->minor == y->minor && x->flags == y->flags);
	CHECK(x->content_length == y->content_length && x->nheaders == y->nheaders);
	CHECK(x->keepalive_timeout == y->keepalive_timeout);
	CHECK(fuzz_same(x->line, a->buf, a->len, y->line, b->buf, b->len));
	CHECK(fuzz_same(x->reason, a->buf, a->len, y->reason, b->buf, b->len));
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
check_case(const uint8_t *data, size_t len, const struct resp_case *c)
{
	struct resp_run *full, *part;
	size_t cut[8], k;
	uint32_t seed = fuzz_seed(data, len);
	unsigned i, ncut = 0;

	if ((full = malloc(sizeof(*full))) == NULL || (part = malloc(sizeof(*part))) == NULL)
		abort();
	run(full, c, data, len, NULL, 0);
	check_one(full, c);

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
	if (full->r == HTTP1_BAD) {
		run(part, c, data, len, tail, sizeof(tail) - 1);
		check_same(full, part);
		free((void *)part->buf);
	}

	/* a prefix is PARTIAL or already the final answer */
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
