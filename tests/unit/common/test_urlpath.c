/*
 * Path normalization: RFC 3986 dot-segment examples, the route-bypass
 * attacks it exists for, escapes, rejections and output bounds.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/urlpath.h"

struct pair {
	const char	*in;
	const char	*want;
};

static void	expect(const char *in, const char *want);
static void	expect_all(const struct pair *p, size_t n);
static void	expect_err(const char *in, int code);

/*
 * Normalizes in from an exact-size heap copy into an exact-size output
 * (so ASan sees any access past either), compares with want, and checks
 * the output is a fixed point and that in-place normalization agrees.
 */
static void
expect(const char *in, const char *want)
{
	uint32_t len = (uint32_t)strlen(in);
	char *src = malloc(len + 1), *out = malloc(len + 1), *again = malloc(len + 1);
	int r, r2;

	cr_assert(src != NULL && out != NULL && again != NULL);
	memcpy(src, in, len);
	r = urlpath_normalize(src, len, out, len);
	cr_assert_geq(r, 0, "%s: error %d", in, r);
	cr_assert_eq((size_t)r, strlen(want), "%s: got \"%.*s\", want \"%s\"", in, r, out,
	    want);
	cr_assert(memcmp(out, want, (size_t)r) == 0, "%s: got \"%.*s\", want \"%s\"", in, r,
	    out, want);

	r2 = urlpath_normalize(out, (uint32_t)r, again, (uint32_t)r);
	cr_assert(r2 == r && memcmp(again, out, (size_t)r) == 0, "%s: not idempotent", in);

	r2 = urlpath_normalize(src, len, src, len);
	cr_assert(r2 == r && memcmp(src, out, (size_t)r) == 0, "%s: in-place differs", in);
	free(src);
	free(out);
	free(again);
}

static void
expect_all(const struct pair *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		expect(p[i].in, p[i].want);
}

static void
expect_err(const char *in, int code)
{
	uint32_t len = (uint32_t)strlen(in);
	char out[256];

	cr_assert_lt(len, sizeof(out));
	cr_assert_eq(urlpath_normalize(in, len, out, sizeof(out)), code, "%s", in);
}

/*
 * RFC 3986 §5.4.1 and §5.4.2 with base "http://a/b/c/d;p?q": each reference
 * merged with the base path "/b/c/" (§5.2.3), then normalized. The results
 * are the RFC's, less scheme and authority.
 */
Test(urlpath, rfc3986_5_4_examples)
{
	static const struct pair t[] = {
		{ "/b/c/g", "/b/c/g" },			/* "g" */
		{ "/b/c/./g", "/b/c/g" },		/* "./g" */
		{ "/b/c/g/", "/b/c/g/" },		/* "g/" */
		{ "/g", "/g" },				/* "/g" */
		{ "/b/c/d;p?y", "/b/c/d;p?y" },		/* "?y" */
		{ "/b/c/g?y", "/b/c/g?y" },		/* "g?y" */
		{ "/b/c/g;x", "/b/c/g;x" },		/* "g;x" */
		{ "/b/c/.", "/b/c/" },			/* "." */
		{ "/b/c/./", "/b/c/" },			/* "./" */
		{ "/b/c/..", "/b/" },			/* ".." */
		{ "/b/c/../", "/b/" },			/* "../" */
		{ "/b/c/../g", "/b/g" },		/* "../g" */
		{ "/b/c/../..", "/" },			/* "../.." */
		{ "/b/c/../../", "/" },			/* "../../" */
		{ "/b/c/../../g", "/g" },		/* "../../g" */
		/* §5.4.2 abnormal examples */
		{ "/b/c/../../../g", "/g" },
		{ "/b/c/../../../../g", "/g" },
		{ "/./g", "/g" },
		{ "/../g", "/g" },
		{ "/b/c/g.", "/b/c/g." },
		{ "/b/c/.g", "/b/c/.g" },
		{ "/b/c/g..", "/b/c/g.." },
		{ "/b/c/..g", "/b/c/..g" },
		{ "/b/c/./../g", "/b/g" },
		{ "/b/c/./g/.", "/b/c/g/" },
		{ "/b/c/g/./h", "/b/c/g/h" },
		{ "/b/c/g/../h", "/b/c/h" },
		{ "/b/c/g;x=1/./y", "/b/c/g;x=1/y" },
		{ "/b/c/g;x=1/../y", "/b/c/y" },
		{ "/b/c/g?y/./x", "/b/c/g?y/./x" },	/* the query is not a path */
		{ "/b/c/g?y/../x", "/b/c/g?y/../x" },
	};

	expect_all(t, sizeof(t) / sizeof(t[0]));
}

/* The §5.2.4 worked example. */
Test(urlpath, rfc3986_5_2_4_example)
{
	expect("/a/b/c/./../../g", "/a/g");
}

