/*
 * Parent-death signal for the master's children (workers, health checker):
 * after a kill -9 of the master they must stop serving instead of living on
 * as orphans that hold the listening port.
 */
#ifndef SLUICE_PDEATH_H
#define SLUICE_PDEATH_H

#include <sys/types.h>

/*
 * Asks the kernel to send sig to this process when its parent dies
 * (PR_SET_PDEATHSIG), then closes the race with a parent that died before
 * that: if getppid() is no longer parent, raises sig at once. The kernel
 * forgets the setting on fork and on any change of the effective or
 * filesystem uid/gid, so call this right after fork and again after
 * dropping privileges. sig is delivered (or stays pending while blocked)
 * like any other signal. Returns 0 if parent is alive, 1 if it is already
 * gone (sig raised), -1 with errno set if prctl() failed (nothing raised).
 */
int	pdeath_arm(pid_t parent, int sig);

#endif
