/*
 * libFuzzer harness for the rewrite engine (common/rewrite.c). The input is
 * "regex NUL replacement NUL subject" (one NUL: a match-only rule; none: the
 * input is both regex and subject). Checks, beside ASan/UBSan on exact-size
 * buffers: compile accepts exactly the replacements its contract allows and
 * says which half it refused; an expansion equals one built here from
 * oniguruma's own match, fits the bound its segments allow, fits an exact
 * buffer and is TOOLONG in one byte less; the same call twice, or on a fresh
 * ctx, gives the same answer; a search that hits the retry limit gives up
 * with REWRITE_ERROR within bounded CPU and leaves the ctx usable.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <oniguruma.h>

#include "common/rewrite.h"
#include "tests/fuzz/fuzz.h"

#define PART_MAX	512	/* CONF_STR_MAX: longer regexes and replacements never load */
#define CPU_MAX_NS	1000000000LL	/* one search; the limit is about 1.3 ms unsanitized */

/* Oniguruma's answer on its own, with the limits sluice sets. */
struct ref_match {
	int		 r;	/* 1, 0 (no match) or REWRITE_ERROR */
	OnigRegion	*region;
};

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static long long	cpu_ns(void);
static int	ref_search(const char *, const char *, size_t, struct ref_match *);
static int	ref_expand(const char *, const struct ref_match *, const char *, char *, size_t *);
static size_t	ref_bound(const char *, size_t);
static int	ref_valid_target(const char *, size_t);
static int	apply_cap(const struct rewrite *, struct rewrite_ctx *, const char *, size_t,
		    size_t, char **);
static void	check_rule(const char *, const char *, const char *, size_t);

static struct rewrite_ctx	*ctx;	/* reused by every input, as a worker does */
static OnigMatchParam		*mp;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[REWRITE_ERR_MAX];
	struct rewrite *rw;

	(void)argc;
	(void)argv;
	/* rewrite_compile() initializes oniguruma for the harness's own searches too */
	if ((rw = rewrite_compile("x", NULL, err, sizeof(err), NULL)) == NULL)
		abort();
	rewrite_free(rw);
	if ((ctx = rewrite_ctx_new()) == NULL || (mp = onig_new_match_param()) == NULL)
		abort();
	onig_set_retry_limit_in_match_of_match_param(mp, REWRITE_RETRY_MAX);
	onig_set_retry_limit_in_search_of_match_param(mp, REWRITE_RETRY_MAX);
	return 0;
}

static long long
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * The regex compiled and searched with the documented options (Perl_NG
 * syntax, ASCII, every parenthesis captures, same retry limits). Returns -1
 * if it does not compile; else fills m (free m->region).
 */
static int
ref_search(const char *regex, const char *subj, size_t len, struct ref_match *m)
{
	OnigErrorInfo einfo;
	OnigRegex re;
	const UChar *s = (const UChar *)subj;
	int r;

	if (onig_new(&re, (const UChar *)regex, (const UChar *)regex + strlen(regex),
	    ONIG_OPTION_CAPTURE_GROUP, ONIG_ENCODING_ASCII, ONIG_SYNTAX_PERL_NG, &einfo) !=
	    ONIG_NORMAL)
		return -1;
	if ((m->region = onig_region_new()) == NULL)
		abort();
	r = onig_search_with_param(re, s, s + len, s, s + len, m->region, ONIG_OPTION_NONE, mp);
	m->r = r >= 0 ? 1 : r == ONIG_MISMATCH ? 0 : REWRITE_ERROR;
	onig_free(re);
	return 0;
}

/*
 * The replacement's contract, written out again: "$0".."$9" is that group
 * (one digit; unset or beyond the regex: empty), "$$" a dollar, any other
 * "$" refuses the rule. out NULL: only validate. Returns 0 or -1.
 */
