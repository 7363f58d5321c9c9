/*
 * Plain TCP transport: the common/io.h calls on the socket.
 */
#include "worker/xport.h"

#include <sys/socket.h>
#include <unistd.h>

#include "common/io.h"
#include "common/iobuf.h"

static ssize_t	tcp_read(struct xport *t, struct iobuf *b);
static ssize_t	tcp_writev(struct xport *t, const struct iovec *v, int n);
static void	tcp_shutdown_wr(struct xport *t);
static void	tcp_close(struct xport *t);
static int	tcp_idle(struct xport *t);

const struct xport_ops xport_tcp = {
	.name = "tcp",
	.read = tcp_read,
	.writev = tcp_writev,
	.shutdown_wr = tcp_shutdown_wr,
	.close = tcp_close,
	.idle = tcp_idle,
};

void
xport_tcp_init(struct xport *t, int fd)
{
	t->ops = &xport_tcp;
	t->fd = fd;
	t->ctx = NULL;
}

static ssize_t
tcp_read(struct xport *t, struct iobuf *b)
{
	return io_read(t->fd, b);
}

static ssize_t
tcp_writev(struct xport *t, const struct iovec *v, int n)
{
	return io_writev(t->fd, v, n);
}

static void
tcp_shutdown_wr(struct xport *t)
{
	(void)shutdown(t->fd, SHUT_WR);
}

static void
tcp_close(struct xport *t)
{
	if (t->fd != -1)
		(void)close(t->fd);
	t->fd = -1;
}

/* A source may send nothing unasked: data or EOF on a parked connection ends it. */
static int
tcp_idle(struct xport *t)
{
	(void)t;
	return -1;
}
