/*
 * Regex rules on top of oniguruma: compile once (regex plus a replacement
 * pre-parsed into segments), then search and expand with a reused region.
 */
#include "common/rewrite.h"

#include <assert.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oniguruma.h>

#define REWRITE_MAGIC	0x52575254u	/* "RWRT" */
#define RWCTX_MAGIC	0x52574354u	/* "RWCT" */
#define SEG_LITERAL	(-1)

/* One piece of the replacement: a literal run of lit[], or a capture group. */
struct seg {
	int		group;	/* 0..9, or SEG_LITERAL */
	uint32_t	off;	/* SEG_LITERAL: offset in lit */
	uint32_t	len;	/* SEG_LITERAL: bytes */
};

/* A compiled rule. Immutable after rewrite_compile(); workers share it over fork. */
struct rewrite {
	uint32_t	 magic;		/* REWRITE_MAGIC */
	OnigRegex	 re;		/* owned */
	struct seg	*seg;		/* owned; nseg entries */
	uint32_t	 nseg;
	char		*lit;		/* owned; literal bytes, "$$" already folded to "$" */
};

/* Per-worker match state; see rewrite_ctx_new() in rewrite.h. */
struct rewrite_ctx {
	uint32_t	 magic;		/* RWCTX_MAGIC */
	OnigRegion	 region;	/* embedded; its beg/end arrays only grow */
	OnigMatchParam	*mp;		/* owned; retry limits */
};

static int	lib_init(void);
static int	parse_replace(struct rewrite *rw, const char *replace, char *err, size_t errlen);
static int	search(const struct rewrite *rw, struct rewrite_ctx *ctx, const char *s, size_t len,
    OnigRegion *region);

/* onig_initialize() once per process, for the one encoding we use. */
static int
lib_init(void)
{
	static bool done;
	OnigEncoding enc[1] = { ONIG_ENCODING_ASCII };

	if (done)
		return 0;
	if (onig_initialize(enc, 1) != ONIG_NORMAL)
		return -1;
	done = true;
	return 0;
}

struct rewrite *
rewrite_compile(const char *regex, const char *replace, char *err, size_t errlen,
    enum rewrite_part *bad)
{
	UChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
	OnigErrorInfo einfo;
	struct rewrite *rw;
	int r;

