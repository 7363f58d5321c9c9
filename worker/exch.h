/*
 * One request/response exchange and the calls between the parts of the
 * worker that drive it: the client side (cconn.c: the run loop and the one
 * exit), dispatch (dispatch.c: route, rules, source, retry policy), the
 * backend side (backend.c: its own state machine), head building (heads.c),
 * our own responses (errpage.c), the tunnel (tunnel.c) and the end of an
 * exchange (xend.c: counters and the access log).
 */
#ifndef SLUICE_EXCH_H
#define SLUICE_EXCH_H

#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <ev.h>

#include "common/http1.h"
#include "common/iobuf.h"
#include "shm/layout.h"

struct cconn;
struct rewrite_ctx;
struct route_conf;
struct route_rt;
struct upool;
struct uconn;
struct worker;

#define EXCH_MAGIC	0x45584348u	/* "EXCH" */
#define EXTRA_IOV	40	/* iovecs beyond the header lines: request line, our headers */
#define LINES_CAP	4096	/* rewritten Location + Refresh header lines */
#define TARGET_EXTRA	1024	/* a rewrite may make the target this much longer */
#define MAX_INTERIM	10	/* 1xx responses per request before the response is malformed */
#define EXCH_RID_MAX	64	/* bytes of a request id we keep (longer incoming ones are replaced) */

/*
 * What a step of the run loop asks of it (only the run loop acts on it):
 * go on, wait for an event, or end the connection (cause in c->x or
 * c->end_cause).
 */
enum step {
	STEP_AGAIN = 0,		/* blocked: arm the watchers in c->want */
	STEP_NEXT,		/* progress, or c->next_state asks for another state */
	STEP_CLOSE,		/* close the connection (c->flags has CC_F_CLOSE) */
	STEP__COUNT
};

enum body_mode {
	BODY_NONE = 0,
	BODY_CLEN,
	BODY_CHUNKED,		/* relayed chunked */
	BODY_DECHUNK,		/* chunked from the source, de-chunked for an HTTP/1.0 client */
	BODY_CLOSE,		/* delimited by the source's close */
	BODY__COUNT
};

/*
 * The backend side of one exchange. The request and the response move
 * independently (a source may answer before it has read the whole body), so
 * the state is the furthest phase reached; rq says where the request is.
 */
enum up_state {
	UP_NONE = 0,		/* no source yet (or between retries) */
	UP_QUEUED,		/* waiting for a max_conns slot (queue.c) */
	UP_CONNECT,		/* non-blocking connect in progress */
	UP_SEND,		/* head and body going out, no response byte yet */
	UP_RECV_HEAD,		/* waiting for (or reading) the response head */
	UP_RECV_BODY,		/* head relayed, streaming the body */
	UP_DONE,		/* response complete */
	UP__COUNT
};
#define UP_SB(s)	(1u << (s))
#define UP_SB_LIVE	(UP_SB(UP_CONNECT) | UP_SB(UP_SEND) | UP_SB(UP_RECV_HEAD) | \
			 UP_SB(UP_RECV_BODY))

enum rq_state {
	RQ_HEAD = 0,		/* head iovecs not all written */
	RQ_BODY,		/* body bytes follow as they come */
	RQ_DONE,		/* the whole request went out */
	RQ_ABORT,		/* the source stopped reading: its answer decides */
	RQ__COUNT
};

/*
 * One exchange. Allocated from a free list when a request head starts,
 * returned by xend_finish(); owned by its cconn.
 */
