/*
 * xend: the termination code letters, and what the end of one exchange
 * moves: the shm counters of the worker and of the source, the source's
 * active share, the keep-alive pool, the access-log line and the memory.
 */
#include <sys/mman.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include <criterion/criterion.h>

#include "common/conf.h"
#include "common/handoff.h"
#include "common/http1.h"
#include "shm/shm.h"
#include "worker/alog.h"
#include "worker/cconn.h"
#include "worker/exch.h"
#include "worker/freelist.h"
#include "worker/uconn.h"
#include "worker/upool.h"
#include "worker/worker-t.h"

#define SLOT		1	/* the worker's shm slot */
#define SRC_SLOT	2	/* shm slot of conf source 0 */
#define PEER		"192.0.2.7"

static const struct http1_limits lim = { 8192, 16384, 16 };

static char			 name[SHM_NAME_LEN];
static char			 logpath[64];
static struct shm_seg		 seg;
static struct conf		 conf;
static struct source_conf	 src;
static struct handoff		 ho;
static const uint32_t		 src_slot[1] = { SRC_SLOT };
static struct worker		 w;
static struct upool		 pool;
static struct cconn		 c;
static struct http1_header	 hdrs[16];
static int			 peer_fd = -1;

static void		 setup(void);
static void		 teardown(void);
static struct exch	*exch(int status, enum shm_end cause);
static struct uconn	*backend(void);
static void		 log_on(void);
static const char	*logged(void);
static struct shm_worker *sw(void);
static struct shm_wsrc	*ws(void);

/*
 * A worker in slot SLOT of a fresh segment, one source bound to shm slot
 * SRC_SLOT, free lists that keep nothing (so ASan sees every release), a
 * loop, and a client connection in the middle of an exchange.
 */
static void
setup(void)
{
	char err[256];

	snprintf(name, sizeof(name), "/sluice-test-xend-%d", (int)getpid());
	shm_unlink(name);
	cr_assert_eq(shm_create(name, 2, 4, 2, &seg, err, sizeof(err)), 0, "shm_create: %s", err);
	memset(&conf, 0, sizeof(conf));
	memset(&src, 0, sizeof(src));
	snprintf(src.name, sizeof(src.name), "app1");
	conf.sources = &src;
	conf.nsources = 1;
	conf.timeouts.backend_idle = 30.;
	ho = (struct handoff){ .conf = &conf, .shm = &seg, .src_slot = src_slot, .shm_slot = SLOT };
	memset(&w, 0, sizeof(w));
	w.loop = ev_loop_new(0);
	cr_assert_not_null(w.loop);
	w.conf = &conf;
	w.ho = &ho;
	w.alog.fd = -1;
	w.fl_exch = (struct freelist){ .size = sizeof(struct exch), .max_free = 0 };
	w.fl_buf = (struct freelist){ .size = 4096, .max_free = 0 };
	w.fl_uconn = (struct freelist){ .size = sizeof(struct uconn), .max_free = 0 };
	upool_init(&pool, &src, 0, 4, 0);
	memset(&c, 0, sizeof(c));
	c.magic = CCONN_MAGIC;
	c.w = &w;
	c.state = CC_EXCH;
	c.next_state = -1;
	snprintf(c.peer, sizeof(c.peer), PEER);
	c.peer_len = sizeof(PEER) - 1;
	logpath[0] = '\0';
	peer_fd = -1;
}

static void
teardown(void)
{
	if (c.x != NULL) {
		free(c.x->rb.area);
		free(c.x);
	}
	upool_flush(&pool);
	alog_close(&w.alog, w.loop);
	if (logpath[0] != '\0')
		unlink(logpath);
	if (peer_fd != -1)
		close(peer_fd);
	ev_loop_destroy(w.loop);
	shm_detach(&seg);
	shm_unlink(name);
}

