/*
 * The shared segment: creation by the master, read-only attachment by
 * sluice-stat, table accessors, and the lock-free helpers every writer uses.
 * No logger, no allocator (STYLE.md 2.10 rule 7): errors go to err buffers.
 */
#ifndef SLUICE_SHM_H
#define SLUICE_SHM_H

#include <sys/types.h>
#include <sys/socket.h>

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "shm/layout.h"

/*
 * A mapped segment, as this process sees it. The maxima and table pointers
 * are copied from the header once, when it was verified, and never re-read
 * from shared memory, so a scribbled header cannot send anyone out of bounds.
 * Plain struct, no ownership beyond the mapping; crosses fork as is.
 */
struct shm_seg {
	char			 name[SHM_NAME_LEN];	/* "/sluice" */
	unsigned char		*base;		/* NULL when not mapped */
	size_t			 size;
	int			 ro;		/* mapped PROT_READ */
	dev_t			 dev;		/* identity of the object we mapped */
	ino_t			 ino;
	uint32_t		 max_workers;
	uint32_t		 max_sources;
	uint32_t		 max_routes;
	struct shm_hdr		*hdr;
	struct shm_worker	*workers;
	struct shm_wsrc		*wsrc;
	struct shm_source	*sources;
	struct shm_route	*routes;
	struct shm_wroute	*wroute;
};

/* A plain copy of a source's health record (not part of the ABI). */
struct shm_health_rec {
	uint32_t	state;		/* enum shm_health */
	uint32_t	reason;		/* enum shm_reason */
	uint64_t	since_ms;
	uint64_t	down_until_ms;
	uint32_t	fails;		/* consecutive failed checks */
	uint32_t	oks;		/* consecutive good checks */
	uint32_t	status;		/* HTTP status of the last check */
	uint64_t	checks;
};

/* Bytes a segment with these maxima takes (header and all tables). */
size_t	shm_size(uint32_t max_workers, uint32_t max_sources, uint32_t max_routes);

/*
 * Master, before fork: creates segment name (a POSIX shm name, "/x", shorter
 * than SHM_NAME_LEN) with room for exactly the maxima given (each 1..
 * SHM_LIMIT_*; the caller adds reload headroom), zero-filled, header written
 * with master_pid = getpid(), master_start = its start time and magic
 * stored last. If name exists: refused when its master is another live
 * process by shm_master_alive() ("segment /sluice is in use by pid N") or
 * when it is not a sluice segment; otherwise (left by a crashed master, even
 * if its pid now belongs to an unrelated process, or by this process) it is
 * unlinked and created afresh.
 * Returns 0 and fills out, or -1 with errno set and a one-line reason in err.
 */
int	shm_create(const char *name, uint32_t max_workers, uint32_t max_sources,
	    uint32_t max_routes, struct shm_seg *out, char *err, size_t errlen);

/*
 * Readers (sluice-stat): maps name PROT_READ after checking magic, ver_major,
 * hdr_size, element sizes, total_size against fstat, and that every table
 * fits. A newer minor version is accepted. Returns 0, or -1 with errno set
 * and a one-line reason in err: "no sluice running with shm /sluice?" when
 * it does not exist (errno ENOENT), the two versions when they differ
 * (errno EPROTO), what is wrong otherwise.
 */
int	shm_attach_ro(const char *name, struct shm_seg *out, char *err, size_t errlen);

/*
 * Start time of process pid: field 22 of /proc/PID/stat, in clock ticks
 * after boot; with the pid it names one process for good, since a pid is
 * reused only by a process that starts later. Returns it, or 0 with errno
 * ENOENT if there is no such process or it is a zombie (it has exited), or
 * 0 with another errno if /proc could not tell.
 */
uint64_t shm_proc_start(int32_t pid);

/*
 * Is the master recorded in a segment (hdr.master_pid, hdr.master_start)
 * still running? Never decided by the pid alone: 1 if process pid exists,
 * is not a zombie and started at start; for start 0 (a segment of layout
 * 1.0, which did not record it), if the process is named "sluice". 0 if the
 * pid is free, a zombie, or another process now. If /proc is not mounted,
 * only the pid can be checked: 1 if it exists (the cautious answer).
 */
int	shm_master_alive(int32_t pid, uint64_t start);

/* Unmaps seg and zeroes it; accepts a seg that is not mapped. */
void	shm_detach(struct shm_seg *seg);

/*
 * Master, at normal exit: marks seg retired and unlinks its name, and its
 * <name>.oldbin (where an upgrade's new master moved it), but each only if
 * it still refers to this very segment (not to a newer one created since).
 * Does not unmap. Returns 0, or -1 with errno set.
 */
int	shm_remove(struct shm_seg *seg);

