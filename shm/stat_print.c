/*
 * sluice-stat's three outputs from one snapshot (totals, workers, sources,
 * routes with their max_conns queues): the table, one JSON document, and the
 * Prometheus text exposition format. Everything goes to the FILE given, with
 * no global state, so a worker may print into a memory stream as often as it
 * likes.
 */
#include "shm/stat_print.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/version.h"
#include "shm/shm.h"
#include "shm/stats.h"

#define CELL_LEN	(SHM_PATH_LEN + 16)	/* one table cell, a route's path included */
#define WCOLS		6			/* worker table columns */
#define SCOLS		17			/* source table columns */
#define RCOLS		8			/* route table columns */

/* A table column: heading, alignment, and its width (from the data). */
struct col {
	const char	*head;
	int		 left;		/* 1: left-aligned text, 0: right-aligned number */
	int		 width;
};

enum unit { U_COUNT = 0, U_BYTES };

static const char *human(uint64_t v, enum unit u, char *buf, size_t len);
static const char *ms_str(double us, char *buf, size_t len);
static const char *printable(const char *in, char *buf, size_t len);
static void	worker_cells(const struct stats_worker *w, char c[WCOLS][CELL_LEN]);
static void	source_cells(const struct stats_source *o, char c[SCOLS][CELL_LEN]);
static void	route_cells(const struct stats_route *o, char c[RCOLS][CELL_LEN]);
static void	route_path(const struct stats_route *o, char *buf, size_t len);
static void	table_routes(FILE *out, const struct stats_snap *s);
static void	widen(struct col *cols, int n, char c[][CELL_LEN]);
static void	put_row(FILE *out, const struct col *cols, int n, char c[][CELL_LEN]);
static void	put_uptime(FILE *out, const struct stats_snap *s);
static void	json_str(FILE *out, const char *v);
static void	json_rate(FILE *out, double r);
static void	json_resp(FILE *out, const uint64_t *resp);
static void	json_guards(FILE *out, uint64_t emfile, uint64_t pauses, uint64_t regex,
		    uint64_t local, uint64_t loops);
static void	json_tls(FILE *out, uint64_t full, uint64_t resumed, uint64_t failed);
static void	json_ends(FILE *out, const uint64_t *ends);
static void	json_workers(FILE *out, const struct stats_snap *s);
static void	prom_label(FILE *out, const char *v);
static void	prom_head(FILE *out, const char *name, const char *type, const char *help);
static void	prom_wlabels(FILE *out, const char *metric, const struct stats_worker *w, int old);
static void	prom_workers(FILE *out, const struct stats_snap *s);
static void	prom_sources(FILE *out, const struct stats_snap *s);
static void	prom_routes(FILE *out, const struct stats_snap *s);
static void	json_routes(FILE *out, const struct stats_snap *s);
static void	prom_latency(FILE *out, const struct stats_source *o);

/* ---- table ---- */

/*
 * A count or a byte count for a narrow column: exact below 10000, else with
 * one decimal and a unit. Counts use SI prefixes (k = 1000, M = 10^6 ...),
 * bytes binary ones (Ki = 1024, Mi = 2^20 ...), so neither can be misread.
 */
static const char *
human(uint64_t v, enum unit u, char *buf, size_t len)
{
	static const char *const si[] = { "k", "M", "G", "T", "P", "E" };
	static const char *const iec[] = { "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
	double base = u == U_BYTES ? 1024 : 1000, d = (double)v;
	int k = -1;

	if (v < 10000) {
		snprintf(buf, len, "%llu", (unsigned long long)v);
		return buf;
	}
	/* 999.95 would print as "1000.0": take the next unit instead. */
	while (d >= 999.95 && k < 5) {
		d /= base;
		k++;
	}
	snprintf(buf, len, "%.1f%s", d, u == U_BYTES ? iec[k] : si[k]);
	return buf;
}

/* Milliseconds to 3 significant digits, whole ones from 1000 on (never
 * "2.5e+03"); "-" for none. */
static const char *
ms_str(double us, char *buf, size_t len)
{
	if (us <= 0)
		snprintf(buf, len, "-");
	else if (us >= 999500)
		snprintf(buf, len, "%.0f", us / 1000.0);
	else
		snprintf(buf, len, "%.3g", us / 1000.0);
	return buf;
}

/*
 * A name with control and non-ASCII bytes shown as '?', so it can neither
 * break the table nor take fewer columns than bytes (configured names are
 * ASCII; a scribbled segment need not be).
 */
static const char *
printable(const char *in, char *buf, size_t len)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < len; i++)
		buf[i] = (unsigned char)in[i] < 0x20 || (unsigned char)in[i] >= 0x7f ? '?' : in[i];
	buf[i] = '\0';
	return buf;
}

static void
worker_cells(const struct stats_worker *w, char c[WCOLS][CELL_LEN])
{
	snprintf(c[0], CELL_LEN, "%u", w->idx);
	snprintf(c[1], CELL_LEN, "%d", (int)w->pid);
	snprintf(c[2], CELL_LEN, "%s", stats_worker_state(w));
	snprintf(c[3], CELL_LEN, "%lld", (long long)w->conns_open);
	snprintf(c[4], CELL_LEN, "%llu", (unsigned long long)w->requests);
	if (w->req_s >= 0)
		snprintf(c[5], CELL_LEN, "%.1f", w->req_s);
	else
		snprintf(c[5], CELL_LEN, "-");
}

