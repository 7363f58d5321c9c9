/*
 * Client side of the proxy: one struct per accepted connection, its run loop
 * (the only place that changes its state) and its one exit. The exchange
 * itself is in exch.h; the backend side in backend.c.
 */
#ifndef SLUICE_CCONN_H
#define SLUICE_CCONN_H

#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <ev.h>

#include "common/iobuf.h"
#include "worker/xport.h"

struct conf;
struct exch;
struct tls_srv;
struct worker;

#define CCONN_MAGIC	0x43434f4eu	/* "CCON" */

enum cconn_state {
	CC_IDLE = 0,		/* keep-alive: waiting for the first byte of a request */
	CC_READ_HEAD,		/* accumulating a request head */
	CC_EXCH,		/* a request is being relayed (see struct exch) */
	CC_ERRRESP,		/* writing a response of our own (4xx/5xx) */
	CC_TUNNEL,		/* after a 101: bytes both ways until both sides close */
	CC__COUNT
};

/* What the connection's one timer means at the moment. */
enum tmo_phase {
	TP_NONE = 0,
	TP_KEEPALIVE,		/* client_keepalive, between requests */
	TP_HEADER,		/* client_header, from the accept or the first byte */
	TP_CONNECT,		/* backend_connect */
	TP_BACKEND,		/* backend_response, idle while exchanging */
	TP_SEND,		/* backend_response, idle while the client reads */
	TP_TUNNEL,		/* timeouts.tunnel */
	TP_QUEUE,		/* the route's queue_timeout, waiting for a max_conns slot */
	TP__COUNT
};

/* Readiness and interest bits, per side and direction. */
#define RDY_CR	0x01u	/* client readable */
#define RDY_CW	0x02u	/* client writable */
#define RDY_UR	0x04u	/* backend readable */
#define RDY_UW	0x08u	/* backend writable */

/* cconn.flags */
#define CC_F_CLOSE	0x01u	/* a step asked the run loop to close the connection */
#define CC_F_TIMEOUT	0x02u	/* the timer fired: the run loop acts on it first */

struct cconn {
	uint32_t		 magic;		/* CCONN_MAGIC, checked in every callback */
	uint8_t			 state;		/* enum cconn_state: only run() changes it */
	int8_t			 next_state;	/* asked by a step for run(), or -1 */
	uint8_t			 flags;		/* CC_F_* */
	uint8_t			 tmo_phase;	/* enum tmo_phase */
	struct worker		*w;		/* borrowed */
	struct xport		 xp;		/* the client transport (fd inside) */
	int			 io_events;	/* events registered on io */
	ev_io			 io;
	ev_timer		 tmo;		/* one timer, meaning set by tmo_phase */
	ev_tstamp		 deadline;	/* when the current phase times out */
	ev_tstamp		 armed;		/* when tmo fires (<= deadline) */
	ev_tstamp		 head_t0;	/* accept, or first byte of a later request head */
	uint32_t		 ready;		/* RDY_*: may do I/O without waiting */
	uint32_t		 want;		/* RDY_*: blocked on these */
	struct iobuf		 in;		/* client bytes; area NULL while idle */
	struct exch		*x;		/* request in progress, owned */
	const char		*why;		/* close reason, static string */
	uint64_t		 id;
	uint32_t		 nreq;		/* requests on this connection */
	struct cconn		*prev, *next;	/* worker's list of connections */
	union {				/* the client (after a PROXY header, its origin) */
		struct sockaddr		sa;
		struct sockaddr_in	in;
		struct sockaddr_in6	in6;
	}			 peer_sa;
	char			 peer[48];	/* textual peer address, NUL-terminated */
	uint8_t			 peer_len;
	uint8_t			 proxy_hdr;	/* a PROXY protocol header is still expected */
	uint8_t			 tls_hs;	/* a TLS handshake is still to be made */
	const struct tls_srv	*tls;		/* the TLS listener's contexts, or NULL */
};

#define CCONN_CHECK(c)	do { if ((c)->magic != CCONN_MAGIC) abort(); } while (0)

/*
 * Takes ownership of an accepted, non-blocking socket; proxy_hdr: the
 * listener expects a PROXY protocol header first; tls: the listener's TLS
 * contexts (the handshake follows any PROXY header), or NULL for plain
 * HTTP. Returns 0 or -1.
 */
int	cconn_accept(struct worker *w, int fd, const struct sockaddr_storage *ss, int proxy_hdr,
	    const struct tls_srv *tls);

/* Graceful stop: every connection closes after its current or next response. */
void	cconn_drain(struct cconn *c);

/*
 * Size of one struct exch for the configuration's limits and header_add
 * lists (for the free list); call once in the worker before any exchange.
 */
size_t	cconn_exch_size(const struct conf *c);

#endif
