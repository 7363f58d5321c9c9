/*
 * Master supervision: forks the workers, respawns a dead one (with back-off
 * when it keeps dying), and turns signals into stops.
 */
#ifndef SLUICE_SPAWN_H
#define SLUICE_SPAWN_H

#include <stdint.h>

struct conf;

/*
 * Runs the workers for conf on the listening fds until a stop signal; the
 * caller has blocked the master's signals. Closes the fds once stopping.
 * Returns the exit status.
 */
int	spawn_run(const struct conf *conf, const int *fds, uint32_t nfds);

#endif
