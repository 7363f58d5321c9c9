/*
 * Active health checks (checker process). Each round, every source gets
 * GET <path> with a deadline; fall consecutive failures mark it down, rise
 * consecutive successes mark it up, a 503/429 with Retry-After takes it out
 * for that long (capped). State goes to shm under the source's seqlock;
 * workers read it on every pick.
 */
#include "master/health.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/log.h"
#include "shm/shm.h"

#define RETRY_AFTER_MAX	300	/* seconds */

static volatile sig_atomic_t	stop_flag;

static void	on_term(int sig);
static int	check_one(const struct conf *c, const struct source_conf *s, int *status,
		    int *retry_after, const char **why);
static int	wait_fd(int fd, short ev, uint64_t deadline_ms);

static void
on_term(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int
wait_fd(int fd, short ev, uint64_t deadline_ms)
{
	struct pollfd p = { .fd = fd, .events = ev };
	uint64_t now = shm_now_ms();
	int r;

	if (now >= deadline_ms)
		return 0;
	do
		r = poll(&p, 1, (int)(deadline_ms - now));
	while (r == -1 && errno == EINTR && !stop_flag);
	return r;
}

/* One probe: 1 healthy, 0 not (with *why), *status the HTTP status or 0. */
static int
check_one(const struct conf *c, const struct source_conf *s, int *status, int *retry_after,
    const char **why)
{
	uint64_t deadline = shm_now_ms() + (uint64_t)(c->health.timeout * 1000);
	char req[1024], resp[2048];
	size_t got = 0;
	ssize_t n;
	int fd, err = 0, len;
	socklen_t elen = sizeof(err);
	char *hdr;

	*status = 0;
	*retry_after = 0;
	fd = socket(s->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		*why = "socket";
		return 0;
	}
	if (connect(fd, (const struct sockaddr *)&s->addr.ss, s->addr.len) == -1 &&
	    errno != EINPROGRESS) {
		*why = "connect refused";
		goto fail;
	}
	if (wait_fd(fd, POLLOUT, deadline) <= 0) {
		*why = "connect timed out";
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1 || err != 0) {
		*why = "connect refused";
		goto fail;
	}
	len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sluice-health\r\n"
	    "Connection: close\r\n\r\n", c->health.path, s->addr.hostport);
	if (send(fd, req, (size_t)len, MSG_NOSIGNAL) != len) {
		*why = "send failed";
		goto fail;
	}
	/* The status line and headers are enough: Retry-After is in the head. */
	while (got < sizeof(resp) - 1 && memmem(resp, got, "\r\n\r\n", 4) == NULL) {
		if (wait_fd(fd, POLLIN, deadline) <= 0) {
			*why = "no response in time";
			goto fail;
		}
		n = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	resp[got] = '\0';
	if (got < 12 || strncmp(resp, "HTTP/1.", 7) != 0 || sscanf(resp + 9, "%3d", status) != 1) {
		*why = "malformed response";
		goto fail;
	}
	close(fd);
	if ((*status == 503 || *status == 429) &&
	    ((hdr = strcasestr(resp, "\r\nRetry-After:")) != NULL))
		*retry_after = atoi(hdr + 14);
	if (*status >= 200 && *status < 400)
		return 1;
	*why = "bad status";
	return 0;
fail:
	close(fd);
	return 0;
}

pid_t
health_spawn(const struct conf *c, struct shm_seg *seg, const uint32_t *src_slot,
    const int *close_fds, uint32_t nclose)
{
	struct shm_health_rec h;
	struct timespec ts;
	pid_t pid;
	uint32_t i;
	sigset_t none;

	pid = fork();
	if (pid == -1) {
		log_warn("%s: fork health checker", __func__);
		return -1;
	}
	if (pid > 0)
		return pid;
	log_role("health");
	for (i = 0; i < nclose; i++)
		close(close_fds[i]);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGQUIT, on_term);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	while (!stop_flag) {
		uint64_t round = shm_now_ms();

		for (i = 0; i < c->nsources && !stop_flag; i++) {
			const struct source_conf *s = &c->sources[i];
			struct shm_source *ss = shm_source(seg, src_slot[i]);
			int ok, status, ra;
			const char *why = "";
			uint32_t was;

			if (shm_health_read(ss, &h) == -1)
				memset(&h, 0, sizeof(h));
			was = h.state;
			ok = check_one(c, s, &status, &ra, &why);
			h.checks++;
			h.status = (uint32_t)status;
			if (ok) {
				h.oks++;
				h.fails = 0;
				if (h.state == SHM_H_DOWN && h.oks >= c->health.rise) {
					h.state = SHM_H_UP;
					h.reason = SHM_R_NONE;
				}
			} else {
				h.fails++;
				h.oks = 0;
				if (ra > 0) {
					h.down_until_ms = shm_now_ms() +
					    (uint64_t)(ra > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : ra) * 1000;
					h.reason = SHM_R_RETRY_AFTER;
				}
				if (h.state == SHM_H_UP && h.fails >= c->health.fall) {
					h.state = SHM_H_DOWN;
					h.reason = status != 0 ? SHM_R_STATUS :
					    strstr(why, "timed") || strstr(why, "time") ? SHM_R_TIMEOUT :
					    strstr(why, "malformed") ? SHM_R_MALFORMED : SHM_R_CONNECT;
				}
			}
			if (h.state != was) {
				h.since_ms = shm_now_ms();
				if (h.state == SHM_H_DOWN)
					log_warnx("source %s is down: %s%s%.0d (%u failed checks)", s->name,
					    why, status ? ", status " : "", status, h.fails);
				else
					log_info("source %s is up (%u good checks)", s->name, h.oks);
			}
			shm_health_write(ss, &h);
		}
		/* Sleep out the rest of the interval, waking for a stop signal. */
		while (!stop_flag) {
			uint64_t now = shm_now_ms(), end = round + (uint64_t)(c->health.interval * 1000);

			if (now >= end)
				break;
			ts.tv_sec = (time_t)((end - now) / 1000);
			ts.tv_nsec = (long)((end - now) % 1000) * 1000000;
			nanosleep(&ts, NULL);
		}
	}
	_exit(0);
}
