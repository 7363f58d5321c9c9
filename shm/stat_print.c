/*
 * sluice-stat's three outputs from one snapshot: the table, one JSON
 * document, and the Prometheus text exposition format.
 */
#include "shm/stat_print.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/version.h"
#include "shm/shm.h"
#include "shm/stats.h"

static void	json_str(const char *v);
static void	json_rate(double r);
static void	json_resp(const uint64_t *resp);
static void	json_guards(uint64_t emfile, uint64_t pauses, uint64_t regex, uint64_t local,
	    uint64_t loops);
static void	json_tls(uint64_t full, uint64_t resumed, uint64_t failed);
static void	json_ends(const uint64_t *ends);
static void	prom_label(const char *v);
static void	prom_head(const char *name, const char *type, const char *help);
static void	prom_workers(const struct stats_snap *s);
static void	prom_sources(const struct stats_snap *s);
static const char *human(uint64_t v, char *buf, size_t len);
static const char *ms_str(double us, char *buf, size_t len);
static const char *printable(const char *in, char *buf, size_t len);

/* ---- table ---- */

static const char *
human(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	double d = (double)v;
	int u = -1;

	if (v < 10000) {
		snprintf(buf, len, "%llu", (unsigned long long)v);
		return buf;
	}
	while (d >= 1000 && u < 5) {
		d /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f%c", d, units[u]);
	return buf;
}

static const char *
ms_str(double us, char *buf, size_t len)
{
	if (us <= 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.3g", us / 1000.0);
	return buf;
}

/* A name with control bytes shown as '?', so it cannot break the table. */
static const char *
printable(const char *in, char *buf, size_t len)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < len; i++)
		buf[i] = (unsigned char)in[i] < 0x20 || in[i] == 0x7f ? '?' : in[i];
	buf[i] = '\0';
	return buf;
}

