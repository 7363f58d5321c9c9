/*
 * Plain-data configuration, as loaded from the libconfig file by conf_load.c.
 * Immutable once loaded; the master builds it before fork and every worker
 * reads its own copy. Durations are seconds (double), as ev_tstamp.
 */
#ifndef SLUICE_CONF_H
#define SLUICE_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "common/log.h"	/* enum log_level */

#define CONF_NAME_MAX	64	/* source names, header names */
#define CONF_STR_MAX	512	/* paths, header values, regexes, hosts */
#define CONF_NS_MAX	8	/* resolver.nameservers entries */
#define CONF_NS_LEN	48	/* "[ipv6]:port" */
#define CONF_LIST_MAX	256	/* max listeners/sources/routes/rules per list */
#define CONF_ROUTE_SOURCES_MAX	64	/* sources one route may balance over */
#define CONF_UPGRADE_MAX	8	/* Upgrade tokens one route may allow */
#define CONF_TOKEN_MAX		32	/* one such token, NUL included */

struct rewrite;		/* common/rewrite.h: a compiled oniguruma rule */
struct tls_srv;		/* common/tls_conf.h: a TLS listener's OpenSSL contexts */
struct tls_cli;		/* common/tls_conf.h: the client context toward one source */

enum balancer {
	LB_ROUND_ROBIN = 0,
	LB_LEAST_CONN,
	LB_IP_HASH,
	LB_FAILOVER,
	LB__COUNT
};

/* A resolved socket address; text keeps what the operator wrote. */
struct addr_conf {
	struct sockaddr_storage	ss;	/* AF_INET, AF_INET6 or AF_UNIX */
	socklen_t		len;
	uint16_t		port;	/* network order, as written (also when the host did
					 * not resolve at load: resolve = true); 0 for unix: */
	char			text[CONF_STR_MAX];
	char			hostport[CONF_STR_MAX];	/* "host:port" as written, for Host when !preserve_host */
};

/* One certificate of a TLS listener: PEM files, the chain after the leaf. */
struct tls_cert_conf {
	char	certificate[CONF_STR_MAX];
	char	key[CONF_STR_MAX];
	int	line;
};

enum tls_version {
	TLS_V1_2 = 0,
	TLS_V1_3,
	TLS_V__COUNT
};

/* listeners[].tls: HTTPS on the listener (absent: plain HTTP). */
struct tls_conf {
	bool			 enabled;	/* the tls group is present */
	struct tls_cert_conf	*certs;		/* >= 1; SNI picks one, the first is the default */
	uint32_t		 ncerts;
	enum tls_version	 min_version;	/* default TLS_V1_2 */
	char			 ciphers[CONF_STR_MAX];	/* TLS 1.2 list; default Mozilla intermediate */
	uint8_t			 alpn[64];	/* wire format; default "http/1.1" */
	uint32_t		 alpn_len;	/* 0: no ALPN */
	bool			 session_tickets;	/* default true: keys shared in shm (tls_tickets.c) */
	uint32_t		 ticket_rotate;	/* seconds a key encrypts; it decrypts one more period */
	struct tls_srv		*srv;		/* built at load, owned (conf_free); inherited over fork */
};

struct listener_conf {
	struct addr_conf addr;
	bool		 proxy_protocol;	/* accept PROXY v1/v2 header */
	struct tls_conf	 tls;
	/* unix: listeners only; applied to the socket file after bind */
	int32_t		 mode;			/* 0..0777, or -1: as created (umask) */
	char		 owner[CONF_NAME_MAX];	/* user name, or "" */
	char		 group[CONF_NAME_MAX];	/* group name, or "" */
	uid_t		 uid;			/* owner resolved at load, or (uid_t)-1 */
	gid_t		 gid;			/* group resolved at load, or (gid_t)-1 */
	int		 line;
};

/* sources[].tls: TLS to the source (absent: plain TCP). */
struct source_tls_conf {
	bool		 enabled;	/* the tls group is present */
	bool		 verify;	/* chain (against ca) and name; default true */
	char		 ca[CONF_STR_MAX];	/* PEM bundle; "" = the system's store */
	char		 sni[CONF_STR_MAX];	/* "" = the host of address (none for an IP) */
	char		 certificate[CONF_STR_MAX];	/* client certificate (mTLS), or "" */
	char		 key[CONF_STR_MAX];
	struct tls_cli	*cli;		/* built at load, owned (conf_free); inherited over fork */
};

