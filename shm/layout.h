/*
 * shm/layout.h - THE shared segment (the ABI between master, workers, the
 * health checker and sluice-stat). Any size/order change: bump SHM_VER_MAJOR.
 * Fields may be appended into reserved space with a SHM_VER_MINOR bump only.
 *
 * Segment: struct shm_hdr, then at the offsets it records
 *   struct shm_worker	workers[max_workers]
 *   struct shm_wsrc	wsrc[max_workers][max_sources]	(row per worker)
 *   struct shm_source	sources[max_sources]
 *   struct shm_route	routes[max_routes]
 *   struct shm_wroute	wroute[max_workers][max_routes]	(row per worker, 4.0)
 * Every table starts on a 64-byte boundary and every element is a multiple
 * of 64 bytes, so no two writers share a cache line by accident.
 *
 * Rules (STYLE.md 2.10): no pointers, only offsets and indices; every field
 * that changes after creation is _Atomic and at most 8 bytes, since a 16-byte
 * atomic would fault on the reader's read-only map. The strings (source
 * name/addr, route host/path) are the one exception: only the master writes
 * them, only while hdr.gen is odd, and readers copy them under that seqlock.
 * Times named *_ms / *_s are CLOCK_MONOTONIC (shared by all processes of the
 * machine); hdr.start_time is the only wall-clock time.
 */
#ifndef SLUICE_SHM_LAYOUT_H
#define SLUICE_SHM_LAYOUT_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#define SHM_MAGIC	UINT64_C(0x3130454349554c53)	/* "SLUICE01" in memory, fixed */
#define SHM_VER_MAJOR	4	/* incompatible layout */
#define SHM_VER_MINOR	0	/* fields appended into reserved space */

#define SHM_CACHE_LINE		64
#define SHM_NAME_LEN		64	/* source name (the key), NUL-terminated */
#define SHM_ADDR_LEN		128	/* source address as written in the config */
#define SHM_HOST_LEN		128	/* route host, truncated for display */
#define SHM_PATH_LEN		256	/* route path prefix or regex, truncated */
#define SHM_ROUTE_SOURCES	64	/* sources per route (worker "tried" masks are 64-bit) */

/* Sanity limits on the maxima a segment may be created with (and that a
 * reader accepts), so a corrupt header cannot make anyone map terabytes. */
#define SHM_LIMIT_WORKERS	1024
#define SHM_LIMIT_SOURCES	1024
#define SHM_LIMIT_ROUTES	1024

/*
 * Latency histogram, log-linear: bucket 0 holds 0 us; then SHM_HIST_SUB
 * buckets per power of two for [2^0, 2^SHM_HIST_POW) us, each a quarter of
 * its octave wide (at most 25 % error); the last bucket holds >= 2^28 us
 * (about 268 s). shm_hist_bucket() in shm.h maps a value to its bucket.
 */
#define SHM_HIST_SUB		4
#define SHM_HIST_POW		28
#define SHM_HIST_BUCKETS	(1 + SHM_HIST_POW * SHM_HIST_SUB + 1)	/* 114 */

/* hdr.flags */
#define SHM_HDR_F_RETIRED	0x0001u	/* master replaced or is removing this segment */

/* shm_worker.state */
enum shm_worker_state {
	SHM_W_FREE = 0,		/* never used, or reaped by the master */
	SHM_W_RUNNING,
	SHM_W_DRAINING,		/* graceful stop or old generation after a reload */
	SHM_W__COUNT
};

/* shm_source.flags */
#define SHM_SRC_F_USED		0x0001u	/* bound to name, for the segment's lifetime */
#define SHM_SRC_F_LIVE		0x0002u	/* in the current configuration */
#define SHM_SRC_F_BACKUP	0x0004u

/* shm_source.hstate */
enum shm_health {
	SHM_H_UP = 0,		/* also the state of a fresh slot */
	SHM_H_DOWN,
	SHM_H__COUNT
};

