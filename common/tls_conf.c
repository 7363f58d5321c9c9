/*
 * TLS listener contexts: one SSL_CTX per certificate, configured alike; the
 * first one's servername callback moves a connection to the context whose
 * certificate names the client's SNI (exact names first, then wildcards).
 */
#include "common/tls_conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/tls_tickets.h"

#define NAME_MAX_LEN	255	/* a DNS name */

/* One name a certificate is valid for, and the context that serves it. */
struct tls_name {
	char		name[NAME_MAX_LEN + 1];	/* lower case; "*.example.com" for a wildcard */
	uint32_t	idx;
};

struct tls_srv {
	SSL_CTX		**ctx;		/* one per certificate, [0] the default */
	uint32_t	 nctx;
	struct tls_name	*names;
	uint32_t	 nnames;
	uint8_t		 alpn[64];	/* what we speak, wire format */
	uint32_t	 alpn_len;
};

/* A source's client context, and the last session it gave this process. */
struct tls_cli {
	SSL_CTX		*ctx;
	SSL_SESSION	*sess;
	char		 sni[NAME_MAX_LEN + 1];	/* "" = none */
};

static int	cli_verify(struct tls_cli *c, const struct source_tls_conf *tc,
    const char *hostport, struct tls_err *err);
static int	cli_new_session(SSL *ssl, SSL_SESSION *sess);
static int	configure(struct tls_srv *s, SSL_CTX *ctx, const struct tls_conf *tc,
    struct tls_err *err);
static int	load_pair(SSL_CTX *ctx, const struct tls_cert_conf *cc, int i,
    struct tls_err *err);
static int	add_names(struct tls_srv *s, SSL_CTX *ctx, uint32_t idx);
static int	add_name(struct tls_srv *s, const char *p, size_t len, uint32_t idx);
static int	sni_cb(SSL *ssl, int *alert, void *arg);
static int	alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg);
static int	ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv,
    EVP_CIPHER_CTX *ectx, EVP_MAC_CTX *hctx, int enc);
static int	no_passphrase(char *buf, int size, int rwflag, void *u);
static const char *ssl_reason(void);

struct tls_srv *
tls_srv_new(const struct tls_conf *tc, struct tls_err *err)
{
	struct tls_srv *s = calloc(1, sizeof(*s));
	uint32_t i;

	err->cert = -1;
	err->field = TLS_EF_OTHER;
	if (s == NULL || (s->ctx = calloc(tc->ncerts, sizeof(*s->ctx))) == NULL) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		free(s);
		return NULL;
	}
	memcpy(s->alpn, tc->alpn, tc->alpn_len);
	s->alpn_len = tc->alpn_len;
	for (i = 0; i < tc->ncerts; i++) {
		s->ctx[i] = SSL_CTX_new(TLS_server_method());
		if (s->ctx[i] == NULL) {
			snprintf(err->msg, sizeof(err->msg), "cannot create a TLS context: %s",
			    ssl_reason());
			goto fail;
		}
		s->nctx = i + 1;
		if (configure(s, s->ctx[i], tc, err) == -1 ||
		    load_pair(s->ctx[i], &tc->certs[i], (int)i, err) == -1)
			goto fail;
		if (add_names(s, s->ctx[i], i) == -1) {
			snprintf(err->msg, sizeof(err->msg), "out of memory");
			goto fail;
		}
	}
	/* Only the first context sees the ClientHello's servername. */
	if (s->nctx > 1) {
		SSL_CTX_set_tlsext_servername_callback(s->ctx[0], sni_cb);
		SSL_CTX_set_tlsext_servername_arg(s->ctx[0], s);
	}
	ERR_clear_error();
	return s;
fail:
	ERR_clear_error();
	tls_srv_free(s);
	return NULL;
}

void
tls_srv_free(struct tls_srv *s)
{
	uint32_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nctx; i++)
		SSL_CTX_free(s->ctx[i]);
	free(s->ctx);
	free(s->names);
	free(s);
}

struct ssl_ctx_st *
tls_srv_ctx(const struct tls_srv *s)
{
	return s->ctx[0];
}