void
stat_print_table(const struct shm_seg *seg, const struct stats_snap *s)
{
	char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32], nm[SHM_NAME_LEN];
	uint64_t up = s->taken_ms > s->start_ms ? (s->taken_ms - s->start_ms) / 1000 : 0;
	const struct stats_totals *t = &s->tot;
	int nw = 4;
	uint32_t i, k;

	printf("sluice shm %s  layout %u.%u  master pid %d%s  conf gen %u  "
	    "up %lluh%02llum%02llus%s\n", seg->name, s->ver_major, s->ver_minor, (int)s->master_pid,
	    s->master_alive ? "" : " (not running: stale segment)", s->conf_gen,
	    (unsigned long long)(up / 3600), (unsigned long long)(up / 60 % 60),
	    (unsigned long long)(up % 60), s->torn ? "  (tables changing)" : "");
	printf("requests %llu", (unsigned long long)t->requests);
	if (t->req_s >= 0)
		printf("  req/s %.1f", t->req_s);
	printf("  conns %lld open / %s total  in %s  out %s  active %lld  errors %llu\n",
	    (long long)t->conns_open, human(t->conns_total, b1, sizeof(b1)),
	    human(t->bytes_in, b2, sizeof(b2)), human(t->bytes_out, b3, sizeof(b3)),
	    (long long)t->active, (unsigned long long)t->errors);
	printf("guards accept_emfile %llu (pauses %llu)  regex_aborts %llu  local_errors %llu  "
	    "loops %llu\n", (unsigned long long)t->accept_emfile,
	    (unsigned long long)t->accept_pauses, (unsigned long long)t->regex_aborts,
	    (unsigned long long)t->local_errors, (unsigned long long)t->loops);
	printf("tls handshakes full %llu  resumed %llu  failed %llu\n",
	    (unsigned long long)t->tls_full, (unsigned long long)t->tls_resumed,
	    (unsigned long long)t->tls_failed);
	printf("responses 1xx %llu  2xx %llu  3xx %llu  4xx %llu  5xx %llu\n",
	    (unsigned long long)t->resp[0], (unsigned long long)t->resp[1],
	    (unsigned long long)t->resp[2], (unsigned long long)t->resp[3],
	    (unsigned long long)t->resp[4]);
	printf("ends");
	for (k = 0; k < SHM_END__COUNT; k++)
		if (t->ends[k] != 0 || k == SHM_END_OK)
			printf(" %s %llu", shm_end_name(k), (unsigned long long)t->ends[k]);
	printf("\n\n");

	printf("%-6s %-8s %-9s %7s %10s %9s\n", "WORKER", "PID", "STATE", "CONNS", "REQUESTS",
	    "REQ/S");
	for (i = 0; i < s->nw; i++) {
		const struct stats_worker *w = &s->workers[i];

		printf("%-6u %-8d %-9s %7lld %10llu ", w->idx, (int)w->pid,
		    stats_worker_state(w), (long long)w->conns_open,
		    (unsigned long long)w->requests);
		if (w->req_s >= 0)
			printf("%9.1f\n", w->req_s);
		else
			printf("%9s\n", "-");
	}

	for (i = 0; i < s->ns; i++)
		if (s->sources[i].live && (int)strlen(s->sources[i].name) > nw)
			nw = (int)strlen(s->sources[i].name);
	printf("\n%-*s %-6s %6s %10s %7s %7s %7s %7s %7s %7s %8s %8s %7s %7s %7s\n", nw, "SOURCE",
	    "HEALTH", "ACTIVE", "REQUESTS", "1XX", "2XX", "3XX", "4XX", "5XX", "FAILS", "IN",
	    "OUT", "P50MS", "P90MS", "P99MS");
	for (i = 0; i < s->ns; i++) {
		const struct stats_source *o = &s->sources[i];
		char r[5][32];

		if (!o->live)
			continue;
		for (k = 0; k < 5; k++)
			human(o->resp[k], r[k], sizeof(r[k]));
		printf("%-*s %-6s %6lld %10llu %7s %7s %7s %7s %7s %7s %8s %8s %7s %7s %7s", nw,
		    printable(o->name, nm, sizeof(nm)), o->up ? "up" : "down", (long long)o->active,
		    (unsigned long long)o->requests, r[0], r[1], r[2], r[3], r[4],
		    human(o->failures, b1, sizeof(b1)), human(o->bytes_in, b2, sizeof(b2)),
		    human(o->bytes_out, b3, sizeof(b3)), ms_str(o->p50_us, b4, sizeof(b4)),
		    ms_str(o->p90_us, b5, sizeof(b5)), ms_str(o->p99_us, b6, sizeof(b6)));
		if (!o->up)
			printf("  (%s)", stats_reason_name(o->reason));
		putchar('\n');
	}
}

/* ---- JSON ---- */