/*
 * Why a source is or was down: shm_source.hreason (the checker's last
 * verdict) and .preason (the failure that set the passive mark, whether the
 * mark came from max_fails or from a Retry-After). Append only.
 */
enum shm_reason {
	SHM_R_NONE = 0,
	SHM_R_CONNECT,		/* connect refused or failed */
	SHM_R_TIMEOUT,
	SHM_R_RESET,		/* reset or closed mid-response */
	SHM_R_MALFORMED,	/* unparsable response */
	SHM_R_STATUS,		/* health check answered a non-2xx/3xx status */
	SHM_R_RETRY_AFTER,	/* 503/429 with Retry-After */
	SHM_R__COUNT
};

/*
 * How an exchange ended (shm_worker.ends, shm_wsrc.ends, and the first
 * letter of the access log's termination code). Append only.
 */
enum shm_end {
	SHM_END_OK = 0,		/* '-' complete */
	SHM_END_CLI_ABORT,	/* 'C' client closed or reset before the end (499) */
	SHM_END_CLI_TIMEOUT,	/* 'c' client too slow: head (408), body, or reading */
	SHM_END_CLI_BAD,	/* 'P' malformed or refused request: 400, 414, 431, 501 */
	SHM_END_CLI_ERROR,	/* 'E' client socket error */
	SHM_END_NO_ROUTE,	/* 'N' no route matched: 404 */
	SHM_END_SRV_CONNECT,	/* 'S' no source could be connected: 502 */
	SHM_END_SRV_RESET,	/* 'R' source closed or reset before the end */
	SHM_END_SRV_TIMEOUT,	/* 's' source too slow: 504, or stalled mid-body */
	SHM_END_SRV_MALFORMED,	/* 'M' unparsable response: 502 */
	SHM_END_LOCAL,		/* 'L' local shortage (descriptors, memory): 503 */
	SHM_END_INTERNAL,	/* 'I' sluice refused: regex gave up, bad rewrite (500) */
	SHM_END_LOOP,		/* 'V' forwarding loop (Via): 508 */
	SHM_END_KILLED,		/* 'K' cut by a stop or the graceful deadline */
	SHM_END_DENIED,		/* 'A' refused by the route's allow/deny: 403 */
	SHM_END_RATE,		/* 'Q' over the route's rate_limit: 429 */
	SHM_END_QUEUE,		/* 'W' waited queue_timeout for a max_conns slot: 503 */
	SHM_END__COUNT
};
#define SHM_END_SLOTS		20	/* room in the tables; >= SHM_END__COUNT */

/* shm_route.balancer: same values as enum balancer in common/conf.h. */
enum shm_lb {
	SHM_LB_ROUND_ROBIN = 0,
	SHM_LB_LEAST_CONN,
	SHM_LB_IP_HASH,
	SHM_LB_FAILOVER,
	SHM_LB__COUNT
};

/* shm_route.flags */
#define SHM_RT_F_USED		0x0001u
#define SHM_RT_F_REGEX		0x0002u	/* path holds path_regex, not a prefix */

/*
 * The header: 256 bytes. The first 40 bytes (magic .. master_pid) keep their
 * offsets in every version, so any sluice can tell whether a segment of any
 * version still has a live master; from 1.1 on, master_start tells that pid
 * from a later process that got the same number (shm_master_alive()).
 * Written once at creation (magic last, with release); afterwards only the
 * _Atomic fields change, by the master.
 */
