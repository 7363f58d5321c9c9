/*
 * rewrite: compiling rules, the replacement syntax ($0-$9, $$), matching,
 * output bounds, origin-form checks, and no allocation per call with a ctx.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/rewrite.h"

static struct rewrite_ctx *ctx;
static char out[1024];
static char err[REWRITE_ERR_MAX];

static void		 setup(void);
static void		 teardown(void);
static struct rewrite	*compile_ok(const char *regex, const char *replace);
static void		 expect(const char *regex, const char *replace, const char *subj,
			    const char *want);
static void		 compile_bad(const char *regex, const char *replace,
			    enum rewrite_part part, const char *msg);
static void		 count_start(void);
static void		 count_stop(void);

/*
 * Allocation counters for the ctx-reuse tests. Under ASan its allocator hooks
 * see every malloc and free; otherwise malloc itself is replaced by counting
 * wrappers around glibc's, as glibc documents for replacing malloc.
 */
static volatile bool	counting;
static volatile size_t	nalloc;		/* new blocks */
static volatile size_t	nfree;		/* blocks released */
static volatile size_t	nresize;	/* realloc of a live block (not seen under ASan) */

#if defined(__SANITIZE_ADDRESS__)
int	__sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t),
	    void (*f)(const volatile void *));
static void	hook_malloc(const volatile void *p, size_t n);
static void	hook_free(const volatile void *p);

static void
hook_malloc(const volatile void *p, size_t n)
{
	(void)p, (void)n;
	if (counting)
		nalloc++;
}

static void
hook_free(const volatile void *p)
{
	if (counting && p != NULL)
		nfree++;
}

static void
count_start(void)
{
	static bool installed;

	/* Each call adds a hook pair (up to 5): install ours once. */
	if (!installed)
		installed = __sanitizer_install_malloc_and_free_hooks(hook_malloc, hook_free) != 0;
	nalloc = nfree = nresize = 0;
	counting = true;
}
#else
extern void	*__libc_malloc(size_t);
extern void	*__libc_calloc(size_t, size_t);
extern void	*__libc_realloc(void *, size_t);
extern void	 __libc_free(void *);

void *
malloc(size_t n)
{
	if (counting)
		nalloc++;
	return __libc_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
	if (counting)
		nalloc++;
	return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t n)
{
	if (counting) {
		if (p == NULL)
			nalloc++;
		else
			nresize++;
	}
	return __libc_realloc(p, n);
}

void
free(void *p)
{
	if (counting && p != NULL)
		nfree++;
	__libc_free(p);
}

static void
count_start(void)
{
	nalloc = nfree = nresize = 0;
	counting = true;
}
#endif

static void
count_stop(void)
{
	counting = false;
}

static void
setup(void)
{
	ctx = rewrite_ctx_new();
	cr_assert_not_null(ctx);
}

static void
teardown(void)
{
	rewrite_ctx_free(ctx);
	ctx = NULL;
}

static struct rewrite *
compile_ok(const char *regex, const char *replace)
{
	struct rewrite *rw = rewrite_compile(regex, replace, err, sizeof(err), NULL);

	cr_assert_not_null(rw, "%s -> %s: %s", regex, replace != NULL ? replace : "(null)", err);
	return rw;
}

/* Applies regex/replace to subj; want NULL means no match. */
static void
expect(const char *regex, const char *replace, const char *subj, const char *want)
{
	struct rewrite *rw = compile_ok(regex, replace);
	int n = rewrite_apply(rw, ctx, subj, strlen(subj), out, sizeof(out));

	if (want == NULL) {
		cr_assert_eq(n, REWRITE_NOMATCH, "%s on \"%s\": %d", regex, subj, n);
	} else {
		cr_assert_geq(n, 0, "%s on \"%s\": %d", regex, subj, n);
		cr_assert_eq((size_t)n, strlen(want), "got \"%.*s\", want \"%s\"", n, out, want);
		cr_assert_arr_eq(out, want, (size_t)n);
	}
	rewrite_free(rw);
}