static void
source_cells(const struct stats_source *o, char c[SCOLS][CELL_LEN])
{
	uint32_t k;

	printable(o->name, c[0], CELL_LEN);
	snprintf(c[1], CELL_LEN, "%s", o->up ? "up" : "down");
	snprintf(c[2], CELL_LEN, "%lld", (long long)o->active);
	/* connections open, "/max" with a max_conns budget */
	if (o->max_conns > 0)
		snprintf(c[3], CELL_LEN, "%lld/%u", (long long)o->conns, o->max_conns);
	else
		snprintf(c[3], CELL_LEN, "%lld", (long long)o->conns);
	snprintf(c[4], CELL_LEN, "%lld", (long long)o->queued);
	snprintf(c[5], CELL_LEN, "%llu", (unsigned long long)o->requests);
	for (k = 0; k < 5; k++)
		human(o->resp[k], U_COUNT, c[6 + k], CELL_LEN);
	human(o->failures, U_COUNT, c[11], CELL_LEN);
	human(o->bytes_in, U_BYTES, c[12], CELL_LEN);
	human(o->bytes_out, U_BYTES, c[13], CELL_LEN);
	ms_str(o->p50_us, c[14], CELL_LEN);
	ms_str(o->p90_us, c[15], CELL_LEN);
	ms_str(o->p99_us, c[16], CELL_LEN);
}

/* A route's path as the table and Prometheus show it: "~" before a regex. */
static void
route_path(const struct stats_route *o, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", o->regex ? "~" : "", o->path);
}

static void
route_cells(const struct stats_route *o, char c[RCOLS][CELL_LEN])
{
	char path[SHM_PATH_LEN + 1];

	printable(o->host, c[0], CELL_LEN);
	route_path(o, path, sizeof(path));
	printable(path, c[1], CELL_LEN);
	snprintf(c[2], CELL_LEN, "%s", stats_lb_name(o->balancer));
	snprintf(c[3], CELL_LEN, "%lld", (long long)o->queued);
	human(o->q_total, U_COUNT, c[4], CELL_LEN);
	human(o->q_timeouts, U_COUNT, c[5], CELL_LEN);
	ms_str(o->q_wait_avg_us, c[6], CELL_LEN);
	ms_str((double)o->q_wait_max_us, c[7], CELL_LEN);
}

/* Widens each column to hold its cell of this row. */
static void
widen(struct col *cols, int n, char c[][CELL_LEN])
{
	int k, len;

	for (k = 0; k < n; k++) {
		len = (int)strlen(c[k]);
		if (len > cols[k].width)
			cols[k].width = len;
	}
}

/* One row, columns one blank apart; no blanks after the last cell. */
static void
put_row(FILE *out, const struct col *cols, int n, char c[][CELL_LEN])
{
	int k;

	for (k = 0; k < n; k++) {
		if (k > 0)
			fputc(' ', out);
		if (cols[k].left && k < n - 1)
			fprintf(out, "%-*s", cols[k].width, c[k]);
		else if (cols[k].left)
			fputs(c[k], out);
		else
			fprintf(out, "%*s", cols[k].width, c[k]);
	}
}

static void
put_uptime(FILE *out, const struct stats_snap *s)
{
	uint64_t up = s->taken_ms > s->start_ms ? (s->taken_ms - s->start_ms) / 1000 : 0;

	fprintf(out, "up %lluh%02llum%02llus", (unsigned long long)(up / 3600),
	    (unsigned long long)(up / 60 % 60), (unsigned long long)(up % 60));
}

