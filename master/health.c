/*
 * Active health checks (checker process). Every source is probed on its own
 * schedule, all of them at once on one libev loop: GET <path> with a deadline;
 * fall consecutive failures mark a source down, rise consecutive successes
 * mark it up, a 503/429 with Retry-After takes it out for that long (capped).
 * State goes to shm under the source's seqlock; workers read it on every pick.
 */
#include "master/health.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/conf.h"
#include "common/http1.h"
#include "common/log.h"
#include "common/pdeath.h"
#include "common/privdrop.h"
#include "common/retry_after.h"
#include "common/tls_conf.h"
#include "shm/shm.h"

/*
 * The checker leaves through _exit() (a forked child must not run the
 * master's atexit handlers nor flush its stdio twice), which skips
 * LeakSanitizer's check at exit: a sanitizer build runs it by hand.
 */
#if defined(__SANITIZE_ADDRESS__)
#define HEALTH_LSAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define HEALTH_LSAN	1
#endif
#endif
#ifdef HEALTH_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#define RETRY_AFTER_MAX	300	/* seconds */
#define RESP_HEAD_MAX	4096	/* bytes of a check's response head we read; the
				 * request is built in the same buffer first */
#define RESP_HEADERS	64	/* header fields of that head */
#define PROBE_MAGIC	0x50524f42u	/* "PROB" */
#define LOCAL_RETRY	0.2	/* s before a probe we could not start (no fd) is retried */
#define GAP_MIN		0.01	/* s between two probes of a source, whatever the interval */
#define FD_SPARE	32	/* descriptors beyond one per source: log, loop, signals */

/* One probe's place in its exchange; a source has at most one probe at a time. */
enum probe_state {
	PR_IDLE = 0,		/* waiting for its next start (tmo armed) */
	PR_CONNECT,		/* non-blocking connect pending */
	PR_HANDSHAKE,		/* TLS source: handshake under way */
	PR_SEND,		/* request partly sent */
	PR_RECV,		/* reading the response head */
	PR__COUNT
};

/* The outcome of one probe, turned into the shm record by record(). */
struct verdict {
	int		 ok;		/* 2xx or 3xx with a well-formed head */
	int		 status;	/* HTTP status, 0 if no head was parsed */
	int		 retry_after;	/* seconds from a 503/429, capped; 0 = none */
	uint32_t	 reason;	/* enum shm_reason when !ok */
	const char	*why;		/* static text for the log when !ok */
};

/*
 * One per source, for the checker's lifetime. Owns fd while a probe runs.
 * buf holds the request while it is sent, then the response head: what a
 * source may make us hold is bounded by its size.
 */
struct probe {
	uint32_t		 magic;		/* PROBE_MAGIC, checked in every callback */
	enum probe_state	 state;
	const struct source_conf *src;		/* borrowed: the checker's conf */
	struct shm_source	*ss;		/* borrowed: its slot in the segment */
	const struct checker	*ck;		/* borrowed: the owner */
	int			 fd;		/* -1 while idle */
	SSL			*ssl;		/* TLS source: the probe's session, or NULL */
	ev_io			 io;
	ev_timer		 tmo;		/* deadline while running, next start while idle */
	ev_tstamp		 started;	/* ev_now() at the start of the running probe */
	uint32_t		 len;		/* request bytes to send, then response bytes held */
	uint32_t		 off;		/* request bytes sent */
	char			 buf[RESP_HEAD_MAX];
};

struct checker {
	const struct conf	*conf;		/* borrowed: the checker's copy over fork */
	struct ev_loop		*loop;
	struct probe		*probes;	/* owned: one per conf source */
	uint32_t		 nprobes;
	ev_signal		 sig[3];	/* TERM, INT, QUIT: stop */
};