/*
 * Binary upgrade. The new master's segment takes the name; the old master's
 * stays reachable as <name>.oldbin until it exits, so sluice-stat can show
 * both generations' workers. SHM_OLDBIN_SUFFIX is appended to the name.
 */
#define SHM_OLDBIN_SUFFIX	".oldbin"

/* Writes name + SHM_OLDBIN_SUFFIX into out. Returns 0, or -1 with errno
 * EINVAL (bad name) or ENAMETOOLONG (no room: the name has no .oldbin). */
int	shm_oldbin_name(const char *name, char *out, size_t outlen);

/*
 * New master of an upgrade, before shm_create(name): if name is a segment
 * of old_pid (the old master, alive), renames it to <name>.oldbin (replacing
 * any there); the old master keeps its mapping. If <name>.oldbin would be
 * too long, unlinks name instead (the old generation is then not shown).
 * Anything else (no segment, another or a dead master) is left for
 * shm_create() to judge. Returns 1 if moved, 0 if nothing was moved, -1
 * with errno set.
 */
int	shm_move_aside(const char *name, int32_t old_pid);

/*
 * The new master, stopping (or failing) while old_pid still serves, after
 * shm_remove(): renames <name>.oldbin back to name if it is old_pid's live
 * segment and name is free, so the rolled-back old master is found again.
 * Returns 1 if moved, 0 if not, -1 with errno set.
 */
int	shm_move_back(const char *name, int32_t old_pid);

/*
 * A master at start: unlinks <name>.oldbin if it is a sluice segment whose
 * master is dead (it was killed during an upgrade). Anything else there is
 * kept. Returns 1 if removed, 0 if not, -1 with errno set.
 */
int	shm_oldbin_clean(const char *name);

/* Readers: 1 if seg's name is gone or now names another segment, else 0. */
int	shm_replaced(const struct shm_seg *seg);

/*
 * Master, reload: wrap every edit of the tables (source binding, routes,
 * nworkers) in shm_gen_begin()/shm_gen_end() so readers retry instead of
 * seeing half a configuration.
 */
void	shm_gen_begin(struct shm_seg *seg);
void	shm_gen_end(struct shm_seg *seg);

/* Slot index of the source keyed name (SHM_SRC_F_USED), or -1. */
int	shm_source_find(const struct shm_seg *seg, const char *name);

/*
 * Master, under shm_gen_begin(): binds the source name to its slot (the same
 * slot as before if name was bound, so counters and health carry over a
 * reload; else the first free one) and writes its configuration; sets
 * SHM_SRC_F_LIVE. name must be 1..SHM_NAME_LEN-1 bytes; addr is truncated.
 * Returns the slot index, or -1 (errno EINVAL for a bad name, ENOSPC when
 * every slot is bound: create a bigger segment).
 */
int	shm_source_bind(struct shm_seg *seg, const char *name, const char *addr,
	    uint32_t weight, uint32_t max_fails, uint32_t fail_timeout_ms, int backup);

/* Master, under shm_gen_begin(), before re-binding a reloaded source list:
 * clears SHM_SRC_F_LIVE on every slot (slots stay bound to their names). */
void	shm_source_retire_all(struct shm_seg *seg);

/*
 * Master, under shm_gen_begin(): fills route slot r. src[] are source slot
 * indices (n of them, 1..SHM_ROUTE_SOURCES); flags SHM_RT_F_REGEX or 0;
 * host/path are truncated. The ticket is kept. Raises hdr.nroutes to r+1.
 * Returns 0, or -1 with errno EINVAL for any out-of-range argument.
 */
int	shm_route_set(struct shm_seg *seg, uint32_t r, const char *host, const char *path,
	    uint32_t flags, uint32_t balancer, const uint32_t *src, uint32_t n);

/* Master, under shm_gen_begin(): frees every route slot, nroutes = 0. */
void	shm_route_clear_all(struct shm_seg *seg);

/*
 * Worker w at start (slot reused by a respawned worker): pid, running,
 * started/heartbeat, conf_gen, spawns + 1. Counters are kept.
 */
void	shm_worker_claim(struct shm_seg *seg, uint32_t w, int32_t pid, uint64_t conf_gen);

/*
 * Master, after waitpid() reaped worker w: subtracts the worker's share of
 * every source's active, conns and queued counts from the global ones and
 * zeroes the shares, zeroes its route queue lengths and conns_open, frees the slot (pid 0, SHM_W_FREE). Request and byte
 * counters are kept: a respawned worker continues them.
 */
void	shm_worker_reap(struct shm_seg *seg, uint32_t w);

/*
 * Passive health, any worker. Counts a failure of src at now_s; when it is
 * the max_fails-th within fail_timeout_s (max_fails 0: never), marks the
 * source down until now_s + fail_timeout_s. Concurrent callers may lose a
 * count at a window boundary (approximate, as nginx). Returns 1 if this call
 * took the source from up to down (log it), else 0.
 */