static void
json_str(const char *v)
{
	const unsigned char *p;

	putchar('"');
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void
json_rate(double r)
{
	if (r < 0 || !isfinite(r))
		fputs("null", stdout);
	else
		printf("%.3f", r);
}

/* The guard counters, as JSON members without braces. */
/* Appended to an object: ", \"tls\": {...}". */
static void
json_tls(uint64_t full, uint64_t resumed, uint64_t failed)
{
	printf(", \"tls\": {\"full\": %llu, \"resumed\": %llu, \"failed\": %llu}",
	    (unsigned long long)full, (unsigned long long)resumed, (unsigned long long)failed);
}

static void
json_guards(uint64_t emfile, uint64_t pauses, uint64_t regex, uint64_t local, uint64_t loops)
{
	printf("\"accept_emfile\": %llu, \"accept_pauses\": %llu, \"regex_aborts\": %llu, "
	    "\"local_errors\": %llu, \"loops\": %llu", (unsigned long long)emfile,
	    (unsigned long long)pauses, (unsigned long long)regex, (unsigned long long)local,
	    (unsigned long long)loops);
}

/* "ends": {"ok": n, ...}, by enum shm_end, as a JSON member. */
static void
json_ends(const uint64_t *ends)
{
	uint32_t k;

	printf("\"ends\": {");
	for (k = 0; k < SHM_END__COUNT; k++)
		printf("%s\"%s\": %llu", k ? ", " : "", shm_end_name(k),
		    (unsigned long long)ends[k]);
	putchar('}');
}

static void
json_resp(const uint64_t *resp)
{
	printf("{\"1xx\": %llu, \"2xx\": %llu, \"3xx\": %llu, \"4xx\": %llu, \"5xx\": %llu}",
	    (unsigned long long)resp[0], (unsigned long long)resp[1],
	    (unsigned long long)resp[2], (unsigned long long)resp[3],
	    (unsigned long long)resp[4]);
}

void
stat_print_json(const struct shm_seg *seg, const struct stats_snap *s)
{
	const struct stats_totals *t = &s->tot;
	uint32_t i, n;

	printf("{\"reader_version\": \"%s\", \"shm\": ", SLUICE_VERSION);
	json_str(seg->name);
	printf(", \"layout\": \"%u.%u\", \"master_pid\": %d, \"master_alive\": %s, "
	    "\"conf_gen\": %u, \"start_time\": %llu, \"uptime_s\": %llu, \"torn\": %s,\n",
	    s->ver_major, s->ver_minor, (int)s->master_pid, s->master_alive ? "true" : "false",
	    s->conf_gen, (unsigned long long)s->start_time,
	    (unsigned long long)(s->taken_ms > s->start_ms
	    ? (s->taken_ms - s->start_ms) / 1000 : 0), s->torn ? "true" : "false");
	printf(" \"totals\": {\"requests\": %llu, \"requests_per_sec\": ",
	    (unsigned long long)t->requests);
	json_rate(t->req_s);
	printf(", \"conns_open\": %lld, \"conns_total\": %llu, \"bytes_in\": %llu, "
	    "\"bytes_out\": %llu, \"responses\": ", (long long)t->conns_open,
	    (unsigned long long)t->conns_total, (unsigned long long)t->bytes_in,
	    (unsigned long long)t->bytes_out);
	json_resp(t->resp);
	printf(", \"errors\": %llu, \"active\": %lld, \"workers_running\": %u, "
	    "\"workers_stalled\": %u, \"workers_configured\": %u, ", (unsigned long long)t->errors,
	    (long long)t->active, t->workers_running, t->workers_stalled, s->nworkers);
	json_guards(t->accept_emfile, t->accept_pauses, t->regex_aborts, t->local_errors, t->loops);
	json_tls(t->tls_full, t->tls_resumed, t->tls_failed);
	printf(", ");
	json_ends(t->ends);
	printf("},\n");

	printf(" \"workers\": [");
	for (i = 0; i < s->nw; i++) {
		const struct stats_worker *w = &s->workers[i];

		printf("%s\n  {\"index\": %u, \"pid\": %d, \"state\": \"%s\", "
		    "\"conns_open\": %lld, \"conns_total\": %llu, \"requests\": %llu, "
		    "\"requests_per_sec\": ",
		    i ? "," : "", w->idx, (int)w->pid, stats_worker_state(w),
		    (long long)w->conns_open, (unsigned long long)w->conns_total,
		    (unsigned long long)w->requests);
		json_rate(w->req_s);
		printf(", \"bytes_in\": %llu, \"bytes_out\": %llu, \"responses\": ",
		    (unsigned long long)w->bytes_in, (unsigned long long)w->bytes_out);
		json_resp(w->resp);
		printf(", ");
		json_guards(w->accept_emfile, w->accept_pauses, w->regex_aborts, w->local_errors,
		    w->loops);
		json_tls(w->tls_full, w->tls_resumed, w->tls_failed);
		printf(", ");
		json_ends(w->ends);
		printf(", \"errors\": %llu, \"conf_gen\": %llu, \"spawns\": %llu, "
		    "\"heartbeat_age_ms\": %llu}", (unsigned long long)w->errors,
		    (unsigned long long)w->conf_gen, (unsigned long long)w->spawns,
		    (unsigned long long)(w->pid != 0 && s->taken_ms > w->heartbeat_ms
		    ? s->taken_ms - w->heartbeat_ms : 0));
	}
	printf("%s],\n \"sources\": [", s->nw ? "\n " : "");
	for (i = n = 0; i < s->ns; i++) {
		const struct stats_source *o = &s->sources[i];

		if (!o->live)
			continue;
		printf("%s\n  {\"name\": ", n++ ? "," : "");
		json_str(o->name);
		printf(", \"address\": ");
		json_str(o->addr);
		printf(", \"weight\": %u, \"backup\": %s, \"health\": \"%s\", \"reason\": \"%s\", "
		    "\"active\": %lld, \"requests\": %llu, \"requests_per_sec\": ", o->weight,
		    o->backup ? "true" : "false", o->up ? "up" : "down",
		    stats_reason_name(o->reason), (long long)o->active,
		    (unsigned long long)o->requests);
		json_rate(o->req_s);
		printf(", \"responses\": ");
		json_resp(o->resp);
		printf(", \"failures\": %llu, \"retries\": %llu, \"bytes_in\": %llu, "
		    "\"bytes_out\": %llu, ", (unsigned long long)o->failures,
		    (unsigned long long)o->retries, (unsigned long long)o->bytes_in,
		    (unsigned long long)o->bytes_out);
		json_ends(o->ends);
		printf(", \"latency_ms\": {\"count\": %llu, \"mean\": %.3f, \"p50\": %.3f, "
		    "\"p90\": %.3f, \"p99\": %.3f}, ", (unsigned long long)o->lat_count,
		    o->lat_count ? (double)o->lat_sum_us / (double)o->lat_count / 1000.0 : 0.0,
		    o->p50_us / 1000.0, o->p90_us / 1000.0, o->p99_us / 1000.0);
		printf("\"check\": {\"state\": \"%s\", \"fails\": %u, \"oks\": %u, \"status\": %u, "
		    "\"checks\": %llu}, \"down_until_s\": %u}",
		    o->health.state == SHM_H_DOWN ? "down" : "up", o->health.fails, o->health.oks,
		    o->health.status, (unsigned long long)o->health.checks, o->down_until_s);
	}
	printf("%s]}\n", n ? "\n " : "");
}

/* ---- Prometheus text format 0.0.4 ---- */

/* Label values escape backslash, double quote and newline. */
static void
prom_label(const char *v)
{
	const char *p;

	putchar('"');
	for (p = v; *p != '\0'; p++) {
		if (*p == '\\' || *p == '"')
			printf("\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", stdout);
		else
			putchar(*p);
	}
	putchar('"');
}

static void
prom_head(const char *name, const char *type, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample per live source: name{source="x"} value. */
#define PROM_SOURCES(s, metric, fmt, expr) do {					\
	uint32_t i_;								\
	for (i_ = 0; i_ < (s)->ns; i_++) {					\
		const struct stats_source *o = &(s)->sources[i_];		\
		if (!o->live)							\
			continue;						\
		printf("%s{source=", metric);					\
		prom_label(o->name);						\
		printf("} " fmt "\n", expr);					\
	}									\
} while (0)

#define PROM_WORKERS(s, metric, fmt, expr) do {					\
	uint32_t i_;								\
	for (i_ = 0; i_ < (s)->nw; i_++) {					\
		const struct stats_worker *w = &(s)->workers[i_];		\
		printf("%s{worker=\"%u\"} " fmt "\n", metric, w->idx, expr);	\
	}									\
} while (0)

