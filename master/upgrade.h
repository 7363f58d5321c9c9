/*
 * Binary upgrade (SIGUSR2), as nginx does it: the master forks and execs
 * the binary on disk with the listening sockets inherited (their numbers in
 * SLUICE_LISTEN_FDS); the new master reuses every socket whose address is
 * in its configuration, so no connection is refused. The old master keeps
 * serving until told QUIT, its pid file renamed to <pid_file>.oldbin.
 */
#ifndef SLUICE_UPGRADE_H
#define SLUICE_UPGRADE_H

#include <stdint.h>
#include <sys/types.h>

struct addr_conf;

#define UPGRADE_ENV_FDS		"SLUICE_LISTEN_FDS"
#define UPGRADE_ENV_FROM	"SLUICE_UPGRADE_FROM"

/* Records argv and the absolute path of the running binary (call first). */
void	upgrade_init(int argc, char **argv);

/*
 * USR2: renames pid_file to pid_file.oldbin and starts the new binary with
 * fds[0..n) inherited. Returns the new master's pid, or -1 (logged; the pid
 * file is restored).
 */
pid_t	upgrade_exec(const int *fds, uint32_t n, const char *pid_file);

/* The new master failed: gives the pid file back to the old one. */
void	upgrade_failed(const char *pid_file);

/* In a new master: is this process started by an upgrade of its parent? */
int	upgrade_inherited(void);

/*
 * In a new master: takes the inherited listening socket bound to a's
 * address (marked close-on-exec again), or -1 if none matches.
 */
int	upgrade_take_fd(const struct addr_conf *a);

/* Closes the inherited sockets the new configuration did not take. */
void	upgrade_close_rest(void);

#endif
