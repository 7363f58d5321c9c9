/*
 * After a 101: the two connections become a byte tunnel, each direction
 * through its side's transport (so bytes are counted like any others),
 * with half-closes passed on, until both sides have closed.
 */
#include "common/io.h"
#include "common/iobuf.h"
#include "worker/cconn.h"
#include "worker/exch.h"
#include "worker/uconn.h"

static enum step client_to_source(struct cconn *c);
static enum step source_to_client(struct cconn *c);

/* Client bytes (in c->in) go to the source; on the client's FIN, shut down its side. */
static enum step
client_to_source(struct cconn *c)
{
	struct exch *x = c->x;
	enum step res = STEP_AGAIN;
	struct iovec v;
	ssize_t n;

	for (;;) {
		if (c->in.data > 0) {
			if (!(c->ready & RDY_UW)) {
				c->want |= RDY_UW;
				return res;
			}
			v.iov_base = iobuf_ptr(&c->in);
			v.iov_len = c->in.data;
			n = backend_writev(c, &v, 1);
			if (n == IO_AGAIN) {
				c->want |= RDY_UW;
				return res;
			}
			if (n < 0)
				return cconn_fail(c, SHM_END_SRV_RESET, "tunnel: source write error");
			iobuf_consume(&c->in, (uint32_t)n);
			res = STEP_NEXT;
			continue;
		}
		if (x->t_cli_eof)
			return res;
		if (!(c->ready & RDY_CR)) {
			c->want |= RDY_CR;
			return res;
		}
		iobuf_compact(&c->in);
		n = cconn_read(c, &c->in);
		if (n == IO_AGAIN) {
			c->want |= RDY_CR;
			return res;
		}
		if (n <= 0) {
			x->t_cli_eof = 1;
			uconn_shutdown_wr(x->up);
			return STEP_NEXT;
		}
		res = STEP_NEXT;
	}
}

/* Source bytes (in x->rb) go to the client; on the source's FIN, shut down the client. */
static enum step
source_to_client(struct cconn *c)
{
	struct exch *x = c->x;
	enum step res = STEP_AGAIN;
	struct iovec v;
	ssize_t n;

	for (;;) {
		if (x->rb.data > 0) {
			if (!(c->ready & RDY_CW)) {
				c->want |= RDY_CW;
				return res;
			}
			v.iov_base = iobuf_ptr(&x->rb);
			v.iov_len = x->rb.data;
			n = cconn_writev(c, &v, 1);
			if (n == IO_AGAIN) {
				c->want |= RDY_CW;
				return res;
			}
			if (n < 0)
				return cconn_fail(c, SHM_END_CLI_ERROR, "tunnel: client write error");
			iobuf_consume(&x->rb, (uint32_t)n);
			res = STEP_NEXT;
			continue;
		}
		if (x->t_up_eof)
			return res;
		if (!(c->ready & RDY_UR)) {
			c->want |= RDY_UR;
			return res;
		}
		iobuf_compact(&x->rb);
		n = backend_read(c, &x->rb);
		if (n == IO_AGAIN) {
			c->want |= RDY_UR;
			return res;
		}
		if (n <= 0) {
			x->t_up_eof = 1;
			xport_shutdown_wr(&c->xp);
			return STEP_NEXT;
		}
		res = STEP_NEXT;
	}
}

enum step
tunnel_step(struct cconn *c)
{
	struct exch *x = c->x;
	enum step r1, r2;

	EXCH_CHECK(x);
	r1 = client_to_source(c);
	if (r1 == STEP_CLOSE)
		return r1;
	r2 = source_to_client(c);
	if (r2 == STEP_CLOSE)
		return r2;
	if (x->t_cli_eof && x->t_up_eof)
		return cconn_fail(c, SHM_END_OK, "tunnel closed by both sides");
	if (r1 == STEP_NEXT || r2 == STEP_NEXT) {
		cconn_timer(c, TP_TUNNEL);
		return STEP_NEXT;
	}
	return STEP_AGAIN;
}