static _Noreturn void	checker_exit(int status);
static void	checker_run(struct checker *ck, struct shm_seg *seg, const uint32_t *src_slot);
static void	raise_fd_limit(uint32_t need);
static void	sig_cb(struct ev_loop *loop, ev_signal *w, int revents);
static void	io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void	tmo_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void	probe_start(struct probe *p);
static int	probe_addr(const struct probe *p, struct sockaddr_storage *ss, socklen_t *len);
static void	probe_run(struct probe *p);
static int	probe_connected(struct probe *p, struct verdict *v);
static int	probe_tls(struct probe *p, struct verdict *v);
static int	probe_wait(struct probe *p, int events);
static ssize_t	probe_io(struct probe *p, int wr, char *buf, size_t len);
static int	probe_send(struct probe *p, struct verdict *v);
static int	probe_recv(struct probe *p, struct verdict *v);
static void	judge(const struct http1_resp *r, struct verdict *v);
static void	probe_finish(struct probe *p, const struct verdict *v);
static void	fail(struct verdict *v, uint32_t reason, const char *why);
static void	record(const struct conf *c, const struct probe *p, const struct verdict *v);

/* Step results of the probe_* steps driven by probe_run(). */
enum {
	STEP_NEXT = 0,		/* state advanced: run the next step */
	STEP_WAIT,		/* watcher armed: wait for the socket */
	STEP_DONE		/* verdict filled: finish */
};

pid_t
health_spawn(const struct conf *c, struct shm_seg *seg, const uint32_t *src_slot,
    const int *close_fds, uint32_t nclose)
{
	struct checker ck;
	pid_t pid, master = getpid();
	uint32_t i;
	char err[256];

	pid = fork();
	if (pid == -1) {
		log_warn("%s: fork health checker", __func__);
		return -1;
	}
	if (pid > 0)
		return pid;
	log_role("health");
	/* A master killed with SIGKILL must not leave the checker running. */
	if (pdeath_arm(master, SIGQUIT) == -1)
		log_warn("health checker: cannot ask for a signal at the master's death");
	for (i = 0; i < nclose; i++)
		close(close_fds[i]);
	/* Every source may have a probe open at once: one descriptor each. */
	raise_fd_limit(c->nsources + FD_SPARE);
	/* Probes need no privilege: the checker drops to `user` like the workers. */
	if (c->user[0] != '\0' && getuid() == 0) {
		if (privdrop_user(c->user, err, sizeof(err)) == -1) {
			log_error("health checker: %s", err);
			checker_exit(1);
		}
		/* The uid change cleared the master-death signal: ask again. */
		if (pdeath_arm(master, SIGQUIT) == -1)
			log_warn("health checker: cannot ask for a signal at the master's death");
	}
	memset(&ck, 0, sizeof(ck));
	ck.conf = c;
	checker_run(&ck, seg, src_slot);
	checker_exit(0);
}

/*
 * Ends the checker process. Everything it allocated itself is freed by now;
 * what it inherited from the master is still reachable from the master's
 * globals and stack frames, so any report is a leak of the checker's own.
 * A leak makes LeakSanitizer print its report and exit non-zero (or abort
 * with abort_on_error), which the sanitized test run sees in the log.
 */
static _Noreturn void
checker_exit(int status)
{
#ifdef HEALTH_LSAN
	__lsan_do_leak_check();
#endif
	_exit(status);
}

/* Lifts the soft descriptor limit toward the hard one when need exceeds it. */
static void
raise_fd_limit(uint32_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ? rl.rlim_max : need;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("health checker: cannot raise the descriptor limit to %u", need);
}

/*
 * The checker's loop: every probe starts at once, then each source follows
 * its own interval, so one slow or silent source delays no other. Returns
 * on TERM, INT or QUIT (also sent at the master's death).
 */
