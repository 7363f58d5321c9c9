/*
 * Where every exchange ends: one function records how (cause) and where
 * (phase), moves the shm counters (per worker and per source) and writes
 * the access-log line with a two-letter termination code, after HAProxy's
 * session state at disconnection. Responses sluice made itself count like
 * proxied ones.
 */
#include <stdio.h>
#include <string.h>

#include "common/http1.h"
#include "common/iobuf.h"
#include "shm/shm.h"
#include "worker/alog.h"
#include "worker/cconn.h"
#include "worker/exch.h"
#include "worker/tls.h"
#include "worker/worker-t.h"

/* First letter of the termination code, by enum shm_end (see layout.h). */
static const char cause_letters[SHM_END__COUNT] = {
	[SHM_END_OK] = '-',
	[SHM_END_CLI_ABORT] = 'C',
	[SHM_END_CLI_TIMEOUT] = 'c',
	[SHM_END_CLI_BAD] = 'P',
	[SHM_END_CLI_ERROR] = 'E',
	[SHM_END_NO_ROUTE] = 'N',
	[SHM_END_SRV_CONNECT] = 'S',
	[SHM_END_SRV_RESET] = 'R',
	[SHM_END_SRV_TIMEOUT] = 's',
	[SHM_END_SRV_MALFORMED] = 'M',
	[SHM_END_LOCAL] = 'L',
	[SHM_END_INTERNAL] = 'I',
	[SHM_END_LOOP] = 'V',
	[SHM_END_KILLED] = 'K',
};

static size_t	copy_esc(char *dst, size_t cap, const char *p, uint32_t len);
static void	access_line(struct cconn *c, char term[3]);

char
xend_cause_letter(enum shm_end cause)
{
	return (unsigned)cause < SHM_END__COUNT ? cause_letters[cause] : '?';
}

/*
 * Second letter: the phase the exchange was in. R request head, C connect
 * to a source, H waiting for the response head, D response body, T tunnel,
 * - complete.
 */
char
xend_phase_letter(const struct cconn *c)
{
	const struct exch *x = c->x;

	if (c->state == CC_TUNNEL)
		return 'T';
	if (x == NULL || (c->state != CC_EXCH && c->state != CC_ERRRESP &&
	    c->next_state != CC_EXCH && c->next_state != CC_ERRRESP))
		return 'R';
	if (x->ups == UP_DONE)
		return '-';
	if (x->ours)
		return x->ups == UP_NONE ? 'R' : x->ups == UP_CONNECT ? 'C' : 'H';
	switch (x->ups) {
	case UP_NONE:
		return 'R';
	case UP_CONNECT:
		return 'C';
	case UP_SEND:
	case UP_RECV_HEAD:
		return 'H';
	default:
		return 'D';
	}
}

void
xend_finish(struct cconn *c, int reuse_up)
{
	struct worker *w = c->w;
	struct exch *x = c->x;
	enum shm_end cause = x->cause;
	char term[3];

	EXCH_CHECK(x);
	if (x->started) {
		struct shm_worker *sw = shm_worker(w->ho->shm, w->ho->shm_slot);
		int cls = shm_status_class(x->status ? x->status : 499);

		shm_add(&sw->requests, 1);
		if (cls >= 0)
			shm_add(&sw->resp[cls], 1);
		shm_add(&sw->bytes_out, x->bytes_sent);
		shm_add(&sw->ends[cause], 1);
		if (cause != SHM_END_OK)
			shm_add(&sw->errors, 1);
		if (x->src_idx >= 0)
			shm_add(&shm_wsrc(w->ho->shm, w->ho->shm_slot,
			    w->ho->src_slot[x->src_idx])->ends[cause], 1);
		if (w->alog.fd != -1) {
			term[0] = xend_cause_letter(cause);
			term[1] = x->ours && cause == SHM_END_OK ? '-' : xend_phase_letter(c);
			term[2] = '\0';
			access_line(c, term);
		}
	}
	backend_release(c, reuse_up && cause == SHM_END_OK);
	if (x->rb.area != NULL)
		freelist_put(&w->fl_buf, x->rb.area);
	x->magic = 0;
	freelist_put(&w->fl_exch, x);
	c->x = NULL;
}

