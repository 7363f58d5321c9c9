/*
 * A worker process: one libev loop serving client connections on the
 * listeners inherited from the master.
 */
#ifndef SLUICE_WORKER_H
#define SLUICE_WORKER_H

#include "common/handoff.h"
#include "worker/worker-t.h"

/* Worker process entry point, after fork; never returns. */
_Noreturn void	worker_main(const struct handoff *ho);

#endif