static void
checker_run(struct checker *ck, struct shm_seg *seg, const uint32_t *src_slot)
{
	static const int sigs[3] = { SIGTERM, SIGINT, SIGQUIT };
	const struct conf *c = ck->conf;
	sigset_t none;
	uint32_t i;

	ck->loop = ev_default_loop(EVFLAG_AUTO | EVFLAG_NOENV);
	ck->probes = calloc(c->nsources, sizeof(*ck->probes));
	if (ck->loop == NULL || ck->probes == NULL) {
		log_error("health checker: cannot set up its event loop; no checks run");
		free(ck->probes);
		return;
	}
	for (i = 0; i < 3; i++) {
		ev_signal_init(&ck->sig[i], sig_cb, sigs[i]);
		ev_signal_start(ck->loop, &ck->sig[i]);
	}
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* The master blocked signals around fork; the loop's handlers take over now. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	ck->nprobes = c->nsources;
	for (i = 0; i < ck->nprobes; i++) {
		struct probe *p = &ck->probes[i];

		p->magic = PROBE_MAGIC;
		p->state = PR_IDLE;
		p->src = &c->sources[i];
		p->ss = shm_source(seg, src_slot[i]);
		p->ck = ck;
		p->fd = -1;
		ev_io_init(&p->io, io_cb, -1, EV_WRITE);
		ev_timer_init(&p->tmo, tmo_cb, 0., 0.);
		ev_timer_start(ck->loop, &p->tmo);	/* first round at once */
	}
	ev_run(ck->loop, 0);
	for (i = 0; i < ck->nprobes; i++) {
		struct probe *p = &ck->probes[i];

		ev_io_stop(ck->loop, &p->io);
		ev_timer_stop(ck->loop, &p->tmo);
		SSL_free(p->ssl);
		if (p->fd != -1)
			close(p->fd);
		p->magic = 0;
	}
	free(ck->probes);
	ck->probes = NULL;
	ev_loop_destroy(ck->loop);
}

static void
sig_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void
tmo_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct probe *p = (struct probe *)((char *)w - offsetof(struct probe, tmo));
	struct verdict v;

	(void)loop;
	(void)revents;
	assert(p->magic == PROBE_MAGIC && p->state < PR__COUNT);
	if (p->state == PR_IDLE) {
		probe_start(p);
		return;
	}
	memset(&v, 0, sizeof(v));
	if (p->state == PR_CONNECT)
		fail(&v, SHM_R_TIMEOUT, "connect timed out");
	else if (p->state == PR_HANDSHAKE)
		fail(&v, SHM_R_TIMEOUT, "TLS handshake timed out");
	else
		fail(&v, SHM_R_TIMEOUT, "no response in time");
	probe_finish(p, &v);
}

static void
io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct probe *p = (struct probe *)((char *)w - offsetof(struct probe, io));

	(void)loop;
	(void)revents;
	assert(p->magic == PROBE_MAGIC && p->state > PR_IDLE && p->state < PR__COUNT);
	probe_run(p);
}

/* Opens the connection and arms the deadline (health.timeout for the whole probe). */
static void
probe_start(struct probe *p)
{
	const struct checker *ck = p->ck;
	const struct source_conf *s = p->src;
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct verdict v;

	memset(&v, 0, sizeof(v));
	p->started = ev_now(ck->loop);
	p->len = p->off = 0;
	if (probe_addr(p, &ss, &sslen) == -1) {
		fail(&v, SHM_R_CONNECT, "no address yet (the name has not resolved)");
		p->state = PR_CONNECT;	/* so that probe_finish() has a probe to end */
		probe_finish(p, &v);
		return;
	}
	p->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd == -1) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* Our shortage, not the source's fault: no verdict, try again soon. */
			log_debug("%s: source %s: %s", __func__, s->name, strerror(errno));
			ev_timer_set(&p->tmo, LOCAL_RETRY, 0.);
			ev_timer_start(ck->loop, &p->tmo);
			return;
		}
		fail(&v, SHM_R_CONNECT, "socket");
		p->state = PR_CONNECT;	/* so that probe_finish() has a probe to end */
		probe_finish(p, &v);
		return;
	}
	p->state = PR_CONNECT;
	ev_timer_set(&p->tmo, ck->conf->health.timeout, 0.);
	ev_timer_start(ck->loop, &p->tmo);
	if (connect(p->fd, (const struct sockaddr *)&ss, sslen) == -1 &&
	    errno != EINPROGRESS) {
		fail(&v, SHM_R_CONNECT, "connect refused");
		probe_finish(p, &v);
		return;
	}
	ev_io_set(&p->io, p->fd, EV_WRITE);
	ev_io_start(ck->loop, &p->io);
}

