/*
 * Worker supervision with sigtimedwait(): the master never runs handlers,
 * it takes signals one at a time in its loop, so no state is touched from
 * a signal context. Workers belong to a generation (one loaded config);
 * a reload starts a new generation and drains the old one.
 */
#include "master/spawn.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/conf_load.h"
#include "common/handoff.h"
#include "common/log.h"
#include "common/version.h"
#include "common/pdeath.h"
#include "common/ratelimit.h"
#include "common/tls_tickets.h"
#include "master/health.h"
#include "master/listen.h"
#include "master/logfiles.h"
#include "master/publish.h"
#include "master/resolve.h"
#include "master/upgrade.h"
#include "shm/shm.h"

#define BACKOFF_MIN	0.1	/* seconds before respawning a worker that died young */
#define BACKOFF_MAX	30.0
#define YOUNG		2.0	/* a worker dying sooner than this is "crashing" */
#define STOP_GRACE	5.0	/* after a deadline: seconds before SIGKILL */
#define MAX_GENS	16	/* generations alive at once (reloads still draining) */

enum stop_kind { STOP_NONE = 0, STOP_FAST, STOP_GRACEFUL };

struct slot {
	pid_t	pid;		/* 0 = not running */
	uint32_t shm_slot;	/* worker slot in the segment, kept across respawns */
	double	started;
	double	respawn_at;	/* 0 = not scheduled */
	double	backoff;
};

/* One loaded configuration and the workers that serve it; owned by the master. */
struct gen {
	struct conf	*conf;
	struct handoff	 ho;		/* template: worker_idx set per fork */
	struct slot	*slots;		/* conf->workers entries */
	uint32_t	 nslots;
	int		 draining;	/* told to QUIT; never respawned */
	double		 deadline;	/* draining: SIGKILL after this */
	int		 fds_closed;
	uint32_t	*src_slot;	/* conf source index -> shm source slot */
};

static struct shm_seg	*seg;		/* the segment, created by main() */
static uint8_t		 wslot_used[SHM_LIMIT_WORKERS];
static int		*wake_fd;	/* per worker slot (wake_open) */
static uint32_t		 nwake;
static pid_t		 checker_pid;	/* health checker, 0 = none */
static pid_t		 resolver_pid;	/* live DNS resolver, 0 = none */
static double		 resolver_again;	/* not respawned before this (it died) */
static pid_t		 upgrade_pid;	/* new master started by USR2, 0 = none */
static int		 upgraded;	/* a new master was started at some point */

void
spawn_sigset(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
}

int
spawn_upgraded(void)
{
	return upgraded;
}

static double	now_s(void);
static void	spawn_one(struct gen *g, uint32_t idx);
static void	wake_open(const struct shm_seg *s);
static void	signal_gen(const struct gen *g, int sig);
static void	reap(struct gen **gens, uint32_t ngens, int stopping);
static uint32_t	alive(const struct gen *g);
static struct gen *gen_new(struct conf *c, const int *fds, uint32_t generation, char *err,
		    size_t errlen);
static void	checker_start(const struct gen *g, struct gen *const *gens, uint32_t ngens);
static uint32_t	listen_fds(struct gen *const *gens, uint32_t ngens,
		    int fds[HANDOFF_MAX_LISTEN * 2]);
static void	resolver_start(const struct gen *g, struct gen *const *gens, uint32_t ngens);
static void	gen_free(struct gen *g);
static int	listener_find(const struct gen *g, const struct listener_conf *l);
static struct gen *reload(const char *file, struct gen *cur);
static void	close_gen_fds(struct gen *g, const struct gen *keep);

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A generation for c: worker slots taken from the segment's free ones, and
 * its sources and routes published (routes at the half of the route table
 * the previous generation does not use). NULL with err filled on failure.
 */