struct tls_cli *
tls_cli_new(const struct source_tls_conf *tc, const char *hostport, struct tls_err *err)
{
	struct tls_cli *c = calloc(1, sizeof(*c));
	struct tls_cert_conf cc;

	err->cert = -1;
	err->field = TLS_EF_OTHER;
	if (c == NULL || (c->ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(err->msg, sizeof(err->msg), "cannot create a TLS context: %s",
		    c == NULL ? "out of memory" : ssl_reason());
		free(c);
		ERR_clear_error();
		return NULL;
	}
	SSL_CTX_set_app_data(c->ctx, c);
	SSL_CTX_set_options(c->ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(c->ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_default_passwd_cb(c->ctx, no_passphrase);
	(void)SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	(void)SSL_CTX_set_alpn_protos(c->ctx, (const unsigned char *)"\x08http/1.1", 9);
	/* Sessions are kept here, one per source and process, not in OpenSSL's cache. */
	SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(c->ctx, cli_new_session);
	if (cli_verify(c, tc, hostport, err) == -1)
		goto fail;
	if (tc->certificate[0] != '\0') {
		memcpy(cc.certificate, tc->certificate, sizeof(cc.certificate));
		memcpy(cc.key, tc->key, sizeof(cc.key));
		if (load_pair(c->ctx, &cc, -1, err) == -1)
			goto fail;
	}
	ERR_clear_error();
	return c;
fail:
	ERR_clear_error();
	tls_cli_free(c);
	return NULL;
}

/* The store and the name: what a source's certificate is checked against. */
static int
cli_verify(struct tls_cli *c, const struct source_tls_conf *tc, const char *hostport,
    struct tls_err *err)
{
	X509_VERIFY_PARAM *param = SSL_CTX_get0_param(c->ctx);
	char host[NAME_MAX_LEN + 1] = "";
	unsigned char ip[16];
	const char *end;
	size_t len;
	int is_ip;

	/* "name:port", "1.2.3.4:port", "[::1]:port"; a unix path has no host. */
	if (tc->sni[0] != '\0') {
		snprintf(host, sizeof(host), "%s", tc->sni);
	} else if (hostport[0] == '[' && (end = strchr(hostport, ']')) != NULL) {
		len = (size_t)(end - hostport - 1);
		if (len < sizeof(host)) {
			memcpy(host, hostport + 1, len);
			host[len] = '\0';
		}
	} else if ((end = strrchr(hostport, ':')) != NULL && end > hostport &&
	    (size_t)(end - hostport) < sizeof(host)) {
		memcpy(host, hostport, (size_t)(end - hostport));
		host[end - hostport] = '\0';
	}
	is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
	if (!is_ip)
		snprintf(c->sni, sizeof(c->sni), "%s", host);
	if (!tc->verify) {
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
		return 0;
	}
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	err->field = TLS_EF_CA;
	if (tc->ca[0] != '\0' ? SSL_CTX_load_verify_locations(c->ctx, tc->ca, NULL) != 1 :
	    SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
		snprintf(err->msg, sizeof(err->msg), "%s: cannot load CA certificates: %s",
		    tc->ca[0] != '\0' ? tc->ca : "the system's store", ssl_reason());
		return -1;
	}
	err->field = TLS_EF_SNI;
	if (host[0] == '\0') {
		snprintf(err->msg, sizeof(err->msg), "missing: no host name to verify the "
		    "source's certificate against (set sni, or verify = false)");
		return -1;
	}
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if ((is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host) :
	    X509_VERIFY_PARAM_set1_host(param, host, 0)) != 1) {
		snprintf(err->msg, sizeof(err->msg), "\"%.100s\" is not a host name to verify: %s",
		    host, ssl_reason());
		return -1;
	}
	err->field = TLS_EF_OTHER;
	return 0;
}

/* A new session from a source: the one to offer next time (TLS 1.3: per ticket). */
static int
cli_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct tls_cli *c = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));

	if (c == NULL)
		return 0;
	SSL_SESSION_free(c->sess);
	c->sess = sess;
	return 1;	/* we keep the reference */
}

void
tls_cli_free(struct tls_cli *c)
{
	if (c == NULL)
		return;
	SSL_SESSION_free(c->sess);
	SSL_CTX_free(c->ctx);
	free(c);
}

struct ssl_ctx_st *
tls_cli_ctx(const struct tls_cli *c)
{
	return c->ctx;
}

const char *
tls_cli_sni(const struct tls_cli *c)
{
	return c->sni[0] != '\0' ? c->sni : NULL;
}

struct ssl_session_st *
tls_cli_session(const struct tls_cli *c)
{
	return c->sess;
}

