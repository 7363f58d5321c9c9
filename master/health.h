/*
 * The active health checker: a process forked by the master that probes
 * every source with GET <health.path>, all of them concurrently on one event
 * loop, and writes up/down to shm.
 */
#ifndef SLUICE_HEALTH_H
#define SLUICE_HEALTH_H

#include <stdint.h>
#include <sys/types.h>

struct conf;
struct shm_seg;

/*
 * Forks the checker for conf (health.enabled must be set). close_fds[0..n)
 * are closed in the child (listening sockets it must not hold). The child
 * switches to conf->user when that is set and it runs as root, and stops
 * (as on TERM) when the master dies, even by SIGKILL. Each source is probed
 * every health.interval (from the start of its previous probe, or right after
 * it if it took longer), each probe bounded by health.timeout and by a 4 KB
 * response head, so a silent or hostile source slows no other. Returns the
 * child's pid, or -1 (logged).
 */
pid_t	health_spawn(const struct conf *conf, struct shm_seg *seg, const uint32_t *src_slot,
	    const int *close_fds, uint32_t nclose);

#endif
