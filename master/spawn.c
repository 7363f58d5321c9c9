/*
 * Worker supervision with sigtimedwait(): the master never runs handlers,
 * it takes signals one at a time in its loop, so no state is touched from
 * a signal context.
 */
#include "master/spawn.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/handoff.h"
#include "common/log.h"
#include "worker/worker.h"

#define BACKOFF_MIN	0.1	/* seconds before respawning a worker that died young */
#define BACKOFF_MAX	30.0
#define YOUNG		2.0	/* a worker dying sooner than this is "crashing" */
#define STOP_GRACE	5.0	/* fast stop: seconds before SIGKILL */

enum stop_kind { STOP_NONE = 0, STOP_FAST, STOP_GRACEFUL };

struct slot {
	pid_t	pid;		/* 0 = not running */
	double	started;
	double	respawn_at;	/* 0 = not scheduled */
	double	backoff;
};

static double	now_s(void);
static pid_t	spawn_one(const struct handoff *tmpl, uint32_t idx, struct slot *s);
static void	signal_all(const struct slot *s, uint32_t n, int sig);
static uint32_t	reap(struct slot *s, uint32_t n, int stopping);
static void	close_listeners(const int *fds, uint32_t n, int *closed);

/*
 * Once stopping, the master's copies of the listening sockets go too, so
 * the kernel refuses new connections instead of queueing them for nobody.
 */
static void
close_listeners(const int *fds, uint32_t n, int *closed)
{
	uint32_t i;

	if (*closed)
		return;
	for (i = 0; i < n; i++)
		close(fds[i]);
	*closed = 1;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pid_t
spawn_one(const struct handoff *tmpl, uint32_t idx, struct slot *s)
{
	static struct handoff ho;	/* the child's copy lives in its own memory */
	pid_t pid;

	pid = fork();
	if (pid == -1) {
		log_warn("%s: fork worker %u", __func__, idx);
		s->respawn_at = now_s() + 1.0;
		return -1;
	}
	if (pid == 0) {
		ho = *tmpl;
		ho.worker_idx = idx;
		worker_main(&ho);
	}
	s->pid = pid;
	s->started = now_s();
	s->respawn_at = 0;
	return pid;
}

static void
signal_all(const struct slot *s, uint32_t n, int sig)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (s[i].pid > 0)
			kill(s[i].pid, sig);
}

/* Collects exited workers; schedules respawns unless stopping. Returns workers alive. */
static uint32_t
reap(struct slot *s, uint32_t n, int stopping)
{
	uint32_t i, alive = 0;
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < n; i++) {
			double lived;

			if (s[i].pid != pid)
				continue;
			s[i].pid = 0;
			if (stopping) {
				log_debug("worker %u (pid %d) exited", i, (int)pid);
				break;
			}
			lived = now_s() - s[i].started;
			if (lived < YOUNG)
				s[i].backoff = s[i].backoff == 0 ? BACKOFF_MIN :
				    (s[i].backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : s[i].backoff * 2);
			else
				s[i].backoff = 0;
			if (WIFSIGNALED(st))
				log_error("worker %u (pid %d) killed by signal %d; respawning in %.1fs",
				    i, (int)pid, WTERMSIG(st), s[i].backoff);
			else
				log_error("worker %u (pid %d) exited with status %d; respawning in %.1fs",
				    i, (int)pid, WEXITSTATUS(st), s[i].backoff);
			s[i].respawn_at = now_s() + s[i].backoff;
			break;
		}
	}
	for (i = 0; i < n; i++)
		alive += s[i].pid > 0;
	return alive;
}

int
spawn_run(const struct conf *conf, const int *fds, uint32_t nfds)
{
	struct handoff tmpl;
	struct slot *slots;
	sigset_t set;
	siginfo_t info;
	struct timespec ts;
	enum stop_kind stopping = STOP_NONE;
	double deadline = 0, next, t;
	uint32_t i, n = conf->workers, alive;
	int sig, closed = 0;

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.conf = conf;
	tmpl.nlisten = nfds;
	tmpl.generation = 1;
	memcpy(tmpl.listen_fd, fds, nfds * sizeof(int));
	slots = calloc(n, sizeof(*slots));
	if (slots == NULL)
		fatal("%s: calloc", __func__);
	for (i = 0; i < n; i++)
		spawn_one(&tmpl, i, &slots[i]);
	log_info("ready: %u worker(s), %u listener(s), pid %d", n, nfds, (int)getpid());

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	for (;;) {
		/* Sleep until a signal or the next respawn/kill deadline. */
		t = now_s();
		next = t + 1.0;
		for (i = 0; i < n; i++)
			if (slots[i].respawn_at != 0 && slots[i].respawn_at < next)
				next = slots[i].respawn_at;
		if (deadline != 0 && deadline < next)
			next = deadline;
		if (next < t)
			next = t;
		ts.tv_sec = (time_t)(next - t);
		ts.tv_nsec = (long)((next - t - (double)ts.tv_sec) * 1e9);
		sig = sigtimedwait(&set, &info, &ts);
		switch (sig) {
		case SIGTERM:
		case SIGINT:
			if (stopping != STOP_FAST) {
				log_info("stopping (signal %d)", sig);
				stopping = STOP_FAST;
				deadline = now_s() + STOP_GRACE;
				signal_all(slots, n, SIGTERM);
				close_listeners(fds, nfds, &closed);
			}
			break;
		case SIGQUIT:
			if (stopping == STOP_NONE) {
				log_info("graceful stop: draining for up to %.0fs",
				    conf->timeouts.graceful);
				stopping = STOP_GRACEFUL;
				deadline = now_s() + conf->timeouts.graceful + STOP_GRACE;
				signal_all(slots, n, SIGQUIT);
				close_listeners(fds, nfds, &closed);
			}
			break;
		case SIGUSR1:
			if (log_reopen() == -1)
				log_warn("%s: reopening the log", __func__);
			signal_all(slots, n, SIGUSR1);
			break;
		case SIGHUP:
			log_warnx("SIGHUP: reload is not supported yet; still serving the current configuration");
			break;
		case SIGUSR2:
			log_warnx("SIGUSR2: binary upgrade is not supported yet");
			break;
		default:
			break;	/* SIGCHLD or timeout: reap below */
		}
		alive = reap(slots, n, stopping != STOP_NONE);
		if (stopping != STOP_NONE) {
			if (alive == 0)
				break;
			if (now_s() >= deadline) {
				log_warnx("workers still running at the deadline; killing them");
				signal_all(slots, n, SIGKILL);
				deadline = now_s() + STOP_GRACE;
			}
			continue;
		}
		t = now_s();
		for (i = 0; i < n; i++)
			if (slots[i].pid == 0 && slots[i].respawn_at != 0 && slots[i].respawn_at <= t)
				spawn_one(&tmpl, i, &slots[i]);
	}
	close_listeners(fds, nfds, &closed);
	free(slots);
	log_info("stopped");
	return 0;
}
