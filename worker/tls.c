/*
 * TLS transport of a client connection: OpenSSL on the non-blocking socket,
 * driven by the connection's run loop. Writes are coalesced into full
 * 16 KB records: the iovecs are copied into one buffer and written at once,
 * never one record per slice.
 */
#include "worker/tls.h"

#include <sys/socket.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/io.h"
#include "common/iobuf.h"
#include "common/proxyproto.h"
#include "common/tls_conf.h"

#define TLS_REC		16384	/* plaintext of one full record */

/* The transport's state, in xport.ctx. */
struct tls_conn {
	SSL		*ssl;
	uint32_t	 pend;		/* bytes of a write SSL_write must be given again */
	uint8_t		 broken;	/* a fatal error: no close_notify */
};

static ssize_t	tls_read(struct xport *t, struct iobuf *b);
static int	tls_idle(struct xport *t);
static ssize_t	tls_writev(struct xport *t, const struct iovec *v, int n);
static void	tls_shutdown_wr(struct xport *t);
static void	tls_close(struct xport *t);
static size_t	gather(char *dst, size_t want, const struct iovec *v, int n, int *vi,
    size_t *off);
static void	set_error(SSL *ssl, int err);
static SSL	*xport_ssl(struct xport *t, SSL_CTX *ctx, const char *sni);

const struct xport_ops xport_tls = {
	.name = "tls",
	.read = tls_read,
	.writev = tls_writev,
	.shutdown_wr = tls_shutdown_wr,
	.close = tls_close,
	.idle = tls_idle,
};

static char	last_error[160];
static char	rec[TLS_REC];	/* one record being written; per worker (one thread) */

/*
 * Switches t to a new SSL of ctx on its fd; sni: the name a client sends,
 * or NULL. Returns the SSL, or NULL (no memory) with t unchanged.
 */
static SSL *
xport_ssl(struct xport *t, SSL_CTX *ctx, const char *sni)
{
	struct tls_conn *tc = calloc(1, sizeof(*tc));

	if (tc == NULL)
		return NULL;
	if ((tc->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(tc->ssl, t->fd) != 1 ||
	    (sni != NULL && SSL_set_tlsext_host_name(tc->ssl, sni) != 1)) {
		SSL_free(tc->ssl);
		free(tc);
		ERR_clear_error();
		return NULL;
	}
	t->ctx = tc;
	t->ops = &xport_tls;
	return tc->ssl;
}

int
tls_xport_init(struct xport *t, const struct tls_srv *srv)
{
	SSL *ssl = xport_ssl(t, tls_srv_ctx(srv), NULL);

	if (ssl == NULL)
		return -1;
	SSL_set_accept_state(ssl);
	return 0;
}

int
tls_xport_connect(struct xport *t, struct tls_cli *cli)
{
	SSL *ssl = xport_ssl(t, tls_cli_ctx(cli), tls_cli_sni(cli));

	if (ssl == NULL)
		return -1;
	if (tls_cli_session(cli) != NULL)
		(void)SSL_set_session(ssl, tls_cli_session(cli));
	SSL_set_connect_state(ssl);
	return 0;
}

enum tls_hs
tls_handshake(struct xport *t)
{
	struct tls_conn *tc = t->ctx;
	int r, e;

	ERR_clear_error();
	r = SSL_do_handshake(tc->ssl);
	if (r == 1)
		return TLS_HS_DONE;
	e = SSL_get_error(tc->ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		return TLS_HS_WANT_READ;
	if (e == SSL_ERROR_WANT_WRITE)
		return TLS_HS_WANT_WRITE;
	tc->broken = 1;
	if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
		ERR_clear_error();
		return TLS_HS_CLOSED;	/* port probes, health checks, impatient clients */
	}
	set_error(tc->ssl, e);
	return TLS_HS_ERR;
}

int
tls_resumed(const struct xport *t)
{
	const struct tls_conn *tc = t->ctx;

	return SSL_session_reused(tc->ssl) == 1;
}

const char *
tls_error(void)
{
	return last_error;
}

size_t
tls_describe(const struct xport *t, char *buf, size_t size)
{
	const struct tls_conn *tc = t->ctx;
	const char *sni = SSL_get_servername(tc->ssl, TLSEXT_NAMETYPE_host_name);
	int n = snprintf(buf, size, "%s/%s/%.100s", SSL_get_version(tc->ssl),
	    SSL_get_cipher_name(tc->ssl), sni != NULL ? sni : "-");
	size_t len = n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1, i;

	/* The client chose the name: nothing in it may break the log line. */
	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] <= ' ' || buf[i] == '"' || buf[i] == '\\' ||
		    (unsigned char)buf[i] >= 0x7f)
			buf[i] = '?';
	return len;
}

ssize_t
tls_proxy_read(int fd, struct iobuf *b)
{
	struct sockaddr_storage ss;
	uint32_t room = iobuf_room(b);
	ssize_t n;
	int r;

	do
		n = recv(fd, b->area + b->head + b->data, room, MSG_PEEK);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? 0 : (errno == EAGAIN || errno == EWOULDBLOCK) ? IO_AGAIN : IO_ERR;
	/* What was peeked joins what came before; take only the header's bytes. */
	r = proxyproto_parse(iobuf_ptr(b), b->data + (size_t)n, &ss);
	if (r > 0)
		n = (ssize_t)r - (ssize_t)b->data;
	do
		n = recv(fd, b->area + b->head + b->data, (size_t)n, 0);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? 0 : IO_ERR;
	b->data += (uint32_t)n;
	return n;
}