struct shm_hdr {
	alignas(SHM_CACHE_LINE) _Atomic uint64_t magic;	/* SHM_MAGIC, stored last */
	uint16_t		ver_major;
	uint16_t		ver_minor;
	uint32_t		hdr_size;	/* sizeof(struct shm_hdr) */
	uint64_t		total_size;	/* bytes mapped, == fstat size */
	_Atomic uint64_t	gen;		/* seqlock: odd while the master edits tables */
	_Atomic int32_t		master_pid;
	_Atomic uint32_t	conf_gen;	/* configuration generation, 1 at start */
	uint64_t		start_time;	/* creation, unix seconds (wall clock) */
	uint64_t		start_ms;	/* creation, CLOCK_MONOTONIC ms */
	_Atomic uint32_t	nworkers;	/* configured workers */
	uint32_t		max_workers;
	_Atomic uint32_t	nsources;	/* high-water mark of bound source slots */
	uint32_t		max_sources;
	_Atomic uint32_t	nroutes;	/* routes of the current configuration */
	uint32_t		max_routes;
	uint64_t		off_workers;	/* offsets from the segment base, never pointers */
	uint64_t		off_wsrc;
	uint64_t		off_sources;
	uint64_t		off_routes;
	uint32_t		sz_worker;	/* sizeof each element, checked by readers */
	uint32_t		sz_wsrc;
	uint32_t		sz_source;
	uint32_t		sz_route;
	uint32_t		hist_buckets;	/* SHM_HIST_BUCKETS */
	uint32_t		hist_sub;	/* SHM_HIST_SUB */
	_Atomic uint32_t	flags;		/* SHM_HDR_F_* */
	uint32_t		reserved0;
	/* minor 1: with master_pid, the master's identity (pids are reused) */
	uint64_t		master_start;	/* its /proc/PID/stat starttime, clock ticks
						 * after boot; 0 = not recorded */
	/* 4.0: per worker and route (queue counters) */
	uint64_t		off_wroute;
	uint32_t		sz_wroute;
	uint32_t		reserved1;
	uint8_t			reserved[88];
};

/*
 * One slot per worker index; only the worker in it writes (relaxed
 * load+store), except that the master sets pid/state when it reaps a dead
 * one. A respawned worker takes over the slot and never zeroes counters, so
 * sums stay monotonic. Counters: bytes_in from clients, bytes_out to them.
 */
struct shm_worker {
	alignas(SHM_CACHE_LINE) _Atomic int32_t pid;	/* 0 = none */
	_Atomic uint32_t	state;		/* enum shm_worker_state */
	_Atomic uint64_t	heartbeat_ms;	/* last loop iteration, CLOCK_MONOTONIC */
	_Atomic uint64_t	started_ms;	/* when the current process took the slot */
	_Atomic int64_t		conns_open;	/* client connections open now */
	_Atomic uint64_t	conns_total;	/* client connections accepted */
	_Atomic uint64_t	requests;	/* answered, by a source or by us */
	_Atomic uint64_t	bytes_in;
	_Atomic uint64_t	bytes_out;
	_Atomic uint64_t	resp[5];	/* by status class: [0] 1xx .. [4] 5xx */
	_Atomic uint64_t	errors;		/* exchanges that ended other than SHM_END_OK */
	_Atomic uint64_t	conf_gen;	/* generation this process serves */
	_Atomic uint64_t	spawns;		/* processes that have held the slot */
	/* minor 1: guards against hostile input and local exhaustion */
	_Atomic uint64_t	accept_emfile;	/* accept() failed for lack of descriptors */
	_Atomic uint64_t	accept_pauses;	/* listener back-offs taken for that */
	_Atomic uint64_t	regex_aborts;	/* regex searches that gave up: 500 */
	_Atomic uint64_t	local_errors;	/* local resource failures toward a source */
	_Atomic uint64_t	loops;		/* requests refused as forwarding loops (508) */
	_Atomic uint64_t	ends[SHM_END_SLOTS];	/* exchanges by enum shm_end */
	/*
	 * 2.0: the counters above as they were when the current process took
	 * the slot, stored by the master before it starts the process (no
	 * writer then); the process's own counts are counter - base.
	 */
	_Atomic uint64_t	base_conns_total;
	_Atomic uint64_t	base_requests;
	_Atomic uint64_t	base_bytes_in;
	_Atomic uint64_t	base_bytes_out;
	_Atomic uint64_t	base_resp[5];
	_Atomic uint64_t	base_errors;
	/* 3.0: TLS listeners (handshakes the client completed, by kind) */
	_Atomic uint64_t	tls_full;	/* full handshakes */
	_Atomic uint64_t	tls_resumed;	/* resumed from a session ticket */
	_Atomic uint64_t	tls_failed;	/* handshakes that failed (alert, bad record) */
	_Atomic uint64_t	rl_evictions;	/* rate_limit cells recycled for another key */
	uint64_t		reserved[1];
};