void
stat_print_table(FILE *out, const struct shm_seg *seg, const struct stats_snap *s)
{
	/* The minimum widths are the fixed widths of earlier versions. */
	struct col wc[WCOLS] = {
		{ "WORKER", 1, 6 }, { "PID", 1, 8 }, { "STATE", 1, 9 }, { "CONNS", 0, 7 },
		{ "REQUESTS", 0, 10 }, { "REQ/S", 0, 9 },
	};
	struct col sc[SCOLS] = {
		{ "SOURCE", 1, 6 }, { "HEALTH", 1, 6 }, { "ACTIVE", 0, 6 }, { "CONNS", 0, 5 },
		{ "QUEUED", 0, 6 }, { "REQUESTS", 0, 10 },
		{ "1XX", 0, 7 }, { "2XX", 0, 7 }, { "3XX", 0, 7 }, { "4XX", 0, 7 }, { "5XX", 0, 7 },
		{ "FAILS", 0, 7 }, { "IN", 0, 8 }, { "OUT", 0, 8 }, { "P50MS", 0, 7 },
		{ "P90MS", 0, 7 }, { "P99MS", 0, 7 },
	};
	char b1[32], b2[32], b3[32], c[SCOLS][CELL_LEN];
	const struct stats_totals *t = &s->tot;
	const struct stats_snap *old = s->oldbin;
	uint32_t i, k;

	fprintf(out, "sluice shm %s  layout %u.%u  master pid %d%s  conf gen %u  ", seg->name,
	    s->ver_major, s->ver_minor, (int)s->master_pid,
	    s->master_alive ? "" : " (not running: stale segment)", s->conf_gen);
	put_uptime(out, s);
	fprintf(out, "%s\n", s->torn ? "  (tables changing)" : "");
	fprintf(out, "requests %llu", (unsigned long long)t->requests);
	if (t->req_s >= 0)
		fprintf(out, "  req/s %.1f", t->req_s);
	fprintf(out, "  conns %lld open / %s total  in %s  out %s  active %lld  errors %llu\n",
	    (long long)t->conns_open, human(t->conns_total, U_COUNT, b1, sizeof(b1)),
	    human(t->bytes_in, U_BYTES, b2, sizeof(b2)),
	    human(t->bytes_out, U_BYTES, b3, sizeof(b3)), (long long)t->active,
	    (unsigned long long)t->errors);
	fprintf(out, "guards accept_emfile %llu (pauses %llu)  regex_aborts %llu  "
	    "local_errors %llu  loops %llu  rate_limit_evictions %llu\n",
	    (unsigned long long)t->accept_emfile,
	    (unsigned long long)t->accept_pauses, (unsigned long long)t->regex_aborts,
	    (unsigned long long)t->local_errors, (unsigned long long)t->loops,
	    (unsigned long long)t->rl_evictions);
	fprintf(out, "tls handshakes full %llu  resumed %llu  failed %llu\n",
	    (unsigned long long)t->tls_full, (unsigned long long)t->tls_resumed,
	    (unsigned long long)t->tls_failed);
	fprintf(out, "responses 1xx %llu  2xx %llu  3xx %llu  4xx %llu  5xx %llu\n",
	    (unsigned long long)t->resp[0], (unsigned long long)t->resp[1],
	    (unsigned long long)t->resp[2], (unsigned long long)t->resp[3],
	    (unsigned long long)t->resp[4]);
	fprintf(out, "ends");
	for (k = 0; k < SHM_END__COUNT; k++)
		if (t->ends[k] != 0 || k == SHM_END_OK)
			fprintf(out, " %s %llu", shm_end_name(k), (unsigned long long)t->ends[k]);
	fprintf(out, "\n\n");

	/* Widths first, over both binaries' rows, so they line up under one heading. */
	for (k = 0; k < WCOLS; k++)
		snprintf(c[k], CELL_LEN, "%s", wc[k].head);
	widen(wc, WCOLS, c);
	for (i = 0; i < s->nw; i++) {
		worker_cells(&s->workers[i], c);
		widen(wc, WCOLS, c);
	}
	for (i = 0; old != NULL && i < old->nw; i++) {
		worker_cells(&old->workers[i], c);
		widen(wc, WCOLS, c);
	}
	for (k = 0; k < WCOLS; k++)
		snprintf(c[k], CELL_LEN, "%s", wc[k].head);
	put_row(out, wc, WCOLS, c);
	fputc('\n', out);
	for (i = 0; i < s->nw; i++) {
		worker_cells(&s->workers[i], c);
		put_row(out, wc, WCOLS, c);
		fputc('\n', out);
	}
	if (old != NULL) {
		/* A binary upgrade in progress: the old master's workers still serve. */
		fprintf(out, "old binary  master pid %d  conf gen %u  ", (int)old->master_pid,
		    old->conf_gen);
		put_uptime(out, old);
		fprintf(out, "  requests %llu\n", (unsigned long long)old->tot.requests);
		for (i = 0; i < old->nw; i++) {
			worker_cells(&old->workers[i], c);
			put_row(out, wc, WCOLS, c);
			fputc('\n', out);
		}
	}

	for (k = 0; k < SCOLS; k++)
		snprintf(c[k], CELL_LEN, "%s", sc[k].head);
	widen(sc, SCOLS, c);
	for (i = 0; i < s->ns; i++) {
		if (!s->sources[i].live)
			continue;
		source_cells(&s->sources[i], c);
		widen(sc, SCOLS, c);
	}
	fputc('\n', out);
	for (k = 0; k < SCOLS; k++)
		snprintf(c[k], CELL_LEN, "%s", sc[k].head);
	put_row(out, sc, SCOLS, c);
	fputc('\n', out);
	for (i = 0; i < s->ns; i++) {
		const struct stats_source *o = &s->sources[i];

		if (!o->live)
			continue;
		source_cells(o, c);
		put_row(out, sc, SCOLS, c);
		if (!o->up)
			fprintf(out, "  (%s)", stats_reason_name(o->reason));
		fputc('\n', out);
	}
	table_routes(out, s);
}

/* The current configuration's routes with their max_conns queues. */
static void
table_routes(FILE *out, const struct stats_snap *s)
{
	struct col rc[RCOLS] = {
		{ "HOST", 1, 4 }, { "PATH", 1, 4 }, { "BALANCER", 1, 8 }, { "QUEUED", 0, 6 },
		{ "WAITED", 0, 7 }, { "TIMEOUTS", 0, 8 }, { "AVGMS", 0, 7 }, { "MAXMS", 0, 7 },
	};
	char c[RCOLS][CELL_LEN];
	uint32_t i, k;

	if (s->nr == 0)
		return;
	for (k = 0; k < RCOLS; k++)
		snprintf(c[k], CELL_LEN, "%s", rc[k].head);
	widen(rc, RCOLS, c);
	for (i = 0; i < s->nr; i++) {
		route_cells(&s->routes[i], c);
		widen(rc, RCOLS, c);
	}
	fputc('\n', out);
	for (k = 0; k < RCOLS; k++)
		snprintf(c[k], CELL_LEN, "%s", rc[k].head);
	put_row(out, rc, RCOLS, c);
	fputc('\n', out);
	for (i = 0; i < s->nr; i++) {
		route_cells(&s->routes[i], c);
		put_row(out, rc, RCOLS, c);
		fputc('\n', out);
	}
}

/* ---- JSON ---- */