/* Each of these must reach an "/admin/" prefix route. */
Test(urlpath, route_bypass_attacks)
{
	static const struct pair t[] = {
		{ "/public/../admin/x", "/admin/x" },
		{ "/%61dmin/x", "/admin/x" },
		{ "//admin/x", "/admin/x" },
		{ "/./admin/x", "/admin/x" },
		{ "/%2e%2e/admin/x", "/admin/x" },
		{ "/%2E%2E/admin/x", "/admin/x" },
		{ "/public/%2e%2E/admin/x", "/admin/x" },
		{ "/public/.%2e/admin/x", "/admin/x" },
		{ "/public/%2e./admin/x", "/admin/x" },
		{ "/%2e/admin/x", "/admin/x" },
		{ "///admin///x", "/admin/x" },
		{ "/x/..//admin/x", "/admin/x" },
		{ "/%41%44%4d%49%4e/x", "/ADMIN/x" },	/* case is the backend's business */
		{ "/%61%64%6D%69%6e/x", "/admin/x" },
		{ "/a/b/../../../../admin/x", "/admin/x" },
	};

	expect_all(t, sizeof(t) / sizeof(t[0]));
}

Test(urlpath, escapes)
{
	static const struct pair t[] = {
		/* unreserved escapes are decoded, in either case */
		{ "/%7e%7E%2d%2D%5f%5F%2e%30%39%5a", "/~~--__.09Z" },
		/* others keep their escape, hex digits uppercased */
		{ "/a%20b", "/a%20b" },
		{ "/a%3fb", "/a%3Fb" },			/* an escaped '?' is no query */
		{ "/%c3%a9t%C3%a9", "/%C3%A9t%C3%A9" },
		{ "/%25", "/%25" },			/* '%' itself: no double decoding */
		{ "/%252F", "/%252F" },
		{ "/%ff%Fe%fF", "/%FF%FE%FF" },
		{ "/%2b%3B%3d%40", "/%2B%3B%3D%40" },
		{ "/%5c..%5c", "/%5C..%5C" },		/* "\\" escaped is no slash */
		{ "/a%2e", "/a." },
		{ "/%2e%2e%2e", "/..." },		/* not a dot segment */
	};

	expect_all(t, sizeof(t) / sizeof(t[0]));
}

Test(urlpath, slashes_and_trailing)
{
	static const struct pair t[] = {
		{ "/", "/" },
		{ "//", "/" },
		{ "////", "/" },
		{ "/a/", "/a/" },			/* trailing slash kept */
		{ "/a//", "/a/" },
		{ "/a/b", "/a/b" },
		{ "/a//b//c", "/a/b/c" },
		{ "/..", "/" },
		{ "/../", "/" },
		{ "/../..", "/" },
		{ "/.", "/" },
		{ "/./", "/" },
		{ "/%2e", "/" },
		{ "/%2e%2e", "/" },
		{ "/a/.", "/a/" },
		{ "/a/..", "/" },
		{ "/a/b/..", "/a/" },
		{ "/a/./b/./", "/a/b/" },
		{ "/a/.//b", "/a/b" },
		{ "/a//../b", "/b" },			/* slashes merge before ".." */
		{ "/a/b/c/../../../..", "/" },
		{ "/.../a", "/.../a" },
	};

	expect_all(t, sizeof(t) / sizeof(t[0]));
}

Test(urlpath, query_untouched)
{
	static const struct pair t[] = {
		{ "/a/../b?x=/../%2f%00%zz//.", "/b?x=/../%2f%00%zz//." },
		{ "/?", "/?" },
		{ "/..?", "/?" },
		{ "/a/.?q", "/a/?q" },
		{ "//a?//b", "/a?//b" },
		{ "/%61?%61", "/a?%61" },
		{ "/a??b", "/a??b" },
	};

	expect_all(t, sizeof(t) / sizeof(t[0]));
}

Test(urlpath, not_origin_form_unchanged)
{
	static const struct pair t[] = {
		{ "*", "*" },
		{ "", "" },
		{ "a/../b", "a/../b" },
		{ "?x", "?x" },
		{ "%2f", "%2f" },
	};

	expect_all(t, sizeof(t) / sizeof(t[0]));
}

