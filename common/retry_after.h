/*
 * Retry-After field values (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.
 */
#ifndef SLUICE_RETRY_AFTER_H
#define SLUICE_RETRY_AFTER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * Parses the field value p[0..len) (surrounding spaces and tabs allowed):
 * delay-seconds (1*DIGIT, saturating at UINT32_MAX), or an HTTP-date in any
 * of the three forms a recipient must accept: IMF-fixdate
 * "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT"
 * (a two-digit year more than 50 years ahead of now is in the past century)
 * and asctime "Sun Nov  6 08:49:37 1994". A date is turned into seconds
 * after now (unix seconds), 0 if it is not in the future. The weekday name
 * must be a valid one but is not checked against the date.
 * Returns 0 with *secs set, or -1 (nothing set) for anything else: signs,
 * fractions, other zones, out-of-range fields, trailing bytes.
 */
int	retry_after_parse(const char *p, size_t len, time_t now, uint32_t *secs);

#endif
