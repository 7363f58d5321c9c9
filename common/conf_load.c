/*
 * libconfig file -> struct conf. Table-driven after nginx's ngx_command_t: one
 * table of keys per group type, every error collected with libconfig's line.
 * The only file that includes libconfig.h.
 */
#include "common/conf_load.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <math.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libconfig.h>

#include "common/acl.h"
#include "common/conf_shm.h"
#include "common/rewrite.h"
#include "common/tls_conf.h"

#define WORKERS_MAX	256
#define DUR_MAX		86400.0		/* seconds: a day is the longest timeout */
#define PATH_MAX_TXT	256		/* "routes[12].response.header_add[3].value" */
#define GOT_MAX		64		/* how much of a bad value an error quotes */

struct ld;
struct cf_cmd;

/* True when a string value has the right shape (length is checked before). */
typedef bool str_check_fn(const char *v);
/*
 * Parses a CF_FN key into base (the struct holding the field). s is NULL when
 * the key is absent: apply the default then.
 */
typedef void cf_fn(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd,
    void *base, const char *where);
/* Cross-key checks of one group once its keys are parsed; s is the group. */
typedef void group_check_fn(struct ld *ld, const config_setting_t *s, void *base,
    const char *where);



enum cf_kind {
	CF_U32 = 0,	/* integer in [min, max] -> uint32_t */
	CF_DUR,		/* integer or float seconds in (min, max] -> double */
	CF_BOOL,	/* true or false -> bool */
	CF_STR,		/* non-empty string shorter than size, passing check -> char[size] */
	CF_ENUM,	/* one of names[] -> enum, stored as its index */
	CF_ADDR,	/* "host:port", "[v6]:port" or "unix:/path" -> struct addr_conf */
	CF_GROUP,	/* nested group -> embedded struct, keys from sub */
	CF_LIST,	/* list of groups -> heap array at off, uint32_t count at off_n */
	CF_FN,		/* anything else: fn parses it */
	CF__COUNT
};

#define CF_F_REQUIRED	0x0001u		/* must be present; a list must not be empty */
#define CF_F_EMPTY_OK	0x0002u		/* CF_STR: "" is a valid value */
#define CF_F_SIZE	0x0004u		/* CF_U32: also "16k", "10m", "1g" (1024-based) */
#define CF_F_ZERO_OK	0x0008u		/* CF_DUR: 0 is a valid value (off) */

/* One key of a group, after ngx_command_t. */
struct cf_cmd {
	const char		*name;
	enum cf_kind		 kind;
	unsigned		 flags;		/* CF_F_* */
	size_t			 off;		/* offsetof the field in the group's struct */
	size_t			 off_n;		/* CF_LIST: offsetof the uint32_t count */
	size_t			 size;		/* CF_STR: size of the char array */
	double			 min, max;	/* CF_U32: inclusive; CF_DUR: (min, max] */
	double			 def;		/* default of CF_U32, CF_DUR, CF_BOOL, CF_ENUM */
	const char		*sdef;		/* default of CF_STR, or NULL for "" */
	const char		*expect;	/* what errors say was expected; NULL: from range */
	str_check_fn		*check;		/* CF_STR, or NULL */
	const char *const	*names;		/* CF_ENUM, NULL-terminated */
	const struct cf_group	*sub;		/* CF_GROUP, CF_LIST */
	cf_fn			*fn;		/* CF_FN */
};

/* A group type: its keys, and for list elements their size and line field. */
struct cf_group {
	const struct cf_cmd	*cmds;		/* ends with a NULL name */
	size_t			 size;		/* CF_LIST: one element */
	size_t			 line_off;	/* CF_LIST: offsetof the element's int line */
	group_check_fn		*check;		/* or NULL */
};

/* One load in progress: where errors go and what is being filled. */
struct ld {
	const char		*path;
	const char		*dir;	/* include directory of path, or NULL */
	unsigned		 flags;	/* CONF_LOAD_F_* */
	struct conf_errs	*errs;
	struct conf_errs	*warns;	/* or NULL */
	struct conf		*c;
};

