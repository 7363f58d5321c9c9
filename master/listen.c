/*
 * Listening sockets: one per configured listener, shared by every worker.
 */
#include "master/listen.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/conf.h"

#define LISTEN_BACKLOG	4096

int
listen_open(const struct listener_conf *l, char *err, size_t errlen)
{
	const struct addr_conf *a = &l->addr;
	int fd, one = 1, saved;
	const char *what;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		what = "socket";
		goto fail;
	}
	if (a->ss.ss_family == AF_UNIX) {
		/* A stale socket file from an earlier run would make bind fail. */
		const struct sockaddr_un *sun = (const struct sockaddr_un *)&a->ss;

		(void)unlink(sun->sun_path);
	} else {
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (a->ss.ss_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		/* Wake a worker only once the request bytes are there (1 s cap). */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof(one));
	}
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1) {
		what = "bind";
		goto fail;
	}
	if (listen(fd, LISTEN_BACKLOG) == -1) {
		what = "listen";
		goto fail;
	}
	return fd;
fail:
	saved = errno;
	snprintf(err, errlen, "cannot listen on %s: %s: %s", a->text, what, strerror(saved));
	if (fd != -1)
		close(fd);
	errno = saved;
	return -1;
}