int	shm_source_note_failure(struct shm_source *src, uint32_t now_s, uint32_t max_fails,
	    uint32_t fail_timeout_s, uint32_t reason);

/* Marks src down until until_s (extends, never shortens, a mark); returns 1
 * if it was not marked down at now_s before (log it), else 0. */
int	shm_source_mark_down(struct shm_source *src, uint32_t now_s, uint32_t until_s,
	    uint32_t reason);

/*
 * After a passive mark expired: at most one worker gets the probe request.
 * Returns 1 if the mark is expired (<= now_s) and this caller moved it to
 * now_s + hold_s (the others keep skipping), 0 otherwise.
 */
int	shm_source_claim_probe(struct shm_source *src, uint32_t now_s, uint32_t hold_s);

/* A request to src succeeded: clears the passive mark and fail count;
 * returns 1 if a mark was cleared (log "up again"; up_since_ms is set to
 * now, where slow start ramps from), else 0. */
int	shm_source_mark_up(struct shm_source *src);

/* Health record, one writer at a time (the checker). A change from down to
 * up also sets src->up_since_ms to h->since_ms (now if 0): slow start. */
void	shm_health_write(struct shm_source *src, const struct shm_health_rec *h);
/* Copies the record consistently; returns 0, or -1 if the writer stayed in
 * the middle of a write for every retry (a checker killed mid-write). */
int	shm_health_read(const struct shm_source *src, struct shm_health_rec *h);

/* ---- table accessors: indices are asserted, never trusted from shm ---- */

static inline struct shm_worker *
shm_worker(const struct shm_seg *seg, uint32_t w)
{
	assert(w < seg->max_workers);
	return &seg->workers[w];
}

static inline struct shm_wsrc *
shm_wsrc(const struct shm_seg *seg, uint32_t w, uint32_t s)
{
	assert(w < seg->max_workers && s < seg->max_sources);
	return &seg->wsrc[(size_t)w * seg->max_sources + s];
}

static inline struct shm_source *
shm_source(const struct shm_seg *seg, uint32_t s)
{
	assert(s < seg->max_sources);
	return &seg->sources[s];
}

static inline struct shm_route *
shm_route(const struct shm_seg *seg, uint32_t r)
{
	assert(r < seg->max_routes);
	return &seg->routes[r];
}

static inline struct shm_wroute *
shm_wroute(const struct shm_seg *seg, uint32_t w, uint32_t r)
{
	assert(w < seg->max_workers && r < seg->max_routes);
	return &seg->wroute[(size_t)w * seg->max_routes + r];
}

/* ---- single-writer counters: no locked RMW on the hot path ---- */

static inline void
shm_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
	    memory_order_relaxed);
}

static inline void
shm_gauge_add(_Atomic int64_t *c, int64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
	    memory_order_relaxed);
}

