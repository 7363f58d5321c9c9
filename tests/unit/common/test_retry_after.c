/*
 * retry_after_parse(): delay-seconds and the three HTTP-date forms, relative
 * to a fixed now; everything else refused.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "common/retry_after.h"

/* Sun, 06 Nov 1994 08:49:37 GMT */
#define T1994	((time_t)784111777)

static int
parse(const char *s, time_t now, uint32_t *secs)
{
	return retry_after_parse(s, strlen(s), now, secs);
}

Test(retry_after, delay_seconds)
{
	uint32_t v = 7;

	cr_expect_eq(parse("120", 0, &v), 0);
	cr_expect_eq(v, 120);
	cr_expect_eq(parse(" \t0 ", 0, &v), 0);
	cr_expect_eq(v, 0);
	cr_expect_eq(parse("99999999999999999999", 0, &v), 0);
	cr_expect_eq(v, UINT32_MAX, "saturates");
}

Test(retry_after, dates)
{
	uint32_t v = 0;

	cr_expect_eq(parse("Sun, 06 Nov 1994 08:49:37 GMT", T1994 - 30, &v), 0);
	cr_expect_eq(v, 30);
	cr_expect_eq(parse("Sunday, 06-Nov-94 08:49:37 GMT", T1994 - 5, &v), 0);
	cr_expect_eq(v, 5);
	cr_expect_eq(parse("Sun Nov  6 08:49:37 1994", T1994 - 1, &v), 0);
	cr_expect_eq(v, 1);
	cr_expect_eq(parse("Sun, 06 Nov 1994 08:49:37 GMT", T1994 + 100, &v), 0);
	cr_expect_eq(v, 0, "a date in the past means now");
	cr_expect_eq(parse("Thu, 01 Jan 1970 00:00:00 GMT", 0, &v), 0);
	cr_expect_eq(parse("Tue, 29 Feb 2000 23:59:60 GMT", 0, &v), 0);
	cr_expect_eq(v, 951868800, "leap day and leap second");
	cr_expect_eq(parse("Sat Nov 14 10:00:00 2026", (time_t)1794650390, &v), 0);
	cr_expect_eq(v, 10);
}

Test(retry_after, rfc850_century)
{
	uint32_t v = 0;
	time_t y2026 = (time_t)1767225600;	/* 2026-01-01 */

	/* "70" is 2070 from 2026 (44 years ahead), "99" is 1999 (73 ahead). */
	cr_expect_eq(parse("Wednesday, 01-Jan-70 00:00:00 GMT", y2026, &v), 0);
	cr_expect_eq(v, (uint32_t)(3155760000 - 1767225600));
	cr_expect_eq(parse("Friday, 01-Jan-99 00:00:00 GMT", y2026, &v), 0);
	cr_expect_eq(v, 0);
}

Test(retry_after, refused)
{
	static const char *bad[] = {
		"", " ", "-1", "+5", "1.5", "5s", "5 5", "0x10",
		"Sun, 06 Nov 1994 08:49:37 UTC",
		"Sun, 6 Nov 1994 08:49:37 GMT",
		"Sun, 31 Nov 1994 08:49:37 GMT",
		"Sun, 29 Feb 1900 08:49:37 GMT",
		"Sun, 06 Nov 1994 24:00:00 GMT",
		"Sun, 06 Nov 1994 08:49:37 GMT ;",
		"sun, 06 Nov 1994 08:49:37 GMT",
		"Sun, 06 nov 1994 08:49:37 GMT",
		"Sunday, 06 Nov 1994 08:49:37 GMT",
		"Sun Nov 6 08:49:37 1994",
		"Sun, 06 Nov 1994",
	};
	uint32_t v = 42;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(parse(bad[i], T1994, &v), -1, "accepted \"%s\"", bad[i]);
	cr_expect_eq(v, 42, "nothing set");
}
