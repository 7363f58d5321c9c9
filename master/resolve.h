/*
 * Live DNS: a process forked by the master, like the health checker, that
 * re-resolves every source with resolve = true through c-ares and publishes
 * its address in the source's shm slot, where workers pick it up for new
 * connections (worker/srcaddr.c).
 */
#ifndef SLUICE_RESOLVE_H
#define SLUICE_RESOLVE_H

#include <stdint.h>
#include <sys/types.h>

struct conf;
struct shm_seg;

/* 1 if some source of c has resolve = true (the resolver has work), else 0. */
int	resolve_needed(const struct conf *c);

/*
 * Forks the resolver for c (resolve_needed(c) must be 1). src_slot maps conf
 * source indices to shm source slots; close_fds[0..n) are closed in the
 * child (listening sockets it must not hold). The child drops to c->user like
 * the checker and stops on TERM, INT or QUIT, and when the master dies.
 *
 * Each source's name is looked up (A and AAAA; the first IPv4 address of the
 * answer is used, else the first IPv6 one) and looked up again after the
 * record's TTL capped by resolver.valid, at least 1 s later. A changed
 * address is published and logged. A failed lookup keeps the last address,
 * is logged once per change of state or error, and is retried after
 * min(resolver.valid, 5 s). Returns the child's pid, or -1 (logged).
 */
pid_t	resolve_spawn(const struct conf *c, struct shm_seg *seg, const uint32_t *src_slot,
	    const int *close_fds, uint32_t nclose);

#endif
