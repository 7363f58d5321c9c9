/*
 * tlsload - the TLS handshake client of `make bench-tls` (tests/bench/run.py).
 *
 * One process, one epoll loop, OpenSSL (the system's libssl, as the three
 * proxies use). CONNS connections run at once; each one connects, does a
 * TLS handshake, sends `GET PATH` and reads the response, then:
 *
 *	-m full		"Connection: close", reads to the server's close, and
 *			starts again with a new connection and a full
 *			handshake: the client keeps no session (the tickets
 *			the server sends are received and dropped).
 *	-m resume	the same, but each connection offers the newest
 *			session (TLS 1.3 ticket) its slot received: resumed
 *			handshakes. A ticket is offered again until a newer
 *			one comes, as `openssl s_time -reuse` does, since a
 *			server may send none on resumption. The first
 *			handshake of each slot is full and happens before the
 *			measured window (see below).
 *	-m hold		keep-alive: one request on each of CONNS connections
 *			(full handshakes, one after the other), then all stay
 *			open and idle until stdin closes or -d seconds pass.
 *
 * Output (stdout, one line each, flushed):
 *	GO		the measured window starts now (resume: once every
 *			slot holds a session; full: after -w warm-up seconds)
 *	TLSLOAD k=v...	at the end of the window (-d seconds after GO):
 *			handshakes completed in the window (full, resumed),
 *			requests answered 200, errors, tickets received,
 *			duration, and the protocol, cipher and group of the
 *			last handshake
 *	HELD n		(hold) n connections are open and idle
 *
 * Every wait is bounded: the run ends at its deadline whatever happens, and
 * a connection that makes no progress for 10 s counts as an error.
 *
 *	usage: tlsload -p PORT [-c CONNS] [-d SECONDS] [-w SECONDS]
 *	               [-m full|resume|hold] [-P PATH]
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define RBUF		4096
#define STALL_NS	(10 * 1000000000LL)

enum mode { M_FULL, M_RESUME, M_HOLD };
enum state { S_IDLE, S_CONNECT, S_HANDSHAKE, S_WRITE, S_READ, S_HELD };

struct slot {
	int		 fd;
	enum state	 st;
	SSL		*ssl;
	SSL_SESSION	*sess;		/* resume: the session to offer next */
	size_t		 wrote;
	size_t		 got;
	long long	 since;		/* ns: last progress */
	int		 fresh;		/* a ticket came on this connection */
	char		 buf[RBUF];
};

static enum mode	mode = M_FULL;
static SSL_CTX		*ctx;
static struct sockaddr_in sa;
static char		 req[256];
static size_t		 req_len;
static int		 ep;
static int		 measuring;
static struct {
	unsigned long long full, resumed, ok, errors, tickets;
} cnt;
static char		 proto[32] = "-", cipher[64] = "-", group[32] = "-";

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int
new_ticket(SSL *ssl, SSL_SESSION *s)
{
	struct slot *c = SSL_get_app_data(ssl);

	(void)s;
	if (c != NULL)
		c->fresh = 1;
	if (measuring)
		cnt.tickets++;
	return 0;	/* not kept by this callback: SSL_get1_session takes it */
}

static void
slot_close(struct slot *c)
{
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	c->st = S_IDLE;
}

static void
slot_fail(struct slot *c)
{
	if (measuring)
		cnt.errors++;
	ERR_clear_error();
	slot_close(c);
}

static int
slot_start(struct slot *c, int idx)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = (uint32_t)idx };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd == -1)
		return -1;
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 && errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	if ((c->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		slot_close(c);
		return -1;
	}
	SSL_set_tlsext_host_name(c->ssl, "bench");
	if (mode == M_RESUME && c->sess != NULL) {
		/* A copy: OpenSSL's client spends a TLS 1.3 session once (marks it
		 * unresumable after use), and a server need not send a new ticket
		 * on resumption; the slot's own copy stays offerable. */
		SSL_SESSION *d = SSL_SESSION_dup(c->sess);

		if (d != NULL) {
			SSL_set_session(c->ssl, d);
			SSL_SESSION_free(d);
		}
	}
	c->fresh = 0;
	SSL_set_app_data(c->ssl, c);
	SSL_set_connect_state(c->ssl);
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) == -1) {
		slot_close(c);
		return -1;
	}
	c->st = S_CONNECT;
	c->wrote = c->got = 0;
	c->since = now_ns();
	return 0;
}