void
stat_print_prom(const struct shm_seg *seg, const struct stats_snap *s)
{
	prom_head("sluice_info", "gauge", "Constant 1, labelled with the segment and its layout.");
	printf("sluice_info{shm=");
	prom_label(seg->name);
	printf(",layout=\"%u.%u\"} 1\n", s->ver_major, s->ver_minor);
	prom_head("sluice_master_up", "gauge", "1 if the master process of the segment is alive.");
	printf("sluice_master_up %d\n", s->master_alive ? 1 : 0);
	prom_head("sluice_start_time_seconds", "gauge",
	    "Unix time the master created the segment.");
	printf("sluice_start_time_seconds %llu\n", (unsigned long long)s->start_time);
	prom_head("sluice_config_generation", "gauge", "Configuration generation, 1 at start.");
	printf("sluice_config_generation %u\n", s->conf_gen);
	prom_head("sluice_requests_total", "counter", "Requests answered by all workers.");
	printf("sluice_requests_total %llu\n", (unsigned long long)s->tot.requests);

	prom_workers(s);
	prom_sources(s);
}

/* Per-worker series. */
static void
prom_workers(const struct stats_snap *s)
{
	uint32_t i;
	int k;

	prom_head("sluice_worker_running", "gauge", "1 if a process holds the worker slot.");
	PROM_WORKERS(s, "sluice_worker_running", "%d",
	    w->state == SHM_W_RUNNING || w->state == SHM_W_DRAINING ? 1 : 0);
	prom_head("sluice_worker_stalled", "gauge",
	    "1 if the process holding the worker slot has not beaten for over 2 s.");
	PROM_WORKERS(s, "sluice_worker_stalled", "%d", w->stalled);
	prom_head("sluice_worker_requests_total", "counter", "Requests answered by the worker.");
	PROM_WORKERS(s, "sluice_worker_requests_total", "%llu", (unsigned long long)w->requests);
	prom_head("sluice_worker_connections", "gauge", "Client connections open.");
	PROM_WORKERS(s, "sluice_worker_connections", "%lld", (long long)w->conns_open);
	prom_head("sluice_worker_connections_total", "counter", "Client connections accepted.");
	PROM_WORKERS(s, "sluice_worker_connections_total", "%llu",
	    (unsigned long long)w->conns_total);
	prom_head("sluice_worker_received_bytes_total", "counter", "Bytes received from clients.");
	PROM_WORKERS(s, "sluice_worker_received_bytes_total", "%llu",
	    (unsigned long long)w->bytes_in);
	prom_head("sluice_worker_sent_bytes_total", "counter", "Bytes sent to clients.");
	PROM_WORKERS(s, "sluice_worker_sent_bytes_total", "%llu", (unsigned long long)w->bytes_out);
	prom_head("sluice_worker_errors_total", "counter",
	    "Exchanges that ended other than complete (any cause but ok).");
	PROM_WORKERS(s, "sluice_worker_errors_total", "%llu", (unsigned long long)w->errors);
	prom_head("sluice_worker_accept_emfile_total", "counter",
	    "accept() failures for lack of file descriptors (EMFILE/ENFILE).");
	PROM_WORKERS(s, "sluice_worker_accept_emfile_total", "%llu",
	    (unsigned long long)w->accept_emfile);
	prom_head("sluice_worker_accept_pauses_total", "counter",
	    "Listener back-offs taken after running out of file descriptors.");
	PROM_WORKERS(s, "sluice_worker_accept_pauses_total", "%llu",
	    (unsigned long long)w->accept_pauses);
	prom_head("sluice_worker_regex_aborts_total", "counter",
	    "Regex searches that hit their limit (answered 500).");
	PROM_WORKERS(s, "sluice_worker_regex_aborts_total", "%llu",
	    (unsigned long long)w->regex_aborts);
	prom_head("sluice_worker_local_errors_total", "counter",
	    "Local resource failures while connecting to a source (answered 503).");
	PROM_WORKERS(s, "sluice_worker_local_errors_total", "%llu",
	    (unsigned long long)w->local_errors);
	prom_head("sluice_worker_loops_total", "counter",
	    "Requests refused as forwarding loops (508).");
	PROM_WORKERS(s, "sluice_worker_loops_total", "%llu", (unsigned long long)w->loops);
	prom_head("sluice_worker_tls_handshakes_total", "counter",
	    "TLS handshakes completed on listeners, by kind (full or resumed).");
	for (i = 0; i < s->nw; i++)
		printf("sluice_worker_tls_handshakes_total{worker=\"%u\",kind=\"full\"} %llu\n"
		    "sluice_worker_tls_handshakes_total{worker=\"%u\",kind=\"resumed\"} %llu\n",
		    s->workers[i].idx, (unsigned long long)s->workers[i].tls_full,
		    s->workers[i].idx, (unsigned long long)s->workers[i].tls_resumed);
	prom_head("sluice_worker_tls_failed_total", "counter",
	    "TLS handshakes on listeners that failed (alert, protocol error).");
	PROM_WORKERS(s, "sluice_worker_tls_failed_total", "%llu",
	    (unsigned long long)w->tls_failed);
	prom_head("sluice_worker_responses_total", "counter", "Responses by status class.");
	for (i = 0; i < s->nw; i++)
		for (k = 0; k < 5; k++)
			printf("sluice_worker_responses_total{worker=\"%u\",code=\"%dxx\"} %llu\n",
			    s->workers[i].idx, k + 1, (unsigned long long)s->workers[i].resp[k]);

	prom_head("sluice_worker_exchanges_total", "counter",
	    "Exchanges by how they ended (cause).");
	for (i = 0; i < s->nw; i++)
		for (k = 0; k < SHM_END__COUNT; k++)
			printf("sluice_worker_exchanges_total{worker=\"%u\",cause=\"%s\"} %llu\n",
			    s->workers[i].idx, shm_end_name((uint32_t)k),
			    (unsigned long long)s->workers[i].ends[k]);
}