struct exch {
	uint32_t		 magic;		/* EXCH_MAGIC */
	struct http1_req	 req;		/* views into c->in, valid while views_ok */
	struct http1_resp	 resp;		/* views into rb, valid until rb is consumed */
	struct route_rt		*route;		/* borrowed */
	struct uconn		*up;		/* owned while in use */
	struct iobuf		 rb;		/* backend bytes */
	enum up_state		 ups;		/* backend side, see enum up_state */
	enum rq_state		 rq;
	enum shm_end		 cause;		/* how it ended (set by whoever saw it) */
	int			 ri;		/* index of the source in the route */
	uint64_t		 tried;		/* route sources tried (bit per index) */
	uint32_t		 attempts;	/* sources tried, for `retries` */
	uint32_t		 ninterim;	/* 1xx responses received */
	unsigned		 reused:1;	/* up came from the pool */
	unsigned		 views_ok:1;	/* req views and the whole request still in c->in */
	unsigned		 cli_close:1;	/* close the client after this response */
	unsigned		 up_close:1;	/* the source asked to close */
	unsigned		 sent_client:1;	/* bytes of the final response reached the client */
	unsigned		 upgrade:1;	/* the client asked for an allowed upgrade */
	unsigned		 tunnel:1;	/* the source agreed (101): tunnel after the head */
	unsigned		 started:1;	/* a request head was accepted */
	unsigned		 probe:1;	/* this request probes a source marked down */
	unsigned		 rw_gave_up:1;	/* a rewrite_location regex hit its limit */
	unsigned		 ours:1;	/* the response is our own (error page) */
	unsigned		 cli_tls:1;	/* the client connection is TLS (X-Forwarded-Proto) */
	int			 meth;
	int			 minor;
	int			 status;
	struct http1_str	 upg;		/* the allowed Upgrade token the client asked for */
	/* client -> backend */
	enum body_mode		 rq_mode;
	uint64_t		 rq_left;
	struct http1_chunked	 rq_ck;
	uint32_t		 rq_scan;	/* bytes of c->in that belong to this request */
	uint32_t		 rq_fwd;	/* of which written to the backend */
	struct iovec		*qiov, *qcur;
	int			 qleft;
	/* backend -> client */
	enum body_mode		 rs_mode;
	int			 rs_complete;	/* the body framing saw its end */
	uint64_t		 rs_left;
	struct http1_chunked	 rs_ck;
	uint32_t		 rs_consume;	/* rb bytes to drop once siov is written */
	struct iovec		*siov, *scur;
	int			 sleft;
	/* tunnel */
	int			 t_cli_eof;	/* client sent FIN (backend got shutdown) */
	int			 t_up_eof;	/* backend sent FIN (client got shutdown) */
	/* storage */
	uint32_t		 maxh;
	struct http1_header	*hdrs, *rhdrs;
	char			*target;	/* rewritten request target (tcap bytes) */
	char			*npath;		/* "/" + path for an absolute-form target without one */
	char			*rpath;		/* the normalized path routes are matched on (tcap) */
	uint32_t		 target_len;	/* 0: not rewritten */
	uint32_t		 tcap;
	char			*lines;		/* rewritten Location/Refresh lines (LINES_CAP) */
	char			 qclen[48];	/* normalized Content-Length lines (RFC 9110 §8.6) */
	char			 sclen[48];
	char			 scratch[640];	/* our own responses */
	/* access log and counters: times, bytes and the request's strings */
	ev_tstamp		 t_start, t_up_start, t_up_head;
	uint64_t		 bytes_sent;	/* to the client */
	const char		*src_name;	/* last source tried, or NULL */
	int			 src_idx;	/* conf index of the last source tried, or -1 */
	int			 retry_from;	/* conf index of a source that failed, counted as
						 * retried once another is picked; or -1 */
	uint64_t		 up_in, up_out;	/* bytes from / to the current source */
	int			 act_src;	/* conf source index counted active in shm, or -1 */
	char			 alog_req[512];	/* request line, Referer, User-Agent (NUL-separated) */
	char			 rid[EXCH_RID_MAX + 1];	/* request id (route's request_id), or "" */
	uint8_t			 rid_len;
	char			*own_body;	/* a body we made (metrics, status), owned, or NULL */
	struct http1_str	 rpath_v;	/* the normalized path+query routes matched */
	char			 acl_addr[48];	/* the address allow/deny judged, for the log */
	uint8_t			 client16[16];	/* that address, IPv6 form (IPv4 mapped) */
	uint8_t			 client_xff;	/* it came from X-Forwarded-For */
	uint32_t		 retry_after;	/* our 429/503: Retry-After seconds, or 0 */
	/* max_conns queue (queue.c) */
	struct cconn		*qnext, *qprev;	/* the route's waiters, oldest first */
	uint64_t		 qmask;		/* route positions it waits for */
	uint64_t		 q_ms;		/* when it started waiting, shm clock */
	ev_tstamp		 q_t0;		/* the same, loop clock */
	uint8_t			 queued;	/* in the route's queue */
	uint8_t			 qkick;		/* woken: try to get a source again */
	/* followed by hdrs[maxh], rhdrs[maxh], qiov[2*maxh+extra], siov[maxh+extra],
	 * target[tcap], npath[tcap], rpath[tcap], lines[LINES_CAP] */
};

#define EXCH_CHECK(x)	do { if ((x)->magic != EXCH_MAGIC) abort(); } while (0)

/* --- cconn.c: the client side ------------------------------------------- */

/* Asks the run loop to close c, with cause for the log and the counters. */
enum step	cconn_fail(struct cconn *c, enum shm_end cause, const char *why);
/* Asks the run loop to go to state next after this step. */
enum step	cconn_goto(struct cconn *c, int next);
/* Re-arms c's timeout for phase (enum tmo_phase in cconn.h). */
void		cconn_timer(struct cconn *c, int phase);
/* The source connection u now reports its events to c's run loop. */
void		cconn_own_backend(struct cconn *c, struct uconn *u);
/* Client I/O through the transport, counting bytes; IO_AGAIN clears readiness. */
ssize_t		cconn_read(struct cconn *c, struct iobuf *b);
ssize_t		cconn_writev(struct cconn *c, const struct iovec *v, int n);

/* --- dispatch.c --------------------------------------------------------- */

/* The head is parsed: normalize, route, apply rules, pick a source. */
enum step	dispatch_start(struct cconn *c);
/* Takes a pooled connection to the next source, or starts a connect. */
enum step	dispatch_pick(struct cconn *c);
/* The source failed before a response head: replay, retry or answer. */
enum step	dispatch_failed(struct cconn *c, int err, enum shm_end cause, const char *what);
/* No memory or descriptor here to go on toward the source: 503, nothing against it. */
enum step	dispatch_local_shortage(struct cconn *c, int err);