/* A started exchange of c that ended with status and cause, sent to source 0. */
static struct exch *
exch(int status, enum shm_end cause)
{
	struct exch *x = freelist_get(&w.fl_exch);

	cr_assert_not_null(x);
	memset(x, 0, sizeof(*x));
	x->magic = EXCH_MAGIC;
	x->started = 1;
	x->status = status;
	x->cause = cause;
	x->ri = 0;
	x->src_idx = 0;
	x->act_src = -1;
	x->src_name = "app1";
	x->ups = cause == SHM_END_OK ? UP_DONE : UP_RECV_HEAD;
	x->t_start = ev_now(w.loop);
	c.x = x;
	return x;
}

/* A source connection in use by c, on a socketpair whose other end the test keeps. */
static struct uconn *
backend(void)
{
	struct uconn *u;
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	u = freelist_get(&w.fl_uconn);
	cr_assert_not_null(u);
	*u = (struct uconn){ .magic = UCONN_MAGIC, .fd = sv[0], .pool = &pool, .w = &w,
	    .owner = &c, .nreq = 1 };
	xport_tcp_init(&u->xp, sv[0]);
	peer_fd = sv[1];
	return u;
}

/* Turns the access log on, in a file of its own. */
static void
log_on(void)
{
	int fd;

	snprintf(logpath, sizeof(logpath), "/tmp/sluice-test-xend-XXXXXX");
	fd = mkstemp(logpath);
	cr_assert_neq(fd, -1);
	close(fd);
	cr_assert_eq(alog_open(&w.alog, w.loop, logpath), 0);
}

/* Everything logged so far (flushed first). */
static const char *
logged(void)
{
	static char buf[4096];
	ssize_t n;
	int fd;

	alog_flush(&w.alog);
	fd = open(logpath, O_RDONLY);
	cr_assert_neq(fd, -1);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	cr_assert_geq(n, 0);
	buf[n] = '\0';
	return buf;
}

static struct shm_worker *
sw(void)
{
	return shm_worker(&seg, SLOT);
}

static struct shm_wsrc *
ws(void)
{
	return shm_wsrc(&seg, SLOT, SRC_SLOT);
}

TestSuite(xend, .init = setup, .fini = teardown);

/* --- letters ------------------------------------------------------------ */

Test(xend, cause_letters)
{
	static const char want[SHM_END__COUNT + 1] = "-CcPENSRsMLIVKAQW";
	int seen[256] = { 0 };
	int i;

	cr_assert_eq(SHM_END__COUNT, 17, "a new cause: give it a letter and a line here");
	for (i = 0; i < SHM_END__COUNT; i++) {
		char l = xend_cause_letter((enum shm_end)i);

		cr_expect_eq(l, want[i], "cause %d: %c, want %c", i, l, want[i]);
		cr_expect_neq(l, '\0', "cause %d has no letter", i);
		cr_expect_neq(l, '?', "cause %d", i);
		cr_expect_eq(seen[(unsigned char)l]++, 0, "letter %c used twice", l);
	}
	cr_expect_eq(xend_cause_letter(SHM_END_OK), '-');
	cr_expect_eq(xend_cause_letter(SHM_END__COUNT), '?');
	cr_expect_eq(xend_cause_letter((enum shm_end)SHM_END_SLOTS), '?');
	cr_expect_eq(xend_cause_letter((enum shm_end)-1), '?');
	cr_expect_eq(xend_cause_letter((enum shm_end)1000), '?');
}