static void	err_vline(struct ld *ld, struct conf_errs *to, const char *file, int line,
    const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
static void	err_line(struct ld *ld, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void	err_at(struct ld *ld, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void	warn_at(struct ld *ld, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void	rec_vat(struct ld *ld, struct conf_errs *to, const config_setting_t *s,
    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
static void	inherit_timeouts(struct conf *c);
static int	read_in_dir(struct ld *ld, config_t *cfg, const char *path);
static void	check_files(struct ld *ld, const config_t *cfg);
static void	check_file(struct ld *ld, const config_setting_t *s, const char *where,
    const char *path);
static void	check_shadows(struct ld *ld, const config_t *cfg);
static bool	host_covers(const char *early, const char *late);
static size_t	host_key(const char *p, size_t len);
static void	errs_sort(struct conf_errs *errs);
static const char *describe(const config_setting_t *s, char *buf, size_t size);
static const char *quote(const char *v, char *buf, size_t size);
static const char *expect_text(const struct cf_cmd *cmd, char *buf, size_t size);
static void	path_key(char *dst, const char *parent, const char *key);
static void	path_idx(char *dst, const char *parent, unsigned idx, bool schema);
static void	parse_group(struct ld *ld, const config_setting_t *s, const struct cf_group *g,
    void *base, const char *where, const char *schema);
static void	parse_value(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd,
    void *base, const char *where, const char *schema);
static void	parse_list(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd,
    void *base, const char *where, const char *schema);
static void	set_default(struct ld *ld, const struct cf_cmd *cmd, void *base,
    const char *where, const char *schema);
#define CIDR_LIST_MAX	1000000	/* allow/deny/trusted_proxies entries */
static int	str_list_max(struct ld *ld, const config_setting_t *s, const char *where,
    const char *expect, int max);
static int	str_list(struct ld *ld, const config_setting_t *s, const char *where,
    const char *expect);
static int	parse_addr(const char *text, struct addr_conf *a, const char **why,
    bool *unresolved);
static int	parse_cidr(const char *text, struct cidr_conf *cidr, const char **why);
static bool	is_alnum(int ch);
static bool	is_tchar(int ch);
static bool	ok_any(const char *v);
static bool	ok_user(const char *v);
static bool	ok_group(const char *v);
static bool	ok_abs_path(const char *v);
static bool	ok_source_name(const char *v);
static bool	ok_host(const char *v);
static bool	ok_header_name(const char *v);
static bool	ok_header_name_or_none(const char *v);
static bool	ok_redirect_to(const char *v);
static void	fn_statuses(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd,
    void *base, const char *where);
static void	check_error_page(struct ld *ld, const config_setting_t *s, void *base,
    const char *where);
static void	free_error_pages(struct error_page_conf *p, uint32_t n);
static void	fn_nameservers(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd,
    void *base, const char *where);
static bool	resolve_later(const config_setting_t *s);
static bool	host_is_literal(const char *text);
static void	fn_rl_rate(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd,
    void *base, const char *where);
static void	fn_rl_key(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd,
    void *base, const char *where);
static void	check_rate_limit(struct ld *ld, const config_setting_t *s, void *base,
    const char *where);
static int	parse_size(const char *v, long long *out);
static void	check_redirect(struct ld *ld, const config_setting_t *s, void *base,
    const char *where);
static bool	ok_header_value(const char *v);
static bool	header_reserved(const char *name);
static void	fn_workers(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd,
    void *base, const char *where);
static void	fn_route_sources(struct ld *ld, const config_setting_t *s,
    const struct cf_cmd *cmd, void *base, const char *where);
static void	fn_cidrs(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd,
    void *base, const char *where);
static void	fn_header_hide(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd,
    void *base, const char *where);
static void	fn_via(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd,
    void *base, const char *where);
static void	fn_reuse_max(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd,
    void *base, const char *where);
static void	fn_upgrade(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd,
    void *base, const char *where);
static void	fn_alpn(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd,
    void *base, const char *where);
static void	fn_mode(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd,
    void *base, const char *where);
static void	check_source_tls(struct ld *ld, const config_setting_t *s, void *base,
    const char *where);
static void	check_tls(struct ld *ld, const config_setting_t *s, void *base,
    const char *where);
static void	check_listener(struct ld *ld, const config_setting_t *s, void *base,
    const char *where);
static void	check_source(struct ld *ld, const config_setting_t *s, void *base,
    const char *where);
static void	check_health(struct ld *ld, const config_setting_t *s, void *base,
    const char *where);
static void	check_route(struct ld *ld, const config_setting_t *s, void *base,
    const char *where);
static void	check_rewrite(struct ld *ld, const config_setting_t *s, void *base,
    const char *where);

#define FIELD(base, off, type)	((type *)(void *)((char *)(base) + (off)))
#define FSIZE(st, f)		sizeof(((st *)0)->f)

/* Table rows, one macro per kind so each row reads like an ngx_command_t. */
#define K_U32(n, st, f, lo, hi, d) \
	{ .name = (n), .kind = CF_U32, .off = offsetof(st, f), .min = (lo), .max = (hi), \
	  .def = (d) }
#define K_SIZE(n, st, f, lo, hi, d) \
	{ .name = (n), .kind = CF_U32, .flags = CF_F_SIZE, .off = offsetof(st, f), .min = (lo), \
	  .max = (hi), .def = (d) }
#define K_DUR(n, st, f, d) \
	{ .name = (n), .kind = CF_DUR, .off = offsetof(st, f), .min = 0, .max = DUR_MAX, \
	  .def = (d) }
/* A duration where 0 means off. */
#define K_DUR0(n, st, f, d) \
	{ .name = (n), .kind = CF_DUR, .flags = CF_F_ZERO_OK, .off = offsetof(st, f), .min = 0, \
	  .max = DUR_MAX, .def = (d) }
#define K_BOOL(n, st, f, d) \
	{ .name = (n), .kind = CF_BOOL, .off = offsetof(st, f), .def = (d) }
#define K_STR(n, st, f, fl, d, chk, exp) \
	{ .name = (n), .kind = CF_STR, .flags = (fl), .off = offsetof(st, f), \
	  .size = FSIZE(st, f), .sdef = (d), .check = (chk), .expect = (exp) }
#define K_ENUM(n, st, f, nm, d, exp) \
	{ .name = (n), .kind = CF_ENUM, .off = offsetof(st, f), .names = (nm), .def = (d), \
	  .expect = (exp) }
#define K_ADDR(n, st, f, fl) \
	{ .name = (n), .kind = CF_ADDR, .flags = (fl), .off = offsetof(st, f), \
	  .expect = "\"host:port\", \"[ipv6]:port\" or \"unix:/path\"" }
#define K_GROUP(n, st, f, g) \
	{ .name = (n), .kind = CF_GROUP, .off = offsetof(st, f), .sub = (g), .expect = "a group" }
#define K_LIST(n, st, f, fn_, fl, g, exp) \
	{ .name = (n), .kind = CF_LIST, .flags = (fl), .off = offsetof(st, f), \
	  .off_n = offsetof(st, fn_), .sub = (g), .expect = (exp) }
#define K_FN(n, st, f, fn_, fl, fun, exp) \
	{ .name = (n), .kind = CF_FN, .flags = (fl), .off = offsetof(st, f), \
	  .off_n = offsetof(st, fn_), .fn = (fun), .expect = (exp) }
#define K_END	{ .name = NULL }

/* Enum fields are stored through an int: their index in names[]. */
_Static_assert(sizeof(enum log_level) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum balancer) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum tls_version) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum log_format) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum route_handler) == sizeof(int), "enum stored as int");

static const char *const tls_version_names[] = {
	[TLS_V1_2] = "TLSv1.2", [TLS_V1_3] = "TLSv1.3", [TLS_V__COUNT] = NULL,
};

static const char *const log_format_names[] = {
	[LOG_F_COMBINED] = "combined",
	[LOG_F_JSON] = "json",
	NULL
};

static const char *const level_names[] = {
	[LOG_L_ERROR] = "error", [LOG_L_WARN] = "warn", [LOG_L_INFO] = "info",
	[LOG_L_DEBUG] = "debug", [LOG_L__COUNT] = NULL,
};

static const char *const handler_names[] = {
	[RH_PROXY] = "proxy", [RH_METRICS] = "metrics", [RH_STATUS] = "status",
	[RH_REDIRECT] = "redirect",
	[RH__COUNT] = NULL,
};

static const char *const balancer_names[] = {
	[LB_ROUND_ROBIN] = "round_robin", [LB_LEAST_CONN] = "least_conn",
	[LB_IP_HASH] = "ip_hash", [LB_FAILOVER] = "failover", [LB__COUNT] = NULL,
};

#define EXP_PATH	"a path starting with \"/\""
#define EXP_HNAME	"a header name (an HTTP token; not Host, Content-Length, " \
			"Transfer-Encoding or hop-by-hop)"
#define EXP_HVALUE	"a header value without CR, LF or control characters"

static const struct cf_cmd log_cmds[] = {
	K_STR("error", struct log_conf, error, 0, "stderr", ok_any, "\"stderr\" or a file path"),
	K_ENUM("level", struct log_conf, level, level_names, LOG_L_INFO,
	    "\"error\", \"warn\", \"info\" or \"debug\""),
	K_STR("access", struct log_conf, access, 0, "off", ok_any, "\"off\" or a file path"),
	K_ENUM("format", struct log_conf, format, log_format_names, LOG_F_COMBINED,
	    "\"combined\" or \"json\""),
	K_END
};

static const struct cf_cmd limits_cmds[] = {
	K_U32("max_connections", struct limits_conf, max_connections, 1, 1000000, 10000),
	K_SIZE("max_request_line", struct limits_conf, max_request_line, 64, 1048576, 8192),
	K_SIZE("max_header_size", struct limits_conf, max_header_size, 256, 1048576, 16384),
	K_U32("max_headers", struct limits_conf, max_headers, 1, 1000, 100),
	K_END
};

static const struct cf_cmd timeouts_cmds[] = {
	K_DUR("client_header", struct timeouts_conf, client_header, 10),
	K_DUR("client_keepalive", struct timeouts_conf, client_keepalive, 60),
	K_DUR("backend_connect", struct timeouts_conf, backend_connect, 3),
	K_DUR("backend_response", struct timeouts_conf, backend_response, 60),
	K_DUR("backend_idle", struct timeouts_conf, backend_idle, 30),
	K_DUR("graceful", struct timeouts_conf, graceful, 30),
	K_DUR("tunnel", struct timeouts_conf, tunnel, 3600),
	K_END
};

/* A route's own timeouts; what it does not set comes from the global group. */
static const struct cf_cmd route_timeouts_cmds[] = {
	K_DUR("backend_connect", struct route_timeouts, backend_connect, 0),
	K_DUR("backend_response", struct route_timeouts, backend_response, 0),
	K_DUR("backend_idle", struct route_timeouts, backend_idle, 0),
	K_DUR("tunnel", struct route_timeouts, tunnel, 0),
	K_END
};

static const struct cf_cmd redirect_cmds[] = {
	K_STR("to", struct redirect_conf, to, CF_F_REQUIRED, NULL, ok_redirect_to,
	    "a URL or path, with $scheme, $host, $request_uri, $uri or $$ "
	    "(\"https://$host$request_uri\")"),
	K_U32("status", struct redirect_conf, status, 301, 308, 301),
	K_END
};

static const struct cf_group redirect_group = { redirect_cmds, 0, 0, check_redirect };

static const struct cf_cmd rate_limit_cmds[] = {
	K_FN("rate", struct rate_limit_conf, rate, rate, 0, fn_rl_rate,
	    "requests per second per client, > 0 and <= 1000000 (10, 0.5)"),
	K_U32("burst", struct rate_limit_conf, burst, 0, 1000000, 0),
	K_FN("key", struct rate_limit_conf, burst, burst, 0, fn_rl_key,
	    "\"client\" (the client address)"),
	K_END
};

static const struct cf_group rate_limit_group = { rate_limit_cmds, 0, 0, check_rate_limit };

/* Live DNS for sources with resolve = true (master/resolve.c). */
static const struct cf_cmd resolver_cmds[] = {
	K_FN("nameservers", struct resolver_conf, nameservers, nnameservers, 0, fn_nameservers,
	    "an array of at most 8 nameserver addresses \"ip:port\", \"ip\" (port 53) "
	    "or \"[ipv6]:port\""),
	K_DUR("valid", struct resolver_conf, valid, 30),
	K_DUR("timeout", struct resolver_conf, timeout, 2),
	K_END
};

static const struct cf_group resolver_group = { resolver_cmds, 0, 0, NULL };

static const struct cf_cmd error_page_cmds[] = {
	K_FN("status", struct error_page_conf, status, nstatus, CF_F_REQUIRED, fn_statuses,
	    "a status 400..599 or an array of them [ 502, 503, 504 ]"),
	K_STR("file", struct error_page_conf, file, CF_F_REQUIRED, NULL, ok_any, "a file path"),
	K_END
};

static const struct cf_group error_page_group = {
	error_page_cmds, sizeof(struct error_page_conf), offsetof(struct error_page_conf, line),
	check_error_page
};

static const struct cf_cmd tls_cert_cmds[] = {
	K_STR("certificate", struct tls_cert_conf, certificate, CF_F_REQUIRED, NULL, ok_any,
	    "a PEM file path (the chain after the certificate)"),
	K_STR("key", struct tls_cert_conf, key, CF_F_REQUIRED, NULL, ok_any,
	    "a PEM private key file path"),
	K_END
};

static const struct cf_group tls_cert_group = {
	tls_cert_cmds, sizeof(struct tls_cert_conf), offsetof(struct tls_cert_conf, line), NULL
};

static const struct cf_cmd tls_cmds[] = {
	K_LIST("certificates", struct tls_conf, certs, ncerts, CF_F_REQUIRED, &tls_cert_group,
	    "a list of groups ( { certificate = \"...\"; key = \"...\"; } )"),
	K_ENUM("min_version", struct tls_conf, min_version, tls_version_names, TLS_V1_2,
	    "\"TLSv1.2\" or \"TLSv1.3\""),
	K_STR("ciphers", struct tls_conf, ciphers, 0, TLS_CIPHERS_DEFAULT, ok_any,
	    "an OpenSSL cipher list (TLS 1.2)"),
	K_FN("alpn", struct tls_conf, alpn, alpn_len, 0, fn_alpn,
	    "an array of protocol names [ \"http/1.1\" ]"),
	K_BOOL("session_tickets", struct tls_conf, session_tickets, true),
	K_U32("ticket_rotate", struct tls_conf, ticket_rotate, 1, 86400, 3600),
	K_END
};

static const struct cf_group tls_group = { tls_cmds, 0, 0, check_tls };

static const struct cf_cmd source_tls_cmds[] = {
	K_BOOL("verify", struct source_tls_conf, verify, true),
	K_STR("ca", struct source_tls_conf, ca, 0, "", ok_any,
	    "a PEM file of CA certificates"),
	K_STR("sni", struct source_tls_conf, sni, 0, "", ok_any, "a host name"),
	K_STR("certificate", struct source_tls_conf, certificate, 0, "", ok_any,
	    "a PEM file path (the chain after the certificate)"),
	K_STR("key", struct source_tls_conf, key, 0, "", ok_any, "a PEM private key file path"),
	K_END
};

static const struct cf_group source_tls_group = { source_tls_cmds, 0, 0, check_source_tls };

static const struct cf_cmd listener_cmds[] = {
	K_ADDR("address", struct listener_conf, addr, CF_F_REQUIRED),
	K_BOOL("proxy_protocol", struct listener_conf, proxy_protocol, false),
	K_GROUP("tls", struct listener_conf, tls, &tls_group),
	/* unix: listeners only, check_listener() says so. */
	K_FN("mode", struct listener_conf, mode, mode, 0, fn_mode,
	    "an octal mode \"0660\" (0..0777; an integer is read as octal digits: 660)"),
	K_STR("owner", struct listener_conf, owner, 0, NULL, ok_user, "an existing user name"),
	K_STR("group", struct listener_conf, group, 0, NULL, ok_group, "an existing group name"),
	K_END
};

static const struct cf_cmd source_cmds[] = {
	K_STR("name", struct source_conf, name, CF_F_REQUIRED, NULL, ok_source_name,
	    "a name of 1..63 characters from [A-Za-z0-9_.-]"),
	K_ADDR("address", struct source_conf, addr, CF_F_REQUIRED),
	K_U32("weight", struct source_conf, weight, 1, 256, 1),
	K_U32("max_fails", struct source_conf, max_fails, 0, 1000, 1),
	K_DUR("fail_timeout", struct source_conf, fail_timeout, 10),
	K_BOOL("backup", struct source_conf, backup, false),
	K_GROUP("tls", struct source_conf, tls, &source_tls_group),
	K_BOOL("resolve", struct source_conf, resolve, false),
	K_U32("max_conns", struct source_conf, max_conns, 0, 1000000, 0),
	K_DUR0("slow_start", struct source_conf, slow_start, 0),
	K_END
};

static const struct cf_cmd health_cmds[] = {
	K_STR("path", struct health_conf, path, 0, "/health", ok_abs_path, EXP_PATH),
	K_DUR("interval", struct health_conf, interval, 2),
	K_DUR("timeout", struct health_conf, timeout, 1),
	K_U32("rise", struct health_conf, rise, 1, 100, 2),
	K_U32("fall", struct health_conf, fall, 1, 100, 3),
	K_END
};

static const struct cf_cmd rewrite_cmds[] = {
	K_STR("regex", struct rewrite_conf, regex, CF_F_REQUIRED, NULL, ok_any,
	    "a regular expression"),
	K_STR("replace", struct rewrite_conf, replace, CF_F_REQUIRED | CF_F_EMPTY_OK, NULL, ok_any,
	    "a replacement string"),
	K_END
};

static const struct cf_cmd header_cmds[] = {
	K_STR("name", struct header_conf, name, CF_F_REQUIRED, NULL, ok_header_name, EXP_HNAME),
	K_STR("value", struct header_conf, value, CF_F_REQUIRED | CF_F_EMPTY_OK, NULL,
	    ok_header_value, EXP_HVALUE),
	K_END
};

static const struct cf_group rewrite_group = {
	rewrite_cmds, sizeof(struct rewrite_conf), offsetof(struct rewrite_conf, line),
	check_rewrite
};
static const struct cf_group header_group = {
	header_cmds, sizeof(struct header_conf), offsetof(struct header_conf, line), NULL
};

#define EXP_REWRITE	"a list of groups ( { regex = \"...\"; replace = \"...\"; } )"
#define EXP_HADD	"a list of groups ( { name = \"...\"; value = \"...\"; } )"
#define EXP_HHIDE	"an array of header names [ \"X-Name\", ... ]"

static const struct cf_cmd request_cmds[] = {
	K_LIST("rewrite", struct rules_conf, rewrite, nrewrite, 0, &rewrite_group, EXP_REWRITE),
	K_LIST("header_add", struct rules_conf, add, nadd, 0, &header_group, EXP_HADD),
	K_FN("header_hide", struct rules_conf, hide, nhide, 0, fn_header_hide, EXP_HHIDE),
	K_END
};

static const struct cf_cmd response_cmds[] = {
	K_LIST("header_add", struct rules_conf, add, nadd, 0, &header_group, EXP_HADD),
	K_FN("header_hide", struct rules_conf, hide, nhide, 0, fn_header_hide, EXP_HHIDE),
	K_LIST("rewrite_location", struct rules_conf, rewrite, nrewrite, 0, &rewrite_group,
	    EXP_REWRITE),
	K_END
};

static const struct cf_group request_group = { request_cmds, 0, 0, NULL };
static const struct cf_group response_group = { response_cmds, 0, 0, NULL };
static const struct cf_group route_timeouts_group = { route_timeouts_cmds, 0, 0, NULL };

static const struct cf_cmd route_cmds[] = {
	K_STR("host", struct route_conf, host, 0, "*", ok_host,
	    "\"*\", \"*.example.com\" or a host name"),
	K_STR("path", struct route_conf, path, 0, "/", ok_abs_path, EXP_PATH),
	K_STR("path_regex", struct route_conf, path_regex, 0, NULL, ok_any,
	    "a regular expression"),
	K_ENUM("handler", struct route_conf, handler, handler_names, RH_PROXY,
	    "\"proxy\", \"metrics\", \"status\" or \"redirect\""),
	K_GROUP("redirect", struct route_conf, redirect, &redirect_group),
	/* Required for handler proxy: check_route() says so. */
	K_FN("sources", struct route_conf, sources, nsources, 0, fn_route_sources,
	    "a non-empty array of source names [ \"app1\", ... ]"),
	K_ENUM("balancer", struct route_conf, balancer, balancer_names, LB_ROUND_ROBIN,
	    "\"round_robin\", \"least_conn\", \"ip_hash\" or \"failover\""),
	K_FN("reuse_max", struct route_conf, reuse_max, reuse_max, 0, fn_reuse_max,
	    "\"auto\" or an integer 0..4096"),
	K_U32("reuse_limit", struct route_conf, reuse_limit, 1, 65536, 1024),
	K_SIZE("max_body_size", struct route_conf, max_body_size, 0, 4294967295.0, 0),
	K_DUR("queue_timeout", struct route_conf, queue_timeout, 5),
	K_U32("reuse_requests", struct route_conf, reuse_requests, 1, 1000000, 1000),
	K_U32("retries", struct route_conf, retries, 0, 16, 1),
	K_BOOL("preserve_host", struct route_conf, preserve_host, true),
	K_BOOL("x_forwarded_for", struct route_conf, x_forwarded_for, true),
	K_FN("via", struct route_conf, via, via, 0, fn_via,
	    "true, false or a name for the Via field (letters, digits, \"-\", \".\", \"_\")"),
	K_STR("request_id", struct route_conf, request_id, CF_F_EMPTY_OK, "X-Request-ID",
	    ok_header_name_or_none, "a header name (letters, digits, \"-\"), or \"\" for none"),
	K_FN("upgrade", struct route_conf, upgrade, nupgrade, 0, fn_upgrade,
	    "an array of protocol names [ \"websocket\" ] (at most 8)"),
	K_FN("trusted_proxies", struct route_conf, trusted, ntrusted, 0, fn_cidrs,
	    "an array of addresses or CIDRs [ \"10.0.0.0/8\", \"::1/128\" ]"),
	K_FN("allow", struct route_conf, allow, nallow, 0, fn_cidrs,
	    "an array of addresses or CIDRs [ \"10.0.0.0/8\", \"::1/128\" ]"),
	K_FN("deny", struct route_conf, deny, ndeny, 0, fn_cidrs,
	    "an array of addresses or CIDRs [ \"10.0.0.0/8\", \"::1/128\" ]"),
	K_GROUP("request", struct route_conf, request, &request_group),
	K_GROUP("response", struct route_conf, response, &response_group),
	K_GROUP("timeouts", struct route_conf, timeouts, &route_timeouts_group),
	K_GROUP("rate_limit", struct route_conf, rate_limit, &rate_limit_group),
	K_LIST("error_pages", struct route_conf, error_pages, nerror_pages, 0, &error_page_group,
	    "a list of groups ( { status = [ 502, 503 ]; file = \"/etc/sluice/50x.html\"; } )"),
	K_END
};

static const struct cf_group log_group = { log_cmds, 0, 0, NULL };
static const struct cf_group limits_group = { limits_cmds, 0, 0, NULL };
static const struct cf_group timeouts_group = { timeouts_cmds, 0, 0, NULL };
static const struct cf_group health_group = { health_cmds, 0, 0, check_health };
static const struct cf_group listener_group = {
	listener_cmds, sizeof(struct listener_conf), offsetof(struct listener_conf, line),
	check_listener
};
static const struct cf_group source_group = {
	source_cmds, sizeof(struct source_conf), offsetof(struct source_conf, line), check_source
};
static const struct cf_group route_group = {
	route_cmds, sizeof(struct route_conf), offsetof(struct route_conf, line), check_route
};

/* Order matters: sources are parsed before routes, which name them. */
static const struct cf_cmd top_cmds[] = {
	K_FN("workers", struct conf, workers, workers, 0, fn_workers,
	    "\"auto\" or an integer 1..256"),
	K_STR("pid_file", struct conf, pid_file, 0, "/tmp/sluice.pid", ok_any, "a file path"),
	K_STR("shm", struct conf, shm, 0, CONF_SHM_DEFAULT, conf_shm_name_ok, CONF_SHM_EXPECT),
	K_STR("user", struct conf, user, 0, NULL, ok_user, "an existing user name"),
	K_GROUP("log", struct conf, log, &log_group),
	K_GROUP("limits", struct conf, limits, &limits_group),
	K_GROUP("timeouts", struct conf, timeouts, &timeouts_group),
	K_LIST("listeners", struct conf, listeners, nlisteners, CF_F_REQUIRED, &listener_group,
	    "a list of at least one listener ( { address = \"0.0.0.0:8080\"; } )"),
	K_LIST("sources", struct conf, sources, nsources, CF_F_REQUIRED, &source_group,
	    "a list of at least one source ( { name = \"app1\"; address = \"127.0.0.1:9001\"; } )"),
	K_GROUP("health", struct conf, health, &health_group),
	K_LIST("routes", struct conf, routes, nroutes, CF_F_REQUIRED, &route_group,
	    "a list of at least one route ( { sources = [ \"app1\" ]; } )"),
	K_LIST("error_pages", struct conf, error_pages, nerror_pages, 0, &error_page_group,
	    "a list of groups ( { status = [ 502, 503 ]; file = \"/etc/sluice/50x.html\"; } )"),
	K_GROUP("resolver", struct conf, resolver, &resolver_group),
	K_END
};

static const struct cf_group top_group = { top_cmds, 0, 0, NULL };

/* Framing, Host and hop-by-hop headers belong to sluice: rules may not add or hide them. */
static const char *const reserved_headers[] = {
	"Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "TE",
	"Trailer", "Upgrade", "Proxy-Connection", NULL
};

struct conf *
conf_load(const char *path, struct conf_errs *errs)
{
	return conf_load_ext(path, 0, errs, NULL);
}

struct conf *
conf_load_ext(const char *path, unsigned flags, struct conf_errs *errs, struct conf_errs *warns)
{
	struct conf_errs local;
	struct ld ld;
	struct conf *c;
	config_t cfg;
	char dir[CONF_STR_MAX];
	const char *slash;
	int rc;

	if (errs == NULL)
		errs = &local;
	memset(errs, 0, sizeof(*errs));
	if (warns != NULL)
		memset(warns, 0, sizeof(*warns));
	ld.path = path;
	ld.dir = NULL;
	ld.flags = flags;
	ld.errs = errs;
	ld.warns = warns;
	ld.c = NULL;
	if (strlen(path) >= sizeof(c->file)) {
		err_line(&ld, path, 0, "file path too long (at most %zu characters)",
		    sizeof(c->file) - 1);
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		err_line(&ld, path, 0, "out of memory");
		return NULL;
	}
	ld.c = c;
	memcpy(c->file, path, strlen(path) + 1);

	config_init(&cfg);
	if ((slash = strrchr(path, '/')) != NULL) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		ld.dir = slash == path ? "" : dir;
	}
	if ((rc = read_in_dir(&ld, &cfg, path)) == -1) {
		err_line(&ld, path, 0, "cannot read the file: %s",
		    errno != 0 ? strerror(errno) : "I/O error");
		config_destroy(&cfg);
		free(c);
		return NULL;
	}
	if (rc == 0) {
		err_line(&ld, config_error_file(&cfg) != NULL ? config_error_file(&cfg) : path,
		    config_error_line(&cfg), "%s", config_error_text(&cfg));
		config_destroy(&cfg);
		free(c);
		return NULL;
	}
	parse_group(&ld, config_root_setting(&cfg), &top_group, c, "", "");
	inherit_timeouts(c);
	if (errs->total == 0)
		check_shadows(&ld, &cfg);
	if (flags & CONF_LOAD_F_FILES)
		check_files(&ld, &cfg);
	config_destroy(&cfg);
	if (warns != NULL)
		errs_sort(warns);
	if (errs->total > 0) {
		errs_sort(errs);
		conf_free(c);
		return NULL;
	}
	return c;
}