static int
ref_expand(const char *rep, const struct ref_match *m, const char *subj, char *out,
    size_t *olen)
{
	const OnigRegion *rg = m != NULL ? m->region : NULL;
	size_t o = 0;
	int g;

	for (; *rep != '\0'; rep++) {
		if (*rep != '$') {
			if (out != NULL)
				out[o] = *rep;
			o++;
			continue;
		}
		rep++;
		if (*rep == '$') {
			if (out != NULL)
				out[o] = '$';
			o++;
		} else if (*rep >= '0' && *rep <= '9') {
			g = *rep - '0';
			if (rg != NULL && g < rg->num_regs && rg->beg[g] != ONIG_REGION_NOTPOS) {
				if (out != NULL)
					memcpy(out + o, subj + rg->beg[g],
					    (size_t)(rg->end[g] - rg->beg[g]));
				o += (size_t)(rg->end[g] - rg->beg[g]);
			}
		} else {
			return -1;	/* also "$" at the end: *rep is the NUL */
		}
	}
	*olen = o;
	return 0;
}

/* The most a valid replacement can expand to on a subject of len bytes. */
static size_t
ref_bound(const char *rep, size_t len)
{
	size_t n = 0;

	for (; *rep != '\0'; rep++)
		if (*rep == '$' && rep[1] >= '0' && rep[1] <= '9') {
			n += len;
			rep++;
		} else {
			n++;
			if (*rep == '$')
				rep++;
		}
	return n;
}

/* rewrite_valid_target()'s contract: '/', then only 0x21-0x7e but '#'. */
static int
ref_valid_target(const char *p, size_t len)
{
	size_t i;

	if (len == 0 || p[0] != '/')
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f || p[i] == '#')
			return 0;
	return 1;
}

/*
 * rewrite_apply() into an exact-size heap buffer of cap bytes (malloc(0)
 * has no usable byte under ASan), timed. *out is the buffer (free it).
 */
static int
apply_cap(const struct rewrite *rw, struct rewrite_ctx *c, const char *subj, size_t len,
    size_t cap, char **out)
{
	long long t0;
	int r;

	if ((*out = malloc(cap)) == NULL && cap > 0)
		abort();
	t0 = cpu_ns();
	r = rewrite_apply(rw, c, subj, len, *out, cap);
	CHECK(cpu_ns() - t0 < CPU_MAX_NS);
	CHECK(r >= 0 || r == REWRITE_NOMATCH || r == REWRITE_TOOLONG || r == REWRITE_ERROR);
	return r;
}