/* Per-source series. */
static void
prom_sources(const struct stats_snap *s)
{
	static const char *const qname[3] = { "0.5", "0.9", "0.99" };
	uint32_t i;
	int k;

	prom_head("sluice_source_up", "gauge", "1 if the source is not marked down.");
	PROM_SOURCES(s, "sluice_source_up", "%d", o->up);
	prom_head("sluice_source_active_requests", "gauge", "Requests in flight to the source.");
	PROM_SOURCES(s, "sluice_source_active_requests", "%lld", (long long)o->active);
	prom_head("sluice_source_requests_total", "counter", "Requests sent to the source.");
	PROM_SOURCES(s, "sluice_source_requests_total", "%llu", (unsigned long long)o->requests);
	prom_head("sluice_source_failures_total", "counter",
	    "Connect errors, resets, timeouts and malformed responses.");
	PROM_SOURCES(s, "sluice_source_failures_total", "%llu", (unsigned long long)o->failures);
	prom_head("sluice_source_retries_total", "counter",
	    "Requests that failed on the source and were retried (elsewhere, or replayed).");
	PROM_SOURCES(s, "sluice_source_retries_total", "%llu", (unsigned long long)o->retries);
	prom_head("sluice_source_received_bytes_total", "counter",
	    "Bytes received from the source.");
	PROM_SOURCES(s, "sluice_source_received_bytes_total", "%llu",
	    (unsigned long long)o->bytes_in);
	prom_head("sluice_source_sent_bytes_total", "counter", "Bytes sent to the source.");
	PROM_SOURCES(s, "sluice_source_sent_bytes_total", "%llu", (unsigned long long)o->bytes_out);
	prom_head("sluice_source_responses_total", "counter", "Responses by status class.");
	for (i = 0; i < s->ns; i++) {
		const struct stats_source *o = &s->sources[i];

		if (!o->live)
			continue;
		for (k = 0; k < 5; k++) {
			printf("sluice_source_responses_total{source=");
			prom_label(o->name);
			printf(",code=\"%dxx\"} %llu\n", k + 1, (unsigned long long)o->resp[k]);
		}
	}
	prom_head("sluice_source_response_seconds", "summary",
	    "Time to the response head from the source.");
	for (i = 0; i < s->ns; i++) {
		const struct stats_source *o = &s->sources[i];
		const double q[3] = { o->p50_us, o->p90_us, o->p99_us };

		if (!o->live)
			continue;
		for (k = 0; k < 3; k++) {
			printf("sluice_source_response_seconds{source=");
			prom_label(o->name);
			if (o->lat_count == 0)
				printf(",quantile=\"%s\"} NaN\n", qname[k]);
			else
				printf(",quantile=\"%s\"} %.6f\n", qname[k], q[k] / 1e6);
		}
		printf("sluice_source_response_seconds_sum{source=");
		prom_label(o->name);
		printf("} %.6f\n", (double)o->lat_sum_us / 1e6);
		printf("sluice_source_response_seconds_count{source=");
		prom_label(o->name);
		printf("} %llu\n", (unsigned long long)o->lat_count);
	}
	prom_head("sluice_source_exchanges_total", "counter",
	    "Exchanges that used the source, by how they ended (cause).");
	for (i = 0; i < s->ns; i++) {
		const struct stats_source *o = &s->sources[i];

		if (!o->live)
			continue;
		for (k = 0; k < SHM_END__COUNT; k++) {
			printf("sluice_source_exchanges_total{source=");
			prom_label(o->name);
			printf(",cause=\"%s\"} %llu\n", shm_end_name((uint32_t)k),
			    (unsigned long long)o->ends[k]);
		}
	}
}