/* Route timeouts not set in the route: the global ones. */
static void
inherit_timeouts(struct conf *c)
{
	struct route_timeouts *t;
	uint32_t i;

	for (i = 0; i < c->nroutes && c->routes != NULL; i++) {
		t = &c->routes[i].timeouts;
		if (t->backend_connect == 0)
			t->backend_connect = c->timeouts.backend_connect;
		if (t->backend_response == 0)
			t->backend_response = c->timeouts.backend_response;
		if (t->backend_idle == 0)
			t->backend_idle = c->timeouts.backend_idle;
		if (t->tunnel == 0)
			t->tunnel = c->timeouts.tunnel;
	}
}

/*
 * Parses path into cfg with the file's directory as the working directory,
 * so that a relative @include is relative to that directory and an absolute
 * one is used as is. (libconfig 1.5 puts its include_dir in front of every
 * @include path, absolute ones too, so it cannot be used.) The master is
 * single-threaded: moving for the length of the parse disturbs nobody.
 * Returns 1, 0 on a parse error (in cfg), -1 with errno if path cannot be
 * opened.
 */
static int
read_in_dir(struct ld *ld, config_t *cfg, const char *path)
{
	const char *dir = ld->dir != NULL && ld->dir[0] == '\0' ? "/" : ld->dir;
	FILE *fp;
	int cwd = -1, rc;

	errno = 0;
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	if (dir != NULL && (cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) != -1 &&
	    chdir(dir) == -1) {
		close(cwd);
		cwd = -1;
	}
	/* Could not move: relative includes still work, absolute ones do not. */
	if (dir != NULL && cwd == -1)
		config_set_include_dir(cfg, dir);
	rc = config_read(cfg, fp) == CONFIG_TRUE;
	fclose(fp);
	if (cwd != -1) {
		/* Cannot fail on a held handle; if it did, the caller must know. */
		if (fchdir(cwd) == -1)
			err_line(ld, path, 0, "cannot return to the working directory: %s",
			    strerror(errno));
		close(cwd);
	}
	return rc;
}

void
conf_free(struct conf *c)
{
	struct route_conf *r;
	uint32_t i, j;

	if (c == NULL)
		return;
	for (i = 0; i < c->nroutes && c->routes != NULL; i++) {
		r = &c->routes[i];
		free(r->sources);
		free(r->trusted);
		free(r->allow);
		free(r->deny);
		free_error_pages(r->error_pages, r->nerror_pages);
		acl_free(r->acl);
		rewrite_free(r->path_re);
		for (j = 0; j < r->request.nrewrite && r->request.rewrite != NULL; j++)
			rewrite_free(r->request.rewrite[j].rw);
		for (j = 0; j < r->response.nrewrite && r->response.rewrite != NULL; j++)
			rewrite_free(r->response.rewrite[j].rw);
		free(r->request.rewrite);
		free(r->request.add);
		free(r->request.hide);
		free(r->response.rewrite);
		free(r->response.add);
		free(r->response.hide);
	}
	free(c->routes);
	free_error_pages(c->error_pages, c->nerror_pages);
	for (i = 0; i < c->nsources && c->sources != NULL; i++)
		tls_cli_free(c->sources[i].tls.cli);
	free(c->sources);
	for (i = 0; i < c->nlisteners && c->listeners != NULL; i++) {
		tls_srv_free(c->listeners[i].tls.srv);
		free(c->listeners[i].tls.certs);
	}
	free(c->listeners);
	free(c);
}

void
conf_errs_print(const struct conf_errs *errs, FILE *out)
{
	const struct conf_err *e;
	unsigned i, more;

	for (i = 0; i < errs->n; i++) {
		e = &errs->err[i];
		if (e->line > 0)
			fprintf(out, "%s:%d: %s\n", e->file, e->line, e->msg);
		else
			fprintf(out, "%s: %s\n", e->file, e->msg);
	}
	if (errs->total > errs->n) {
		more = errs->total - errs->n;
		fprintf(out, "... and %u more error%s\n", more, more == 1 ? "" : "s");
	}
}

