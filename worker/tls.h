/*
 * TLS transport of a client connection (OpenSSL 3): the handshake, then
 * read/writev/shutdown/close behind struct xport_ops, so the exchange never
 * knows it runs over TLS. Contexts come from common/tls_conf.h.
 */
#ifndef SLUICE_TLS_H
#define SLUICE_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include "worker/xport.h"

struct iobuf;
struct tls_cli;
struct tls_srv;

/* tls_handshake() results. */
enum tls_hs {
	TLS_HS_DONE = 0,
	TLS_HS_WANT_READ,	/* wait until the socket is readable */
	TLS_HS_WANT_WRITE,	/* wait until the socket is writable */
	TLS_HS_ERR,		/* failed (alert sent if any): close; tls_error() says why */
	TLS_HS_CLOSED,		/* the client closed or reset before finishing: close */
	TLS_HS__COUNT
};

extern const struct xport_ops xport_tls;

/*
 * Switches t (a plain transport on an accepted socket, nothing of the TLS
 * stream read yet) to TLS as the server of srv. Returns 0, or -1 (no
 * memory) with t unchanged.
 */
int		tls_xport_init(struct xport *t, const struct tls_srv *srv);

/*
 * Switches t (a plain transport on a connected socket to a source) to TLS
 * as the client of cli: SNI, the name to verify, the last session to
 * resume. Returns 0, or -1 (no memory) with t unchanged.
 */
int		tls_xport_connect(struct xport *t, struct tls_cli *cli);

/* Runs the handshake (either side) as far as the socket allows. */
enum tls_hs	tls_handshake(struct xport *t);

/* After TLS_HS_DONE: was the session resumed (from a ticket)? */
int		tls_resumed(const struct xport *t);

/* Why the last handshake failed, for the error log (static storage). */
const char	*tls_error(void);

/*
 * "TLSv1.3/TLS_AES_128_GCM_SHA256/a.test" (SNI "-" if none) into buf for
 * the access log; returns the length written.
 */
size_t		tls_describe(const struct xport *t, char *buf, size_t size);

/*
 * Reads from fd into b the bytes of a PROXY protocol header in front of a
 * TLS stream, never one byte after the header's end (the TLS library reads
 * those from the socket itself). Same results as io_read().
 */
ssize_t		tls_proxy_read(int fd, struct iobuf *b);

#endif
