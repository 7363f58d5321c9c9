/*
 * libFuzzer harness for http1_chunked_feed(): the whole input is a chunked
 * body. Fed whole, byte by byte, cut in two or in pieces sized from the first
 * input bytes, the scanner must agree with a reference decoder written here
 * from RFC 9112 §7.1: same verdict, same end or error offset, same payload.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/http1.h"
#include "tests/fuzz/fuzz.h"

/*
 * sluice's own limits on top of the grammar (http1.c, README "chunked"): a
 * chunk-size is 1 to 16 hex digits, leading zeros included, and its value is
 * at most INT64_MAX. Nothing else is limited here: no extension or trailer
 * length (the caller bounds the body).
 */
#define REF_MAX_DIGITS	16

/* How a run cuts the input into calls. */
enum feed_mode {
	FEED_WHOLE = 0,		/* one buffer */
	FEED_BYTES,		/* one byte per buffer */
	FEED_TWO,		/* two buffers, cut where the seed says */
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

/* The reference decoder's verdict on the whole input. */
enum ref_verdict {
	REF_PARTIAL = 0,	/* a valid prefix of some chunked body */
	REF_DONE,		/* a whole body, then maybe pipelined bytes */
	REF_BAD			/* no body starts like this */
};

struct ref_run {
	enum ref_verdict v;
	size_t		 end;		/* DONE: body length; BAD: offset of the bad byte;
					 * PARTIAL: the input length */
	char		*body;		/* data bytes before end */
	size_t		 blen;
};

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static int	ref_hex(unsigned char);
static int	ref_text(unsigned char);
static void	ref_decode(const uint8_t *, size_t, struct ref_run *);
static size_t	piece_len(enum feed_mode, uint32_t *, size_t, size_t);
static void	feed(const uint8_t *, size_t, enum feed_mode, uint32_t, int,
		    struct feed_run *);
static void	check_ref(const struct ref_run *, const struct feed_run *, enum feed_mode,
		    int);

/* HEXDIG (RFC 5234: case-insensitive): its value, or -1. */
static int
ref_hex(unsigned char ch)
{
	static const char digits[] = "0123456789abcdef";
	const char *d;

	if (ch >= 'A' && ch <= 'F')
		ch = (unsigned char)(ch - 'A' + 'a');
	if (ch == '\0' || (d = strchr(digits, ch)) == NULL)
		return -1;
	return (int)(d - digits);
}

/*
 * A byte allowed in a chunk-ext or a trailer field line after the colon:
 * VCHAR, SP, HTAB or obs-text, i.e. anything but a CTL other than HTAB.
 * sluice skips extensions unparsed (RFC 9112 §7.1.1 lets a recipient ignore
 * them), so this is the only rule they follow.
 */
static int
ref_text(unsigned char ch)
{
	return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

/*
 * Reference decoder, one pass over the whole input:
 *
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ BWS chunk-ext ] CRLF chunk-data CRLF
 *   last-chunk   = 1*"0" [ BWS chunk-ext ] CRLF
 *   chunk-ext    = *( BWS ";" ... )   (skipped up to CR, see ref_text())
 *   trailer-section = *( field-name ":" field-value CRLF )
 *
 * BWS is only accepted in front of a ';'. Running out of input anywhere is
 * PARTIAL; the first byte that no chunked body can have there is BAD.
 */
static void
ref_decode(const uint8_t *b, size_t len, struct ref_run *o)
{
	size_t i = 0, k;
	uint64_t size;
	unsigned nd;
	int h;

	memset(o, 0, sizeof(*o));
	if ((o->body = malloc(len > 0 ? len : 1)) == NULL)
		abort();
/* The byte at i must exist (else PARTIAL) and satisfy cond (else BAD). */
#define NEED(cond)							\
	do {								\
		if (i == len)						\
			goto partial;					\
		if (!(cond))						\
			goto bad;					\
	} while (0)

	for (;;) {
		for (size = 0, nd = 0; i < len && (h = ref_hex(b[i])) >= 0; i++) {
			if (nd == REF_MAX_DIGITS || size > ((uint64_t)INT64_MAX - (uint64_t)h) / 16)
				goto bad;
			size = size * 16 + (uint64_t)h;
			nd++;
		}
		NEED(nd > 0);
		if (b[i] == ' ' || b[i] == '\t') {
			while (i < len && (b[i] == ' ' || b[i] == '\t'))
				i++;
			NEED(b[i] == ';');
		}
		if (b[i] == ';')
			for (i++; i < len && b[i] != '\r'; i++)
				if (!ref_text(b[i]))
					goto bad;
		NEED(b[i] == '\r');
		i++;
		NEED(b[i] == '\n');
		i++;
		if (size == 0)
			break;
		k = (uint64_t)(len - i) < size ? len - i : (size_t)size;
		memcpy(o->body + o->blen, b + i, k);
		o->blen += k;
		i += k;
		NEED(b[i] == '\r');
		i++;
		NEED(b[i] == '\n');
		i++;
	}
	for (;;) {
		NEED(b[i] == '\r' || fuzz_tchar(b[i]));
		if (b[i] == '\r')
			break;
		while (i < len && fuzz_tchar(b[i]))
			i++;
		NEED(b[i] == ':');
		for (i++; i < len && b[i] != '\r'; i++)
			if (!ref_text(b[i]))
				goto bad;
		NEED(b[i] == '\r');
		i++;
		NEED(b[i] == '\n');
		i++;
	}
	i++;
	NEED(b[i] == '\n');
	o->v = REF_DONE;
	o->end = i + 1;
	return;
#undef NEED
partial:
	o->v = REF_PARTIAL;
	o->end = len;
	return;
bad:
	o->v = REF_BAD;
	o->end = i;
}

static size_t
piece_len(enum feed_mode m, uint32_t *seed, size_t off, size_t left)
{
	size_t n;

	switch (m) {
	case FEED_BYTES:
		return 1;
	case FEED_TWO:
		/* one cut, at *seed % (len + 1); a cut at 0 is a whole feed */
		if (off == 0 && (n = *seed % (left + 1)) > 0)
			return n;
		return left;
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
		n = piece_len(m, &seed, off, len - off);
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
 * The scanner's run against the reference. The consumed count before an
 * error depends on where the calls were cut: fed byte by byte it is the
 * offset of the bad byte, otherwise at most that.
 */
static void
check_ref(const struct ref_run *ref, const struct feed_run *o, enum feed_mode m, int payload)
{
	switch (ref->v) {
	case REF_DONE:
		CHECK(o->done && !o->bad);
		CHECK(o->consumed == ref->end);
		break;
	case REF_BAD:
		CHECK(o->bad && !o->done);
		if (m == FEED_BYTES)
			CHECK(o->consumed == ref->end);
		else
			CHECK(o->consumed <= ref->end);
		break;
	default:
		CHECK(!o->bad && !o->done);
		CHECK(o->consumed == ref->end);
		break;
	}
	/* every data byte before the end or the error, whatever the cuts */
	if (payload)
		CHECK(o->plen == ref->blen && memcmp(o->payload, ref->body, o->plen) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const struct {
		enum feed_mode	 mode;
		uint32_t	 seed_xor;
		int		 with_data;
	} runs[] = {
		{ FEED_BYTES, 0, 1 },
		{ FEED_WHOLE, 0, 1 },
		{ FEED_TWO, 0, 1 },
		{ FEED_PIECES, 0, 1 },
		{ FEED_WHOLE, 0, 0 },
		{ FEED_TWO, 0x3c3c3c3cu, 0 },
		{ FEED_PIECES, 0x5a5a5a5au, 0 },
	};
	struct ref_run ref;
	struct feed_run o;
	uint32_t seed = fuzz_seed(data, len);
	size_t i;

	ref_decode(data, len, &ref);
	CHECK(ref.end <= len && ref.blen <= ref.end);
	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		feed(data, len, runs[i].mode, seed ^ runs[i].seed_xor, runs[i].with_data, &o);
		check_ref(&ref, &o, runs[i].mode, runs[i].with_data);
		free(o.payload);
	}
	free(ref.body);
	return 0;
}