int
conf_parse_addr(const char *text, struct addr_conf *a, const char **why)
{
	const char *dummy;
	bool unresolved;

	return parse_addr(text, a, why != NULL ? why : &dummy, &unresolved);
}

/* --- errors ------------------------------------------------------------- */

/* Records one error (or warning, to = ld->warns) at file:line. */
static void
err_vline(struct ld *ld, struct conf_errs *to, const char *file, int line, const char *fmt,
    va_list ap)
{
	struct conf_err *e;

	to->total++;
	if (to->n >= sizeof(to->err) / sizeof(to->err[0]))
		return;
	e = &to->err[to->n++];
	/* libconfig names an included file as written; it was opened in dir. */
	if (ld->dir != NULL && strcmp(file, ld->path) != 0 && file[0] != '/')
		snprintf(e->file, sizeof(e->file), "%s/%s", ld->dir, file);
	else
		snprintf(e->file, sizeof(e->file), "%s", file);
	e->line = line;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

static void
err_line(struct ld *ld, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vline(ld, ld->errs, file, line, fmt, ap);
	va_end(ap);
}

/* Records at s's file and line (the root setting, and NULL, have line 0). */
static void
rec_vat(struct ld *ld, struct conf_errs *to, const config_setting_t *s, const char *fmt,
    va_list ap)
{
	const char *file = ld->path;
	int line = 0;

	if (s != NULL) {
		line = (int)config_setting_source_line(s);
		if (config_setting_source_file(s) != NULL)
			file = config_setting_source_file(s);
	}
	err_vline(ld, to, file, line, fmt, ap);
}

/* Records an error at s's file and line. */
static void
err_at(struct ld *ld, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rec_vat(ld, ld->errs, s, fmt, ap);
	va_end(ap);
}

/* Records a warning at s's file and line, if the caller asked for warnings. */
static void
warn_at(struct ld *ld, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	if (ld->warns == NULL)
		return;
	va_start(ap, fmt);
	rec_vat(ld, ld->warns, s, fmt, ap);
	va_end(ap);
}

/* Keys are visited in table order; operators read errors in file order. Stable. */
static void
errs_sort(struct conf_errs *errs)
{
	struct conf_err tmp;
	unsigned i, j;
	int cmp;

	for (i = 1; i < errs->n; i++) {
		tmp = errs->err[i];
		for (j = i; j > 0; j--) {
			cmp = strcmp(errs->err[j - 1].file, tmp.file);
			if (cmp < 0 || (cmp == 0 && errs->err[j - 1].line <= tmp.line))
				break;
			errs->err[j] = errs->err[j - 1];
		}
		errs->err[j] = tmp;
	}
}

/* What the operator wrote, for "got ...". */
static const char *
describe(const config_setting_t *s, char *buf, size_t size)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		snprintf(buf, size, "%lld", config_setting_get_int64(s));
		break;
	case CONFIG_TYPE_FLOAT:
		snprintf(buf, size, "%g", config_setting_get_float(s));
		break;
	case CONFIG_TYPE_STRING:
		quote(config_setting_get_string(s), buf, size);
		break;
	case CONFIG_TYPE_BOOL:
		snprintf(buf, size, "%s", config_setting_get_bool(s) ? "true" : "false");
		break;
	case CONFIG_TYPE_GROUP:
		snprintf(buf, size, "a group");
		break;
	case CONFIG_TYPE_ARRAY:
		snprintf(buf, size, config_setting_length(s) == 0 ? "an empty array" : "an array");
		break;
	case CONFIG_TYPE_LIST:
		snprintf(buf, size, config_setting_length(s) == 0 ? "an empty list" : "a list");
		break;
	default:
		snprintf(buf, size, "an unknown type");
		break;
	}
	return buf;
}

/*
 * v in double quotes, with quotes, backslashes and control characters escaped
 * so that one error stays one line; cut with "..." to fit size (>= 16).
 */
static const char *
quote(const char *v, char *buf, size_t size)
{
	unsigned char ch;
	size_t o = 0;

	buf[o++] = '"';
	/* Room kept for one escape (4), "..." (3), the quote and the NUL. */
	for (; *v != '\0' && o + 9 <= size; v++) {
		ch = (unsigned char)*v;
		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch < ' ' || ch == 0x7f) {
			o += (size_t)snprintf(buf + o, size - o, ch == '\n' ? "\\n" :
			    ch == '\r' ? "\\r" : ch == '\t' ? "\\t" : "\\x%02x", ch);
		} else {
			buf[o++] = (char)ch;
		}
	}
	if (*v != '\0') {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static const char *
expect_text(const struct cf_cmd *cmd, char *buf, size_t size)
{
	if (cmd->expect != NULL)
		return cmd->expect;
	switch (cmd->kind) {
	case CF_U32:
		if (cmd->flags & CF_F_SIZE)
			snprintf(buf, size, "a size %.0f..%.0f (bytes, or \"16k\", \"10m\")",
			    cmd->min, cmd->max);
		else
			snprintf(buf, size, "an integer %.0f..%.0f", cmd->min, cmd->max);
		break;
	case CF_DUR:
		snprintf(buf, size, "a number of seconds %s %.0f and <= %.0f",
		    (cmd->flags & CF_F_ZERO_OK) ? ">=" : ">", cmd->min, cmd->max);
		break;
	case CF_BOOL:
		snprintf(buf, size, "true or false");
		break;
	default:
		snprintf(buf, size, "a value");
		break;
	}
	return buf;
}

/* "routes[0]" + "path" -> "routes[0].path"; at the top level just "path". */
static void
path_key(char *dst, const char *parent, const char *key)
{
	if (parent[0] == '\0')
		snprintf(dst, PATH_MAX_TXT, "%s", key);
	else
		snprintf(dst, PATH_MAX_TXT, "%.120s.%.120s", parent, key);
}

/* "routes" + 3 -> "routes[3]", or "routes[]" for the schema path. */
static void
path_idx(char *dst, const char *parent, unsigned idx, bool schema)
{
	if (schema)
		snprintf(dst, PATH_MAX_TXT, "%.240s[]", parent);
	else
		snprintf(dst, PATH_MAX_TXT, "%.240s[%u]", parent, idx);
}

/* --- the table walker --------------------------------------------------- */

/*
 * Fills base from group s after g's keys: unknown keys, then each key of the
 * table (its default when absent), then g's cross checks. s NULL: defaults only.
 */
static void
parse_group(struct ld *ld, const config_setting_t *s, const struct cf_group *g, void *base,
    const char *where, const char *schema)
{
	const struct cf_cmd *cmd;
	const config_setting_t *m;
	char w[PATH_MAX_TXT], sc[PATH_MAX_TXT], keys[200], buf[GOT_MAX];
	size_t kl;
	int i, n;

	if (s != NULL) {
		n = config_setting_length(s);
		for (i = 0; i < n; i++) {
			m = config_setting_get_elem(s, (unsigned)i);
			for (cmd = g->cmds; cmd->name != NULL; cmd++)
				if (strcmp(cmd->name, config_setting_name(m)) == 0)
					break;
			if (cmd->name != NULL)
				continue;
			keys[0] = '\0';
			kl = 0;
			for (cmd = g->cmds; cmd->name != NULL && kl < sizeof(keys); cmd++)
				kl += (size_t)snprintf(keys + kl, sizeof(keys) - kl, "%s%s",
				    cmd == g->cmds ? "" : ", ", cmd->name);
			err_at(ld, m, "unknown key \"%.60s\" %s%s (expected one of: %s)",
			    config_setting_name(m), where[0] == '\0' ? "at the top level" : "in ",
			    where, keys);
		}
	}
	for (cmd = g->cmds; cmd->name != NULL; cmd++) {
		path_key(w, where, cmd->name);
		path_key(sc, schema, cmd->name);
		m = s != NULL ? config_setting_get_member(s, cmd->name) : NULL;
		if (m == NULL) {
			set_default(ld, cmd, base, w, sc);
			if (s != NULL && (cmd->flags & CF_F_REQUIRED))
				err_at(ld, s, "%s: missing, expected %s", w,
				    expect_text(cmd, buf, sizeof(buf)));
			continue;
		}
		parse_value(ld, m, cmd, base, w, sc);
	}
	if (s != NULL && g->check != NULL)
		g->check(ld, s, base, where);
}

static void
set_default(struct ld *ld, const struct cf_cmd *cmd, void *base, const char *where,
    const char *schema)
{
	switch (cmd->kind) {
	case CF_U32:
		*FIELD(base, cmd->off, uint32_t) = (uint32_t)cmd->def;
		break;
	case CF_DUR:
		*FIELD(base, cmd->off, double) = cmd->def;
		break;
	case CF_BOOL:
		*FIELD(base, cmd->off, bool) = cmd->def != 0;
		break;
	case CF_ENUM:
		*FIELD(base, cmd->off, int) = (int)cmd->def;
		break;
	case CF_STR:
		snprintf(FIELD(base, cmd->off, char), cmd->size, "%s",
		    cmd->sdef != NULL ? cmd->sdef : "");
		break;
	case CF_GROUP:
		parse_group(ld, NULL, cmd->sub, FIELD(base, cmd->off, char), where, schema);
		break;
	case CF_FN:
		cmd->fn(ld, NULL, cmd, base, where);
		break;
	case CF_ADDR:
	case CF_LIST:
	case CF__COUNT:
		break;	/* zeroed by calloc */
	}
}

static void
parse_value(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd, void *base,
    const char *where, const char *schema)
{
	char got[GOT_MAX], exp[GOT_MAX];
	const char *v, *why;
	long long iv;
	double dv;
	size_t len;
	int type = config_setting_type(s), i;
	bool unresolved;

	switch (cmd->kind) {
	case CF_U32:
		if ((cmd->flags & CF_F_SIZE) && type == CONFIG_TYPE_STRING) {
			if (parse_size(config_setting_get_string(s), &iv) == -1)
				goto bad;
		} else if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
			goto bad;
		} else {
			iv = config_setting_get_int64(s);
		}
		if ((double)iv < cmd->min || (double)iv > cmd->max)
			goto bad;
		*FIELD(base, cmd->off, uint32_t) = (uint32_t)iv;
		return;
	case CF_DUR:
		if (type == CONFIG_TYPE_FLOAT)
			dv = config_setting_get_float(s);
		else if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64)
			dv = (double)config_setting_get_int64(s);
		else
			goto bad;
		if (!isfinite(dv) || dv < cmd->min || dv > cmd->max ||
		    (dv == cmd->min && !(cmd->flags & CF_F_ZERO_OK)))
			goto bad;
		*FIELD(base, cmd->off, double) = dv;
		return;
	case CF_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			goto bad;
		*FIELD(base, cmd->off, bool) = config_setting_get_bool(s) != 0;
		return;
	case CF_STR:
		if (type != CONFIG_TYPE_STRING)
			goto bad;
		v = config_setting_get_string(s);
		len = strlen(v);
		if (len >= cmd->size) {
			err_at(ld, s, "%s: expected %s, got a string of %zu characters "
			    "(at most %zu)", where, expect_text(cmd, exp, sizeof(exp)), len,
			    cmd->size - 1);
			return;
		}
		if ((len == 0 && !(cmd->flags & CF_F_EMPTY_OK)) ||
		    (cmd->check != NULL && !cmd->check(v)))
			goto bad;
		memcpy(FIELD(base, cmd->off, char), v, len + 1);
		return;
	case CF_ENUM:
		if (type != CONFIG_TYPE_STRING)
			goto bad;
		v = config_setting_get_string(s);
		for (i = 0; cmd->names[i] != NULL; i++)
			if (strcmp(cmd->names[i], v) == 0)
				break;
		if (cmd->names[i] == NULL)
			goto bad;
		*FIELD(base, cmd->off, int) = i;
		return;
	case CF_ADDR:
		if (type != CONFIG_TYPE_STRING)
			goto bad;
		v = config_setting_get_string(s);
		if (parse_addr(v, FIELD(base, cmd->off, struct addr_conf), &why, &unresolved) == 0)
			return;
		if (unresolved && resolve_later(s)) {
			/* The resolver process finds it; until then the source has no address. */
			struct addr_conf *a = FIELD(base, cmd->off, struct addr_conf);

			memcpy(a->text, v, strlen(v) + 1);
			memcpy(a->hostport, v, strlen(v) + 1);
			warn_at(ld, s, "%s: %s does not resolve now (%s); with resolve = true the "
			    "source has no address until the resolver finds one", where,
			    quote(v, got, sizeof(got)), why);
			return;
		}
		if (unresolved)
			err_at(ld, s, "%s: cannot resolve %s: %s", where,
			    quote(v, got, sizeof(got)), why);
		else
			err_at(ld, s, "%s: expected %s, got %s (%s)", where, cmd->expect,
			    describe(s, got, sizeof(got)), why);
		return;
	case CF_GROUP:
		if (type != CONFIG_TYPE_GROUP)
			goto bad;
		parse_group(ld, s, cmd->sub, FIELD(base, cmd->off, char), where, schema);
		return;
	case CF_LIST:
		parse_list(ld, s, cmd, base, where, schema);
		return;
	case CF_FN:
		cmd->fn(ld, s, cmd, base, where);
		return;
	case CF__COUNT:
		break;
	}