/* Copies a view into dst for the access log: quotes and controls become '?'. */
static size_t
copy_esc(char *dst, size_t cap, const char *p, uint32_t len)
{
	size_t i, n = len < cap - 1 ? len : cap - 1;

	for (i = 0; i < n; i++)
		dst[i] = (p[i] == '"' || p[i] == '\\' || (unsigned char)p[i] < 0x20 ||
		    p[i] == 0x7f) ? '?' : p[i];
	dst[n] = '\0';
	return n + 1;
}

/*
 * The request's views do not outlive the exchange's buffer moves, so the
 * strings the access log needs are copied when the head is accepted.
 */
void
xend_copy_request(struct cconn *c, int raw)
{
	struct exch *x = c->x;
	const struct http1_req *q = &x->req;
	const struct http1_header *ref = NULL, *ua = NULL;
	const char *line = "-";
	uint32_t linelen = 1;
	size_t off;

	if (!raw) {
		ref = http1_find(q->headers, q->nheaders, "referer");
		ua = http1_find(q->headers, q->nheaders, "user-agent");
		line = q->line.p;
		linelen = q->line.len;
	} else if (c->in.area != NULL && c->in.data > 0) {
		const char *p = iobuf_ptr(&c->in), *nl = memchr(p, '\n', c->in.data);

		line = p;
		linelen = nl != NULL ? (uint32_t)(nl - p) : c->in.data;
	}
	while (linelen > 0 && (line[linelen - 1] == '\r' || line[linelen - 1] == '\n'))
		linelen--;
	off = copy_esc(x->alog_req, 300, line, linelen);
	off += copy_esc(x->alog_req + off, 100, ref ? ref->value.p : "-", ref ? ref->value.len : 1);
	copy_esc(x->alog_req + off, sizeof(x->alog_req) - off, ua ? ua->value.p : "-",
	    ua ? ua->value.len : 1);
}

/*
 * One access-log line: the combined format, then the source, the source's
 * status, the request and source times and the termination code.
 */
static void
access_line(struct cconn *c, char term[3])
{
	struct worker *w = c->w;
	struct exch *x = c->x;
	const char *line = x->alog_req, *ref = line + strlen(line) + 1, *ua = ref + strlen(ref) + 1;
	ev_tstamp now = ev_now(w->loop);
	char urt[32], ust[8], tls[200] = "";
	char *p = alog_reserve(&w->alog, 1024);
	int n;

	if (p == NULL)
		return;
	if (line[0] == '\0')
		line = "-";
	if (x->t_up_head > 0) {
		snprintf(urt, sizeof(urt), "%.3f", x->t_up_head - x->t_up_start);
		snprintf(ust, sizeof(ust), "%d", x->resp.status);
	} else {
		snprintf(urt, sizeof(urt), "-");
		snprintf(ust, sizeof(ust), "-");
	}
	if (c->xp.ops == &xport_tls) {
		memcpy(tls, " tls=", 5);
		tls_describe(&c->xp, tls + 5, sizeof(tls) - 5);
	}
	n = snprintf(p, 1024, "%s - - [%s] \"%s\" %d %llu \"%s\" \"%s\" src=%s ustatus=%s rt=%.3f "
	    "urt=%s term=%s%s\n", c->peer, alog_stamp(&w->alog, now), line,
	    x->status ? x->status : 499, (unsigned long long)x->bytes_sent, ref, ua,
	    x->src_name ? x->src_name : "-", ust, now - x->t_start, urt, term, tls);
	if (n > 0)
		alog_commit(&w->alog, (size_t)n < 1024 ? (size_t)n : 1023);
}