static struct gen *
gen_new(struct conf *c, const int *fds, uint32_t generation, char *err, size_t errlen)
{
	struct gen *g = calloc(1, sizeof(*g));
	uint32_t i, k = 0, half = seg->max_routes / 2;

	if (g == NULL || (g->slots = calloc(c->workers, sizeof(*g->slots))) == NULL ||
	    (g->src_slot = calloc(c->nsources, sizeof(*g->src_slot))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	g->conf = c;
	g->nslots = c->workers;
	for (i = 0; i < g->nslots; i++) {
		while (k < seg->max_workers && wslot_used[k])
			k++;
		if (k == seg->max_workers) {
			snprintf(err, errlen, "%u workers do not fit the shared segment; restart "
			    "sluice to grow it", c->workers);
			while (i-- > 0)
				wslot_used[g->slots[i].shm_slot] = 0;
			goto fail;
		}
		wslot_used[k] = 1;
		g->slots[i].shm_slot = k;
	}
	g->ho.conf = c;
	g->ho.nlisten = c->nlisteners;
	g->ho.generation = generation;
	g->ho.shm = seg;
	g->ho.src_slot = g->src_slot;
	g->ho.route_base = (generation % 2) * half;
	g->ho.wake_fd = wake_fd;
	g->ho.nwake = nwake;
	memcpy(g->ho.listen_fd, fds, c->nlisteners * sizeof(int));
	if (c->nroutes > half) {
		snprintf(err, errlen, "%u routes do not fit the shared segment (room for %u); "
		    "restart sluice to grow it", c->nroutes, half);
		goto fail_slots;
	}
	if (publish_conf(seg, c, g->ho.route_base, g->src_slot, err, errlen) == -1)
		goto fail_slots;
	atomic_store_explicit(&seg->hdr->conf_gen, generation, memory_order_relaxed);
	return g;
fail_slots:
	for (i = 0; i < g->nslots; i++)
		wslot_used[g->slots[i].shm_slot] = 0;
fail:
	if (g != NULL) {
		free(g->slots);
		free(g->src_slot);
	}
	free(g);
	return NULL;
}

static void
gen_free(struct gen *g)
{
	uint32_t i;

	if (g == NULL)
		return;
	for (i = 0; i < g->nslots; i++)
		wslot_used[g->slots[i].shm_slot] = 0;
	conf_free(g->conf);
	free(g->src_slot);
	free(g->slots);
	free(g);
}

/*
 * The listening sockets of the live generations, which a helper process
 * (health checker, resolver) closes after its fork; returns how many.
 */
static uint32_t
listen_fds(struct gen *const *gens, uint32_t ngens, int fds[HANDOFF_MAX_LISTEN * 2])
{
	uint32_t n = 0, k, i;

	for (k = 0; k < ngens; k++)
		for (i = 0; i < gens[k]->ho.nlisten && n < HANDOFF_MAX_LISTEN * 2; i++)
			if (!gens[k]->fds_closed)
				fds[n++] = gens[k]->ho.listen_fd[i];
	return n;
}

/* (Re)starts the health checker for g if its configuration has one. */
static void
checker_start(const struct gen *g, struct gen *const *gens, uint32_t ngens)
{
	int fds[HANDOFF_MAX_LISTEN * 2];
	uint32_t n;

	if (checker_pid > 0) {
		kill(checker_pid, SIGTERM);
		checker_pid = 0;	/* reaped by the loop like any child */
	}
	if (!g->conf->health.enabled)
		return;
	n = listen_fds(gens, ngens, fds);
	checker_pid = health_spawn(g->conf, seg, g->src_slot, fds, n);
}

/* (Re)starts the resolver for g if a source of it has resolve = true. */
static void
resolver_start(const struct gen *g, struct gen *const *gens, uint32_t ngens)
{
	int fds[HANDOFF_MAX_LISTEN * 2];
	uint32_t n;

	if (resolver_pid > 0) {
		kill(resolver_pid, SIGTERM);
		resolver_pid = 0;	/* reaped by the loop like any child */
	}
	if (!resolve_needed(g->conf))
		return;
	n = listen_fds(gens, ngens, fds);
	resolver_pid = resolve_spawn(g->conf, seg, g->src_slot, fds, n);
	if (resolver_pid == -1) {
		resolver_pid = 0;
		resolver_again = now_s() + 1.0;
	}
}

/*
 * Slot takeover: no process holds worker slot w now (fresh, or its last one
 * reaped), so the master records the counters as the next process finds them
 * (base_*). sluice-stat shows counter - base in that worker's row, while the
 * counters themselves go on (totals stay monotonic, STYLE.md 2.10).
 */
static void
slot_rebase(uint32_t w)
{
	struct shm_worker *ws = shm_worker(seg, w);
	uint32_t k;

#define REBASE(f)	atomic_store_explicit(&ws->base_##f, \
	atomic_load_explicit(&ws->f, memory_order_relaxed), memory_order_relaxed)
	REBASE(conns_total);
	REBASE(requests);
	REBASE(bytes_in);
	REBASE(bytes_out);
	REBASE(errors);
	for (k = 0; k < 5; k++)
		REBASE(resp[k]);
#undef REBASE
	/* Published to the new process by fork(), to readers by its pid store. */
	atomic_thread_fence(memory_order_release);
}

/*
 * One eventfd per worker slot, for the max_conns queue: a worker that frees
 * a slot wakes the worker whose waiter is the oldest (worker/queue.c). Made
 * once, before any fork, and kept across reloads; close-on-exec, so a new
 * binary makes its own. Without them, waiters fall back on their retry timer.
 */
static void
wake_open(const struct shm_seg *s)
{
	uint32_t i;

	if ((wake_fd = calloc(s->max_workers, sizeof(*wake_fd))) == NULL) {
		log_warn("max_conns queue: no wake-up descriptors; waiters poll instead");
		return;
	}
	for (i = 0; i < s->max_workers; i++)
		if ((wake_fd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
			log_warn("max_conns queue: eventfd for worker slot %u", i);
	nwake = s->max_workers;
}

static void
spawn_one(struct gen *g, uint32_t idx)
{
	static struct handoff ho;	/* the child's copy lives in its own memory */
	struct slot *s = &g->slots[idx];
	pid_t pid, master = getpid();

	slot_rebase(s->shm_slot);
	pid = fork();
	if (pid == -1) {
		log_warn("%s: fork worker %u", __func__, idx);
		s->respawn_at = now_s() + 1.0;
		return;
	}
	if (pid == 0) {
		/*
		 * A master killed with SIGKILL must not leave workers serving on as
		 * orphans that hold the port: they drain (QUIT, blocked until the
		 * worker's loop takes it). worker_main() arms it again after a
		 * privilege drop, which clears it.
		 */
		if (pdeath_arm(master, SIGQUIT) == -1)
			log_warn("worker %u: cannot ask for a signal at the master's death", idx);
		ho = g->ho;
		ho.worker_idx = idx;
		ho.shm_slot = s->shm_slot;
		worker_main(&ho);
	}
	s->pid = pid;
	s->started = now_s();
	s->respawn_at = 0;
}

static void
signal_gen(const struct gen *g, int sig)
{
	uint32_t i;

	for (i = 0; i < g->nslots; i++)
		if (g->slots[i].pid > 0)
			kill(g->slots[i].pid, sig);
}

static uint32_t
alive(const struct gen *g)
{
	uint32_t i, n = 0;

	for (i = 0; i < g->nslots; i++)
		n += g->slots[i].pid > 0;
	return n;
}

/* Collects exited workers; schedules respawns for the current generation only. */
static void
reap(struct gen **gens, uint32_t ngens, int stopping)
{
	uint32_t i, k;
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == upgrade_pid) {
			upgrade_pid = 0;
			if (WIFEXITED(st))
				log_error("upgrade: the new master (pid %d) exited with status %d; "
				    "this one keeps serving", (int)pid, WEXITSTATUS(st));
			else
				log_error("upgrade: the new master (pid %d) died of signal %d; "
				    "this one keeps serving", (int)pid, WTERMSIG(st));
			upgrade_failed(gens[ngens - 1]->conf->pid_file);
			continue;
		}
		if (pid == checker_pid) {
			checker_pid = 0;
			if (!stopping)
				log_error("health checker (pid %d) exited; restarting it", (int)pid);
			continue;
		}
		if (pid == resolver_pid) {
			resolver_pid = 0;
			if (!stopping) {
				log_error("resolver (pid %d) exited; restarting it in 1s", (int)pid);
				resolver_again = now_s() + 1.0;
			}
			continue;
		}
		for (k = 0; k < ngens; k++) {
			struct gen *g = gens[k];

			for (i = 0; i < g->nslots; i++) {
				struct slot *s = &g->slots[i];
				double lived;

				if (s->pid != pid)
					continue;
				s->pid = 0;
				/* Its in-flight requests died with it: undo its active counts. */
				shm_worker_reap(seg, s->shm_slot);
				if (stopping || g->draining) {
					log_debug("worker %u (pid %d) exited", i, (int)pid);
					goto next;
				}
				lived = now_s() - s->started;
				if (lived < YOUNG)
					s->backoff = s->backoff == 0 ? BACKOFF_MIN :
					    (s->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : s->backoff * 2);
				else
					s->backoff = 0;
				if (WIFSIGNALED(st))
					log_error("worker %u (pid %d) killed by signal %d; respawning in %.1fs",
					    i, (int)pid, WTERMSIG(st), s->backoff);
				else
					log_error("worker %u (pid %d) exited with status %d; respawning in %.1fs",
					    i, (int)pid, WEXITSTATUS(st), s->backoff);
				s->respawn_at = now_s() + s->backoff;
				goto next;
			}
		}
next:
		;
	}
}

/* Index of the listener of g bound to the same address as l, or -1. */
static int
listener_find(const struct gen *g, const struct listener_conf *l)
{
	uint32_t i;

	for (i = 0; i < g->conf->nlisteners; i++) {
		const struct addr_conf *a = &g->conf->listeners[i].addr;

		if (a->len == l->addr.len && memcmp(&a->ss, &l->addr.ss, a->len) == 0)
			return (int)i;
	}
	return -1;
}

/* Closes the listening fds of g that keep (the new generation) does not use. */
static void
close_gen_fds(struct gen *g, const struct gen *keep)
{
	uint32_t i, j;

	if (g->fds_closed)
		return;
	for (i = 0; i < g->ho.nlisten; i++) {
		int used = 0;

		for (j = 0; keep != NULL && j < keep->ho.nlisten; j++)
			used |= keep->ho.listen_fd[j] == g->ho.listen_fd[i];
		if (!used)
			close(g->ho.listen_fd[i]);
	}
	g->fds_closed = 1;
}

/*
 * SIGHUP: load the file again; on any error log it and keep serving. Else
 * build the next generation on the same listening sockets (new addresses
 * opened, unchanged ones shared), so no connection is ever refused.
 */
static struct gen *
reload(const char *file, struct gen *cur)
{
	struct conf_errs errs, warns;
	struct conf *c;
	struct gen *g;
	int fds[HANDOFF_MAX_LISTEN], opened[HANDOFF_MAX_LISTEN];
	char err[768];
	uint32_t i, j;

	memset(&errs, 0, sizeof(errs));
	memset(&warns, 0, sizeof(warns));
	c = conf_load_ext(file, 0, &errs, &warns);
	if (c == NULL) {
		for (i = 0; i < errs.n; i++)
			log_error("reload: %s:%d: %s", errs.err[i].file, errs.err[i].line,
			    errs.err[i].msg);
		log_error("reload: %s is invalid; still serving the previous configuration", file);
		return NULL;
	}
	/* What -t and start-up warn about (a shadowed route, a name that does not resolve). */
	for (i = 0; i < warns.n; i++)
		log_warnx("reload: %s:%d: warning: %s", warns.err[i].file, warns.err[i].line,
		    warns.err[i].msg);
	if (c->nlisteners > HANDOFF_MAX_LISTEN) {
		log_error("reload: at most %d listeners; still serving the previous configuration",
		    HANDOFF_MAX_LISTEN);
		conf_free(c);
		return NULL;
	}
	for (i = 0; i < c->nlisteners; i++) {
		int k = listener_find(cur, &c->listeners[i]);

		opened[i] = k < 0;
		fds[i] = k >= 0 ? cur->ho.listen_fd[k] : listen_open(&c->listeners[i], err, sizeof(err));
		if (fds[i] == -1) {
			log_error("reload: %s; still serving the previous configuration", err);
			for (j = 0; j < i; j++)
				if (opened[j])
					close(fds[j]);
			conf_free(c);
			return NULL;
		}
	}
	g = gen_new(c, fds, cur->ho.generation + 1, err, sizeof(err));
	if (g == NULL) {
		log_error("reload: %s; still serving the previous configuration", err);
		for (j = 0; j < c->nlisteners; j++)
			if (opened[j])
				close(fds[j]);
		conf_free(c);
		return NULL;
	}
	if (log_open(c->log.error, c->log.level) == -1)
		log_warn("reload: cannot open error log %s; keeping the old one", c->log.error);
	return g;
}

/* The supervisor's own state, between signals. */
struct sup {
	struct gen	*gens[MAX_GENS];	/* live generations, cur among them */
	uint32_t	 ngens;
	struct gen	*cur;			/* the newest configuration */
	enum stop_kind	 stopping;
	double		 deadline;		/* stop: when to kill what is left */
};

static int	sup_wait(struct sup *m, sigset_t *set);
static uint32_t	ticket_period(const struct conf *c);
static void	sup_stop(struct sup *m, int sig);
static void	sup_reload(struct sup *m, const char *file);
static void	sup_retire(struct sup *m, double t);
static int	sup_stopped(struct sup *m, double t);

/* Sleeps until a signal or the next respawn/kill deadline; returns the signal or -1. */
static int
sup_wait(struct sup *m, sigset_t *set)
{
	struct timespec ts;
	siginfo_t info;
	double t = now_s(), next = t + 1.0, d;
	uint32_t i;

	for (i = 0; i < m->cur->nslots; i++)
		if (m->cur->slots[i].respawn_at != 0 && m->cur->slots[i].respawn_at < next)
			next = m->cur->slots[i].respawn_at;
	if (m->deadline != 0 && m->deadline < next)
		next = m->deadline;
	/* Rotates the ticket keys when due; wakes for the next rotation. */
	if (t + (d = tickets_tick()) < next)
		next = t + d;
	if (next < t)
		next = t;
	ts.tv_sec = (time_t)(next - t);
	ts.tv_nsec = (long)((next - t - (double)ts.tv_sec) * 1e9);
	return sigtimedwait(set, &info, &ts);
}

/* TERM/INT (fast) or QUIT (graceful): every generation stops, listeners close. */
static void
sup_stop(struct sup *m, int sig)
{
	uint32_t k;

	if (sig == SIGQUIT) {
		if (m->stopping != STOP_NONE)
			return;
		log_info("graceful stop: draining for up to %.0fs", m->cur->conf->timeouts.graceful);
		m->stopping = STOP_GRACEFUL;
		m->deadline = now_s() + m->cur->conf->timeouts.graceful + STOP_GRACE;
	} else {
		if (m->stopping == STOP_FAST)
			return;
		log_info("stopping (signal %d)", sig);
		m->stopping = STOP_FAST;
		m->deadline = now_s() + STOP_GRACE;
	}
	for (k = 0; k < m->ngens; k++) {
		signal_gen(m->gens[k], sig == SIGQUIT ? SIGQUIT : SIGTERM);
		close_gen_fds(m->gens[k], NULL);
	}
	if (checker_pid > 0)
		kill(checker_pid, SIGTERM);
	if (resolver_pid > 0)
		kill(resolver_pid, SIGTERM);
}

/* HUP: a new generation on the same listeners; the current one drains. */
static void
sup_reload(struct sup *m, const char *file)
{
	struct gen *g, *cur = m->cur;
	uint32_t i;

	if (m->stopping != STOP_NONE)
		return;
	if (m->ngens == MAX_GENS) {
		log_error("reload: %d generations still draining; try again later", MAX_GENS - 1);
		return;
	}
	log_info("reload: loading %s", file);
	g = reload(file, cur);
	if (g == NULL)
		return;
	logfiles_own(g->conf);
	/* Old-only listeners close before the fork, so new workers never hold them. */
	close_gen_fds(cur, g);
	for (i = 0; i < g->nslots; i++)
		spawn_one(g, i);
	checker_start(g, m->gens, m->ngens);
	resolver_start(g, m->gens, m->ngens);
	cur->draining = 1;
	cur->deadline = now_s() + cur->conf->timeouts.graceful + STOP_GRACE;
	signal_gen(cur, SIGQUIT);
	m->gens[m->ngens++] = g;
	tickets_set_period(ticket_period(g->conf));
	log_info("reload: generation %u started with %u worker(s); generation %u draining",
	    g->ho.generation, g->nslots, cur->ho.generation);
	m->cur = g;
}

/* Retires drained generations; kills the ones past their deadline. */
static void
sup_retire(struct sup *m, double t)
{
	struct gen *g;
	uint32_t k;

	for (k = 0; k < m->ngens;) {
		g = m->gens[k];
		if (g != m->cur && g->draining && alive(g) == 0) {
			log_info("generation %u finished draining", g->ho.generation);
			gen_free(g);
			m->gens[k] = m->gens[--m->ngens];
			continue;
		}
		if (g->draining && t >= g->deadline) {
			log_warnx("generation %u still running at its deadline; killing it",
			    g->ho.generation);
			signal_gen(g, SIGKILL);
			g->deadline = t + STOP_GRACE;
		}
		k++;
	}
}

/* While stopping: 1 once every process is gone; kills them at the deadline. */
static int
sup_stopped(struct sup *m, double t)
{
	uint32_t k, n = 0;

	for (k = 0; k < m->ngens; k++)
		n += alive(m->gens[k]);
	if (n == 0 && checker_pid == 0 && resolver_pid == 0)
		return 1;
	if (t >= m->deadline) {
		log_warnx("workers still running at the deadline; killing them");
		for (k = 0; k < m->ngens; k++)
			signal_gen(m->gens[k], SIGKILL);
		if (checker_pid > 0)
			kill(checker_pid, SIGKILL);
		if (resolver_pid > 0)
			kill(resolver_pid, SIGKILL);
		m->deadline = t + STOP_GRACE;
	}
	return 0;
}

/* The shortest ticket_rotate of the listeners that issue tickets (1 h if none). */
static uint32_t
ticket_period(const struct conf *c)
{
	uint32_t i, p = 0;

	for (i = 0; i < c->nlisteners; i++)
		if (c->listeners[i].tls.enabled && c->listeners[i].tls.session_tickets &&
		    (p == 0 || c->listeners[i].tls.ticket_rotate < p))
			p = c->listeners[i].tls.ticket_rotate;
	return p != 0 ? p : 3600;
}

/* The start line: version, configuration file, every listener, workers, pid. */
static void
log_start_line(const char *file, const struct gen *g)
{
	char addrs[512];
	size_t o = 0;
	uint32_t i;
	int n;

	addrs[0] = '\0';
	for (i = 0; i < g->conf->nlisteners && o < sizeof(addrs); i++) {
		n = snprintf(addrs + o, sizeof(addrs) - o, "%s%s%s", i ? ", " : "",
		    g->conf->listeners[i].addr.text,
		    g->conf->listeners[i].tls.enabled ? " (tls)" : "");
		if (n < 0)
			break;
		o += (size_t)n;
	}
	log_info("sluice %s ready: config %s, listening on %s, %u worker(s), pid %d",
	    SLUICE_VERSION, file, addrs, g->nslots, (int)getpid());
}

int
spawn_run(const char *file, struct conf *conf, const int *fds, struct shm_seg *shm)
{
	struct sup m = { .stopping = STOP_NONE };
	uint32_t i, k;
	sigset_t set;
	char err[256];
	double t;
	int sig;

	seg = shm;
	/* Before any worker forks: they inherit the mapping. */
	if (tickets_open(upgrade_inherited(), ticket_period(conf), err, sizeof(err)) == -1)
		log_warnx("%s; TLS clients get full handshakes only", err);
	if (ratelimit_open() == -1)
		log_warn("rate limits: cannot map their shared table; routes with rate_limit "
		    "let every request through");
	wake_open(shm);
	m.cur = gen_new(conf, fds, 1, err, sizeof(err));
	if (m.cur == NULL)
		fatalx("%s", err);
	m.gens[m.ngens++] = m.cur;
	for (i = 0; i < m.cur->nslots; i++)
		spawn_one(m.cur, i);
	checker_start(m.cur, m.gens, m.ngens);
	resolver_start(m.cur, m.gens, m.ngens);
	log_start_line(file, m.cur);
	log_startup_done(1);	/* the detaching parent exits 0 now */

	spawn_sigset(&set);
	for (;;) {
		sig = sup_wait(&m, &set);
		switch (sig) {
		case SIGTERM:
		case SIGINT:
		case SIGQUIT:
			sup_stop(&m, sig);
			break;
		case SIGUSR1:
			/* Renamed away by logrotate: new files the workers may open. */
			logfiles_own(m.cur->conf);
			if (log_reopen() == -1)
				log_warn("%s: reopening the log", __func__);
			for (k = 0; k < m.ngens; k++)
				signal_gen(m.gens[k], SIGUSR1);
			break;
		case SIGHUP:
			sup_reload(&m, file);
			break;
		case SIGUSR2:
			if (m.stopping != STOP_NONE)
				break;
			if (upgrade_pid > 0) {
				log_warnx("upgrade: pid %d is already the new master", (int)upgrade_pid);
				break;
			}
			upgrade_pid = upgrade_exec(m.cur->ho.listen_fd, m.cur->ho.nlisten,
			    m.cur->conf->pid_file);
			upgraded |= upgrade_pid > 0;
			break;
		default:
			break;	/* SIGCHLD or timeout: reap below */
		}
		reap(m.gens, m.ngens, m.stopping != STOP_NONE);
		t = now_s();
		sup_retire(&m, t);
		if (m.stopping != STOP_NONE) {
			if (sup_stopped(&m, t))
				break;
			continue;
		}
		for (i = 0; i < m.cur->nslots; i++)
			if (m.cur->slots[i].pid == 0 && m.cur->slots[i].respawn_at != 0 &&
			    m.cur->slots[i].respawn_at <= t)
				spawn_one(m.cur, i);
		if (checker_pid == 0 && m.cur->conf->health.enabled)
			checker_start(m.cur, m.gens, m.ngens);
		if (resolver_pid == 0 && t >= resolver_again && resolve_needed(m.cur->conf))
			resolver_start(m.cur, m.gens, m.ngens);
	}
	for (k = 0; k < m.ngens; k++) {
		close_gen_fds(m.gens[k], NULL);
		gen_free(m.gens[k]);
	}
	log_info("stopped");
	return 0;
}
