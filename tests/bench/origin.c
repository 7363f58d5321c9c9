/*
 * origin - the fixed backend of `make bench`.
 *
 * One process, one epoll loop, no dependencies. It listens on every port
 * given on the command line (127.0.0.1) and answers keep-alive HTTP/1.1
 * requests with bodies built once at start, chosen by path:
 *
 *	/100 (and /)	100 bytes
 *	/16k		16 KiB
 *	/1m		1 MiB
 *	/__stats	"accepts N\nrequests N\n": connections accepted and
 *			requests answered, not counting /__stats itself
 *
 * A request body (Content-Length only; a 1 MiB upload is `POST /upload`) is
 * read and discarded, then the path's response is sent. Requests may be
 * pipelined. "Connection: close" or HTTP/1.0 without keep-alive closes after
 * the response. Anything it does not understand gets 400 and a close: the
 * benchmark must notice a proxy that sends something odd, not hide it.
 *
 * It must cost the machine as little as possible per request, since it
 * shares a CPU with the load generator: level-triggered epoll, no read that
 * is expected to return EAGAIN, the mask changed only when a write blocks.
 *
 *	usage: origin PORT [PORT...]
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
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PORTS	8
#define RBUF_SIZE	16384
#define LISTEN_TAG	(UINT64_C(1) << 32)	/* epoll data: listener, not client */

enum body { BODY_100, BODY_16K, BODY_1M, BODY_404, BODY_COUNT };

static const size_t body_len[BODY_COUNT] = { 100, 16384, 1048576, 10 };

/* Prebuilt responses, head and body contiguous: [body][keep-alive, close]. */
static struct {
	char	*buf;
	size_t	 len;
} resp[BODY_COUNT][2];

struct conn {
	int		 fd;
	uint32_t	 mask;		/* events registered with epoll */
	int		 close_after;	/* close once out_left is sent */
	int		 stats_conn;	/* its first request was /__stats */
	uint64_t	 nreq;
	uint64_t	 body_left;	/* request body bytes still to discard */
	const char	*pending;	/* response to send once the body is read */
	size_t		 pending_len;
	int		 pending_close;
	const char	*out;		/* response being written */
	size_t		 out_left;
	size_t		 rlen;		/* bytes in rbuf */
	char		 sbuf[128];	/* /__stats response */
	char		 rbuf[RBUF_SIZE];
};

static int		 epfd;
static struct conn	**conns;	/* indexed by fd */
static size_t		 nconns_max;
static uint64_t		 n_accepts, n_stats_conns, n_requests;

static void	 build_responses(void);
static int	 listen_on(int port);
static void	 accept_all(int lfd);
static void	 serve(struct conn *c, int readable);
static int	 step(struct conn *c);
static int	 parse_head(struct conn *c, size_t hlen);
static void	 set_mask(struct conn *c, uint32_t mask);
static void	 conn_close(struct conn *c);
static void	 fatal(const char *what);

