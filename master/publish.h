/*
 * Publishing a configuration generation into the shared segment: source
 * slots bound by name (so counters and health carry over a reload) and the
 * routes with the source slots each one balances over.
 */
#ifndef SLUICE_PUBLISH_H
#define SLUICE_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

struct conf;
struct shm_seg;

/* Segment maxima for a configuration, with headroom for reloads. */
void	publish_sizes(const struct conf *c, uint32_t *max_workers, uint32_t *max_sources,
	    uint32_t *max_routes);

/*
 * Binds c's sources (src_slot[i] receives the slot of c->sources[i]) and
 * writes c's routes at slots route_base.. . Returns 0, or -1 with a
 * one-line reason in err (segment too small: restart needed).
 */
int	publish_conf(struct shm_seg *seg, const struct conf *c, uint32_t route_base,
	    uint32_t *src_slot, char *err, size_t errlen);

#endif
