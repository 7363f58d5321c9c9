/*
 * conf_load: values and defaults of valid files, and for each class of bad
 * file the message and the line it names. Fixtures: tests/unit/common/conf/.
 * Run from the repository root.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <sys/stat.h>

#include <ftw.h>
#include <glob.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/conf_load.h"
#include "common/rewrite.h"

#define FIXTURES	"tests/unit/common/conf/"

static struct conf_errs errs;

static struct conf	*load(const char *name);
static struct conf	*load_ok(const char *name);
static void		 load_bad(const char *name);
static void		 expect_err(int line, const char *msg);
static bool		 has_err(int line, const char *msg);
static char		*print_errs(void);
static uint32_t		 cpus(void);
static const char	*tmp_dir(void);
static const char	*put(const char *name, const char *text);
static void		 rm_tmp(void);
static bool		 has_in(const struct conf_errs *e, int line, const char *msg);

/* Loads a fixture; errs holds what the loader reported. */
static struct conf *
load(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), FIXTURES "%s", name);
	return conf_load(path, &errs);
}

static struct conf *
load_ok(const char *name)
{
	struct conf *c = load(name);

	if (c == NULL)
		conf_errs_print(&errs, stderr);
	cr_assert_not_null(c, "%s did not load", name);
	cr_assert_eq(errs.n, 0);
	cr_assert_eq(errs.total, 0);
	return c;
}

static void
load_bad(const char *name)
{
	struct conf *c = load(name);

	cr_assert_null(c, "%s loaded, expected errors", name);
	cr_assert_gt(errs.n, 0);
	cr_assert_geq(errs.total, errs.n);
}

/* True if an error at line has msg as its message (or a prefix of it, if msg ends with '*'). */
static bool
has_err(int line, const char *msg)
{
	size_t len = strlen(msg);
	unsigned i;

	for (i = 0; i < errs.n; i++) {
		if (errs.err[i].line != line)
			continue;
		if (len > 0 && msg[len - 1] == '*') {
			if (strncmp(errs.err[i].msg, msg, len - 1) == 0)
				return true;
		} else if (strcmp(errs.err[i].msg, msg) == 0) {
			return true;
		}
	}
	return false;
}

static void
expect_err(int line, const char *msg)
{
	bool ok = has_err(line, msg);
	char *all;

	if (!ok) {
		all = print_errs();
		cr_log_error("errors reported:\n%s", all);
		free(all);
	}
	cr_assert(ok, "no error \"%s\" at line %d", msg, line);
}

static char *
print_errs(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	conf_errs_print(&errs, f);
	fclose(f);
	return buf;
}

static uint32_t
cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 256 ? 256 : (uint32_t)n;
}

/* --- valid files ---------------------------------------------------------- */