/*
 * Counters of one source as seen by one worker; only that worker writes.
 * bytes_in from the source, bytes_out to it. active is this worker's share of
 * shm_source.active, which the master subtracts when it reaps the worker.
 */
struct shm_wsrc {
	alignas(SHM_CACHE_LINE) _Atomic uint64_t requests;	/* requests sent to the source */
	_Atomic uint64_t	resp[5];	/* responses by status class, 1xx .. 5xx */
	_Atomic uint64_t	failures;	/* connect error, reset, timeout, malformed:
						 * the failures counted against the source */
	_Atomic uint64_t	bytes_in;
	_Atomic uint64_t	bytes_out;
	_Atomic int64_t		active;		/* requests in flight to it from this worker */
	_Atomic uint64_t	retries;	/* requests that failed here and were retried
						 * on another source or replayed here */
	_Atomic uint64_t	lat_sum_us;	/* sum of recorded latencies */
	/* 4.0: this worker's shares of shm_source.conns and .queued */
	_Atomic int64_t		conns;		/* connections open to it from this worker */
	_Atomic int64_t		queued;		/* requests of this worker waiting for it */
	_Atomic uint64_t	q_head_ms;	/* when the oldest of them started waiting, 0 = none:
						 * a freed slot goes to the oldest in the cluster */
	uint64_t		reserved[1];
	_Atomic uint64_t	hist[SHM_HIST_BUCKETS];	/* response-head latency, us */
	_Atomic uint64_t	ends[SHM_END_SLOTS];	/* exchanges that used it, by enum shm_end */
	uint64_t		reserved1[2];
};

/*
 * One slot per source name (the key), bound by the master and kept across
 * reloads so counters and health survive. Three cache lines: configuration
 * (master, under hdr.gen), passive marks (any worker, CAS) with the checker's
 * health record (one writer at a time, seqlock hseq), and the hot global
 * active counter (every worker, fetch_add) alone on the last line.
 */
struct shm_source {
	alignas(SHM_CACHE_LINE) char name[SHM_NAME_LEN];	/* the key; "" = free */
	char			addr[SHM_ADDR_LEN];
	_Atomic uint32_t	flags;		/* SHM_SRC_F_* */
	_Atomic uint32_t	weight;
	_Atomic uint32_t	max_fails;
	_Atomic uint32_t	fail_timeout_ms;
	/* passive health, multi-writer: */
	_Atomic uint32_t	down_until_s;	/* 0 = not marked; CAS by any worker */
	_Atomic uint32_t	preason;	/* enum shm_reason of the last mark */
	_Atomic uint32_t	pfails;		/* failures in the current window */
	_Atomic uint32_t	pwindow_s;	/* start of that window */
	/* active health record, one writer at a time (checker), seqlock: */
	_Atomic uint64_t	hseq;
	_Atomic uint32_t	hstate;		/* enum shm_health */
	_Atomic uint32_t	hreason;	/* enum shm_reason */
	_Atomic uint64_t	hsince_ms;	/* last state change */
	_Atomic uint64_t	hdown_until_ms;	/* e.g. Retry-After seen by the checker; 0 = none */
	_Atomic uint32_t	hfails;		/* consecutive failed checks (fall counter) */
	_Atomic uint32_t	hoks;		/* consecutive good checks (rise counter) */
	_Atomic uint32_t	hstatus;	/* HTTP status of the last check, 0 = none */
	_Atomic uint32_t	max_conns;	/* 4.0, master: config copy, 0 = no limit */
	_Atomic uint64_t	hchecks;	/* checks done */
	/*
	 * 4.0: slow start. When the source last came back up (the checker's
	 * rise, or a passive mark cleared or run out); 0 = never down.
	 */
	_Atomic uint64_t	up_since_ms;
	/*
	 * 4.0: live DNS (resolve = true). One writer, the resolver, under the
	 * seqlock aseq (odd while writing): the address in network order
	 * (IPv4 in a[0]'s first 4 bytes), afam AF_INET/AF_INET6 (0 = none yet),
	 * agen bumped on every change. Workers copy it under aseq.
	 */
	_Atomic uint64_t	aseq;
	_Atomic uint64_t	a[2];
	_Atomic uint32_t	afam;
	_Atomic uint32_t	agen;
	/* hot, multi-writer: */
	alignas(SHM_CACHE_LINE) _Atomic int64_t active;	/* requests in flight, all workers */
	/* 4.0: max_conns, CAS by workers, shares in shm_wsrc; the master
	 * subtracts a reaped worker's share */
	_Atomic int64_t		conns;		/* connections open to it, all workers */
	_Atomic int64_t		queued;		/* requests waiting that it could take */
	_Atomic uint64_t	conns_total;	/* connections opened to it, all workers */
	uint64_t		reserved2[4];
};

