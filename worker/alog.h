/*
 * Access log of one worker: lines are gathered in a buffer and written when
 * it fills, at least every second, and at exit, so a busy log costs no
 * system call per request.
 */
#ifndef SLUICE_ALOG_H
#define SLUICE_ALOG_H

#include <stddef.h>

#include <ev.h>

struct alog {
	int		 fd;		/* -1: access log off */
	char		 path[512];
	char		*buf;		/* ALOG_BUF bytes, owned */
	size_t		 len;
	ev_timer	 flush;
	ev_tstamp	 stamp_at;	/* second the cached timestamp is for */
	char		 stamp[32];	/* "26/Nov/2026:02:11:33 +0000" */
	char		 iso[32];	/* "2026-11-26T02:11:33Z", same second */
};

#define ALOG_BUF	(64 * 1024)

/* Opens path (or does nothing for "off"); returns 0 or -1 + errno. */
int	alog_open(struct alog *a, struct ev_loop *loop, const char *path);
/* Room for one line; flushes first if needed. NULL if the log is off. */
char	*alog_reserve(struct alog *a, size_t need);
/* Commits n bytes written at alog_reserve()'s pointer. */
void	alog_commit(struct alog *a, size_t n);
/* Cached "%d/%b/%Y:%H:%M:%S +0000" of now. */
const char *alog_stamp(struct alog *a, ev_tstamp now);
/* Cached "%Y-%m-%dT%H:%M:%SZ" of now (JSON lines). */
const char *alog_iso(struct alog *a, ev_tstamp now);
void	alog_flush(struct alog *a);
/* SIGUSR1: flushes, then reopens the path (logrotate). */
int	alog_reopen(struct alog *a);
void	alog_close(struct alog *a, struct ev_loop *loop);

#endif