Test(xend, phase_letters)
{
	static const struct {
		enum up_state	ups;
		char		proxied, ours;
	} tab[] = {
		{ UP_NONE, 'R', 'R' },
		{ UP_CONNECT, 'C', 'C' },
		{ UP_SEND, 'H', 'H' },
		{ UP_RECV_HEAD, 'H', 'H' },
		{ UP_RECV_BODY, 'D', 'H' },
		{ UP_DONE, '-', '-' },
	};
	struct exch *x = exch(200, SHM_END_OK);
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		x->ups = tab[i].ups;
		x->ours = 0;
		cr_expect_eq(xend_phase_letter(&c), tab[i].proxied, "ups %d", (int)tab[i].ups);
		x->ours = 1;
		cr_expect_eq(xend_phase_letter(&c), tab[i].ours, "ours, ups %d", (int)tab[i].ups);
	}
	/* Still reading the head, unless a step already asked for the exchange. */
	x->ours = 0;
	x->ups = UP_CONNECT;
	c.state = CC_READ_HEAD;
	cr_expect_eq(xend_phase_letter(&c), 'R');
	c.next_state = CC_EXCH;
	cr_expect_eq(xend_phase_letter(&c), 'C');
	c.next_state = CC_ERRRESP;
	cr_expect_eq(xend_phase_letter(&c), 'C');
	c.next_state = -1;
	c.state = CC_ERRRESP;
	cr_expect_eq(xend_phase_letter(&c), 'C');
	c.state = CC_IDLE;
	cr_expect_eq(xend_phase_letter(&c), 'R');
	c.state = CC_TUNNEL;
	cr_expect_eq(xend_phase_letter(&c), 'T');
	c.x = NULL;
	cr_expect_eq(xend_phase_letter(&c), 'T');
	c.state = CC_EXCH;
	cr_expect_eq(xend_phase_letter(&c), 'R');
	c.x = x;
}

/* --- counters ----------------------------------------------------------- */

Test(xend, ok_counts_request_class_bytes_and_end)
{
	struct exch *x = exch(204, SHM_END_OK);

	x->bytes_sent = 123;
	xend_finish(&c, 0);
	cr_assert_null(c.x);
	cr_assert_eq(shm_load(&sw()->requests), 1);
	cr_assert_eq(shm_load(&sw()->resp[1]), 1);
	cr_assert_eq(shm_load(&sw()->bytes_out), 123);
	cr_assert_eq(shm_load(&sw()->ends[SHM_END_OK]), 1);
	cr_assert_eq(shm_load(&sw()->errors), 0);
	cr_assert_eq(shm_load(&ws()->ends[SHM_END_OK]), 1);
	/* Nothing lands in the other worker's slot or another source's. */
	cr_assert_eq(shm_load(&shm_worker(&seg, 0)->requests), 0);
	cr_assert_eq(shm_load(&shm_wsrc(&seg, SLOT, 0)->ends[SHM_END_OK]), 0);
	cr_assert_eq(shm_load(&shm_wsrc(&seg, 0, SRC_SLOT)->ends[SHM_END_OK]), 0);
}

Test(xend, every_status_class)
{
	static const int st[] = { 101, 200, 301, 404, 503, 599 };
	static const int cls[] = { 0, 1, 2, 3, 4, 4 };
	uint64_t want[5] = { 0 };
	size_t i;
	int k;

	for (i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		exch(st[i], SHM_END_OK);
		xend_finish(&c, 0);
		want[cls[i]]++;
	}
	for (k = 0; k < 5; k++)
		cr_expect_eq(shm_load(&sw()->resp[k]), want[k], "class %dxx", k + 1);
	cr_assert_eq(shm_load(&sw()->requests), 6);
	cr_assert_eq(shm_load(&sw()->ends[SHM_END_OK]), 6);
	cr_assert_eq(shm_load(&sw()->errors), 0);
}

Test(xend, no_status_counts_as_499)
{
	exch(0, SHM_END_CLI_ABORT);
	xend_finish(&c, 0);
	cr_assert_eq(shm_load(&sw()->requests), 1);
	cr_assert_eq(shm_load(&sw()->resp[3]), 1);
	cr_assert_eq(shm_load(&sw()->errors), 1);
	cr_assert_eq(shm_load(&sw()->ends[SHM_END_CLI_ABORT]), 1);
	cr_assert_eq(shm_load(&sw()->ends[SHM_END_OK]), 0);
	cr_assert_eq(shm_load(&ws()->ends[SHM_END_CLI_ABORT]), 1);
}