Test(conf_load, full_config_values)
{
	struct conf *c = load_ok("full.conf");
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	const struct sockaddr_un *sun;
	const struct route_conf *r;

	cr_assert_str_eq(c->file, FIXTURES "full.conf");
	cr_assert_eq(c->workers, 4);
	cr_assert_str_eq(c->pid_file, "/tmp/sluice-test.pid");
	cr_assert_str_eq(c->shm, "/sluice");
	cr_assert_str_eq(c->user, "");
	cr_assert_str_eq(c->log.error, "/tmp/sluice-test.log");
	cr_assert_eq(c->log.level, LOG_L_DEBUG);
	cr_assert_str_eq(c->log.access, "off");

	cr_assert_eq(c->limits.max_connections, 500);
	cr_assert_eq(c->limits.max_request_line, 4096);
	cr_assert_eq(c->limits.max_header_size, 32768);
	cr_assert_eq(c->limits.max_headers, 50);

	cr_assert_float_eq(c->timeouts.client_header, 5, 1e-9);
	cr_assert_float_eq(c->timeouts.client_keepalive, 30.5, 1e-9);
	cr_assert_float_eq(c->timeouts.backend_connect, 0.25, 1e-9);
	cr_assert_float_eq(c->timeouts.backend_response, 120, 1e-9);
	cr_assert_float_eq(c->timeouts.backend_idle, 15, 1e-9);
	cr_assert_float_eq(c->timeouts.graceful, 10, 1e-9);
	cr_assert(!c->health.enabled);

	cr_assert_eq(c->nlisteners, 3);
	cr_assert_str_eq(c->listeners[0].addr.text, "127.0.0.1:8080");
	cr_assert_eq(c->listeners[0].addr.ss.ss_family, AF_INET);
	cr_assert(!c->listeners[0].proxy_protocol);
	cr_assert_eq(c->listeners[0].line, 11);
	cr_assert_eq(c->listeners[1].addr.ss.ss_family, AF_INET6);
	cr_assert_eq(c->listeners[1].line, 12);
	cr_assert_eq(c->listeners[2].addr.ss.ss_family, AF_UNIX);
	sun = (const struct sockaddr_un *)&c->listeners[2].addr.ss;
	cr_assert_str_eq(sun->sun_path, "/tmp/sluice-test.sock");
	cr_assert_eq(c->listeners[2].line, 13);

	cr_assert_eq(c->nsources, 3);
	cr_assert_str_eq(c->sources[0].name, "app1");
	sin = (const struct sockaddr_in *)&c->sources[0].addr.ss;
	cr_assert_eq(sin->sin_family, AF_INET);
	cr_assert_eq(ntohs(sin->sin_port), 9001);
	cr_assert_eq(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
	cr_assert_str_eq(c->sources[0].addr.hostport, "127.0.0.1:9001");
	cr_assert_eq(c->sources[0].weight, 3);
	cr_assert_eq(c->sources[0].max_fails, 5);
	cr_assert_float_eq(c->sources[0].fail_timeout, 2.5, 1e-9);
	cr_assert(!c->sources[0].backup);
	cr_assert_eq(c->sources[0].line, 16);
	cr_assert_str_eq(c->sources[1].name, "app.2-b_c");
	sin6 = (const struct sockaddr_in6 *)&c->sources[1].addr.ss;
	cr_assert_eq(sin6->sin6_family, AF_INET6);
	cr_assert_eq(ntohs(sin6->sin6_port), 9002);
	cr_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	cr_assert_str_eq(c->sources[1].addr.hostport, "[::1]:9002");
	cr_assert_eq(c->sources[1].weight, 1);
	cr_assert_eq(c->sources[1].max_fails, 1);
	cr_assert_float_eq(c->sources[1].fail_timeout, 10, 1e-9);
	cr_assert_eq(c->sources[1].line, 18);
	cr_assert_str_eq(c->sources[2].name, "spare");
	cr_assert_str_eq(c->sources[2].addr.hostport, "localhost:9003");
	cr_assert(c->sources[2].backup);
	cr_assert_eq(c->sources[2].max_fails, 0);

	cr_assert_eq(c->nroutes, 2);
	r = &c->routes[0];
	cr_assert_eq(r->line, 22);
	cr_assert_str_eq(r->host, "*.example.com");
	cr_assert_str_eq(r->path, "/api/");
	cr_assert_str_eq(r->path_regex, "");
	cr_assert_eq(r->nsources, 3);
	cr_assert_eq(r->sources[0], 2);		/* listed order, as indices */
	cr_assert_eq(r->sources[1], 0);
	cr_assert_eq(r->sources[2], 1);
	cr_assert_eq(r->balancer, LB_ROUND_ROBIN);
	cr_assert_eq(r->reuse_max, 0);
	cr_assert_eq(r->reuse_requests, 5);
	cr_assert_eq(r->retries, 3);
	cr_assert(!r->preserve_host);
	cr_assert(!r->x_forwarded_for);

	cr_assert_eq(r->request.nrewrite, 0);
	cr_assert_eq(r->request.nadd, 2);
	cr_assert_str_eq(r->request.add[0].name, "X-Added");
	cr_assert_str_eq(r->request.add[0].value, "yes");
	cr_assert_eq(r->request.add[0].line, 34);
	cr_assert_str_eq(r->request.add[1].name, "X-Empty");
	cr_assert_str_eq(r->request.add[1].value, "");
	cr_assert_eq(r->request.add[1].line, 35);
	cr_assert_eq(r->request.nhide, 1);
	cr_assert_str_eq(r->request.hide[0], "X-Internal");
	cr_assert_eq(r->response.nrewrite, 0);
	cr_assert_eq(r->response.nadd, 1);
	cr_assert_str_eq(r->response.add[0].name, "X-Served-By");
	cr_assert_str_eq(r->response.add[0].value, "sluice");
	cr_assert_eq(r->response.nhide, 2);
	cr_assert_str_eq(r->response.hide[0], "X-Secret");
	cr_assert_str_eq(r->response.hide[1], "X-Powered-By");

	r = &c->routes[1];
	cr_assert_eq(r->line, 43);
	cr_assert_eq(r->nsources, 1);
	cr_assert_eq(r->sources[0], 0);
	conf_free(c);
}

Test(conf_load, trusted_proxies_are_masked_cidrs)
{
	struct conf *c = load_ok("full.conf");
	const struct route_conf *r = &c->routes[0];
	static const uint8_t v6_loop[16] = { [15] = 1 };
	static const uint8_t v6_net[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x80 };

	cr_assert_eq(r->ntrusted, 4);
	cr_assert_eq(r->trusted[0].family, AF_INET);		/* "10.1.2.3/8" */
	cr_assert_eq(r->trusted[0].prefix, 8);
	cr_assert_arr_eq(r->trusted[0].addr, ((uint8_t[4]){ 10, 0, 0, 0 }), 4);
	cr_assert_eq(r->trusted[1].family, AF_INET6);		/* "::1" */
	cr_assert_eq(r->trusted[1].prefix, 128);
	cr_assert_arr_eq(r->trusted[1].addr, v6_loop, 16);
	cr_assert_eq(r->trusted[2].family, AF_INET);		/* "192.168.1.1" */
	cr_assert_eq(r->trusted[2].prefix, 32);
	cr_assert_arr_eq(r->trusted[2].addr, ((uint8_t[4]){ 192, 168, 1, 1 }), 4);
	cr_assert_eq(r->trusted[3].family, AF_INET6);		/* "2001:db8:ffff::/33" */
	cr_assert_eq(r->trusted[3].prefix, 33);
	cr_assert_arr_eq(r->trusted[3].addr, v6_net, 16);
	conf_free(c);
}

Test(conf_load, absent_keys_take_defaults)
{
	struct conf *c = load_ok("minimal.conf");
	const struct route_conf *r;

	cr_assert_eq(c->workers, cpus());	/* absent = "auto" */
	cr_assert_str_eq(c->pid_file, "/tmp/sluice.pid");
	cr_assert_str_eq(c->shm, "/sluice");
	cr_assert_str_eq(c->user, "");
	cr_assert_str_eq(c->log.error, "stderr");
	cr_assert_eq(c->log.level, LOG_L_INFO);
	cr_assert_str_eq(c->log.access, "off");
	cr_assert_eq(c->limits.max_connections, 10000);
	cr_assert_eq(c->limits.max_request_line, 8192);
	cr_assert_eq(c->limits.max_header_size, 16384);
	cr_assert_eq(c->limits.max_headers, 100);
	cr_assert_float_eq(c->timeouts.client_header, 10, 1e-9);
	cr_assert_float_eq(c->timeouts.client_keepalive, 60, 1e-9);
	cr_assert_float_eq(c->timeouts.backend_connect, 3, 1e-9);
	cr_assert_float_eq(c->timeouts.backend_response, 60, 1e-9);
	cr_assert_float_eq(c->timeouts.backend_idle, 30, 1e-9);
	cr_assert_float_eq(c->timeouts.graceful, 30, 1e-9);
	cr_assert(!c->health.enabled);
	cr_assert_str_eq(c->health.path, "/health");
	cr_assert_float_eq(c->health.interval, 2, 1e-9);
	cr_assert_float_eq(c->health.timeout, 1, 1e-9);
	cr_assert_eq(c->health.rise, 2);
	cr_assert_eq(c->health.fall, 3);

	cr_assert_eq(c->nlisteners, 1);
	cr_assert(!c->listeners[0].proxy_protocol);
	cr_assert_eq(c->nsources, 1);
	cr_assert_eq(c->sources[0].weight, 1);
	cr_assert_eq(c->sources[0].max_fails, 1);
	cr_assert_float_eq(c->sources[0].fail_timeout, 10, 1e-9);
	cr_assert(!c->sources[0].backup);

	cr_assert_eq(c->nroutes, 1);
	r = &c->routes[0];
	cr_assert_str_eq(r->host, "*");
	cr_assert_str_eq(r->path, "/");
	cr_assert_str_eq(r->path_regex, "");
	cr_assert_eq(r->balancer, LB_ROUND_ROBIN);
	cr_assert_eq(r->reuse_max, CONF_REUSE_AUTO);
	cr_assert_eq(r->reuse_limit, 1024);
	cr_assert_eq(r->reuse_requests, 1000);
	cr_assert_eq(r->retries, 1);
	cr_assert(r->preserve_host);
	cr_assert(r->x_forwarded_for);
	cr_assert_eq(r->ntrusted, 0);
	cr_assert_null(r->trusted);
	cr_assert_eq(r->request.nadd + r->request.nhide + r->request.nrewrite, 0);
	cr_assert_eq(r->response.nadd + r->response.nhide + r->response.nrewrite, 0);
	conf_free(c);
}

Test(conf_load, every_etc_conf_loads)
{
	glob_t g;
	size_t i;
	struct conf *c;

	cr_assert_eq(glob("etc/*.conf", 0, NULL, &g), 0, "no etc/*.conf (run from the repo root)");
	for (i = 0; i < g.gl_pathc; i++) {
		c = conf_load(g.gl_pathv[i], &errs);
		if (c == NULL)
			conf_errs_print(&errs, stderr);
		cr_expect_not_null(c, "%s does not load", g.gl_pathv[i]);
		conf_free(c);
	}
	globfree(&g);
}

Test(conf_load, default_conf_is_what_make_run_expects)
{
	struct conf *c = conf_load("etc/sluice.conf", &errs);
	const struct sockaddr_in *sin;

	cr_assert_not_null(c);
	cr_assert_eq(c->workers, cpus());
	cr_assert_str_eq(c->pid_file, "/tmp/sluice.pid");
	cr_assert_eq(c->nlisteners, 1);
	cr_assert_str_eq(c->listeners[0].addr.text, "0.0.0.0:8080");
	cr_assert_eq(c->nsources, 2);
	cr_assert_str_eq(c->sources[0].name, "demo1");
	cr_assert_str_eq(c->sources[1].name, "demo2");
	sin = (const struct sockaddr_in *)&c->sources[1].addr.ss;
	cr_assert_eq(ntohs(sin->sin_port), 9002);
	cr_assert_eq(c->nroutes, 1);
	cr_assert_eq(c->routes[0].nsources, 2);
	conf_free(c);
}

/* --- each class of error names its line ----------------------------------- */

Test(conf_load, syntax_error_names_the_line)
{
	load_bad("bad_syntax.conf");
	cr_assert_eq(errs.total, 1);
	cr_assert_str_eq(errs.err[0].file, FIXTURES "bad_syntax.conf");
	expect_err(3, "syntax error");
}

Test(conf_load, missing_file_has_no_line)
{
	cr_assert_null(conf_load(FIXTURES "no_such_file.conf", &errs));
	cr_assert_eq(errs.total, 1);
	cr_assert_str_eq(errs.err[0].file, FIXTURES "no_such_file.conf");
	expect_err(0, "cannot read the file: No such file or directory");
}

Test(conf_load, unknown_top_level_key)
{
	load_bad("bad_unknown_top.conf");
	cr_assert_eq(errs.total, 1);
	expect_err(4, "unknown key \"fooo\" at the top level (expected one of: workers, pid_file, "
	    "shm, user, log, limits, timeouts, listeners, sources, health, routes, error_pages, "
	    "resolver)");
}

Test(conf_load, unknown_key_in_source)
{
	load_bad("bad_unknown_source_key.conf");
	cr_assert_eq(errs.total, 1);
	expect_err(5, "unknown key \"fooo\" in sources[0] (expected one of: name, address, "
	    "weight, max_fails, fail_timeout, backup, tls, resolve, max_conns, slow_start)");
}

Test(conf_load, unknown_keys_in_nested_groups)
{
	load_bad("bad_unknown_nested.conf");
	cr_assert_eq(errs.total, 3);
	expect_err(1, "unknown key \"colour\" in log (expected one of: error, level, access, format)");
	expect_err(2, "unknown key \"tls_x\" in listeners[0] (expected one of: address, "
	    "proxy_protocol, tls, mode, owner, group)");
	expect_err(6, "unknown key \"header_set\" in routes[0].request (expected one of: "
	    "rewrite, header_add, header_hide)");
}

Test(conf_load, wrong_types)
{
	load_bad("bad_type.conf");
	cr_assert_eq(errs.total, 7);
	expect_err(1, "workers: expected \"auto\" or an integer 1..256, got true");
	expect_err(4, "sources[0].weight: expected an integer 1..256, got \"2\"");
	expect_err(5, "limits.max_headers: expected an integer 1..1000, got 1.5");
	expect_err(6, "timeouts.graceful: expected a number of seconds > 0 and <= 86400, "
	    "got \"30s\"");
	expect_err(7, "routes[0].sources: expected a non-empty array of source names "
	    "[ \"app1\", ... ], got \"app1\"");
	expect_err(7, "routes[0].preserve_host: expected true or false, got 1");
	expect_err(8, "log: expected a group, got \"stderr\"");
}

Test(conf_load, out_of_range)
{
	load_bad("bad_range.conf");
	cr_assert_eq(errs.total, 6);
	expect_err(1, "workers: expected \"auto\" or an integer 1..256, got 257");
	expect_err(5, "sources[1].weight: expected an integer 1..256, got 0");
	expect_err(7, "timeouts.graceful: expected a number of seconds > 0 and <= 86400, got 0");
	expect_err(7, "timeouts.client_header: expected a number of seconds > 0 and <= 86400, "
	    "got 86400.5");
	expect_err(8, "limits.max_request_line: expected a size 64..1048576 (bytes, or \"16k\", "
	    "\"10m\"), got 63");
	expect_err(9, "routes[0].retries: expected an integer 0..16, got 17");
}

Test(conf_load, duplicate_source_name)
{
	load_bad("bad_dup_source.conf");
	cr_assert_eq(errs.total, 1);
	expect_err(15, "sources[2].name: duplicate name \"app1\" (first at line 12)");
}

Test(conf_load, unknown_source_in_route)
{
	load_bad("bad_unknown_route_source.conf");
	cr_assert_eq(errs.total, 1);
	expect_err(5, "routes[0].sources: unknown source \"app9\"");
}

Test(conf_load, bad_addresses)
{
	load_bad("bad_address.conf");
	cr_assert_eq(errs.total, 7);
	expect_err(2, "listeners[0].address: expected \"host:port\", \"[ipv6]:port\" or "
	    "\"unix:/path\", got \"localhost\" (missing port)");
	expect_err(3, "listeners[1].address: expected \"host:port\", \"[ipv6]:port\" or "
	    "\"unix:/path\", got \"1.2.3.4:0\"*");
	expect_err(4, "listeners[2].address: expected *");
	expect_err(5, "listeners[3].address: expected *");
	expect_err(8, "sources[0].address: expected *");
	expect_err(9, "sources[1].address: expected *");
	expect_err(10, "sources[2].address: expected *");
}

Test(conf_load, bad_cidrs)
{
	load_bad("bad_cidr.conf");
	cr_assert_eq(errs.total, 4);
	expect_err(6, "routes[0].trusted_proxies[1]: expected an address or CIDR such as "
	    "\"10.0.0.0/8\" or \"::1/128\", got \"10.0.0.0/33\" (the prefix must be 0..32)");
	expect_err(7, "routes[0].trusted_proxies[2]: expected *");
	expect_err(8, "routes[0].trusted_proxies[3]: expected *");
	expect_err(9, "routes[0].trusted_proxies[4]: expected *");
}

Test(conf_load, bad_header_names_and_values)
{
	load_bad("bad_header.conf");
	cr_assert_eq(errs.total, 4);
	expect_err(6, "routes[0].request.header_add[0].name: expected a header name*");
	/* The bad value is escaped: one error stays one line. */
	expect_err(7, "routes[0].request.header_add[1].value: expected a header value without "
	    "CR, LF or control characters, got \"a\\r\\nInjected: 1\"");
	expect_err(8, "routes[0].request.header_hide[1]: expected a header name*");
	expect_err(11, "routes[0].response.header_add[0].name: expected a header name*");
}

Test(conf_load, path_must_start_with_slash)
{
	load_bad("bad_path.conf");
	cr_assert_eq(errs.total, 1);
	expect_err(5, "routes[0].path: expected a path starting with \"/\", got \"api/\"");
}

Test(conf_load, path_and_path_regex_are_exclusive)
{
	load_bad("bad_path_regex.conf");
	expect_err(6, "routes[0].path_regex: cannot be combined with path (line 5)*");
}

Test(conf_load, every_schema_key_is_built)
{
	/* The keys that were "not supported yet" once; all of them load now. */
	struct conf *c = load_ok("bad_unsupported.conf");

	cr_assert_str_eq(c->shm, "/sluice");
	cr_assert_str_eq(c->user, "nobody");
	cr_assert(c->health.enabled);
	cr_assert_str_eq(c->health.path, "/health");
	cr_assert_str_eq(c->log.access, "/var/log/sluice/access.log");
	cr_assert(c->listeners[0].proxy_protocol);
	cr_assert_eq(c->routes[0].balancer, LB_LEAST_CONN);
	cr_assert_str_eq(c->routes[0].path_regex, "^/api/");
	/* issue 14: max_conns, slow_start (0 = off, written out), queue_timeout */
	cr_assert_eq(c->sources[0].max_conns, 10);
	cr_assert_eq(c->sources[1].max_conns, 0);
	cr_assert_eq(c->sources[0].slow_start, 0);
	cr_assert_eq(c->sources[1].slow_start, 2.5);
	cr_assert_eq(c->routes[0].queue_timeout, 3);
	conf_free(c);
}

Test(conf_load, issue14_bad_values_say_what_is_expected)
{
	load_bad("bad_issue14_values.conf");
	cr_assert_eq(errs.total, 3);
	expect_err(2, "sources[0].slow_start: expected a number of seconds >= 0 and <= 86400, "
	    "got -1");
	expect_err(2, "sources[0].max_conns: expected an integer 0..1000000, got -1");
	expect_err(3, "routes[0].queue_timeout: expected a number of seconds > 0 and <= 86400, "
	    "got 0");
}

Test(conf_load, unknown_user_names_the_line)
{
	load_bad("bad_user.conf");
	expect_err(1, "user: expected an existing user name*");
}

Test(conf_load, regex_rules_are_compiled_at_load)
{
	struct conf *c = load_ok("ok_rewrite.conf");
	struct rewrite_ctx *ctx = rewrite_ctx_new();
	const struct route_conf *r = &c->routes[0];
	char out[64];

	cr_assert_not_null(ctx);
	cr_assert_str_eq(r->path_regex, "^/api/v\\d+/");
	cr_assert_str_eq(r->path, "");
	cr_assert_not_null(r->path_re);
	cr_assert_eq(rewrite_match(r->path_re, ctx, "/api/v2/x", 9), 1);
	cr_assert_eq(rewrite_match(r->path_re, ctx, "/api/x", 6), 0);
	cr_assert_eq(r->request.nrewrite, 2);
	cr_assert_eq(r->request.rewrite[0].line, 10);
	cr_assert_eq(r->request.rewrite[1].line, 11);
	cr_assert_not_null(r->request.rewrite[0].rw);
	cr_assert_eq(rewrite_apply(r->request.rewrite[0].rw, ctx, "/old/x?q=1", 10, out,
	    sizeof(out)), 10);
	cr_assert_arr_eq(out, "/new/x?q=1", 10);
	cr_assert_eq(rewrite_apply(r->request.rewrite[1].rw, ctx, "/cost", 5, out, sizeof(out)), 8);
	cr_assert_arr_eq(out, "/price/$", 8);
	cr_assert_eq(r->response.nrewrite, 1);
	cr_assert_eq(rewrite_apply(r->response.rewrite[0].rw, ctx, "http://app1:9001/a/b", 20, out,
	    sizeof(out)), 4);
	cr_assert_arr_eq(out, "/a/b", 4);
	/* A prefix route has no compiled regex. */
	cr_assert_null(c->routes[1].path_re);
	cr_assert_str_eq(c->routes[1].path, "/");
	rewrite_ctx_free(ctx);
	conf_free(c);
}

Test(conf_load, invalid_regexes_and_replacements)
{
	load_bad("bad_regex.conf");
	cr_assert_eq(errs.total, 4);
	expect_err(6, "routes[0].path_regex: invalid regex: end pattern with unmatched "
	    "parenthesis");
	expect_err(10, "routes[0].request.rewrite[1].regex: invalid regex: empty range in "
	    "char class");
	expect_err(11, "routes[0].request.rewrite[2].replace: invalid replacement: \"$x\" at "
	    "offset 5 (expected $0-$9 or $$)");
	expect_err(14, "routes[0].response.rewrite_location[0].replace: invalid replacement: "
	    "\"$\" at the end (expected $0-$9 or $$)");
	cr_assert_not(has_err(9, "*"));
}

Test(conf_load, invalid_regex_in_print_format)
{
	char *all;

	load_bad("bad_regex.conf");
	all = print_errs();
	cr_assert_not_null(strstr(all, FIXTURES "bad_regex.conf:10: "
	    "routes[0].request.rewrite[1].regex: invalid regex: empty range in char class\n"),
	    "%s", all);
	free(all);
}

Test(conf_load, not_supported_keys_are_still_validated)
{
	unsigned i;

	load_bad("bad_unsupported_invalid.conf");
	cr_assert_eq(errs.total, 2);
	expect_err(2, "shm: expected a POSIX shm name*");
	expect_err(5, "routes[0].balancer: expected \"round_robin\", \"least_conn\", \"ip_hash\" "
	    "or \"failover\", got \"random\"");
	for (i = 0; i < errs.n; i++)
		cr_assert_null(strstr(errs.err[i].msg, "not supported"));
}

Test(conf_load, every_error_of_a_file_is_reported_in_line_order)
{
	unsigned i;

	load_bad("bad_multi.conf");
	cr_assert_eq(errs.total, 9);
	cr_assert_eq(errs.n, 9);
	expect_err(1, "workers: expected \"auto\" or an integer 1..256, got 0");
	expect_err(2, "pid_file: expected a file path, got \"\"");
	expect_err(3, "log.level: expected \"error\", \"warn\", \"info\" or \"debug\", "
	    "got \"verbose\"");
	expect_err(4, "listeners[0].address: expected *");
	expect_err(6, "sources[0].name: expected a name of 1..63 characters from "
	    "[A-Za-z0-9_.-], got \"bad name\"");
	expect_err(7, "sources[1].name: missing*");
	expect_err(8, "sources[2].max_fails: expected an integer 0..1000, got -1");
	expect_err(10, "routes[0].sources: expected a non-empty array*");
	expect_err(10, "routes[1].host: expected*");
	for (i = 1; i < errs.n; i++)
		cr_assert_leq(errs.err[i - 1].line, errs.err[i].line);
}

Test(conf_load, missing_listeners_sources_routes)
{
	load_bad("bad_missing.conf");
	cr_assert_eq(errs.total, 3);
	expect_err(0, "listeners: missing*");
	expect_err(0, "sources: missing*");
	expect_err(0, "routes: missing*");
}

Test(conf_load, empty_required_lists)
{
	load_bad("bad_empty_lists.conf");
	cr_assert_eq(errs.total, 3);
	expect_err(1, "listeners: expected a list of at least one listener*");
	expect_err(2, "sources: expected a list of at least one source*");
	expect_err(3, "routes[0]: expected a group { ... }, got 1");
}

Test(conf_load, missing_required_keys_name_the_group_line)
{
	load_bad("bad_missing_keys.conf");
	cr_assert_eq(errs.total, 6);
	expect_err(1, "listeners[0].address: missing, expected*");
	expect_err(2, "sources[0].name: missing, expected*");
	expect_err(2, "sources[0].address: missing, expected*");
	expect_err(3, "routes[0].sources: missing, expected*");
	expect_err(4, "routes[1].sources: unknown source \"x\"");
	expect_err(5, "routes[1].request.header_add[0].value: missing, expected*");
}

Test(conf_load, duplicates_and_too_long_strings)
{
	load_bad("bad_long_and_dup.conf");
	cr_assert_eq(errs.total, 3);
	expect_err(2, "listeners[1].address: duplicate address \"127.0.0.1:8080\" "
	    "(first at line 1)");
	expect_err(3, "sources[0].name: expected a name of 1..63 characters from "
	    "[A-Za-z0-9_.-], got a string of 64 characters (at most 63)");
	expect_err(5, "routes[0].sources: source \"app1\" listed twice");
}

Test(conf_load, errors_in_included_file_name_that_file)
{
	load_bad("include_main.conf");
	cr_assert_eq(errs.total, 1);
	cr_assert_str_eq(errs.err[0].file, FIXTURES "include_part.inc");
	expect_err(3, "sources[0].weight: expected an integer 1..256, got 999");
}

Test(conf_load, errors_beyond_32_are_counted)
{
	char *out;

	load_bad("bad_many.conf");
	cr_assert_eq(errs.n, 32);
	cr_assert_eq(errs.total, 43);	/* 40 unknown keys + 3 missing lists */
	expect_err(2, "unknown key \"unknown00\" at the top level*");
	out = print_errs();
	cr_assert_not_null(strstr(out, "\n... and 11 more errors\n"));
	free(out);
}

Test(conf_load, errs_print_format)
{
	struct conf_errs e;
	char *out;

	memset(&e, 0, sizeof(e));
	snprintf(e.err[0].file, sizeof(e.err[0].file), "a.conf");
	e.err[0].line = 7;
	snprintf(e.err[0].msg, sizeof(e.err[0].msg), "workers: bad");
	snprintf(e.err[1].file, sizeof(e.err[1].file), "b.conf");
	snprintf(e.err[1].msg, sizeof(e.err[1].msg), "cannot read");
	e.n = 2;
	e.total = 3;
	errs = e;
	out = print_errs();
	cr_assert_str_eq(out, "a.conf:7: workers: bad\nb.conf: cannot read\n"
	    "... and 1 more error\n");
	free(out);
}

Test(conf_load, null_errs_and_null_free)
{
	cr_assert_null(conf_load(FIXTURES "bad_multi.conf", NULL));
	conf_free(NULL);
}

/* --- conf_parse_addr ------------------------------------------------------ */

Test(conf_parse_addr, ipv4)
{
	struct addr_conf a;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.ss;
	const char *why = NULL;

	cr_assert_eq(conf_parse_addr("127.0.0.1:9001", &a, &why), 0);
	cr_assert_eq(sin->sin_family, AF_INET);
	cr_assert_eq(ntohs(sin->sin_port), 9001);
	cr_assert_eq(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
	cr_assert_eq(a.len, sizeof(struct sockaddr_in));
	cr_assert_str_eq(a.text, "127.0.0.1:9001");
	cr_assert_str_eq(a.hostport, "127.0.0.1:9001");
}

Test(conf_parse_addr, ipv6)
{
	struct addr_conf a;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.ss;
	const char *why = NULL;

	cr_assert_eq(conf_parse_addr("[::1]:9", &a, &why), 0);
	cr_assert_eq(sin6->sin6_family, AF_INET6);
	cr_assert_eq(ntohs(sin6->sin6_port), 9);
	cr_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	cr_assert_eq(a.len, sizeof(struct sockaddr_in6));
	cr_assert_str_eq(a.hostport, "[::1]:9");

	cr_assert_eq(conf_parse_addr("[::]:8080", &a, &why), 0);
	cr_assert(IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr));
}

Test(conf_parse_addr, unix_socket)
{
	struct addr_conf a;
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&a.ss;
	const char *why = NULL;

	cr_assert_eq(conf_parse_addr("unix:/tmp/x", &a, &why), 0);
	cr_assert_eq(sun->sun_family, AF_UNIX);
	cr_assert_str_eq(sun->sun_path, "/tmp/x");
	cr_assert_eq(a.len, offsetof(struct sockaddr_un, sun_path) + sizeof("/tmp/x"));
	cr_assert_str_eq(a.text, "unix:/tmp/x");
	cr_assert_str_eq(a.hostport, "localhost");
}

Test(conf_parse_addr, host_name_is_resolved)
{
	struct addr_conf a;
	const char *why = NULL;
	uint16_t port;

	cr_assert_eq(conf_parse_addr("localhost:80", &a, &why), 0, "%s", why);
	cr_assert(a.ss.ss_family == AF_INET || a.ss.ss_family == AF_INET6);
	port = a.ss.ss_family == AF_INET ? ((const struct sockaddr_in *)&a.ss)->sin_port :
	    ((const struct sockaddr_in6 *)&a.ss)->sin6_port;
	cr_assert_eq(ntohs(port), 80);
	cr_assert_str_eq(a.hostport, "localhost:80");
}

Test(conf_parse_addr, rejects_malformed)
{
	static const char *const bad[] = {
		"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:80x",
		"1.2.3.4:-1", ":80", "[::1]", "[::1]80", "[::1:80", "[zz]:80", "[]:80",
		"::1:80", "unix:", "unix:rel", "1.2.3.4:999999999999",
	};
	char longpath[200];
	struct addr_conf a;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		cr_expect_eq(conf_parse_addr(bad[i], &a, &why), -1, "\"%s\" accepted", bad[i]);
		cr_expect_not_null(why, "\"%s\": no reason", bad[i]);
	}
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	memcpy(longpath, "unix:/", 6);
	cr_assert_eq(conf_parse_addr(longpath, &a, &why), -1);
	cr_assert_str_eq(why, "the socket path is too long");
}

