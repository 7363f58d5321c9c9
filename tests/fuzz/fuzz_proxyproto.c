/*
 * libFuzzer harness for proxyproto_parse(): the input is what a listener with
 * PROXY protocol reads first. Checks, beside ASan/UBSan on exact-size copies:
 * the answer is one of the documented ones and never claims more bytes than
 * were given or than the spec allows; every prefix of the input agrees with
 * the whole (a header arriving in pieces parses the same); a parsed address
 * is the one written in the header (v2: its bytes; v1: it prints back to the
 * same text and reparses to the same address).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/proxyproto.h"
#include "tests/fuzz/fuzz.h"

/* Every prefix up to this length is tried; beyond it, a few chosen by the seed. */
#define ALL_PREFIXES	256
#define SOME_PREFIXES	16

/* One parse: its return and, on success, the address it set. */
struct pp_result {
	int			 r;
	struct sockaddr_storage	 ss;
};

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void	parse(const uint8_t *, size_t, struct pp_result *);
static int	same_addr(const struct sockaddr_storage *, const struct sockaddr_storage *);
static void	check_prefix(const struct pp_result *, size_t, const struct pp_result *, int *);
static void	check_v1(const char *, const struct pp_result *);
static void	check_v2(const uint8_t *, const struct pp_result *);

/* Parses an exact-size heap copy of data[0..len), so that ASan sees an overread. */
static void
parse(const uint8_t *data, size_t len, struct pp_result *o)
{
	char *b = fuzz_dup2(data, len, NULL, 0);

	memset(&o->ss, 0xa5, sizeof(o->ss));
	o->r = proxyproto_parse(b, len, &o->ss);
	free(b);
	CHECK(o->r == -1 || o->r == -2 || (o->r > 0 && (size_t)o->r <= len));
}

/* Same family, address and port (what a worker takes from the result). */
static int
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_addr.s_addr == y->sin_addr.s_addr && x->sin_port == y->sin_port;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0 &&
		    x->sin6_port == y->sin6_port;
	}
	return a->ss_family == AF_UNSPEC;
}

/*
 * The prefix p of length m against the whole answer w. A header is parsed
 * from the bytes received so far, again on each read: a prefix shorter than
 * a header asks for more, one that holds it gives the same header, and once
 * a prefix is refused every longer one is (*refused tracks that).
 */
static void
check_prefix(const struct pp_result *w, size_t m, const struct pp_result *p, int *refused)
{
	if (w->r > 0) {
		if (m < (size_t)w->r) {
			CHECK(p->r == -2);
		} else {
			CHECK(p->r == w->r);
			CHECK(same_addr(&p->ss, &w->ss));
		}
	} else if (w->r == -2) {
		CHECK(p->r == -2);
	} else {
		CHECK(p->r == -1 || p->r == -2);
		if (*refused)
			CHECK(p->r == -1);
	}
	if (p->r == -1)
		*refused = 1;
}

/*
 * A v1 header that parsed, line[0..r) (exact copy, NUL added): at most 107
 * bytes with its CRLF, which is its only CR or LF; the address is the one
 * the line names, printed back the way the spec writes it (dotted quad,
 * shortest IPv6 text); the rebuilt line parses to the same address.
 */