static void
compile_bad(const char *regex, const char *replace, enum rewrite_part part, const char *msg)
{
	enum rewrite_part bad = REWRITE_PART__COUNT;
	struct rewrite *rw;

	err[0] = '\0';
	rw = rewrite_compile(regex, replace, err, sizeof(err), &bad);
	cr_assert_null(rw, "%s -> %s compiled", regex, replace);
	cr_assert_eq(bad, part, "%s -> %s: part %d", regex, replace, (int)bad);
	cr_assert_str_eq(err, msg);
}

TestSuite(rewrite, .init = setup, .fini = teardown);

/* --- substitution ----------------------------------------------------- */

Test(rewrite, old_prefix_to_new_keeps_query)
{
	expect("^/old/(.*)$", "/new/$1", "/old/x?q=1", "/new/x?q=1");
}

Test(rewrite, captures_in_any_order_and_repeated)
{
	expect("^/u/(\\w+)/(\\d+)$", "/id/$2/name/$1/$1", "/u/bob/42", "/id/42/name/bob/bob");
	expect("^/(a)(b)(c)(d)(e)(f)(g)(h)(i)$", "$9$8$7$6$5$4$3$2$1", "/abcdefghi",
	    "ihgfedcba");
}

Test(rewrite, dollar_zero_is_the_whole_match_not_the_subject)
{
	expect("/b+", "[$0]", "/a/bbb/c", "[/bbb]");
}

Test(rewrite, whole_subject_is_replaced)
{
	/* Like nginx rewrite: the result is the expansion, not a sed-style splice. */
	expect("^/old/", "/new/", "/old/x", "/new/");
}

Test(rewrite, double_dollar_is_a_literal_dollar)
{
	expect("^/p/(.*)$", "/cost/$$$1/$$", "/p/5", "/cost/$5/$");
	expect("^/", "$$$$", "/", "$$");
}

Test(rewrite, dollar_takes_one_digit)
{
	expect("^/(x)$", "/$10", "/x", "/x0");
}

Test(rewrite, out_of_range_capture_is_empty)
{
	struct rewrite *rw = compile_ok("^/(a)/(b)$", "<$7|$2|$9>");

	cr_assert_eq(rewrite_groups(rw), 2);
	cr_assert_eq(rewrite_apply(rw, ctx, "/a/b", 4, out, sizeof(out)), 5);
	cr_assert_arr_eq(out, "<|b|>", 5);
	rewrite_free(rw);
}

Test(rewrite, unset_optional_group_is_empty)
{
	expect("^/(x)?(y)$", "[$1][$2]", "/y", "[][y]");
}

Test(rewrite, empty_match_at_start)
{
	expect("^", "/root$0", "/anything", "/root");
	expect("x*", "[$0]", "/abc", "[]");
}

Test(rewrite, empty_subject)
{
	struct rewrite *rw = compile_ok("^$", "/empty");

	cr_assert_eq(rewrite_apply(rw, ctx, "", 0, out, sizeof(out)), 6);
	cr_assert_eq(rewrite_apply(rw, ctx, NULL, 0, out, sizeof(out)), 6);
	cr_assert_eq(rewrite_apply(rw, ctx, "/", 1, out, sizeof(out)), REWRITE_NOMATCH);
	rewrite_free(rw);
}

Test(rewrite, empty_replacement)
{
	struct rewrite *rw = compile_ok("^/x", "");

	cr_assert_eq(rewrite_apply(rw, ctx, "/x", 2, out, 0), 0);
	rewrite_free(rw);
}

Test(rewrite, no_match)
{
	expect("^/old/(.*)$", "/new/$1", "/other/x", NULL);
	expect("^/old/", "/new/", "/OLD/x", NULL);
}

Test(rewrite, case_insensitive_flag)
{
	expect("(?i)^/old/(.*)$", "/new/$1", "/OLD/X", "/new/X");
}

Test(rewrite, named_groups_keep_plain_groups_numbered)
{
	expect("^/(?<kind>[a-z]+)/(\\d+)$", "/$2/$1", "/item/7", "/7/item");
}

Test(rewrite, subject_is_bounded_by_len_not_nul)
{
	static const char buf[] = "/old/abcTRAILING";
	struct rewrite *rw = compile_ok("^/old/(.*)$", "/new/$1");

	cr_assert_eq(rewrite_apply(rw, ctx, buf, 8, out, sizeof(out)), 8);
	cr_assert_arr_eq(out, "/new/abc", 8);
	rewrite_free(rw);
}