/*
 * One slot per route of the current configuration, written by the master
 * under hdr.gen. src[] are source slot indices, in the route's order. The
 * round-robin ticket is the one field workers write: each worker builds the
 * smooth weighted schedule of the sources usable now (worker/lb_rr.c), and
 * the shared ticket walks it. 2.0 dropped 1.x's sched_len and sched[], a
 * schedule over all sources that no process read.
 */
struct shm_route {
	alignas(SHM_CACHE_LINE) char host[SHM_HOST_LEN];
	char			path[SHM_PATH_LEN];
	_Atomic uint32_t	flags;		/* SHM_RT_F_* */
	_Atomic uint32_t	balancer;	/* enum shm_lb */
	_Atomic uint32_t	nsources;
	uint32_t		reserved0;
	_Atomic uint32_t	src[SHM_ROUTE_SOURCES];
	/* hot, multi-writer, alone on its cache line: */
	alignas(SHM_CACHE_LINE) _Atomic uint64_t rr_ticket;
	uint64_t		reserved1[7];
};

/*
 * 4.0: one route's queue as seen by one worker (sources full: max_conns).
 * Only that worker writes; the master zeroes queued when it reaps it. Rows
 * follow route slots, which a reload reuses for the new routes.
 */
struct shm_wroute {
	alignas(SHM_CACHE_LINE) _Atomic int64_t queued;	/* requests waiting now */
	_Atomic uint64_t	q_total;	/* requests that had to wait */
	_Atomic uint64_t	q_timeouts;	/* of them, answered 503 after queue_timeout */
	_Atomic uint64_t	q_wait_us;	/* sum of the waits that ended (served or not) */
	_Atomic uint64_t	q_wait_max_us;	/* the longest wait */
	uint64_t		reserved[3];
};

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "shm needs lock-free 64-bit atomics");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "shm needs lock-free 32-bit atomics");
_Static_assert(sizeof(_Atomic uint64_t) == 8, "atomics must not carry a lock");
_Static_assert(sizeof(struct shm_hdr) == 256, "header size is part of the ABI");
_Static_assert(sizeof(struct shm_worker) % SHM_CACHE_LINE == 0, "worker slots keep cache lines");
_Static_assert(sizeof(struct shm_wsrc) % SHM_CACHE_LINE == 0, "wsrc blocks keep cache lines");
_Static_assert(sizeof(struct shm_source) % SHM_CACHE_LINE == 0, "source slots keep cache lines");
_Static_assert(sizeof(struct shm_route) % SHM_CACHE_LINE == 0, "route slots keep cache lines");
_Static_assert(sizeof(struct shm_wroute) % SHM_CACHE_LINE == 0, "wroute blocks keep cache lines");
_Static_assert(SHM_END__COUNT <= SHM_END_SLOTS, "end causes fit the counter tables");

#endif
