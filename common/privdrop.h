/*
 * Dropping root for good in the processes that need no privilege after
 * start-up (workers, health checker), after `user` in the configuration.
 */
#ifndef SLUICE_PRIVDROP_H
#define SLUICE_PRIVDROP_H

#include <stddef.h>

/*
 * Switches the real, effective, saved and filesystem uid and gid to user's,
 * with user's supplementary groups only (root's group 0 is not kept unless
 * user is in it), and checks that root cannot be regained. Call it once the
 * process has opened what needs root. Rejects an unknown user.
 * Returns 0, or -1 with a one-line reason naming the user in err (errno set);
 * a process that got -1 may be half-way and should exit.
 */
int	privdrop_user(const char *user, char *err, size_t errlen);

#endif