/* Everything but the certificate: the same on every context of a listener. */
static int
configure(struct tls_srv *s, SSL_CTX *ctx, const struct tls_conf *tc, struct tls_err *err)
{
	/*
	 * No compression (CRIME), no renegotiation, the client's cipher order
	 * (Mozilla intermediate: every listed suite is strong), and an EOF
	 * without close_notify is a plain EOF: HTTP frames its own messages.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_clear_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Idle connections give their buffers back; a retried write may move (tls.c). */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/*
	 * One read(2) per record rather than header then body: tls_read() reads
	 * until OpenSSL wants the socket again, so nothing waits unseen in its
	 * buffer.
	 */
	SSL_CTX_set_read_ahead(ctx, 1);
	/*
	 * No per-worker session cache (a client may come back to any worker):
	 * resumption is by stateless tickets under the master's shared keys
	 * (common/tls_tickets.c), valid one rotation period.
	 */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"sluice", 6);
	if (tc->session_tickets) {
		SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
		/* A key encrypts one period, then decrypts one more. */
		SSL_CTX_set_timeout(ctx, 2 * (long)tc->ticket_rotate);
	} else {
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_num_tickets(ctx, 0);
	}
	SSL_CTX_set_dh_auto(ctx, 1);
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
	if (SSL_CTX_set_min_proto_version(ctx, tc->min_version == TLS_V1_3 ? TLS1_3_VERSION :
	    TLS1_2_VERSION) != 1) {
		snprintf(err->msg, sizeof(err->msg), "cannot set the minimum version: %s",
		    ssl_reason());
		return -1;
	}
	if (SSL_CTX_set_cipher_list(ctx, tc->ciphers) != 1) {
		err->field = TLS_EF_CIPHERS;
		snprintf(err->msg, sizeof(err->msg), "no usable cipher in \"%.80s\": %s",
		    tc->ciphers, ssl_reason());
		return -1;
	}
	if (s->alpn_len > 0)
		SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, s);
	return 0;
}

/* The certificate chain and its key, checked readable and matching. */
static int
load_pair(SSL_CTX *ctx, const struct tls_cert_conf *cc, int i, struct tls_err *err)
{
	FILE *f;

	err->cert = i;
	err->field = TLS_EF_CERT;
	if ((f = fopen(cc->certificate, "r")) == NULL) {
		snprintf(err->msg, sizeof(err->msg), "%s: cannot read: %s", cc->certificate,
		    strerror(errno));
		return -1;
	}
	fclose(f);
	if (SSL_CTX_use_certificate_chain_file(ctx, cc->certificate) != 1) {
		snprintf(err->msg, sizeof(err->msg), "%s: not a PEM certificate chain: %s",
		    cc->certificate, ssl_reason());
		return -1;
	}
	err->field = TLS_EF_KEY;
	if ((f = fopen(cc->key, "r")) == NULL) {
		snprintf(err->msg, sizeof(err->msg), "%s: cannot read: %s", cc->key,
		    strerror(errno));
		return -1;
	}
	fclose(f);
	if (SSL_CTX_use_PrivateKey_file(ctx, cc->key, SSL_FILETYPE_PEM) != 1) {
		snprintf(err->msg, sizeof(err->msg), "%s: cannot load the private key "
		    "(PEM, no passphrase): %s", cc->key, ssl_reason());
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err->msg, sizeof(err->msg), "%s: does not match the certificate "
		    "%s", cc->key, cc->certificate);
		return -1;
	}
	err->cert = -1;
	err->field = TLS_EF_OTHER;
	return 0;
}

/* The certificate's subjectAltName DNS names, or its common name without any. */
static int
add_names(struct tls_srv *s, SSL_CTX *ctx, uint32_t idx)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	X509_NAME *subj;
	char cn[NAME_MAX_LEN + 1];
	int i, n, found = 0, rc = 0;

	if (x == NULL)
		return 0;
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	n = gens != NULL ? sk_GENERAL_NAME_num(gens) : 0;
	for (i = 0; i < n && rc == 0; i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		found = 1;
		rc = add_name(s, (const char *)ASN1_STRING_get0_data(g->d.dNSName),
		    (size_t)ASN1_STRING_length(g->d.dNSName), idx);
	}
	GENERAL_NAMES_free(gens);
	subj = X509_get_subject_name(x);
	if (!found && rc == 0 && subj != NULL &&
	    (n = X509_NAME_get_text_by_NID(subj, NID_commonName, cn, sizeof(cn))) > 0)
		rc = add_name(s, cn, (size_t)n, idx);
	return rc;
}

