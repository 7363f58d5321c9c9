/*
 * Listening sockets, bound by the master before any worker exists.
 */
#ifndef SLUICE_LISTEN_H
#define SLUICE_LISTEN_H

#include <stddef.h>

struct listener_conf;

/*
 * Creates, binds and listens on l's address (non-blocking, SO_REUSEADDR,
 * IPV6_V6ONLY for IPv6, TCP_DEFER_ACCEPT). A unix: socket file replaces any
 * file at its path and, after bind, gets l's owner and group (chown) and
 * mode (chmod; until then it is 0600). Returns the fd, or -1 with a one-line
 * reason in err naming the address (a socket file left half-set is removed).
 */
int	listen_open(const struct listener_conf *l, char *err, size_t errlen);

#endif
