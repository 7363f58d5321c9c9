/*
 * The resolver process (live DNS, resolve = true): one c-ares channel, every
 * source's lookup on its own schedule, the answers published in shm under
 * each source's address seqlock. It may block in ppoll(): it is its own
 * process, so no worker ever waits on DNS.
 */
#include "master/resolve.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ares.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/pdeath.h"
#include "common/privdrop.h"
#include "shm/shm.h"

/* Same reasoning as master/health.c: _exit() skips LeakSanitizer's check. */
#if defined(__SANITIZE_ADDRESS__)
#define RESOLVE_LSAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define RESOLVE_LSAN	1
#endif
#endif
#ifdef RESOLVE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#define RETRY_MAX	5.0	/* s: a failed lookup is retried after min(valid, this) */
#define AGAIN_MIN	1.0	/* s: never look a name up more often than this */
#define QUERY_TRIES	2	/* c-ares tries of each query, timeout each */
#define RSRC_MAGIC	0x52534c56u	/* "RSLV" */

/* One source with resolve = true, for the resolver's lifetime. */
struct rsrc {
	uint32_t		 magic;		/* RSRC_MAGIC, checked in the callback */
	const struct source_conf *src;		/* borrowed: the resolver's conf */
	struct shm_source	*ss;		/* borrowed: its slot in the segment */
	const struct resolver_conf *rc;
	char			 host[CONF_STR_MAX];	/* the name in address */
	double			 next_at;	/* monotonic s of the next lookup */
	int			 busy;		/* a lookup is under way */
	int			 failing;	/* the last lookup failed (and was logged) */
	int			 found;		/* some lookup has succeeded */
	int			 last_status;	/* ARES_* of that failure */
};

static volatile sig_atomic_t	stop;

static _Noreturn void	resolver_exit(int status);
static void	resolver_run(const struct conf *c, struct shm_seg *seg, const uint32_t *src_slot);
static int	channel_new(const struct resolver_conf *rc, ares_channel *ch);
static int	host_of(const char *text, char *host, size_t size);
static void	lookup(ares_channel ch, struct rsrc *r);
static void	lookup_done(void *arg, int status, int timeouts, struct ares_addrinfo *res);
static void	publish(struct rsrc *r, const struct ares_addrinfo_node *n);
static void	addr_text(uint32_t fam, const void *bytes, char *buf, size_t size);
static double	again_in(const struct rsrc *r, double ttl);
static double	now_s(void);
static void	on_stop(int sig);

int
resolve_needed(const struct conf *c)
{
	char host[CONF_STR_MAX];
	uint32_t i;

	for (i = 0; i < c->nsources; i++)
		if (c->sources[i].resolve && host_of(c->sources[i].addr.text, host,
		    sizeof(host)) == 0)
			return 1;
	return 0;
}

pid_t
resolve_spawn(const struct conf *c, struct shm_seg *seg, const uint32_t *src_slot,
    const int *close_fds, uint32_t nclose)
{
	pid_t pid, master = getpid();
	uint32_t i;
	char err[256];

	pid = fork();
	if (pid == -1) {
		log_warn("%s: fork resolver", __func__);
		return -1;
	}
	if (pid > 0)
		return pid;
	log_role("resolver");
	/* A master killed with SIGKILL must not leave the resolver running. */
	if (pdeath_arm(master, SIGQUIT) == -1)
		log_warn("resolver: cannot ask for a signal at the master's death");
	for (i = 0; i < nclose; i++)
		close(close_fds[i]);
	if (c->user[0] != '\0' && getuid() == 0) {
		if (privdrop_user(c->user, err, sizeof(err)) == -1) {
			log_error("resolver: %s", err);
			resolver_exit(1);
		}
		if (pdeath_arm(master, SIGQUIT) == -1)
			log_warn("resolver: cannot ask for a signal at the master's death");
	}
	resolver_run(c, seg, src_slot);
	resolver_exit(0);
}

/* Ends the process through _exit() (see health.c's checker_exit()). */
static _Noreturn void
resolver_exit(int status)
{
#ifdef RESOLVE_LSAN
	__lsan_do_leak_check();
#endif
	_exit(status);
}

static void
on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The loop: start the lookups that are due, then wait in ppoll() for
 * c-ares's sockets, its next timeout or the next lookup due. The stop
 * signals stay blocked except inside ppoll(), so none is lost between the
 * check of stop and the wait.
 */