Test(rewrite, bytes_above_ascii_are_single_characters)
{
	expect("^/a(.)b$", "/$1", "/a\xe9" "b", "/\xe9");
	expect("^/a(.)b$", "/$1", "/a\xc3\xa9" "b", NULL);
}

Test(rewrite, output_too_long)
{
	struct rewrite *rw = compile_ok("^/old/(.*)$", "/new/$1");

	cr_assert_eq(rewrite_apply(rw, ctx, "/old/xyz", 8, out, 7), REWRITE_TOOLONG);
	cr_assert_eq(rewrite_apply(rw, ctx, "/old/xyz", 8, out, 4), REWRITE_TOOLONG);
	cr_assert_eq(rewrite_apply(rw, ctx, "/old/xyz", 8, out, 0), REWRITE_TOOLONG);
	/* Exactly the room needed is enough. */
	cr_assert_eq(rewrite_apply(rw, ctx, "/old/xyz", 8, out, 8), 8);
	rewrite_free(rw);
}

Test(rewrite, backtracking_bomb_gives_up)
{
	char s[64];
	struct rewrite *rw = compile_ok("^(a+)+$", "/x");

	memset(s, 'a', 40);
	s[40] = 'b';
	cr_assert_eq(rewrite_apply(rw, ctx, s, 41, out, sizeof(out)), REWRITE_ERROR);
	cr_assert_eq(rewrite_match(rw, ctx, s, 41), REWRITE_ERROR);
	/* The ctx is still good afterwards. */
	cr_assert_eq(rewrite_apply(rw, ctx, "aaa", 3, out, sizeof(out)), 2);
	rewrite_free(rw);
}

/* --- match only ------------------------------------------------------- */

Test(rewrite, match_only_rule)
{
	struct rewrite *rw = compile_ok("^/api/(v\\d+)/", NULL);

	cr_assert_eq(rewrite_match(rw, ctx, "/api/v2/users", 13), 1);
	cr_assert_eq(rewrite_match(rw, ctx, "/api/x/users", 12), 0);
	cr_assert_eq(rewrite_match(rw, ctx, "", 0), 0);
	/* No replacement: a match expands to nothing. */
	cr_assert_eq(rewrite_apply(rw, ctx, "/api/v2/", 8, out, sizeof(out)), 0);
	rewrite_free(rw);
}

/* --- compile errors --------------------------------------------------- */

Test(rewrite, invalid_regex_carries_oniguruma_message)
{
	compile_bad("^/(a", "/x", REWRITE_PART_REGEX,
	    "invalid regex: end pattern with unmatched parenthesis");
	compile_bad("[z-a]", "/x", REWRITE_PART_REGEX, "invalid regex: empty range in char class");
	compile_bad("(?<n>a)\\k<m>", "/x", REWRITE_PART_REGEX,
	    "invalid regex: undefined name <m> reference");
}

Test(rewrite, invalid_dollar_in_replacement)
{
	compile_bad("^/", "/a/$x", REWRITE_PART_REPLACE,
	    "invalid replacement: \"$x\" at offset 3 (expected $0-$9 or $$)");
	compile_bad("^/", "/${1}", REWRITE_PART_REPLACE,
	    "invalid replacement: \"${\" at offset 1 (expected $0-$9 or $$)");
	compile_bad("^/", "/a$", REWRITE_PART_REPLACE,
	    "invalid replacement: \"$\" at the end (expected $0-$9 or $$)");
	compile_bad("^/", "/a$ b", REWRITE_PART_REPLACE,
	    "invalid replacement: \"$\\x20\" at offset 2 (expected $0-$9 or $$)");
}

Test(rewrite, error_message_is_cut_to_the_buffer)
{
	char small[16];

	cr_assert_null(rewrite_compile("(", "", small, sizeof(small), NULL));
	cr_assert_eq(strlen(small), sizeof(small) - 1);
	cr_assert_eq(strncmp(small, "invalid regex: ", sizeof(small) - 1), 0);
}

Test(rewrite, free_accepts_null)
{
	rewrite_free(NULL);
	rewrite_ctx_free(NULL);
}

/* --- origin form ------------------------------------------------------ */

