/*
 * Where a source is now (live DNS, issue 14): its configured address, or for
 * a source with resolve = true the address the resolver last published in
 * its shm slot. Connections remember the generation they were made at, so
 * the pool can retire those to an address no longer published.
 */
#ifndef SLUICE_SRCADDR_H
#define SLUICE_SRCADDR_H

#include <stdint.h>

struct addr_conf;
struct worker;

/* Builds the worker's per-source cache (w->sa); 0, or -1 with ENOMEM. */
int	srcaddr_init(struct worker *w);

/*
 * The address to connect to for conf source src_idx; *gen receives the
 * generation it belongs to (0 for a source that is not re-resolved).
 * Returns NULL when a resolve = true source has no address yet.
 */
const struct addr_conf *srcaddr_get(struct worker *w, uint32_t src_idx, uint32_t *gen);

/* 1 if a connection made at generation gen to src_idx now goes to an address
 * no longer published (retire it), else 0; 0 also when w->sa is NULL. */
int	srcaddr_stale(struct worker *w, uint32_t src_idx, uint32_t gen);

#endif