bad:
	err_at(ld, s, "%s: expected %s, got %s", where, expect_text(cmd, exp, sizeof(exp)),
	    describe(s, got, sizeof(got)));
}

/* A list of groups into a heap array; each element is a group of cmd->sub. */
static void
parse_list(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd, void *base,
    const char *where, const char *schema)
{
	const config_setting_t *e;
	char w[PATH_MAX_TXT], sc[PATH_MAX_TXT], got[GOT_MAX];
	char *arr;
	int n, i;

	n = config_setting_length(s);
	/* "x = ();" and "x = [];" both read as an empty list. */
	if (config_setting_type(s) != CONFIG_TYPE_LIST &&
	    !(config_setting_type(s) == CONFIG_TYPE_ARRAY && n == 0)) {
		err_at(ld, s, "%s: expected %s, got %s", where, cmd->expect,
		    describe(s, got, sizeof(got)));
		return;
	}
	if (n == 0) {
		if (cmd->flags & CF_F_REQUIRED)
			err_at(ld, s, "%s: expected %s, got an empty list", where, cmd->expect);
		return;
	}
	if (n > CONF_LIST_MAX) {
		err_at(ld, s, "%s: expected at most %d entries, got %d", where, CONF_LIST_MAX, n);
		return;
	}
	if ((arr = calloc((size_t)n, cmd->sub->size)) == NULL) {
		err_at(ld, s, "%s: out of memory", where);
		return;
	}
	/* Stored before the elements are parsed: their checks look at earlier ones. */
	*FIELD(base, cmd->off, void *) = arr;
	*FIELD(base, cmd->off_n, uint32_t) = (uint32_t)n;
	path_idx(sc, schema, 0, true);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		path_idx(w, where, (unsigned)i, false);
		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			err_at(ld, e, "%s: expected a group { ... }, got %s", w,
			    describe(e, got, sizeof(got)));
			continue;
		}
		*FIELD(arr + (size_t)i * cmd->sub->size, cmd->sub->line_off, int) =
		    (int)config_setting_source_line(e);
		parse_group(ld, e, cmd->sub, arr + (size_t)i * cmd->sub->size, w, sc);
	}
}

/*
 * Checks that s is an array or list of strings of at most CONF_LIST_MAX.
 * Returns the count, or -1 after recording the errors.
 */
static int
str_list(struct ld *ld, const config_setting_t *s, const char *where, const char *expect)
{
	return str_list_max(ld, s, where, expect, CONF_LIST_MAX);
}

/* str_list() for lists that may be long (allow/deny: thousands of networks). */
static int
str_list_max(struct ld *ld, const config_setting_t *s, const char *where, const char *expect,
    int max)
{
	const config_setting_t *e;
	char got[GOT_MAX];
	int n, i, bad = 0;

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		err_at(ld, s, "%s: expected %s, got %s", where, expect,
		    describe(s, got, sizeof(got)));
		return -1;
	}
	n = config_setting_length(s);
	if (n > max) {
		err_at(ld, s, "%s: expected at most %d entries, got %d", where, max, n);
		return -1;
	}
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			err_at(ld, e, "%s[%d]: expected a string, got %s", where, i,
			    describe(e, got, sizeof(got)));
			bad = 1;
		}
	}
	return bad ? -1 : n;
}

/* --- keys that need code ------------------------------------------------ */

static void
fn_workers(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd, void *base,
    const char *where)
{
	uint32_t *workers = FIELD(base, cmd->off, uint32_t);
	char got[GOT_MAX];
	long ncpu;
	long long v;

	if (s == NULL || (config_setting_type(s) == CONFIG_TYPE_STRING &&
	    strcmp(config_setting_get_string(s), "auto") == 0)) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		*workers = ncpu < 1 ? 1 : ncpu > WORKERS_MAX ? WORKERS_MAX : (uint32_t)ncpu;
		return;
	}
	if (config_setting_type(s) == CONFIG_TYPE_INT ||
	    config_setting_type(s) == CONFIG_TYPE_INT64) {
		v = config_setting_get_int64(s);
		if (v >= 1 && v <= WORKERS_MAX) {
			*workers = (uint32_t)v;
			return;
		}
	}
	err_at(ld, s, "%s: expected %s, got %s", where, cmd->expect, describe(s, got, sizeof(got)));
}

/* Names -> indices into conf.sources, which top_cmds parses first. */
static void
fn_route_sources(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd,
    void *base, const char *where)
{
	struct route_conf *r = base;
	const struct conf *c = ld->c;
	const config_setting_t *e;
	const char *name;
	char q[GOT_MAX];
	uint32_t j, k;
	int n, i;

	if (s == NULL)
		return;
	if ((n = str_list(ld, s, where, cmd->expect)) < 0)
		return;
	if (n == 0) {
		err_at(ld, s, "%s: expected %s, got an empty array", where, cmd->expect);
		return;
	}
	/* Balancers track tried sources in a 64-bit mask (and shm route slots hold 64). */
	if (n > CONF_ROUTE_SOURCES_MAX) {
		err_at(ld, s, "%s: expected at most %d sources per route, got %d", where,
		    CONF_ROUTE_SOURCES_MAX, n);
		return;
	}
	if ((r->sources = calloc((size_t)n, sizeof(*r->sources))) == NULL) {
		err_at(ld, s, "%s: out of memory", where);
		return;
	}
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		name = config_setting_get_string(e);
		for (j = 0; j < c->nsources; j++)
			if (c->sources[j].name[0] != '\0' && strcmp(c->sources[j].name, name) == 0)
				break;
		if (j == c->nsources) {
			/* With no valid sources list, that error says it all. */
			if (c->nsources > 0)
				err_at(ld, e, "%s: unknown source %s", where,
				    quote(name, q, sizeof(q)));
			continue;
		}
		for (k = 0; k < r->nsources; k++)
			if (r->sources[k] == j)
				break;
		if (k < r->nsources) {
			err_at(ld, e, "%s: source %s listed twice", where,
			    quote(name, q, sizeof(q)));
			continue;
		}
		r->sources[r->nsources++] = j;
	}
}

/* A list of CIDRs into the (struct cidr_conf *, uint32_t) pair the command names. */
static void
fn_cidrs(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd, void *base,
    const char *where)
{
	struct cidr_conf **list = FIELD(base, cmd->off, struct cidr_conf *);
	uint32_t *cnt = FIELD(base, cmd->off_n, uint32_t);
	const config_setting_t *e;
	const char *v, *why;
	char q[GOT_MAX];
	int n, i;

	if (s == NULL || (n = str_list_max(ld, s, where, cmd->expect, CIDR_LIST_MAX)) <= 0)
		return;
	if ((*list = calloc((size_t)n, sizeof(**list))) == NULL) {
		err_at(ld, s, "%s: out of memory", where);
		return;
	}
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		v = config_setting_get_string(e);
		if (parse_cidr(v, &(*list)[*cnt], &why) == -1) {
			err_at(ld, e, "%s[%d]: expected an address or CIDR such as \"10.0.0.0/8\" "
			    "or \"::1/128\", got %s (%s)", where, i, quote(v, q, sizeof(q)), why);
			continue;
		}
		(*cnt)++;
	}
}

static void
fn_header_hide(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd, void *base,
    const char *where)
{
	struct rules_conf *rc = base;
	const config_setting_t *e;
	const char *v;
	char q[GOT_MAX];
	int n, i;

	if (s == NULL || (n = str_list(ld, s, where, cmd->expect)) <= 0)
		return;
	if ((rc->hide = calloc((size_t)n, sizeof(*rc->hide))) == NULL) {
		err_at(ld, s, "%s: out of memory", where);
		return;
	}
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		v = config_setting_get_string(e);
		if (strlen(v) >= sizeof(*rc->hide) || !ok_header_name(v)) {
			err_at(ld, e, "%s[%d]: expected %s, got %s", where, i, EXP_HNAME,
			    quote(v, q, sizeof(q)));
			continue;
		}
		memcpy(rc->hide[rc->nhide++], v, strlen(v) + 1);
	}
}

/* A Via received-by pseudonym: a token of letters, digits, '-', '.', '_'. */
static int
ok_via_name(const char *v)
{
	size_t i, n = strlen(v);

	if (n == 0 || n >= CONF_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '-' && v[i] != '.' && v[i] != '_')
			return 0;
	return 1;
}

/* reuse_max: "auto" (the default: the adaptive pool, upool.h) or a fixed number. */
static void
fn_reuse_max(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd, void *base,
    const char *where)
{
	struct route_conf *r = base;
	char got[GOT_MAX];
	long long v;

	r->reuse_max = CONF_REUSE_AUTO;
	if (s == NULL)
		return;
	if (config_setting_type(s) == CONFIG_TYPE_STRING &&
	    strcmp(config_setting_get_string(s), "auto") == 0)
		return;
	if (config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64) {
		v = config_setting_get_int64(s);
		if (v >= 0 && v <= 4096) {
			r->reuse_max = (uint32_t)v;
			return;
		}
	}
	err_at(ld, s, "%s: expected %s, got %s", where, cmd->expect, describe(s, got, sizeof(got)));
}

/*
 * via: true (the default: named after the host), false, or the name to
 * send. The name is also how a forwarding loop is recognised, so two
 * sluice instances in a chain need different names.
 */
static void
fn_via(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd, void *base,
    const char *where)
{
	struct route_conf *r = base;
	char got[GOT_MAX], host[256];

	r->via = true;
	if (s != NULL && config_setting_type(s) == CONFIG_TYPE_BOOL) {
		r->via = config_setting_get_bool(s) != 0;
	} else if (s != NULL && config_setting_type(s) == CONFIG_TYPE_STRING &&
	    ok_via_name(config_setting_get_string(s))) {
		snprintf(r->via_name, sizeof(r->via_name), "%s", config_setting_get_string(s));
		return;
	} else if (s != NULL) {
		err_at(ld, s, "%s: expected %s, got %s", where, cmd->expect,
		    describe(s, got, sizeof(got)));
		return;
	}
	if (gethostname(host, sizeof(host)) == -1 || (host[sizeof(host) - 1] = '\0',
	    !ok_via_name(host)))
		snprintf(host, sizeof(host), "sluice");
	snprintf(r->via_name, sizeof(r->via_name), "%s", host);
}

/* upgrade: the Upgrade tokens this route tunnels; default [ "websocket" ]. */
static void
fn_upgrade(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd, void *base,
    const char *where)
{
	struct route_conf *r = base;
	const config_setting_t *e;
	const char *v;
	char q[GOT_MAX];
	int n, i;

	r->nupgrade = 0;
	if (s == NULL) {
		snprintf(r->upgrade[0], sizeof(r->upgrade[0]), "websocket");
		r->nupgrade = 1;
		return;
	}
	if ((n = str_list(ld, s, where, cmd->expect)) < 0)
		return;
	if (n > CONF_UPGRADE_MAX) {
		err_at(ld, s, "%s: expected %s, got %d entries", where, cmd->expect, n);
		return;
	}
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		v = config_setting_get_string(e);
		if (strlen(v) >= sizeof(r->upgrade[0]) || !ok_header_name(v)) {
			err_at(ld, e, "%s[%d]: expected a protocol name such as \"websocket\", got %s",
			    where, i, quote(v, q, sizeof(q)));
			continue;
		}
		memcpy(r->upgrade[r->nupgrade++], v, strlen(v) + 1);
	}
}