Test(conf_load, at_most_64_sources_per_route)
{
	load_bad("bad_too_many_sources.conf");
	expect_err(2, "routes[0].sources: expected at most 64 sources per route, got 65");
}

/* --- files written by the test (absolute paths, -t checks) ---------------- */

static char tmpdir[64];

/* A fresh directory for this test's files (criterion forks each test). */
static const char *
tmp_dir(void)
{
	if (tmpdir[0] == '\0') {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_conf_load.XXXXXX");
		cr_assert_not_null(mkdtemp(tmpdir));
	}
	return tmpdir;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* .fini of the tests that call put(). */
static void
rm_tmp(void)
{
	if (tmpdir[0] != '\0')
		(void)nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes text to tmp_dir()/name (subdirectories made); returns the path (static). */
static const char *
put(const char *name, const char *text)
{
	static char path[4][256];
	static unsigned next;
	char *p = path[next++ % 4], *slash;
	FILE *f;

	snprintf(p, sizeof(path[0]), "%s/%s", tmp_dir(), name);
	for (slash = strchr(p + strlen(tmp_dir()) + 1, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		(void)mkdir(p, 0755);
		*slash = '/';
	}
	f = fopen(p, "w");
	cr_assert_not_null(f, "cannot write %s", p);
	fputs(text, f);
	fclose(f);
	return p;
}

/* has_err() over another list (the warnings). */
static bool
has_in(const struct conf_errs *e, int line, const char *msg)
{
	unsigned i;

	for (i = 0; i < e->n; i++)
		if (e->err[i].line == line && strcmp(e->err[i].msg, msg) == 0)
			return true;
	return false;
}

#define BASE_SRC	"sources = ( { name = \"a\"; address = \"127.0.0.1:9\"; } );\n"
#define BASE_ROUTES	"routes = ( { sources = [ \"a\" ]; } );\n"

Test(conf_load, unix_listener_mode_owner_group, .fini = rm_tmp)
{
	const struct passwd *pw = getpwnam("nobody");
	const struct group *gr = getgrnam("nogroup") != NULL ? getgrnam("nogroup") :
	    getgrnam("nobody");
	char text[1024];
	struct conf *c;

	cr_assert_not_null(pw);
	cr_assert_not_null(gr);
	snprintf(text, sizeof(text),
	    "listeners = ( { address = \"unix:/tmp/x1.sock\"; mode = \"0660\";\n"
	    "                owner = \"nobody\"; group = \"%s\"; },\n"
	    "  { address = \"unix:/tmp/x2.sock\"; mode = 604; },\n"
	    "  { address = \"unix:/tmp/x3.sock\"; mode = 0x1ff; group = \"%s\"; },\n"
	    "  { address = \"unix:/tmp/x4.sock\"; mode = \"0\"; },\n"
	    "  { address = \"unix:/tmp/x5.sock\"; },\n"
	    "  { address = \"127.0.0.1:1\"; } );\n" BASE_SRC BASE_ROUTES, gr->gr_name, gr->gr_name);
	c = conf_load(put("unix.conf", text), &errs);
	if (c == NULL)
		conf_errs_print(&errs, stderr);
	cr_assert_not_null(c);
	cr_assert_eq(c->listeners[0].mode, 0660);
	cr_assert_str_eq(c->listeners[0].owner, "nobody");
	cr_assert_eq(c->listeners[0].uid, pw->pw_uid);
	cr_assert_eq(c->listeners[0].gid, gr->gr_gid);
	cr_assert_eq(c->listeners[1].mode, 0604, "604 is read as octal digits");
	cr_assert_eq(c->listeners[1].uid, (uid_t)-1);
	cr_assert_eq(c->listeners[1].gid, (gid_t)-1);
	cr_assert_eq(c->listeners[2].mode, 0777, "a hex integer is its value");
	cr_assert_eq(c->listeners[2].uid, (uid_t)-1);
	cr_assert_eq(c->listeners[2].gid, gr->gr_gid);
	cr_assert_eq(c->listeners[3].mode, 0);
	cr_assert_eq(c->listeners[4].mode, -1, "absent: the creation mode");
	cr_assert_str_eq(c->listeners[4].owner, "");
	cr_assert_str_eq(c->listeners[4].group, "");
	cr_assert_eq(c->listeners[5].mode, -1);
	conf_free(c);
}

Test(conf_load, listener_mode_owner_group_errors, .fini = rm_tmp)
{
#define EXP_MODE	"an octal mode \"0660\" (0..0777; an integer is read as octal digits: 660)"
	cr_assert_null(conf_load(put("bad_unix.conf",
	    "listeners = ( { address = \"unix:/tmp/y.sock\"; mode = \"0668\"; },\n"	/* 1 */
	    "  { address = \"unix:/tmp/y2.sock\"; mode = \"1777\"; },\n"		/* 2 */
	    "  { address = \"unix:/tmp/y3.sock\"; mode = 778; },\n"			/* 3 */
	    "  { address = \"unix:/tmp/y4.sock\"; mode = -1; },\n"			/* 4 */
	    "  { address = \"unix:/tmp/y5.sock\"; mode = true; },\n"			/* 5 */
	    "  { address = \"unix:/tmp/y6.sock\"; owner = \"no-such-user-h7\"; },\n"	/* 6 */
	    "  { address = \"unix:/tmp/y7.sock\"; group = \"no-such-group-h7\"; },\n"	/* 7 */
	    "  { address = \"127.0.0.1:1\"; mode = \"0660\";\n"			/* 8 */
	    "    owner = \"nobody\";\n"							/* 9 */
	    "    group = \"root\"; } );\n"						/* 10 */
	    BASE_SRC BASE_ROUTES), &errs));
	expect_err(1, "listeners[0].mode: expected " EXP_MODE ", got \"0668\"");
	expect_err(2, "listeners[1].mode: expected " EXP_MODE ", got \"1777\"");
	expect_err(3, "listeners[2].mode: expected " EXP_MODE ", got 778");
	expect_err(4, "listeners[3].mode: expected " EXP_MODE ", got -1");
	expect_err(5, "listeners[4].mode: expected " EXP_MODE ", got true");
	expect_err(6, "listeners[5].owner: expected an existing user name, got "
	    "\"no-such-user-h7\"");
	expect_err(7, "listeners[6].group: expected an existing group name, got "
	    "\"no-such-group-h7\"");
	expect_err(8, "listeners[7].mode: only for unix: listeners (the address is "
	    "\"127.0.0.1:1\")");
	expect_err(9, "listeners[7].owner: only for unix: listeners (the address is "
	    "\"127.0.0.1:1\")");
	expect_err(10, "listeners[7].group: only for unix: listeners (the address is "
	    "\"127.0.0.1:1\")");
	cr_assert_eq(errs.total, 10);
#undef EXP_MODE
}

Test(conf_load, shadowed_routes_are_warnings, .fini = rm_tmp)
{
	struct conf_errs warns;
	struct conf *c;
	unsigned i;
	const char *path = put("shadow.conf",
	    "listeners = ( { address = \"127.0.0.1:1\"; } );\n"			/* 1 */
	    BASE_SRC								/* 2 */
	    "routes = (\n"							/* 3 */
	    "  { host = \"*\"; path = \"/api\"; sources = [ \"a\" ]; },\n"		/* 4 */
	    "  { host = \"x.example.com\"; path = \"/api/v1\"; sources = [ \"a\" ]; },\n" /* 5 */
	    "  { host = \"*.example.com\"; path = \"/b\"; sources = [ \"a\" ]; },\n"	/* 6 */
	    "  { host = \"A.B.Example.COM.:80\"; path = \"/bc\"; sources = [ \"a\" ]; },\n" /* 7 */
	    "  { host = \"*.b.example.com\"; path = \"/b/\"; sources = [ \"a\" ]; },\n"	/* 8 */
	    "  { host = \"example.com\"; path = \"/b\"; sources = [ \"a\" ]; },\n"	/* 9 */
	    "  { host = \"*.example.com\"; path = \"/a\"; sources = [ \"a\" ]; },\n"	/* 10 */
	    "  { host = \"*.example.com\"; path_regex = \"^/b\"; sources = [ \"a\" ]; },\n" /* 11 */
	    "  { host = \"*.example.com\"; path_regex = \"^/b\"; sources = [ \"a\" ]; },\n" /* 12 */
	    "  { host = \"*.org\"; path = \"/\"; sources = [ \"a\" ]; },\n"		/* 13 */
	    "  { host = \"*.rg\"; path = \"/\"; sources = [ \"a\" ]; },\n"		/* 14 */
	    "  { host = \"*\"; path = \"/\"; sources = [ \"a\" ]; },\n"		/* 15 */
	    "  { host = \"*.org\"; path = \"/z\"; sources = [ \"a\" ]; }\n"		/* 16 */
	    ");\n");

	c = conf_load_ext(path, 0, &errs, &warns);
	if (c == NULL)
		conf_errs_print(&errs, stderr);
	cr_assert_not_null(c, "warnings do not fail the load");
	cr_assert_eq(errs.total, 0);
	for (i = 0; i < warns.n; i++)
		cr_log_info("warning %d: %s", warns.err[i].line, warns.err[i].msg);
	cr_assert(has_in(&warns, 5, "routes[1]: can never match: routes[0] (line 4) comes first "
	    "and takes all its requests (host \"*\", path prefix \"/api\")"));
	cr_assert(has_in(&warns, 7, "routes[3]: can never match: routes[2] (line 6) comes first "
	    "and takes all its requests (host \"*.example.com\", path prefix \"/b\")"),
	    "an exact host under the wildcard, case, port and trailing dot aside");
	cr_assert(has_in(&warns, 8, "routes[4]: can never match: routes[2] (line 6) comes first "
	    "and takes all its requests (host \"*.example.com\", path prefix \"/b\")"),
	    "a narrower wildcard");
	cr_assert(has_in(&warns, 16, "routes[12]: can never match: routes[9] (line 13) comes "
	    "first and takes all its requests (host \"*.org\", path prefix \"/\")"),
	    "the first earlier route that covers it is named");
	cr_assert_str_eq(warns.err[0].file, path);
	/* Not: example.com under *.example.com, other paths, regexes, *.rg, a later "*". */
	cr_assert_eq(warns.total, 4, "%u warnings", warns.total);
	cr_assert_eq(warns.n, 4);
	conf_free(c);
	/* conf_load() takes no warnings and loads the same file. */
	c = conf_load(path, &errs);
	cr_assert_not_null(c);
	conf_free(c);
}

Test(conf_load, include_absolute_and_relative, .fini = rm_tmp)
{
	char cwd[512], after[512], text[512];
	const char *abs_inc, *main_path;
	struct conf *c;

	abs_inc = put("elsewhere/sources.inc", BASE_SRC);
	put("site/routes.inc", BASE_ROUTES);
	snprintf(text, sizeof(text), "listeners = ( { address = \"127.0.0.1:1\"; } );\n"
	    "@include \"%s\"\n@include \"routes.inc\"\n", abs_inc);
	main_path = put("site/main.conf", text);
	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	c = conf_load(main_path, &errs);
	if (c == NULL)
		conf_errs_print(&errs, stderr);
	cr_assert_not_null(c, "absolute @include used as is, relative one beside the file");
	cr_assert_eq(c->nsources, 1);
	cr_assert_str_eq(c->sources[0].name, "a");
	cr_assert_eq(c->nroutes, 1);
	conf_free(c);
	cr_assert_not_null(getcwd(after, sizeof(after)));
	cr_assert_str_eq(after, cwd, "the working directory is given back");

	/* An error in the absolutely included file names it, at its line. */
	abs_inc = put("elsewhere/bad.inc", "\nsources = ( { name = \"a\";"
	    " address = \"127.0.0.1:9\"; weight = 999; } );\n");
	snprintf(text, sizeof(text), "listeners = ( { address = \"127.0.0.1:1\"; } );\n"
	    "@include \"%s\"\n" BASE_ROUTES, abs_inc);
	cr_assert_null(conf_load(put("site/bad.conf", text), &errs));
	cr_assert_eq(errs.total, 1);
	cr_assert_str_eq(errs.err[0].file, abs_inc);
	expect_err(2, "sources[0].weight: expected an integer 1..256, got 999");

	/* A missing relative include is looked for beside the file, and said so. */
	cr_assert_null(conf_load(put("site/missing.conf", "@include \"nope.inc\"\n"), &errs));
	cr_assert_eq(errs.total, 1);
	expect_err(1, "cannot open include file");
}

Test(conf_load, files_flag_checks_logs_and_pid_file, .fini = rm_tmp)
{
	char text[1024], why[1024];
	struct conf *c;
	const char *path;

	snprintf(text, sizeof(text),
	    "listeners = ( { address = \"127.0.0.1:1\"; } );\n" BASE_SRC BASE_ROUTES	/* 1-3 */
	    "pid_file = \"%s/no-dir/sluice.pid\";\n"					/* 4 */
	    "log = {\n"									/* 5 */
	    "  error = \"%s/no-dir/error.log\";\n"					/* 6 */
	    "  access = \"%s\";\n"							/* 7 */
	    "};\n", tmp_dir(), tmp_dir(), tmp_dir());
	path = put("files.conf", text);
	/* Without the flag (start-up, reload) these are not looked at. */
	c = conf_load(path, &errs);
	cr_assert_not_null(c);
	conf_free(c);
	cr_assert_null(conf_load_ext(path, CONF_LOAD_F_FILES, &errs, NULL));
	cr_assert_eq(errs.total, 3);
	snprintf(why, sizeof(why), "pid_file: cannot create \"%s/no-dir/sluice.pid\": directory "
	    "\"%s/no-dir\": No such file or directory", tmp_dir(), tmp_dir());
	expect_err(4, why);
	snprintf(why, sizeof(why), "log.error: cannot create \"%s/no-dir/error.log\": directory "
	    "\"%s/no-dir\": No such file or directory", tmp_dir(), tmp_dir());
	expect_err(6, why);
	snprintf(why, sizeof(why), "log.access: cannot open \"%s\" for appending: Is a directory",
	    tmp_dir());
	expect_err(7, why);

	/* Writable: an existing file and a new one in a writable directory; none created. */
	put("old-error.log", "kept\n");
	snprintf(text, sizeof(text),
	    "listeners = ( { address = \"127.0.0.1:1\"; } );\n" BASE_SRC BASE_ROUTES
	    "pid_file = \"%s/new.pid\";\n"
	    "log = { error = \"%s/old-error.log\"; access = \"%s/new-access.log\"; };\n",
	    tmp_dir(), tmp_dir(), tmp_dir());
	c = conf_load_ext(put("files_ok.conf", text), CONF_LOAD_F_FILES, &errs, NULL);
	if (c == NULL)
		conf_errs_print(&errs, stderr);
	cr_assert_not_null(c);
	conf_free(c);
	snprintf(why, sizeof(why), "%s/new.pid", tmp_dir());
	cr_assert_eq(access(why, F_OK), -1, "-t must not create the pid file");
	snprintf(why, sizeof(why), "%s/new-access.log", tmp_dir());
	cr_assert_eq(access(why, F_OK), -1, "-t must not create the access log");

	/* An absent pid_file is checked at its default; a refused value is left to its error. */
	cr_assert_null(conf_load_ext(put("files_bad_value.conf",
	    "listeners = ( { address = \"127.0.0.1:1\"; } );\n" BASE_SRC BASE_ROUTES
	    "log = { error = 5; };\n"), CONF_LOAD_F_FILES, &errs, NULL));
	cr_assert_eq(errs.total, 1);
	expect_err(4, "log.error: expected \"stderr\" or a file path, got 5");
}

Test(conf_check_writable, reasons, .fini = rm_tmp)
{
	char why[1024], want[1024];

	cr_assert_eq(conf_check_writable(put("exists.log", ""), why, sizeof(why)), 0);
	snprintf(want, sizeof(want), "%s/absent.log", tmp_dir());
	cr_assert_eq(conf_check_writable(want, why, sizeof(why)), 0);
	cr_assert_eq(access(want, F_OK), -1, "nothing is created");
	cr_assert_eq(conf_check_writable("/nonexistent-h7/x.log", why, sizeof(why)), -1);
	cr_assert_str_eq(why, "cannot create \"/nonexistent-h7/x.log\": directory "
	    "\"/nonexistent-h7\": No such file or directory");
	snprintf(want, sizeof(want), "%s/exists.log/x.log", tmp_dir());
	cr_assert_eq(conf_check_writable(want, why, sizeof(why)), -1);
	cr_assert_not_null(strstr(why, "Not a directory"), "%s", why);
}

/* --- live DNS: resolve and resolver ---------------------------------------- */

Test(conf_load, resolver_nameservers, .fini = rm_tmp)
{
	struct conf *c;

	c = conf_load(put("ns_ok.conf",
	    "listeners = ( { address = \"127.0.0.1:1\"; } );\n" BASE_SRC BASE_ROUTES
	    "resolver = { nameservers = [ \"127.0.0.1:5353\", \"10.0.0.2\", \"[::1]:53\",\n"
	    "                             \"[fe80::1]\", \"::2\" ]; valid = 5; timeout = 0.5; };\n"),
	    &errs);
	if (c == NULL)
		conf_errs_print(&errs, stderr);
	cr_assert_not_null(c);
	cr_assert_eq(c->resolver.nnameservers, 5);
	cr_assert_str_eq(c->resolver.nameservers[0], "127.0.0.1:5353");
	cr_assert_str_eq(c->resolver.nameservers[1], "10.0.0.2:53");
	cr_assert_str_eq(c->resolver.nameservers[2], "[::1]:53");
	cr_assert_str_eq(c->resolver.nameservers[3], "[fe80::1]:53");
	cr_assert_str_eq(c->resolver.nameservers[4], "[::2]:53");
	cr_assert(c->resolver.valid == 5.0 && c->resolver.timeout == 0.5);
	conf_free(c);

	/* Absent: none (c-ares reads /etc/resolv.conf), valid 30, timeout 2. */
	c = conf_load(put("ns_default.conf",
	    "listeners = ( { address = \"127.0.0.1:1\"; } );\n" BASE_SRC BASE_ROUTES), &errs);
	cr_assert_not_null(c);
	cr_assert_eq(c->resolver.nnameservers, 0);
	cr_assert(c->resolver.valid == 30.0 && c->resolver.timeout == 2.0);
	cr_assert_not(c->sources[0].resolve);
	conf_free(c);
}

Test(conf_load, resolver_bad_nameservers, .fini = rm_tmp)
{
	cr_assert_null(conf_load(put("ns_bad.conf",
	    "listeners = ( { address = \"127.0.0.1:1\"; } );\n" BASE_SRC BASE_ROUTES
	    "resolver = { nameservers = [ \"dns.example\", \"1.2.3.4:0\",\n"		/* 4 */
	    "  \"1.2.3.4:70000\", \"[::1\", \"1.2.3.4:x\", \"[::1]:53x\", \"\" ]; };\n"),	/* 5 */
	    &errs));
	cr_assert_eq(errs.total, 7);
	expect_err(4, "resolver.nameservers[0]: expected a nameserver address \"ip:port\", "
	    "\"ip\" (port 53) or \"[ipv6]:port\", got \"dns.example\"");
	expect_err(4, "resolver.nameservers[1]: expected a nameserver address*");
	expect_err(5, "resolver.nameservers[2]: expected a nameserver address*");
	expect_err(5, "resolver.nameservers[3]: expected a nameserver address*");
	expect_err(5, "resolver.nameservers[6]: expected a nameserver address*");

	cr_assert_null(conf_load(put("ns_many.conf",
	    "listeners = ( { address = \"127.0.0.1:1\"; } );\n" BASE_SRC BASE_ROUTES
	    "resolver = { nameservers = [ \"1.1.1.1\", \"1.1.1.2\", \"1.1.1.3\", \"1.1.1.4\",\n"
	    "  \"1.1.1.5\", \"1.1.1.6\", \"1.1.1.7\", \"1.1.1.8\", \"1.1.1.9\" ]; };\n"), &errs));
	expect_err(4, "resolver.nameservers: expected at most 8 entries, got 9");

	cr_assert_null(conf_load(put("ns_type.conf",
	    "listeners = ( { address = \"127.0.0.1:1\"; } );\n" BASE_SRC BASE_ROUTES
	    "resolver = { nameservers = \"127.0.0.1\"; valid = 0; };\n"), &errs));
	expect_err(4, "resolver.nameservers: expected an array of at most 8 nameserver*");
	expect_err(4, "resolver.valid: expected a number of seconds > 0 and <= 86400, got 0");
}

Test(conf_load, resolve_name_that_does_not_resolve_yet, .fini = rm_tmp)
{
	struct conf_errs warns;
	struct conf *c;

	memset(&warns, 0, sizeof(warns));
	c = conf_load_ext(put("resolve_later.conf",
	    "listeners = ( { address = \"127.0.0.1:1\"; } );\n"
	    "sources = ( { name = \"a\"; address = \"nonexistent.invalid:8080\"; resolve = true; },\n"
	    "            { name = \"b\"; address = \"127.0.0.1:9\"; resolve = true; } );\n"
	    "routes = ( { sources = [ \"a\", \"b\" ]; } );\n"), 0, &errs, &warns);
	if (c == NULL)
		conf_errs_print(&errs, stderr);
	cr_assert_not_null(c, "a resolve = true name that does not resolve yet loads");
	cr_assert(c->sources[0].resolve);
	cr_assert_eq(c->sources[0].addr.len, 0, "no address until the resolver has one");
	cr_assert_str_eq(c->sources[0].addr.text, "nonexistent.invalid:8080");
	cr_assert_str_eq(c->sources[0].addr.hostport, "nonexistent.invalid:8080");
	cr_assert_eq(c->sources[0].addr.port, htons(8080), "the port is known without the host");
	cr_assert_eq(c->sources[1].addr.port, htons(9));
	cr_assert_eq(warns.err[0].line, 2);
	cr_assert_not_null(strstr(warns.err[0].msg, "sources[0].address: "
	    "\"nonexistent.invalid:8080\" does not resolve now ("), "%s", warns.err[0].msg);
	cr_assert(has_in(&warns, 3, "sources[1].resolve: 127.0.0.1:9 is an IP address; there is "
	    "no name to re-resolve"));
	cr_assert_eq(c->sources[1].addr.ss.ss_family, AF_INET);
	conf_free(c);

	/* Without resolve = true the same name is an error, as before. */
	cr_assert_null(conf_load(put("resolve_not.conf",
	    "listeners = ( { address = \"127.0.0.1:1\"; } );\n"
	    "sources = ( { name = \"a\"; address = \"nonexistent.invalid:8080\"; } );\n"
	    BASE_ROUTES), &errs));
	expect_err(2, "sources[0].address: cannot resolve \"nonexistent.invalid:8080\"*");

	/* A unix: source has nothing to resolve. */
	cr_assert_null(conf_load(put("resolve_unix.conf",
	    "listeners = ( { address = \"127.0.0.1:1\"; } );\n"
	    "sources = ( { name = \"a\"; address = \"unix:/tmp/a.sock\"; resolve = true; } );\n"
	    BASE_ROUTES), &errs));
	expect_err(2, "sources[0].resolve: expected false for a unix: address (nothing to "
	    "resolve)");
}
