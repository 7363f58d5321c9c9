/*
 * Listening sockets: one per configured listener, shared by every worker.
 */
#include "master/listen.h"

#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/conf.h"

#define LISTEN_BACKLOG	4096

int
listen_open(const struct listener_conf *l, char *err, size_t errlen)
{
	const struct addr_conf *a = &l->addr;
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&a->ss;
	bool set_mode = a->ss.ss_family == AF_UNIX && l->mode >= 0;
	bool set_owner = a->ss.ss_family == AF_UNIX && (l->owner[0] != '\0' || l->group[0] != '\0');
	char what_buf[2 * CONF_NAME_MAX + 32];
	int fd, one = 1, saved, rc;
	mode_t mask = 0;
	const char *what;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		what = "socket";
		goto fail;
	}
	if (a->ss.ss_family == AF_UNIX) {
		/* A stale socket file from an earlier run would make bind fail. */
		(void)unlink(sun->sun_path);
	} else {
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (a->ss.ss_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		/* Wake a worker only once the request bytes are there (1 s cap). */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof(one));
	}
	/*
	 * With a mode to set, the file is made owner-only (0600) and opened up
	 * by chmod afterwards: a umask of 0 must not leave it open meanwhile.
	 */
	if (set_mode)
		mask = umask(0177);
	rc = bind(fd, (const struct sockaddr *)&a->ss, a->len);
	saved = errno;
	if (set_mode)
		(void)umask(mask);
	errno = saved;
	if (rc == -1) {
		what = "bind";
		goto fail;
	}
	/* The master binds before any privilege drop: root may give the file away. */
	if (set_owner && chown(sun->sun_path, l->owner[0] != '\0' ? l->uid : (uid_t)-1,
	    l->group[0] != '\0' ? l->gid : (gid_t)-1) == -1) {
		snprintf(what_buf, sizeof(what_buf), "chown to owner \"%s\" group \"%s\"",
		    l->owner[0] != '\0' ? l->owner : "(unchanged)",
		    l->group[0] != '\0' ? l->group : "(unchanged)");
		what = what_buf;
		goto fail_unlink;
	}
	if (set_mode && chmod(sun->sun_path, (mode_t)l->mode) == -1) {
		snprintf(what_buf, sizeof(what_buf), "chmod %04o", (unsigned)l->mode);
		what = what_buf;
		goto fail_unlink;
	}
	if (listen(fd, LISTEN_BACKLOG) == -1) {
		what = "listen";
		goto fail;
	}
	return fd;
fail_unlink:
	saved = errno;
	(void)unlink(sun->sun_path);
	errno = saved;
fail:
	saved = errno;
	snprintf(err, errlen, "cannot listen on %s: %s: %s", a->text, what, strerror(saved));
	if (fd != -1)
		close(fd);
	errno = saved;
	return -1;
}