static void
fatal(const char *what)
{
	fprintf(stderr, "origin: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
build_responses(void)
{
	static const char *const status[BODY_COUNT] = {
		"200 OK", "200 OK", "200 OK", "404 Not Found"
	};
	char head[256];
	int b, cl;

	for (b = 0; b < BODY_COUNT; b++) {
		for (cl = 0; cl < 2; cl++) {
			int hl = snprintf(head, sizeof(head),
			    "HTTP/1.1 %s\r\nServer: origin\r\n"
			    "Content-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n",
			    status[b], body_len[b], cl ? "Connection: close\r\n" : "");
			char *p = malloc((size_t)hl + body_len[b]);

			if (p == NULL)
				fatal("malloc");
			memcpy(p, head, (size_t)hl);
			memset(p + hl, 'a' + b, body_len[b]);
			if (body_len[b] > 0)
				p[(size_t)hl + body_len[b] - 1] = '\n';
			resp[b][cl].buf = p;
			resp[b][cl].len = (size_t)hl + body_len[b];
		}
	}
}

static int
listen_on(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct epoll_event ev = { .events = EPOLLIN };
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		fatal("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		fatal("bind");
	if (listen(fd, 4096) == -1)
		fatal("listen");
	ev.data.u64 = LISTEN_TAG | (uint64_t)fd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		fatal("epoll_ctl");
	return fd;
}

static void
accept_all(int lfd)
{
	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct conn *c;
		int fd, one = 1;

		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				perror("origin: accept4");
			return;
		}
		if ((size_t)fd >= nconns_max || (c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		c->mask = EPOLLIN;
		ev.data.u64 = (uint64_t)fd;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
			close(fd);
			free(c);
			continue;
		}
		conns[fd] = c;
		n_accepts++;
	}
}

static void
set_mask(struct conn *c, uint32_t mask)
{
	struct epoll_event ev = { .events = mask, .data.u64 = (uint64_t)c->fd };

	if (c->mask == mask)
		return;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->mask = mask;
}

static void
conn_close(struct conn *c)
{
	conns[c->fd] = NULL;
	close(c->fd);		/* also leaves the epoll set */
	free(c);
}

/*
 * Parses the request head rbuf[0, hlen) and queues its response. Returns 0,
 * or -1 for a request this origin does not serve (then 400 is queued and the
 * connection closes).
 */
static int
parse_head(struct conn *c, size_t hlen)
{
	char *p = c->rbuf, *end = c->rbuf + hlen, *eol, *sp1, *sp2;
	int http10, keepalive_seen = 0, close_seen = 0, stats = 0;
	uint64_t clen = 0;
	enum body b;
	size_t plen;

	eol = memchr(p, '\r', (size_t)(end - p));
	sp1 = memchr(p, ' ', (size_t)(eol - p));
	if (sp1 == NULL)
		return -1;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (sp2 == NULL || eol - sp2 != 9 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return -1;
	http10 = sp2[8] == '0';
	plen = (size_t)(sp2 - sp1 - 1);
	{
		const char *q = memchr(sp1 + 1, '?', plen);

		if (q != NULL)
			plen = (size_t)(q - sp1 - 1);
	}
#define PATH_IS(s)	(plen == sizeof(s) - 1 && memcmp(sp1 + 1, s, plen) == 0)
	if (PATH_IS("/100") || PATH_IS("/") || PATH_IS("/upload"))
		b = BODY_100;
	else if (PATH_IS("/16k"))
		b = BODY_16K;
	else if (PATH_IS("/1m"))
		b = BODY_1M;
	else if (PATH_IS("/__stats"))
		b = BODY_100, stats = 1;
	else
		b = BODY_404;
#undef PATH_IS

	for (p = eol + 2; p < end - 2; p = eol + 2) {
		char *colon, *v;

		eol = memchr(p, '\r', (size_t)(end - p));
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon == NULL)
			return -1;
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
#define NAME_IS(s)	((size_t)(colon - p) == sizeof(s) - 1 && strncasecmp(p, s, sizeof(s) - 1) == 0)
		if (NAME_IS("Content-Length")) {
			char *e;

			errno = 0;
			clen = strtoull(v, &e, 10);
			if (errno != 0 || e == v)
				return -1;
		} else if (NAME_IS("Transfer-Encoding")) {
			return -1;
		} else if (NAME_IS("Connection")) {
			*eol = '\0';
			if (strcasestr(v, "close") != NULL)
				close_seen = 1;
			if (strcasestr(v, "keep-alive") != NULL)
				keepalive_seen = 1;
			*eol = '\r';
		}
#undef NAME_IS
	}

	if (c->nreq++ == 0 && stats) {
		c->stats_conn = 1;
		n_stats_conns++;
	}
	if (stats) {
		char body[64];
		int m = snprintf(body, sizeof(body), "accepts %llu\nrequests %llu\n",
		    (unsigned long long)(n_accepts - n_stats_conns),
		    (unsigned long long)n_requests);
		int n = snprintf(c->sbuf, sizeof(c->sbuf),
		    "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", m, body);

		c->pending = c->sbuf;
		c->pending_len = (size_t)n;
		c->pending_close = 0;
	} else {
		int cl = close_seen || (http10 && !keepalive_seen);

		n_requests++;
		c->pending = resp[b][cl].buf;
		c->pending_len = resp[b][cl].len;
		c->pending_close = cl;
	}
	c->body_left = clen;
	return 0;
}

/*
 * Makes progress on buffered input without a system call: discards body
 * bytes, or parses one complete head. Returns 1 if it did something, 0 if
 * more input is needed.
 */
static int
step(struct conn *c)
{
	char *h;
	size_t hlen;

	if (c->pending != NULL && c->body_left == 0) {
		c->out = c->pending;
		c->out_left = c->pending_len;
		c->close_after = c->pending_close;
		c->pending = NULL;
		return 1;
	}
	if (c->body_left > 0) {
		size_t n = c->rlen < c->body_left ? c->rlen : (size_t)c->body_left;

		if (n == 0)
			return 0;
		memmove(c->rbuf, c->rbuf + n, c->rlen - n);
		c->rlen -= n;
		c->body_left -= n;
		return 1;
	}
	if (c->rlen < 4 || (h = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4)) == NULL)
		return 0;
	hlen = (size_t)(h - c->rbuf) + 4;
	if (parse_head(c, hlen) == -1) {
		static const char bad[] = "HTTP/1.1 400 Bad Request\r\n"
		    "Content-Length: 0\r\nConnection: close\r\n\r\n";

		fprintf(stderr, "origin: bad request: %.*s\n", (int)hlen, c->rbuf);
		c->out = bad;
		c->out_left = sizeof(bad) - 1;
		c->close_after = 1;
		c->rlen = 0;
		return 1;
	}
	memmove(c->rbuf, c->rbuf + hlen, c->rlen - hlen);
	c->rlen -= hlen;
	return 1;
}

/*
 * Runs a connection as far as it can go. `readable`: epoll said so, so one
 * read is sure to find data or EOF; further reads are tried only after a read
 * filled the buffer, never on speculation.
 */
static void
serve(struct conn *c, int readable)
{
	int may_read = readable;

	for (;;) {
		ssize_t n;

		if (c->out_left > 0) {
			n = write(c->fd, c->out, c->out_left);
			if (n == -1) {
				if (errno == EAGAIN) {
					set_mask(c, EPOLLOUT);
					return;
				}
				if (errno == EINTR)
					continue;
				conn_close(c);
				return;
			}
			c->out += n;
			c->out_left -= (size_t)n;
			continue;
		}
		if (c->close_after) {
			shutdown(c->fd, SHUT_WR);
			conn_close(c);
			return;
		}
		if (step(c))
			continue;
		if (c->rlen == sizeof(c->rbuf)) {	/* a head larger than the buffer */
			conn_close(c);
			return;
		}
		if (!may_read) {
			set_mask(c, EPOLLIN);
			return;
		}
		/* Body bytes are discarded: read them over the start of the buffer. */
		n = read(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			conn_close(c);
			return;
		}
		if (n == -1) {
			may_read = errno == EINTR;
			continue;
		}
		may_read = (size_t)n == sizeof(c->rbuf) - c->rlen;
		c->rlen += (size_t)n;
	}
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[256];
	struct rlimit rl;
	int i;

	if (argc < 2 || argc - 1 > MAX_PORTS) {
		fprintf(stderr, "usage: origin PORT [PORT...]\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	nconns_max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ?
	    (size_t)rl.rlim_cur : 65536;
	if ((conns = calloc(nconns_max, sizeof(*conns))) == NULL)
		fatal("calloc");
	build_responses();
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	for (i = 1; i < argc; i++)
		listen_on(atoi(argv[i]));
	printf("origin: ready\n");
	fflush(stdout);

	for (;;) {
		int n = epoll_wait(epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), -1);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			fatal("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			uint64_t d = evs[i].data.u64;
			struct conn *c;

			if (d & LISTEN_TAG) {
				accept_all((int)(d & 0xffffffffu));
				continue;
			}
			if ((c = conns[d]) == NULL)
				continue;
			if ((evs[i].events & (EPOLLERR | EPOLLHUP)) && !(evs[i].events & EPOLLIN)) {
				conn_close(c);
				continue;
			}
			serve(c, (evs[i].events & EPOLLIN) != 0);
		}
	}
}