/* ALPN protocols, in wire format; sluice speaks HTTP/1.1 only. */
static void
fn_alpn(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd, void *base,
    const char *where)
{
	uint8_t *wire = FIELD(base, cmd->off, uint8_t);
	uint32_t *len = FIELD(base, cmd->off_n, uint32_t);
	const char *v;
	char q[GOT_MAX];
	int n, i;

	*len = 0;
	if (s == NULL) {
		memcpy(wire, "\x08http/1.1", 9);
		*len = 9;
		return;
	}
	if ((n = str_list(ld, s, where, cmd->expect)) < 0)
		return;
	for (i = 0; i < n; i++) {
		v = config_setting_get_string_elem(s, i);
		if (strcmp(v, "http/1.1") != 0) {
			err_at(ld, config_setting_get_elem(s, (unsigned)i), "%s[%d]: expected "
			    "\"http/1.1\" (the only protocol sluice speaks), got %s", where, i,
			    quote(v, q, sizeof(q)));
			return;
		}
		if (*len + 9 <= 64) {
			memcpy(wire + *len, "\x08http/1.1", 9);
			*len += 9;
		}
	}
}

/*
 * mode: "0660" (octal digits), or an integer whose digits are read as octal
 * (libconfig reads 0660 as decimal 660: both mean rw-rw----); a hex integer
 * is taken as its value. Absent: -1, the socket keeps its creation mode.
 */
static void
fn_mode(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd, void *base,
    const char *where)
{
	int32_t *mode = FIELD(base, cmd->off, int32_t);
	const char *v, *p;
	char got[GOT_MAX];
	long long iv, unit;
	unsigned m = 0;

	*mode = -1;
	if (s == NULL)
		return;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_STRING:
		v = config_setting_get_string(s);
		for (p = v; *p >= '0' && *p <= '7' && m <= 0777; p++)
			m = m * 8 + (unsigned)(*p - '0');
		if (p != v && *p == '\0' && m <= 0777) {
			*mode = (int32_t)m;
			return;
		}
		break;
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		iv = config_setting_get_int64(s);
		if (config_setting_get_format(s) == CONFIG_FORMAT_HEX) {
			if (iv >= 0 && iv <= 0777) {
				*mode = (int32_t)iv;
				return;
			}
			break;
		}
		for (unit = 1; iv > 0 && iv <= 777 && iv % 10 <= 7; iv /= 10, unit *= 8)
			m += (unsigned)(iv % 10 * unit);
		if (iv == 0) {
			*mode = (int32_t)m;
			return;
		}
		break;
	default:
		break;
	}
	err_at(ld, s, "%s: expected %s, got %s", where, cmd->expect, describe(s, got, sizeof(got)));
}

/* --- cross checks ------------------------------------------------------- */

/*
 * The group is present: build the listener's OpenSSL contexts now, so a
 * missing, unreadable or mismatched certificate or key is reported with its
 * line by `sluice -t` and refused by a reload.
 */
static void
check_tls(struct ld *ld, const config_setting_t *s, void *base, const char *where)
{
	struct tls_conf *t = base;
	const config_setting_t *at = s, *e;
	struct tls_err err;
	char w[PATH_MAX_TXT];
	uint32_t i;

	t->enabled = true;
	for (i = 0; i < t->ncerts; i++)
		if (t->certs[i].certificate[0] == '\0' || t->certs[i].key[0] == '\0')
			return;	/* already reported */
	if (t->ncerts == 0 || (t->srv = tls_srv_new(t, &err)) != NULL)
		return;
	snprintf(w, sizeof(w), "%s", where);
	if (err.cert >= 0) {
		e = config_setting_get_elem(config_setting_get_member(s, "certificates"),
		    (unsigned)err.cert);
		at = e != NULL ? e : s;
		if (e != NULL && config_setting_get_member(e,
		    err.field == TLS_EF_KEY ? "key" : "certificate") != NULL)
			at = config_setting_get_member(e, err.field == TLS_EF_KEY ? "key" :
			    "certificate");
		snprintf(w, sizeof(w), "%.200s.certificates[%d].%s", where, err.cert,
		    err.field == TLS_EF_KEY ? "key" : "certificate");
	} else if (err.field == TLS_EF_CIPHERS &&
	    config_setting_get_member(s, "ciphers") != NULL) {
		at = config_setting_get_member(s, "ciphers");
		snprintf(w, sizeof(w), "%.200s.ciphers", where);
	}
	err_at(ld, at, "%s: %s", w, err.msg);
}


/*
 * Resolves owner and group (they exist: ok_user, ok_group), refuses mode,
 * owner and group on a TCP listener, and a second listener on one address.
 */
static void
check_listener(struct ld *ld, const config_setting_t *s, void *base, const char *where)
{
	static const char *const unix_only[] = { "mode", "owner", "group", NULL };
	struct listener_conf *l = base;
	const struct listener_conf *o;
	const config_setting_t *first, *m;
	const struct passwd *pw;
	const struct group *gr;
	const char *const *k;
	char q[GOT_MAX];

	l->uid = (uid_t)-1;
	l->gid = (gid_t)-1;
	if (l->owner[0] != '\0' && (pw = getpwnam(l->owner)) != NULL)
		l->uid = pw->pw_uid;
	if (l->group[0] != '\0' && (gr = getgrnam(l->group)) != NULL)
		l->gid = gr->gr_gid;
	if (l->addr.len == 0)
		return;
	for (k = unix_only; *k != NULL && l->addr.ss.ss_family != AF_UNIX; k++)
		if ((m = config_setting_get_member(s, *k)) != NULL)
			err_at(ld, m, "%s.%s: only for unix: listeners (the address is %s)", where,
			    *k, quote(l->addr.text, q, sizeof(q)));
	for (o = ld->c->listeners; o < l; o++) {
		if (o->addr.len != l->addr.len ||
		    memcmp(&o->addr.ss, &l->addr.ss, l->addr.len) != 0)
			continue;
		first = config_setting_get_member(config_setting_get_elem(config_setting_parent(s),
		    (unsigned)(o - ld->c->listeners)), "address");
		err_at(ld, config_setting_get_member(s, "address"),
		    "%s.address: duplicate address %s (first at line %u)", where,
		    quote(l->addr.text, q, sizeof(q)),
		    first != NULL ? config_setting_source_line(first) : 0);
		return;
	}
}

static void
check_source(struct ld *ld, const config_setting_t *s, void *base, const char *where)
{
	const struct source_conf *src = base, *o;
	const config_setting_t *first;

	if (src->resolve && src->addr.text[0] != '\0') {
		if (strncmp(src->addr.text, "unix:", 5) == 0)
			err_at(ld, config_setting_get_member(s, "resolve"), "%s.resolve: expected "
			    "false for a unix: address (nothing to resolve)", where);
		else if (host_is_literal(src->addr.text))
			warn_at(ld, config_setting_get_member(s, "resolve"), "%s.resolve: %s is an "
			    "IP address; there is no name to re-resolve", where, src->addr.text);
	}
	if (src->name[0] == '\0')
		return;
	for (o = ld->c->sources; o < src; o++) {
		if (strcmp(o->name, src->name) != 0)
			continue;
		first = config_setting_get_member(config_setting_get_elem(config_setting_parent(s),
		    (unsigned)(o - ld->c->sources)), "name");
		err_at(ld, config_setting_get_member(s, "name"),
		    "%s.name: duplicate name \"%s\" (first at line %u)", where, src->name,
		    first != NULL ? config_setting_source_line(first) : 0);
		return;
	}
}

/*
 * The group is present: the client context now (CA bundle, client
 * certificate and key read and checked), so -t and a reload report a bad
 * file with its line. The name to verify and send as SNI: sni, else the host
 * of address.
 */
static void
check_source_tls(struct ld *ld, const config_setting_t *s, void *base, const char *where)
{
	struct source_tls_conf *t = base;
	struct source_conf *src = (struct source_conf *)((char *)base -
	    offsetof(struct source_conf, tls));
	const config_setting_t *at = s;
	struct tls_err err;
	const char *key;

	t->enabled = true;
	if ((t->certificate[0] == '\0') != (t->key[0] == '\0')) {
		key = t->certificate[0] == '\0' ? "certificate" : "key";
		err_at(ld, s, "%s.%s: missing (a client certificate needs both certificate "
		    "and key)", where, key);
		return;
	}
	if (src->addr.text[0] == '\0')
		return;	/* the address was refused: nothing to name */
	if ((t->cli = tls_cli_new(t, src->addr.hostport, &err)) != NULL)
		return;
	key = err.field == TLS_EF_CERT ? "certificate" : err.field == TLS_EF_KEY ? "key" :
	    err.field == TLS_EF_CA ? "ca" : err.field == TLS_EF_SNI ? "sni" : NULL;
	if (key != NULL && config_setting_get_member(s, key) != NULL)
		at = config_setting_get_member(s, key);
	if (key != NULL)
		err_at(ld, at, "%s.%s: %s", where, key, err.msg);
	else
		err_at(ld, at, "%s: %s", where, err.msg);
}

static void
check_health(struct ld *ld, const config_setting_t *s, void *base, const char *where)
{
	struct health_conf *h = base;

	(void)ld, (void)s, (void)where;
	h->enabled = true;
}

static void
check_route(struct ld *ld, const config_setting_t *s, void *base, const char *where)
{
	struct route_conf *r = base;
	const config_setting_t *p, *re, *src = config_setting_get_member(s, "sources");
	char err[REWRITE_ERR_MAX];

	if (r->handler == RH_REDIRECT && config_setting_get_member(s, "redirect") == NULL)
		err_at(ld, s, "%s.redirect: missing, expected a group { to = \"...\"; status = 301; } "
		    "for handler \"redirect\"", where);
	if (r->handler != RH_REDIRECT && config_setting_get_member(s, "redirect") != NULL)
		err_at(ld, config_setting_get_member(s, "redirect"), "%s.redirect: only for "
		    "handler \"redirect\"", where);
	if (r->handler == RH_PROXY && src == NULL)
		err_at(ld, s, "%s.sources: missing, expected a non-empty array of source names "
		    "[ \"app1\", ... ]", where);
	if (r->handler != RH_PROXY && src != NULL)
		err_at(ld, src, "%s.sources: not used by handler \"%s\" (it answers from the "
		    "shared segment); remove it", where, handler_names[r->handler]);
	if ((r->nallow > 0 || r->ndeny > 0) &&
	    (r->acl = acl_build(r->allow, r->nallow, r->deny, r->ndeny)) == NULL)
		err_at(ld, s, "%s: out of memory for allow/deny", where);

	p = config_setting_get_member(s, "path");
	re = config_setting_get_member(s, "path_regex");
	if (re == NULL)
		return;
	/* A regex route has no prefix: clear the "/" default. */
	r->path[0] = '\0';
	if (p != NULL)
		err_at(ld, re, "%s.path_regex: cannot be combined with path (line %u): "
		    "a route matches a prefix or a regex", where, config_setting_source_line(p));
	/* Empty: the value was refused already. */
	if (r->path_regex[0] != '\0' &&
	    (r->path_re = rewrite_compile(r->path_regex, NULL, err, sizeof(err), NULL)) == NULL)
		err_at(ld, re, "%s.path_regex: %s", where, err);
}

/* Compiles a rewrite rule once its regex and replace are parsed. */
static void
check_rewrite(struct ld *ld, const config_setting_t *s, void *base, const char *where)
{
	struct rewrite_conf *rc = base;
	enum rewrite_part bad;
	char err[REWRITE_ERR_MAX];

	/* A missing or refused regex was reported already. */
	if (rc->regex[0] == '\0')
		return;
	if ((rc->rw = rewrite_compile(rc->regex, rc->replace, err, sizeof(err), &bad)) != NULL)
		return;
	if (bad == REWRITE_PART_REPLACE)
		err_at(ld, config_setting_get_member(s, "replace"), "%s.replace: %s", where, err);
	else
		err_at(ld, config_setting_get_member(s, "regex"), "%s.regex: %s", where, err);
}

