/*
 * PROXY protocol v1 (text) and v2 (binary) header parser, as sent by
 * HAProxy, AWS NLB and keepalived setups in front of a listener.
 */
#ifndef SLUICE_PROXYPROTO_H
#define SLUICE_PROXYPROTO_H

#include <stddef.h>
#include <sys/socket.h>

#define PROXYPROTO_V1_MAX	107	/* longest v1 line, CRLF included */

/*
 * Parses a PROXY header at the start of buf[0..len). Returns the header
 * length (> 0) with *src set to the original client address (family
 * AF_UNSPEC for a v2 LOCAL command or a v1 UNKNOWN line: keep the socket's
 * peer), -2 if more bytes are needed, or -1 if this is not a valid header.
 */
int	proxyproto_parse(const char *buf, size_t len, struct sockaddr_storage *src);

#endif