static void
json_str(FILE *out, const char *v)
{
	const unsigned char *p;

	fputc('"', out);
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void
json_rate(FILE *out, double r)
{
	if (r < 0 || !isfinite(r))
		fputs("null", out);
	else
		fprintf(out, "%.3f", r);
}

/* Appended to an object: ", \"tls\": {...}". */
static void
json_tls(FILE *out, uint64_t full, uint64_t resumed, uint64_t failed)
{
	fprintf(out, ", \"tls\": {\"full\": %llu, \"resumed\": %llu, \"failed\": %llu}",
	    (unsigned long long)full, (unsigned long long)resumed, (unsigned long long)failed);
}

/* The guard counters, as JSON members without braces. */
static void
json_guards(FILE *out, uint64_t emfile, uint64_t pauses, uint64_t regex, uint64_t local,
    uint64_t loops)
{
	fprintf(out, "\"accept_emfile\": %llu, \"accept_pauses\": %llu, \"regex_aborts\": %llu, "
	    "\"local_errors\": %llu, \"loops\": %llu", (unsigned long long)emfile,
	    (unsigned long long)pauses, (unsigned long long)regex, (unsigned long long)local,
	    (unsigned long long)loops);
}

/* "ends": {"ok": n, ...}, by enum shm_end, as a JSON member. */
static void
json_ends(FILE *out, const uint64_t *ends)
{
	uint32_t k;

	fprintf(out, "\"ends\": {");
	for (k = 0; k < SHM_END__COUNT; k++)
		fprintf(out, "%s\"%s\": %llu", k ? ", " : "", shm_end_name(k),
		    (unsigned long long)ends[k]);
	fputc('}', out);
}

static void
json_resp(FILE *out, const uint64_t *resp)
{
	fprintf(out, "{\"1xx\": %llu, \"2xx\": %llu, \"3xx\": %llu, \"4xx\": %llu, "
	    "\"5xx\": %llu}", (unsigned long long)resp[0], (unsigned long long)resp[1],
	    (unsigned long long)resp[2], (unsigned long long)resp[3],
	    (unsigned long long)resp[4]);
}

/* "[ {worker}, ... ]" of s, without the member name. */
static void
json_workers(FILE *out, const struct stats_snap *s)
{
	uint32_t i;

	fputc('[', out);
	for (i = 0; i < s->nw; i++) {
		const struct stats_worker *w = &s->workers[i];

		fprintf(out, "%s\n  {\"index\": %u, \"pid\": %d, \"state\": \"%s\", "
		    "\"conns_open\": %lld, \"conns_total\": %llu, \"requests\": %llu, "
		    "\"requests_per_sec\": ",
		    i ? "," : "", w->idx, (int)w->pid, stats_worker_state(w),
		    (long long)w->conns_open, (unsigned long long)w->conns_total,
		    (unsigned long long)w->requests);
		json_rate(out, w->req_s);
		fprintf(out, ", \"bytes_in\": %llu, \"bytes_out\": %llu, \"responses\": ",
		    (unsigned long long)w->bytes_in, (unsigned long long)w->bytes_out);
		json_resp(out, w->resp);
		fprintf(out, ", ");
		json_guards(out, w->accept_emfile, w->accept_pauses, w->regex_aborts,
		    w->local_errors, w->loops);
		json_tls(out, w->tls_full, w->tls_resumed, w->tls_failed);
		fprintf(out, ", \"rate_limit_evictions\": %llu", (unsigned long long)w->rl_evictions);
		fprintf(out, ", ");
		json_ends(out, w->ends);
		fprintf(out, ", \"errors\": %llu, \"conf_gen\": %llu, \"spawns\": %llu, "
		    "\"heartbeat_age_ms\": %llu}", (unsigned long long)w->errors,
		    (unsigned long long)w->conf_gen, (unsigned long long)w->spawns,
		    (unsigned long long)(w->pid != 0 && s->taken_ms > w->heartbeat_ms
		    ? s->taken_ms - w->heartbeat_ms : 0));
	}
	fprintf(out, "%s]", s->nw ? "\n " : "");
}

/* ",\n \"routes\": [...]": the current configuration's routes and their queues. */
static void
json_routes(FILE *out, const struct stats_snap *s)
{
	uint32_t i;

	fprintf(out, ",\n \"routes\": [");
	for (i = 0; i < s->nr; i++) {
		const struct stats_route *o = &s->routes[i];

		fprintf(out, "%s\n  {\"host\": ", i ? "," : "");
		json_str(out, o->host);
		fprintf(out, ", \"path\": ");
		json_str(out, o->path);
		fprintf(out, ", \"regex\": %s, \"balancer\": \"%s\", \"queued\": %lld, "
		    "\"queue_total\": %llu, \"queue_timeouts\": %llu, \"queue_waits_ended\": %llu, "
		    "\"queue_wait_seconds_sum\": %.6f, \"queue_wait_avg_seconds\": %.6f, "
		    "\"queue_wait_max_seconds\": %.6f}", o->regex ? "true" : "false",
		    stats_lb_name(o->balancer), (long long)o->queued,
		    (unsigned long long)o->q_total, (unsigned long long)o->q_timeouts,
		    (unsigned long long)o->q_ended, (double)o->q_wait_us / 1e6,
		    o->q_wait_avg_us / 1e6, (double)o->q_wait_max_us / 1e6);
	}
	fprintf(out, "%s]", s->nr ? "\n " : "");
}

void
stat_print_json(FILE *out, const struct shm_seg *seg, const struct stats_snap *s)
{
	const struct stats_totals *t = &s->tot;
	const struct stats_snap *old = s->oldbin;
	uint32_t i, n;

	fprintf(out, "{\"reader_version\": \"%s\", \"shm\": ", SLUICE_VERSION);
	json_str(out, seg->name);
	fprintf(out, ", \"layout\": \"%u.%u\", \"master_pid\": %d, \"master_alive\": %s, "
	    "\"conf_gen\": %u, \"start_time\": %llu, \"uptime_s\": %llu, \"torn\": %s,\n",
	    s->ver_major, s->ver_minor, (int)s->master_pid, s->master_alive ? "true" : "false",
	    s->conf_gen, (unsigned long long)s->start_time,
	    (unsigned long long)(s->taken_ms > s->start_ms
	    ? (s->taken_ms - s->start_ms) / 1000 : 0), s->torn ? "true" : "false");
	fprintf(out, " \"totals\": {\"requests\": %llu, \"requests_per_sec\": ",
	    (unsigned long long)t->requests);
	json_rate(out, t->req_s);
	fprintf(out, ", \"conns_open\": %lld, \"conns_total\": %llu, \"bytes_in\": %llu, "
	    "\"bytes_out\": %llu, \"responses\": ", (long long)t->conns_open,
	    (unsigned long long)t->conns_total, (unsigned long long)t->bytes_in,
	    (unsigned long long)t->bytes_out);
	json_resp(out, t->resp);
	fprintf(out, ", \"errors\": %llu, \"active\": %lld, \"workers_running\": %u, "
	    "\"workers_stalled\": %u, \"workers_configured\": %u, ",
	    (unsigned long long)t->errors, (long long)t->active, t->workers_running,
	    t->workers_stalled, s->nworkers);
	json_guards(out, t->accept_emfile, t->accept_pauses, t->regex_aborts, t->local_errors,
	    t->loops);
	json_tls(out, t->tls_full, t->tls_resumed, t->tls_failed);
	fprintf(out, ", \"rate_limit_evictions\": %llu, ", (unsigned long long)t->rl_evictions);
	json_ends(out, t->ends);
	fprintf(out, "},\n");

	fprintf(out, " \"workers\": ");
	json_workers(out, s);
	fprintf(out, ",\n \"sources\": [");
	for (i = n = 0; i < s->ns; i++) {
		const struct stats_source *o = &s->sources[i];

		if (!o->live)
			continue;
		fprintf(out, "%s\n  {\"name\": ", n++ ? "," : "");
		json_str(out, o->name);
		fprintf(out, ", \"address\": ");
		json_str(out, o->addr);
		fprintf(out, ", \"weight\": %u, \"backup\": %s, \"health\": \"%s\", "
		    "\"reason\": \"%s\", \"active\": %lld, \"requests\": %llu, "
		    "\"requests_per_sec\": ", o->weight, o->backup ? "true" : "false",
		    o->up ? "up" : "down", stats_reason_name(o->reason), (long long)o->active,
		    (unsigned long long)o->requests);
		json_rate(out, o->req_s);
		fprintf(out, ", \"responses\": ");
		json_resp(out, o->resp);
		fprintf(out, ", \"failures\": %llu, \"retries\": %llu, \"bytes_in\": %llu, "
		    "\"bytes_out\": %llu, ", (unsigned long long)o->failures,
		    (unsigned long long)o->retries, (unsigned long long)o->bytes_in,
		    (unsigned long long)o->bytes_out);
		json_ends(out, o->ends);
		fprintf(out, ", \"latency_ms\": {\"count\": %llu, \"mean\": %.3f, \"p50\": %.3f, "
		    "\"p90\": %.3f, \"p99\": %.3f}, ", (unsigned long long)o->lat_count,
		    o->lat_count ? (double)o->lat_sum_us / (double)o->lat_count / 1000.0 : 0.0,
		    o->p50_us / 1000.0, o->p90_us / 1000.0, o->p99_us / 1000.0);
		fprintf(out, "\"check\": {\"state\": \"%s\", \"fails\": %u, \"oks\": %u, "
		    "\"status\": %u, \"checks\": %llu}, \"down_until_s\": %u, ",
		    o->health.state == SHM_H_DOWN ? "down" : "up", o->health.fails, o->health.oks,
		    o->health.status, (unsigned long long)o->health.checks, o->down_until_s);
		fprintf(out, "\"conns\": %lld, \"max_conns\": %u, \"queued\": %lld, "
		    "\"conns_total\": %llu}", (long long)o->conns, o->max_conns,
		    (long long)o->queued, (unsigned long long)o->conns_total);
	}
	fprintf(out, "%s]", n ? "\n " : "");
	json_routes(out, s);
	if (old != NULL) {
		/* Only during a binary upgrade: the old master's segment, its workers. */
		fprintf(out, ",\n \"old_binary\": {\"master_pid\": %d, \"master_alive\": %s, "
		    "\"conf_gen\": %u, \"start_time\": %llu, \"requests\": %llu, \"workers\": ",
		    (int)old->master_pid, old->master_alive ? "true" : "false", old->conf_gen,
		    (unsigned long long)old->start_time, (unsigned long long)old->tot.requests);
		json_workers(out, old);
		fputc('}', out);
	}
	fprintf(out, "}\n");
}

/* ---- Prometheus text format 0.0.4 ---- */

/* Label values escape backslash, double quote and newline. */
static void
prom_label(FILE *out, const char *v)
{
	const char *p;

	fputc('"', out);
	for (p = v; *p != '\0'; p++) {
		if (*p == '\\' || *p == '"')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void
prom_head(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* 'metric{worker="N"' plus ',binary="old"' for the old master's; the caller closes. */
static void
prom_wlabels(FILE *out, const char *metric, const struct stats_worker *w, int old)
{
	fprintf(out, "%s{worker=\"%u\"%s", metric, w->idx, old ? ",binary=\"old\"" : "");
}

/* One sample per live source: name{source="x"} value. */
#define PROM_SOURCES(out, s, metric, fmt, expr) do {				\
	uint32_t i_;								\
	for (i_ = 0; i_ < (s)->ns; i_++) {					\
		const struct stats_source *o = &(s)->sources[i_];		\
		if (!o->live)							\
			continue;						\
		fprintf(out, "%s{source=", metric);				\
		prom_label(out, o->name);					\
		fprintf(out, "} " fmt "\n", expr);				\
	}									\
} while (0)

/* One sample per worker row, then per row of the old binary's (if any). */
#define PROM_WORKERS(out, s, metric, fmt, expr) do {				\
	const struct stats_snap *sn_ = (s);					\
	int old_;								\
	uint32_t i_;								\
	for (old_ = 0; old_ < 2 && sn_ != NULL; old_++, sn_ = sn_->oldbin)	\
		for (i_ = 0; i_ < sn_->nw; i_++) {				\
			const struct stats_worker *w = &sn_->workers[i_];	\
			prom_wlabels(out, metric, w, old_);			\
			fprintf(out, "} " fmt "\n", expr);			\
		}								\
} while (0)

void
stat_print_prom(FILE *out, const struct shm_seg *seg, const struct stats_snap *s)
{
	prom_head(out, "sluice_info", "gauge",
	    "Constant 1, labelled with the segment and its layout.");
	fprintf(out, "sluice_info{shm=");
	prom_label(out, seg->name);
	fprintf(out, ",layout=\"%u.%u\"} 1\n", s->ver_major, s->ver_minor);
	prom_head(out, "sluice_master_up", "gauge",
	    "1 if the master process of the segment is alive.");
	fprintf(out, "sluice_master_up %d\n", s->master_alive ? 1 : 0);
	prom_head(out, "sluice_start_time_seconds", "gauge",
	    "Unix time the master created the segment.");
	fprintf(out, "sluice_start_time_seconds %llu\n", (unsigned long long)s->start_time);
	prom_head(out, "sluice_config_generation", "gauge",
	    "Configuration generation, 1 at start.");
	fprintf(out, "sluice_config_generation %u\n", s->conf_gen);
	prom_head(out, "sluice_requests_total", "counter", "Requests answered by all workers.");
	fprintf(out, "sluice_requests_total %llu\n", (unsigned long long)s->tot.requests);

	prom_workers(out, s);
	prom_sources(out, s);
	prom_routes(out, s);
}

/* Per-worker series; during a binary upgrade the old master's carry binary="old". */
static void
prom_workers(FILE *out, const struct stats_snap *s)
{
	const struct stats_snap *sn;
	uint32_t i;
	int k, old;

	prom_head(out, "sluice_worker_running", "gauge", "1 if a process holds the worker slot.");
	PROM_WORKERS(out, s, "sluice_worker_running", "%d",
	    w->state == SHM_W_RUNNING || w->state == SHM_W_DRAINING ? 1 : 0);
	prom_head(out, "sluice_worker_stalled", "gauge",
	    "1 if the process holding the worker slot has not beaten for over 2 s.");
	PROM_WORKERS(out, s, "sluice_worker_stalled", "%d", w->stalled);
	prom_head(out, "sluice_worker_requests_total", "counter",
	    "Requests answered by the worker.");
	PROM_WORKERS(out, s, "sluice_worker_requests_total", "%llu",
	    (unsigned long long)w->requests);
	prom_head(out, "sluice_worker_connections", "gauge", "Client connections open.");
	PROM_WORKERS(out, s, "sluice_worker_connections", "%lld", (long long)w->conns_open);
	prom_head(out, "sluice_worker_connections_total", "counter",
	    "Client connections accepted.");
	PROM_WORKERS(out, s, "sluice_worker_connections_total", "%llu",
	    (unsigned long long)w->conns_total);
	prom_head(out, "sluice_worker_received_bytes_total", "counter",
	    "Bytes received from clients.");
	PROM_WORKERS(out, s, "sluice_worker_received_bytes_total", "%llu",
	    (unsigned long long)w->bytes_in);
	prom_head(out, "sluice_worker_sent_bytes_total", "counter", "Bytes sent to clients.");
	PROM_WORKERS(out, s, "sluice_worker_sent_bytes_total", "%llu",
	    (unsigned long long)w->bytes_out);
	prom_head(out, "sluice_worker_errors_total", "counter",
	    "Exchanges that ended other than complete (any cause but ok).");
	PROM_WORKERS(out, s, "sluice_worker_errors_total", "%llu", (unsigned long long)w->errors);
	prom_head(out, "sluice_worker_accept_emfile_total", "counter",
	    "accept() failures for lack of file descriptors (EMFILE/ENFILE).");
	PROM_WORKERS(out, s, "sluice_worker_accept_emfile_total", "%llu",
	    (unsigned long long)w->accept_emfile);
	prom_head(out, "sluice_worker_accept_pauses_total", "counter",
	    "Listener back-offs taken after running out of file descriptors.");
	PROM_WORKERS(out, s, "sluice_worker_accept_pauses_total", "%llu",
	    (unsigned long long)w->accept_pauses);
	prom_head(out, "sluice_worker_regex_aborts_total", "counter",
	    "Regex searches that hit their limit (answered 500).");
	PROM_WORKERS(out, s, "sluice_worker_regex_aborts_total", "%llu",
	    (unsigned long long)w->regex_aborts);
	prom_head(out, "sluice_worker_local_errors_total", "counter",
	    "Local resource failures while connecting to a source (answered 503).");
	PROM_WORKERS(out, s, "sluice_worker_local_errors_total", "%llu",
	    (unsigned long long)w->local_errors);
	prom_head(out, "sluice_worker_loops_total", "counter",
	    "Requests refused as forwarding loops (508).");
	PROM_WORKERS(out, s, "sluice_worker_loops_total", "%llu", (unsigned long long)w->loops);
	prom_head(out, "sluice_worker_tls_handshakes_total", "counter",
	    "TLS handshakes completed on listeners, by kind (full or resumed).");
	for (old = 0, sn = s; old < 2 && sn != NULL; old++, sn = sn->oldbin)
		for (i = 0; i < sn->nw; i++) {
			const struct stats_worker *w = &sn->workers[i];

			prom_wlabels(out, "sluice_worker_tls_handshakes_total", w, old);
			fprintf(out, ",kind=\"full\"} %llu\n", (unsigned long long)w->tls_full);
			prom_wlabels(out, "sluice_worker_tls_handshakes_total", w, old);
			fprintf(out, ",kind=\"resumed\"} %llu\n", (unsigned long long)w->tls_resumed);
		}
	prom_head(out, "sluice_worker_tls_failed_total", "counter",
	    "TLS handshakes on listeners that failed (alert, protocol error).");
	PROM_WORKERS(out, s, "sluice_worker_tls_failed_total", "%llu",
	    (unsigned long long)w->tls_failed);
	prom_head(out, "sluice_worker_rate_limit_evictions_total", "counter",
	    "rate_limit cells recycled for another client because the table was full.");
	PROM_WORKERS(out, s, "sluice_worker_rate_limit_evictions_total", "%llu",
	    (unsigned long long)w->rl_evictions);
	prom_head(out, "sluice_worker_responses_total", "counter", "Responses by status class.");
	for (old = 0, sn = s; old < 2 && sn != NULL; old++, sn = sn->oldbin)
		for (i = 0; i < sn->nw; i++)
			for (k = 0; k < 5; k++) {
				prom_wlabels(out, "sluice_worker_responses_total", &sn->workers[i],
				    old);
				fprintf(out, ",code=\"%dxx\"} %llu\n", k + 1,
				    (unsigned long long)sn->workers[i].resp[k]);
			}

	prom_head(out, "sluice_worker_exchanges_total", "counter",
	    "Exchanges by how they ended (cause).");
	for (old = 0, sn = s; old < 2 && sn != NULL; old++, sn = sn->oldbin)
		for (i = 0; i < sn->nw; i++)
			for (k = 0; k < SHM_END__COUNT; k++) {
				prom_wlabels(out, "sluice_worker_exchanges_total", &sn->workers[i],
				    old);
				fprintf(out, ",cause=\"%s\"} %llu\n", shm_end_name((uint32_t)k),
				    (unsigned long long)sn->workers[i].ends[k]);
			}
}

/*
 * The response-head latency as a Prometheus histogram at fixed bounds (le,
 * seconds). A log-linear bucket of the segment is counted under the first
 * bound at or above its upper edge, so no request is ever claimed faster
 * than it was (it may be claimed up to one bound slower); buckets past 10 s
 * only under +Inf. Summed over workers by stats_take(): it aggregates.
 */
static void
prom_latency(FILE *out, const struct stats_source *o)
{
	static const char *const le_str[] = {
		"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
		"0.5", "1", "2.5", "5", "10",
	};
	static const double le_us[] = {
		500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1e6,
		2.5e6, 5e6, 1e7,
	};
	enum { NLE = sizeof(le_us) / sizeof(le_us[0]) };
	uint64_t cum[NLE] = { 0 }, acc = 0;
	uint32_t b, j;

	for (b = 0; b < SHM_HIST_BUCKETS; b++) {
		double up = stats_bucket_upper(b);	/* INFINITY for the overflow bucket */

		for (j = 0; j < NLE && up > le_us[j]; j++)
			;
		if (j < NLE)
			cum[j] += o->hist[b];
	}
	for (j = 0; j < NLE; j++) {
		acc += cum[j];
		fprintf(out, "sluice_source_response_seconds_bucket{source=");
		prom_label(out, o->name);
		fprintf(out, ",le=\"%s\"} %llu\n", le_str[j], (unsigned long long)acc);
	}
	fprintf(out, "sluice_source_response_seconds_bucket{source=");
	prom_label(out, o->name);
	fprintf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)o->lat_count);
	fprintf(out, "sluice_source_response_seconds_sum{source=");
	prom_label(out, o->name);
	fprintf(out, "} %.6f\n", (double)o->lat_sum_us / 1e6);
	fprintf(out, "sluice_source_response_seconds_count{source=");
	prom_label(out, o->name);
	fprintf(out, "} %llu\n", (unsigned long long)o->lat_count);
}