struct source_conf {
	char		 name[CONF_NAME_MAX];	/* unique; also the shm key */
	struct addr_conf addr;
	uint32_t	 weight;		/* 1..256, default 1 */
	uint32_t	 max_fails;		/* default 1; 0 = never marked down passively */
	double		 fail_timeout;		/* seconds, default 10 */
	bool		 backup;
	bool		 resolve;		/* re-resolve the name while running (master/resolve.c);
						 * addr.len = 0 when it did not resolve at load */
	uint32_t	 max_conns;		/* all workers together, 0 = no limit (queue.c) */
	double		 slow_start;		/* seconds to ramp a recovered source, 0 = off */
	struct source_tls_conf tls;
	int		 line;
};

struct header_conf {
	char	name[CONF_NAME_MAX];
	char	value[CONF_STR_MAX];
	int	line;
};

struct rewrite_conf {
	char		 regex[CONF_STR_MAX];
	char		 replace[CONF_STR_MAX];
	int		 line;
	struct rewrite	*rw;	/* compiled at load, owned (conf_free); inherited over fork */
};

struct cidr_conf {
	int	 family;		/* AF_INET or AF_INET6 */
	uint8_t	 addr[16];		/* network, in network byte order */
	uint8_t	 prefix;		/* 0..32 or 0..128 */
};

struct rules_conf {
	struct rewrite_conf	*rewrite;	/* request: URL rewrite; response: rewrite_location */
	uint32_t		 nrewrite;
	struct header_conf	*add;		/* header_add */
	uint32_t		 nadd;
	char			(*hide)[CONF_NAME_MAX];	/* header_hide */
	uint32_t		 nhide;
};

/* routes[].handler: who answers the route's requests. */
enum route_handler {
	RH_PROXY = 0,		/* a source (default) */
	RH_METRICS,		/* Prometheus text of the segment (sluice-stat --prometheus) */
	RH_STATUS,		/* JSON of the segment (sluice-stat --json) */
	RH_REDIRECT,		/* a redirect to redirect.to */
	RH__COUNT
};

struct acl;			/* common/acl.h */

#define ERROR_PAGE_MAX	(1024 * 1024)	/* bytes of one error page file */
#define ERROR_PAGE_RIDS	8		/* "$request_id" places in one page */

/* error_pages[]: a file for answers sluice makes itself with these statuses. */
struct error_page_conf {
	uint32_t	 status[32];		/* 400..599 */
	uint32_t	 nstatus;
	char		 file[CONF_STR_MAX];
	char		*data;			/* the file, read at load, owned */
	uint32_t	 len;
	uint32_t	 rid_at[ERROR_PAGE_RIDS];	/* offsets of "$request_id" in data */
	uint32_t	 nrid;
	char		 ctype[48];		/* from the file name's extension */
	int		 line;
};

/* routes[].timeouts: the global ones a route may override (0 while loading = inherit). */
struct route_timeouts {
	double	backend_connect;
	double	backend_response;
	double	backend_idle;
	double	tunnel;
};

#define CONF_REUSE_AUTO	UINT32_MAX	/* reuse_max = "auto": the adaptive pool */

struct route_conf {
	char		 host[CONF_STR_MAX];	/* exact, "*.example.com" or "*"; default "*" */
	char		 path[CONF_STR_MAX];	/* prefix, default "/" (unless path_regex) */
	char		 path_regex[CONF_STR_MAX];	/* "" if none; path and path_regex exclusive */
	struct rewrite	*path_re;		/* path_regex compiled at load, owned; or NULL */
	enum route_handler handler;		/* default RH_PROXY */
	uint32_t	*sources;		/* indices into conf.sources */
	uint32_t	 nsources;		/* >= 1 for RH_PROXY, else 0 */
	enum balancer	 balancer;		/* default LB_ROUND_ROBIN */
	uint32_t	 reuse_max;		/* 0..4096, or CONF_REUSE_AUTO (default) */
	uint32_t	 reuse_limit;		/* "auto": most idle per source, default 1024 */
	uint32_t	 max_body_size;		/* bytes of a request body, 0 = no limit (default) */
	double		 queue_timeout;		/* wait for a max_conns slot, default 5 */
	uint32_t	 reuse_requests;	/* 1..1000000, default 1000 */
	uint32_t	 retries;		/* 0..16, default 1 */
	bool		 preserve_host;		/* default true */
	bool		 x_forwarded_for;	/* default true */
	bool		 via;			/* add "Via: 1.1 via_name"; default true */
	char		 via_name[CONF_NAME_MAX];	/* default: the host name; loop key */
	char		 request_id[CONF_NAME_MAX];	/* header; default X-Request-ID; "" = off */
	char		 upgrade[CONF_UPGRADE_MAX][CONF_TOKEN_MAX];	/* tunnelled protocols */
	uint32_t	 nupgrade;		/* default 1: "websocket"; 0 = no upgrades */
	struct cidr_conf *trusted;		/* trusted_proxies */
	uint32_t	 ntrusted;
	struct cidr_conf *allow, *deny;		/* client addresses let in / refused (403) */
	uint32_t	 nallow, ndeny;
	struct acl	*acl;			/* built from allow/deny at load, owned; or NULL */
	struct rules_conf request;
	struct rules_conf response;
	struct route_timeouts timeouts;		/* the global values unless overridden */
	struct rate_limit_conf {
		double		 rate;		/* requests per second per client; 0 = none */
		uint32_t	 burst;		/* more at once on top of the rate */
	}		 rate_limit;
	struct error_page_conf *error_pages;	/* the route's; then the top level's */
	uint32_t	 nerror_pages;
	struct redirect_conf {
		char		 to[CONF_STR_MAX];	/* with $scheme $host $request_uri $uri */
		uint32_t	 status;		/* 301, 302, 303, 307 or 308; default 301 */
	}		 redirect;
	int		 line;
};