/*
 * Fills b's free room with as much plaintext as is available, so a short
 * result means the socket is drained (cconn_read's readiness rule holds).
 */
static ssize_t
tls_read(struct xport *t, struct iobuf *b)
{
	struct tls_conn *tc = t->ctx;
	size_t got = 0, n;
	uint32_t room;
	int e;

	while ((room = iobuf_room(b)) > 0) {
		ERR_clear_error();
		if (SSL_read_ex(tc->ssl, b->area + b->head + b->data, room, &n) == 1) {
			b->data += (uint32_t)n;
			got += n;
			continue;
		}
		e = SSL_get_error(tc->ssl, 0);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return got > 0 ? (ssize_t)got : IO_AGAIN;
		if (e == SSL_ERROR_ZERO_RETURN)
			return (ssize_t)got;	/* close_notify, or EOF: then 0 */
		tc->broken = 1;
		ERR_clear_error();
		return got > 0 ? (ssize_t)got : IO_ERR;
	}
	return (ssize_t)got;
}

/*
 * Copies the iovecs into full records and writes them. A record SSL_write
 * could not send must be given again with the same bytes: pend remembers
 * its length, and the caller, having consumed nothing, passes them first.
 */
static ssize_t
tls_writev(struct xport *t, const struct iovec *v, int n)
{
	struct tls_conn *tc = t->ctx;
	size_t total = 0, len, w, off = 0;
	int vi = 0, e;

	for (;;) {
		len = gather(rec, tc->pend > 0 ? tc->pend : TLS_REC, v, n, &vi, &off);
		if (len == 0 || len < tc->pend)
			break;
		ERR_clear_error();
		if (SSL_write_ex(tc->ssl, rec, len, &w) == 1) {
			tc->pend = 0;
			total += w;
			continue;
		}
		e = SSL_get_error(tc->ssl, 0);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
			tc->pend = (uint32_t)len;
			return total > 0 ? (ssize_t)total : IO_AGAIN;
		}
		tc->broken = 1;
		ERR_clear_error();
		return total > 0 ? (ssize_t)total : IO_ERR;
	}
	if (total == 0 && tc->pend > 0)
		return IO_ERR;	/* the caller changed the bytes of a retried write */
	return (ssize_t)total;
}

/* Up to want bytes of v[*vi..n) from *off on into dst; advances *vi, *off. */
static size_t
gather(char *dst, size_t want, const struct iovec *v, int n, int *vi, size_t *off)
{
	size_t len = 0, k;

	while (*vi < n && len < want) {
		k = v[*vi].iov_len - *off;
		if (k > want - len)
			k = want - len;
		memcpy(dst + len, (const char *)v[*vi].iov_base + *off, k);
		len += k;
		*off += k;
		if (*off == v[*vi].iov_len) {
			(*vi)++;
			*off = 0;
		}
	}
	return len;
}

/*
 * A parked connection became readable: TLS 1.3 session tickets (and other
 * records that carry no data) keep it; data, an alert or EOF end it.
 */
static int
tls_idle(struct xport *t)
{
	struct tls_conn *tc = t->ctx;
	char c;
	size_t n;
	int e;

	ERR_clear_error();
	if (SSL_read_ex(tc->ssl, &c, 1, &n) == 1)
		return -1;	/* a byte nobody asked for */
	e = SSL_get_error(tc->ssl, 0);
	ERR_clear_error();
	if (e == SSL_ERROR_WANT_READ)
		return 0;
	tc->broken = e != SSL_ERROR_ZERO_RETURN;
	return -1;
}

/* close_notify, then FIN: the peer reads a clean end of our direction. */
static void
tls_shutdown_wr(struct xport *t)
{
	struct tls_conn *tc = t->ctx;

	if (!tc->broken && SSL_is_init_finished(tc->ssl)) {
		ERR_clear_error();
		(void)SSL_shutdown(tc->ssl);
		ERR_clear_error();
	}
	(void)shutdown(t->fd, SHUT_WR);
}

static void
tls_close(struct xport *t)
{
	struct tls_conn *tc = t->ctx;

	if (tc != NULL) {
		/* Best effort close_notify: a close-delimited body then ends cleanly. */
		if (!tc->broken && SSL_is_init_finished(tc->ssl) &&
		    !(SSL_get_shutdown(tc->ssl) & SSL_SENT_SHUTDOWN)) {
			ERR_clear_error();
			(void)SSL_shutdown(tc->ssl);
		}
		ERR_clear_error();
		SSL_free(tc->ssl);
		free(tc);
		t->ctx = NULL;
	}
	if (t->fd != -1)
		(void)close(t->fd);
	t->fd = -1;
}

static void
set_error(SSL *ssl, int err)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
	long v = SSL_get_verify_result(ssl);

	if (r != NULL && v != X509_V_OK && !SSL_is_server(ssl))
		snprintf(last_error, sizeof(last_error), "%s: %s", r,
		    X509_verify_cert_error_string(v));
	else if (r != NULL)
		snprintf(last_error, sizeof(last_error), "%s", r);
	else if (err == SSL_ERROR_SYSCALL && errno != 0)
		snprintf(last_error, sizeof(last_error), "%s", strerror(errno));
	else if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN)
		snprintf(last_error, sizeof(last_error), "client closed the connection");
	else
		snprintf(last_error, sizeof(last_error), "error %d", err);
	ERR_clear_error();
}