/* One rule on one subject (subj: exact-size heap copy, or NULL with len 0). */
static void
check_rule(const char *regex, const char *rep, const char *subj, size_t len)
{
	char err[2 * REWRITE_ERR_MAX], *out, *want = NULL;
	enum rewrite_part bad = REWRITE_PART__COUNT;
	struct rewrite_ctx *fresh;
	struct rewrite *rw;
	struct ref_match m = { 0, NULL };
	size_t wlen = 0, bound;
	long long t0;
	int r, r2, ref_ok;

	err[0] = '\0';
	rw = rewrite_compile(regex, rep, err, sizeof(err), &bad);
	ref_ok = ref_search(regex, subj != NULL ? subj : "", len, &m) == 0;
	if (!ref_ok) {
		/* refused for its regex, with a message that fits REWRITE_ERR_MAX */
		CHECK(rw == NULL && bad == REWRITE_PART_REGEX);
		CHECK(strncmp(err, "invalid regex: ", 15) == 0 && strlen(err) < REWRITE_ERR_MAX);
		return;
	}
	if (rep != NULL && ref_expand(rep, NULL, NULL, NULL, &wlen) == -1) {
		CHECK(rw == NULL && bad == REWRITE_PART_REPLACE);
		CHECK(strncmp(err, "invalid replacement: ", 21) == 0 &&
		    strlen(err) < REWRITE_ERR_MAX);
		onig_region_free(m.region, 1);
		return;
	}
	CHECK(rw != NULL);
	CHECK(rewrite_groups(rw) == m.region->num_regs - 1 || m.r != 1);
	bound = rep != NULL ? ref_bound(rep, len) : 0;
	if (m.r == 1) {
		if ((want = malloc(bound > 0 ? bound : 1)) == NULL)
			abort();
		wlen = 0;
		if (rep != NULL)
			CHECK(ref_expand(rep, &m, subj != NULL ? subj : "", want, &wlen) == 0);
		CHECK(wlen <= bound);
	}

	/* Room for the bound: the reference's answer. */
	r = apply_cap(rw, ctx, subj, len, bound, &out);
	if (m.r == 1) {
		CHECK(r >= 0 && (size_t)r == wlen && memcmp(out, want, wlen) == 0);
		CHECK(rewrite_valid_target(out, wlen) == ref_valid_target(out, wlen));
	} else {
		CHECK(r == (m.r == 0 ? REWRITE_NOMATCH : REWRITE_ERROR));
	}
	free(out);
	/* Again on the same ctx, and on a fresh one: the same answer. */
	r2 = apply_cap(rw, ctx, subj, len, bound, &out);
	CHECK(r2 == r && (r < 0 || memcmp(out, want, wlen) == 0));
	free(out);
	if ((fresh = rewrite_ctx_new()) == NULL)
		abort();
	r2 = apply_cap(rw, fresh, subj, len, bound, &out);
	CHECK(r2 == r && (r < 0 || memcmp(out, want, wlen) == 0));
	free(out);
	rewrite_ctx_free(fresh);
	if (m.r == 1) {
		/* exactly the room needed is enough; one byte less is TOOLONG */
		r2 = apply_cap(rw, ctx, subj, len, wlen, &out);
		CHECK(r2 == (int)wlen && memcmp(out, want, wlen) == 0);
		free(out);
		if (wlen > 0) {
			r2 = apply_cap(rw, ctx, subj, len, wlen - 1, &out);
			CHECK(r2 == REWRITE_TOOLONG);
			free(out);
		}
	}
	/* Match only: the same verdict, also bounded. */
	t0 = cpu_ns();
	r2 = rewrite_match(rw, ctx, subj, len);
	CHECK(cpu_ns() - t0 < CPU_MAX_NS);
	CHECK(r2 == (m.r == 1 ? 1 : m.r == 0 ? 0 : REWRITE_ERROR));
	if (r == REWRITE_ERROR) {
		/* gave up: the ctx still serves the next request as it should */
		struct ref_match e = { 0, NULL };

		CHECK(ref_search(regex, "", 0, &e) == 0);
		r2 = apply_cap(rw, ctx, NULL, 0, bound, &out);
		free(out);
		CHECK(r2 == (e.r == 1 ? r2 : e.r == 0 ? REWRITE_NOMATCH : REWRITE_ERROR));
		CHECK(e.r != 1 || r2 >= 0);
		onig_region_free(e.region, 1);
	}
	free(want);
	onig_region_free(m.region, 1);
	rewrite_free(rw);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const uint8_t *z1, *z2 = NULL;
	char *regex, *rep = NULL, *subj;
	size_t rlen, plen = 0, slen;

	z1 = memchr(data, '\0', len);
	if (z1 != NULL)
		z2 = memchr(z1 + 1, '\0', len - (size_t)(z1 + 1 - data));
	rlen = z1 != NULL ? (size_t)(z1 - data) : len;
	if (z2 != NULL)
		plen = (size_t)(z2 - z1 - 1);
	if (rlen >= PART_MAX || plen >= PART_MAX)
		return 0;
	regex = fuzz_dup2(data, rlen, "", 1);
	if (z2 != NULL)
		rep = fuzz_dup2(z1 + 1, plen, "", 1);
	/* The subject: after the last separator, or the regex itself. */
	if (z2 != NULL)
		subj = fuzz_dup2(z2 + 1, slen = len - (size_t)(z2 + 1 - data), NULL, 0);
	else if (z1 != NULL)
		subj = fuzz_dup2(z1 + 1, slen = len - (size_t)(z1 + 1 - data), NULL, 0);
	else
		subj = fuzz_dup2(data, slen = len, NULL, 0);
	check_rule(regex, rep, slen > 0 ? subj : NULL, slen);
	free(subj);
	free(regex);
	free(rep);
	return 0;
}