/* Per-source series. */
static void
prom_sources(FILE *out, const struct stats_snap *s)
{
	uint32_t i;
	int k, any;

	prom_head(out, "sluice_source_up", "gauge", "1 if the source is not marked down.");
	PROM_SOURCES(out, s, "sluice_source_up", "%d", o->up);
	prom_head(out, "sluice_source_active_requests", "gauge",
	    "Requests in flight to the source.");
	PROM_SOURCES(out, s, "sluice_source_active_requests", "%lld", (long long)o->active);
	prom_head(out, "sluice_source_connections", "gauge",
	    "Connections open to the source, all workers, busy and pooled.");
	PROM_SOURCES(out, s, "sluice_source_connections", "%lld", (long long)o->conns);
	/* Only sources with a budget have a sample; no family without samples. */
	for (i = 0, any = 0; i < s->ns; i++)
		any |= s->sources[i].live && s->sources[i].max_conns > 0;
	if (any)
		prom_head(out, "sluice_source_max_connections", "gauge",
		    "The source's max_conns budget, all workers together (only when set).");
	for (i = 0; i < s->ns; i++) {
		const struct stats_source *o = &s->sources[i];

		if (!o->live || o->max_conns == 0)
			continue;
		fprintf(out, "sluice_source_max_connections{source=");
		prom_label(out, o->name);
		fprintf(out, "} %u\n", o->max_conns);
	}
	prom_head(out, "sluice_source_connections_opened_total", "counter",
	    "Connections opened to the source, all workers.");
	PROM_SOURCES(out, s, "sluice_source_connections_opened_total", "%llu",
	    (unsigned long long)o->conns_total);
	prom_head(out, "sluice_source_queued", "gauge",
	    "Requests waiting for a max_conns slot that the source could take.");
	PROM_SOURCES(out, s, "sluice_source_queued", "%lld", (long long)o->queued);
	prom_head(out, "sluice_source_requests_total", "counter", "Requests sent to the source.");
	PROM_SOURCES(out, s, "sluice_source_requests_total", "%llu",
	    (unsigned long long)o->requests);
	prom_head(out, "sluice_source_failures_total", "counter",
	    "Connect errors, resets, timeouts and malformed responses.");
	PROM_SOURCES(out, s, "sluice_source_failures_total", "%llu",
	    (unsigned long long)o->failures);
	prom_head(out, "sluice_source_retries_total", "counter",
	    "Requests that failed on the source and were retried (elsewhere, or replayed).");
	PROM_SOURCES(out, s, "sluice_source_retries_total", "%llu",
	    (unsigned long long)o->retries);
	prom_head(out, "sluice_source_received_bytes_total", "counter",
	    "Bytes received from the source.");
	PROM_SOURCES(out, s, "sluice_source_received_bytes_total", "%llu",
	    (unsigned long long)o->bytes_in);
	prom_head(out, "sluice_source_sent_bytes_total", "counter", "Bytes sent to the source.");
	PROM_SOURCES(out, s, "sluice_source_sent_bytes_total", "%llu",
	    (unsigned long long)o->bytes_out);
	prom_head(out, "sluice_source_responses_total", "counter", "Responses by status class.");
	for (i = 0; i < s->ns; i++) {
		const struct stats_source *o = &s->sources[i];

		if (!o->live)
			continue;
		for (k = 0; k < 5; k++) {
			fprintf(out, "sluice_source_responses_total{source=");
			prom_label(out, o->name);
			fprintf(out, ",code=\"%dxx\"} %llu\n", k + 1,
			    (unsigned long long)o->resp[k]);
		}
	}
	prom_head(out, "sluice_source_response_seconds", "histogram",
	    "Time to the response head from the source (a request is counted under the "
	    "first bound at or above its latency bucket's upper edge: never too fast).");
	for (i = 0; i < s->ns; i++)
		if (s->sources[i].live)
			prom_latency(out, &s->sources[i]);
	prom_head(out, "sluice_source_exchanges_total", "counter",
	    "Exchanges that used the source, by how they ended (cause).");
	for (i = 0; i < s->ns; i++) {
		const struct stats_source *o = &s->sources[i];

		if (!o->live)
			continue;
		for (k = 0; k < SHM_END__COUNT; k++) {
			fprintf(out, "sluice_source_exchanges_total{source=");
			prom_label(out, o->name);
			fprintf(out, ",cause=\"%s\"} %llu\n", shm_end_name((uint32_t)k),
			    (unsigned long long)o->ends[k]);
		}
	}
}