Test(rewrite, valid_target)
{
	cr_assert_eq(rewrite_valid_target("/", 1), 1);
	cr_assert_eq(rewrite_valid_target("/new/x?q=1&r=%20~", 17), 1);
	cr_assert_eq(rewrite_valid_target("", 0), 0);
	cr_assert_eq(rewrite_valid_target("new", 3), 0);
	cr_assert_eq(rewrite_valid_target("http://a/", 9), 0);
	cr_assert_eq(rewrite_valid_target("/a b", 4), 0);
	cr_assert_eq(rewrite_valid_target("/a#frag", 7), 0);
	cr_assert_eq(rewrite_valid_target("/a\r\nX: y", 8), 0);
	cr_assert_eq(rewrite_valid_target("/a\x7f", 3), 0);
	cr_assert_eq(rewrite_valid_target("/a\xc3\xa9", 4), 0);
	cr_assert_eq(rewrite_valid_target("/a\0b", 4), 0);
	/* Only len bytes are looked at. */
	cr_assert_eq(rewrite_valid_target("/ok bad", 3), 1);
}

/* --- no growth -------------------------------------------------------- */

/*
 * A reused ctx never grows: every block allocated during a call is released
 * before it returns, and nothing is resized. The only allocation is
 * oniguruma's own backtrack stack, copied to the heap at the end of each
 * match attempt and freed by onig_search (6.9.x STACK_SAVE): at most one per
 * search. A search its literal prefilter rejects allocates nothing.
 */
Test(rewrite, ctx_reuse_does_not_grow_over_10000_calls)
{
	struct rewrite *rw = compile_ok("^/old/([^/?]*)(/[^?]*)?(\\?.*)?$", "/new/$1$2$3");
	struct rewrite *mo = compile_ok("^/api/", NULL);
	size_t allocs = 0;
	char subj[64];
	int i, n, m, nm, len;

	for (i = 0; i < 10000; i++) {
		len = snprintf(subj, sizeof(subj), "/old/%d/p/%d?q=%d", i, i * 7, i % 13);
		/* Counted around our calls only: Criterion's asserts allocate. */
		count_start();
		n = rewrite_apply(rw, ctx, subj, (size_t)len, out, sizeof(out));
		m = rewrite_match(mo, ctx, subj, (size_t)len);
		nm = rewrite_apply(rw, ctx, "/x", 2, out + 512, sizeof(out) - 512);
		count_stop();
		cr_assert_eq(nalloc, nfree, "call %d: %zu blocks kept", i, nalloc - nfree);
		cr_assert_eq(nresize, 0, "call %d: %zu resized", i, nresize);
		allocs += nalloc;
		cr_assert_eq(n, len, "call %d: %d", i, n);
		cr_assert_arr_eq(out, "/new/", 5);
		cr_assert_arr_eq(out + 5, subj + 5, (size_t)len - 5);
		cr_assert_eq(m, 0);
		cr_assert_eq(nm, REWRITE_NOMATCH);
	}
	/* Only the matching apply reaches oniguruma's matcher. */
	cr_assert_leq(allocs, 10000, "%zu allocations in 10000 x 3 calls", allocs);
	rewrite_free(rw);
	rewrite_free(mo);
}

Test(rewrite, many_groups_grow_the_ctx_once)
{
	char re[256] = "^", subj[64];
	struct rewrite *rw;
	int i, ok = 0;

	/* 40 groups: more than REWRITE_CTX_REGS. */
	for (i = 0; i < 40; i++)
		strcat(re, "(.)");
	memset(subj, 'a', 40);
	rw = compile_ok(re, "$9");
	cr_assert_eq(rewrite_groups(rw), 40);
	count_start();
	ok += rewrite_apply(rw, ctx, subj, 40, out, sizeof(out)) == 1;
	count_stop();
#if !defined(__SANITIZE_ADDRESS__)
	/* The region's beg and end arrays, once. */
	cr_assert_eq(nresize, 2);
#endif
	count_start();
	for (i = 0; i < 1000; i++)
		ok += rewrite_apply(rw, ctx, subj, 40, out, sizeof(out)) == 1;
	count_stop();
	cr_assert_eq(ok, 1001);
	cr_assert_eq(nresize, 0);
	cr_assert_eq(nalloc, nfree);
	rewrite_free(rw);
}
