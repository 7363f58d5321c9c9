/*
 * Backend connections: non-blocking connect with TCP_NODELAY, and close.
 */
#include "worker/uconn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/handoff.h"
#include "shm/shm.h"
#include "worker/worker-t.h"

struct uconn *
uconn_connect(struct worker *w, struct upool *p, const struct addr_conf *a)
{
	struct uconn *u;
	int fd, one = 1, saved;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return NULL;
	if (a->ss.ss_family != AF_UNIX)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == -1 && errno != EINPROGRESS) {
		saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	u = freelist_get(&w->fl_uconn);
	if (u == NULL) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	*u = (struct uconn){ .magic = UCONN_MAGIC, .fd = fd, .pool = p, .w = w };
	xport_tcp_init(&u->xp, fd);
	return u;
}

int
uconn_local_error(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM ||
	    err == EADDRNOTAVAIL;
}

int
uconn_connect_result(struct uconn *u)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return errno;
	return err;
}

void
uconn_shutdown_wr(struct uconn *u)
{
	xport_shutdown_wr(&u->xp);
}

void
uconn_close(struct uconn *u)
{
	if (u == NULL)
		return;
	ev_io_stop(u->w->loop, &u->io);
	ev_timer_stop(u->w->loop, &u->idle);
	xport_close(&u->xp);
	if (u->held) {
		shm_conn_give(u->w->ho->shm, u->w->ho->shm_slot, u->sslot);
		u->w->slot_freed(u->w, u->src_idx);
	}
	u->magic = 0;
	freelist_put(&u->w->fl_uconn, u);
}
