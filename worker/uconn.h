/*
 * Backend ("source") side of a connection: non-blocking connect, and the
 * idle state while parked in a keep-alive pool.
 */
#ifndef SLUICE_UCONN_H
#define SLUICE_UCONN_H

#include <stdint.h>

#include <ev.h>

#include "worker/xport.h"

struct addr_conf;
struct upool;
struct worker;

#define UCONN_MAGIC	0x55434f4eu	/* "UCON" */

struct uconn {
	uint32_t	 magic;
	int		 fd;		/* == xp.fd */
	struct xport	 xp;		/* the source transport */
	ev_io		 io;		/* events follow what the exchange needs */
	ev_timer	 idle;		/* backend_idle while pooled */
	struct upool	*pool;		/* the pool it returns to (borrowed) */
	struct uconn	*next;		/* pool list, most recently used first */
	struct uconn	*prev;
	void		*owner;		/* the client connection using it, or NULL when pooled */
	uint32_t	 nreq;		/* requests sent on it */
	uint8_t		 tls_hs;	/* TLS to the source: handshake under way */
	uint8_t		 held;		/* holds a slot of the source's conns (max_conns) */
	uint32_t	 sslot;		/* the source's shm slot, when held */
	uint32_t	 src_idx;	/* its conf index, when held */
	uint32_t	 agen;		/* address generation it connected to (srcaddr.h) */
	ev_tstamp	 expires;	/* Keep-Alive: timeout= from the backend, 0 = none */
	struct worker	*w;
};

/*
 * Starts a non-blocking connect to address a, for pool p (which it returns
 * to, borrowed). Returns the new uconn (connect in progress or done: the
 * caller waits for EV_WRITE either way and checks uconn_connect_result()),
 * or NULL with errno set.
 */
struct uconn	*uconn_connect(struct worker *w, struct upool *p, const struct addr_conf *a);

/*
 * Is err (from uconn_connect) a shortage of this machine (descriptors,
 * memory, ephemeral ports) rather than the source's fault? Returns 1 or 0.
 */
int		 uconn_local_error(int err);

/* 0 if the connect succeeded, else an errno value. */
int		 uconn_connect_result(struct uconn *u);

/* Half-closes the connection to the source (the tunnel's client sent FIN). */
void		 uconn_shutdown_wr(struct uconn *u);

/* Stops watchers, closes the socket, frees; accepts NULL. */
void		 uconn_close(struct uconn *u);

#endif
