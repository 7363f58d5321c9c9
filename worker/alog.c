/*
 * Buffered access log (see alog.h).
 */
#include "worker/alog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void	flush_cb(struct ev_loop *loop, ev_timer *t, int revents);

static void
flush_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct alog *a = (struct alog *)((char *)t - offsetof(struct alog, flush));

	(void)loop;
	(void)revents;
	alog_flush(a);
}

int
alog_open(struct alog *a, struct ev_loop *loop, const char *path)
{
	a->fd = -1;
	a->len = 0;
	if (path == NULL || strcmp(path, "off") == 0)
		return 0;
	snprintf(a->path, sizeof(a->path), "%s", path);
	a->buf = malloc(ALOG_BUF);
	if (a->buf == NULL)
		return -1;
	a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (a->fd == -1)
		return -1;
	ev_timer_init(&a->flush, flush_cb, 1., 1.);
	ev_timer_start(loop, &a->flush);
	ev_unref(loop);		/* the flush timer alone does not keep the loop alive */
	return 0;
}

char *
alog_reserve(struct alog *a, size_t need)
{
	if (a->fd == -1)
		return NULL;
	if (a->len + need > ALOG_BUF)
		alog_flush(a);
	if (need > ALOG_BUF)
		return NULL;
	return a->buf + a->len;
}

void
alog_commit(struct alog *a, size_t n)
{
	a->len += n;
}

const char *
alog_stamp(struct alog *a, ev_tstamp now)
{
	time_t t = (time_t)now;
	struct tm tm;

	if ((ev_tstamp)t != a->stamp_at) {
		gmtime_r(&t, &tm);
		strftime(a->stamp, sizeof(a->stamp), "%d/%b/%Y:%H:%M:%S +0000", &tm);
		strftime(a->iso, sizeof(a->iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
		a->stamp_at = (ev_tstamp)t;
	}
	return a->stamp;
}

const char *
alog_iso(struct alog *a, ev_tstamp now)
{
	(void)alog_stamp(a, now);
	return a->iso;
}

void
alog_flush(struct alog *a)
{
	size_t off = 0;
	ssize_t n;

	while (a->fd != -1 && off < a->len) {
		n = write(a->fd, a->buf + off, a->len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* disk full or the like: drop rather than block serving */
		off += (size_t)n;
	}
	a->len = 0;
}

int
alog_reopen(struct alog *a)
{
	int fd;

	if (a->fd == -1)
		return 0;
	alog_flush(a);
	fd = open(a->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1)
		return -1;
	close(a->fd);
	a->fd = fd;
	return 0;
}

void
alog_close(struct alog *a, struct ev_loop *loop)
{
	if (a->fd != -1) {
		alog_flush(a);
		ev_ref(loop);
		ev_timer_stop(loop, &a->flush);
		close(a->fd);
		a->fd = -1;
	}
	free(a->buf);
	a->buf = NULL;
}
