/*
 * The transport under each side of an exchange: read, writev, half-close and
 * close through a small ops table, so a TLS transport can take the place of
 * plain TCP without the exchange knowing. Same status vocabulary as
 * common/io.h: >= 0 bytes moved (a read of 0 is EOF), IO_AGAIN, IO_ERR.
 */
#ifndef SLUICE_XPORT_H
#define SLUICE_XPORT_H

#include <sys/types.h>
#include <sys/uio.h>

#include "common/io.h"

struct iobuf;
struct xport;

struct xport_ops {
	const char	*name;					/* "tcp", for logs */
	ssize_t		(*read)(struct xport *t, struct iobuf *b);	/* into b's free room */
	ssize_t		(*writev)(struct xport *t, const struct iovec *v, int n);
	void		(*shutdown_wr)(struct xport *t);	/* FIN after what was written */
	void		(*close)(struct xport *t);		/* releases everything, fd included */
	/* A parked (pooled) connection became readable: 0 if it is still usable. */
	int		(*idle)(struct xport *t);
};

struct xport {
	const struct xport_ops	*ops;
	int			 fd;
	void			*ctx;		/* the transport's own state (TLS), or NULL */
};

/* Plain TCP (or a unix socket) on the non-blocking fd. */
extern const struct xport_ops xport_tcp;

/* Wraps fd in the plain transport. */
void	xport_tcp_init(struct xport *t, int fd);

/*
 * Plain TCP is called directly (no indirect call on the hot path); any
 * other transport goes through its table.
 */
static inline ssize_t
xport_read(struct xport *t, struct iobuf *b)
{
	if (t->ops == &xport_tcp)
		return io_read(t->fd, b);
	return t->ops->read(t, b);
}

static inline ssize_t
xport_writev(struct xport *t, const struct iovec *v, int n)
{
	if (t->ops == &xport_tcp)
		return io_writev(t->fd, v, n);
	return t->ops->writev(t, v, n);
}

static inline void
xport_shutdown_wr(struct xport *t)
{
	t->ops->shutdown_wr(t);
}

static inline int
xport_idle(struct xport *t)
{
	return t->ops->idle(t);
}

static inline void
xport_close(struct xport *t)
{
	t->ops->close(t);
}

#endif
