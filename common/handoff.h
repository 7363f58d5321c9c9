/*
 * The one thing that crosses fork from master to worker (Varnish's heritage).
 */
#ifndef SLUICE_HANDOFF_H
#define SLUICE_HANDOFF_H

#include <stdint.h>

struct conf;
struct shm_seg;

#define HANDOFF_MAX_LISTEN	256

struct handoff {
	const struct conf	*conf;		/* the generation this worker serves */
	int			 listen_fd[HANDOFF_MAX_LISTEN];	/* parallel to conf->listeners */
	uint32_t		 nlisten;
	uint32_t		 worker_idx;	/* 0..workers-1, stable across respawns */
	uint32_t		 generation;	/* config generation, 1 at start */
	struct shm_seg		*shm;		/* the segment, mapped before fork */
	const uint32_t		*src_slot;	/* conf source index -> shm source slot */
	uint32_t		 route_base;	/* shm route slot of conf route 0 */
	uint32_t		 shm_slot;	/* this worker's shm worker slot */
	const int		*wake_fd;	/* per shm worker slot: eventfd that wakes it when
						 * a max_conns slot frees; -1 or NULL: none */
	uint32_t		 nwake;
};

/*
 * The worker's one entry point, called by the master in the child right
 * after fork (worker/worker.c); never returns. Declared here so the master
 * reaches the worker through the handoff alone, never its headers.
 */
_Noreturn void	worker_main(const struct handoff *ho);

#endif