Test(xend, error_without_source)
{
	struct exch *x = exch(502, SHM_END_SRV_CONNECT);
	int s;

	x->src_idx = -1;
	x->src_name = NULL;
	xend_finish(&c, 0);
	cr_assert_eq(shm_load(&sw()->resp[4]), 1);
	cr_assert_eq(shm_load(&sw()->errors), 1);
	cr_assert_eq(shm_load(&sw()->ends[SHM_END_SRV_CONNECT]), 1);
	for (s = 0; s < 4; s++) {
		struct shm_wsrc *o = shm_wsrc(&seg, SLOT, (uint32_t)s);

		cr_expect_eq(shm_load(&o->ends[SHM_END_SRV_CONNECT]), 0, "source slot %d", s);
	}
}

Test(xend, every_cause_counted_once)
{
	int i;

	for (i = 0; i < SHM_END__COUNT; i++) {
		exch(i == SHM_END_OK ? 200 : 502, (enum shm_end)i);
		xend_finish(&c, 0);
	}
	for (i = 0; i < SHM_END__COUNT; i++) {
		cr_expect_eq(shm_load(&sw()->ends[i]), 1, "cause %d", i);
		cr_expect_eq(shm_load(&ws()->ends[i]), 1, "cause %d", i);
	}
	cr_assert_eq(shm_load(&sw()->requests), SHM_END__COUNT);
	cr_assert_eq(shm_load(&sw()->errors), SHM_END__COUNT - 1);
}

Test(xend, not_started_counts_nothing)
{
	struct exch *x = exch(0, SHM_END_CLI_TIMEOUT);

	x->started = 0;
	xend_finish(&c, 0);
	cr_assert_null(c.x);
	cr_assert_eq(shm_load(&sw()->requests), 0);
	cr_assert_eq(shm_load(&sw()->errors), 0);
	cr_assert_eq(shm_load(&sw()->ends[SHM_END_CLI_TIMEOUT]), 0);
}

Test(xend, source_share_and_bytes_released)
{
	struct exch *x = exch(200, SHM_END_OK);

	shm_active_inc(&seg, SLOT, SRC_SLOT);
	x->act_src = 0;
	x->up_in = 1000;
	x->up_out = 77;
	xend_finish(&c, 0);
	cr_assert_eq(atomic_load(&ws()->active), 0);
	cr_assert_eq(atomic_load(&shm_source(&seg, SRC_SLOT)->active), 0);
	cr_assert_eq(shm_load(&ws()->bytes_in), 1000);
	cr_assert_eq(shm_load(&ws()->bytes_out), 77);
}

Test(xend, buffer_returned)
{
	struct exch *x = exch(200, SHM_END_OK);

	w.fl_buf.max_free = 4;
	x->rb.area = freelist_get(&w.fl_buf);
	cr_assert_not_null(x->rb.area);
	x->rb.size = 4096;
	xend_finish(&c, 0);
	cr_assert_eq(w.fl_buf.nfree, 1);
	free(freelist_get(&w.fl_buf));
}

/* --- the source connection ---------------------------------------------- */

Test(xend, reusable_connection_parked)
{
	struct exch *x = exch(200, SHM_END_OK);
	struct uconn *u = backend();

	x->up = u;
	xend_finish(&c, 1);
	cr_assert_eq(pool.nidle, 1);
	cr_assert_eq(pool.idle, u);
	cr_assert_null(u->owner);
}

Test(xend, connection_closed_when_not_reusable)
{
	char ch;

	exch(200, SHM_END_OK)->up = backend();
	xend_finish(&c, 0);
	cr_assert_eq(pool.nidle, 0);
	cr_assert_eq(recv(peer_fd, &ch, 1, MSG_DONTWAIT), 0);
}

Test(xend, connection_closed_after_an_error_even_if_reusable)
{
	char ch;

	exch(200, SHM_END_CLI_ABORT)->up = backend();
	xend_finish(&c, 1);
	cr_assert_eq(pool.nidle, 0);
	cr_assert_eq(recv(peer_fd, &ch, 1, MSG_DONTWAIT), 0);
}