/*
 * Where to probe: the configured address, or for a resolve = true source the
 * one the resolver published (as the workers connect to it). -1 when such a
 * source has no address yet.
 */
static int
probe_addr(const struct probe *p, struct sockaddr_storage *ss, socklen_t *len)
{
	const struct source_conf *s = p->src;
	struct shm_addr_rec r;

	if (!s->resolve) {
		memcpy(ss, &s->addr.ss, sizeof(*ss));
		*len = s->addr.len;
		return 0;
	}
	/* The port as written: the name may not have resolved at load. */
	if (shm_addr_read(p->ss, &r) == 0 && shm_addr_sockaddr(&r, s->addr.port, ss, len) == 0)
		return 0;
	if (s->addr.len == 0)
		return -1;
	memcpy(ss, &s->addr.ss, sizeof(*ss));	/* the address found at load */
	*len = s->addr.len;
	return 0;
}

/* Drives the running probe until it must wait for its socket or has a verdict. */
static void
probe_run(struct probe *p)
{
	struct verdict v;
	int r = STEP_NEXT;

	memset(&v, 0, sizeof(v));
	while (r == STEP_NEXT) {
		switch (p->state) {
		case PR_CONNECT:
			r = probe_connected(p, &v);
			break;
		case PR_HANDSHAKE:
			r = probe_tls(p, &v);
			break;
		case PR_SEND:
			r = probe_send(p, &v);
			break;
		case PR_RECV:
			r = probe_recv(p, &v);
			break;
		default:
			assert(!"probe_run on an idle probe");
			return;
		}
	}
	if (r == STEP_DONE)
		probe_finish(p, &v);
}

/* Writable after a non-blocking connect: see whether it worked, build the request. */
static int
probe_connected(struct probe *p, struct verdict *v)
{
	const struct conf *c = p->ck->conf;
	socklen_t elen;
	int err = 0, len;

	elen = sizeof(err);
	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1 || err != 0) {
		fail(v, SHM_R_CONNECT, "connect refused");
		return STEP_DONE;
	}
	len = snprintf(p->buf, sizeof(p->buf), "GET %s HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: sluice-health\r\nConnection: close\r\n\r\n", c->health.path,
	    p->src->addr.hostport);
	if (len < 0 || (size_t)len >= sizeof(p->buf)) {
		fail(v, SHM_R_CONNECT, "send failed");	/* path and host are config-bounded */
		return STEP_DONE;
	}
	p->len = (uint32_t)len;
	p->off = 0;
	p->state = PR_SEND;
	if (p->src->tls.enabled) {
		/* A TLS source is checked over TLS, verified as the workers verify it. */
		const char *sni = tls_cli_sni(p->src->tls.cli);

		p->ssl = SSL_new(tls_cli_ctx(p->src->tls.cli));
		if (p->ssl == NULL || SSL_set_fd(p->ssl, p->fd) != 1 ||
		    (sni != NULL && SSL_set_tlsext_host_name(p->ssl, sni) != 1)) {
			ERR_clear_error();
			fail(v, SHM_R_CONNECT, "no memory for TLS");
			return STEP_DONE;
		}
		SSL_set_connect_state(p->ssl);
		p->state = PR_HANDSHAKE;
	}
	return STEP_NEXT;
}

