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