Test(urlpath, rejections)
{
	expect_err("/admin%2Fx", URLPATH_ENCODED_SLASH);
	expect_err("/admin%2fx", URLPATH_ENCODED_SLASH);
	expect_err("/a/..%2F..%2Fetc", URLPATH_ENCODED_SLASH);
	expect_err("/a%00b", URLPATH_ENCODED_NUL);
	expect_err("/a%00", URLPATH_ENCODED_NUL);
	expect_err("/a%zz", URLPATH_BAD_ESCAPE);
	expect_err("/a%", URLPATH_BAD_ESCAPE);
	expect_err("/a%4", URLPATH_BAD_ESCAPE);
	expect_err("/a%4?", URLPATH_BAD_ESCAPE);	/* the query does not lend digits */
	expect_err("/a%?41", URLPATH_BAD_ESCAPE);
	expect_err("/a%g0", URLPATH_BAD_ESCAPE);
	expect_err("/a%0g", URLPATH_BAD_ESCAPE);
	expect_err("/a% 41", URLPATH_BAD_ESCAPE);
	expect_err("/a%%41", URLPATH_BAD_ESCAPE);
	expect_err("/a%+1", URLPATH_BAD_ESCAPE);
	/* the first problem found decides */
	expect_err("/a%zz%2f", URLPATH_BAD_ESCAPE);
	expect_err("/a%2f%zz", URLPATH_ENCODED_SLASH);
	expect_err("/a%00%2f", URLPATH_ENCODED_NUL);
	/* never checked: the query, and targets that are not paths */
	expect("/a?%zz%2f%00%", "/a?%zz%2f%00%");
	expect("*%zz", "*%zz");
}

Test(urlpath, error_text)
{
	cr_assert_str_eq(urlpath_error_text(URLPATH_BAD_ESCAPE),
	    "malformed percent-escape in path");
	cr_assert_str_eq(urlpath_error_text(URLPATH_ENCODED_SLASH), "encoded slash (%2F) in path");
	cr_assert_str_eq(urlpath_error_text(URLPATH_ENCODED_NUL), "encoded NUL (%00) in path");
	cr_assert_str_eq(urlpath_error_text(URLPATH_TOOLONG), "normalized path does not fit");
	cr_assert_not_null(urlpath_error_text(-99));
	cr_assert_not_null(urlpath_error_text(0));
}

/* The output never grows, and cap < len is refused whatever the input. */
Test(urlpath, output_length_bounds)
{
	static const char *in[] = {
		"/a/b/c", "/%41/%2e%2e/x", "/%c3%a9", "/a?b", "*", "//x//", "/a%zz",
	};
	char out[64];
	size_t i;
	uint32_t len, cap;
	int r;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		len = (uint32_t)strlen(in[i]);
		for (cap = 0; cap < len; cap++)
			cr_assert_eq(urlpath_normalize(in[i], len, out, cap), URLPATH_TOOLONG,
			    "%s cap %u", in[i], cap);
		/* canary: nothing is written past the result */
		memset(out, 'Z', sizeof(out));
		r = urlpath_normalize(in[i], len, out, len);
		if (r < 0)
			continue;
		cr_assert_leq((uint32_t)r, len, "%s", in[i]);
		cr_assert_eq(out[len], 'Z', "%s", in[i]);
	}
	cr_assert_eq(urlpath_normalize("/", 1, out, 0), URLPATH_TOOLONG);
	cr_assert_eq(urlpath_normalize("", 0, NULL, 0), 0);
	cr_assert_eq(urlpath_normalize("/", (uint32_t)INT32_MAX + 1, out, UINT32_MAX),
	    URLPATH_TOOLONG);
	/* all-unreserved escapes shrink to a third; kept escapes keep the length */
	cr_assert_eq(urlpath_normalize("/%61%62%63", 10, out, 10), 4);
	cr_assert_eq(urlpath_normalize("/%20%21%22", 10, out, 10), 10);
}

/* A long path with many segments and pops, in place and not. */
Test(urlpath, long_path)
{
	static char in[16384], want[8192];
	uint32_t n = 0, w = 0;
	int i;

	for (i = 0; i < 1000; i++) {
		memcpy(in + n, "/seg/x/..", 9);
		n += 9;
		memcpy(want + w, "/seg", 4);
		w += 4;
	}
	memcpy(in + n, "/%7Eend", 7);
	n += 7;
	memcpy(want + w, "/~end", 5);
	w += 5;
	in[n] = want[w] = '\0';
	expect(in, want);
}

/* The fast check never says "normal" for a path that normalization changes. */
Test(urlpath, is_normal_only_when_unchanged)
{
	static const char *const in[] = {
		"/", "/a/b", "/100", "/a/b?x=%2F//..", "/a//b", "/a/./b", "/a/../b", "/.",
		"/a/.hidden", "/%61dmin", "/a%2Fb", "*", "", "/a/b/", "/a?", "/a/b/..",
		"/..?q", "//", "/a/b.c/d",
	};
	char out[64];
	size_t i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		uint32_t len = (uint32_t)strlen(in[i]);
		int n = urlpath_normalize(in[i], len, out, sizeof(out));

		if (urlpath_is_normal(in[i], len))
			cr_expect(n == (int)len && memcmp(out, in[i], len) == 0, "%s", in[i]);
	}
	cr_expect_eq(urlpath_is_normal("/100", 4), 1);
	cr_expect_eq(urlpath_is_normal("/a/b?x=//", 9), 1);
	cr_expect_eq(urlpath_is_normal("/a//b", 5), 0);
	cr_expect_eq(urlpath_is_normal("/%61", 4), 0);
}