/* The TLS handshake with the source; a failure says why (verification). */
static int
probe_tls(struct probe *p, struct verdict *v)
{
	static char why[200];
	unsigned long e;
	long vr;
	int r;

	ERR_clear_error();
	r = SSL_do_handshake(p->ssl);
	if (r == 1) {
		p->state = PR_SEND;
		return STEP_NEXT;
	}
	switch (SSL_get_error(p->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return probe_wait(p, EV_READ);
	case SSL_ERROR_WANT_WRITE:
		return probe_wait(p, EV_WRITE);
	default:
		e = ERR_peek_last_error();
		vr = SSL_get_verify_result(p->ssl);
		snprintf(why, sizeof(why), "TLS handshake failed: %s%s%s",
		    e != 0 && ERR_reason_error_string(e) != NULL ? ERR_reason_error_string(e) :
		    "connection closed", vr != X509_V_OK ? ": " : "",
		    vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "");
		ERR_clear_error();
		fail(v, SHM_R_CONNECT, why);
		return STEP_DONE;
	}
}

/* Waits for events on the probe's socket. */
static int
probe_wait(struct probe *p, int events)
{
	ev_io_stop(p->ck->loop, &p->io);
	ev_io_set(&p->io, p->fd, events);
	ev_io_start(p->ck->loop, &p->io);
	return STEP_WAIT;
}

/*
 * send()/recv() or their TLS counterparts: > 0 bytes, 0 EOF, -1 with errno
 * (EAGAIN: wait; for TLS, errno EAGAIN and p->io armed for what it wants).
 */
static ssize_t
probe_io(struct probe *p, int wr, char *buf, size_t len)
{
	size_t n;
	int r, e;

	if (p->ssl == NULL)
		return wr ? send(p->fd, buf, len, MSG_NOSIGNAL) : recv(p->fd, buf, len, 0);
	ERR_clear_error();
	r = wr ? SSL_write_ex(p->ssl, buf, len, &n) : SSL_read_ex(p->ssl, buf, len, &n);
	if (r == 1)
		return (ssize_t)n;
	e = SSL_get_error(p->ssl, 0);
	ERR_clear_error();
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		(void)probe_wait(p, e == SSL_ERROR_WANT_READ ? EV_READ : EV_WRITE);
		errno = EAGAIN;
		return -1;
	}
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	errno = ECONNRESET;
	return -1;
}

