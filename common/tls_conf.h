/*
 * A TLS listener's OpenSSL 3 contexts, built from its struct tls_conf when
 * the configuration loads (so `sluice -t` and a reload catch every bad file)
 * and inherited by the workers over fork. The per-connection side is in
 * worker/tls.c.
 */
#ifndef SLUICE_TLS_CONF_H
#define SLUICE_TLS_CONF_H

#include "common/conf.h"

struct ssl_ctx_st;
struct ssl_session_st;

/* Mozilla "intermediate" (v5.7) for TLS 1.2; TLS 1.3 keeps OpenSSL's suites. */
#define TLS_CIPHERS_DEFAULT \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"

/* Which key an error of tls_srv_new() is about. */
enum tls_err_field {
	TLS_EF_CERT = 0,	/* certs[cert].certificate */
	TLS_EF_KEY,		/* certs[cert].key */
	TLS_EF_CIPHERS,		/* ciphers */
	TLS_EF_CA,		/* a source's ca */
	TLS_EF_SNI,		/* a source's sni (or the name it defaults to) */
	TLS_EF_OTHER,		/* the tls group itself */
	TLS_EF__COUNT
};

struct tls_err {
	int			cert;	/* index in certs, or -1 */
	enum tls_err_field	field;
	char			msg[1200];	/* "/etc/x.key: cannot load the private key: ..." */
};

/*
 * Builds the contexts of tc: one per certificate (file readable, chain and
 * key load and match), minimum version, ciphers, ALPN, SNI selection by the
 * certificates' DNS names. Returns NULL with *err filled on the first error.
 * The result is owned by the caller (tls_srv_free).
 */
struct tls_srv		*tls_srv_new(const struct tls_conf *tc, struct tls_err *err);
void			 tls_srv_free(struct tls_srv *s);
/* The default context (first certificate): new connections start on it. */
struct ssl_ctx_st	*tls_srv_ctx(const struct tls_srv *s);

/*
 * The client context toward one source (sources[].tls): minimum TLS 1.2,
 * the chain verified against ca (or the system's store) and the name
 * against sni, else the host of hostport ("host:port" as written: a name,
 * or an IP literal checked against the certificate's IP addresses), unless
 * verify is false; the client certificate if given; ALPN http/1.1. It keeps
 * the last session the source gave this process, for resumption. NULL with
 * *err filled on the first error. Owned by the caller (tls_cli_free).
 */
struct tls_cli		*tls_cli_new(const struct source_tls_conf *tc, const char *hostport,
			    struct tls_err *err);
void			 tls_cli_free(struct tls_cli *c);
struct ssl_ctx_st	*tls_cli_ctx(const struct tls_cli *c);
/* The SNI to send, or NULL (an IP literal, and no sni given). */
const char		*tls_cli_sni(const struct tls_cli *c);
/* The session to offer on a new connection, or NULL (borrowed). */
struct ssl_session_st	*tls_cli_session(const struct tls_cli *c);

/* "OpenSSL X.Y.Z ...", the library in use (static string). */
const char	*tls_lib_version(void);

#endif
