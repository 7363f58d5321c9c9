/*
 * The shm name of a configuration file, read alone: what sluice-stat -c
 * needs, without loading the rest (no regex compiled, no address resolved),
 * so the reader links libconfig but neither oniguruma nor conf_load.o.
 */
#ifndef SLUICE_CONF_SHM_H
#define SLUICE_CONF_SHM_H

#include <stdbool.h>
#include <stddef.h>

#include "common/conf.h"

#define CONF_SHM_DEFAULT	"/sluice"
#define CONF_SHM_EXPECT		"a POSIX shm name such as \"/sluice\" (one leading \"/\", " \
				"at most 63 characters)"

/* shm_open(3)'s portable rule: one leading slash, none after, something in between. */
bool	conf_shm_name_ok(const char *v);

/*
 * Reads the top-level shm setting of path (@include is relative to path's
 * directory, as for conf_load()) into name (size >= CONF_NAME_MAX), or
 * CONF_SHM_DEFAULT if the file does not set it, with conf_load()'s rules.
 * Other settings are not checked. Returns 0, or -1 with err filled (the
 * file cannot be read, has a syntax error, or shm is not a valid name).
 */
int	conf_shm_read(const char *path, char *name, size_t size, struct conf_err *err);

#endif