/* 1: a whole response with status 200 is in buf; 0: not yet; -1: bad. */
static int
response_done(struct slot *c, int eof)
{
	char *end, *p;
	size_t head, clen = 0;

	c->buf[c->got] = '\0';
	end = strstr(c->buf, "\r\n\r\n");
	if (end == NULL)
		return eof || c->got >= RBUF - 1 ? -1 : 0;
	head = (size_t)(end - c->buf) + 4;
	if (strncmp(c->buf, "HTTP/1.1 200 ", 13) != 0)
		return -1;
	for (p = c->buf; (p = strchr(p, '\n')) != NULL && p < end; p++)
		if (strncasecmp(p + 1, "content-length:", 15) == 0)
			clen = strtoul(p + 16, NULL, 10);
	if (c->got - head >= clen)
		return mode == M_FULL || mode == M_RESUME ? (eof ? 1 : 0) : 1;
	return eof ? -1 : 0;
}

/* Advances c as far as the socket allows. */
static void
drive(struct slot *c, int idx)
{
	size_t n;
	int r, e;

	for (;;) {
		ERR_clear_error();
		switch (c->st) {
		case S_CONNECT:
			c->st = S_HANDSHAKE;
			/* FALLTHROUGH */
		case S_HANDSHAKE:
			r = SSL_do_handshake(c->ssl);
			if (r != 1) {
				e = SSL_get_error(c->ssl, r);
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					return;
				slot_fail(c);
				return;
			}
			if (measuring) {
				if (SSL_session_reused(c->ssl))
					cnt.resumed++;
				else
					cnt.full++;
			}
			c->st = S_WRITE;
			c->since = now_ns();
			break;
		case S_WRITE:
			if (SSL_write_ex(c->ssl, req + c->wrote, req_len - c->wrote, &n) != 1) {
				e = SSL_get_error(c->ssl, 0);
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					return;
				slot_fail(c);
				return;
			}
			c->wrote += n;
			if (c->wrote == req_len)
				c->st = S_READ;
			break;
		case S_READ:
			if (SSL_read_ex(c->ssl, c->buf + c->got, RBUF - 1 - c->got, &n) == 1) {
				c->got += n;
				c->since = now_ns();
				r = response_done(c, 0);
			} else {
				e = SSL_get_error(c->ssl, 0);
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					return;
				/* close_notify or EOF (SSL_OP_IGNORE_UNEXPECTED_EOF) */
				r = e == SSL_ERROR_ZERO_RETURN ? response_done(c, 1) : -1;
			}
			if (r == 0)
				break;
			if (r < 0) {
				slot_fail(c);
				return;
			}
			if (measuring)
				cnt.ok++;
			snprintf(proto, sizeof(proto), "%s", SSL_get_version(c->ssl));
			snprintf(cipher, sizeof(cipher), "%s", SSL_get_cipher_name(c->ssl));
			snprintf(group, sizeof(group), "%s",
			    SSL_group_to_name(c->ssl, SSL_get_negotiated_group(c->ssl)) ?: "-");
			if (mode == M_HOLD) {
				c->st = S_HELD;
				return;
			}
			/* The server's close_notify ended the exchange: a clean end,
			 * without which SSL_free would mark the session unresumable. */
			SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
			if (mode == M_RESUME) {
				SSL_SESSION *s = c->fresh ? SSL_get1_session(c->ssl) : NULL;

				if (s != NULL && SSL_SESSION_is_resumable(s)) {
					SSL_SESSION_free(c->sess);
					c->sess = s;
				} else {
					SSL_SESSION_free(s);
				}
			}
			slot_close(c);
			if (slot_start(c, idx) == -1)
				slot_fail(c);
			return;
		default:
			return;
		}
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: tlsload -p PORT [-c CONNS] [-d SECONDS] [-w SECONDS] "
	    "[-m full|resume|hold] [-P PATH]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[256];
	struct slot *slots;
	struct rlimit rl;
	const char *path = "/100";
	int port = 0, conns = 50, secs = 5, warm = 1, opt, i, n, held;
	long long t0, go = 0, end, t;

	while ((opt = getopt(argc, argv, "p:c:d:w:m:P:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'c': conns = atoi(optarg); break;
		case 'd': secs = atoi(optarg); break;
		case 'w': warm = atoi(optarg); break;
		case 'P': path = optarg; break;
		case 'm':
			if (strcmp(optarg, "full") == 0)
				mode = M_FULL;
			else if (strcmp(optarg, "resume") == 0)
				mode = M_RESUME;
			else if (strcmp(optarg, "hold") == 0)
				mode = M_HOLD;
			else
				usage();
			break;
		default: usage();
		}
	}
	if (port <= 0 || port > 65535 || conns <= 0 || conns > 100000 || secs <= 0 || warm < 0)
		usage();
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	req_len = (size_t)snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: bench\r\n%s\r\n",
	    path, mode == M_HOLD ? "" : "Connection: close\r\n");
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	/* A client as a browser is: OpenSSL's defaults (TLS 1.3, X25519 key
	 * share), no certificate check (the handshake still verifies the
	 * server's signature), tickets accepted. */
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return 1;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_read_ahead(ctx, 1);	/* fewer read calls: the client is the tight side */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, new_ticket);
	(void)SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)"\x08http/1.1", 9);

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (slots = calloc((size_t)conns, sizeof(*slots))) == NULL)
		return 1;
	for (i = 0; i < conns; i++)
		slots[i].fd = -1;

	t0 = now_ns();
	if (mode == M_HOLD) {
		/* One connection at a time: a full handshake and one request each. */
		end = t0 + (long long)secs * 1000000000LL;
		measuring = 1;
		for (i = 0, held = 0; i < conns && now_ns() < end; i++) {
			if (slot_start(&slots[i], i) == -1) {
				slot_fail(&slots[i]);
				continue;
			}
			drive(&slots[i], i);
			while (slots[i].st != S_HELD && slots[i].st != S_IDLE &&
			    now_ns() - slots[i].since < STALL_NS) {
				n = epoll_wait(ep, evs, 256, 100);
				(void)n;
				drive(&slots[i], i);
			}
			if (slots[i].st == S_HELD)
				held++;
			else if (slots[i].st != S_IDLE)
				slot_fail(&slots[i]);
		}
		printf("HELD %d\n", held);
		printf("TLSLOAD full=%llu resumed=%llu ok=%llu errors=%llu tickets=%llu "
		    "duration_us=%lld proto=%s cipher=%s group=%s\n", cnt.full, cnt.resumed,
		    cnt.ok, cnt.errors, cnt.tickets, (now_ns() - t0) / 1000, proto, cipher, group);
		fflush(stdout);
		/* Idle until stdin closes (the driver is done) or the deadline. */
		{
			char b[64];
			struct timeval tv = { .tv_sec = secs, .tv_usec = 0 };
			fd_set rf;

			FD_ZERO(&rf);
			FD_SET(0, &rf);
			if (select(1, &rf, NULL, NULL, &tv) > 0)
				(void)read(0, b, sizeof(b));
		}
		return 0;
	}

	for (i = 0; i < conns; i++)
		if (slot_start(&slots[i], i) == -1)
			slot_fail(&slots[i]);
	end = 0;
	for (;;) {
		t = now_ns();
		if (!measuring) {
			int ready = 1;

			if (mode == M_RESUME)
				for (i = 0; i < conns; i++)
					ready &= slots[i].sess != NULL;
			else
				ready = t - t0 >= (long long)warm * 1000000000LL;
			if (ready) {
				measuring = 1;
				go = t;
				end = go + (long long)secs * 1000000000LL;
				printf("GO\n");
				fflush(stdout);
			} else if (t - t0 > (long long)(warm + 30) * 1000000000LL) {
				fprintf(stderr, "tlsload: no session on every connection after %d s\n",
				    warm + 30);
				return 1;
			}
		}
		if (measuring && t >= end)
			break;
		n = epoll_wait(ep, evs, 256, 50);
		for (i = 0; i < n; i++)
			drive(&slots[evs[i].data.u32], (int)evs[i].data.u32);
		/* Stalled connections, and slots a failure left empty. */
		t = now_ns();
		for (i = 0; i < conns; i++) {
			if (slots[i].st != S_IDLE && t - slots[i].since > STALL_NS)
				slot_fail(&slots[i]);
			if (slots[i].st == S_IDLE && slot_start(&slots[i], i) == -1)
				slot_fail(&slots[i]);
		}
	}
	printf("TLSLOAD full=%llu resumed=%llu ok=%llu errors=%llu tickets=%llu "
	    "duration_us=%lld proto=%s cipher=%s group=%s\n", cnt.full, cnt.resumed, cnt.ok,
	    cnt.errors, cnt.tickets, (now_ns() - go) / 1000, proto, cipher, group);
	fflush(stdout);
	return 0;
}