static void
resolver_run(const struct conf *c, struct shm_seg *seg, const uint32_t *src_slot)
{
	static const int sigs[3] = { SIGTERM, SIGINT, SIGQUIT };
	struct pollfd pfd[ARES_GETSOCK_MAXNUM];
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	struct timeval tv, maxtv, *tvp;
	struct sigaction sa;
	struct timespec ts;
	struct rsrc *rs;
	ares_channel ch;
	sigset_t block, none;
	uint32_t i, n = 0;
	double t, wait;
	unsigned bits;
	int np, k;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&block);
	for (k = 0; k < 3; k++) {
		sigaction(sigs[k], &sa, NULL);
		sigaddset(&block, sigs[k]);
	}
	sigprocmask(SIG_BLOCK, &block, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	/* The master blocked the rest around fork: only the stop signals stay blocked. */
	sigprocmask(SIG_SETMASK, &block, NULL);

	if ((rs = calloc(c->nsources, sizeof(*rs))) == NULL) {
		log_error("resolver: out of memory; names are not re-resolved");
		return;
	}
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS || channel_new(&c->resolver,
	    &ch) == -1) {
		free(rs);
		return;
	}
	t = now_s();
	for (i = 0; i < c->nsources; i++) {
		const struct source_conf *s = &c->sources[i];
		struct rsrc *r = &rs[n];

		if (!s->resolve || host_of(s->addr.text, r->host, sizeof(r->host)) == -1)
			continue;
		r->magic = RSRC_MAGIC;
		r->src = s;
		r->ss = shm_source(seg, src_slot[i]);
		r->rc = &c->resolver;
		r->next_at = t;		/* first lookup at once */
		n++;
	}
	log_info("resolver: re-resolving %u source name(s), every %.0fs at most", n,
	    c->resolver.valid);
	while (!stop) {
		t = now_s();
		wait = -1;
		for (i = 0; i < n; i++) {
			if (!rs[i].busy && rs[i].next_at <= t)
				lookup(ch, &rs[i]);
			if (!rs[i].busy && (wait < 0 || rs[i].next_at - t < wait))
				wait = rs[i].next_at - t;
		}
		if (wait < 0)
			wait = c->resolver.valid;	/* every lookup under way: c-ares decides */
		maxtv.tv_sec = (time_t)wait;
		maxtv.tv_usec = (suseconds_t)((wait - (double)maxtv.tv_sec) * 1e6);
		tvp = ares_timeout(ch, &maxtv, &tv);
		ts.tv_sec = tvp->tv_sec;
		ts.tv_nsec = tvp->tv_usec * 1000;
		/* ARES_GETSOCK_WRITABLE() shifts a signed 1 into the sign bit: unsigned here. */
		bits = (unsigned)ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
		for (np = 0, k = 0; k < ARES_GETSOCK_MAXNUM; k++) {
			unsigned rd = bits & (1u << k), wr = bits & (1u << (k + ARES_GETSOCK_MAXNUM));

			if (!rd && !wr)
				continue;
			pfd[np].fd = socks[k];
			pfd[np].events = (short)((rd ? POLLIN : 0) | (wr ? POLLOUT : 0));
			pfd[np].revents = 0;
			np++;
		}
		if (ppoll(pfd, (nfds_t)np, &ts, &none) == -1 && errno != EINTR) {
			log_warn("resolver: ppoll");
			sleep(1);
		}
		for (k = 0; k < np; k++)
			if (pfd[k].revents != 0)
				ares_process_fd(ch,
				    pfd[k].revents & (POLLIN | POLLERR | POLLHUP) ? pfd[k].fd :
				    ARES_SOCKET_BAD,
				    pfd[k].revents & POLLOUT ? pfd[k].fd : ARES_SOCKET_BAD);
		/* Timeouts of queries whose sockets stayed silent. */
		ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	}
	/* Pending callbacks run now with ARES_EDESTRUCTION, and touch nothing. */
	ares_destroy(ch);
	ares_library_cleanup();
	for (i = 0; i < n; i++)
		rs[i].magic = 0;
	free(rs);
}

/* The channel: timeout per try, QUERY_TRIES tries, the configured nameservers. */
static int
channel_new(const struct resolver_conf *rc, ares_channel *ch)
{
	struct ares_options o;
	char csv[CONF_NS_MAX * (CONF_NS_LEN + 1)];
	size_t off = 0;
	uint32_t i;
	int st;

	memset(&o, 0, sizeof(o));
	o.timeout = (int)(rc->timeout * 1000) > 0 ? (int)(rc->timeout * 1000) : 1;
	o.tries = QUERY_TRIES;
	if ((st = ares_init_options(ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES)) !=
	    ARES_SUCCESS) {
		log_error("resolver: cannot start c-ares: %s; names are not re-resolved",
		    ares_strerror(st));
		return -1;
	}
	if (rc->nnameservers == 0)
		return 0;	/* /etc/resolv.conf's */
	csv[0] = '\0';
	for (i = 0; i < rc->nnameservers; i++)
		off += (size_t)snprintf(csv + off, sizeof(csv) - off, "%s%s", i ? "," : "",
		    rc->nameservers[i]);
	if ((st = ares_set_servers_ports_csv(*ch, csv)) != ARES_SUCCESS) {
		log_error("resolver: nameservers %s: %s; names are not re-resolved", csv,
		    ares_strerror(st));
		ares_destroy(*ch);
		return -1;
	}
	return 0;
}

/* The host of "host:port"; -1 for an address with nothing to resolve
 * ("[v6]:port", a literal IPv4 address, unix:). */
