/*
 * Master supervision: forks the workers, respawns a dead one (with back-off
 * when it keeps dying), and turns signals into stops.
 */
#ifndef SLUICE_SPAWN_H
#define SLUICE_SPAWN_H

#include <signal.h>

struct conf;
struct shm_seg;

/*
 * Runs the workers for conf on the listening fds (parallel to
 * conf->listeners) until a stop signal; the caller has blocked the master's
 * signals. SIGHUP reloads from file. Takes ownership of conf and the fds
 * (closed and freed before returning). shm: the segment, created by the
 * caller; generations publish into it. Returns the exit status.
 */
int	spawn_run(const char *file, struct conf *conf, const int *fds, struct shm_seg *shm);

/* The signals the master takes in its loop (blocked everywhere else). */
void	spawn_sigset(sigset_t *set);

/* Did a binary upgrade start a new master (which now owns the sockets' paths)? */
int	spawn_upgraded(void);

#endif
