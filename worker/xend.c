/*
 * Where every exchange ends: one function records how (cause) and where
 * (phase), moves the shm counters (per worker and per source) and writes
 * the access-log line with a two-letter termination code, after HAProxy's
 * session state at disconnection. Responses sluice made itself count like
 * proxied ones.
 */
#include <stdio.h>
#include <stdlib.h>
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
	[SHM_END_DENIED] = 'A',
	[SHM_END_RATE] = 'Q',
	[SHM_END_QUEUE] = 'W',
	[SHM_END_KILLED] = 'K',
};

static size_t	copy_esc(char *dst, size_t cap, const char *p, uint32_t len);
static size_t	utf8_len(const unsigned char *s, size_t n);
static void	access_json(struct cconn *c, const char *term);
static size_t	json_str(char *dst, size_t cap, const char *s);
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
	if (x->cause == SHM_END_QUEUE || x->ups == UP_QUEUED)
		return 'Q';	/* waiting for a max_conns slot */
	if (x->ours && x->ups == UP_NONE)
		/* Every source failed to connect (retries spent): that was the phase. */
		return x->cause == SHM_END_SRV_CONNECT || x->cause == SHM_END_SRV_TIMEOUT ||
		    x->cause == SHM_END_LOCAL ? 'C' : 'R';
	if (x->ours)
		return x->ups == UP_CONNECT ? 'C' : 'H';
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
	queue_leave(c, 2);
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
	free(x->own_body);
	x->own_body = NULL;
	if (x->rb.area != NULL)
		freelist_put(&w->fl_buf, x->rb.area);
	x->magic = 0;
	freelist_put(&w->fl_exch, x);
	c->x = NULL;
}

/*
 * Copies a view into dst for the access log, NUL-terminated: valid UTF-8
 * as it is; a quote, a backslash, a control byte or a byte that is not part
 * of a valid UTF-8 sequence as "\xHH" (nginx's escape). So a line is always
 * valid UTF-8, one line, and its quoted fields end at their quote. Returns
 * the bytes used, NUL included.
 */
static size_t
copy_esc(char *dst, size_t cap, const char *p, uint32_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)p;
	size_t o = 0, k, i = 0;

	while (i < len) {
		k = utf8_len(s + i, len - i);
		if (k > 1 || (k == 1 && s[i] >= 0x20 && s[i] != 0x7f && s[i] != '"' &&
		    s[i] != '\\')) {
			if (o + k >= cap)
				break;
			memcpy(dst + o, s + i, k);
			o += k;
			i += k;
			continue;
		}
		if (o + 4 >= cap)
			break;
		dst[o++] = '\\';
		dst[o++] = 'x';
		dst[o++] = hex[s[i] >> 4];
		dst[o++] = hex[s[i] & 15];
		i++;
	}
	dst[o] = '\0';
	return o + 1;
}

/*
 * Length of the valid UTF-8 sequence at s (RFC 3629: no overlong form, no
 * surrogate, nothing above U+10FFFF), 1 for an ASCII byte, 0 if invalid.
 */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t k, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		k = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		k = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		k = 4;
	else
		return 0;
	if (n < k)
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < k; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return k;
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
 * status, the request and source times, the termination code, the request
 * id (if the route sets one) and TLS (protocol/cipher/SNI) if the client
 * used it.
 */
static void
access_line(struct cconn *c, char term[3])
{
	struct worker *w = c->w;
	struct exch *x = c->x;
	const char *line = x->alog_req, *ref = line + strlen(line) + 1, *ua = ref + strlen(ref) + 1;
	ev_tstamp now = ev_now(w->loop);
	char urt[32], ust[8], tls[200] = "", rid[EXCH_RID_MAX + 8] = "";
	char *p;
	int n;

	if (w->conf->log.format == LOG_F_JSON) {
		access_json(c, term);
		return;
	}
	if ((p = alog_reserve(&w->alog, 1024)) == NULL)
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
	if (x->rid_len > 0)
		snprintf(rid, sizeof(rid), " rid=%s", x->rid);
	if (c->xp.ops == &xport_tls) {
		memcpy(tls, " tls=", 5);
		tls_describe(&c->xp, tls + 5, sizeof(tls) - 5);
	}
	n = snprintf(p, 1024, "%s - - [%s] \"%s\" %d %llu \"%s\" \"%s\" src=%s ustatus=%s rt=%.3f "
	    "urt=%s term=%s%s%s\n", c->peer, alog_stamp(&w->alog, now), line,
	    x->status ? x->status : 499, (unsigned long long)x->bytes_sent, ref, ua,
	    x->src_name ? x->src_name : "-", ust, now - x->t_start, urt, term, rid, tls);
	if (n > 0)
		alog_commit(&w->alog, (size_t)n < 1024 ? (size_t)n : 1023);
}

