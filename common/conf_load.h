/*
 * Loads and validates a libconfig file into a struct conf.
 * Only conf_load.c includes libconfig.h (and conf_shm.c, which reads the
 * shm setting alone for sluice-stat).
 */
#ifndef SLUICE_CONF_LOAD_H
#define SLUICE_CONF_LOAD_H

#include <stdio.h>

#include "conf.h"

/*
 * Loads path. On success returns a heap conf (free with conf_free()) and
 * errs->n == 0. On any error returns NULL and fills errs with every error
 * found (syntax errors stop at the first one, as libconfig does). Addresses
 * are resolved here (getaddrinfo), "auto" workers becomes the CPU count.
 */
struct conf	*conf_load(const char *path, struct conf_errs *errs);

/* sluice -t: the log and pid files can be written */
#define CONF_LOAD_F_FILES	0x0001u

/*
 * conf_load() with more checks. flags CONF_LOAD_F_FILES: the error and
 * access log files and the pid file can be opened for appending, or created
 * in their directory (nothing is created), each refused as
 * "KEY: reason" at the key's line. warns, if not NULL, receives the
 * warnings, which do not fail the load: a route that can never match
 * because an earlier one takes all its requests.
 */
struct conf	*conf_load_ext(const char *path, unsigned flags, struct conf_errs *errs,
    struct conf_errs *warns);

/*
 * Could path be opened for appending, created if absent (the logs, the pid
 * file)? Nothing is created or changed. Returns 0, or -1 with a one-line
 * reason naming path (and its directory if that is the cause) in why.
 */
int		 conf_check_writable(const char *path, char *why, size_t size);

/* "libconfig X.Y.Z", the library this binary was built with (static string). */
const char	*conf_lib_version(void);

/* Frees a conf from conf_load(); accepts NULL. */
void		 conf_free(struct conf *c);

/* Prints each error as "FILE:LINE: MSG" on one line. */
void		 conf_errs_print(const struct conf_errs *errs, FILE *out);

/*
 * Parses "1.2.3.4:80", "[::1]:80", "host:80" (resolved, first result) or
 * "unix:/path" into a. Returns 0, or -1 with a static reason in *why.
 */
int		 conf_parse_addr(const char *text, struct addr_conf *a, const char **why);

#endif