	if (bad != NULL)
		*bad = REWRITE_PART_REGEX;
	if (lib_init() == -1) {
		snprintf(err, errlen, "invalid regex: cannot initialize oniguruma");
		return NULL;
	}
	if ((rw = calloc(1, sizeof(*rw))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rw->magic = REWRITE_MAGIC;
	/*
	 * CAPTURE_GROUP: plain parentheses capture even when named groups are
	 * present, so "$1" always means the first "(" as operators expect.
	 */
	r = onig_new(&rw->re, (const UChar *)regex, (const UChar *)regex + strlen(regex),
	    ONIG_OPTION_CAPTURE_GROUP, ONIG_ENCODING_ASCII, ONIG_SYNTAX_PERL_NG, &einfo);
	if (r != ONIG_NORMAL) {
		onig_error_code_to_str(msg, r, &einfo);
		snprintf(err, errlen, "invalid regex: %s", (const char *)msg);
		rw->re = NULL;
		rewrite_free(rw);
		return NULL;
	}
	if (replace != NULL && parse_replace(rw, replace, err, errlen) == -1) {
		if (bad != NULL)
			*bad = REWRITE_PART_REPLACE;
		rewrite_free(rw);
		return NULL;
	}
	return rw;
}

/*
 * Splits replace into segments. Adjacent literal bytes (including a folded
 * "$$") share one segment, so "/a/$$b/$1" is two segments.
 */
static int
parse_replace(struct rewrite *rw, const char *replace, char *err, size_t errlen)
{
	size_t len = strlen(replace), i, o = 0;
	struct seg *s;

	/* Never more segments than bytes, nor more literal bytes. */
	rw->seg = calloc(len + 1, sizeof(*rw->seg));
	rw->lit = malloc(len + 1);
	if (rw->seg == NULL || rw->lit == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < len; i++) {
		char ch = replace[i];

		if (ch == '$') {
			if (i + 1 == len) {
				snprintf(err, errlen, "invalid replacement: \"$\" at the end "
				    "(expected $0-$9 or $$)");
				return -1;
			}
			ch = replace[++i];
			if (ch >= '0' && ch <= '9') {
				s = &rw->seg[rw->nseg++];
				s->group = ch - '0';
				continue;
			}
			if (ch != '$') {
				if ((unsigned char)ch > ' ' && (unsigned char)ch < 0x7f)
					snprintf(err, errlen, "invalid replacement: \"$%c\" at offset "
					    "%zu (expected $0-$9 or $$)", ch, i - 1);
				else
					snprintf(err, errlen, "invalid replacement: \"$\\x%02x\" at "
					    "offset %zu (expected $0-$9 or $$)", (unsigned char)ch,
					    i - 1);
				return -1;
			}
			/* "$$": a literal dollar, falls through to the literal case. */
		}
		if (rw->nseg == 0 || rw->seg[rw->nseg - 1].group != SEG_LITERAL) {
			s = &rw->seg[rw->nseg++];
			s->group = SEG_LITERAL;
			s->off = (uint32_t)o;
			s->len = 0;
		}
		rw->lit[o++] = ch;
		rw->seg[rw->nseg - 1].len++;
	}
	rw->lit[o] = '\0';
	return 0;
}

void
rewrite_free(struct rewrite *rw)
{
	if (rw == NULL)
		return;
	assert(rw->magic == REWRITE_MAGIC);
	if (rw->re != NULL)
		onig_free(rw->re);
	free(rw->seg);
	free(rw->lit);
	rw->magic = 0;
	free(rw);
}

int
rewrite_groups(const struct rewrite *rw)
{
	assert(rw->magic == REWRITE_MAGIC);
	return onig_number_of_captures(rw->re);
}

struct rewrite_ctx *
rewrite_ctx_new(void)
{
	struct rewrite_ctx *ctx;

	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return NULL;
	ctx->magic = RWCTX_MAGIC;
	onig_region_init(&ctx->region);
	/* Sized up front so that the first searches do not allocate either. */
	if (onig_region_resize(&ctx->region, REWRITE_CTX_REGS) != 0 ||
	    (ctx->mp = onig_new_match_param()) == NULL) {
		rewrite_ctx_free(ctx);
		return NULL;
	}
	/*
	 * A hostile target against a backtracking-prone pattern must cost a
	 * bounded amount of work: the search then fails with REWRITE_ERROR.
	 */
	onig_set_retry_limit_in_match_of_match_param(ctx->mp, REWRITE_RETRY_MAX);
	onig_set_retry_limit_in_search_of_match_param(ctx->mp, REWRITE_RETRY_MAX);
	return ctx;
}

void
rewrite_ctx_free(struct rewrite_ctx *ctx)
{
	if (ctx == NULL)
		return;
	assert(ctx->magic == RWCTX_MAGIC);
	onig_region_free(&ctx->region, 0);
	onig_free_match_param(ctx->mp);
	ctx->magic = 0;
	free(ctx);
}

/*
 * One onig_search over the whole subject. region NULL: no captures. Returns
 * 1, 0 (no match) or REWRITE_ERROR. The region is only resized when too small;
 * the backtrack stack oniguruma copies to the heap at the end of match_at()
 * is freed before onig_search_with_param() returns.
 */
static int
search(const struct rewrite *rw, struct rewrite_ctx *ctx, const char *s, size_t len,
    OnigRegion *region)
{
	const UChar *p = (const UChar *)(s != NULL ? s : "");
	int r;

	assert(rw->magic == REWRITE_MAGIC && ctx->magic == RWCTX_MAGIC);
	/* Region offsets are ints. */
	if (len > INT_MAX)
		return REWRITE_ERROR;
	r = onig_search_with_param(rw->re, p, p + len, p, p + len, region, ONIG_OPTION_NONE,
	    ctx->mp);
	if (r >= 0)
		return 1;
	return r == ONIG_MISMATCH ? 0 : REWRITE_ERROR;
}

int
rewrite_match(const struct rewrite *rw, struct rewrite_ctx *ctx, const char *s, size_t len)
{
	return search(rw, ctx, s, len, NULL);
}

int
rewrite_apply(const struct rewrite *rw, struct rewrite_ctx *ctx, const char *subj, size_t len,
    char *out, size_t cap)
{
	const OnigRegion *rg = &ctx->region;
	const char *base = subj != NULL ? subj : "", *src;
	size_t o = 0, n;
	uint32_t i;
	int r;

	if ((r = search(rw, ctx, base, len, &ctx->region)) != 1)
		return r == 0 ? REWRITE_NOMATCH : r;
	for (i = 0; i < rw->nseg; i++) {
		const struct seg *sg = &rw->seg[i];

		if (sg->group == SEG_LITERAL) {
			src = rw->lit + sg->off;
			n = sg->len;
		} else if (sg->group < rg->num_regs && rg->beg[sg->group] != ONIG_REGION_NOTPOS) {
			src = base + rg->beg[sg->group];
			n = (size_t)(rg->end[sg->group] - rg->beg[sg->group]);
		} else {
			continue;	/* unset or out-of-range group: empty */
		}
		if (n > cap - o)
			return REWRITE_TOOLONG;
		if (n > 0)
			memcpy(out + o, src, n);
		o += n;
	}
	/* Lengths are bounded by the subject and the config strings. */
	return o > INT_MAX ? REWRITE_TOOLONG : (int)o;
}

int
rewrite_valid_target(const char *p, size_t len)
{
	size_t i;

	if (len == 0 || p[0] != '/')
		return 0;
	for (i = 1; i < len; i++)
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e || p[i] == '#')
			return 0;
	return 1;
}

const char *
rewrite_lib_version(void)
{
	static char v[32];

	snprintf(v, sizeof(v), "oniguruma %s", onig_version());
	return v;
}