/*
 * The same fields as one JSON object (log.format = "json"); absent values
 * are null, the TLS ones an object. The strings were escaped for the log
 * when copied (copy_esc): only their backslashes need escaping again.
 */
static void
access_json(struct cconn *c, const char *term)
{
	struct worker *w = c->w;
	struct exch *x = c->x;
	const char *line = x->alog_req, *ref = line + strlen(line) + 1, *ua = ref + strlen(ref) + 1;
	ev_tstamp now = ev_now(w->loop);
	char *p = alog_reserve(&w->alog, 2048), num[64], tls[200];
	size_t o, cap = 2048;
	char *proto, *cipher, *sni;

	if (p == NULL)
		return;
#define PUT(...) do {								\
		int r_ = snprintf(p + o, cap - o, __VA_ARGS__);			\
		o += r_ > 0 ? ((size_t)r_ < cap - o ? (size_t)r_ : cap - o - 1) : 0;	\
	} while (0)
#define STR(s)	(o += json_str(p + o, cap - o, (s)))
	o = 0;
	PUT("{\"time\":\"%s\",\"remote_addr\":", alog_iso(&w->alog, now));
	STR(c->peer);
	PUT(",\"request\":");
	STR(line);
	PUT(",\"status\":%d,\"bytes_sent\":%llu,\"referer\":", x->status ? x->status : 499,
	    (unsigned long long)x->bytes_sent);
	if (strcmp(ref, "-") == 0)
		PUT("null");
	else
		STR(ref);
	PUT(",\"user_agent\":");
	if (strcmp(ua, "-") == 0)
		PUT("null");
	else
		STR(ua);
	PUT(",\"source\":");
	if (x->src_name != NULL)
		STR(x->src_name);
	else
		PUT("null");
	if (x->t_up_head > 0)
		snprintf(num, sizeof(num), "%d,\"upstream_time\":%.3f", x->resp.status,
		    x->t_up_head - x->t_up_start);
	else
		snprintf(num, sizeof(num), "null,\"upstream_time\":null");
	PUT(",\"upstream_status\":%s,\"request_time\":%.3f,\"term\":\"%s\"", num,
	    now - x->t_start, term);
	if (x->rid_len > 0) {
		PUT(",\"request_id\":");
		STR(x->rid);
	}
	if (c->xp.ops == &xport_tls) {
		/* "protocol/cipher/sni", each part already free of '/' but the SNI. */
		tls_describe(&c->xp, tls, sizeof(tls));
		proto = tls;
		cipher = strchr(proto, '/');
		*cipher++ = '\0';
		sni = strchr(cipher, '/');
		*sni++ = '\0';
		PUT(",\"tls\":{\"protocol\":");
		STR(proto);
		PUT(",\"cipher\":");
		STR(cipher);
		PUT(",\"sni\":");
		if (strcmp(sni, "-") == 0)
			PUT("null");
		else
			STR(sni);
		PUT("}");
	}
	PUT("}\n");
#undef PUT
#undef STR
	if (o == cap - 1)
		p[o - 1] = '\n';	/* cut short: still one line */
	alog_commit(&w->alog, o);
}

/* s as a JSON string literal into dst; the bytes used (no NUL counted). */
static size_t
json_str(char *dst, size_t cap, const char *s)
{
	size_t o = 0;

	if (cap < 3)
		return 0;
	dst[o++] = '"';
	for (; *s != '\0' && o + 3 < cap; s++) {
		if (*s == '\\' || *s == '"')
			dst[o++] = '\\';
		dst[o++] = *s;
	}
	dst[o++] = '"';
	dst[o] = '\0';
	return o;
}