/* --- access log --------------------------------------------------------- */

Test(xend, access_line)
{
	static const char head[] = "GET /a?b HTTP/1.1\r\nHost: a\r\nReferer: http://r/\r\n"
	    "User-Agent: ua \"q\"\r\n\r\n";
	struct exch *x = exch(200, SHM_END_OK);
	const char *l;

	log_on();
	cr_assert_gt(http1_parse_req(head, sizeof(head) - 1, &lim, &x->req, hdrs, 16), 0);
	xend_copy_request(&c, 0);
	x->bytes_sent = 42;
	x->resp.status = 200;
	x->t_up_start = x->t_start;
	x->t_up_head = x->t_start + 0.25;
	xend_finish(&c, 0);
	l = logged();
	cr_assert_eq(strncmp(l, PEER " - - [", sizeof(PEER " - - [") - 1), 0, "%s", l);
	cr_assert_not_null(strstr(l, "] \"GET /a?b HTTP/1.1\" 200 42 \"http://r/\" \"ua \\x22q\\x22\" "
	    "src=app1 ustatus=200 rt=0.000 urt=0.250 term=--\n"), "%s", l);
}

Test(xend, access_line_client_abort)
{
	static const char head[] = "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n";
	struct exch *x = exch(0, SHM_END_CLI_ABORT);
	const char *l;

	log_on();
	cr_assert_gt(http1_parse_req(head, sizeof(head) - 1, &lim, &x->req, hdrs, 16), 0);
	xend_copy_request(&c, 0);
	x->ups = UP_SEND;
	xend_finish(&c, 0);
	l = logged();
	cr_assert_not_null(strstr(l, "] \"POST /up HTTP/1.1\" 499 0 \"-\" \"-\" src=app1 ustatus=- "
	    "rt=0.000 urt=- term=CH\n"), "%s", l);
}

Test(xend, access_line_our_reply)
{
	static const char head[] = "GET / HTTP/1.1\r\nHost: nowhere\r\n\r\n";
	struct exch *x = exch(404, SHM_END_NO_ROUTE);
	const char *l;

	log_on();
	cr_assert_gt(http1_parse_req(head, sizeof(head) - 1, &lim, &x->req, hdrs, 16), 0);
	xend_copy_request(&c, 0);
	x->ours = 1;
	x->ups = UP_NONE;
	x->src_idx = -1;
	x->src_name = NULL;
	c.state = CC_ERRRESP;
	xend_finish(&c, 0);
	l = logged();
	cr_assert_not_null(strstr(l, "\"GET / HTTP/1.1\" 404 0 \"-\" \"-\" src=- ustatus=- "
	    "rt=0.000 urt=- term=NR\n"), "%s", l);
}

Test(xend, access_line_raw_request)
{
	static char in[] = "BAD\"LINE\x01 /\r\nHost: a\r\n\r\n";
	struct exch *x = exch(400, SHM_END_CLI_BAD);
	const char *l;

	log_on();
	c.in.area = in;
	c.in.size = sizeof(in);
	c.in.data = sizeof(in) - 1;
	xend_copy_request(&c, 1);
	x->ours = 1;
	x->ups = UP_NONE;
	x->src_idx = -1;
	x->src_name = NULL;
	c.state = CC_ERRRESP;
	xend_finish(&c, 0);
	c.in.area = NULL;
	l = logged();
	cr_assert_not_null(strstr(l, "\"BAD\\x22LINE\\x01 /\" 400 0 \"-\" \"-\" src=- ustatus=- "
	    "rt=0.000 urt=- term=PR\n"), "%s", l);
}

Test(xend, access_line_off_when_not_started)
{
	struct exch *x = exch(0, SHM_END_CLI_TIMEOUT);

	log_on();
	x->started = 0;
	xend_finish(&c, 0);
	cr_assert_str_eq(logged(), "");
}