static inline uint64_t
shm_load(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/*
 * A request of worker w to source slot s starts / ends. The share moves
 * first and the global count second on the way up, and the other way round
 * on the way down, so a worker killed between the two stores leaves the
 * global count at most one too low, never stuck too high (which would starve
 * the source under least_conn); readers clamp at 0.
 */
static inline void
shm_active_inc(const struct shm_seg *seg, uint32_t w, uint32_t s)
{
	shm_gauge_add(&shm_wsrc(seg, w, s)->active, 1);
	atomic_fetch_add_explicit(&shm_source(seg, s)->active, 1, memory_order_relaxed);
}

static inline void
shm_active_dec(const struct shm_seg *seg, uint32_t w, uint32_t s)
{
	atomic_fetch_sub_explicit(&shm_source(seg, s)->active, 1, memory_order_relaxed);
	shm_gauge_add(&shm_wsrc(seg, w, s)->active, -1);
}

/*
 * A connection of worker w to source slot s opens / closes (max_conns).
 * Taking a slot is a CAS on the global count bounded by max (0 = no limit)
 * and then the worker's share; giving it back goes the other way round. A
 * worker killed between the two leaves the global count one too high (a
 * slot lost until the next restart), never one too low: the bound holds.
 * Returns 1 with the slot taken, 0 when the source is full.
 */
static inline int
shm_conn_take(const struct shm_seg *seg, uint32_t w, uint32_t s, uint32_t max)
{
	struct shm_source *src = shm_source(seg, s);
	int64_t n;

	if (max == 0) {
		atomic_fetch_add_explicit(&src->conns, 1, memory_order_relaxed);
	} else {
		n = atomic_load_explicit(&src->conns, memory_order_relaxed);
		do {
			if (n >= (int64_t)max)
				return 0;
		} while (!atomic_compare_exchange_weak_explicit(&src->conns, &n, n + 1,
		    memory_order_acq_rel, memory_order_relaxed));
	}
	shm_gauge_add(&shm_wsrc(seg, w, s)->conns, 1);
	atomic_fetch_add_explicit(&src->conns_total, 1, memory_order_relaxed);
	return 1;
}

static inline void
shm_conn_give(const struct shm_seg *seg, uint32_t w, uint32_t s)
{
	shm_gauge_add(&shm_wsrc(seg, w, s)->conns, -1);
	atomic_fetch_sub_explicit(&shm_source(seg, s)->conns, 1, memory_order_release);
}

/* Histogram bucket of a latency in microseconds (see layout.h). */
static inline uint32_t
shm_hist_bucket(uint64_t us)
{
	uint32_t k;

	if (us == 0)
		return 0;
	if (us >= (UINT64_C(1) << SHM_HIST_POW))
		return SHM_HIST_BUCKETS - 1;
	k = 63 - (uint32_t)__builtin_clzll(us);
	/* position inside [2^k, 2^(k+1)) in quarters; exact for k < 2 too */
	return 1 + k * SHM_HIST_SUB + (uint32_t)(((us - (UINT64_C(1) << k)) * SHM_HIST_SUB) >> k);
}

/* Worker: records one response latency to the source. */
static inline void
shm_wsrc_latency(struct shm_wsrc *ws, uint64_t us)
{
	shm_add(&ws->hist[shm_hist_bucket(us)], 1);
	shm_add(&ws->lat_sum_us, us);
}

/* Index into resp[] for an HTTP status (100..599), or -1. */
static inline int
shm_status_class(int status)
{
	return status >= 100 && status <= 599 ? status / 100 - 1 : -1;
}

/* Milliseconds of CLOCK_MONOTONIC, the time base of the segment. */
static inline uint64_t
shm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- seqlock (STYLE.md 2.10 rule 6), for one writer at a time ---- */

/*
 * Stores an odd value, then a release fence, so the field stores that follow
 * cannot be seen before it. A sequence left odd by a writer that died is
 * stepped over to the next odd value. Returns the value to pass to _end.
 */
static inline uint64_t
shm_seq_write_begin(_Atomic uint64_t *seq)
{
	uint64_t s = atomic_load_explicit(seq, memory_order_relaxed);

	s += 1 + (s & 1);
	atomic_store_explicit(seq, s, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	return s;
}

static inline void
shm_seq_write_end(_Atomic uint64_t *seq, uint64_t begin)
{
	atomic_store_explicit(seq, begin + 1, memory_order_release);
}

/* Acquire-loads the sequence; pass it to shm_seq_read_retry() after the
 * relaxed field loads. */
static inline uint64_t
shm_seq_read_begin(const _Atomic uint64_t *seq)
{
	return atomic_load_explicit(seq, memory_order_acquire);
}

/* 1 if the fields read since begin may be torn: read again. */
static inline int
shm_seq_read_retry(const _Atomic uint64_t *seq, uint64_t begin)
{
	atomic_thread_fence(memory_order_acquire);
	return (begin & 1) || atomic_load_explicit(seq, memory_order_relaxed) != begin;
}

/* ---- round robin: one ticket shared by all workers ---- */

/* Takes the next ticket of route rt (the only locked RMW of a pick). */
static inline uint64_t
shm_route_ticket(struct shm_route *rt)
{
	return atomic_fetch_add_explicit(&rt->rr_ticket, 1, memory_order_relaxed);
}

/*
 * The name of an exchange end cause (enum shm_end): "ok", "client_abort",
 * ...; what sluice-stat prints and the error log says. "unknown" out of range.
 */
const char	*shm_end_name(uint32_t cause);

/* ---- live DNS: a source's published address ---- */

/* A plain copy of a source's published address (live DNS; not part of the ABI). */
struct shm_addr_rec {
	uint32_t	fam;		/* AF_INET, AF_INET6, or 0: none yet */
	uint32_t	gen;		/* agen: bumped on every change */
	uint8_t		bytes[16];	/* network order; IPv4 in the first 4 */
};

/*
 * Live DNS, one writer at a time (the resolver; the master when it binds a
 * source whose address text changed). Stores fam (AF_INET, AF_INET6, or 0 to
 * withdraw the address) and the first 4 or 16 bytes of bytes, and bumps agen;
 * returns the new agen.
 */
uint32_t shm_addr_write(struct shm_source *src, uint32_t fam, const void *bytes);
/* Copies the published address consistently into a; returns 0, or -1 if the
 * writer stayed in the middle of a write for every retry. */
int	shm_addr_read(const struct shm_source *src, struct shm_addr_rec *a);

/*
 * The socket address of record r with port (network order): fills ss and
 * *len; returns 0, or -1 when r holds no IPv4 or IPv6 address.
 */
int	shm_addr_sockaddr(const struct shm_addr_rec *r, uint16_t port,
	    struct sockaddr_storage *ss, socklen_t *len);

#endif