static int
probe_send(struct probe *p, struct verdict *v)
{
	ssize_t n;

	while (p->off < p->len) {
		n = probe_io(p, 1, p->buf + p->off, p->len - p->off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return p->ssl != NULL ? STEP_WAIT : probe_wait(p, EV_WRITE);
		if (n <= 0) {
			fail(v, SHM_R_CONNECT, "send failed");
			return STEP_DONE;
		}
		p->off += (uint32_t)n;
	}
	p->len = 0;
	p->state = PR_RECV;
	/* TLS may hold response bytes already read: try before waiting. */
	if (p->ssl != NULL)
		return STEP_NEXT;
	return probe_wait(p, EV_READ);
}

/*
 * Reads into what is left of buf and parses the whole head again, as
 * strictly as the workers parse a response. The head is enough (Retry-After
 * is in it); one that does not fit buf is malformed, so neither an endless
 * head nor a flood grows anything.
 */
static int
probe_recv(struct probe *p, struct verdict *v)
{
	struct http1_header hdrs[RESP_HEADERS];
	struct http1_resp r;
	ssize_t n;
	int head;

	for (;;) {
		n = probe_io(p, 0, p->buf + p->len, sizeof(p->buf) - p->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return p->ssl != NULL ? STEP_WAIT : probe_wait(p, EV_READ);
		if (n == -1) {
			fail(v, SHM_R_RESET, "reset before a complete response");
			return STEP_DONE;
		}
		if (n == 0) {
			fail(v, SHM_R_RESET, "closed before a complete response");
			return STEP_DONE;
		}
		p->len += (uint32_t)n;
		head = http1_parse_resp(p->buf, p->len, sizeof(p->buf), &r, hdrs, RESP_HEADERS);
		if (head > 0) {
			judge(&r, v);
			return STEP_DONE;
		}
		if (head != HTTP1_PARTIAL || p->len == sizeof(p->buf)) {
			fail(v, SHM_R_MALFORMED, "malformed response");
			return STEP_DONE;
		}
	}
}

/* A complete head: 2xx/3xx is good; a 503/429 may carry a Retry-After hold. */
static void
judge(const struct http1_resp *r, struct verdict *v)
{
	const struct http1_header *ra;
	uint32_t secs;

	v->status = r->status;
	if ((r->status == 503 || r->status == 429) &&
	    (ra = http1_find(r->headers, r->nheaders, "retry-after")) != NULL &&
	    retry_after_parse(ra->value.p, ra->value.len, time(NULL), &secs) == 0)
		v->retry_after = secs > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : (int)secs;
	if (r->status >= 200 && r->status < 400) {
		v->ok = 1;
		return;
	}
	fail(v, SHM_R_STATUS, "bad status");
}

static void
fail(struct verdict *v, uint32_t reason, const char *why)
{
	v->ok = 0;
	v->reason = reason;
	v->why = why;
}

/* Ends the running probe: closes it, records v, and schedules the next one. */
static void
probe_finish(struct probe *p, const struct verdict *v)
{
	struct ev_loop *loop = p->ck->loop;
	ev_tstamp next;

	assert(p->state != PR_IDLE);
	ev_io_stop(loop, &p->io);
	ev_timer_stop(loop, &p->tmo);
	if (p->ssl != NULL) {
		SSL_free(p->ssl);	/* no close_notify: the probe asked Connection: close */
		p->ssl = NULL;
		ERR_clear_error();
	}
	if (p->fd != -1)
		close(p->fd);
	p->fd = -1;
	p->state = PR_IDLE;
	record(p->ck->conf, p, v);
	/* Each source keeps its own interval, counted from the start of its probe. */
	ev_now_update(loop);
	next = p->started + p->ck->conf->health.interval - ev_now(loop);
	ev_timer_set(&p->tmo, next > GAP_MIN ? next : GAP_MIN, 0.);
	ev_timer_start(loop, &p->tmo);
}

/* Applies one verdict to the source's health record (rise/fall, Retry-After). */
static void
record(const struct conf *c, const struct probe *p, const struct verdict *v)
{
	struct shm_health_rec h;
	uint32_t was;

	if (shm_health_read(p->ss, &h) == -1)
		memset(&h, 0, sizeof(h));
	was = h.state;
	h.checks++;
	h.status = (uint32_t)v->status;
	if (v->ok) {
		h.oks++;
		h.fails = 0;
		if (h.state == SHM_H_DOWN && h.oks >= c->health.rise) {
			h.state = SHM_H_UP;
			h.reason = SHM_R_NONE;
		}
	} else {
		h.fails++;
		h.oks = 0;
		if (v->retry_after > 0) {
			h.down_until_ms = shm_now_ms() + (uint64_t)v->retry_after * 1000;
			h.reason = SHM_R_RETRY_AFTER;
		}
		if (h.state == SHM_H_UP && h.fails >= c->health.fall) {
			h.state = SHM_H_DOWN;
			h.reason = v->reason;
		}
	}
	if (h.state != was) {
		h.since_ms = shm_now_ms();
		if (h.state == SHM_H_DOWN)
			log_warnx("source %s is down: %s%s%.0d (%u failed checks)", p->src->name,
			    v->why, v->status ? ", status " : "", v->status, h.fails);
		else
			log_info("source %s is up (%u good checks)", p->src->name, h.oks);
	}
	shm_health_write(p->ss, &h);
}