static int
add_name(struct tls_srv *s, const char *p, size_t len, uint32_t idx)
{
	struct tls_name *nn;
	size_t i;

	if (len == 0 || len > NAME_MAX_LEN || memchr(p, '\0', len) != NULL)
		return 0;	/* not a name a client can send */
	nn = realloc(s->names, (s->nnames + 1) * sizeof(*s->names));
	if (nn == NULL)
		return -1;
	s->names = nn;
	nn = &s->names[s->nnames++];
	for (i = 0; i < len; i++)
		nn->name[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
	nn->name[len] = '\0';
	nn->idx = idx;
	return 0;
}

/*
 * ClientHello servername: an exact name wins, then a wildcard covering one
 * label ("*.example.com" matches "a.example.com", not "example.com" nor
 * "a.b.example.com"); the first certificate in the file order among equals.
 * Anything else (or no SNI) stays on the default context.
 */
static int
sni_cb(SSL *ssl, int *alert, void *arg)
{
	const struct tls_srv *s = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), *dot;
	int64_t wild = -1;
	uint32_t i;

	(void)alert;
	if (name == NULL)
		return SSL_TLSEXT_ERR_OK;
	dot = strchr(name, '.');
	for (i = 0; i < s->nnames; i++) {
		const char *n = s->names[i].name;

		if (strcasecmp(n, name) == 0) {
			SSL_set_SSL_CTX(ssl, s->ctx[s->names[i].idx]);
			return SSL_TLSEXT_ERR_OK;
		}
		if (wild < 0 && n[0] == '*' && n[1] == '.' && dot != NULL && dot != name &&
		    strcasecmp(n + 1, dot) == 0)
			wild = s->names[i].idx;
	}
	if (wild > 0)
		SSL_set_SSL_CTX(ssl, s->ctx[wild]);
	return SSL_TLSEXT_ERR_OK;
}

/* A client that offers ALPN but none of ours gets no_application_protocol. */
static int
alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
    unsigned int inlen, void *arg)
{
	const struct tls_srv *s = arg;
	unsigned char *sel;

	(void)ssl;
	if (SSL_select_next_proto(&sel, outlen, s->alpn, s->alpn_len, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/*
 * Session tickets under the shared keys: new tickets with the current key
 * (AES-256-CBC, HMAC-SHA256, a random IV each); a ticket under the previous
 * key is accepted and renewed; an unknown or expired one means a full
 * handshake.
 */
static int
ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *ectx,
    EVP_MAC_CTX *hctx, int enc)
{
	static char digest[] = "SHA256";
	OSSL_PARAM params[3];
	struct tkey k;
	int rc = 1;

	if (enc) {
		if (tickets_current(&k) == -1 || RAND_bytes(iv, 16) != 1) {
			OPENSSL_cleanse(&k, sizeof(k));
			return 0;	/* no ticket this time */
		}
		memcpy(name, k.name, TKEY_NAME_LEN);
		if (EVP_EncryptInit_ex(ectx, EVP_aes_256_cbc(), NULL, k.aes, iv) != 1)
			rc = -1;
	} else {
		rc = tickets_find(name, &k);
		if (rc <= 0)
			return 0;	/* unknown or expired: full handshake */
		/* TLS 1.3 tickets are single use (RFC 8446 C.4): always a fresh one. */
		if (SSL_version(ssl) == TLS1_3_VERSION)
			rc = 2;
		if (EVP_DecryptInit_ex(ectx, EVP_aes_256_cbc(), NULL, k.aes, iv) != 1)
			rc = -1;
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac,
	    TKEY_HMAC_LEN);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[2] = OSSL_PARAM_construct_end();
	if (rc > 0 && EVP_MAC_CTX_set_params(hctx, params) != 1)
		rc = -1;
	OPENSSL_cleanse(&k, sizeof(k));
	return rc;
}

/* Keys are loaded unattended: an encrypted one is an error, never a prompt. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

/* OpenSSL's first and last reasons ("no start line; PEM lib"), for the operator. */
static const char *
ssl_reason(void)
{
	static char buf[160];
	const char *first = ERR_reason_error_string(ERR_peek_error());
	const char *last = ERR_reason_error_string(ERR_peek_last_error());

	if (first == NULL)
		return last != NULL ? last : "unknown error";
	if (last == NULL || strcmp(first, last) == 0)
		return first;
	snprintf(buf, sizeof(buf), "%s; %s", first, last);
	return buf;
}

const char *
tls_lib_version(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}
