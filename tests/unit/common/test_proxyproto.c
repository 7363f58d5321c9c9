/*
 * PROXY protocol v1/v2 parser: valid headers, every split, malformed ones.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>

#include "common/proxyproto.h"

static void
expect_v4(const struct sockaddr_storage *ss, const char *ip, int port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	char buf[64];

	cr_assert_eq(ss->ss_family, AF_INET);
	cr_assert_str_eq(inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)), ip);
	cr_assert_eq(ntohs(sin->sin_port), port);
}

Test(proxyproto, v1_tcp4_and_every_split)
{
	static const char h[] = "PROXY TCP4 192.0.2.7 10.0.0.1 56324 443\r\nGET / HTTP/1.1\r\n";
	size_t hl = strlen("PROXY TCP4 192.0.2.7 10.0.0.1 56324 443\r\n"), i;
	struct sockaddr_storage ss;

	for (i = 0; i < hl; i++)
		cr_assert_eq(proxyproto_parse(h, i, &ss), -2, "split at %zu", i);
	cr_assert_eq(proxyproto_parse(h, sizeof(h) - 1, &ss), (int)hl);
	expect_v4(&ss, "192.0.2.7", 56324);
}

Test(proxyproto, v1_tcp6_and_unknown)
{
	static const char h6[] = "PROXY TCP6 2001:db8::1 2001:db8::2 1000 80\r\n";
	static const char hu[] = "PROXY UNKNOWN\r\n";
	struct sockaddr_storage ss;
	char buf[64];

	cr_assert_eq(proxyproto_parse(h6, sizeof(h6) - 1, &ss), (int)sizeof(h6) - 1);
	cr_assert_eq(ss.ss_family, AF_INET6);
	inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, buf, sizeof(buf));
	cr_assert_str_eq(buf, "2001:db8::1");
	cr_assert_eq(proxyproto_parse(hu, sizeof(hu) - 1, &ss), (int)sizeof(hu) - 1);
	cr_assert_eq(ss.ss_family, AF_UNSPEC);
}

Test(proxyproto, v1_malformed)
{
	static const char *bad[] = {
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",		/* bare LF */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",		/* missing port */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",		/* extra field */
		"PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n",		/* bad address */
		"PROXY TCP4 ::1 ::1 1 2\r\n",			/* v6 under TCP4 */
		"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",	/* port range */
		"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",		/* leading zero */
		"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
		"GET / HTTP/1.1\r\n",				/* no header at all */
	};
	struct sockaddr_storage ss;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(proxyproto_parse(bad[i], strlen(bad[i]), &ss), -1, "case %zu", i);
	/* 107 bytes without CRLF can never become a header. */
	char longline[200];
	memset(longline, 'a', sizeof(longline));
	memcpy(longline, "PROXY ", 6);
	cr_assert_eq(proxyproto_parse(longline, sizeof(longline), &ss), -1);
}

Test(proxyproto, v2_tcp4_local_and_splits)
{
	unsigned char h[16 + 12 + 5] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49,
		0x54, 0x0a, 0x21, 0x11, 0x00, 12 + 5 };
	unsigned char local[16] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49,
		0x54, 0x0a, 0x20, 0x00, 0x00, 0x00 };
	struct sockaddr_storage ss;
	size_t i;

	h[16] = 198; h[17] = 51; h[18] = 100; h[19] = 9;	/* src */
	h[20] = 10; h[21] = 0; h[22] = 0; h[23] = 1;		/* dst */
	h[24] = 0x1f; h[25] = 0x90;				/* sport 8080 */
	h[26] = 0x00; h[27] = 0x50;				/* dport 80 */
	memcpy(h + 28, "\x04\x00\x02xy", 5);			/* a TLV, skipped */
	for (i = 0; i < sizeof(h); i++)
		cr_assert_eq(proxyproto_parse((const char *)h, i, &ss), -2, "split at %zu", i);
	cr_assert_eq(proxyproto_parse((const char *)h, sizeof(h), &ss), (int)sizeof(h));
	expect_v4(&ss, "198.51.100.9", 8080);
	cr_assert_eq(proxyproto_parse((const char *)local, sizeof(local), &ss), 16);
	cr_assert_eq(ss.ss_family, AF_UNSPEC);
	h[12] = 0x11;						/* version 1 in a v2 header */
	cr_assert_eq(proxyproto_parse((const char *)h, sizeof(h), &ss), -1);
	h[12] = 0x21;
	h[13] = 0x12;						/* UDP */
	cr_assert_eq(proxyproto_parse((const char *)h, sizeof(h), &ss), -1);
}

/* The spec's longest v1 line is 107 bytes, CRLF included; one more is refused. */
Test(proxyproto, v1_length_limit)
{
	char h[160];
	struct sockaddr_storage ss;
	size_t n;

	/* UNKNOWN may carry anything up to the CRLF: pad to exactly 107 and 108. */
	memset(h, 'x', sizeof(h));
	memcpy(h, "PROXY UNKNOWN ", 14);
	memcpy(h + 105, "\r\n", 2);
	cr_assert_eq(proxyproto_parse(h, 107, &ss), 107);
	memset(h + 105, 'x', 2);
	memcpy(h + 106, "\r\n", 2);
	n = 108;
	cr_assert_eq(proxyproto_parse(h, n, &ss), -1, "a 108-byte v1 line is not PROXY");
	/* Without a CR in the first 106 bytes it can never end in time. */
	cr_assert_eq(proxyproto_parse(h, 106, &ss), -1);
	cr_assert_eq(proxyproto_parse(h, 105, &ss), -2);
}