static void
check_v1(const char *line, const struct pp_result *w)
{
	char proto[8], src[64], dst[64], sp[8], dp[8], text[INET6_ADDRSTRLEN], port[8];
	char again[PROXYPROTO_V1_MAX + 64];
	struct pp_result x;
	const void *addr;
	int n, af;

	CHECK(w->r <= PROXYPROTO_V1_MAX);
	CHECK(w->r >= 8 && line[w->r - 2] == '\r' && line[w->r - 1] == '\n');
	CHECK(strcspn(line, "\r\n") == (size_t)w->r - 2);
	/* Fields as written (split on any run of spaces, as sluice does). */
	n = sscanf(line, "PROXY %7s %63s %63s %7s %7s", proto, src, dst, sp, dp);
	CHECK(n >= 1);
	if (w->ss.ss_family == AF_UNSPEC) {
		CHECK(strcmp(proto, "UNKNOWN") == 0);
		return;
	}
	CHECK(n == 5);
	af = w->ss.ss_family;
	CHECK(strcmp(proto, af == AF_INET ? "TCP4" : af == AF_INET6 ? "TCP6" : "?") == 0);
	addr = af == AF_INET ? (const void *)&((const struct sockaddr_in *)&w->ss)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)&w->ss)->sin6_addr;
	CHECK(inet_ntop(af, addr, text, sizeof(text)) != NULL);
	snprintf(port, sizeof(port), "%u", ntohs(af == AF_INET ?
	    ((const struct sockaddr_in *)&w->ss)->sin_port :
	    ((const struct sockaddr_in6 *)&w->ss)->sin6_port));
	/* A dotted quad and a port have one spelling (no leading zeros): the line's. */
	if (af == AF_INET)
		CHECK(strcmp(text, src) == 0);
	CHECK(strcmp(port, sp) == 0);
	/* Printed back the way a sender writes it, the line parses to the same address. */
	n = snprintf(again, sizeof(again), "PROXY %s %s %s %s %s\r\n", proto, text, dst, port, dp);
	CHECK(n > 0 && (size_t)n < sizeof(again));
	parse((const uint8_t *)again, (size_t)n, &x);
	CHECK(x.r == n);
	CHECK(same_addr(&x.ss, &w->ss));
}

/* A v2 header that parsed: its length field, and the address bytes as sent. */
static void
check_v2(const uint8_t *b, const struct pp_result *w)
{
	size_t alen = (size_t)b[14] << 8 | b[15];

	CHECK((size_t)w->r == 16 + alen);
	CHECK((b[12] & 0xf0) == 0x20);
	if ((b[12] & 0x0f) == 0x0) {
		CHECK(w->ss.ss_family == AF_UNSPEC);
		return;
	}
	CHECK((b[12] & 0x0f) == 0x1);
	switch (b[13]) {
	case 0x11: {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&w->ss;

		CHECK(alen >= 12 && sin->sin_family == AF_INET);
		CHECK(memcmp(&sin->sin_addr, b + 16, 4) == 0 && memcmp(&sin->sin_port, b + 24, 2) == 0);
		break;
	}
	case 0x21: {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&w->ss;

		CHECK(alen >= 36 && sin6->sin6_family == AF_INET6);
		CHECK(memcmp(&sin6->sin6_addr, b + 16, 16) == 0 &&
		    memcmp(&sin6->sin6_port, b + 48, 2) == 0);
		break;
	}
	default:
		CHECK(b[13] == 0x00 && w->ss.ss_family == AF_UNSPEC);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pp_result w, p;
	uint32_t seed = fuzz_seed(data, len);
	size_t m, k;
	int refused = 0;
	char *line;

	parse(data, len, &w);
	/* Same answer twice: no hidden state. */
	parse(data, len, &p);
	CHECK(p.r == w.r && (w.r <= 0 || same_addr(&p.ss, &w.ss)));
	if (w.r > 0) {
		if (data[0] == 'P') {
			line = fuzz_dup2(data, (size_t)w.r, "", 1);
			check_v1(line, &w);
			free(line);
		} else {
			check_v2(data, &w);
		}
	}
	for (m = 0; m <= len && m <= ALL_PREFIXES; m++) {
		parse(data, m, &p);
		check_prefix(&w, m, &p, &refused);
	}
	/* Longer inputs (a v2 header with TLVs): some prefixes, in order. */
	for (k = 0, m = ALL_PREFIXES; len > ALL_PREFIXES && k < SOME_PREFIXES; k++) {
		m += 1 + fuzz_rand(&seed) % ((len - ALL_PREFIXES) / SOME_PREFIXES + 1);
		if (m > len)
			m = len;
		parse(data, m, &p);
		check_prefix(&w, m, &p, &refused);
	}
	return 0;
}