/* --- whole-file checks ------------------------------------------------- */

/*
 * sluice -t: the files start-up opens for writing (the logs, the pid file)
 * can be opened, so that -t fails where the start would. A key whose value
 * was refused is left to that error; an absent key is checked at its default.
 */
static void
check_files(struct ld *ld, const config_t *cfg)
{
	static const struct { const char *key, *off; size_t at; } files[] = {
		{ "log.error", "stderr", offsetof(struct conf, log.error) },
		{ "log.access", "off", offsetof(struct conf, log.access) },
		{ "pid_file", NULL, offsetof(struct conf, pid_file) },
	};
	const config_setting_t *s;
	const char *v;
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		v = (const char *)ld->c + files[i].at;
		s = config_lookup(cfg, files[i].key);
		if (s != NULL && (config_setting_type(s) != CONFIG_TYPE_STRING ||
		    strcmp(config_setting_get_string(s), v) != 0))
			continue;
		if (files[i].off == NULL || strcmp(v, files[i].off) != 0)
			check_file(ld, s, files[i].key, v);
	}
}

static void
check_file(struct ld *ld, const config_setting_t *s, const char *where, const char *path)
{
	char why[2 * CONF_STR_MAX + 128];

	if (conf_check_writable(path, why, sizeof(why)) == -1)
		err_at(ld, s, "%s: %s", where, why);
}

int
conf_check_writable(const char *path, char *why, size_t size)
{
	/* Paths are quoted whole: the operator needs all of it. */
	char buf[CONF_STR_MAX], q[CONF_STR_MAX + 16], qd[CONF_STR_MAX + 16];
	const char *dir;
	struct stat st;
	int fd;

	/* Without O_CREAT nothing is made; O_NONBLOCK: a FIFO must not hang us. */
	fd = open(path, O_WRONLY | O_APPEND | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd != -1) {
		close(fd);
		return 0;
	}
	if (errno != ENOENT) {
		snprintf(why, size, "cannot open %s for appending: %s", quote(path, q, sizeof(q)),
		    strerror(errno));
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", path);
	dir = dirname(buf);
	if (stat(dir, &st) == -1) {
		snprintf(why, size, "cannot create %s: directory %s: %s", quote(path, q, sizeof(q)),
		    quote(dir, qd, sizeof(qd)), strerror(errno));
		return -1;
	}
	if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) == -1) {
		snprintf(why, size, "cannot create %s: directory %s is not writable (%s)",
		    quote(path, q, sizeof(q)), quote(dir, qd, sizeof(qd)), strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Warns of a prefix route that can never match: an earlier prefix route whose
 * host pattern covers this one's and whose path is a prefix of this one's
 * takes every request it would (route_match(): first match in file order).
 * Regex routes are left out on both sides: what a regex matches cannot be
 * compared.
 */
static void
check_shadows(struct ld *ld, const config_t *cfg)
{
	const config_setting_t *list = config_lookup(cfg, "routes"), *e, *f;
	const struct route_conf *a, *b;
	const char *ffile, *efile;
	char qh[GOT_MAX], qp[GOT_MAX], at[CONF_STR_MAX + 16];
	uint32_t i, j;

	for (j = 1; list != NULL && j < ld->c->nroutes; j++) {
		b = &ld->c->routes[j];
		if (b->path_regex[0] != '\0')
			continue;
		for (i = 0; i < j; i++) {
			a = &ld->c->routes[i];
			if (a->path_regex[0] != '\0' || !host_covers(a->host, b->host) ||
			    strncmp(a->path, b->path, strlen(a->path)) != 0)
				continue;
			e = config_setting_get_elem(list, j);
			f = config_setting_get_elem(list, i);
			efile = config_setting_source_file(e) != NULL ?
			    config_setting_source_file(e) : ld->path;
			ffile = config_setting_source_file(f) != NULL ?
			    config_setting_source_file(f) : ld->path;
			snprintf(at, sizeof(at), "%s%s%u", strcmp(efile, ffile) == 0 ? "line " :
			    ffile, strcmp(efile, ffile) == 0 ? "" : ":",
			    config_setting_source_line(f));
			warn_at(ld, e, "routes[%u]: can never match: routes[%u] (%s) comes first "
			    "and takes all its requests (host %s, path prefix %s)", j, i, at,
			    quote(a->host, qh, sizeof(qh)), quote(a->path, qp, sizeof(qp)));
			break;
		}
	}
}

/*
 * Does every host that pattern late matches also match pattern early? As
 * route_match() compares: case-insensitive, without port or trailing dot;
 * "*.s" is one or more labels before s.
 */
static bool
host_covers(const char *early, const char *late)
{
	size_t el, ll;

	if (strcmp(early, "*") == 0)
		return true;
	if (strcmp(late, "*") == 0)
		return false;
	if (early[0] == '*') {
		early += 2;
		el = host_key(early, strlen(early));
		if (late[0] == '*') {
			/* "*.t" hosts are x.t: under "*.s" if t is s or ends in ".s". */
			late += 2;
			ll = host_key(late, strlen(late));
			return (ll == el || (ll > el && late[ll - el - 1] == '.')) &&
			    strncasecmp(late + ll - el, early, el) == 0;
		}
		ll = host_key(late, strlen(late));
		return ll > el + 1 && late[ll - el - 1] == '.' &&
		    strncasecmp(late + ll - el, early, el) == 0;
	}
	if (late[0] == '*')
		return false;
	el = host_key(early, strlen(early));
	ll = host_key(late, strlen(late));
	return el == ll && strncasecmp(early, late, el) == 0;
}

/* Length of host pattern p without its port and one trailing dot (route.c host_span()). */
static size_t
host_key(const char *p, size_t len)
{
	const char *e;

	if (len > 0 && p[0] == '[') {
		if ((e = memchr(p, ']', len)) != NULL)
			len = (size_t)(e - p + 1);
	} else if (len > 0 && (e = memchr(p, ':', len)) != NULL) {
		len = (size_t)(e - p);
	}
	if (len > 0 && p[len - 1] == '.')
		len--;
	return len;
}

/* --- values ------------------------------------------------------------- */

/* "unix:/path" into a; 0, or -1 with a static reason in *why. */
static int
parse_unix(const char *text, struct addr_conf *a, const char **why)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)(void *)&a->ss;
	const char *p = text + 5;

	if (p[0] != '/') {
		*why = "the socket path must be absolute";
		return -1;
	}
	if (strlen(p) >= sizeof(sun->sun_path)) {
		*why = "the socket path is too long";
		return -1;
	}
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, p, strlen(p) + 1);
	a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(p) + 1);
	memcpy(a->text, text, strlen(text) + 1);
	snprintf(a->hostport, sizeof(a->hostport), "localhost");
	return 0;
}

static int
parse_addr(const char *text, struct addr_conf *a, const char **why, bool *unresolved)
{
	struct addrinfo hints, *res;
	char host[CONF_STR_MAX];
	const char *h, *he, *port, *p;
	unsigned long pn;
	size_t len = strlen(text);
	int rc;

	memset(a, 0, sizeof(*a));
	*unresolved = false;
	if (len >= sizeof(a->text)) {
		*why = "too long";
		return -1;
	}
	if (strncmp(text, "unix:", 5) == 0)
		return parse_unix(text, a, why);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (text[0] == '[') {
		h = text + 1;
		if ((he = strchr(h, ']')) == NULL) {
			*why = "missing \"]\"";
			return -1;
		}
		if (he[1] != ':') {
			*why = "missing port";
			return -1;
		}
		port = he + 2;
		hints.ai_family = AF_INET6;
		hints.ai_flags = AI_NUMERICHOST;
	} else {
		h = text;
		if ((he = strrchr(text, ':')) == NULL) {
			*why = "missing port";
			return -1;
		}
		if (memchr(text, ':', (size_t)(he - text)) != NULL) {
			*why = "an IPv6 address needs brackets, as in \"[::1]:80\"";
			return -1;
		}
		port = he + 1;
		hints.ai_family = AF_UNSPEC;
	}
	if (he == h) {
		*why = "missing host";
		return -1;
	}
	for (p = port, pn = 0; *p >= '0' && *p <= '9' && pn <= 65535; p++)
		pn = pn * 10 + (unsigned long)(*p - '0');
	if (p == port || *p != '\0' || pn < 1 || pn > 65535) {
		*why = "the port must be an integer 1..65535";
		return -1;
	}
	a->port = htons((uint16_t)pn);
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = '\0';
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		if (hints.ai_flags & AI_NUMERICHOST) {
			*why = "not an IPv6 address";
		} else {
			*why = gai_strerror(rc);
			*unresolved = true;
		}
		return -1;
	}
	if (res->ai_addrlen > sizeof(a->ss)) {
		freeaddrinfo(res);
		*why = "unexpected address size";
		return -1;
	}
	memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
	a->len = (socklen_t)res->ai_addrlen;
	freeaddrinfo(res);
	if (a->ss.ss_family == AF_INET)
		((struct sockaddr_in *)(void *)&a->ss)->sin_port = a->port;
	else if (a->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)(void *)&a->ss)->sin6_port = a->port;
	else {
		memset(a, 0, sizeof(*a));
		*why = "not an IPv4 or IPv6 address";
		return -1;
	}
	memcpy(a->text, text, len + 1);
	memcpy(a->hostport, text, len + 1);
	return 0;
}

/* "10.0.0.0/8", "::1/128" or a bare address (/32, /128); host bits are cleared. */
static int
parse_cidr(const char *text, struct cidr_conf *cidr, const char **why)
{
	char buf[INET6_ADDRSTRLEN + 1];
	const char *slash, *p;
	unsigned max, prefix, i, bits;
	size_t alen;

	memset(cidr, 0, sizeof(*cidr));
	slash = strchr(text, '/');
	alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
	if (alen == 0 || alen >= sizeof(buf)) {
		*why = "not an address";
		return -1;
	}
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, cidr->addr) == 1) {
		cidr->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, cidr->addr) == 1) {
		cidr->family = AF_INET6;
		max = 128;
	} else {
		*why = "not an IPv4 or IPv6 address";
		return -1;
	}
	prefix = max;
	if (slash != NULL) {
		for (p = slash + 1, prefix = 0; *p >= '0' && *p <= '9' && prefix <= max; p++)
			prefix = prefix * 10 + (unsigned)(*p - '0');
		if (p == slash + 1 || *p != '\0' || prefix > max) {
			*why = max == 32 ? "the prefix must be 0..32" : "the prefix must be 0..128";
			return -1;
		}
	}
	cidr->prefix = (uint8_t)prefix;
	for (i = 0; i < 16; i++) {
		bits = prefix > i * 8 ? prefix - i * 8 : 0;
		if (bits < 8)
			cidr->addr[i] &= (uint8_t)(0xff00u >> bits);
	}
	return 0;
}