struct limits_conf {
	uint32_t	max_connections;	/* per worker, 1..1000000, default 10000 */
	uint32_t	max_request_line;	/* 64..1048576, default 8192 */
	uint32_t	max_header_size;	/* 256..1048576, default 16384 */
	uint32_t	max_headers;		/* 1..1000, default 100 */
};

struct timeouts_conf {
	double	client_header;		/* default 10 */
	double	client_keepalive;	/* default 60 */
	double	backend_connect;	/* default 3 */
	double	backend_response;	/* default 60 */
	double	backend_idle;		/* default 30 */
	double	graceful;		/* default 30 */
	double	tunnel;			/* default 3600: idle timeout of an upgraded (WebSocket) tunnel */
};

struct health_conf {
	bool		enabled;		/* the health group is present */
	char		path[CONF_STR_MAX];	/* default "/health" */
	double		interval;		/* default 2 */
	double		timeout;		/* default 1 */
	uint32_t	rise;			/* default 2 */
	uint32_t	fall;			/* default 3 */
};

enum log_format {
	LOG_F_COMBINED = 0,	/* the combined format plus sluice's fields */
	LOG_F_JSON,		/* one JSON object per line */
	LOG_F__COUNT
};

struct log_conf {
	char		error[CONF_STR_MAX];	/* "stderr" (default) or a path */
	enum log_level	level;			/* default LOG_L_INFO */
	char		access[CONF_STR_MAX];	/* "off" (default) or a path */
	enum log_format	format;			/* access log; default combined */
};

struct conf {
	char			 file[CONF_STR_MAX];	/* path it was loaded from */
	uint32_t		 workers;	/* resolved: "auto" = online CPUs; 1..256 */
	char			 pid_file[CONF_STR_MAX];	/* default "/tmp/sluice.pid" */
	char			 shm[CONF_NAME_MAX];	/* default "/sluice" */
	char			 user[CONF_NAME_MAX];	/* "" if not set */
	struct log_conf		 log;
	struct limits_conf	 limits;
	struct timeouts_conf	 timeouts;
	struct health_conf	 health;
	struct listener_conf	*listeners;
	uint32_t		 nlisteners;	/* >= 1 */
	struct source_conf	*sources;
	uint32_t		 nsources;	/* >= 1 */
	struct route_conf	*routes;
	uint32_t		 nroutes;	/* >= 1 */
	struct error_page_conf	*error_pages;	/* for answers of no route, or a route without */
	uint32_t		 nerror_pages;
	struct resolver_conf {			/* live DNS (resolve = true sources) */
		/* "ip:port" or "[ipv6]:port", as c-ares takes them; none: resolv.conf */
		char		 nameservers[CONF_NS_MAX][CONF_NS_LEN];
		uint32_t	 nnameservers;
		double		 valid;		/* seconds, cap on a record's TTL; default 30 */
		double		 timeout;	/* seconds one query waits; default 2 */
	}			 resolver;
};

/* One error: where it is and what was expected. */
struct conf_err {
	char	file[512];
	int	line;		/* 0 if the error has no line (file unreadable) */
	char	msg[1024];	/* e.g. "workers: expected \"auto\" or an integer 1..256" */
};

struct conf_errs {
	struct conf_err	err[32];
	unsigned	n;		/* errors stored (at most 32) */
	unsigned	total;		/* errors found, may exceed n */
};

#endif
