/*
 * Regex rules (oniguruma): a (regex, replacement) pair compiled once at config
 * load, then matched and expanded on the hot path without heap allocation.
 */
#ifndef SLUICE_REWRITE_H
#define SLUICE_REWRITE_H

#include <stddef.h>

/* rewrite_apply() and rewrite_match() results below zero. */
enum {
	REWRITE_NOMATCH = -1,	/* the regex does not match the subject */
	REWRITE_TOOLONG = -2,	/* the expansion does not fit in out */
	REWRITE_ERROR = -3,	/* oniguruma gave up (retry limit) or the subject is > INT_MAX */
};

/* Which half of a rule rewrite_compile() rejected. */
enum rewrite_part {
	REWRITE_PART_REGEX = 0,
	REWRITE_PART_REPLACE,
	REWRITE_PART__COUNT
};

#define REWRITE_ERR_MAX		160	/* room for any message rewrite_compile() writes */
#define REWRITE_CTX_REGS	32	/* groups a new ctx holds without growing */
#define REWRITE_RETRY_MAX	100000UL	/* backtracking steps per search (ReDoS guard): about
					 * 1.3 ms of CPU at worst (tests/bench/regex_worst.py) */

struct rewrite;
struct rewrite_ctx;

/*
 * Compiles regex (Perl syntax with named groups, ONIG_SYNTAX_PERL_NG; ASCII
 * encoding, so each byte is one character and any byte string is valid) and
 * pre-parses replace into literal and capture segments. In replace, "$0".."$9"
 * is a capture (one digit: "$10" is "$1" then "0") and "$$" a dollar; any other
 * "$" is rejected. replace may be NULL for a match-only rule (path_regex).
 * Every parenthesis captures, also next to named groups.
 * Returns the rule (free with rewrite_free()), or NULL with a one-line message
 * in err ("invalid regex: <oniguruma's message>", "invalid replacement: ...")
 * and, if bad is not NULL, the half that failed in *bad.
 */
struct rewrite	*rewrite_compile(const char *regex, const char *replace, char *err,
		    size_t errlen, enum rewrite_part *bad);

/* Frees a rule; accepts NULL. */
void		 rewrite_free(struct rewrite *rw);

/* Number of capture groups in the regex (0 for "^/api/"). */
int		 rewrite_groups(const struct rewrite *rw);

/*
 * Per-worker match state: an OnigRegion sized for REWRITE_CTX_REGS groups and
 * a match parameter with the retry limits. oniguruma only grows a region whose
 * allocation is too small (onig_region_resize), so a reused ctx does not grow
 * per call; a regex with more groups grows it once, for good. oniguruma
 * itself still mallocs its backtrack stack (~5 KB) once per search that gets
 * past its literal prefilter and frees it before returning (match_at() ends
 * with STACK_SAVE in 6.9.x): no API avoids that. Returns NULL on ENOMEM.
 */
struct rewrite_ctx *rewrite_ctx_new(void);

/* Frees a ctx; accepts NULL. */
void		 rewrite_ctx_free(struct rewrite_ctx *ctx);

/*
 * Searches subj[0..len) (not NUL-terminated) and, on a match, writes the whole
 * expansion of the replacement to out: the subject is replaced, not only the
 * matched part (nginx "rewrite", Cherokee). A group that did not take part in
 * the match, or beyond the regex's groups ("$7" with two), expands to "".
 * out is not NUL-terminated and may hold garbage after REWRITE_TOOLONG.
 * Returns the output length (>= 0), REWRITE_NOMATCH, REWRITE_TOOLONG or
 * REWRITE_ERROR. A match-only rule (replace NULL) expands to "".
 */
int		 rewrite_apply(const struct rewrite *rw, struct rewrite_ctx *ctx, const char *subj,
		    size_t len, char *out, size_t cap);

/*
 * Searches s[0..len) only (no captures kept). Returns 1 on a match, 0 on none,
 * REWRITE_ERROR if the search gave up: test "== 1", not for truth.
 */
int		 rewrite_match(const struct rewrite *rw, struct rewrite_ctx *ctx, const char *s,
		    size_t len);

/*
 * Is p[0..len) a usable origin-form request target: starts with '/', only
 * visible ASCII (0x21-0x7E), no '#'? Returns 1 or 0. A rewrite result that
 * fails this is answered with 500.
 */
int		 rewrite_valid_target(const char *p, size_t len);

/* "oniguruma X.Y.Z", the library in use (static string). */
const char	*rewrite_lib_version(void);

#endif
