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
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/http1.h"
#include "common/log.h"
#include "common/pdeath.h"
#include "common/privdrop.h"
#include "common/retry_after.h"
#include "shm/shm.h"

#define RETRY_AFTER_MAX	300	/* seconds */
#define RESP_HEAD_MAX	4096	/* bytes of a check's response head we read */
#define RESP_HEADERS	64	/* header fields of that head */

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
	char req[1024], resp[RESP_HEAD_MAX];
	struct http1_header hdrs[RESP_HEADERS];
	const struct http1_header *ra;
	struct http1_resp r;
	uint32_t secs;
	size_t got = 0;
	ssize_t n;
	int fd, err = 0, len, head = HTTP1_PARTIAL;
	socklen_t elen = sizeof(err);

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
	/*
	 * The head is enough (Retry-After is in it), parsed as strictly as the
	 * workers parse a response; a head that does not fit is malformed.
	 */
	while (head == HTTP1_PARTIAL && got < sizeof(resp)) {
		if (wait_fd(fd, POLLIN, deadline) <= 0) {
			*why = "no response in time";
			goto fail;
		}
		n = recv(fd, resp + got, sizeof(resp) - got, 0);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		head = http1_parse_resp(resp, got, sizeof(resp), &r, hdrs, RESP_HEADERS);
	}
	close(fd);
	if (head <= 0) {
		*why = "malformed response";
		return 0;
	}
	*status = r.status;
	if ((r.status == 503 || r.status == 429) &&
	    (ra = http1_find(r.headers, r.nheaders, "retry-after")) != NULL &&
	    retry_after_parse(ra->value.p, ra->value.len, time(NULL), &secs) == 0)
		*retry_after = secs > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : (int)secs;
	if (r.status >= 200 && r.status < 400)
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
	pid_t pid, master = getpid();
	uint32_t i;
	sigset_t none;
	char err[256];

	pid = fork();
	if (pid == -1) {
		log_warn("%s: fork health checker", __func__);
		return -1;
	}
	if (pid > 0)
		return pid;
	log_role("health");
	/* A master killed with SIGKILL must not leave the checker running. */
	if (pdeath_arm(master, SIGQUIT) == -1)
		log_warn("health checker: cannot ask for a signal at the master's death");
	for (i = 0; i < nclose; i++)
		close(close_fds[i]);
	/* Probes need no privilege: the checker drops to `user` like the workers. */
	if (c->user[0] != '\0' && getuid() == 0) {
		if (privdrop_user(c->user, err, sizeof(err)) == -1) {
			log_error("health checker: %s", err);
			_exit(1);
		}
		/* The uid change cleared the master-death signal: ask again. */
		if (pdeath_arm(master, SIGQUIT) == -1)
			log_warn("health checker: cannot ask for a signal at the master's death");
	}
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