/* One sample per route that can match: name{host="h",path="p"} value. */
#define PROM_ROUTES(out, s, metric, suffix, fmt, expr) do {			\
	char p_[SHM_PATH_LEN + 1];						\
	uint32_t i_;								\
	for (i_ = 0; i_ < (s)->nr; i_++) {					\
		const struct stats_route *o = &(s)->routes[i_];		\
		if (o->shadowed)						\
			continue;						\
		route_path(o, p_, sizeof(p_));					\
		fprintf(out, "%s%s{host=", metric, suffix);			\
		prom_label(out, o->host);					\
		fprintf(out, ",path=");						\
		prom_label(out, p_);						\
		fprintf(out, "} " fmt "\n", expr);				\
	}									\
} while (0)

/*
 * Per-route series of the max_conns queue, labelled host and path ("~" before
 * a regex). A route whose host and path repeat an earlier one's never matches
 * (first match wins) and is left out, so no two samples share labels.
 */
static void
prom_routes(FILE *out, const struct stats_snap *s)
{
	if (s->nr == 0)
		return;	/* no route listed: no family without samples */
	prom_head(out, "sluice_route_queued", "gauge",
	    "Requests of the route waiting for a max_conns slot now.");
	PROM_ROUTES(out, s, "sluice_route_queued", "", "%lld", (long long)o->queued);
	prom_head(out, "sluice_route_queue_total", "counter",
	    "Requests of the route that had to wait for a max_conns slot.");
	PROM_ROUTES(out, s, "sluice_route_queue_total", "", "%llu",
	    (unsigned long long)o->q_total);
	prom_head(out, "sluice_route_queue_timeouts_total", "counter",
	    "Waiting requests answered 503 after the route's queue_timeout.");
	PROM_ROUTES(out, s, "sluice_route_queue_timeouts_total", "", "%llu",
	    (unsigned long long)o->q_timeouts);
	/* A summary without quantiles: _sum and _count of the waits that ended. */
	prom_head(out, "sluice_route_queue_wait_seconds", "summary",
	    "Time waited in the route's queue, by the waits that ended (served, timed out, "
	    "or the client gone).");
	PROM_ROUTES(out, s, "sluice_route_queue_wait_seconds", "_sum", "%.6f",
	    (double)o->q_wait_us / 1e6);
	PROM_ROUTES(out, s, "sluice_route_queue_wait_seconds", "_count", "%llu",
	    (unsigned long long)o->q_ended);
	prom_head(out, "sluice_route_queue_wait_max_seconds", "gauge",
	    "The longest wait in the route's queue since the start.");
	PROM_ROUTES(out, s, "sluice_route_queue_wait_max_seconds", "", "%.6f",
	    (double)o->q_wait_max_us / 1e6);
}
