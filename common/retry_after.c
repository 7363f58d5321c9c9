/*
 * Retry-After parser (see retry_after.h): strict, no locale, no libc time
 * parsing (strptime and timegm depend on the locale and TZ).
 */
#include "common/retry_after.h"

#include <string.h>

/* A cursor over the value; every reader fails on end of input. */
struct cur {
	const char	*p;
	const char	*end;
};

static int	lit(struct cur *c, const char *s);
static int	digits(struct cur *c, int n, int *out);
static int	name_in(struct cur *c, const char *const *names, int count, int *idx);
static int	hms(struct cur *c, int *h, int *m, int *s);
static int64_t	days_from_civil(int64_t y, int m, int d);
static int	days_in_month(int y, int m);
static int	parse_date(const char *p, const char *end, time_t now, int64_t *t);

static const char *const wkday[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char *const weekday[] = { "Monday", "Tuesday", "Wednesday", "Thursday",
	"Friday", "Saturday", "Sunday" };
static const char *const month[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
	"Aug", "Sep", "Oct", "Nov", "Dec" };

/* Consumes s exactly (case-sensitive, as the grammar's names are). */
static int
lit(struct cur *c, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
		return -1;
	c->p += n;
	return 0;
}

/* Exactly n decimal digits. */
static int
digits(struct cur *c, int n, int *out)
{
	int v = 0, i;

	if (c->end - c->p < n)
		return -1;
	for (i = 0; i < n; i++) {
		if (c->p[i] < '0' || c->p[i] > '9')
			return -1;
		v = v * 10 + (c->p[i] - '0');
	}
	c->p += n;
	*out = v;
	return 0;
}

/* The longest-first match among names is not needed: no name prefixes another. */
static int
name_in(struct cur *c, const char *const *names, int count, int *idx)
{
	int i;

	for (i = 0; i < count; i++)
		if (lit(c, names[i]) == 0) {
			*idx = i;
			return 0;
		}
	return -1;
}

/* "HH:MM:SS"; 60 seconds allowed for a leap second. */
static int
hms(struct cur *c, int *h, int *m, int *s)
{
	if (digits(c, 2, h) == -1 || lit(c, ":") == -1 || digits(c, 2, m) == -1 ||
	    lit(c, ":") == -1 || digits(c, 2, s) == -1)
		return -1;
	return *h <= 23 && *m <= 59 && *s <= 60 ? 0 : -1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

/* An HTTP-date in p[0..end) as unix seconds. */
static int
parse_date(const char *p, const char *end, time_t now, int64_t *t)
{
	struct cur c = { p, end };
	int wd, d, mon, y, h, mi, s;

	if (name_in(&c, weekday, 7, &wd) == 0) {
		/* rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT" */
		int64_t nowy = 1970 + (int64_t)now / 31556952;	/* mean Gregorian year */

		if (lit(&c, ", ") == -1 || digits(&c, 2, &d) == -1 || lit(&c, "-") == -1 ||
		    name_in(&c, month, 12, &mon) == -1 || lit(&c, "-") == -1 ||
		    digits(&c, 2, &y) == -1 || lit(&c, " ") == -1 || hms(&c, &h, &mi, &s) == -1 ||
		    lit(&c, " GMT") == -1)
			return -1;
		y += (int)(nowy - nowy % 100);
		if (y > nowy + 50)
			y -= 100;
	} else if (name_in(&c, wkday, 7, &wd) == 0) {
		if (lit(&c, ", ") == 0) {
			/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
			if (digits(&c, 2, &d) == -1 || lit(&c, " ") == -1 ||
			    name_in(&c, month, 12, &mon) == -1 || lit(&c, " ") == -1 ||
			    digits(&c, 4, &y) == -1 || lit(&c, " ") == -1 ||
			    hms(&c, &h, &mi, &s) == -1 || lit(&c, " GMT") == -1)
				return -1;
		} else {
			/* asctime-date: "Sun Nov  6 08:49:37 1994" (day padded with a space) */
			if (lit(&c, " ") == -1 || name_in(&c, month, 12, &mon) == -1 ||
			    lit(&c, " ") == -1)
				return -1;
			if (lit(&c, " ") == 0) {
				if (digits(&c, 1, &d) == -1)
					return -1;
			} else if (digits(&c, 2, &d) == -1) {
				return -1;
			}
			if (lit(&c, " ") == -1 || hms(&c, &h, &mi, &s) == -1 || lit(&c, " ") == -1 ||
			    digits(&c, 4, &y) == -1)
				return -1;
		}
	} else {
		return -1;
	}
	if (c.p != c.end || d < 1 || d > days_in_month(y, mon + 1))
		return -1;
	*t = days_from_civil(y, mon + 1, d) * 86400 + h * 3600 + mi * 60 + s;
	return 0;
}

int
retry_after_parse(const char *p, size_t len, time_t now, uint32_t *secs)
{
	const char *end = p + len;
	uint64_t v = 0;
	int64_t t;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (p == end)
		return -1;
	if (*p >= '0' && *p <= '9') {
		for (; p < end; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			if (v < UINT32_MAX)
				v = v * 10 + (uint64_t)(*p - '0');
		}
		*secs = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
		return 0;
	}
	if (parse_date(p, end, now, &t) == -1)
		return -1;
	t -= (int64_t)now;
	*secs = t <= 0 ? 0 : t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
	return 0;
}