/* --- backend.c ---------------------------------------------------------- */

/* Runs the backend side of the exchange (state CC_EXCH). */
enum step	backend_step(struct cconn *c);
/* Builds x->qiov for the current source (again for a replay); -1: bad body bytes. */
int		backend_build_request(struct cconn *c);
/* Sets rs_consume for the head and appends body bytes that came with it. */
void		backend_frame_head_body(struct exch *x);
/* Gives the source connection back (pool if reuse) and ends its shm share. */
void		backend_release(struct cconn *c, int reuse);
/* Source I/O, counting bytes. */
ssize_t		backend_read(struct cconn *c, struct iobuf *b);
ssize_t		backend_writev(struct cconn *c, const struct iovec *v, int n);

/* --- heads.c: pure head builders (no socket) ---------------------------- */

/*
 * The request head for the source as iovecs in x->qiov: slices of the
 * client's head plus our lines (Host, X-Forwarded-*, Via, Upgrade,
 * normalized Content-Length, header_add); peer is the client address text.
 * trusted: the peer may pass on its X-Forwarded-For.
 */
struct iovec	*heads_request(struct exch *x, const char *peer, uint32_t peer_len, int trusted);
/* The response head for the client as iovecs in x->siov (x->scur/sleft set). */
struct iovec	*heads_response(struct exch *x, struct rewrite_ctx *rwctx);
/* Is name one of the tokens of the Connection fields of h[0..n)? */
int		heads_conn_names(const struct http1_header *h, uint32_t n, struct http1_str name);
/* RFC 9110 §7.6.1 hop-by-hop field names. */
int		heads_hop_by_hop(struct http1_str name);
/* A Via field of q names name (received-by): a forwarding loop. */
int		heads_via_loop(const struct http1_req *q, const char *name);
/* Keeps in x->upg the first Upgrade protocol rc allows; returns 1 if any. */
int		heads_upgrade_allowed(struct exch *x, const struct route_conf *rc);
/* The source's 101 switches to the protocol we asked for. */
int		heads_upgrade_agreed(const struct exch *x);

/* --- errpage.c ---------------------------------------------------------- */

/*
 * Answers the current request ourselves with status; cause is how the
 * exchange ends. close_after: the request bytes cannot be skipped reliably.
 * Releases the source connection. Returns the step for the run loop.
 */
enum step	errpage_reply(struct cconn *c, int status, int close_after, enum shm_end cause);
/* Writes the reply (state CC_ERRRESP). */
enum step	errpage_step(struct cconn *c);
/*
 * Our own answer with a body we made (malloc'd, owned from now on: freed
 * when the exchange ends): status, Content-Type, the route's request id.
 */
enum step	errpage_body(struct cconn *c, int status, const char *ctype, char *body,
		    size_t len, const char *extra, size_t extra_len);

/* --- handler.c: routes answered from the segment (metrics, status) ------- */

enum step	handler_reply(struct cconn *c);
enum step	handler_redirect(struct cconn *c);
const char	*errpage_status_text(int status);

/* --- tunnel.c ----------------------------------------------------------- */

enum step	tunnel_step(struct cconn *c);

/* --- queue.c: waiting for a max_conns slot ------------------------------ */

/*
 * c's request found the route positions in full (a bit per position, not
 * empty) without a free slot and nothing else to try: it waits (or, already
 * waiting, waits on with full as its new set).
 */
enum step	queue_wait(struct cconn *c, uint64_t full);

/* c is waiting: try again if it was woken, else go on waiting. */
enum step	queue_step(struct cconn *c);

/* c stops waiting: it got a connection (timed_out 0) or queue_timeout
 * passed (1); also called when c closes while waiting (2). */
void		queue_leave(struct cconn *c, int why);

/* queue_timeout passed: 503 with Retry-After, end cause W. */
enum step	queue_expired(struct cconn *c);

/*
 * Should a connection to p's source that just finished an exchange go back
 * to p? 1: keep it (no one waits, or this worker's waiter is the oldest:
 * it is woken to take it); 0: close it, another worker's waiter is older
 * (the close frees the slot and wakes that worker).
 */
int		queue_keep(struct worker *w, const struct upool *p);

/* Source at shm slot sslot: does anyone in the cluster wait for it? */
int		queue_others_wait(const struct worker *w, uint32_t sslot);

/* --- xend.c: where every exchange ends ---------------------------------- */

/*
 * Ends c's exchange: records cause and phase, updates the shm counters (per
 * worker and per source: requests, status class, bytes, errors, retries,
 * the cause) and writes the access-log line; the source connection goes to
 * the pool only if reuse_up. Frees the exchange; c->x is NULL after.
 */
void		xend_finish(struct cconn *c, int reuse_up);
/*
 * Copies the request's strings the log needs while the views are valid;
 * raw: the head did not parse, so its first line is taken from c->in.
 */
void		xend_copy_request(struct cconn *c, int raw);
/* Termination code letters of a cause ("-", "C", ...) and of a phase. */
char		xend_cause_letter(enum shm_end cause);
char		xend_phase_letter(const struct cconn *c);

#endif
