/*
 * PROXY protocol parser (haproxy.org/download/2.9/doc/proxy-protocol.txt).
 */
#include "common/proxyproto.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int	parse_v1(const char *buf, size_t len, struct sockaddr_storage *src);
static int	parse_v2(const unsigned char *b, size_t len, struct sockaddr_storage *src);
static int	port_of(const char *s, uint16_t *port);

static const unsigned char v2sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55,
	0x49, 0x54, 0x0a };

/* A decimal port 0..65535 without sign or leading zeros (as the spec says). */
static int
port_of(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int
parse_v1(const char *buf, size_t len, struct sockaddr_storage *src)
{
	char line[PROXYPROTO_V1_MAX + 1], *f[6], *save = NULL, *t;
	const char *crlf;
	size_t n, win;
	uint16_t sport, dport;
	int i;

	/* The CR of the longest line is its byte PROXYPROTO_V1_MAX - 1 (offset 105). */
	win = len < PROXYPROTO_V1_MAX - 1 ? len : PROXYPROTO_V1_MAX - 1;
	crlf = memchr(buf, '\r', win);
	if (memchr(buf, '\n', crlf != NULL ? (size_t)(crlf - buf) : win) != NULL)
		return -1;	/* a bare LF */
	if (crlf == NULL)
		return len >= PROXYPROTO_V1_MAX - 1 ? -1 : -2;
	if ((size_t)(crlf - buf) + 1 >= len)
		return -2;
	if (crlf[1] != '\n')
		return -1;
	n = (size_t)(crlf - buf);
	memcpy(line, buf, n);
	line[n] = '\0';
	if (memchr(line, '\0', n) != NULL)
		return -1;
	for (i = 0, t = strtok_r(line, " ", &save); t != NULL && i < 6;
	    t = strtok_r(NULL, " ", &save))
		f[i++] = t;
	if (i < 2 || strcmp(f[0], "PROXY") != 0)
		return -1;
	memset(src, 0, sizeof(*src));
	if (strcmp(f[1], "UNKNOWN") == 0) {
		src->ss_family = AF_UNSPEC;
		return (int)n + 2;
	}
	if (i != 6 || t != NULL || port_of(f[4], &sport) == -1 || port_of(f[5], &dport) == -1)
		return -1;
	if (strcmp(f[1], "TCP4") == 0) {
		struct sockaddr_in *sin = (struct sockaddr_in *)src;
		struct in_addr dst;

		if (inet_pton(AF_INET, f[2], &sin->sin_addr) != 1 || inet_pton(AF_INET, f[3], &dst) != 1)
			return -1;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(sport);
	} else if (strcmp(f[1], "TCP6") == 0) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)src;
		struct in6_addr dst;

		if (inet_pton(AF_INET6, f[2], &sin6->sin6_addr) != 1 ||
		    inet_pton(AF_INET6, f[3], &dst) != 1)
			return -1;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(sport);
	} else {
		return -1;
	}
	return (int)n + 2;
}

static int
parse_v2(const unsigned char *b, size_t len, struct sockaddr_storage *src)
{
	size_t alen;

	if (len < 16)
		return -2;
	if ((b[12] & 0xf0) != 0x20)
		return -1;			/* version 2 only */
	alen = (size_t)b[14] << 8 | b[15];
	if (len < 16 + alen)
		return -2;
	memset(src, 0, sizeof(*src));
	switch (b[12] & 0x0f) {
	case 0x0:				/* LOCAL: health check of the proxy itself */
		src->ss_family = AF_UNSPEC;
		return (int)(16 + alen);
	case 0x1:				/* PROXY */
		break;
	default:
		return -1;
	}
	switch (b[13]) {
	case 0x11: {				/* TCP over IPv4 */
		struct sockaddr_in *sin = (struct sockaddr_in *)src;

		if (alen < 12)
			return -1;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, b + 16, 4);
		memcpy(&sin->sin_port, b + 24, 2);
		break;
	}
	case 0x21: {				/* TCP over IPv6 */
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)src;

		if (alen < 36)
			return -1;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, b + 16, 16);
		memcpy(&sin6->sin6_port, b + 48, 2);
		break;
	}
	case 0x00:				/* UNSPEC */
		src->ss_family = AF_UNSPEC;
		break;
	default:
		return -1;			/* UDP and unix sockets are not for HTTP */
	}
	return (int)(16 + alen);		/* TLVs after the addresses are skipped */
}

int
proxyproto_parse(const char *buf, size_t len, struct sockaddr_storage *src)
{
	size_t n = len < sizeof(v2sig) ? len : sizeof(v2sig);

	if (len == 0)
		return -2;
	if (memcmp(buf, v2sig, n) == 0)
		return n < sizeof(v2sig) ? -2 : parse_v2((const unsigned char *)buf, len, src);
	n = len < 6 ? len : 6;
	if (memcmp(buf, "PROXY ", n) == 0)
		return n < 6 ? -2 : parse_v1(buf, len, src);
	return -1;
}