static int
host_of(const char *text, char *host, size_t size)
{
	struct in_addr in;
	const char *e;

	if (text[0] == '[' || strncmp(text, "unix:", 5) == 0 ||
	    (e = strrchr(text, ':')) == NULL || (size_t)(e - text) >= size || e == text)
		return -1;
	memcpy(host, text, (size_t)(e - text));
	host[e - text] = '\0';
	return inet_pton(AF_INET, host, &in) == 1 ? -1 : 0;
}

static void
lookup(ares_channel ch, struct rsrc *r)
{
	struct ares_addrinfo_hints h;

	memset(&h, 0, sizeof(h));
	h.ai_family = AF_UNSPEC;	/* A and AAAA */
	h.ai_socktype = SOCK_STREAM;
	r->busy = 1;
	log_debug("resolver: looking up %s (source %s)", r->host, r->src->name);
	/* The callback may run before this returns (an /etc/hosts hit). */
	ares_getaddrinfo(ch, r->host, NULL, &h, lookup_done, r);
}

static void
lookup_done(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct rsrc *r = arg;
	const struct ares_addrinfo_node *n, *pick = NULL;
	struct shm_addr_rec cur;
	char now[INET6_ADDRSTRLEN];

	(void)timeouts;
	if (status == ARES_EDESTRUCTION || r->magic != RSRC_MAGIC) {
		ares_freeaddrinfo(res);
		return;
	}
	r->busy = 0;
	/* The first IPv4 address of the answer, else the first IPv6 one. */
	for (n = status == ARES_SUCCESS && res != NULL ? res->nodes : NULL; n != NULL;
	    n = n->ai_next) {
		if (n->ai_family == AF_INET) {
			pick = n;
			break;
		}
		if (n->ai_family == AF_INET6 && pick == NULL)
			pick = n;
	}
	if (pick != NULL) {
		if (r->failing && r->found)
			log_info("source %s: %s resolves again", r->src->name, r->host);
		r->failing = 0;
		r->found = 1;
		publish(r, pick);
		r->next_at = now_s() + again_in(r, pick->ai_ttl > 0 ? pick->ai_ttl : 0);
		ares_freeaddrinfo(res);
		return;
	}
	ares_freeaddrinfo(res);
	if (status == ARES_SUCCESS)
		status = ARES_ENODATA;	/* an answer without any address */
	if (!r->failing || r->last_status != status) {
		if (shm_addr_read(r->ss, &cur) == 0 && cur.fam != 0) {
			addr_text(cur.fam, cur.bytes, now, sizeof(now));
			log_warnx("source %s: cannot resolve %s: %s; keeping %s", r->src->name,
			    r->host, ares_strerror(status), now);
		} else {
			log_warnx("source %s: cannot resolve %s: %s; it has no address yet",
			    r->src->name, r->host, ares_strerror(status));
		}
	} else {
		log_debug("source %s: %s still does not resolve: %s", r->src->name, r->host,
		    ares_strerror(status));
	}
	r->failing = 1;
	r->last_status = status;
	r->next_at = now_s() + again_in(r, RETRY_MAX);
}

/*
 * Publishes n's address if it is not the one published. A slot now bound to
 * another address text belongs to a newer configuration (a reload changed it
 * before this process was told to stop): it is left alone.
 */
static void
publish(struct rsrc *r, const struct ares_addrinfo_node *n)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)n->ai_addr;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)n->ai_addr;
	struct shm_addr_rec cur;
	const void *bytes;
	uint32_t fam = (uint32_t)n->ai_family;
	char text[INET6_ADDRSTRLEN];
	size_t len;

	bytes = fam == AF_INET ? (const void *)&sin->sin_addr : (const void *)&sin6->sin6_addr;
	len = fam == AF_INET ? 4 : 16;
	addr_text(fam, bytes, text, sizeof(text));
	if (strncmp(r->ss->addr, r->src->addr.text, sizeof(r->ss->addr) - 1) != 0)
		return;
	if (shm_addr_read(r->ss, &cur) == 0 && cur.fam == fam &&
	    memcmp(cur.bytes, bytes, len) == 0) {
		log_debug("source %s: %s -> %s (ttl %d s), unchanged", r->src->name, r->host,
		    text, n->ai_ttl);
		return;
	}
	shm_addr_write(r->ss, fam, bytes);
	log_info("source %s: %s -> %s (ttl %d s)", r->src->name, r->host, text, n->ai_ttl);
}

static void
addr_text(uint32_t fam, const void *bytes, char *buf, size_t size)
{
	if (inet_ntop((int)fam, bytes, buf, (socklen_t)size) == NULL)
		snprintf(buf, size, "?");
}

/* Seconds until the next lookup: ttl capped by resolver.valid, at least AGAIN_MIN. */
static double
again_in(const struct rsrc *r, double ttl)
{
	double d = ttl < r->rc->valid ? ttl : r->rc->valid;

	return d < AGAIN_MIN ? AGAIN_MIN : d;
}
