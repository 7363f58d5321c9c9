/*
 * libFuzzer harness for http1_chunked_feed(): the whole input is a chunked
 * body. Fed whole, byte by byte or in pieces sized from the first input bytes,
 * the scanner must consume the same bytes, end or fail at the same place and
 * hand out the same payload.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/http1.h"
#include "tests/fuzz/fuzz.h"

/* How a run cuts the input into calls. */
enum feed_mode {
	FEED_WHOLE = 0,		/* one buffer */
	FEED_BYTES,		/* one byte per buffer */
	FEED_PIECES,		/* sizes 1..64 from the seed */
	FEED__COUNT
};

/* What one run saw. */
struct feed_run {
	size_t		 consumed;	/* sum of the returns before any error */
	int		 done;
	int		 bad;
	char		*payload;	/* concatenated data spans (data != NULL runs) */
	size_t		 plen;
};

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static size_t	piece_len(enum feed_mode, uint32_t *, size_t);
static void	feed(const uint8_t *, size_t, enum feed_mode, uint32_t, int,
		    struct feed_run *);
static void	check_same(const struct feed_run *, const struct feed_run *, int);

static size_t
piece_len(enum feed_mode m, uint32_t *seed, size_t left)
{
	size_t n;

	switch (m) {
	case FEED_BYTES:
		return 1;
	case FEED_PIECES:
		n = 1 + fuzz_rand(seed) % 64;
		return n < left ? n : left;
	default:
		return left;
	}
}

/*
 * Feeds data[0..len) in pieces, each an exact-size heap copy so that ASan
 * sees a read past the piece. with_data asks for payload spans.
 */
static void
feed(const uint8_t *data, size_t len, enum feed_mode m, uint32_t seed, int with_data,
    struct feed_run *o)
{
	struct http1_chunked c;
	const char *d;
	size_t off = 0, n, pos, dl;
	ssize_t r;
	char *piece;

	memset(&c, 0, sizeof(c));
	memset(o, 0, sizeof(*o));
	if ((o->payload = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	while (off < len && !o->bad && !o->done) {
		n = piece_len(m, &seed, len - off);
		piece = fuzz_dup2(data + off, n, NULL, 0);
		for (pos = 0; pos < n;) {
			d = (const char *)1;
			dl = (size_t)-1;
			r = http1_chunked_feed(&c, piece + pos, n - pos,
			    with_data ? &d : NULL, with_data ? &dl : NULL);
			if (r == HTTP1_BAD) {
				o->bad = 1;
				/* sticky: framing that went bad never recovers */
				CHECK(http1_chunked_feed(&c, piece + pos, n - pos, NULL,
				    NULL) == HTTP1_BAD);
				CHECK(!c.done);
				break;
			}
			CHECK(r >= 0 && (size_t)r <= n - pos);
			if (with_data) {
				/* one span, ending exactly where the call stopped */
				if (dl == 0) {
					CHECK(d == NULL);
				} else {
					CHECK(dl <= (size_t)r);
					CHECK(d + dl == piece + pos + r);
					CHECK(o->plen + dl <= len);
					memcpy(o->payload + o->plen, d, dl);
					o->plen += dl;
				}
			}
			o->consumed += (size_t)r;
			pos += (size_t)r;
			if (c.done) {
				o->done = 1;
				/* pipelined bytes after the body are left alone */
				CHECK(http1_chunked_feed(&c, piece + pos, n - pos, NULL,
				    NULL) == 0);
				CHECK(c.done);
				break;
			}
			/* no progress without the end of the body is a stall */
			CHECK(r > 0);
		}
		off += n;
		free(piece);
	}
	/* until the body ends or fails, every byte is taken */
	if (!o->bad && !o->done)
		CHECK(o->consumed == len);
	CHECK(o->consumed <= len);
}

/*
 * Same outcome. The consumed count before an error depends on where the
 * calls were cut, so ref (byte by byte: the exact error offset) bounds it.
 */
static void
check_same(const struct feed_run *ref, const struct feed_run *o, int payload)
{
	CHECK(ref->bad == o->bad);
	CHECK(ref->done == o->done);
	if (!o->bad)
		CHECK(ref->consumed == o->consumed);
	else
		CHECK(o->consumed <= ref->consumed);
	if (payload)
		CHECK(ref->plen == o->plen && memcmp(ref->payload, o->payload, o->plen) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct feed_run ref, o;
	uint32_t seed = fuzz_seed(data, len);

	feed(data, len, FEED_BYTES, seed, 1, &ref);
	if (ref.done)
		CHECK(ref.plen < ref.consumed);

	feed(data, len, FEED_WHOLE, seed, 1, &o);
	check_same(&ref, &o, 1);
	free(o.payload);
	feed(data, len, FEED_PIECES, seed, 1, &o);
	check_same(&ref, &o, 1);
	free(o.payload);
	feed(data, len, FEED_WHOLE, seed, 0, &o);
	check_same(&ref, &o, 0);
	free(o.payload);
	feed(data, len, FEED_PIECES, seed ^ 0x5a5a5a5au, 0, &o);
	check_same(&ref, &o, 0);
	free(o.payload);
	free(ref.payload);
	return 0;
}