static bool
is_alnum(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* RFC 9110 tchar. */
static bool
is_tchar(int ch)
{
	return is_alnum(ch) || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* The workers switch to this user after fork: it must exist now. */
static bool
ok_user(const char *v)
{
	return getpwnam(v) != NULL;
}

static bool
ok_group(const char *v)
{
	return getgrnam(v) != NULL;
}

static bool
ok_any(const char *v)
{
	(void)v;
	return true;
}

static bool
ok_abs_path(const char *v)
{
	if (v[0] != '/')
		return false;
	for (; *v != '\0'; v++)
		if ((unsigned char)*v <= ' ' || *v == 0x7f)
			return false;
	return true;
}

static bool
ok_source_name(const char *v)
{
	for (; *v != '\0'; v++)
		if (!is_alnum(*v) && *v != '_' && *v != '.' && *v != '-')
			return false;
	return true;
}

/* "*", "*.example.com", "example.com", "10.0.0.1", "[::1]", optionally ":port". */
static bool
ok_host(const char *v)
{
	if (strcmp(v, "*") == 0)
		return true;
	if (v[0] == '*') {
		if (v[1] != '.')
			return false;
		v += 2;
	}
	if (*v == '\0')
		return false;
	for (; *v != '\0'; v++)
		if (!is_alnum(*v) && strchr("-._:[]", *v) == NULL)
			return false;
	return true;
}

static bool
ok_header_name(const char *v)
{
	const char *p;

	for (p = v; *p != '\0'; p++)
		if (!is_tchar(*p))
			return false;
	return p != v && !header_reserved(v);
}

static bool
ok_header_name_or_none(const char *v)
{
	return v[0] == '\0' || ok_header_name(v);
}

/* error_pages[].status: one status or an array of them, each 400..599. */
static void
fn_statuses(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd, void *base,
    const char *where)
{
	struct error_page_conf *p = base;
	const config_setting_t *e;
	char got[GOT_MAX];
	long long v;
	int n, i, one;

	if (s == NULL)
		return;
	one = config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64;
	if (!one && config_setting_type(s) != CONFIG_TYPE_ARRAY) {
		err_at(ld, s, "%s: expected %s, got %s", where, cmd->expect,
		    describe(s, got, sizeof(got)));
		return;
	}
	n = one ? 1 : config_setting_length(s);
	if (n < 1 || n > (int)(sizeof(p->status) / sizeof(p->status[0]))) {
		err_at(ld, s, "%s: expected 1 to 32 statuses, got %d", where, n);
		return;
	}
	for (i = 0; i < n; i++) {
		e = one ? s : config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_INT &&
		    config_setting_type(e) != CONFIG_TYPE_INT64) {
			err_at(ld, e, "%s: expected %s, got %s", where, cmd->expect,
			    describe(e, got, sizeof(got)));
			return;
		}
		v = config_setting_get_int64(e);
		if (v < 400 || v > 599) {
			err_at(ld, e, "%s: expected %s, got %lld", where, cmd->expect, v);
			return;
		}
		p->status[p->nstatus++] = (uint32_t)v;
	}
}

/*
 * The page file is read now (so -t and a reload report a missing one with
 * its line), kept in memory, its "$request_id" places noted, its
 * Content-Type taken from the extension.
 */
static void
check_error_page(struct ld *ld, const config_setting_t *s, void *base, const char *where)
{
	struct error_page_conf *p = base;
	const config_setting_t *f = config_setting_get_member(s, "file");
	const char *ext = strrchr(p->file, '.'), *hit;
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd;

	if (p->file[0] == '\0')
		return;	/* missing: reported */
	snprintf(p->ctype, sizeof(p->ctype), "%s",
	    ext == NULL ? "text/html" :
	    strcmp(ext, ".json") == 0 ? "application/json" :
	    strcmp(ext, ".txt") == 0 ? "text/plain; charset=utf-8" :
	    strcmp(ext, ".xml") == 0 ? "application/xml" : "text/html");
	fd = open(p->file, O_RDONLY | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > ERROR_PAGE_MAX) {
		err_at(ld, f != NULL ? f : s, "%s.file: %s: %s", where, p->file,
		    fd == -1 ? strerror(errno) : !S_ISREG(st.st_mode) ? "not a regular file" :
		    "larger than 1 MiB");
		if (fd != -1)
			close(fd);
		return;
	}
	if ((p->data = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		err_at(ld, s, "%s: out of memory", where);
		return;
	}
	while (got < (size_t)st.st_size && (n = read(fd, p->data + got,
	    (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	p->data[got] = '\0';
	p->len = (uint32_t)got;
	for (hit = p->data; p->nrid < ERROR_PAGE_RIDS &&
	    (hit = memmem(hit, (size_t)(p->data + p->len - hit), "$request_id", 11)) != NULL;
	    hit += 11)
		p->rid_at[p->nrid++] = (uint32_t)(hit - p->data);
}

/*
 * resolver.nameservers: "ip:port", "ip" (port 53), "[ipv6]:port" or "[ipv6]"
 * (a bare IPv6 address is taken too), stored as c-ares's
 * ares_set_servers_ports_csv() reads them: "ip:port", "[ipv6]:port".
 * Absent: none stored, c-ares reads /etc/resolv.conf.
 */
static void
fn_nameservers(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd, void *base,
    const char *where)
{
	char (*ns)[CONF_NS_LEN] = (char (*)[CONF_NS_LEN])(void *)((char *)base + cmd->off);
	uint32_t *n = FIELD(base, cmd->off_n, uint32_t);
	unsigned char bin[sizeof(struct in6_addr)];
	char host[INET6_ADDRSTRLEN + 1], q[GOT_MAX];
	const char *v, *h, *he, *port;
	unsigned long pn;
	int cnt, i, v6;
	size_t hl;

	*n = 0;
	if (s == NULL)
		return;
	if ((cnt = str_list_max(ld, s, where, cmd->expect, CONF_NS_MAX)) < 0)
		return;
	for (i = 0; i < cnt; i++) {
		v = config_setting_get_string_elem(s, i);
		port = NULL;
		if (v[0] == '[') {
			h = v + 1;
			he = strchr(h, ']');
			if (he != NULL && he[1] == ':')
				port = he + 2;
			else if (he != NULL && he[1] != '\0')
				he = NULL;
			v6 = 1;
		} else if ((he = strchr(v, ':')) != NULL && strchr(he + 1, ':') != NULL) {
			h = v;		/* bare IPv6 */
			he = v + strlen(v);
			v6 = 1;
		} else {
			h = v;
			if (he != NULL)
				port = he + 1;
			else
				he = v + strlen(v);
			v6 = 0;
		}
		pn = 53;
		if (he != NULL && port != NULL) {
			char *end;

			errno = 0;
			pn = *port >= '0' && *port <= '9' ? strtoul(port, &end, 10) : 0;
			if (errno != 0 || *end != '\0')
				pn = 0;
		}
		hl = he != NULL ? (size_t)(he - h) : 0;
		if (he == NULL || hl == 0 || hl >= sizeof(host) || pn < 1 || pn > 65535)
			goto bad;
		memcpy(host, h, hl);
		host[hl] = '\0';
		if (inet_pton(v6 ? AF_INET6 : AF_INET, host, bin) != 1)
			goto bad;
		snprintf(ns[*n], CONF_NS_LEN, v6 ? "[%s]:%lu" : "%s:%lu", host, pn);
		(*n)++;
		continue;
bad:
		err_at(ld, config_setting_get_elem(s, (unsigned)i), "%s[%d]: expected a nameserver "
		    "address \"ip:port\", \"ip\" (port 53) or \"[ipv6]:port\", got %s", where, i,
		    quote(v, q, sizeof(q)));
	}
}

/* An address key whose group says resolve = true: a name that does not
 * resolve at load is left to the resolver process. */
static bool
resolve_later(const config_setting_t *s)
{
	const config_setting_t *r;

	if (config_setting_name(s) == NULL || strcmp(config_setting_name(s), "address") != 0 ||
	    config_setting_parent(s) == NULL)
		return false;
	r = config_setting_get_member(config_setting_parent(s), "resolve");
	return r != NULL && config_setting_type(r) == CONFIG_TYPE_BOOL &&
	    config_setting_get_bool(r);
}

/* "1.2.3.4:80" or "[::1]:80": an address given as numbers, nothing to resolve. */
static bool
host_is_literal(const char *text)
{
	unsigned char bin[sizeof(struct in6_addr)];
	char host[INET6_ADDRSTRLEN + 1];
	const char *he;
	size_t hl;

	if (text[0] == '[')
		return true;	/* brackets are for IPv6 addresses only */
	if ((he = strrchr(text, ':')) == NULL || (hl = (size_t)(he - text)) >= sizeof(host))
		return false;
	memcpy(host, text, hl);
	host[hl] = '\0';
	return inet_pton(AF_INET, host, bin) == 1;
}

/* rate_limit.key: only "client" so far (the address the route's allow/deny judges). */
static void
fn_rl_key(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd, void *base,
    const char *where)
{
	char got[GOT_MAX];

	(void)base;
	if (s != NULL && (config_setting_type(s) != CONFIG_TYPE_STRING ||
	    strcmp(config_setting_get_string(s), "client") != 0))
		err_at(ld, s, "%s: expected %s, got %s", where, cmd->expect,
		    describe(s, got, sizeof(got)));
}

static void
check_rate_limit(struct ld *ld, const config_setting_t *s, void *base, const char *where)
{
	struct rate_limit_conf *r = base;

	if (config_setting_get_member(s, "rate") == NULL)
		err_at(ld, s, "%s.rate: missing, expected requests per second > 0 (10, 0.5)",
		    where);
	(void)r;
}

static void
fn_rl_rate(struct ld *ld, const config_setting_t *s, const struct cf_cmd *cmd, void *base,
    const char *where)
{
	struct rate_limit_conf *r = base;
	char got[GOT_MAX];
	double v;

	r->rate = 0;
	if (s == NULL)
		return;
	if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		v = config_setting_get_float(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT ||
	    config_setting_type(s) == CONFIG_TYPE_INT64)
		v = (double)config_setting_get_int64(s);
	else
		v = -1;
	if (!(v > 0 && v <= 1e6)) {
		err_at(ld, s, "%s: expected %s, got %s", where, cmd->expect,
		    describe(s, got, sizeof(got)));
		return;
	}
	r->rate = v;
}

static void
free_error_pages(struct error_page_conf *p, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n && p != NULL; i++)
		free(p[i].data);
	free(p);
}

/* "123", "16k", "10m", "1g" (k = 1024, case-insensitive) -> bytes; -1 if not a size. */
static int
parse_size(const char *v, long long *out)
{
	char *end;
	long long n;
	int shift = 0;

	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || n < 0)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end != '\0' || n > (LLONG_MAX >> shift))
		return -1;
	*out = n << shift;
	return 0;
}

/* A Location value: visible ASCII, and only the variables sluice knows. */
static bool
ok_redirect_to(const char *v)
{
	static const char *const vars[] = { "scheme", "host", "request_uri", "uri" };
	size_t i, n;

	while (*v != '\0') {
		if ((unsigned char)*v <= ' ' || (unsigned char)*v >= 0x7f)
			return false;
		if (*v != '$') {
			v++;
			continue;
		}
		if (v[1] == '$') {
			v += 2;
			continue;
		}
		/* $name: the whole run of letters, digits and "_" is the name. */
		for (n = 0; v[1 + n] == '_' || (v[1 + n] >= 'a' && v[1 + n] <= 'z') ||
		    (v[1 + n] >= 'A' && v[1 + n] <= 'Z') || (v[1 + n] >= '0' && v[1 + n] <= '9'); n++)
			;
		for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
			if (strlen(vars[i]) == n && strncmp(v + 1, vars[i], n) == 0)
				break;
		if (i == sizeof(vars) / sizeof(vars[0]))
			return false;
		v += 1 + n;
	}
	return true;
}

static void
check_redirect(struct ld *ld, const config_setting_t *s, void *base, const char *where)
{
	struct redirect_conf *r = base;
	const config_setting_t *st = config_setting_get_member(s, "status");

	if (r->status != 301 && r->status != 302 && r->status != 303 && r->status != 307 &&
	    r->status != 308)
		err_at(ld, st != NULL ? st : s, "%s.status: expected 301, 302, 303, 307 or 308, "
		    "got %u", where, r->status);
}

static bool
ok_header_value(const char *v)
{
	for (; *v != '\0'; v++)
		if (((unsigned char)*v < ' ' && *v != '\t') || *v == 0x7f)
			return false;
	return true;
}

static bool
header_reserved(const char *name)
{
	const char *const *r;

	for (r = reserved_headers; *r != NULL; r++)
		if (strcasecmp(*r, name) == 0)
			return true;
	return false;
}

const char *
conf_lib_version(void)
{
	static char v[32];

	snprintf(v, sizeof(v), "libconfig %d.%d.%d", LIBCONFIG_VER_MAJOR, LIBCONFIG_VER_MINOR,
	    LIBCONFIG_VER_REVISION);
	return v;
}
